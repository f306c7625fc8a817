import XCTest
import Foundation
import TestSupport

/// The GPU path of the real binaries on a machine without a GPU: DNC_GPU_EMULATION=1 stands one
/// emulated GPU in for the driver, so `-cuda 0` trains with every kernel of the GPU back end run
/// by the CPU emulation of its launches (issue #14). Against `-cuda -1` (the CPU back end): the
/// same losses; 2 ranks sharing the one GPU as 1 rank; a GPU run's checkpoint resuming on the CPU
/// and the other way round; `eval -cuda 0`; SAM with `-cuda 0` warning and training on the CPU.
final class GPUEmulatedRunTests: XCTestCase {
    let quick = ["-iterations", "4", "-summarize_freq", "1", "-check_freq", "2", "-eval_lengths", "2", "-eval_batches", "1",
                 "-nhid", "8", "-mem_slot", "6", "-mem_size", "4", "-read_heads", "2", "-batch_size", "4", "-lr", "0.01",
                 "-sequence_max_length", "3"]
    let emulation = ["DNC_GPU_EMULATION": "1"]

    /// The loss of each logged step of a run directory.
    func losses(_ run: URL) throws -> [Double] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["loss"] as? Double
        }
    }

    func assertClose(_ a: [Double], _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        XCTAssertFalse(a.isEmpty, what, file: file, line: line)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-4, what, file: file, line: line) }
    }

    func train(_ arguments: [String], run: URL, environment: [String: String] = [:], file: StaticString = #filePath,
               line: UInt = #line) throws -> Executables.Result {
        let result = try Executables.run("dnc-dist", ["train", "copy"] + arguments + ["--run-dir", run.path], timeout: 300,
                                         environment: environment)
        XCTAssertEqual(result.status, 0, result.error, file: file, line: line)
        return result
    }

    func testEmulatedGPUTrainsAsTheCPUAndCheckpointsMoveBetweenThem() throws {
        let root = Executables.temporaryDirectory("gpu-emulated")
        defer { try? FileManager.default.removeItem(at: root) }
        let gpu = root.appendingPathComponent("gpu"), cpu = root.appendingPathComponent("cpu")
        let onGPU = try train(["-cuda", "0"] + quick, run: gpu, environment: emulation)
        XCTAssertTrue(onGPU.error.contains("GPU: -cuda 0: the CPU, emulating the kernels' launches"), onGPU.error)
        XCTAssertFalse(onGPU.error.contains("warning"), onGPU.error)
        _ = try train(["-cuda", "-1"] + quick, run: cpu)
        assertClose(try losses(gpu), try losses(cpu), "GPU (emulated) vs CPU losses")

        // A GPU run's checkpoint resumes on the CPU, a CPU run's on the GPU: both end as one run.
        let resumedOnCPU = root.appendingPathComponent("resumed-cpu"), resumedOnGPU = root.appendingPathComponent("resumed-gpu")
        let half = quick.enumerated().map { $0.offset > 0 && quick[$0.offset - 1] == "-iterations" ? "2" : $0.element }
        _ = try train(["-cuda", "0"] + half, run: resumedOnCPU, environment: emulation)
        _ = try Executables.run("dnc-dist", ["train", "copy", "--resume", "-iterations", "4", "-cuda", "-1", "--run-dir", resumedOnCPU.path],
                                timeout: 300)
        _ = try train(["-cuda", "-1"] + half, run: resumedOnGPU)
        _ = try Executables.run("dnc-dist", ["train", "copy", "--resume", "-iterations", "4", "-cuda", "0", "--run-dir", resumedOnGPU.path],
                                timeout: 300, environment: emulation)
        assertClose(try losses(resumedOnCPU), try losses(cpu), "GPU then CPU vs CPU")
        assertClose(try losses(resumedOnGPU), try losses(cpu), "CPU then GPU vs CPU")

        // eval on the (emulated) GPU gives the CPU's table.
        let checkpoint = cpu.appendingPathComponent("checkpoints/checkpoint-00000004.h5").path
        let evalGPU = try Executables.run("dnc-dist", ["eval", "--checkpoint", checkpoint, "--lengths", "2,5", "--batches", "1", "-cuda", "0",
                                                       "--output", root.appendingPathComponent("eval-gpu").path], environment: emulation)
        let evalCPU = try Executables.run("dnc-dist", ["eval", "--checkpoint", checkpoint, "--lengths", "2,5", "--batches", "1",
                                                       "--output", root.appendingPathComponent("eval-cpu").path])
        XCTAssertEqual(evalGPU.status, 0, evalGPU.error)
        let table = { (output: String) in output.split(separator: "\n").filter { $0.first?.isNumber == true || $0.hasPrefix(" ") } }
        XCTAssertEqual(table(evalGPU.output).count, table(evalCPU.output).count, evalGPU.output)
        XCTAssertFalse(table(evalGPU.output).isEmpty, evalGPU.output)
    }

    /// Two ranks sharing the one (emulated) GPU train as one rank does.
    func testTwoRanksOnOneGPUAsOneRank() throws {
        guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
        }
        let root = Executables.temporaryDirectory("gpu-emulated-ranks")
        defer { try? FileManager.default.removeItem(at: root) }
        var environment = emulation
        for (key, value) in ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"] {
            environment[key] = value
        }
        var runs: [[Double]] = []
        for ranks in [1, 2] {
            let run = root.appendingPathComponent("ranks\(ranks)")
            let result = try Executables.run(executable: URL(fileURLWithPath: mpirun),
                                             ["-n", "\(ranks)", Executables.url("dnc-dist").path, "train", "copy", "-cuda", "0"] + quick
                                                 + ["--run-dir", run.path], timeout: 300, environment: environment)
            XCTAssertEqual(result.status, 0, result.error)
            XCTAssertFalse(result.error.contains("warning"), result.error)
            runs.append(try losses(run))
        }
        assertClose(runs[1], runs[0], "2 ranks vs 1 rank on the emulated GPU")
    }

    func testSparseMemoryWithCudaWarnsAndTrainsOnTheCPU() throws {
        let run = Executables.temporaryDirectory("gpu-emulated-sam")
        defer { try? FileManager.default.removeItem(at: run) }
        let result = try train(["-cuda", "0", "-memory_type", "sam", "-sparse_reads", "2"] + quick, run: run, environment: emulation)
        let warnings = result.error.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
        XCTAssertEqual(warnings.count, 1, result.error)
        XCTAssertTrue(warnings.first?.contains("the GPU back end runs the dense DNC only") == true
                      && warnings.first?.hasSuffix("; running on the CPU") == true, result.error)
        let refused = try Executables.run("dnc-dist", ["train", "copy", "-cuda", "0", "--require-gpu", "-memory_type", "sam", "-sparse_reads", "2"] + quick
                                                          + ["--run-dir", run.appendingPathComponent("refused").path], environment: emulation)
        XCTAssertEqual(refused.status, 2, refused.error)
        XCTAssertEqual(refused.error.split(separator: "\n").count, 1, refused.error)
        XCTAssertTrue(refused.error.hasPrefix("error: --require-gpu: -cuda 0: the GPU back end runs the dense DNC only"), refused.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("refused").path), "no work before the refusal")
    }

    /// `dnc-dist gpu-check --emulated`: the training checks the GPU machine runs, on the emulation.
    func testGPUCheckTrainingChecksOnTheEmulation() throws {
        let result = try Executables.run("dnc-dist", ["gpu-check", "--emulated", "--steps", "2", "--models", "dnc-small"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.output + result.error)
        let lines = result.output.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.hasPrefix("PASS dnc-small") }.count, 4, result.output)
        XCTAssertEqual(lines.last, "gpu-check: 4 of 4 checks passed", result.output)
        for (arguments, mention) in [(["--models", "dnc-huge"], "--models: 'dnc-huge'"), (["--steps", "-1"], "--steps must be ≥ 0"),
                                     (["--emulated", "--kernels-only"], "--emulated")] {
            let bad = try Executables.run("dnc-dist", ["gpu-check"] + arguments)
            XCTAssertEqual(bad.status, 2, "\(arguments): \(bad.error)")
            XCTAssertEqual(bad.error.split(separator: "\n").count, 1, bad.error)
            XCTAssertTrue(bad.error.contains(mention), bad.error)
        }
    }

    /// `dnc-bench --only gpu-<row> --emulated`: the GPU rank's benchmark path runs end to end.
    func testGPUBenchRowOnTheEmulation() throws {
        let result = try Executables.run("dnc-bench", ["--only", "gpu-dnc-small", "--emulated", "--repeats", "1", "--json"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.error)
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        XCTAssertEqual(object?["name"] as? String, "dnc-small")
        XCTAssertEqual(object?["batch"] as? Int, 32)
        XCTAssertGreaterThan(object?["gpu_ms"] as? Double ?? 0, 0)
    }

    /// bAbI on the emulated GPU: variable-length stories (frozen samples), the softmax loss on the
    /// device, the validation error; the losses are the CPU's.
    func testBabiOnTheEmulatedGPUAsOnTheCPU() throws {
        let root = try BabiMiniSet.write(to: Executables.temporaryDirectory("gpu-babi-data"))
        let runs = Executables.temporaryDirectory("gpu-babi")
        defer { try? FileManager.default.removeItem(at: root); try? FileManager.default.removeItem(at: runs) }
        let arguments = ["train", "babi", "--data", root.path, "-tasks", "1,8", "-iterations", "3", "-summarize_freq", "1",
                         "-nhid", "8", "-mem_slot", "8", "-mem_size", "4", "-read_heads", "1", "-batch_size", "2", "-lr", "0.01"]
        var losses: [[Double]] = []
        for (name, cuda, environment) in [("gpu", "0", emulation), ("cpu", "-1", [:])] {
            let run = runs.appendingPathComponent(name)
            let result = try Executables.run("dnc-dist", arguments + ["-cuda", cuda, "--run-dir", run.path], timeout: 300,
                                             environment: environment)
            XCTAssertEqual(result.status, 0, result.error)
            losses.append(try self.losses(run))
        }
        assertClose(losses[0], losses[1], "bAbI: GPU (emulated) vs CPU losses")
    }
}
