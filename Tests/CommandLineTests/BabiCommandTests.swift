import XCTest
import TestSupport
import DNCTraining

/// `dnc-dist train babi` and `dnc-dist eval` on a handmade bAbI set (docs/tasks.md, bAbI): a run
/// writes the per-task error as a table, CSV and HDF5, during training (validation) and at the
/// end (test); the vocabulary is stored with the run; bad data and flags are refused in one line
/// with exit code 2 before anything is created.
final class BabiCommandTests: XCTestCase {
    let small = ["-nhid", "16", "-mem_slot", "8", "-mem_size", "8", "-read_heads", "1", "-batch_size", "2",
                 "-summarize_freq", "2", "-check_freq", "4"]

    func testTrainEvaluatesPerTaskAndEvalReadsTheCheckpoint() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("babi-data"), stories: 5)
        let run = Executables.temporaryDirectory("babi-run")
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(at: run) }
        let result = try Executables.run("dnc-dist", ["train", "babi", "--data", root.path, "-tasks", "1,8", "-iterations", "4",
                                                      "-eval_freq", "2", "--run-dir", run.path] + small)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("bAbI validation error at step 2") || result.error.contains("bAbI validation error at step 2"),
                      result.output + result.error)
        // The test error per task, the mean and the failed tasks, as CSV.
        let csv = try String(contentsOf: run.appendingPathComponent("eval.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(rows.first, ["task", "questions", "wrong", "error_percent"])
        XCTAssertEqual(rows.dropFirst().map { $0[0] }, ["1", "8", "mean"])
        XCTAssertEqual(rows.dropFirst().map { $0[1] }, ["4", "4", "8"], "2 test stories of 2 questions per task")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("eval-2.csv").path), "validation at eval_freq")
        let metrics = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(metrics.contains("\"babi_evaluation\""), metrics)
        XCTAssertTrue(metrics.contains("\"question_error_task_8\""), metrics)

        // The vocabulary is stored with the run: every word of all 20 tasks, sorted.
        let configuration = try XCTUnwrap(TrainingConfiguration.decode(json: String(contentsOf: run.appendingPathComponent("configuration.json"), encoding: .utf8)))
        XCTAssertEqual(configuration.babi_vocabulary, configuration.babi_vocabulary.sorted())
        XCTAssertTrue(configuration.babi_vocabulary.contains("-") && configuration.babi_vocabulary.contains("football"))
        XCTAssertEqual(configuration.input_size, configuration.babi_vocabulary.count)

        // eval on the checkpoint gives the same test errors.
        let checkpoint = run.appendingPathComponent("checkpoints/checkpoint-00000004.h5").path
        let output = run.appendingPathComponent("again")
        let eval = try Executables.run("dnc-dist", ["eval", "--checkpoint", checkpoint, "--output", output.path])
        XCTAssertEqual(eval.status, 0, eval.error)
        XCTAssertTrue(eval.output.contains("failed tasks (> 5 %)"), eval.output)
        XCTAssertEqual(try String(contentsOf: output.appendingPathExtension("csv"), encoding: .utf8), csv)
        // --lengths means nothing for bAbI.
        let lengths = try Executables.run("dnc-dist", ["eval", "--checkpoint", checkpoint, "--lengths", "10"])
        XCTAssertEqual(lengths.status, 2)
        XCTAssertTrue(lengths.error.contains("--lengths has no effect on a bAbI checkpoint"), lengths.error)

        if let python = ProcessInfo.processInfo.environment["DNC_TEST_PYTHON"] {
            let script = "import h5py,sys; f=h5py.File(sys.argv[1]); print(f['task'][:].tolist(), f['questions'][:].tolist(), f.attrs['failed_tasks'])"
            let h5 = try Executables.run(executable: URL(fileURLWithPath: python), ["-c", script, run.appendingPathComponent("eval.h5").path])
            XCTAssertEqual(h5.status, 0, h5.error)
            XCTAssertTrue(h5.output.hasPrefix("[1, 8] [4, 4]"), h5.output)
        }
    }

    func testMalformedFilesAndBadFlagsAreRefusedInOneLine() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("babi-bad"))
        defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("en/qa17_mini_train.txt")
        try "1 Mary moved to the office.\n2 Where is Mary?\toffice\n".write(to: file, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["--data", root.path], "bAbI file '\(file.path)', line 2: 1 tabs"),
            (["--data", root.path + "/missing"], "no folder 'en' in it"),
            (["--data", root.path, "-tasks", "1,21"], "tasks must be task numbers from 1 to 20, got 21"),
            (["--data", root.path, "-babi_set", "en-100k"], "babi_set must be one of en, en-10k, got 'en-100k'"),
            ([], "data must be the folder holding the bAbI sets"),
        ]
        for (flags, expected) in cases {
            let run = root.appendingPathComponent("run")
            let result = try Executables.run("dnc-dist", ["train", "babi", "-iterations", "1", "--run-dir", run.path] + flags)
            XCTAssertEqual(result.status, 2, "\(flags): \(result.error)")
            XCTAssertTrue(result.error.contains(expected), "\(flags): \(result.error)")
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
            XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "a refused command creates nothing")
        }
    }

    /// A resumed run reads its files with the stored vocabulary: moved files are accepted, files
    /// with a word it never saw are refused in one line.
    func testResumeKeepsTheStoredVocabulary() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("babi-resume"))
        defer { try? FileManager.default.removeItem(at: root) }
        let run = root.appendingPathComponent("run")
        let first = try Executables.run("dnc-dist", ["train", "babi", "--data", root.path, "-tasks", "1", "-iterations", "4",
                                                     "--run-dir", run.path] + small)
        XCTAssertEqual(first.status, 0, first.error)
        let moved = try BabiMiniSet.write(to: root.appendingPathComponent("moved"))
        let resumed = try Executables.run("dnc-dist", ["train", "babi", "--resume", "-iterations", "6", "--data", moved.path,
                                                       "--run-dir", run.path])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue((resumed.output + resumed.error).contains("at step 4"), resumed.output + resumed.error)
        let file = moved.appendingPathComponent("en/qa2_mini_test.txt")
        try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "Mary", with: "Marie")
            .write(to: file, atomically: true, encoding: .utf8)
        let refused = try Executables.run("dnc-dist", ["train", "babi", "--resume", "-iterations", "8", "--data", moved.path,
                                                       "--run-dir", run.path])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.error.contains("the word 'marie' is not in the run's stored vocabulary"), refused.error)
    }

    /// The same global batch of 3 stories on 1 and 2 ranks (shares of 2 and 1) trains the same model
    /// and counts the same test errors: samples are sharded by global index, evaluation batches
    /// are split over the ranks and their per-task counts summed.
    func testTwoRanksTrainAndEvaluateLikeOne() throws {
        guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
        }
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("babi-mpi"), stories: 6)
        defer { try? FileManager.default.removeItem(at: root) }
        var csv: [String] = [], parameters: [[Float]] = []
        for ranks in [1, 2] {
            let run = root.appendingPathComponent("run\(ranks)")
            let arguments = ["train", "babi", "--data", root.path, "-tasks", "1,8,19", "-iterations", "4", "--run-dir", run.path]
                + small + ["-batch_size", "3"]
            let result = try Executables.run(executable: URL(fileURLWithPath: mpirun),
                                             ["-n", "\(ranks)", Executables.url("dnc-dist").path] + arguments, timeout: 180,
                                             environment: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                                                           "OMPI_MCA_rmaps_base_oversubscribe": "1"])
            XCTAssertEqual(result.status, 0, "\(ranks) ranks: \(result.error)")
            csv.append(try String(contentsOf: run.appendingPathComponent("eval.csv"), encoding: .utf8))
            let checkpoint = try CheckpointFile.read(run.appendingPathComponent("checkpoints/checkpoint-00000004.h5").path, as: Float.self)
            parameters.append(checkpoint.parameters.flatMap(\.value.storage))
        }
        XCTAssertEqual(csv[0].split(separator: "\n").count, 5, csv[0])
        XCTAssertEqual(csv[1].split(separator: "\n").dropLast().map { $0.split(separator: ",").prefix(3) },
                       csv[0].split(separator: "\n").dropLast().map { $0.split(separator: ",").prefix(3) }, "the same questions and wrong answers per task")
        XCTAssertEqual(parameters[0].count, parameters[1].count)
        let difference = zip(parameters[0], parameters[1]).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(difference, 1e-5, "the replicas trained the same model as one process")
    }
}
