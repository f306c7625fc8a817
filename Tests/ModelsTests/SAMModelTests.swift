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

    /// After forward and backward the memory a state holds is the end of the forward pass.
    func testStateAfterBackwardIsTheEndOfTheForwardPass() {
        var c = configuration()
        c.memoryKind = .sparse(reads: 2, index: .exact)
        sparseStateAfterBackwardContinues(c, label: "SAM")
    }

    func testSAMLearnsToCopy() throws {
        let summaries = try smallCopyRun(memoryType: "sam", cells: 32)
        XCTAssertLessThan(summaries.last!.loss, 0.6 * summaries.first!.loss, "loss \(summaries.map(\.loss))")
    }
}
