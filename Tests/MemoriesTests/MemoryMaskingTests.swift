import XCTest
import DNCNumerics
import DNCLayers
@testable import DNCMemories

/// Variable-length batches: an inactive sample is skipped entirely. Its state stays bit-exact,
/// its read vectors are 0, its (even non-finite) input never reaches a gradient, its state
/// gradient passes through unchanged, and every active sample behaves exactly as if it ran
/// alone over its active steps.
final class MemoryMaskingTests: XCTestCase {
    let active: [[Bool]] = [[true, true, true], [true, false, true], [false, false, true], [true, true, false]]

    func testInactiveSamplesAreSkipped() {
        for options in [MemoryOptions.paper, .pytorchCompat] {
            for independent in [false, true] { check(options: options, independent: independent) }
        }
    }

    func check(options: MemoryOptions, independent: Bool) {
        let s = MemoryHarness.Sizes(batch: 3, steps: 4)
        let label = "\(options) independent \(independent)"
        let rw = s.heads * s.width
        func makeMemory() -> (DenseMemory<Double>, ParameterStore<Double>) {
            let store = ParameterStore<Double>()
            let memory = DenseMemory(store: store, prefix: "", inputSize: s.input, cellCount: s.cells, cellWidth: s.width,
                                     readHeads: s.heads, independentLinears: independent, options: options)
            var rng = CounterRandom(seed: 5).sequence(stream: 3)
            for slot in store.slots { store.set(slot, to: MemoryHarness.randomTensor(slot.shape, &rng, scale: 0.6)) }
            return (memory, store)
        }
        var rng = CounterRandom(seed: 6).sequence(stream: 0)
        var inputs = MemoryHarness.randomTensor([s.steps, s.batch, s.input], &rng)
        for t in 0..<s.steps { for b in 0..<s.batch where !active[t][b] { inputs[t, b, 0] = .nan } }
        let initial = MemoryHarness.randomState(s, &rng)
        let readGradients = MemoryHarness.randomTensor([s.steps, s.batch, rw], &rng)
        let finalGradient = MemoryHarness.unflatten(
            MemoryHarness.randomTensor([MemoryHarness.flatten(initial).count], &rng).storage, like: initial)

        // Masked batch run, step by step, checking the inactive rows.
        let (memory, store) = makeMemory()
        let tape = DenseMemoryTape<Double>()
        var state = initial
        var reads = Tensor<Double>(shape: [s.steps, s.batch, rw])
        for t in 0..<s.steps {
            let before = state
            inputs.slice(t).withUnsafeBufferPointer { x in
                reads.withUnsafeMutableBufferPointer { r in
                    memory.step(input: x.baseAddress!, batch: s.batch, state: &state, tape: tape, active: active[t],
                                readVectors: r.baseAddress! + t * s.batch * rw)
                }
            }
            for b in 0..<s.batch where !active[t][b] {
                XCTAssertEqual(sample(state, b), sample(before, b), "\(label) step \(t) sample \(b) state")
                XCTAssertTrue((0..<rw).allSatisfy { reads[t, b, $0] == 0 }, "\(label) step \(t) sample \(b) reads")
                let debug = memory.lastStepDebugRecord(batchElement: b)
                XCTAssertEqual(debug.memory, before.memory.slice(b))
                XCTAssertTrue(debug.allocationWeights.storage.allSatisfy { $0 == 0 })
            }
        }
        store.zeroGradients()
        var stateGradient = finalGradient
        var dInputs = Tensor<Double>(shape: inputs.shape)
        for t in stride(from: s.steps - 1, through: 0, by: -1) {
            let after = stateGradient
            readGradients.withUnsafeBufferPointer { g in
                dInputs.withUnsafeMutableBufferPointer { dx in
                    memory.backwardStep(tape: tape, stepIndex: t, readVectorsGradient: g.baseAddress! + t * s.batch * rw,
                                        stateGradient: &stateGradient,
                                        inputGradient: dx.baseAddress! + t * s.batch * s.input)
                }
            }
            for b in 0..<s.batch where !active[t][b] {
                XCTAssertEqual(sample(stateGradient, b), sample(after, b), "\(label) step \(t) sample \(b) gradient passes")
                XCTAssertTrue((0..<s.input).allSatisfy { dInputs[t, b, $0] == 0 }, "\(label) step \(t) sample \(b) input gradient")
            }
        }
        XCTAssertTrue(store.flatGradients.allSatisfy(\.isFinite), "\(label): the NaN inputs leaked into a gradient")

        // Reference: each sample alone over its active steps.
        var parameterGradients = [Double](repeating: 0, count: store.count)
        for b in 0..<s.batch {
            let steps = (0..<s.steps).filter { active[$0][b] }
            let (single, singleStore) = makeMemory()
            let x = Tensor(shape: [steps.count, 1, s.input], storage: steps.flatMap { inputs.slice($0).slice(b).storage })
            let g = Tensor(shape: [steps.count, 1, rw], storage: steps.flatMap { readGradients.slice($0).slice(b).storage })
            let singleTape = DenseMemoryTape<Double>()
            let (singleReads, singleFinal) = MemoryHarness.forward(single, inputs: x, initial: sample(initial, b),
                                                                   tape: singleTape)
            XCTAssertTrue(close(singleFinal, sample(state, b)), "\(label) sample \(b) final state")
            for (k, t) in steps.enumerated() {
                XCTAssertTrue(close(singleReads.slice(k).storage, reads.slice(t).slice(b).storage), "\(label) reads \(t), \(b)")
            }
            singleStore.zeroGradients()
            let (dx, dInitial) = MemoryHarness.backward(single, tape: singleTape, readGradients: g,
                                                        finalStateGradient: sample(finalGradient, b))
            XCTAssertTrue(close(dInitial, sample(stateGradient, b)), "\(label) sample \(b) initial-state gradient")
            for (k, t) in steps.enumerated() {
                XCTAssertTrue(close(dx.slice(k).storage, dInputs.slice(t).slice(b).storage), "\(label) input gradient \(t), \(b)")
            }
            for i in 0..<store.count { parameterGradients[i] += singleStore.gradients[i] }
        }
        XCTAssertTrue(close(parameterGradients, store.flatGradients), "\(label) parameter gradients")
    }

    /// Batch element `b` of a state as a batch-1 state.
    func sample(_ state: DenseMemoryState<Double>, _ b: Int) -> DenseMemoryState<Double> {
        func one(_ t: Tensor<Double>) -> Tensor<Double> { Tensor(shape: [1] + Array(t.shape.dropFirst()), storage: t.slice(b).storage) }
        return DenseMemoryState(memory: one(state.memory), linkMatrix: one(state.linkMatrix), precedence: one(state.precedence),
                                readWeights: one(state.readWeights), writeWeights: one(state.writeWeights),
                                usage: one(state.usage))
    }

    func close(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, abs($1)) }
    }

    func close(_ a: DenseMemoryState<Double>, _ b: DenseMemoryState<Double>) -> Bool {
        close(MemoryHarness.flatten(a), MemoryHarness.flatten(b))
    }
}
