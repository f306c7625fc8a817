import XCTest
@testable import DNCGPU

/// Versions as the driver encodes them, and the rule that PTX from a newer NVRTC does not load.
final class CUDAVersionTests: XCTestCase {
    func testDriverEncoding() {
        XCTAssertEqual(CUDAVersion(driverEncoded: 12040), CUDAVersion(major: 12, minor: 4))
        XCTAssertEqual(CUDAVersion(driverEncoded: 13000).description, "13.0")
        XCTAssertEqual(CUDAVersion(driverEncoded: 11080).description, "11.8")
    }

    func testNVRTCNewerThanTheDriverIsReported() {
        let v = CUDAVersion.init(major:minor:)
        XCTAssertNil(CUDAVersion.ptxIncompatibility(nvrtc: v(12, 4), driver: v(12, 4)))
        XCTAssertNil(CUDAVersion.ptxIncompatibility(nvrtc: v(12, 2), driver: v(13, 0)))
        XCTAssertNil(CUDAVersion.ptxIncompatibility(nvrtc: v(11, 8), driver: v(12, 0)))
        let minor = CUDAVersion.ptxIncompatibility(nvrtc: v(12, 6), driver: v(12, 4))
        XCTAssertEqual(minor?.hasPrefix("NVRTC 12.6 is newer than the driver's CUDA 12.4: the driver refuses its PTX"), true, minor ?? "nil")
        let major = CUDAVersion.ptxIncompatibility(nvrtc: v(13, 0), driver: v(12, 8))
        XCTAssertEqual(major?.contains("DNC_NVRTC_LIBRARY"), true, major ?? "nil")
    }

    func testReportSaysWhenNVRTCIsNewerThanTheDriver() {
        let device = CUDADriver.Device(ordinal: 0, name: "NVIDIA H200", totalMemoryBytes: 150_000_000_000, computeCapability: (9, 0))
        let lines = GPUReport.lines(driver: .usable(driverVersion: CUDAVersion(major: 12, minor: 4), devices: [device]),
                                    driverPath: "/usr/lib/libcuda.so.1", kernelModuleVersion: "550.54.15",
                                    nvrtc: .success((CUDAVersion(major: 13, minor: 0), "/x/libnvrtc.so.13", [75, 120])), visibleDevices: nil)
        XCTAssertEqual(lines[0], "GPU driver: NVIDIA driver 550.54.15, CUDA 12.4 (/usr/lib/libcuda.so.1)")
        XCTAssertEqual(lines[1], "GPU 0: NVIDIA H200, 139.7 GiB, compute capability 9.0")
        XCTAssertEqual(lines[2], "NVRTC: 13.0 (/x/libnvrtc.so.13, sm_75…sm_120)")
        XCTAssertTrue(lines[3].hasPrefix("NVRTC vs driver: NVRTC 13.0 is newer than the driver's CUDA 12.4"), lines[3])
        XCTAssertEqual(lines.last, GPUReport.trainingLine)
    }

    func testReportWithoutDriverIsOneLine() {
        let lines = GPUReport.lines(driver: .unusable(reason: "no GPU: libcuda.so.1 not found (no NVIDIA driver)"), driverPath: nil,
                                    kernelModuleVersion: nil, nvrtc: .failure(GPUUnavailable("not found (tried …)")), visibleDevices: nil)
        XCTAssertEqual(lines, ["GPU: no GPU: libcuda.so.1 not found (no NVIDIA driver)", "NVRTC: not found (tried …)",
                               GPUReport.trainingLine])
    }

    /// This machine: whatever it has, the driver query answers without crashing, and a missing
    /// library is reported as such.
    func testMissingDriverLibraryIsReported() {
        XCTAssertEqual(CUDADriver.status(libraryName: "libcuda-does-not-exist.so.1"),
                       .unusable(reason: "no GPU: libcuda-does-not-exist.so.1 not found (no NVIDIA driver)"))
        if case .unusable(let reason) = CUDADriver.status() { XCTAssertTrue(reason.hasPrefix("no GPU: "), reason) }
    }

    func testNVRTCFromABadPathNamesTheVariable() {
        XCTAssertThrowsError(try NVRTC.load(environment: ["DNC_NVRTC_LIBRARY": "/nonexistent/libnvrtc.so"])) { error in
            let reason = (error as! GPUUnavailable).reason
            XCTAssertTrue(reason.hasPrefix("DNC_NVRTC_LIBRARY=/nonexistent/libnvrtc.so: "), reason)
        }
    }
}
