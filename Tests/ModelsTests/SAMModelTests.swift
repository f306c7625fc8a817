import XCTest
import TestSupport
import DNCNumerics
import DNCMemories
import DNCTraining
@testable import DNCModels

/// The DNC model with Sparse Access Memory: gradients through controller, interface and sparse
/// memory over several steps, the memory state after a training step, and learning.
final class SAMModelTests: XCTestCase {
    func configuration() -> DNCConfiguration {
        var c = DNCConfiguration(inputSize: 3, hiddenSize: 5)
        c.controllerDepth = 1
        c.cellCount = 6
        c.cellWidth = 3
        c.readHeads = 2
        // K = N: every stored row is a neighbour, so no finite-difference step can change the selection.
        c.memoryKind = .sparse(reads: 6, index: .exact)
        c.controllerOutputClip = 0.8
        return c
    }

    /// Backpropagation through several calls, latest first, equals one pass.
    func testBackwardThroughSeveralCalls() {
        sparseChunkedBackwardEqualsOnePass(configuration(), label: "SAM")
    }

    func testGradientsThroughControllerAndSparseMemory() {
        sparseModelGradientCheck(configuration(), label: "SAM")
    }

    /// After forward and backward the memory a state holds is the end of the forward pass (the
    /// backward rolls back, then the model restores), so a chunked stream continues correctly.
    func testStateAfterBackwardIsTheEndOfTheForwardPass() {
        var c = configuration()
        c.memoryKind = .sparse(reads: 2, index: .exact)
        let model = DNC<Double>(c, seed: 3)
        let random = CounterRandom(seed: 3)
        let x = Tensor<Double>(shape: [2, 8, 3], storage: (0..<48).map { random.uniform(Double.self, stream: 1, index: UInt64($0), low: -1, high: 1) })
        let first = Tensor(shape: [2, 4, 3], storage: (0..<2).flatMap { b in Array(x.storage[(b * 24)..<(b * 24 + 12)]) })
        let second = Tensor(shape: [2, 4, 3], storage: (0..<2).flatMap { b in Array(x.storage[(b * 24 + 12)..<(b * 24 + 24)]) })
        // Reference: the two chunks without any backward in between.
        let reference = DNC<Double>(c, seed: 3)
        let a = reference.forward(first, recordForBackward: false)
        let b = reference.forward(second, state: a.state, recordForBackward: false)
        // The same with a training backward after the first chunk.
        let trained = model.forward(first)
        _ = model.backward(outputGradient: Tensor(shape: trained.output.shape, repeating: 1))
        let continued = model.forward(second, state: trained.state, recordForBackward: false)
        XCTAssertEqual(continued.output, b.output)
    }

    func testSAMLearnsToCopy() throws {
        let summaries = try smallCopyRun(memoryType: "sam", cells: 32)
        XCTAssertLessThan(summaries.last!.loss, 0.6 * summaries.first!.loss, "loss \(summaries.map(\.loss))")
    }
}
