import XCTest
import DNCNumerics
import DNCLayers
@testable import DNCMemories

/// The Float memory takes explicit `SIMD4` paths (link rows, erase-and-add, reductions, softmax,
/// sigmoid) that the Double fixture and gradient checks never run. Here the same run (same
/// parameters, state, inputs and gradients) goes through both precisions: forward, backward and
/// parameter gradients must agree to Float accuracy. Sizes with widths and cell counts that are
/// not multiples of 4 exercise the scalar tails too.
final class MemoryFloatPathTests: XCTestCase {
    func testOddSizes() {
        check(MemoryHarness.Sizes(batch: 3, steps: 6, input: 5, cells: 13, width: 7, heads: 3), options: .paper, seed: 11)
    }

    func testAlignedSizesCompat() {
        check(MemoryHarness.Sizes(batch: 2, steps: 5, input: 8, cells: 16, width: 20, heads: 4), options: .pytorchCompat,
              seed: 12)
    }

    func testLargerMemoryWithInactiveSamples() {
        check(MemoryHarness.Sizes(batch: 3, steps: 4, input: 6, cells: 50, width: 9, heads: 2), options: .paper, seed: 13,
              inactiveFromStep: 2)
    }

    /// More cells than the other checks: link snapshots every 4th step, rows of 131.
    func testManyCells() {
        check(MemoryHarness.Sizes(batch: 2, steps: 5, input: 4, cells: 131, width: 5, heads: 2), options: .paper, seed: 14)
    }

    /// DNC-MD's three options (training runs in Float; their finite-difference checks in Double).
    func testDNCMDOptions() {
        var options = MemoryOptions.paper
        options.improvements = .all
        check(MemoryHarness.Sizes(batch: 3, steps: 6, input: 5, cells: 13, width: 7, heads: 3), options: options, seed: 15,
              inactiveFromStep: 3)
        check(MemoryHarness.Sizes(batch: 2, steps: 5, input: 4, cells: 40, width: 8, heads: 2), options: options, seed: 16)
    }

    /// The free-list order is the stable ascending order in both precisions, also for sizes
    /// beyond the ones of the other tests, and a permutation even with NaN.
    func testFreeListOrderOnBothPaths() {
        var rng = CounterRandom(seed: 9).sequence(stream: 1)
        for size in [1, 7, 64, 255, 700] {
            let v = (0..<size).map { _ in Double(Int(rng.nextUniform() * 16)) / 16 }
            let expected = Array(0..<size).sorted { (v[$0], $0) < (v[$1], $1) }
            var o = [Int](repeating: -1, count: size), sc = [Int](repeating: 0, count: size)
            Allocation.stableAscendingOrder(v, count: size, order: &o, scratch: &sc)
            XCTAssertEqual(o, expected, "Double, \(size) values")
            let f = v.map { Float($0) }
            o = [Int](repeating: -1, count: size)
            Allocation.stableAscendingOrder(f, count: size, order: &o, scratch: &sc)
            XCTAssertEqual(o, expected, "Float, \(size) values")
            // From a hint: the right order, a nearly right one, and a reversed one (over the
            // insertion sort's budget, so the merge sort's fallback) all give the same order.
            var nearly = expected
            for i in stride(from: 0, to: size - 3, by: 5) { nearly.swapAt(i, i + 3) }
            for hint in [expected, nearly, Array(expected.reversed())] {
                o = [Int](repeating: -1, count: size)
                Allocation.stableAscendingOrder(f, count: size, order: &o, scratch: &sc, hint: hint)
                XCTAssertEqual(o, expected, "Float, \(size) values, from a hint")
            }
        }
        // With a NaN the order is still a permutation.
        let withNaN: [Float] = [0.3, .nan, 0.1, 0.2, .nan, 0.1]
        var o = [Int](repeating: -1, count: 6), sc = [Int](repeating: 0, count: 6)
        Allocation.stableAscendingOrder(withNaN, count: 6, order: &o, scratch: &sc)
        XCTAssertEqual(o.sorted(), Array(0..<6))
    }

    func check(_ s: MemoryHarness.Sizes, options: MemoryOptions, seed: UInt64, inactiveFromStep: Int? = nil,
               file: StaticString = #filePath, line: UInt = #line) {
        let store = ParameterStore<Double>(), floatStore = ParameterStore<Float>()
        let memory = DenseMemory(store: store, prefix: "mem.", inputSize: s.input, cellCount: s.cells,
                                 cellWidth: s.width, readHeads: s.heads, options: options)
        let floatMemory = DenseMemory(store: floatStore, prefix: "mem.", inputSize: s.input, cellCount: s.cells,
                                      cellWidth: s.width, readHeads: s.heads, options: options)
        var rng = CounterRandom(seed: seed).sequence(stream: 3)
        for slot in store.slots {
            let values = MemoryHarness.randomTensor(slot.shape, &rng, scale: 0.6)
            store.set(slot, to: values)
            floatStore.set(floatStore.slot(named: slot.name)!, to: values.converted(to: Float.self))
        }
        let inputs = MemoryHarness.randomTensor([s.steps, s.batch, s.input], &rng)
        let initial = MemoryHarness.randomState(s, &rng)
        let readGradients = MemoryHarness.randomTensor([s.steps, s.batch, s.heads * s.width], &rng)
        let finalGradient = MemoryHarness.unflatten(
            MemoryHarness.randomTensor([MemoryHarness.flatten(initial).count], &rng).storage, like: initial)
        let active: [[Bool]]? = inactiveFromStep.map { first in
            (0..<s.steps).map { t in (0..<s.batch).map { b in b != 1 || t < first } }
        }

        // Double.
        let tape = DenseMemoryTape<Double>()
        store.zeroGradients()
        let (reads, final) = MemoryHarness.forward(memory, inputs: inputs, initial: initial, tape: tape, active: active)
        let (dInputs, dInitial) = MemoryHarness.backward(memory, tape: tape, readGradients: readGradients,
                                                         finalStateGradient: finalGradient)

        // Float.
        let floatTape = DenseMemoryTape<Float>()
        floatStore.zeroGradients()
        let rw = s.heads * s.width
        var state = convert(initial)
        var floatReads = Tensor<Float>(shape: [s.steps, s.batch, rw])
        let floatInputs = inputs.converted(to: Float.self)
        floatInputs.withUnsafeBufferPointer { x in
            floatReads.withUnsafeMutableBufferPointer { r in
                for t in 0..<s.steps {
                    floatMemory.step(input: x.baseAddress! + t * s.batch * s.input, batch: s.batch, state: &state,
                                     tape: floatTape, active: active?[t], readVectors: r.baseAddress! + t * s.batch * rw)
                }
            }
        }
        let floatFinal = state
        var stateGradient = convert(finalGradient)
        var floatDInputs = Tensor<Float>(shape: [s.steps, s.batch, s.input])
        readGradients.converted(to: Float.self).withUnsafeBufferPointer { g in
            floatDInputs.withUnsafeMutableBufferPointer { dx in
                for t in stride(from: s.steps - 1, through: 0, by: -1) {
                    floatMemory.backwardStep(tape: floatTape, stepIndex: t, readVectorsGradient: g.baseAddress! + t * s.batch * rw,
                                             stateGradient: &stateGradient,
                                             inputGradient: dx.baseAddress! + t * s.batch * s.input)
                }
            }
        }

        func compare(_ double: [Double], _ float: [Float], _ label: String) {
            XCTAssertEqual(double.count, float.count, label, file: file, line: line)
            let scale = max(double.map { abs($0) }.max() ?? 0, 1e-3)
            var worst = 0.0
            for (d, f) in zip(double, float) { worst = max(worst, abs(d - Double(f))) }
            XCTAssertLessThan(worst / scale, 2e-4, "\(label): worst difference \(worst) at scale \(scale)", file: file, line: line)
        }
        compare(reads.storage, floatReads.storage, "read vectors")
        compare(MemoryHarness.flatten(final), flatten(floatFinal), "final state")
        compare(dInputs.storage, floatDInputs.storage, "input gradient")
        compare(MemoryHarness.flatten(dInitial), flatten(stateGradient), "initial state gradient")
        for slot in store.slots {
            compare(store.gradientTensor(slot).storage, floatStore.gradientTensor(floatStore.slot(named: slot.name)!).storage,
                    "gradient of \(slot.name)")
        }
    }

    func convert(_ s: DenseMemoryState<Double>) -> DenseMemoryState<Float> {
        DenseMemoryState(memory: s.memory.converted(), linkMatrix: s.linkMatrix.converted(),
                         precedence: s.precedence.converted(), readWeights: s.readWeights.converted(),
                         writeWeights: s.writeWeights.converted(), usage: s.usage.converted())
    }

    func flatten(_ s: DenseMemoryState<Float>) -> [Float] {
        s.memory.storage + s.linkMatrix.storage + s.precedence.storage + s.readWeights.storage
            + s.writeWeights.storage + s.usage.storage
    }
}
