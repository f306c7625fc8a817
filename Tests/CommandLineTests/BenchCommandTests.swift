import XCTest
import Foundation
import DNCNumerics
import TestSupport

/// `dnc-bench`'s JSON contract (one object per configuration with its name, median ms per step,
/// steps/s, sequences/s and peak RSS) and its `--rounds` median of medians. The figures
/// themselves are not checked: speed targets live in the benchmark, not in tests.
final class BenchCommandTests: XCTestCase {
    func objects(_ output: String) throws -> [[String: Any]] {
        try output.split(separator: "\n").filter { $0.hasPrefix("{") }.map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func testOneConfigurationAsJSON() throws {
        let result = try Executables.run("dnc-bench", ["--only", "dnc-small", "--repeats", "1", "--json"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.error)
        let object = try XCTUnwrap(try objects(result.output).first)
        XCTAssertEqual(object["name"] as? String, "dnc-small")
        let median = try XCTUnwrap(object["median_ms"] as? Double), batch = try XCTUnwrap(object["batch"] as? Int)
        XCTAssertGreaterThan(median, 0)
        XCTAssertEqual(try XCTUnwrap(object["steps_per_second"] as? Double), 1e3 / median, accuracy: 1e-9 * 1e3 / median)
        XCTAssertEqual(try XCTUnwrap(object["sequences_per_second"] as? Double), Double(batch) * 1e3 / median,
                       accuracy: 1e-9 * Double(batch) * 1e3 / median)
        XCTAssertGreaterThan(try XCTUnwrap(object["peak_rss_mib"] as? Double), 1)
        XCTAssertEqual(object["pytorch_ms"] as? Double, 68)
        // Without --pytorch the PyTorch figure is the reference from another machine, and says so.
        XCTAssertEqual(object["pytorch_source"] as? String, "reference")
        XCTAssertEqual(object["pytorch_reference_ms"] as? Double, 68)
        XCTAssertNil(object["pytorch_measured_ms"])
        XCTAssertEqual(object["openblas_coretype"] as? String, "inherited")
    }

    func testRoundsReportTheMedianOfTheirMedians() throws {
        let result = try Executables.run("dnc-bench", ["--only", "dnc-small", "--repeats", "1", "--rounds", "3", "--json"],
                                         timeout: 600)
        XCTAssertEqual(result.status, 0, result.error)
        let object = try XCTUnwrap(try objects(result.output).first)
        XCTAssertEqual(object["rounds"] as? Int, 3)
        let medians = try XCTUnwrap(object["round_medians_ms"] as? [Double])
        XCTAssertEqual(medians.count, 3)
        XCTAssertEqual(object["median_ms"] as? Double, medians.sorted()[1])
        XCTAssertEqual(try XCTUnwrap(object["steps_per_second"] as? Double), 1e3 / medians.sorted()[1],
                       accuracy: 1e-9 * 1e3 / medians.sorted()[1])
    }

    /// `--only roofline-dnc-small`: one object with every product class, the rest of the step,
    /// the peak and the step without accounting; the shares of the products and the rest add up
    /// to the step.
    func testRooflineOfOneConfigurationAsJSON() throws {
        let result = try Executables.run("dnc-bench", ["--only", "roofline-dnc-small", "--repeats", "1", "--json"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.error)
        let all = try objects(result.output)
        XCTAssertEqual(all.count, 1)
        let object = try XCTUnwrap(all.first)
        XCTAssertEqual(object["name"] as? String, "roofline")
        XCTAssertEqual(object["configuration"] as? String, "dnc-small")
        let peak = try XCTUnwrap(object["peak_gflops"] as? Double)
        XCTAssertGreaterThan(peak, 0)
        XCTAssertGreaterThan(try XCTUnwrap(object["step_ms"] as? Double), 0)
        XCTAssertGreaterThan(try XCTUnwrap(object["step_ms_without_accounting"] as? Double), 0)
        let classes = try XCTUnwrap(object["classes"] as? [String: [String: Any]])
        XCTAssertEqual(Set(classes.keys), ["controller", "interface", "memory", "output", "weight_gradients", "other_products"])
        for name in ["controller", "interface", "memory", "output", "weight_gradients"] {
            XCTAssertGreaterThan(try XCTUnwrap(classes[name]?["calls"] as? Int), 0, name)
            XCTAssertGreaterThan(try XCTUnwrap(classes[name]?["mflop"] as? Double), 0, name)
        }
        let controller = try XCTUnwrap(classes["controller"]?["gflops"] as? Double)
        XCTAssertEqual(try XCTUnwrap(object["controller_fraction_of_peak"] as? Double), controller / peak, accuracy: 1e-12)
        let products = try XCTUnwrap((object["all_products"] as? [String: Any])?["share"] as? Double)
        let rest = try XCTUnwrap((object["elementwise_and_other"] as? [String: Any])?["share"] as? Double)
        XCTAssertEqual(products + rest, 1, accuracy: 1e-9)
    }

    // MARK: side by side with pytorch-dnc (issue #16)

    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var pytorchScript: String { root.appendingPathComponent("scripts/pytorch-dnc-bench.py").path }

    func torchPython() throws -> String {
        guard let python = ProcessInfo.processInfo.environment["DNC_TORCH_PYTHON"] else {
            throw XCTSkip("DNC_TORCH_PYTHON (a Python with torch and pytorch-dnc, set up by scripts/test.sh) is not set")
        }
        return python
    }

    /// Exit status 2 and exactly one line on stderr, containing `expected`.
    func assertRefused(_ result: Executables.Result, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 2, result.error, file: file, line: line)
        XCTAssertTrue(result.error.contains(expected), result.error, file: file, line: line)
        XCTAssertEqual(result.error.split(separator: "\n").filter { !$0.isEmpty }.count, 1, result.error, file: file, line: line)
    }

    func testPytorchThatIsNotAProgramIsRefusedBeforeAnyWork() throws {
        let missing = "/nonexistent-dnc-bench-test/python"
        let result = try Executables.run("dnc-bench", ["--only", "dnc-small", "--pytorch", missing], timeout: 60)
        assertRefused(result, "error: --pytorch '\(missing)' is not an executable file")
        XCTAssertEqual(result.output, "")
    }

    func testCoretypesThatAreNotCoreNamesAreRefusedBeforeAnyWork() throws {
        for (list, expected) in [("unset,Has-well", "'Has-well' is not a core name"), ("unset,,Haswell", "'' is not a core name"),
                                 ("unset,Unset", "lists 'Unset' twice")] {
            let result = try Executables.run("dnc-bench", ["--only", "dnc-small", "--coretypes", list], timeout: 60)
            assertRefused(result, "error: --coretypes '\(list)'")
            XCTAssertTrue(result.error.contains(expected), result.error)
            XCTAssertEqual(result.output, "")
        }
    }

    func testSideBySideFlagsAreRefusedWhereTheyWouldBeIgnored() throws {
        let result = try Executables.run("dnc-bench", ["--only", "controller", "--coretypes", "unset"], timeout: 60)
        assertRefused(result, "error: --coretypes applies to the DNC configurations")
    }

    /// The script alone, on a tiny configuration: one JSON line describing what it timed.
    func testPytorchScriptTimesOneConfiguration() throws {
        let python = try torchPython()
        let arguments = [pytorchScript, "--name", "tiny", "--hidden", "8", "--controller-depth", "1", "--cells", "4", "--width", "4",
                         "--read-heads", "1", "--batch", "2", "--copy-length", "2", "--repeats", "1"]
        let result = try Executables.run(executable: URL(fileURLWithPath: python), arguments, timeout: 120)
        XCTAssertEqual(result.status, 0, result.error)
        let all = try objects(result.output)
        XCTAssertEqual(all.count, 1, result.output)
        let object = try XCTUnwrap(all.first)
        XCTAssertEqual(object["name"] as? String, "tiny")
        let median = try XCTUnwrap(object["median_ms"] as? Double)
        XCTAssertGreaterThan(median, 0)
        // One timed step: it is the median, the least and the most.
        XCTAssertEqual(object["min_ms"] as? Double, median)
        XCTAssertEqual(object["max_ms"] as? Double, median)
        XCTAssertEqual(object["repeats"] as? Int, 1)
        XCTAssertEqual(object["threads"] as? Int, 1)
        XCTAssertEqual(object["steps"] as? Int, 5)
        XCTAssertFalse(try XCTUnwrap(object["torch_version"] as? String).isEmpty)
        XCTAssertFalse(try XCTUnwrap(object["dnc_version"] as? String).isEmpty)
    }

    /// The script checks that its sizes are positive before it imports torch.
    func testPytorchScriptRefusesNonPositiveSizes() throws {
        let python = try torchPython()
        let result = try Executables.run(executable: URL(fileURLWithPath: python),
                                         [pytorchScript, "--name", "tiny", "--hidden", "8", "--controller-depth", "1", "--cells", "4",
                                          "--width", "4", "--read-heads", "1", "--batch", "2", "--copy-length", "2", "--repeats", "0"],
                                         timeout: 60)
        assertRefused(result, "error: --repeats must be a positive integer, got 0")
    }

    /// `--pytorch` and `--coretypes unset,Haswell`: each of our two children against the same measured
    /// pytorch-dnc time. The parent runs with OPENBLAS_CORETYPE=Prescott (which every x86-64 runs), so
    /// that the `unset` child shows it left the inherited choice behind.
    func testSideBySideWithPytorchUnderTwoCoreTypes() throws {
        let python = try torchPython()
        if let reason = BLASRuntime.unsupportedReason(core: "Haswell", flags: BLASRuntime.cpuFlags()) { throw XCTSkip(reason) }
        let result = try Executables.run("dnc-bench", ["--only", "dnc-small", "--pytorch", python, "--pytorch-script", pytorchScript,
                                                       "--coretypes", "unset,Haswell", "--repeats", "1", "--json"],
                                         timeout: 300, environment: ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertEqual(result.status, 0, result.error)
        let all = try objects(result.output)
        XCTAssertEqual(all.map { $0["openblas_coretype"] as? String }, ["unset", "Haswell"], result.output)
        XCTAssertEqual(all.map { $0["name"] as? String }, ["dnc-small", "dnc-small"])
        let measured = try all.map { try XCTUnwrap($0["pytorch_measured_ms"] as? Double) }
        XCTAssertGreaterThan(measured[0], 0)
        XCTAssertEqual(measured[0], measured[1], "one pytorch-dnc measurement per round, shared by both kernel choices")
        for object in all {
            let label = object["openblas_coretype"] as? String ?? "?"
            XCTAssertEqual(object["pytorch_source"] as? String, "measured", label)
            XCTAssertEqual(object["pytorch_round_medians_ms"] as? [Double], [measured[0]], label)
            XCTAssertEqual(object["pytorch_ms"] as? Double, measured[0], label)
            XCTAssertEqual(object["pytorch_threads"] as? Int, 1, label)
            XCTAssertNotNil(object["torch_version"] as? String, label)
            let ours = try XCTUnwrap(object["median_ms"] as? Double)
            let speedup = try XCTUnwrap(object["speedup_vs_pytorch_measured"] as? Double)
            XCTAssertEqual(speedup, measured[0] / ours, accuracy: 1e-12 * speedup, label)
            XCTAssertEqual(object["speedup_vs_pytorch"] as? Double, speedup, label)
            // One round: the round's ratio is the ratio of the two medians.
            let ratios = try XCTUnwrap(object["speedup_round_ratios"] as? [Double], label)
            XCTAssertEqual(ratios.count, 1, label)
            XCTAssertEqual(ratios[0], measured[0] / ours, accuracy: 1e-12 * speedup, label)
            XCTAssertEqual(object["speedup_median_round_ratio"] as? Double, ratios[0], label)
        }
        XCTAssertEqual((all[1]["openblas_core"] as? String)?.lowercased(), "haswell")
        let unsetReason = try XCTUnwrap(all[0]["blas"] as? String)
        XCTAssertFalse(unsetReason.contains("Prescott"), unsetReason)
        XCTAssertNotEqual((all[0]["openblas_core"] as? String)?.lowercased(), "prescott", unsetReason)
    }

    /// Two rounds: each round's ratio pairs that round's pytorch-dnc median with our median of
    /// the same round, and the reported figure is their median.
    func testRoundRatiosPairTheRunsOfEachRound() throws {
        let python = try torchPython()
        let result = try Executables.run("dnc-bench", ["--only", "dnc-small", "--pytorch", python, "--pytorch-script", pytorchScript,
                                                       "--rounds", "2", "--repeats", "1", "--json"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.error)
        let object = try XCTUnwrap(try objects(result.output).first)
        let theirs = try XCTUnwrap(object["pytorch_round_medians_ms"] as? [Double])
        let ours = try XCTUnwrap(object["round_medians_ms"] as? [Double])
        let ratios = try XCTUnwrap(object["speedup_round_ratios"] as? [Double])
        XCTAssertEqual(theirs.count, 2)
        XCTAssertEqual(ours.count, 2)
        XCTAssertEqual(ratios.count, 2)
        for round in 0..<2 {
            XCTAssertEqual(ratios[round], theirs[round] / ours[round], accuracy: 1e-12 * ratios[round])
        }
        XCTAssertEqual(try XCTUnwrap(object["speedup_median_round_ratio"] as? Double), (ratios[0] + ratios[1]) / 2,
                       accuracy: 1e-12 * ratios[0])
    }

    func testBadRoundsAreRefusedBeforeAnyWork() throws {
        let result = try Executables.run("dnc-bench", ["--only", "dnc-small", "--rounds", "0"], timeout: 60)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.error.contains("error: --rounds must be positive, got 0"), result.error)
        XCTAssertEqual(result.error.split(separator: "\n").filter { !$0.isEmpty }.count, 1, result.error)
    }
}
