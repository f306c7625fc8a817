import XCTest
import DNCGPU

/// The kernels on a real GPU: compiled by NVRTC for the device, loaded by the driver, launched,
/// and compared with their CPU emulation (which the other kernel tests compare with the CPU
/// memory). The launches and comparisons are GPUKernelChecks, the code `dnc-dist gpu-check` runs
/// on GPU machines without Swift (scripts/gpu-check.sh). Skipped, with the reason, without a
/// usable GPU or NVRTC, or when NVRTC is newer than the driver.
final class GPUKernelTests: XCTestCase {
    func session() throws -> GPUKernelSession {
        do { return try GPUKernelSession(device: 0) } catch { throw XCTSkip(error.reason) }
    }

    func assertPassed(_ checks: [GPUKernelChecks.Check], expected: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(checks.count, expected, checks.map(\.line).joined(separator: "\n"), file: file, line: line)
        for check in checks { XCTAssertTrue(check.passed, check.line, file: file, line: line) }
    }

    func testContentAddressingOnTheGPUEqualsItsEmulation() throws {
        assertPassed(GPUKernelChecks.contentAddressing(try session()), expected: 4)
    }

    func testLinkAndPrecedenceOnTheGPUEqualTheirEmulation() throws {
        assertPassed(GPUKernelChecks.linkAndPrecedence(try session()), expected: 2)
    }

    func testUsageAndAllocationOnTheGPUEqualTheirEmulation() throws {
        assertPassed(GPUKernelChecks.usageAllocation(try session()), expected: 6)
    }
}
