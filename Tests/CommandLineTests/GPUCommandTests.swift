import XCTest
import Foundation
import TestSupport

/// `-cuda N`, `--require-gpu` and `dnc-dist diagnostics` as users meet them on a machine where
/// this build trains on the CPU (every machine, until the GPU back end exists: issue #14).
final class GPUCommandTests: XCTestCase {
    let quick = ["-iterations", "2", "-summarize_freq", "1", "-eval_lengths", "2", "-eval_batches", "1",
                 "-nhid", "8", "-mem_slot", "8", "-mem_size", "4", "-read_heads", "1", "-batch_size", "2"]

    func warnings(_ stderr: String) -> [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") } }

    func testCudaZeroWarnsOnceAndTrainsOnTheCPU() throws {
        let run = Executables.temporaryDirectory("cuda0")
        defer { try? FileManager.default.removeItem(at: run) }
        let result = try Executables.run("dnc-dist", ["train", "copy", "-cuda", "0"] + quick + ["--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = warnings(result.error)
        XCTAssertEqual(lines.count, 1, result.error)
        XCTAssertTrue(lines.first?.hasPrefix("warning: -cuda 0: ") == true && lines.first?.hasSuffix("; running on the CPU") == true, result.error)
        // Without a driver the reason is the missing library; with one, the missing back end.
        if !FileManager.default.fileExists(atPath: "/proc/driver/nvidia/version") {
            XCTAssertTrue(result.error.contains("no GPU: libcuda.so.1 not found (no NVIDIA driver)"), result.error)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints/checkpoint-00000002.h5").path))
    }

    func testHiddenDevicesAreTheReason() throws {
        let run = Executables.temporaryDirectory("hidden")
        defer { try? FileManager.default.removeItem(at: run) }
        let result = try Executables.run("dnc-dist", ["train", "copy", "-cuda", "0"] + quick + ["--run-dir", run.path],
                                         environment: ["CUDA_VISIBLE_DEVICES": "NoDevFiles"])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(warnings(result.error), ["warning: -cuda 0: CUDA_VISIBLE_DEVICES='NoDevFiles' hides every GPU; running on the CPU"])
    }

    func testRequireGPUFailsBeforeAnyWork() throws {
        let parent = Executables.temporaryDirectory("require")
        defer { try? FileManager.default.removeItem(at: parent) }
        let run = parent.appendingPathComponent("run").path
        for arguments in [["-cuda", "0", "--require-gpu"], ["-cuda", "0", "--require_gpu"], ["--require-gpu"]] {
            let result = try Executables.run("dnc-dist", ["train", "copy"] + arguments + quick + ["--run-dir", run])
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.error)")
            XCTAssertEqual(result.error.split(separator: "\n").count, 1, "one line: \(result.error)")
            XCTAssertTrue(result.error.hasPrefix("error: --require-gpu"), result.error)
            XCTAssertFalse(FileManager.default.fileExists(atPath: run), "\(arguments): no work before the refusal")
        }
        let result = try Executables.run("dnc-dist", ["train", "copy", "-cuda", "0", "--require-gpu"] + quick + ["--run-dir", run])
        XCTAssertTrue(result.error.hasPrefix("error: --require-gpu: -cuda 0: "), result.error)
        let cpu = try Executables.run("dnc-dist", ["train", "copy", "--require-gpu"] + quick + ["--run-dir", run])
        XCTAssertEqual(cpu.error, "error: --require-gpu needs -cuda N with N ≥ 0 (a GPU), got -cuda -1\n")
    }

    func testCudaMinusOneIsSilent() throws {
        let run = Executables.temporaryDirectory("cpu")
        defer { try? FileManager.default.removeItem(at: run) }
        let result = try Executables.run("dnc-dist", ["train", "copy", "-cuda", "-1"] + quick + ["--run-dir", run.path])
        XCTAssertEqual(result.status, 0, result.error)
        XCTAssertEqual(warnings(result.error), [], result.error)
    }

    /// Two ranks on this node: MPI_Comm_split_type gives them node-local ranks 0 and 1, and each
    /// names itself in its warning.
    func testRanksKnowTheirNodeLocalRank() throws {
        guard let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("mpirun is not installed (scripts/setup.sh installs openmpi-bin)")
        }
        let run = Executables.temporaryDirectory("ranks")
        defer { try? FileManager.default.removeItem(at: run) }
        let environment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_rmaps_base_oversubscribe": "1"]
        let result = try Executables.run(executable: URL(fileURLWithPath: mpirun),
                                         ["-n", "2", Executables.url("dnc-dist").path, "train", "copy", "-cuda", "0"] + quick + ["--run-dir", run.path],
                                         timeout: 180, environment: environment)
        XCTAssertEqual(result.status, 0, result.error)
        let lines = warnings(result.error).sorted()
        XCTAssertEqual(lines.count, 2, result.error)
        XCTAssertTrue(lines.first?.hasPrefix("warning: rank 0 (node-local rank 0 of 2): -cuda 0: ") == true, result.error)
        XCTAssertTrue(lines.last?.hasPrefix("warning: rank 1 (node-local rank 1 of 2): -cuda 0: ") == true, result.error)
    }

    func testDiagnosticsReportsGPUAndNVRTC() throws {
        let result = try Executables.run("dnc-dist", ["diagnostics"], environment: ["DNC_NVRTC_LIBRARY": "/nonexistent/libnvrtc.so.13"])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.hasPrefix("GPU: no GPU: ") || $0.hasPrefix("GPU driver: ") }, result.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("NVRTC: DNC_NVRTC_LIBRARY=/nonexistent/libnvrtc.so.13: ") }, result.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("GPU training: -cuda N trains the dense DNC on the GPU") }, result.output)
    }

    /// With NVRTC (scripts/test.sh sets DNC_NVRTC_LIBRARY), diagnostics compiles every kernel.
    func testDiagnosticsCompilesTheKernelsWithNVRTC() throws {
        guard let library = ProcessInfo.processInfo.environment["DNC_NVRTC_LIBRARY"] else {
            throw XCTSkip("DNC_NVRTC_LIBRARY is not set (scripts/test.sh installs pip's nvidia-cuda-nvrtc and sets it)")
        }
        let result = try Executables.run("dnc-dist", ["diagnostics"], environment: ["DNC_NVRTC_LIBRARY": library])
        XCTAssertEqual(result.status, 0, result.error)
        let lines = result.output.split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.hasPrefix("NVRTC: ") && $0.contains(library.split(separator: "/").last!) }, result.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("Kernels: ") && $0.contains(" CUDA C sources compile to PTX for ") && $0.hasSuffix(" (f32, f64)") }, result.output)
    }
}
