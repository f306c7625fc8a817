import DNCTraining
import Foundation
import TestSupport
import XCTest

/// The command line explains itself: defaults in --help, one documented flag style with the
/// other accepted, eval defaulting to the run's lengths, aligned tables, grammatical messages.
final class CommandLinePolishTests: XCTestCase {
    let small = ["-nhid", "16", "-mem_slot", "8", "-mem_size", "6", "-batch_size", "4", "-lr", "0.003",
                 "-summarize_freq", "5", "-check_freq", "5", "-eval_batches", "1", "-iterations", "5"]

    func testTrainHelpShowsEachTasksDefaults() throws {
        let copy = try Executables.run("dnc-dist", ["train", "copy", "--help"])
        XCTAssertEqual(copy.status, 0, copy.error)
        let help = copy.output.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        for fragment in ["Controller hidden size. (default: 64; argmax: 100; babi: 256)", "Memory cells N. (default: 16; babi: 256)",
                         "(default: 100; repeat-copy: 16; babi: 1)", "Learning rate, in (0, 1]. (default: 0.0001)",
                         "(default: adam; repeat-copy: rmsprop; babi: rmsprop)", "--run_dir"] {
            XCTAssertTrue(help.contains(fragment), "train copy --help lacks '\(fragment)':\n\(copy.output)")
        }
    }

    func testEvalDefaultsToTheRunsLengthsAndAcceptsBothFlagStyles() throws {
        let run = Executables.temporaryDirectory("polish-eval")
        defer { try? FileManager.default.removeItem(at: run) }
        // --run_dir (snake_case) for --run-dir; one read head, said in the singular.
        let train = try Executables.run("dnc-dist", ["train", "copy"] + small + ["-read_heads", "1", "-eval_lengths", "2,3", "--run_dir", run.path])
        XCTAssertEqual(train.status, 0, train.error)
        let log = train.output + train.error
        XCTAssertTrue(log.contains("1 read head,"), log)
        XCTAssertFalse(log.contains("1 read heads"), log)

        let checkpoint = run.appendingPathComponent("checkpoints/checkpoint-00000005.h5").path
        let eval = try Executables.run("dnc-dist", ["eval", "--checkpoint", checkpoint, "--batches", "1", "--batch_size", "2",
                                                    "--mem-slot", "8", "--output", run.appendingPathComponent("again").path])
        XCTAssertEqual(eval.status, 0, eval.error)
        let csv = try String(contentsOf: run.appendingPathComponent("again.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] }, ["2", "3"], csv)
    }

    func testEvaluationTableColumnsStayAlignedWithWideValues() {
        let results = [Evaluation.Result(length: 2, loss: 0.5, metrics: ["bit_errors": 1], sequences: 4, seconds: 0.1),
                       Evaluation.Result(length: 1_000_000, loss: 123_456_789.5, metrics: ["bit_errors": 98_765_432.25],
                                         sequences: 4, seconds: 12_345.5)]
        let lines = Evaluation.table(results, primary: "bit_errors").split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        // Every cell of every line starts where its column's header starts.
        func starts(_ line: String) -> [Int] {
            var offsets: [Int] = [], previous: Character = " "
            for (i, c) in line.enumerated() { if c != " " && previous == " " { offsets.append(i) }; previous = c }
            return offsets
        }
        for line in lines.dropFirst() { XCTAssertEqual(starts(line), starts(lines[0]), "\n" + lines.joined(separator: "\n")) }
    }

    func testReportLiveDoesNotCallTheMissingEvalFileAProblem() throws {
        let run = Executables.temporaryDirectory("polish-live")
        defer { try? FileManager.default.removeItem(at: run) }
        let train = try Executables.run("dnc-dist", ["train", "copy"] + small + ["-eval_lengths", "2", "--run-dir", run.path])
        XCTAssertEqual(train.status, 0, train.error)
        // As while the run is still going: no end-of-training evaluation yet.
        for name in ["eval.h5", "eval.csv"] { try FileManager.default.removeItem(at: run.appendingPathComponent(name)) }
        let page = run.appendingPathComponent("report.html")
        let live = try Executables.run("dnc-dist", ["report", run.path, "--live", "--updates", "1", "--interval", "0.1"])
        XCTAssertEqual(live.status, 0, live.error)
        let html = try String(contentsOf: page, encoding: .utf8)
        XCTAssertFalse(html.contains("no end-of-training generalisation curve"), "live page lists the expected missing eval.h5")
        XCTAssertTrue(html.contains("is written when training ends"))
        let once = try Executables.run("dnc-dist", ["report", run.path])
        XCTAssertEqual(once.status, 0, once.error)
        XCTAssertTrue(try String(contentsOf: page, encoding: .utf8).contains("no end-of-training generalisation curve"),
                      "a one-off report of a stopped run still says eval.h5 is missing")
    }

    func testGlobalBatchSmallerThanTheRanksSuggestsPerRankBatchSize() throws {
        guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
        }
        let run = Executables.temporaryDirectory("polish-batch")
        defer { try? FileManager.default.removeItem(at: run) }
        let result = try Executables.run(executable: URL(fileURLWithPath: mpirun),
                                         ["-n", "2", Executables.url("dnc-dist").path, "train", "copy", "-batch_size", "1",
                                          "-iterations", "1", "--run-dir", run.path],
                                         environment: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                                                       "OMPI_MCA_rmaps_base_oversubscribe": "1"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue((result.output + result.error).contains("-per_rank_batch_size 1"), result.output + result.error)
    }
}
