import XCTest
import TestSupport
@testable import DNCTraining

/// A bAbI run reads its files once (`BabiPreparedDataset`): the task the run builds from the
/// prepared configuration takes the dataset `BabiTask.prepare` read, once, and only when it
/// would read exactly that dataset.
final class BabiReadOnceTests: XCTestCase {
    func configuration(_ root: URL) -> TrainingConfiguration {
        var c = TrainingConfiguration.defaults(task: "babi")
        c.babi_data = root.path
        c.babi_tasks = [1, 8]
        return c
    }

    func testTheRunTakesThePreparedDatasetOnce() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("babi-once"), stories: 6)
        defer { try? FileManager.default.removeItem(at: root) }
        let prepared = try BabiTask.prepare(configuration(root))
        let reread = try BabiDataset(data: root.path, set: "en", tasks: [1, 8], validationFraction: prepared.babi_validation,
                                     vocabulary: prepared.babi_vocabulary)
        // Without the files, only the handoff can give the task its stories: the same as reading them.
        try FileManager.default.removeItem(at: root)
        let task = try BabiTask(configuration: prepared)
        XCTAssertEqual(task.dataset.train, reread.train)
        XCTAssertEqual(task.dataset.validation, reread.validation)
        XCTAssertEqual(task.dataset.test, reread.test)
        XCTAssertEqual(task.dataset.vocabulary, reread.vocabulary)
        // Taken once: the next task reads the (now missing) files.
        XCTAssertThrowsError(try BabiTask(configuration: prepared)) { XCTAssertTrue("\($0)".contains("--data"), "\($0)") }
    }

    func testAnotherConfigurationReadsTheFiles() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("babi-once-other"), stories: 6)
        defer { try? FileManager.default.removeItem(at: root) }
        let prepared = try BabiTask.prepare(configuration(root))
        var other = prepared
        other.babi_tasks = [1]
        try FileManager.default.removeItem(at: root)
        for changed in [other, { var c = prepared; c.babi_validation = 0.5; return c }(),
                        { var c = prepared; c.babi_vocabulary = [] ; return c }()] {
            XCTAssertThrowsError(try BabiTask(configuration: changed), "\(changed.babi_tasks) \(changed.babi_validation)")
        }
        XCTAssertNoThrow(try BabiTask(configuration: prepared), "still held for the configuration it was read for")
    }
}
