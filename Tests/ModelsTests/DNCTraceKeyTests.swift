import XCTest
import DNCModels
import DNCNumerics

/// `DNCTrace.denseMemoryKeys` (static: the dense memory's keys, known before a forward call)
/// against `recordedKeys` (what one trace holds): equal for the dense memory, not for SAM.
final class DNCTraceKeyTests: XCTestCase {
    func trace(_ memoryKind: MemoryKind) -> DNCTrace<Float> {
        var configuration = DNCConfiguration(inputSize: 3, hiddenSize: 6)
        configuration.cellCount = 8
        configuration.memoryKind = memoryKind
        let input = Tensor<Float>(shape: [2, 4, 3], repeating: 0.5)
        return DNC<Float>(configuration, seed: 1).forward(input, recordForBackward: false, debug: true).trace!
    }

    func testTheDenseMemoryRecordsExactlyTheDenseMemoryKeysInOrder() {
        XCTAssertEqual(trace(.dense).recordedKeys, DNCTrace<Float>.denseMemoryKeys)
    }

    func testSparseAccessMemoryRecordsItsOwnKeys() {
        let keys = trace(.sparse(reads: 2, index: .exact)).recordedKeys
        XCTAssertFalse(keys.isEmpty)
        XCTAssertNotEqual(keys, DNCTrace<Float>.denseMemoryKeys)
        XCTAssertFalse(keys.contains("allocation_weights"), "\(keys)")
    }
}
