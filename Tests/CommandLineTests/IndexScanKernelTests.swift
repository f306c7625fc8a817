import XCTest
import TestSupport
import DNCStorage
import DNCTraining

/// `DNC_INDEX_SCAN`: which kernel scans the approximate index's four-bit codes. Every kernel
/// gives the same scores bit for bit, so a training run is the same whichever it is; diagnostics
/// name the kernel in use, and a value that names none is reported once and ignored.
final class IndexScanKernelTests: XCTestCase {
    func scanLine(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("Approximate index scan: ") }.map(String.init)
    }

    /// Diagnostics with the index-scan variable as given, without NVRTC (which would compile
    /// the GPU kernels, seconds per run, where the test suite's environment names a library).
    func diagnostics(scan: String) throws -> Executables.Result {
        try Executables.run("dnc-dist", ["diagnostics"], environment: ["DNC_INDEX_SCAN": scan, "DNC_NVRTC_LIBRARY": "/nonexistent/libnvrtc.so"])
    }

    func testDiagnosticsNameTheKernel() throws {
        let plain = try diagnostics(scan: "")
        XCTAssertEqual(plain.status, 0, plain.error)
        let line = try XCTUnwrap(scanLine(plain.output), plain.output)
        XCTAssertTrue(["avx512-vnni", "sse2", "portable"].contains { line == "Approximate index scan: \($0) (fastest here)" }, line)
        let version = try Executables.run("dnc-dist", ["--version"], environment: ["DNC_INDEX_SCAN": ""])
        XCTAssertEqual(scanLine(version.output), line, "--version names the kernel as diagnostics do")

        let forced = try diagnostics(scan: "Portable ")
        XCTAssertEqual(scanLine(forced.output), "Approximate index scan: portable (DNC_INDEX_SCAN)", forced.output)
        XCTAssertEqual(forced.error, "", "a known kernel is taken silently")

        let unknown = try diagnostics(scan: "avx1024")
        XCTAssertEqual(unknown.status, 0, unknown.error)
        XCTAssertEqual(scanLine(unknown.output), line, "an unknown value leaves the default")
        XCTAssertEqual(unknown.error, "warning: DNC_INDEX_SCAN=avx1024 is not auto, portable, sse2, avx512-vnni; using auto\n")
    }

    /// SAM with the approximate index over rows of 32 codes (the VNNI kernel's width, where the
    /// CPU has it): the same parameters bit for bit after 12 steps with each kernel. Sequences of
    /// up to 81 steps put more rows in the index than the shortlist of 32 re-ranks exactly, so the
    /// codes' scores decide what is read.
    func testTrainingIsTheSameWithEveryKernel() throws {
        var runs: [String: [String: [Float]]] = [:]
        for kernel in ["auto", "sse2", "portable"] {
            let run = Executables.temporaryDirectory("scan-\(kernel)")
            defer { try? FileManager.default.removeItem(at: run) }
            let result = try Executables.run("dnc-dist", ["train", "copy", "-memory_type", "sam", "-sparse_reads", "4", "-index", "approximate",
                                                          "-mem_slot", "512", "-mem_size", "32", "-nhid", "16", "-batch_size", "2", "-sequence_max_length", "40",
                                                          "-iterations", "12", "-check_freq", "12", "-eval_lengths", "4", "-eval_batches", "1",
                                                          "--run-dir", run.path],
                                             environment: ["DNC_INDEX_SCAN": kernel])
            XCTAssertEqual(result.status, 0, result.error)
            XCTAssertEqual(result.error, "", kernel)
            let checkpoint = try CheckpointFile.read(run.appendingPathComponent("checkpoints/checkpoint-00000012.h5").path, as: Float.self)
            runs[kernel] = Dictionary(uniqueKeysWithValues: checkpoint.parameters.map { ($0.name, $0.value.storage) })
        }
        let reference = try XCTUnwrap(runs["portable"])
        XCTAssertFalse(reference.isEmpty)
        for kernel in ["auto", "sse2"] {
            let parameters = try XCTUnwrap(runs[kernel])
            XCTAssertEqual(Set(parameters.keys), Set(reference.keys))
            for (name, values) in reference {
                XCTAssertTrue(parameters[name]?.map(\.bitPattern) == values.map(\.bitPattern), "\(kernel): \(name) differs from the portable kernel's run")
            }
        }
    }
}
