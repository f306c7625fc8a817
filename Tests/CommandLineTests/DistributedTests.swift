import XCTest
import TestSupport
import DNCTraining

/// `dnc-dist` under `mpirun` and Slurm: data-parallel replicas, uneven shares, resuming on another
/// rank count, a failing rank, consistent stops on signals, and a Slurm batch job.
final class DistributedTests: XCTestCase {
    let small = ["-nhid", "16", "-mem_slot", "8", "-mem_size", "6", "-read_heads", "2", "-lr", "0.003",
                 "-summarize_freq", "5", "-eval_lengths", "2,4", "-eval_batches", "1"]
    /// Root in containers; more ranks than cores.
    let mpiEnvironment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                          "OMPI_MCA_rmaps_base_oversubscribe": "1"]

    func mpirun() throws -> String {
        guard let path = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
        }
        return path
    }

    func run(ranks: Int, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 180) throws -> Executables.Result {
        let binary = Executables.url("dnc-dist").path
        return try Executables.run(executable: URL(fileURLWithPath: try mpirun()),
                                   ["-n", "\(ranks)"] + environment.keys.sorted().flatMap { ["-x", $0] } + [binary] + arguments,
                                   timeout: timeout, environment: mpiEnvironment.merging(environment) { $1 })
    }

    func parameters(_ run: URL, step: Int) throws -> [String: [Float]] {
        let checkpoint = try CheckpointFile.read(run.appendingPathComponent(String(format: "checkpoints/checkpoint-%08d.h5", step)).path, as: Float.self)
        return Dictionary(uniqueKeysWithValues: checkpoint.parameters.map { ($0.name, $0.value.storage) })
    }

    func maximumDifference(_ a: [String: [Float]], _ b: [String: [Float]]) -> Float {
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        return a.keys.map { key in zip(a[key]!, b[key]!).map { abs($0 - $1) }.max() ?? 0 }.max() ?? .infinity
    }

    /// The same global batch on 1, 2, 3 and 4 ranks (3 ranks: uneven shares of 8) trains the same
    /// model, up to the order of floating-point sums, for the dense DNC, SAM and the SDNC; every rank
    /// writes its own debug file, and h5py reads the rank-0 checkpoint and every debug file.
    func testRanksTrainTheSameModelAsOneProcess() throws {
        _ = try mpirun()
        for memory in [["-memory_type", "dnc"], ["-memory_type", "sam", "-sparse_reads", "2"],
                       ["-memory_type", "sdnc", "-sparse_reads", "2", "-temporal_reads", "2"]] {
            var runs: [URL] = []
            defer { for r in runs { try? FileManager.default.removeItem(at: r) } }
            for ranks in [1, 2, 3, 4] {
                let dir = Executables.temporaryDirectory("ranks\(ranks)")
                runs.append(dir)
                let result = try run(ranks: ranks, ["train", "copy"] + small + memory + ["-batch_size", "8", "-iterations", "6", "-debug",
                                                                                          "--run-dir", dir.path])
                XCTAssertEqual(result.status, 0, "\(memory) \(ranks) ranks: \(result.error)")
                for rank in 0..<ranks {
                    XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("debug-rank\(rank).h5").path), "rank \(rank) debug file")
                }
                // Only rank 0 prints progress.
                XCTAssertEqual(result.output.components(separatedBy: "step      5").count - 1, 1, result.output)
                if ranks == 4, let python = ProcessInfo.processInfo.environment["DNC_TEST_PYTHON"] {
                    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                        .appendingPathComponent("Scripts/check_run_files.py")
                    let checked = try Executables.run(executable: URL(fileURLWithPath: python), [script.path, dir.path])
                    XCTAssertEqual(checked.status, 0, checked.error)
                    XCTAssertTrue(checked.output.contains("\"debug_files\": 4"), checked.output)
                }
            }
            let one = try parameters(runs[0], step: 6)
            for (index, ranks) in [2, 3, 4].enumerated() {
                XCTAssertLessThan(maximumDifference(one, try parameters(runs[index + 1], step: 6)), 1e-4, "\(memory) \(ranks) ranks")
            }
        }
    }

    /// Replicas that differ are caught at the next summary with a clear message.
    func testDivergedReplicasFailTheRun() throws {
        let dir = Executables.temporaryDirectory("diverge")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try run(ranks: 2, ["train", "copy"] + small + ["-batch_size", "4", "-iterations", "20", "--run-dir", dir.path],
                             environment: ["DNC_TEST_PERTURB_RANK": "1"], timeout: 60)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("replicas diverged at step 5"), result.error)
    }

    /// A run checkpointed on 2 ranks resumes on 1 and on 4: it continues the same data stream
    /// (close to a 1-rank run throughout), and bit-identically to a run that used the new rank
    /// count throughout from that checkpoint (stopped and resumed once more on the way).
    func testResumeOnADifferentNumberOfRanks() throws {
        let reference = Executables.temporaryDirectory("ref"), moved = Executables.temporaryDirectory("moved")
        var extra: [URL] = []
        defer { for d in [reference, moved] + extra { try? FileManager.default.removeItem(at: d) } }
        XCTAssertEqual(try run(ranks: 1, ["train", "copy"] + small + ["-batch_size", "8", "-iterations", "8", "--run-dir", reference.path]).status, 0)
        var result = try run(ranks: 2, ["train", "copy"] + small + ["-batch_size", "8", "-iterations", "4", "--run-dir", moved.path])
        XCTAssertEqual(result.status, 0, result.error)
        for ranks in [1, 4] {
            let straight = Executables.temporaryDirectory("straight\(ranks)"), stopped = Executables.temporaryDirectory("stopped\(ranks)")
            extra += [straight, stopped]
            for target in [straight, stopped] {
                try FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: moved, to: target)
            }
            result = try run(ranks: ranks, ["train", "copy", "-iterations", "8", "--resume", "--run-dir", straight.path])
            XCTAssertEqual(result.status, 0, result.error)
            result = try run(ranks: ranks, ["train", "copy", "-iterations", "6", "--resume", "--run-dir", stopped.path])
            XCTAssertEqual(result.status, 0, result.error)
            result = try run(ranks: ranks, ["train", "copy", "-iterations", "8", "--resume", "--run-dir", stopped.path])
            XCTAssertEqual(result.status, 0, result.error)
            let a = try parameters(straight, step: 8), b = try parameters(stopped, step: 8)
            for key in a.keys { XCTAssertEqual(a[key]!.map(\.bitPattern), b[key]!.map(\.bitPattern), "\(ranks) ranks: \(key)") }
            XCTAssertLessThan(maximumDifference(try parameters(reference, step: 8), a), 1e-4)
        }
    }

    /// An error on one rank ends the whole job promptly with that rank's message; the last
    /// checkpoint on disk stays valid.
    func testAFailingRankEndsTheJob() throws {
        let dir = Executables.temporaryDirectory("fail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let started = Date()
        let result = try run(ranks: 2, ["train", "copy"] + small + ["-batch_size", "4", "-iterations", "100", "-check_freq", "3",
                                                                  "--run-dir", dir.path],
                             environment: ["DNC_TEST_FAIL_STEP": "5", "DNC_TEST_FAIL_RANK": "1"], timeout: 60)
        XCTAssertFalse(result.timedOut, "the job must not hang")
        XCTAssertLessThan(Date().timeIntervalSince(started), 45)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.error.contains("rank 1: injected failure at step 5"), result.error)
        let search = CheckpointDirectory(path: dir.appendingPathComponent("checkpoints").path).latest(as: Float.self)
        XCTAssertEqual(search.checkpoint?.step, 3)
    }

    /// A rank killed with SIGKILL ends the job within seconds too.
    func testAKilledRankEndsTheJob() throws {
        let dir = Executables.temporaryDirectory("killed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let running = try Executables.start(executable: URL(fileURLWithPath: try mpirun()),
                                            ["-n", "2", Executables.url("dnc-dist").path, "train", "copy"] + small
                                                + ["-batch_size", "4", "-iterations", "100000", "--run-dir", dir.path],
                                            environment: mpiEnvironment)
        let metrics = dir.appendingPathComponent("metrics.jsonl")
        var deadline = Date().addingTimeInterval(60)
        while (try? String(contentsOf: metrics, encoding: .utf8))?.isEmpty ?? true, Date() < deadline { usleep(50_000) }
        // The rank with OMPI_COMM_WORLD_RANK=1 among this job's processes.
        let ranks = try FileManager.default.contentsOfDirectory(atPath: "/proc").compactMap(Int32.init).filter { pid in
            let environment = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            return command.contains(dir.path) && command.contains("dnc-dist")
                && environment.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == "OMPI_COMM_WORLD_RANK=1" }
        }
        XCTAssertEqual(ranks.count, 1, "rank 1's process")
        let killed = Date()
        for pid in ranks { kill(pid, SIGKILL) }
        deadline = Date().addingTimeInterval(30)
        while running.process.isRunning && Date() < deadline { usleep(50_000) }
        XCTAssertFalse(running.process.isRunning, "the job must end when a rank dies")
        if running.process.isRunning { running.process.terminate() }
        let result = running.finish()
        XCTAssertLessThan(Date().timeIntervalSince(killed), 15)
        XCTAssertNotEqual(result.status, 0)
    }

    /// SIGUSR1 to mpirun (forwarded to every rank, as Slurm's --signal does through the batch
    /// script) stops every rank at the same step with one checkpoint and the requeue exit code.
    func testSignalStopsEveryRankConsistently() throws {
        let dir = Executables.temporaryDirectory("signal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try mpirun())
        process.arguments = ["-n", "2", Executables.url("dnc-dist").path, "train", "copy"] + small
            + ["-batch_size", "4", "-iterations", "100000", "-check_freq", "100000", "--run-dir", dir.path]
        process.environment = ProcessInfo.processInfo.environment.merging(mpiEnvironment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let metrics = dir.appendingPathComponent("metrics.jsonl")
        let deadline = Date().addingTimeInterval(60)
        while (try? String(contentsOf: metrics, encoding: .utf8))?.isEmpty ?? true, Date() < deadline { usleep(50_000) }
        kill(process.processIdentifier, SIGUSR1)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, StopSignals.requeueExitCode)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints").path)
        XCTAssertEqual(files.filter { $0.hasPrefix("checkpoint-") }.count, 1, "\(files)")
        let resumed = try run(ranks: 2, ["train", "copy", "-iterations", "\(CheckpointDirectory.step(fromFileName: files[0])! + 2)",
                                         "--resume", "--run-dir", dir.path])
        XCTAssertEqual(resumed.status, 0, resumed.error)
    }

    // MARK: Slurm

    var slurm: (conf: String, root: URL)? {
        guard let conf = ProcessInfo.processInfo.environment["SLURM_CONF"], FileManager.default.fileExists(atPath: conf) else { return nil }
        return (conf, URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent())
    }

    /// Submits a batch script (`script` relative to the checkout, given to sbatch as an
    /// absolute path: the scripts must not depend on the submit directory); returns the job id.
    func submit(_ script: String, _ options: [String], environment: [String: String]) throws -> String {
        let result = try Executables.run(executable: URL(fileURLWithPath: "/usr/bin/sbatch"),
                                         ["--parsable", "--chdir=\(slurm!.root.path)"] + options
                                            + [slurm!.root.appendingPathComponent(script).path],
                                         environment: environment.merging(["DNC_DIST": Executables.url("dnc-dist").path]) { $1 })
        XCTAssertEqual(result.status, 0, result.error)
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first.map(String.init) ?? ""
    }

    /// Polls squeue (sbatch --wait polls only every ~10 s) until the job is in a final state. Every
    /// state is asked for (`-t all`): squeue's default (pending, running, completing) leaves out
    /// REQUEUED, the moment between a requeued job's end and its return to the queue, and a poll
    /// that fell into it took the job for finished. A requeued job waits for a begin time Slurm
    /// sets about two minutes ahead; the test moves it to now (a real cluster just waits).
    func waitForJob(_ id: String, timeout: TimeInterval = 240) throws {
        let finalStates: Set<String> = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                                        "BOOT_FAIL", "DEADLINE", "PREEMPTED"]
        let deadline = Date().addingTimeInterval(timeout)
        var last = ""
        while Date() < deadline {
            let queue = try Executables.run(executable: URL(fileURLWithPath: "/usr/bin/squeue"), ["-h", "-t", "all", "-j\(id)", "-o", "%T %r"])
            last = queue.output.trimmingCharacters(in: .whitespacesAndNewlines)
            let state = last.split(separator: " ").first.map(String.init) ?? ""
            if finalStates.contains(state) { return }
            if state == "PENDING" && last.contains("BeginTime") {
                _ = try Executables.run(executable: URL(fileURLWithPath: "/usr/bin/scontrol"), ["update", "JobId=\(id)", "StartTime=now"])
            }
            usleep(200_000)
        }
        XCTFail("job \(id) not finished after \(timeout) s (last seen: \(last.isEmpty ? "nothing" : last))")
    }

    func jobState(_ id: String) throws -> String {
        try Executables.run(executable: URL(fileURLWithPath: "/usr/bin/scontrol"), ["show", "job", id]).output
    }

    /// The single-node batch script: a 2-rank job through `srun --mpi=pmix` runs to completion.
    func testSlurmBatchScript() throws {
        guard slurm != nil else { throw XCTSkip("no Slurm cluster (SLURM_CONF unset; scripts/test.sh starts one)") }
        let dir = Executables.temporaryDirectory("slurm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let job = try submit("cluster/slurm-single-node.sbatch", ["--ntasks=2", "--output=\(dir.path)/job-%j.out"], environment: [
            "RUN_DIR": dir.appendingPathComponent("run").path,
            "DNC_ARGS": (small + ["-batch_size", "4", "-iterations", "4", "-debug"]).joined(separator: " "),
        ])
        try waitForJob(job)
        let log = (try? String(contentsOf: dir.appendingPathComponent("job-\(job).out"), encoding: .utf8)) ?? ""
        XCTAssertTrue(try jobState(job).contains("JobState=COMPLETED"), log)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/checkpoints/checkpoint-00000004.h5").path), log)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/debug-rank1.h5").path), log)
        XCTAssertTrue(log.contains("step      4"), log)
    }

    /// A signal Slurm delivers to the ranks (`scancel --signal=TERM`, or SIGTERM at a time limit
    /// or preemption before KillWait's SIGKILL): every rank checkpoints the same step and exits
    /// 99, and `srun` returns 99, so that a batch script can tell a clean stop from a failure.
    func testSrunExits99AfterASignalDrivenCheckpoint() throws {
        guard slurm != nil else { throw XCTSkip("no Slurm cluster (SLURM_CONF unset; scripts/test.sh starts one)") }
        let dir = Executables.temporaryDirectory("srun-sigterm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run"), metrics = run.appendingPathComponent("metrics.jsonl")
        let name = "srun-sigterm-\(UUID().uuidString.prefix(8))"
        let running = try Executables.start(executable: URL(fileURLWithPath: "/usr/bin/srun"),
                                            ["--mpi=pmix", "--ntasks=2", "--job-name=\(name)", "--chdir=\(slurm!.root.path)",
                                             Executables.url("dnc-dist").path, "train", "copy"] + small
                                                + ["-batch_size", "4", "-iterations", "100000", "-check_freq", "100000", "--run-dir", run.path])
        let deadline = Date().addingTimeInterval(120)
        while ((try? String(contentsOf: metrics, encoding: .utf8)) ?? "").split(separator: "\n").count < 2, Date() < deadline,
              running.process.isRunning {
            usleep(50_000)
        }
        let signal = try Executables.run(executable: URL(fileURLWithPath: "/usr/bin/scancel"), ["--signal=TERM", "--name=\(name)"])
        XCTAssertEqual(signal.status, 0, signal.error)
        let stopBy = Date().addingTimeInterval(60)
        while running.process.isRunning && Date() < stopBy { usleep(20_000) }
        let timedOut = running.process.isRunning
        if timedOut { kill(running.process.processIdentifier, SIGKILL) }
        let result = running.finish(timedOut: timedOut)
        XCTAssertFalse(timedOut, "srun ended within 60 s of the signal")
        XCTAssertEqual(result.status, 99, "\(result.output)\n\(result.error)")
        XCTAssertTrue(result.output.contains("stopped by SIGTERM"), result.output)
        let saved = (try? FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("checkpoints").path)) ?? []
        XCTAssertEqual(saved.filter { $0.hasSuffix(".h5") }.count, 1, "one checkpoint, written on the signal: \(saved)")
    }

    /// The requeueable job receives its signal (as at the time limit), checkpoints, is requeued,
    /// resumes and finishes with the same final parameters as an uninterrupted 2-rank run.
    func testSlurmRequeueableJobResumesToTheSameParameters() throws {
        guard slurm != nil else { throw XCTSkip("no Slurm cluster (SLURM_CONF unset; scripts/test.sh starts one)") }
        let dir = Executables.temporaryDirectory("requeue"), reference = Executables.temporaryDirectory("uninterrupted")
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: reference) }
        let arguments = small + ["-batch_size", "4", "-iterations", "300", "-check_freq", "1000"]
        XCTAssertEqual(try run(ranks: 2, ["train", "copy"] + arguments + ["--run-dir", reference.path]).status, 0)

        let run = dir.appendingPathComponent("run")
        let job = try submit("cluster/slurm-requeue.sbatch", ["--ntasks=2", "--output=\(dir.path)/job-%j.out"],
                             environment: ["RUN_DIR": run.path, "DNC_ARGS": arguments.joined(separator: " ")])
        let metrics = run.appendingPathComponent("metrics.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while (try? String(contentsOf: metrics, encoding: .utf8))?.isEmpty ?? true, Date() < deadline { usleep(50_000) }
        // What Slurm does at --signal=B:USR1@120: signal the batch script.
        let signal = try Executables.run(executable: URL(fileURLWithPath: "/usr/bin/scancel"), ["--batch", "--signal=USR1", job])
        XCTAssertEqual(signal.status, 0, signal.error)
        try waitForJob(job, timeout: 300)
        let log = (try? String(contentsOf: dir.appendingPathComponent("job-\(job).out"), encoding: .utf8)) ?? ""
        XCTAssertTrue(log.contains("requeueing job"), log)
        XCTAssertTrue(log.contains("resumed from"), log)
        XCTAssertTrue(try jobState(job).contains("JobState=COMPLETED"), log)
        let a = try parameters(reference, step: 300), b = try parameters(run, step: 300)
        for key in a.keys { XCTAssertEqual(a[key]!.map(\.bitPattern), b[key]!.map(\.bitPattern), key) }
    }
}
