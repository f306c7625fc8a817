import XCTest
import TestSupport
import DNCNumerics
import DNCLayers
import DNCMemories
import DNCTraining
@testable import DNCModels

/// Sequence-level behaviour: chunked processing, variable lengths, memory reset and bypass,
/// debug tensors and their invariants, and learning.
final class DNCBehaviourTests: XCTestCase {
    func configuration(_ preset: DNCPreset = .paper) -> DNCConfiguration {
        var c = DNCConfiguration(inputSize: 4, hiddenSize: 8)
        c.cellCount = 6
        c.cellWidth = 4
        c.readHeads = 2
        c.preset = preset
        return c
    }

    func randomInput(_ shape: [Int], seed: UInt64 = 5) -> Tensor<Double> {
        let random = CounterRandom(seed: seed)
        return Tensor(shape: shape, storage: (0..<shape.reduce(1, *)).map { random.uniform(Double.self, stream: 0, index: UInt64($0), low: -1, high: 1) })
    }

    /// Two chunks carrying the state give one pass's outputs exactly, and, backpropagating the
    /// second chunk's state gradient into the first (each on its own tape), the same gradients.
    func testChunkedProcessingEqualsOnePass() {
        let model = DNC<Double>(configuration(), seed: 3)
        let x = randomInput([2, 7, 4])
        let whole = model.forward(x)
        let weights = randomInput(whole.output.shape, seed: 9)
        model.store.zeroGradients()
        let wholeGradients = model.backward(outputGradient: weights)
        let wholeParameterGradients = model.store.flatGradients

        let first = DNCTape(for: model), second = DNCTape(for: model)
        let a = model.forward(timeSteps(x, 0..<3), tape: first)
        let b = model.forward(timeSteps(x, 3..<7), state: a.state, tape: second)
        XCTAssertEqual(timeSteps(whole.output, 0..<3), a.output)
        XCTAssertEqual(timeSteps(whole.output, 3..<7), b.output)
        XCTAssertEqual(whole.state, b.state)

        model.store.zeroGradients()
        let gb = model.backward(outputGradient: timeSteps(weights, 3..<7), tape: second)
        let ga = model.backward(outputGradient: timeSteps(weights, 0..<3), finalStateGradient: gb.initialState, tape: first)
        for (u, v) in zip(model.store.flatGradients, wholeParameterGradients) { XCTAssertEqual(u, v, accuracy: 1e-12 * max(1, abs(v))) }
        for (u, v) in zip(ga.input.storage + gb.input.storage, timeSteps(wholeGradients.input, 0..<3).storage + timeSteps(wholeGradients.input, 3..<7).storage) {
            XCTAssertEqual(u, v, accuracy: 1e-12 * max(1, abs(v)))
        }
    }

    /// In the compat preset the read vector is the one passed in for every step (docs/pytorch-dnc.md, Read feedback), so the
    /// chunked run differs from the one-pass run; in the paper preset they agree (above).
    func testCompatPresetDoesNotFeedReadsBack() {
        var c = configuration(.pytorchCompat)
        c.batchFirst = true
        let model = DNC<Double>(c, seed: 3)
        let x = randomInput([2, 6, 4])
        let state = DNCState(controllers: [model.controllers[0].zeroState(batch: 2)],
                             memories: [model.memories[0].erasedFreshState(batch: 2)], lastRead: Tensor(shape: [2, c.readWidth]))
        let whole = model.forward(x, state: state)
        let a = model.forward(timeSteps(x, 0..<3), state: state)
        let b = model.forward(timeSteps(x, 3..<6), state: a.state)
        XCTAssertEqual(whole.output.shape, [6, 2, 4], "compat output is time-major for batch-first input (docs/pytorch-dnc.md, Time-major output)")
        XCTAssertNotEqual(Array(whole.output.storage[24...]), b.output.storage)
    }

    /// A finished sample's state is frozen and its outputs are zero; the others are unaffected.
    func testVariableLengthsFreezeFinishedSamples() {
        let model = DNC<Double>(configuration(), seed: 4)
        let x = randomInput([2, 5, 4])
        let full = model.forward(x)
        let masked = model.forward(x, lengths: [5, 2])
        let shortOnly = model.forward(timeSteps(x, 0..<2))
        // Sample 0 runs all 5 steps in both.
        XCTAssertEqual(Array(masked.output.storage[0..<20]), Array(full.output.storage[0..<20]))
        // Sample 1: 2 real steps, then zeros; its final state is the state after step 2.
        XCTAssertEqual(Array(masked.output.storage[20..<28]), Array(shortOnly.output.storage[8..<16]))
        XCTAssertTrue(masked.output.storage[28..<40].allSatisfy { $0 == 0 })
        let n = 6 * 4
        XCTAssertEqual(Array(masked.state.dense[0].memory.storage[n...]), Array(shortOnly.state.dense[0].memory.storage[n...]))
        XCTAssertEqual(masked.state.lastRead.storage[8...], shortOnly.state.lastRead.storage[8...])
    }

    func testResetAndPassThrough() {
        let model = DNC<Double>(configuration(), seed: 6)
        let x = randomInput([1, 4, 4])
        let first = model.forward(x)
        let reset = model.forward(x, state: first.state, resetExperience: true)
        // Reset cuts the gradient into the previous memory and read vector, not into the controller.
        let g = model.backward(outputGradient: Tensor(shape: reset.output.shape, repeating: 1))
        XCTAssertTrue(g.initialState.dense[0].memory.storage.allSatisfy { $0 == 0 })
        XCTAssertTrue(g.initialState.lastRead.storage.allSatisfy { $0 == 0 })
        XCTAssertTrue(g.initialState.controllers[0].hidden.storage.contains { $0 != 0 })
        var cleared = first.state
        cleared.memories = [model.memories[0].erasedFreshState(batch: 1)]
        cleared.lastRead = Tensor(shape: [1, 8])
        XCTAssertEqual(reset.output, model.forward(x, state: cleared).output)

        let bypass = model.forward(x, state: first.state, passThroughMemory: false)
        XCTAssertEqual(bypass.state.dense, first.state.dense, "memory untouched")
        XCTAssertTrue(bypass.state.lastRead.storage.allSatisfy { $0 == 0 }, "read vectors are zero")
    }

    /// Debug tensors: every key, one record per (step, layer), the documented shapes, and the
    /// memory invariants along the way.
    func testDebugTraceShapesAndInvariants() {
        var c = configuration()
        c.layerCount = 2
        let model = DNC<Double>(c, seed: 8)
        let x = randomInput([3, 6, 4], seed: 2)
        let result = model.forward(x, recordForBackward: false, debug: true, debugBatchElement: 1)
        let trace = result.trace!
        XCTAssertEqual(trace.records.count, 6)
        let n = c.cellCount, r = c.readHeads
        let shapes: [String: [Int]] = ["memory": [n, c.cellWidth], "link_matrix": [n, n], "precedence": [1, n],
                                       "read_weights": [r, n], "write_weights": [1, n], "usage_vector": [1, n],
                                       "allocation_weights": [1, n], "read_modes": [r, 3], "write_gate": [1, 1], "free_gates": [1, r]]
        for key in DNCTrace<Double>.denseMemoryKeys {
            let sequence = trace.sequence(key)
            XCTAssertEqual(sequence.count, 12, key)
            XCTAssertEqual(sequence[0].shape, shapes[key], key)
            XCTAssertEqual(trace.stacked(key).shape, [12, shapes[key]!.reduce(1, *)], key)
        }
        let tolerance = 1e-12
        for record in trace.records.flatMap({ $0 }) {
            for i in 0..<n { XCTAssertEqual(record["link_matrix"]![i, i], 0, "link diagonal") }
            for i in 0..<n {
                XCTAssertLessThanOrEqual((0..<n).reduce(0) { $0 + record["link_matrix"]![i, $1] }, 1 + tolerance)
                XCTAssertLessThanOrEqual((0..<n).reduce(0) { $0 + record["link_matrix"]![$1, i] }, 1 + tolerance)
            }
            XCTAssertLessThanOrEqual(record["write_weights"]!.storage.reduce(0, +), 1 + tolerance)
            XCTAssertLessThanOrEqual(record["allocation_weights"]!.storage.reduce(0, +), 1 + tolerance)
            XCTAssertLessThanOrEqual(record["precedence"]!.storage.reduce(0, +), 1 + tolerance)
            for head in 0..<r {
                XCTAssertLessThanOrEqual((0..<n).reduce(0) { $0 + record["read_weights"]![head, $1] }, 1 + tolerance)
                XCTAssertEqual((0..<3).reduce(0) { $0 + record["read_modes"]![head, $1] }, 1, accuracy: 1e-12)
            }
            for tensor in [record["read_weights"]!, record["write_weights"]!, record["allocation_weights"]!, record["usage_vector"]!, record["link_matrix"]!] {
                XCTAssertTrue(tensor.storage.allSatisfy { $0 >= 0 && $0.isFinite })
            }
        }
    }

    /// A small DNC learns the copy task through the trainer: the loss falls well below where it
    /// started and the masked bit accuracy is clearly better than chance.
    func testLearnsToCopy() throws {
        let summaries = try smallCopyRun(memoryType: "dnc", cells: 8)
        let first = summaries.first!, last = summaries.last!
        XCTAssertLessThan(last.loss, 0.6 * first.loss, "loss \(summaries.map(\.loss))")
        XCTAssertGreaterThan(last.metrics["masked_bit_accuracy"]!, 0.75, "accuracy \(summaries.map { $0.metrics["masked_bit_accuracy"]! })")
    }
}
