import XCTest
import TestSupport
import DNCNumerics
import DNCMemories
import DNCTraining
@testable import DNCModels

/// The DNC model with the Sparse DNC's memory: gradients through controller, interface, sparse
/// memory and temporal links over several steps, the state after a training step, the debug
/// keys, and learning.
final class SDNCModelTests: XCTestCase {
    func configuration() -> DNCConfiguration {
        var c = DNCConfiguration(inputSize: 3, hiddenSize: 5)
        c.controllerDepth = 1
        c.cellCount = 6
        c.cellWidth = 3
        c.readHeads = 2
        // K = N and K_L = N − 1 above the cells a 4-step sequence uses: no selection can change
        // under a finite-difference step.
        c.memoryKind = .sparseTemporal(reads: 6, temporalReads: 5, index: .exact)
        c.controllerOutputClip = 0.8
        return c
    }

    /// Backpropagation through several calls, latest first, equals one pass.
    func testBackwardThroughSeveralCalls() {
        sparseChunkedBackwardEqualsOnePass(configuration(), label: "SDNC")
    }

    func testGradientsThroughControllerAndSDNCMemory() {
        sparseModelGradientCheck(configuration(), label: "SDNC")
    }

    /// Two DNC layers, each with its own SDNC memory and six independent interface layers.
    func testGradientsWithSeparateMemoriesPerLayer() {
        var c = configuration()
        c.layerCount = 2
        c.shareMemoryBetweenLayers = false
        c.independentLinears = true
        c.readHeads = 1
        sparseModelGradientCheck(c, label: "SDNC two layers")
    }

    /// After forward and backward the state holds the end of the forward pass (links included).
    func testStateAfterBackwardIsTheEndOfTheForwardPass() {
        var c = configuration()
        c.memoryKind = .sparseTemporal(reads: 2, temporalReads: 2, index: .exact)
        sparseStateAfterBackwardContinues(c, label: "SDNC")
    }

    /// Debug keys and shapes per step (c = R·(K+2K_L) read slots, m = c + 1 written rows at most).
    func testDebugKeysAndShapes() {
        var c = configuration()
        c.cellCount = 20
        c.memoryKind = .sparseTemporal(reads: 3, temporalReads: 2, index: .exact)
        let model = DNC<Double>(c, seed: 4)
        let x = Tensor<Double>(shape: [2, 5, 3], repeating: 0.5)
        let trace = model.forward(x, recordForBackward: false, debug: true).trace!
        let slots = 2 * (3 + 2 * 2), w = 3
        let expected: [String: [Int]] = [
            "memory": [slots + 1, w], "write_positions": [1, slots + 1], "write_weights": [1, slots + 1],
            "visible_memory": [slots, w], "read_positions": [2, 7], "read_weights": [2, 7], "usage": [2, 7],
            "least_used_mem": [1, 1], "read_modes": [2, 3], "link_matrix": [slots, slots], "rev_link_matrix": [slots, slots],
            "precedence": [1, 2], "precedence_positions": [1, 2]]
        XCTAssertEqual(Set(trace.recordedKeys), Set(expected.keys))
        for (key, shape) in expected {
            let sequence = trace.sequence(key)
            XCTAssertEqual(sequence.count, 5, key)
            XCTAssertTrue(sequence.allSatisfy { $0.shape == shape }, "\(key): \(sequence.map(\.shape)) expected \(shape)")
        }
        // The links among the visible cells and their transpose; modes are distributions.
        for (forward, backward) in zip(trace.sequence("link_matrix"), trace.sequence("rev_link_matrix")) {
            for a in 0..<slots { for b in 0..<slots { XCTAssertEqual(forward[a, b], backward[b, a]) } }
        }
        for modes in trace.sequence("read_modes") {
            for i in 0..<2 { XCTAssertEqual((0..<3).reduce(0) { $0 + modes[i, $1] }, 1, accuracy: 1e-12) }
        }
        XCTAssertTrue(trace.sequence("link_matrix").dropFirst(2).contains { $0.storage.contains { $0 > 0 } }, "links appear")
    }

    /// With a memory window the debug `memory` is the first rows of the memory after each step:
    /// one shape per step, and at the last step exactly the state's rows.
    func testDebugMemoryWindow() {
        var c = configuration()
        c.cellCount = 20
        c.memoryKind = .sparseTemporal(reads: 3, temporalReads: 2, index: .exact)
        let model = DNC<Double>(c, seed: 4)
        model.debugMemoryWindow = 12
        let random = CounterRandom(seed: 4)
        let x = Tensor<Double>(shape: [2, 6, 3], storage: (0..<36).map { random.uniform(Double.self, stream: 1, index: UInt64($0), low: -1, high: 1) })
        let out = model.forward(x, recordForBackward: false, debug: true)
        let memory = out.trace!.sequence("memory")
        XCTAssertTrue(memory.allSatisfy { $0.shape == [12, 3] }, "\(memory.map(\.shape))")
        let sample = out.state.sparse[0].samples[0]
        XCTAssertEqual(sample.fresh, 6, "six cells written")
        for row in 0..<12 { XCTAssertEqual(Array(memory.last!.storage[(row * 3)..<(row * 3 + 3)]), sample.row(row)) }
        XCTAssertTrue(memory.last!.storage[(6 * 3)...].allSatisfy { $0 == 0 }, "unused cells are zero rows")
        XCTAssertEqual(out.trace!.sequence("write_positions").first!.shape, [1, 2 * (3 + 2 * 2) + 1])
    }

    func testSDNCLearnsToCopy() throws {
        let summaries = try smallCopyRun(memoryType: "sdnc", cells: 32)
        XCTAssertLessThan(summaries.last!.loss, 0.6 * summaries.first!.loss, "loss \(summaries.map(\.loss))")
    }
}
