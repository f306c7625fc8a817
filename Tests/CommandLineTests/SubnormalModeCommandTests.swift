import XCTest
import TestSupport

/// `DNC_SUBNORMALS`: `--version` and diagnostics say whether the process flushes subnormals
/// (by default it does); `keep` keeps them; anything else is warned about and flushes.
final class SubnormalModeCommandTests: XCTestCase {
    func subnormalLine(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("Subnormals: ") }.map(String.init)
    }

    func testVersionAndDiagnosticsNameTheMode() throws {
        #if !(canImport(Glibc) && (arch(x86_64) || arch(arm64)))
        throw XCTSkip("no flush-to-zero mode on this platform")
        #endif
        let flushed = "Subnormals: flushed to zero (DNC_SUBNORMALS=flush, the default)"
        let plain = try Executables.run("dnc-dist", ["--version"], environment: ["DNC_SUBNORMALS": ""])
        XCTAssertEqual(subnormalLine(plain.output), flushed, plain.output)
        let kept = try Executables.run("dnc-dist", ["diagnostics"],
                                       environment: ["DNC_SUBNORMALS": "keep", "DNC_NVRTC_LIBRARY": "/nonexistent/libnvrtc.so"])
        XCTAssertEqual(kept.status, 0, kept.error)
        XCTAssertEqual(subnormalLine(kept.output), "Subnormals: kept, IEEE (DNC_SUBNORMALS=keep, or a platform without the mode)")
        let unknown = try Executables.run("dnc-dist", ["--version"], environment: ["DNC_SUBNORMALS": "ftz"])
        XCTAssertEqual(subnormalLine(unknown.output), flushed)
        XCTAssertEqual(unknown.error, "warning: DNC_SUBNORMALS=ftz is not flush or keep; using flush\n")
    }
}
