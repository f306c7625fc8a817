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

    /// The same global batch on 1, 2 and 3 ranks (3 ranks: uneven shares of 7) trains the same
    /// model, up to the order of floating-point sums; every rank writes its own debug file.
    func testRanksTrainTheSameModelAsOneProcess() throws {
        _ = try mpirun()
        var runs: [URL] = []
        defer { for r in runs { try? FileManager.default.removeItem(at: r) } }
        for ranks in [1, 2, 3] {
            let dir = Executables.temporaryDirectory("ranks\(ranks)")
            runs.append(dir)
            let result = try run(ranks: ranks, ["train", "copy"] + small + ["-batch_size", "7", "-iterations", "6", "-debug", "--run-dir", dir.path])
            XCTAssertEqual(result.status, 0, "\(ranks) ranks: \(result.error)")
            for rank in 0..<ranks {
                XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("debug-rank\(rank).h5").path), "rank \(rank) debug file")
            }
            // Only rank 0 prints progress.
            XCTAssertEqual(result.output.components(separatedBy: "step      5").count - 1, 1, result.output)
        }
        let one = try parameters(runs[0], step: 6)
        XCTAssertLessThan(maximumDifference(one, try parameters(runs[1], step: 6)), 1e-4)
        XCTAssertLessThan(maximumDifference(one, try parameters(runs[2], step: 6)), 1e-4)
    }

    /// A run checkpointed on 2 ranks resumes on 1 (and the other way round) and continues the same data stream.
    func testResumeOnADifferentNumberOfRanks() throws {
        let reference = Executables.temporaryDirectory("ref"), moved = Executables.temporaryDirectory("moved")
        defer { try? FileManager.default.removeItem(at: reference); try? FileManager.default.removeItem(at: moved) }
        XCTAssertEqual(try run(ranks: 1, ["train", "copy"] + small + ["-batch_size", "6", "-iterations", "8", "--run-dir", reference.path]).status, 0)
        var result = try run(ranks: 2, ["train", "copy"] + small + ["-batch_size", "6", "-iterations", "4", "--run-dir", moved.path])
        XCTAssertEqual(result.status, 0, result.error)
        result = try run(ranks: 1, ["train", "copy", "-iterations", "8", "--resume", "--run-dir", moved.path])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertLessThan(maximumDifference(try parameters(reference, step: 8), try parameters(moved, step: 8)), 1e-4)
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

    /// The single-node batch script under a real Slurm (started by scripts/test.sh; see
    /// scripts/slurm-up.sh), srun launching the ranks through PMIx.
    func testSlurmBatchScript() throws {
        guard let conf = ProcessInfo.processInfo.environment["SLURM_CONF"], FileManager.default.fileExists(atPath: conf) else {
            throw XCTSkip("no Slurm cluster (SLURM_CONF unset; scripts/test.sh starts one)")
        }
        let dir = Executables.temporaryDirectory("slurm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let submit = Process()
        submit.executableURL = URL(fileURLWithPath: "/usr/bin/sbatch")
        submit.currentDirectoryURL = root
        submit.arguments = ["--parsable", "--ntasks=2", "--output=\(dir.path)/job-%j.out", "--wait", "cluster/slurm-single-node.sbatch"]
        submit.environment = ProcessInfo.processInfo.environment.merging([
            "DNC_DIST": Executables.url("dnc-dist").path, "RUN_DIR": dir.appendingPathComponent("run").path,
            "DNC_ARGS": (small + ["-batch_size", "4", "-iterations", "4"]).joined(separator: " "),
        ]) { $1 }
        try submit.run()
        submit.waitUntilExit()
        let log = (try? FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("job-") }
            .map { try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8) }.joined()) ?? ""
        XCTAssertEqual(submit.terminationStatus, 0, log)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/checkpoints/checkpoint-00000004.h5").path), log)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/debug-rank1.h5").path) || !log.isEmpty)
        XCTAssertTrue(log.contains("step      4"), log)
    }
}
