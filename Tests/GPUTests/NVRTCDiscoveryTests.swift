import XCTest
@testable import DNCGPU

/// NVRTC in the `nvidia-*` wheels of python3 (PyTorch, CuPy and JAX install it there on GPU
/// machines that have no CUDA toolkit): found through `sys.path`, for CUDA 12's and 13's layouts.
final class NVRTCDiscoveryTests: XCTestCase {
    func testWheelLibrariesAreFoundThroughSysPath() throws {
        let site = FileManager.default.temporaryDirectory.appendingPathComponent("nvrtc-site-\(getpid())")
        defer { try? FileManager.default.removeItem(at: site) }
        for file in ["nvidia/cuda_nvrtc/lib/libnvrtc.so.12", "nvidia/cuda_nvrtc/lib/libnvrtc-builtins.so.12.8",
                     "nvidia/cu13/lib/libnvrtc.so.13", "nvidia/cu13/lib/libnvrtc.alt.so.13", "nvidia/cublas/lib/libcublas.so.13"] {
            let url = site.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data().write(to: url)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = site.path
        let found = NVRTC.pythonPackageLibraries(environment: environment)
        guard !found.isEmpty || FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw XCTSkip("no python3 on this machine")
        }
        XCTAssertEqual(found.filter { $0.hasPrefix(site.path) },
                       [site.path + "/nvidia/cu13/lib/libnvrtc.so.13", site.path + "/nvidia/cuda_nvrtc/lib/libnvrtc.so.12"])
    }

    func testNoPythonIsNoLibraries() {
        XCTAssertEqual(NVRTC.pythonPackageLibraries(environment: ["PATH": "/nonexistent"]), [])
    }

    /// An NVRTC that does not load (here: an empty file in a wheel's layout) is passed over, and
    /// the message names every place looked in.
    func testTheErrorNamesThePythonPackages() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["DNC_NVRTC_LIBRARY"] = nil
        environment["PATH"] = "/nonexistent"
        do {
            let nvrtc = try NVRTC.load(environment: environment)
            throw XCTSkip("this machine has an NVRTC the loader finds: \(nvrtc.path)")
        } catch let error as GPUUnavailable {
            XCTAssertTrue(error.reason.contains("python3's site-packages/nvidia/*/lib"), error.reason)
            XCTAssertTrue(error.reason.contains("/usr/local/cuda/lib64"), error.reason)
        }
    }
}
