import DNCStorage
import Foundation
import TestSupport
import XCTest
@testable import DNCReports

/// `dnc-dist report` on a bAbI run: its evaluation files hold the error per task (no `length`
/// dataset) and are shown as a table and a chart of the error per task, not reported unreadable.
final class BabiReportTests: XCTestCase {
    func testBabiEvaluationFilesAreShownPerTask() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("report-babi-data"), stories: 5)
        let run = Executables.temporaryDirectory("report-babi").appendingPathComponent("run")
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(at: run.deletingLastPathComponent()) }
        let result = try Executables.run("dnc-dist", ["train", "babi", "--data", root.path, "-tasks", "1,8", "-iterations", "4",
                                                      "-eval_freq", "2", "-nhid", "16", "-mem_slot", "8", "-mem_size", "8",
                                                      "-read_heads", "1", "-batch_size", "2", "-summarize_freq", "2",
                                                      "-check_freq", "4", "--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)

        // The file as written: the reader gives what eval.csv says.
        guard case .babi(let test) = try EvaluationFile(contentsOf: run.appendingPathComponent("eval.h5")) else {
            return XCTFail("eval.h5 of a bAbI run read as a curve over lengths")
        }
        let csv = try String(contentsOf: run.appendingPathComponent("eval.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(test.tasks, [1, 8])
        XCTAssertEqual(test.questions.map(String.init), rows.prefix(2).map { $0[1] })
        XCTAssertEqual(test.wrong.map(String.init), rows.prefix(2).map { $0[2] })
        for (error, row) in zip(test.errors, rows) { XCTAssertEqual(100 * error, Double(row[3])!, accuracy: 1e-9) }
        XCTAssertEqual(100 * test.meanError, Double(rows[2][3])!, accuracy: 1e-9)
        XCTAssertEqual(test.split, "test")

        let report = try RunReport(runDirectory: run)
        XCTAssertEqual(report.problems.filter { $0.file.hasPrefix("eval") }.map(\.message), [], "bAbI files are not problems")
        XCTAssertTrue(report.html.contains("Question answering: error per bAbI task"))
        XCTAssertTrue(report.html.contains("<th>eval.h5 (test)</th>") && report.html.contains("<th>eval-2.h5 (validation)</th>"),
                      "one column per file")
        let mean = String(format: "%.2f", 100 * test.meanError)
        XCTAssertTrue(report.html.contains("<tr><td>mean</td><td>\(mean)</td>"), "the mean error of eval.h5")
        XCTAssertTrue(report.figures.contains { $0.kind == .generalisation && $0.key == "babi_error_percent" })
        XCTAssertFalse(report.figures.contains { $0.kind == .generalisation && $0.key == "loss" })

        // A curve file without `length` that is not bAbI's is still a problem, named.
        let odd = run.appendingPathComponent("eval-odd.h5")
        let file = try HDF5File(path: odd.path, mode: .create)
        try file.write(ints: [1, 2], shape: [2], to: "steps")
        try file.close()
        let withOdd = try RunReport(runDirectory: run)
        XCTAssertTrue(withOdd.problems.contains { $0.file == "eval-odd.h5" && $0.message.hasPrefix("cannot be read") }, "\(withOdd.problems)")
    }
}
