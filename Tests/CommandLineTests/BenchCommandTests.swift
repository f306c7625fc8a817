import XCTest
import Foundation
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

    func testBadRoundsAreRefusedBeforeAnyWork() throws {
        let result = try Executables.run("dnc-bench", ["--only", "dnc-small", "--rounds", "0"], timeout: 60)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.error.contains("error: --rounds must be positive, got 0"), result.error)
        XCTAssertEqual(result.error.split(separator: "\n").filter { !$0.isEmpty }.count, 1, result.error)
    }
}
