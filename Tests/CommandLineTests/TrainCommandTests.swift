import XCTest
import TestSupport
import DNCTraining
import DNCNumerics
import DNCModels
import DNCLayers

/// `dnc-dist` as users run it: pytorch-dnc's README command lines, bad input, resume, signals, and the
/// files a run leaves, read back by h5py.
final class TrainCommandTests: XCTestCase {
    /// Small and fast: overrides appended to a command line so that a test trains for seconds.
    let quick = ["-iterations", "2", "-summarize_freq", "1", "-eval_lengths", "2", "-eval_batches", "1"]

    func testEverySeedCommandLineParsesAndTrains() throws {
        // docs/tasks.md, "pytorch-dnc's README command lines": its older README's lines, with `dnc-dist train <task>` for the script.
        let dense: [(String, String)] = [
            ("copy", "-cuda 0 -optim rmsprop -batch_size 32 -mem_slot 64"),
            ("copy", "-cuda 0 -lr 0.001 -rnn_type lstm -nlayer 1 -nhlayer 2 -dropout 0 -mem_slot 32 -batch_size 1000 -optim adam -sequence_max_length 8"),
            ("copy", "-cuda 0"),
            ("argmax", "-cuda 0 -lr 0.0001 -rnn_type lstm -memory_type dnc -nlayer 1 -nhlayer 1 -nhid 100 -dropout 0 -mem_slot 100 -mem_size 10 -read_heads 2 -batch_size 1 -optim rmsprop -sequence_max_length 15 -input_size 10 -iterations 10000"),
        ]
        for (task, line) in dense {
            let run = Executables.temporaryDirectory("seed")
            var arguments = ["train", task] + line.split(separator: " ").map(String.init) + quick + ["--run-dir", run.path]
            if line.contains("-batch_size 1000") { arguments += ["-batch_size", "64"] }  // the same line, a debug-build-sized batch
            let result = try Executables.run("dnc-dist", arguments)
            XCTAssertEqual(result.status, 0, "\(task) \(line): \(result.error)")
            XCTAssertTrue(result.error.contains("warning: -cuda 0: ") && result.error.contains("; running on the CPU"), "-cuda warns: \(result.error)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints/checkpoint-00000002.h5").path))
            try? FileManager.default.removeItem(at: run)
        }
        // The SAM and SDNC lines train.
        let sam = Executables.temporaryDirectory("sam")
        defer { try? FileManager.default.removeItem(at: sam) }
        let samLine = "-cuda 0 -lr 0.0001 -rnn_type lstm -memory_type sam -nlayer 1 -nhlayer 1 -nhid 100 -dropout 0 -mem_slot 1000 -mem_size 32 -read_heads 1 -sparse_reads 4 -batch_size 20 -optim rmsprop -input_size 3 -sequence_max_length 100"
        let samResult = try Executables.run("dnc-dist", ["train", "adding"] + samLine.split(separator: " ").map(String.init) + quick
                                            + ["-eval_lengths", "10", "--run-dir", sam.path])
        XCTAssertEqual(samResult.status, 0, samResult.error)
        let sdnc = "-cuda 0 -lr 0.001 -rnn_type lstm -memory_type sdnc -nlayer 1 -nhlayer 2 -dropout 0 -mem_slot 100 -mem_size 10 -read_heads 1 -sparse_reads 10 -batch_size 20 -optim adam -sequence_max_length 10"
        let sdncRun = Executables.temporaryDirectory("sdnc")
        defer { try? FileManager.default.removeItem(at: sdncRun) }
        let sdncResult = try Executables.run("dnc-dist", ["train", "copy"] + sdnc.split(separator: " ").map(String.init) + quick
                                             + ["--run-dir", sdncRun.path])
        XCTAssertEqual(sdncResult.status, 0, sdncResult.error)
        XCTAssertTrue(FileManager.default.fileExists(atPath: sdncRun.appendingPathComponent("checkpoints/checkpoint-00000002.h5").path))
        // Double-dash spellings of the upstream scripts, and the remaining tasks.
        for (task, line) in [("copy", "--nhid 16 --mem_slot 8 --mem_size 4 --read_heads 1 --batch_size 4"),
                             ("adding", "--nhid 16 --mem_slot 8 --mem_size 4 --read_heads 1 --batch_size 4 --sequence_max_length 5"),
                             ("repeat-copy", "--nhid 16 --batch_size 4"),
                             ("associative-recall", "--nhid 16 --batch_size 4 --sequence_max_length 3"),
                             ("copy", "--memory_type sam --nhid 16 --mem_slot 64 --mem_size 8 --read_heads 2 --sparse_reads 4 --index approximate --batch_size 4"),
                             ("copy", "--memory_type sdnc --nhid 16 --mem_slot 64 --mem_size 8 --read_heads 2 --sparse_reads 4 --temporal_reads 3 --index approximate --batch_size 4 --debug --debug_memory_window 16"),
                             ("copy", "--memory_type none --nhid 16 --batch_size 4")] {
            let run = Executables.temporaryDirectory("spelling")
            let result = try Executables.run("dnc-dist", ["train", task] + line.split(separator: " ").map(String.init) + quick + ["--run-dir", run.path])
            XCTAssertEqual(result.status, 0, "\(task) \(line): \(result.error)")
            try? FileManager.default.removeItem(at: run)
        }
    }

    func testBadInputIsOneLineAndExitCode2BeforeAnyWork() throws {
        let run = Executables.temporaryDirectory("bad")
        for (arguments, needle) in [(["train", "copy", "-mem_slot", "0"], "mem_slot must be at least 1, got 0"),
                                    (["train", "copy", "-batch_size", "-3"], "batch_size"),
                                    (["train", "copy", "-memory_type", "lstm"], "'lstm' is invalid for '--memory_type <memory_type>'. Please provide one of 'dnc', 'sam', 'sdnc' or 'none'"),
                                    (["train", "copy", "-optim", "adamw"], "'adamw' is invalid for '--optim <optim>'. Please provide one of the following: adam, adamax, rmsprop, sgd, adagrad, adadelta"),
                                    (["train", "copy", "-dropout", "1.5"], "dropout must be in [0, 1), got 1.5"),
                                    (["train", "copy", "--config", "/nonexistent.json"], "cannot read configuration file '/nonexistent.json'"),
                                    (["train", "sort"], "sort"),
                                    (["eval", "--checkpoint", "/nonexistent.h5", "--lengths", "10"], "/nonexistent.h5"),
                                    (["eval", "--checkpoint", "x.h5", "--lengths", "10,zero"], "'zero' is not a positive integer")] {
            let result = try Executables.run("dnc-dist", arguments + ["--run-dir", run.path].filter { _ in arguments[0] == "train" && arguments.count > 2 })
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.error)")
            XCTAssertTrue(result.error.contains(needle), "\(arguments): \(result.error)")
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, "one line: \(result.error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints").path), "no work before validation")
        try? FileManager.default.removeItem(at: run)
    }

    /// Edge cases of the command line, each refused in one line naming the flag (or file and
    /// key), the value and what is accepted, with exit code 2 and before any work.
    func testCommandLineEdgeCasesAreRefusedInOneLine() throws {
        let folder = Executables.temporaryDirectory("edges")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let run = folder.appendingPathComponent("run").path
        let zeroCells = folder.appendingPathComponent("zero-cells.json"), lstmMemory = folder.appendingPathComponent("lstm.json")
        try Data(#"{"task": "copy", "mem_slot": 0}"#.utf8).write(to: zeroCells)
        try Data(#"{"task": "copy", "memory_type": "lstm"}"#.utf8).write(to: lstmMemory)
        let aFile = folder.appendingPathComponent("a-file")
        try Data().write(to: aFile)
        let cases: [([String], [String])] = [
            (["train", "reverse", "-nhid", "32"],
             ["unknown task 'reverse' (accepted: copy, adding, argmax, repeat-copy, associative-recall, babi)"]),
            (["train", "-nhid", "32"], ["no task before '-nhid': dnc-dist train <task> [options], the task one of copy, adding"]),
            (["train", "copy", "-mem_slot", "-1", "--run-dir", run], ["mem_slot must be at least 1, got -1"]),
            (["train", "copy", "-nhid", "-5", "--run-dir", run], ["nhid must be at least 1, got -5"]),
            (["train", "copy", "--run-dir", ""], ["--run-dir '' is empty"]),
            (["eval", "--checkpoint", "x.h5", "--lengths", ""], ["--lengths '' is empty"]),
            (["train", "copy", "-memory_type", "sdnc", "-mem_slot", "16", "-sparse_reads", "2", "-temporal_reads", "1000", "--run-dir", run],
             ["temporal_reads must be at most mem_slot − 1 (15), got 1000"]),
            (["train", "copy", "-memory_type", "sam", "-mem_slot", "8", "-sparse_reads", "9", "--run-dir", run],
             ["sparse_reads must be at most mem_slot (8), got 9"]),
            (["train", "copy", "-nonlinearity", "relu", "--run-dir", run],
             ["-nonlinearity relu has no effect: it needs rnn_type rnn (rnn_type is lstm)"]),
            (["train", "copy", "-index", "exact", "--run-dir", run],
             ["-index exact has no effect: it needs memory_type sam or sdnc (memory_type is dnc)"]),
            (["train", "copy", "-memory_type", "none", "-mem_slot", "8", "--run-dir", run],
             ["-mem_slot 8 has no effect: it needs a memory (memory_type is none)"]),
            (["train", "copy", "--run-dir", aFile.appendingPathComponent("run").path], [aFile.path]),
            (["train", "copy", "--config", zeroCells.path, "--run-dir", run],
             ["configuration file '\(zeroCells.path)': mem_slot must be at least 1, got 0"]),
            (["train", "copy", "--config", lstmMemory.path, "--run-dir", run],
             ["configuration file '\(lstmMemory.path)': 'memory_type' is \"lstm\", expected one of dnc, sam, sdnc, none"]),
            (["train", "copy", "-lr", "1e39", "--run-dir", run], ["lr must be in (0, 1], got 1e+39"]),
        ]
        for (arguments, needles) in cases {
            // Small and short, should a case be accepted.
            let result = try Executables.run("dnc-dist", arguments + (arguments[0] == "train" ? quick : []),
                                             timeout: 60)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.error)")
            for needle in needles { XCTAssertTrue(result.error.contains(needle), "\(arguments): \(result.error)") }
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, "one line: \(result.error)")
            XCTAssertFalse(result.error.contains("Error Domain"), "\(arguments): \(result.error)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: run), "\(arguments): no work before validation")
        }
        // A negative value that is valid is a value, not a missing one.
        let cuda = try Executables.run("dnc-dist", ["train", "copy", "-cuda", "-1"] + quick + ["-nhid", "8", "--run-dir", run])
        XCTAssertEqual(cuda.status, 0, cuda.error)
    }

    let small = ["-nhid", "16", "-mem_slot", "8", "-mem_size", "6", "-read_heads", "2", "-batch_size", "4", "-lr", "0.003",
                 "-summarize_freq", "5", "-eval_lengths", "2", "-eval_batches", "1"]

    /// N+M steps in one run equal N steps, stop, resume, M steps: parameters, optimiser state
    /// and counters bit-identical.
    func testResumeContinuesBitIdentically() throws {
        let whole = Executables.temporaryDirectory("whole"), parts = Executables.temporaryDirectory("parts")
        defer { try? FileManager.default.removeItem(at: whole); try? FileManager.default.removeItem(at: parts) }
        var result = try Executables.run("dnc-dist", ["train", "copy"] + small + ["-iterations", "12", "-check_freq", "4", "-dropout", "0.2",
                                                                          "-nhlayer", "2", "--run-dir", whole.path])
        XCTAssertEqual(result.status, 0, result.error)
        result = try Executables.run("dnc-dist", ["train", "copy"] + small + ["-iterations", "7", "-check_freq", "4", "-dropout", "0.2",
                                                                      "-nhlayer", "2", "--run-dir", parts.path])
        XCTAssertEqual(result.status, 0, result.error)
        result = try Executables.run("dnc-dist", ["train", "copy", "-iterations", "12", "--resume", "--run-dir", parts.path])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("resumed from"), result.output)

        let a = try CheckpointFile.read(whole.appendingPathComponent("checkpoints/checkpoint-00000012.h5").path, as: Float.self)
        let b = try CheckpointFile.read(parts.appendingPathComponent("checkpoints/checkpoint-00000012.h5").path, as: Float.self)
        XCTAssertEqual(a.parameters.map(\.name), b.parameters.map(\.name))
        for (p, q) in zip(a.parameters, b.parameters) {
            XCTAssertEqual(p.value.storage.map(\.bitPattern), q.value.storage.map(\.bitPattern), p.name)
        }
        XCTAssertEqual(a.optimiser, b.optimiser)
        XCTAssertEqual(a.counters, b.counters)
        // The files themselves are the same bytes (no time stamps, the configuration's keys in order).
        let bytesA = try Data(contentsOf: whole.appendingPathComponent("checkpoints/checkpoint-00000012.h5"))
        let bytesB = try Data(contentsOf: parts.appendingPathComponent("checkpoints/checkpoint-00000012.h5"))
        XCTAssertTrue(bytesA == bytesB, "the checkpoints of the whole run and the resumed one differ in their bytes")

        // A resume that would change the experiment is refused.
        result = try Executables.run("dnc-dist", ["train", "copy", "-iterations", "14", "-mem_slot", "9", "--resume", "--run-dir", parts.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.error.contains("cannot resume: mem_slot is 9 but the run was made with 8"), result.error)
    }

    func testDamagedCheckpointsOnResume() throws {
        let run = Executables.temporaryDirectory("damaged")
        defer { try? FileManager.default.removeItem(at: run) }
        var result = try Executables.run("dnc-dist", ["train", "copy"] + small + ["-iterations", "6", "-check_freq", "3", "--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)
        let newest = run.appendingPathComponent("checkpoints/checkpoint-00000006.h5")
        let handle = try FileHandle(forWritingTo: newest)
        try handle.truncate(atOffset: try handle.seekToEnd() / 2)
        try handle.close()
        // The truncated newest checkpoint is skipped; the run goes on from step 3.
        result = try Executables.run("dnc-dist", ["train", "copy", "-iterations", "6", "--resume", "--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("checkpoint-00000003.h5 at step 3"), result.output)
        // With every checkpoint damaged, one clear line and exit code 2.
        for file in try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path) {
            try Data("not a checkpoint".utf8).write(to: run.appendingPathComponent("checkpoints/\(file)"))
        }
        result = try Executables.run("dnc-dist", ["train", "copy", "--resume", "--run-dir", run.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.error.contains("no loadable checkpoint"), result.error)
    }

    /// SIGTERM (what Slurm sends before preemption) finishes the step, checkpoints and exits
    /// with the requeue code; the run then resumes from that checkpoint.
    func testSigtermCheckpointsAndExitsWithTheRequeueCode() throws {
        let run = Executables.temporaryDirectory("sigterm")
        defer { try? FileManager.default.removeItem(at: run) }
        let running = try Executables.start("dnc-dist", ["train", "copy"] + small + ["-iterations", "100000", "-check_freq", "100000",
                                                                                     "--run-dir", run.path])
        let metrics = run.appendingPathComponent("metrics.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while (try? String(contentsOf: metrics, encoding: .utf8))?.isEmpty ?? true, Date() < deadline { usleep(50_000) }
        kill(running.process.processIdentifier, SIGTERM)
        let result = running.finish()
        XCTAssertEqual(result.status, StopSignals.requeueExitCode, result.error)
        let files = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path)
        XCTAssertEqual(files.filter { $0.hasPrefix("checkpoint-") }.count, 1, "\(files)")
        let step = CheckpointDirectory.step(fromFileName: files.first { $0.hasPrefix("checkpoint-") }!)!
        XCTAssertGreaterThanOrEqual(step, 5)
        let resumed = try Executables.run("dnc-dist", ["train", "copy", "-iterations", "\(step + 2)", "--resume", "--run-dir", run.path])
        XCTAssertEqual(resumed.status, 0, resumed.error)
    }

    /// SIGKILL at any moment, checkpoint writes included, leaves the newest complete checkpoint loadable.
    func testSigkillDuringCheckpointingLeavesALoadableCheckpoint() throws {
        for delay in [0.6, 1.1, 1.7] {
            let run = Executables.temporaryDirectory("sigkill")
            defer { try? FileManager.default.removeItem(at: run) }
            // A checkpoint every step: most of the time goes into writing them.
            let running = try Executables.start("dnc-dist", ["train", "copy"] + small + ["-iterations", "100000", "-check_freq", "1",
                                                                                         "-nhid", "128", "--run-dir", run.path])
            usleep(UInt32(delay * 1_000_000))
            kill(running.process.processIdentifier, SIGKILL)
            _ = running.finish()
            let search = CheckpointDirectory(path: run.appendingPathComponent("checkpoints").path).latest(as: Float.self)
            if (try? FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path))?
                .contains(where: { $0.hasPrefix("checkpoint-") }) ?? false {
                XCTAssertNotNil(search.checkpoint, "after SIGKILL at \(delay) s: \(search.rejected)")
            }
        }
    }

    /// The files a run writes, read by h5py (in the virtual environment scripts/test.sh makes),
    /// agree with what the trainer itself reads back.
    func testRunFilesAreReadableByH5py() throws {
        guard let python = ProcessInfo.processInfo.environment["DNC_TEST_PYTHON"] else {
            throw XCTSkip("DNC_TEST_PYTHON (a Python with h5py, set up by scripts/test.sh) is not set")
        }
        let run = Executables.temporaryDirectory("h5py")
        defer { try? FileManager.default.removeItem(at: run) }
        let result = try Executables.run("dnc-dist", ["train", "copy"] + small + ["-iterations", "10", "-check_freq", "10", "-debug",
                                                                          "-eval_lengths", "2,5", "--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts/check_run_files.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, run.path]
        let pipe = Pipe(), errors = Pipe()
        process.standardOutput = pipe
        process.standardError = errors
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, errorText)
        let seen = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])

        let checkpoint = try CheckpointFile.read(run.appendingPathComponent("checkpoints/checkpoint-00000010.h5").path, as: Float.self)
        XCTAssertEqual(seen["checkpoint_step"] as? Int, 10)
        XCTAssertEqual(seen["parameter_count"] as? Int, checkpoint.parameterCount)
        XCTAssertEqual(seen["optimizer"] as? String, "adam")
        let first = checkpoint.parameters.first { $0.name == seen["first_parameter"] as? String }!
        XCTAssertEqual(seen["first_parameter_sum"] as! Double, first.value.storage.reduce(0) { $0 + Double($1) }, accuracy: 1e-9)
        XCTAssertEqual(seen["debug_steps"] as? [Int], [5, 10])
        XCTAssertEqual(Set(seen["debug_keys"] as? [String] ?? []), Set(["memory", "link_matrix", "precedence", "read_weights",
                                                                         "write_weights", "usage_vector", "allocation_weights",
                                                                         "read_modes", "write_gate", "free_gates"]))
        XCTAssertEqual(seen["memory_axes"] as? String, "time,cell,word")
        XCTAssertEqual((seen["memory_shape"] as? [Int])?.dropFirst(), [8, 6])
        XCTAssertEqual(seen["eval_lengths"] as? [Int], [2, 5])
    }

    func testEvalAndInspectACheckpoint() throws {
        let run = Executables.temporaryDirectory("eval")
        defer { try? FileManager.default.removeItem(at: run) }
        XCTAssertEqual(try Executables.run("dnc-dist", ["train", "copy"] + small + ["-iterations", "4", "--run-dir", run.path]).status, 0)
        let checkpoint = run.appendingPathComponent("checkpoints/checkpoint-00000004.h5").path
        let eval = try Executables.run("dnc-dist", ["eval", "--checkpoint", checkpoint, "--lengths", "3,30", "--batches", "1"])
        XCTAssertEqual(eval.status, 0, eval.error)
        XCTAssertTrue(eval.output.contains("masked_bit_accuracy"), eval.output)
        let csv = try String(contentsOf: run.appendingPathComponent("eval-4.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 3, csv)
        let inspect = try Executables.run("dnc-dist", ["inspect", checkpoint])
        XCTAssertEqual(inspect.status, 0, inspect.error)
        XCTAssertTrue(inspect.output.contains("step 4") && inspect.output.contains("output.weight"), inspect.output)
    }
}

/// Every configuration in experiments/ loads and is valid.
final class ExperimentConfigurationTests: XCTestCase {
    func testEveryExperimentConfigurationLoads() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("experiments")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        XCTAssertGreaterThanOrEqual(files.count, 8)
        // bAbI configurations name no data folder (the user's --data does): a handmade set stands in.
        let babi = try BabiMiniSet.write(to: Executables.temporaryDirectory("babi-config"), sets: ["en", "en-10k"])
        defer { try? FileManager.default.removeItem(at: babi) }
        for file in files {
            var configuration = try TrainingConfiguration.load(from: folder.appendingPathComponent(file).path)
            if configuration.task == "babi" { configuration.babi_data = babi.path }
            XCTAssertNil(configuration.validationError(), file)
            XCTAssertNoThrow(try TrainingSetup(configuration), file)
        }
    }

    func testUnknownKeysAndWrongTypesAreRefused() throws {
        let folder = Executables.temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(at: folder) }
        let typo = folder.appendingPathComponent("typo.json"), wrong = folder.appendingPathComponent("wrong.json")
        try Data(#"{"task": "copy", "mem_slots": 4}"#.utf8).write(to: typo)
        try Data(#"{"task": "copy", "mem_slot": "many"}"#.utf8).write(to: wrong)
        XCTAssertThrowsError(try TrainingConfiguration.load(from: typo.path)) { XCTAssertTrue("\($0)".contains("unknown key 'mem_slots'"), "\($0)") }
        XCTAssertThrowsError(try TrainingConfiguration.load(from: wrong.path)) {
            XCTAssertTrue("\($0)".contains("configuration file '\(wrong.path)': 'mem_slot' is \"many\", expected an integer"), "\($0)")
        }
    }

    /// The choices are enums whose raw values are the spellings configurations have always
    /// stored: every accepted spelling decodes and encodes to itself.
    func testChoicesKeepTheirSpellings() throws {
        func spellings<C: ConfigurationChoice>(_ type: C.Type) -> [String] { C.allCases.map(\.rawValue) }
        XCTAssertEqual(spellings(TrainingConfiguration.MemoryType.self), ["dnc", "sam", "sdnc", "none"])
        XCTAssertEqual(spellings(TrainingConfiguration.RNNType.self), ["lstm", "gru", "rnn"])
        XCTAssertEqual(spellings(TrainingConfiguration.Nonlinearity.self), ["tanh", "relu"])
        XCTAssertEqual(spellings(TrainingConfiguration.IndexChoice.self), ["auto", "exact", "approximate"])
        XCTAssertEqual(spellings(TrainingConfiguration.Preset.self), ["paper", "pytorch"])
        XCTAssertEqual(spellings(TrainingConfiguration.OptimiserName.self), Optimisers.names)
        XCTAssertEqual(spellings(TrainingConfiguration.LearningRateScheduleKind.self), ["constant", "step", "cosine"])
        var c = TrainingConfiguration.defaults(task: "copy")
        c.memory_type = .controllerOnly
        let json = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        XCTAssertTrue(json.contains(#""memory_type":"none""#), json)
        XCTAssertEqual(TrainingConfiguration.decode(json: json), c)
    }

    /// The library refuses what the command line refuses: the same rules, named by the
    /// constructor's arguments.
    func testTheLibraryRefusesWhatTheCommandLineRefuses() {
        var c = DNCConfiguration(inputSize: 4, hiddenSize: 8)
        c.cellCount = 8
        c.memoryKind = .sparse(reads: 9, index: .exact)
        XCTAssertEqual(c.validationError(), "sparse_reads must be at most nr_cells (8), got 9")
        c.memoryKind = .sparseTemporal(reads: 2, temporalReads: 8, index: .exact)
        XCTAssertEqual(c.validationError(), "temporal_reads must be at most nr_cells − 1 (7), got 8")
        c.cellCount = 1
        XCTAssertEqual(c.validationError(), "nr_cells must be at least 2 for the SDNC, got 1")
        var t = TrainingConfiguration.defaults(task: "copy")
        t.memory_type = .sdnc
        t.temporal_reads = 16
        XCTAssertThrowsError(try TrainingSetup(t)) { XCTAssertEqual("\($0)", "temporal_reads must be at most mem_slot − 1 (15), got 16") }
    }

    /// Parameters that are no longer finite stop the run at once, saying so, and say that no
    /// checkpoint was written rather than pointing at one.
    func testNonFiniteParametersStopTheRunWithoutClaimingACheckpoint() throws {
        var c = TrainingConfiguration.defaults(task: "copy")
        c.nhid = 8; c.mem_slot = 4; c.mem_size = 2; c.read_heads = 1; c.batch_size = 2; c.sequence_max_length = 2
        c.iterations = 50; c.summarize_freq = 50; c.check_freq = 50
        let trainer = try Trainer(configuration: c, runDirectory: nil, progress: ProgressReporter(enabled: false))
        let store = trainer.model.parameters
        for i in 0..<store.count { store.values[i] = .nan }
        XCTAssertThrowsError(try trainer.run()) { error in
            XCTAssertTrue(error is TrainingFailure, "\(error)")
            XCTAssertTrue("\(error)".contains("stopping at step 1: the parameters are no longer finite"), "\(error)")
            XCTAssertTrue("\(error)".contains("no checkpoint was written"), "\(error)")
        }
    }
}
