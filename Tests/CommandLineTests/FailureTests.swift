import XCTest
import TestSupport
import DNCTraining
import DNCNumerics

/// "Nothing lost, ever": a full disk, sizes that cannot be allocated, two runs in one directory,
/// kill -9, damaged checkpoint attributes, stop signals during the final evaluation. Each failure
/// is one line and an exit code below 128, and what was saved before it stays usable.
final class FailureTests: XCTestCase {
    let small = ["-nhid", "16", "-mem_slot", "8", "-mem_size", "6", "-read_heads", "2", "-batch_size", "4", "-lr", "0.003",
                 "-summarize_freq", "5", "-eval_lengths", "2", "-eval_batches", "1"]

    // MARK: Helpers

    /// A tmpfs of `size` mounted on a new directory (unmounted by the returned closure), or a skip.
    func tmpfs(_ size: String) throws -> (URL, () -> Void) {
        let mountPoint = Executables.temporaryDirectory("tmpfs")
        let result = try Executables.run(executable: URL(fileURLWithPath: "/bin/mount"),
                                         ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", mountPoint.path], timeout: 20)
        guard result.status == 0 else {
            try? FileManager.default.removeItem(at: mountPoint)
            throw XCTSkip("cannot mount a tmpfs here (not root?): \(result.error)")
        }
        return (mountPoint, {
            _ = try? Executables.run(executable: URL(fileURLWithPath: "/bin/umount"), ["-l", mountPoint.path], timeout: 20)
            try? FileManager.default.removeItem(at: mountPoint)
        })
    }

    func remount(_ mountPoint: URL, size: String) throws {
        let result = try Executables.run(executable: URL(fileURLWithPath: "/bin/mount"),
                                         ["-o", "remount,size=\(size)", mountPoint.path], timeout: 20)
        XCTAssertEqual(result.status, 0, result.error)
    }

    /// `dnc-dist` with `arguments`, killed after `timeout` seconds. A process ended by a signal
    /// gets the shell's status, 128 + the signal (Foundation reports the bare signal number,
    /// which would pass for an exit code).
    func dist(_ arguments: [String], timeout: TimeInterval = 120) throws -> Executables.Result {
        let running = try Executables.start("dnc-dist", arguments)
        let result = finish(running, within: timeout)
        guard running.process.terminationReason == .uncaughtSignal else { return result }
        return Executables.Result(status: 128 + result.status, output: result.output, error: result.error, timedOut: result.timedOut)
    }

    /// Waits for `running` at most `seconds`, then kills it; the result says whether it had to.
    func finish(_ running: Executables.Running, within seconds: TimeInterval) -> Executables.Result {
        let deadline = Date().addingTimeInterval(seconds)
        while running.process.isRunning && Date() < deadline { usleep(20_000) }
        let timedOut = running.process.isRunning
        if timedOut { kill(running.process.processIdentifier, SIGKILL) }
        return running.finish(timedOut: timedOut)
    }

    /// Polls `condition` every 50 ms for at most `seconds`; returns whether it came true.
    @discardableResult
    func wait(_ seconds: TimeInterval, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            usleep(50_000)
        }
        return true
    }

    func checkpoints(_ run: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path)) ?? [])
            .filter { CheckpointDirectory.step(fromFileName: $0) != nil }.sorted()
    }

    func assertOneLineError(_ result: Executables.Result, mentions needles: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(result.timedOut, "timed out: \(result.error)", file: file, line: line)
        XCTAssertNotEqual(result.status, 0, result.error, file: file, line: line)
        XCTAssertLessThan(result.status, 128, "exit code \(result.status) is a signal's: \(result.error)", file: file, line: line)
        XCTAssertFalse(result.error.contains("crashed"), result.error, file: file, line: line)
        let lines = result.error.split(separator: "\n").filter { $0.hasPrefix("error:") }
        XCTAssertEqual(lines.count, 1, "one error line: \(result.error)", file: file, line: line)
        for needle in needles { XCTAssertTrue(result.error.contains(needle), "'\(needle)' in: \(result.error)", file: file, line: line) }
    }

    // MARK: 1. A full disk

    /// Checkpoints fill a 2 MiB disk: one line naming the file, an exit code (not SIGSEGV in
    /// HDF5's shutdown), the earlier checkpoints intact, and --resume continues once there is room.
    func testFullDiskDuringCheckpointsIsOneLineAndResumable() throws {
        let (disk, unmount) = try tmpfs("2m")
        defer { unmount() }
        let run = disk.appendingPathComponent("a")
        let result = try dist(["train", "copy", "-nhid", "64", "-mem_slot", "16", "-mem_size", "8", "-read_heads", "2",
                                                      "-batch_size", "8", "-sequence_max_length", "4", "-check_freq", "10",
                                                      "-iterations", "200", "--run-dir", run.path], timeout: 300)
        assertOneLineError(result, mentions: [run.path])
        let saved = checkpoints(run)
        XCTAssertFalse(saved.isEmpty, "the checkpoints written before the disk filled")
        for name in saved {
            XCTAssertNoThrow(try CheckpointFile.read(run.appendingPathComponent("checkpoints/\(name)").path, as: Float.self), name)
        }
        try remount(disk, size: "64m")
        let last = CheckpointDirectory.step(fromFileName: saved.last!)!
        let resumed = try dist(["train", "copy", "-iterations", "\(last + 2)", "-eval_lengths", "2", "-eval_batches", "1",
                                                       "--resume", "--run-dir", run.path], timeout: 300)
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertTrue(resumed.output.contains("resumed from \(run.path)/checkpoints/\(saved.last!)"), resumed.output)
    }

    /// A debug dump fills the disk: one line, an exit code; a damaged dump is moved aside (said
    /// in one line) and never blocks --resume.
    func testFullDiskDuringDebugDumpsNeverBlocksAResume() throws {
        let (disk, unmount) = try tmpfs("2m")
        defer { unmount() }
        let run = disk.appendingPathComponent("c")
        let result = try dist(["train", "copy", "-nhid", "16", "-mem_slot", "16", "-mem_size", "8", "-read_heads", "2",
                                                      "-batch_size", "8", "-sequence_max_length", "4", "-check_freq", "5",
                                                      "-keep_checkpoints", "1", "-iterations", "400", "-debug", "-summarize_freq", "1",
                                                      "--run-dir", run.path], timeout: 300)
        assertOneLineError(result, mentions: [run.path])
        XCTAssertFalse(checkpoints(run).isEmpty)
        try remount(disk, size: "64m")
        // However far the dump got, damage it the way a crash mid-write can.
        let dump = run.appendingPathComponent("debug-rank0.h5")
        let handle = try FileHandle(forWritingTo: dump)
        try handle.truncate(atOffset: try handle.seekToEnd() / 3)
        try handle.close()
        let last = CheckpointDirectory.step(fromFileName: checkpoints(run).last!)!
        let resumed = try dist(["train", "copy", "-iterations", "\(last + 2)", "-eval_lengths", "2", "-eval_batches", "1",
                                                       "--resume", "--run-dir", run.path], timeout: 300)
        XCTAssertEqual(resumed.status, 0, resumed.error)
        let notices = resumed.output.split(separator: "\n").filter { $0.contains("moved aside") }
        XCTAssertEqual(notices.count, 1, resumed.output)
        XCTAssertTrue(notices.first?.contains(dump.path) ?? false, resumed.output)
        let names = try FileManager.default.contentsOfDirectory(atPath: run.path)
        XCTAssertTrue(names.contains { $0.hasPrefix("debug-rank0.h5.damaged-") }, "\(names)")
        XCTAssertTrue(names.contains("debug-rank0.h5"), "a new dump: \(names)")
    }

    /// `eval` on a full disk: one line naming the file, an exit code, no unreadable eval.h5.
    func testFullDiskDuringEvalIsOneLineAndLeavesNoBrokenFile() throws {
        let run = Executables.temporaryDirectory("eval-full")
        defer { try? FileManager.default.removeItem(at: run) }
        XCTAssertEqual(try dist(["train", "copy"] + small + ["-iterations", "2", "--run-dir", run.path]).status, 0)
        let (disk, unmount) = try tmpfs("2m")
        defer { unmount() }
        // Fill the disk to its last 8 KiB: room for eval.csv, not for eval.h5.
        let filler = disk.appendingPathComponent("filler")
        _ = try Executables.run(executable: URL(fileURLWithPath: "/bin/dd"), ["if=/dev/zero", "of=\(filler.path)", "bs=1k", "count=2040"], timeout: 20)
        let output = disk.appendingPathComponent("eval")
        let result = try dist(["eval", "--checkpoint", run.appendingPathComponent("checkpoints/checkpoint-00000002.h5").path,
                                                      "--lengths", "2,3", "--batches", "1", "--output", output.path], timeout: 120)
        assertOneLineError(result, mentions: [output.path])
        let left = try FileManager.default.contentsOfDirectory(atPath: disk.path).filter { $0 != "filler" }
        XCTAssertFalse(left.contains("eval.h5"), "an unreadable eval.h5 was left: \(left)")
        XCTAssertFalse(left.contains { $0.contains(".tmp-") }, "temporary files left: \(left)")
    }

    // MARK: 2. Sizes that cannot be allocated

    /// Each is refused before any allocation: one line with the estimate and the limit, exit 2,
    /// promptly (not an abort with a backtrace, not a process growing until it is killed).
    func testSizesThatCannotFitAreRefusedWithTheEstimate() throws {
        let parent = Executables.temporaryDirectory("huge"), run = parent.appendingPathComponent("run")
        defer { try? FileManager.default.removeItem(at: parent) }
        let base = ["-iterations", "2", "-eval_batches", "1", "-batch_size", "8"]
        for flags in [["-mem_size", "100000000"], ["-batch_size", "1000000000000"], ["-sequence_max_length", "10000000"],
                      ["-input_size", "100000000"], ["-mem_slot", "50000"], ["-eval_lengths", "99999999"],
                      ["-read_heads", "1000000"], ["-nhid", "10000000"]] {
            let result = try dist(["train", "copy"] + base + flags + ["--run-dir", run.path], timeout: 60)
            XCTAssertEqual(result.status, 2, "\(flags): \(result.error)")
            assertOneLineError(result, mentions: ["needs about", "GiB", "limit", "--memory-limit"])
            XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "\(flags): refused before the run directory is made")
        }
        // A run that fits by default is refused under a lower limit, and runs under a higher one.
        var result = try dist(["train", "copy"] + small + ["-iterations", "2", "--memory-limit", "0.00001", "--run-dir", run.path])
        XCTAssertEqual(result.status, 2, result.error)
        assertOneLineError(result, mentions: ["needs about", "10 KiB (--memory-limit"])
        result = try dist(["train", "copy"] + small + ["-iterations", "2", "--memory-limit", "100000", "--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)

        let checkpoint = run.appendingPathComponent("checkpoints/checkpoint-00000002.h5").path
        for (lengths, batch) in [("100000000", "100"), ("1000000", "1000")] {
            let eval = try dist(["eval", "--checkpoint", checkpoint, "--lengths", "2,\(lengths)", "--batch-size", batch,
                                                        "--output", run.appendingPathComponent("e").path], timeout: 60)
            XCTAssertEqual(eval.status, 2, "\(lengths): \(eval.error)")
            assertOneLineError(eval, mentions: ["evaluating at length \(lengths) needs about", "limit"])
        }
    }

    // MARK: 3. Run directories

    /// A second run in a run directory is refused (one line, exit 2) without --resume, unless
    /// --overwrite; a second process on a directory in use is refused while the first lives.
    func testRunDirectoriesAreNeverReusedByAccident() throws {
        let run = Executables.temporaryDirectory("reuse")
        defer { try? FileManager.default.removeItem(at: run) }
        XCTAssertEqual(try dist(["train", "copy"] + small + ["-iterations", "4", "--run-dir", run.path]).status, 0)
        let before = checkpoints(run)
        XCTAssertEqual(before, ["checkpoint-00000004.h5"])
        var result = try dist(["train", "copy"] + small + ["-iterations", "2", "--run-dir", run.path])
        XCTAssertEqual(result.status, 2, result.error)
        assertOneLineError(result, mentions: [run.path, "not empty", "--resume", "--overwrite"])
        XCTAssertEqual(checkpoints(run), before, "the earlier run's checkpoints are kept")
        result = try dist(["train", "copy"] + small + ["-iterations", "2", "--overwrite", "--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(checkpoints(run), ["checkpoint-00000002.h5"])

        // The lock: a live run holds it; a second process is refused; the lock dies with its holder.
        let busy = Executables.temporaryDirectory("busy")
        defer { try? FileManager.default.removeItem(at: busy) }
        let first = try Executables.start("dnc-dist", ["train", "copy"] + small + ["-iterations", "100000", "-check_freq", "100000",
                                                                                   "--run-dir", busy.path])
        let metrics = busy.appendingPathComponent("metrics.jsonl")
        XCTAssertTrue(wait(60) { !((try? String(contentsOf: metrics, encoding: .utf8))?.isEmpty ?? true) }, "the first run started")
        for arguments in [["--resume"], ["--overwrite"]] {
            let second = try dist(["train", "copy"] + small + ["-iterations", "2"] + arguments + ["--run-dir", busy.path])
            XCTAssertEqual(second.status, 2, second.error)
            assertOneLineError(second, mentions: [busy.path, "in use by another dnc-dist process", "pid \(first.process.processIdentifier)"])
        }
        kill(first.process.processIdentifier, SIGKILL)
        _ = finish(first, within: 30)
        // No checkpoint yet: nothing to resume, and the dead process's lock does not block a fresh start.
        result = try dist(["train", "copy"] + small + ["-iterations", "2", "--overwrite", "--run-dir", busy.path])
        XCTAssertEqual(result.status, 0, result.error)
    }

    // MARK: 4. Resume after kill -9

    /// kill -9 after a checkpoint: the resumed run's metrics.jsonl and debug dump hold each step
    /// once, exactly like an uninterrupted run's; stale temporary checkpoints of dead processes go.
    func testResumeAfterKillRecordsEachStepOnce() throws {
        guard let python = ProcessInfo.processInfo.environment["DNC_TEST_PYTHON"] else {
            throw XCTSkip("DNC_TEST_PYTHON (a Python with h5py) is not set")
        }
        let arguments = small + ["-summarize_freq", "1", "-check_freq", "4", "-debug", "-eval_lengths", "2"]
        let killed = Executables.temporaryDirectory("killed"), whole = Executables.temporaryDirectory("whole")
        defer { try? FileManager.default.removeItem(at: killed); try? FileManager.default.removeItem(at: whole) }
        let running = try Executables.start("dnc-dist", ["train", "copy"] + arguments + ["-iterations", "100000", "--run-dir", killed.path])
        let metrics = killed.appendingPathComponent("metrics.jsonl")
        // Past a checkpoint and a few more steps that the resumed run records again.
        XCTAssertTrue(wait(120) {
            guard let first = checkpoints(killed).first, let text = try? String(contentsOf: metrics, encoding: .utf8) else { return false }
            return text.split(separator: "\n").count >= Int(CheckpointDirectory.step(fromFileName: first)!) + 2
        }, "the run got past its first checkpoint")
        kill(running.process.processIdentifier, SIGKILL)
        _ = finish(running, within: 30)
        let dead = running.process.processIdentifier
        let stale = killed.appendingPathComponent("checkpoints/.checkpoint-00000099.h5.tmp-\(dead)")
        try Data("half a checkpoint".utf8).write(to: stale)
        let last = Int(CheckpointDirectory.step(fromFileName: checkpoints(killed).last!)!)
        let end = last + 3
        let resumed = try dist(["train", "copy", "-iterations", "\(end)", "--resume", "--run-dir", killed.path])
        XCTAssertEqual(resumed.status, 0, resumed.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path), "the dead process's temporary checkpoint is removed")
        XCTAssertEqual(try dist(["train", "copy"] + arguments + ["-iterations", "\(end)", "--run-dir", whole.path]).status, 0)

        func steps(_ run: URL) throws -> [Int] {
            try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").compactMap {
                (try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["step"] as? Int
            }
        }
        XCTAssertEqual(try steps(killed), try steps(whole))
        XCTAssertEqual(try steps(killed).filter { $0 <= end }, Array(1...end) + [end], "each step once, then the evaluation")
        let script = """
        import h5py, sys
        f = h5py.File(sys.argv[1], "r")
        print(";".join(f"{g}:{f[g]['layer_0/memory'].shape[0]}" for g in sorted(f.keys())))
        """
        func dump(_ run: URL) throws -> String {
            let r: Executables.Result = try Executables.run(executable: URL(fileURLWithPath: python), ["-c", script, run.appendingPathComponent("debug-rank0.h5").path])
            XCTAssertEqual(r.status, 0, r.error)
            return r.output
        }
        let dumped = try dump(killed)
        XCTAssertEqual(dumped, try dump(whole), "the debug dumps hold the same steps with the same time lengths")
        XCTAssertEqual(dumped.split(separator: ";").count, end)
    }

    // MARK: 5. Checksummed configuration and state (the file format: ModelsTests/CheckpointAttributeChecksumTests)

    /// --resume falls back past a checkpoint with a damaged configuration, or damaged data, and
    /// says which one it skipped and why.
    func testResumeSaysWhichCheckpointItSkippedAndWhy() throws {
        let run = Executables.temporaryDirectory("skipped")
        defer { try? FileManager.default.removeItem(at: run) }
        var result = try dist(["train", "copy"] + small + ["-iterations", "9", "-check_freq", "3", "--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(checkpoints(run), ["checkpoint-00000003.h5", "checkpoint-00000006.h5", "checkpoint-00000009.h5"])
        // A one-bit change in the newest one's recorded configuration: nhid 16 → 17.
        let newest = run.appendingPathComponent("checkpoints/checkpoint-00000009.h5")
        var bytes = try Data(contentsOf: newest)
        let json = try XCTUnwrap(bytes.range(of: Data("\"nhid\":16".utf8)))
        bytes[json.lowerBound + 8] ^= 0x01
        try bytes.write(to: newest)
        // The next one's data truncated.
        let middle = run.appendingPathComponent("checkpoints/checkpoint-00000006.h5")
        let handle = try FileHandle(forWritingTo: middle)
        try handle.truncate(atOffset: try handle.seekToEnd() / 2)
        try handle.close()
        result = try dist(["train", "copy", "-iterations", "5", "--resume", "--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("resumed from \(run.path)/checkpoints/checkpoint-00000003.h5 at step 3"), result.output)
        let skipped = result.output.split(separator: "\n").filter { $0.hasPrefix("warning: skipped") }
        XCTAssertEqual(skipped.count, 2, result.output)
        XCTAssertTrue(skipped.contains { $0.contains("checkpoint-00000009.h5") && $0.contains("checksum") }, result.output)
        XCTAssertTrue(skipped.contains { $0.contains("checkpoint-00000006.h5") && $0.contains("truncated or damaged") }, result.output)
    }

    // MARK: 6. Signals

    /// SIGTERM during the final evaluation stops it within a batch: exit 99 promptly, and the
    /// final checkpoint is on disk.
    func testSigtermDuringTheFinalEvaluationExitsPromptly() throws {
        let run = Executables.temporaryDirectory("eval-sigterm")
        defer { try? FileManager.default.removeItem(at: run) }
        let running = try Executables.start("dnc-dist", ["train", "copy"] + small + ["-iterations", "3", "-eval_lengths", "400,400,400,400",
                                                                                     "-eval_batches", "200", "--run-dir", run.path])
        XCTAssertTrue(wait(120) { checkpoints(run).contains("checkpoint-00000003.h5") }, "training finished")
        usleep(500_000)
        let sent = Date()
        kill(running.process.processIdentifier, SIGTERM)
        let result = finish(running, within: 60)
        XCTAssertEqual(result.status, StopSignals.requeueExitCode, result.error)
        XCTAssertLessThan(Date().timeIntervalSince(sent), 8, "the evaluation noticed the signal within a batch")
        XCTAssertTrue(result.output.contains("stopped by SIGTERM"), result.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("eval.h5").path))
    }

    /// Direct children of a process (from /proc).
    func children(of pid: Int32) -> [Int32] {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { Int32($0) }
    }

    /// Under mpirun, SIGTERM makes every rank checkpoint and exit 99, but Open MPI's mpirun
    /// aborts the job on SIGTERM and exits 1. cluster/mpirun-signals.sh forwards it as SIGUSR1
    /// (which mpirun passes on without aborting) and exits 99; a rank killed by a signal is
    /// named, with the advice to --resume, which then continues the run.
    func testMpirunWrapperExits99OnSigtermAndNamesADeadRank() throws {
        guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("mpirun is not installed")
        }
        _ = mpirun
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("cluster/mpirun-signals.sh")
        let environment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"]
        let run = Executables.temporaryDirectory("mpirun-signals")
        defer { try? FileManager.default.removeItem(at: run) }
        let metrics = run.appendingPathComponent("metrics.jsonl")
        func lines() -> Int { ((try? String(contentsOf: metrics, encoding: .utf8)) ?? "").split(separator: "\n").count }
        let training = ["-n", "2", Executables.url("dnc-dist").path, "train", "copy"] + small + ["-check_freq", "5", "--run-dir", run.path]

        var running = try Executables.start(executable: script, training + ["-iterations", "100000"], environment: environment)
        XCTAssertTrue(wait(120) { lines() >= 1 }, "training started")
        kill(running.process.processIdentifier, SIGTERM)
        var result = finish(running, within: 120)
        XCTAssertEqual(result.status, StopSignals.requeueExitCode, result.output + result.error)
        XCTAssertTrue(result.output.contains("stopped by SIGUSR1") || result.output.contains("stopped by SIGTERM"), result.output)
        XCTAssertTrue(result.error.contains("--resume"), result.error)
        let stopped = checkpoints(run)
        XCTAssertFalse(stopped.isEmpty)

        // A rank killed outright: the job ends, the dead rank is named, --resume is advised.
        running = try Executables.start(executable: script, training + ["-iterations", "100000", "--resume"], environment: environment)
        let before = lines()
        XCTAssertTrue(wait(120) { lines() >= before + 2 }, "the resumed run trains")
        let ranks = children(of: running.process.processIdentifier).flatMap { children(of: $0) }
        XCTAssertEqual(ranks.count, 2, "two ranks under mpirun")
        if let last = ranks.last { kill(last, SIGKILL) }
        result = finish(running, within: 120)
        XCTAssertFalse(result.timedOut)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("rank") && result.error.contains("signal 9"), result.error)
        XCTAssertTrue(result.error.contains("continue with the same command and --resume"), result.error)
        let last = Int(CheckpointDirectory.step(fromFileName: checkpoints(run).last!)!)
        result = try Executables.run(executable: script, training + ["-iterations", "\(last + 2)", "--resume"], timeout: 180, environment: environment)
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertTrue(result.output.contains("resumed from"), result.output)
    }
}
