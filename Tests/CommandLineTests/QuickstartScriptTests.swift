import XCTest
import TestSupport

/// `scripts/quickstart.sh`, the README's one command, on input it must refuse before any work
/// (its full run is the quickstart itself; CI runs the tests, which build the same package).
final class QuickstartScriptTests: XCTestCase {
    func testUnknownTargetCPUIsOneLineAndExitCode2BeforeAnyWork() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/quickstart.sh")
        let result = try Executables.run(executable: URL(fileURLWithPath: "/bin/bash"), [script.path],
                                         timeout: 60, environment: ["DNC_TARGET_CPU": "pentium-9000"])
        XCTAssertEqual(result.status, 2, result.output + result.error)
        XCTAssertEqual(result.error.split(separator: "\n").count, 1, result.error)
        XCTAssertTrue(result.error.contains("DNC_TARGET_CPU 'pentium-9000' is not a CPU swiftc knows"), result.error)
        // Neither the package setup nor the build started.
        XCTAssertFalse(result.output.contains("setup:"), result.output)
        XCTAssertFalse(result.output.contains("Building"), result.output)
    }
}
