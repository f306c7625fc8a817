import XCTest
import TestSupport
import DNCNumerics
import DNCLayers
@testable import DNCMemories

/// DNC-MD's three options of the dense memory (docs/dense-memory.md, "DNC-MD options"): the
/// sharpening function's gradient, that each option is wired (it changes the read vectors, and
/// reduces to the DNC where the paper says it should), and that with all off nothing changes.
/// (Their finite-difference checks through the memory are `MemoryGradientTests.testDNCMD…`.)
final class MemoryImprovementsTests: XCTestCase {
    static func options(_ improvements: MemoryImprovements) -> MemoryOptions {
        var o = MemoryGradientTests.paperWithUsageGradient
        o.improvements = improvements
        return o
    }

    static let masked = MemoryImprovements(maskedContentLookup: true)
    static let deallocating = MemoryImprovements(deallocation: true)
    static let sharpened = MemoryImprovements(linkSharpness: true)

    /// The sharpening function on its own, including entries at 0 (the ε floor) and a large sharpness.
    func testSharpeningFunctionGradient() {
        let n = 6
        let d = [0.3, 0.0, 0.05, 0.5, 1e-3, 0.12], upstream = [0.7, -0.2, 0.4, -1.1, 0.9, 0.3]
        for s in [1.0, 2.7, 9.0] {
            func loss(_ d: [Double], _ s: Double) -> Double {
                var y = [Double](repeating: 0, count: n)
                LinkSharpness.forward(raw: d, sharpness: s, cells: n, out: &y)
                return zip(y, upstream).reduce(0) { $0 + $1.0 * $1.1 }
            }
            var y = [Double](repeating: 0, count: n)
            LinkSharpness.forward(raw: d, sharpness: s, cells: n, out: &y)
            XCTAssertEqual(y.reduce(0, +), 1, accuracy: 1e-12)
            var g = upstream
            let ds = LinkSharpness.backward(raw: d, sharpness: s, sharpened: y, cells: n, gradient: &g)
            // Entry 1 is 0: only the positive side is differentiable through max(d, 0), so it is left out.
            let positive = [0, 2, 3, 4, 5]
            GradientCheck.compare(point: positive.map { d[$0] }, analytic: positive.map { g[$0] }, step: 1e-5,
                                  floor: 1e-3,
                                  label: "S(d, \(s)) raw") { part in
                var x = d
                for (k, i) in positive.enumerated() { x[i] = part[k] }
                return loss(x, s)
            }
            GradientCheck.compare(point: [s], analytic: [ds], label: "S(d, \(s)) sharpness") { loss(d, $0[0]) }
        }
    }

    // MARK: Wiring

    /// One forward over `steps` steps; the parameters are drawn per name, so that the DNC's fields
    /// get the same values whichever options add fields (independent linears).
    func reads(_ improvements: MemoryImprovements, seed: UInt64 = 5, randomStart: Bool = true,
               configure: (ParameterStore<Double>, DenseMemory<Double>) -> Void = { _, _ in })
        -> (reads: Tensor<Double>, state: DenseMemoryState<Double>, memory: DenseMemory<Double>, tape: DenseMemoryTape<Double>) {
        let s = MemoryHarness.Sizes()
        let store = ParameterStore<Double>()
        let memory = DenseMemory(store: store, prefix: "", inputSize: s.input, cellCount: s.cells, cellWidth: s.width,
                                 readHeads: s.heads, independentLinears: true, options: Self.options(improvements))
        for (k, slot) in store.slots.enumerated() {
            var rng = CounterRandom(seed: seed).sequence(stream: UInt64(k))
            store.set(slot, to: MemoryHarness.randomTensor(slot.shape, &rng, scale: 0.6))
        }
        configure(store, memory)
        var rng = CounterRandom(seed: seed).sequence(stream: 999)
        let inputs = MemoryHarness.randomTensor([s.steps, s.batch, s.input], &rng)
        let initial = randomStart ? MemoryHarness.randomState(s, &rng) : memory.zeroState(batch: s.batch)
        let tape = DenseMemoryTape<Double>()
        let (r, state) = MemoryHarness.forward(memory, inputs: inputs, initial: initial, tape: tape)
        return (r, state, memory, tape)
    }

    static func maxDifference(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
        zip(a.storage, b.storage).map { abs($0 - $1) }.max() ?? 0
    }

    /// Sets a field's linear (independent layout) to weights 0 and the given bias.
    static func setConstant(_ store: ParameterStore<Double>, field: String, bias: Double) {
        for slot in store.slots where slot.name.hasPrefix(field) {
            store.set(slot, to: Tensor(shape: slot.shape, storage: [Double](repeating: slot.name.hasSuffix("bias") ? bias : 0,
                                                                           count: slot.shape.reduce(1, *))))
        }
    }

    func testIndependentLinearNamesAndInterfaceWidth() {
        let (_, _, plain, _) = reads(.none)
        let (_, _, all, _) = reads(.all)
        let r = plain.readHeads, w = plain.cellWidth
        XCTAssertEqual(plain.interfaceSize, r * w + 3 * w + 5 * r + 3)
        XCTAssertEqual(all.interfaceSize, plain.interfaceSize + (r + 1) * w + 2 * r)
        let names = Set(all.store.slots.map(\.name))
        for name in ["read_masks_transform", "write_mask_transform", "link_sharpness_transform"] {
            XCTAssertTrue(names.contains(name + ".weight"), "\(name) in \(names.sorted())")
        }
        XCTAssertFalse(Set(plain.store.slots.map(\.name)).contains("read_masks_transform.weight"))
    }

    /// Masks fully open (σ(40) = 1 in Double) give the DNC's lookup; learned masks change the reads.
    func testMaskedLookupIsWiredAndOpenMasksAreTheDNC() {
        let plain = reads(.none).reads
        let open = reads(Self.masked) { store, _ in
            Self.setConstant(store, field: "read_masks_transform", bias: 40)
            Self.setConstant(store, field: "write_mask_transform", bias: 40)
        }.reads
        XCTAssertLessThan(Self.maxDifference(plain, open), 1e-12)
        XCTAssertGreaterThan(Self.maxDifference(plain, reads(Self.masked).reads), 1e-3)
    }

    /// De-allocation changes the reads; with the free gates closed (ψ = 1) it is the DNC; and a
    /// cell freed completely (free gate 1, read weight 1) is wiped before the write.
    func testDeallocationIsWiredAndClosedFreeGatesAreTheDNC() {
        XCTAssertGreaterThan(Self.maxDifference(reads(.none).reads, reads(Self.deallocating).reads), 1e-3)
        func closed(_ o: MemoryImprovements) -> Tensor<Double> {
            reads(o) { store, _ in Self.setConstant(store, field: "free_gates_transform", bias: -800) }.reads
        }
        XCTAssertEqual(closed(.none), closed(Self.deallocating))
        // One step, write gate closed, free gate open, head 0 reading cell 2 only: row 2 becomes 0.
        let s = MemoryHarness.Sizes()
        let store = ParameterStore<Double>()
        let memory = DenseMemory(store: store, prefix: "", inputSize: s.input, cellCount: s.cells, cellWidth: s.width,
                                 readHeads: s.heads, independentLinears: true, options: Self.options(Self.deallocating))
        Self.setConstant(store, field: "free_gates_transform", bias: 800)
        Self.setConstant(store, field: "write_gate_transform", bias: -800)
        var rng = CounterRandom(seed: 3).sequence(stream: 1)
        var state = MemoryHarness.randomState(s, &rng)
        for b in 0..<s.batch {
            for h in 0..<s.heads { for i in 0..<s.cells { state.readWeights[b, h, i] = h == 0 && i == 2 ? 1 : 0 } }
        }
        let before = state.memory
        let input = MemoryHarness.randomTensor([1, s.batch, s.input], &rng)
        let after = MemoryHarness.forward(memory, inputs: input, initial: state, tape: nil).state.memory
        for b in 0..<s.batch {
            for i in 0..<s.cells {
                for j in 0..<s.width {
                    XCTAssertEqual(after[b, i, j], i == 2 ? 0 : before[b, i, j], "sample \(b) cell \(i)")
                }
            }
        }
    }

    /// Sharpness changes the reads; the sharpened forward and backward weightings are distributions.
    func testLinkSharpnessIsWiredAndSharpensToDistributions() {
        let (sharp, _, memory, tape) = reads(Self.sharpened)
        XCTAssertGreaterThan(Self.maxDifference(reads(.none).reads, sharp), 1e-3)
        let step = memory.recordedStep(tape: tape, step: 2)
        let n = memory.cellCount
        for row in 0..<(step.forward.count / n) {
            XCTAssertEqual((0..<n).reduce(0.0) { $0 + step.forward[flat: row * n + $1] }, 1, accuracy: 1e-12)
            XCTAssertEqual((0..<n).reduce(0.0) { $0 + step.backward[flat: row * n + $1] }, 1, accuracy: 1e-12)
        }
    }

    /// With no option on the memory is the DNC's: the default options have none, the interface
    /// width is the paper's, and the record layout keeps no extra sections.
    func testOffIsTheDNC() {
        XCTAssertEqual(MemoryOptions.paper.improvements, .none)
        XCTAssertEqual(MemoryOptions.pytorchCompat.improvements, .none)
        XCTAssertEqual(MemoryOptions(), MemoryOptions.paper)
        let layout = InterfaceLayout(cellWidth: 7, readHeads: 3)
        XCTAssertEqual(layout.size, 3 * 7 + 3 * 7 + 5 * 3 + 3)
        XCTAssertEqual(layout.fieldBlocks.count, 10)
        let plain = DenseRecordLayout(batch: 2, inputSize: 4, interfaceSize: layout.size, cells: 5, width: 7, readHeads: 3)
        let kept = DenseRecordLayout(batch: 2, inputSize: 4, interfaceSize: layout.size, cells: 5, width: 7, readHeads: 3,
                                     keepsRawDirectional: true)
        XCTAssertEqual(kept.size - plain.size, 2 * 2 * 3 * 5)
    }
}
