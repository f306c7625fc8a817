import XCTest
import Foundation
@testable import DNCGPU

/// Every kernel source compiles under NVRTC for the A100 (sm_80) and H100/H200 (sm_90) in both
/// precisions without a warning, and the PTX cache keys on what the PTX depends on. Needs only
/// NVRTC, no GPU: scripts/test.sh installs the `nvidia-cuda-nvrtc` wheel and sets DNC_NVRTC_LIBRARY.
final class KernelCompilerTests: XCTestCase {
    func nvrtc() throws -> NVRTC {
        do { return try NVRTC.load() } catch {
            throw XCTSkip("NVRTC \(error.reason) (set DNC_NVRTC_LIBRARY to libnvrtc.so.*, e.g. from pip's nvidia-cuda-nvrtc; scripts/test.sh does)")
        }
    }

    func testEveryKernelCompilesWithoutWarningsForSm80AndSm90() throws {
        let compiler = KernelCompiler(nvrtc: try nvrtc(), driverVersion: nil, cacheDirectory: nil)
        XCTAssertFalse(KernelSource.all.isEmpty)
        for source in KernelSource.all {
            for architecture in ["sm_80", "sm_90"] {
                for precision in KernelPrecision.allCases {
                    let ptx = try compiler.ptx(for: source, architecture: architecture, precision: precision)
                    XCTAssertTrue(ptx.contains(".target sm_\(architecture.dropFirst(3))"), "\(source.name) \(architecture)")
                    // Every kernel of the source is in the PTX, by its extern "C" name.
                    for kernel in Self.kernelNames(in: source.text) {
                        XCTAssertTrue(ptx.contains(".entry \(kernel)_\(precision.rawValue)("), "\(kernel)_\(precision.rawValue) in \(source.name)")
                    }
                }
            }
        }
        XCTAssertEqual(compiler.compilations, KernelSource.all.count * 4)
    }

    /// The names given to DNC_NAME in `DNC_KERNEL DNC_NAME(name)(…)`.
    static func kernelNames(in text: String) -> [String] {
        text.components(separatedBy: "DNC_KERNEL DNC_NAME(").dropFirst().compactMap { $0.split(separator: ")").first.map(String.init) }
    }

    func testWarningsAndErrorsFail() throws {
        let compiler = KernelCompiler(nvrtc: try nvrtc(), driverVersion: nil, cacheDirectory: nil)
        let unused = KernelSource(name: "unused.cu", text: "extern \"C\" __global__ void k(float *x) { int unused; x[0] = 1; }\n")
        XCTAssertThrowsError(try compiler.ptx(for: unused, architecture: "sm_90", precision: .float32)) { error in
            let error = error as! KernelCompilationError
            XCTAssertEqual(error.message, "warnings (treated as errors)")
            XCTAssertTrue(error.log.contains("unused"), error.log)
        }
        let broken = KernelSource(name: "broken.cu", text: "extern \"C\" __global__ void k(float *x) { x[0] = undeclared; }\n")
        XCTAssertThrowsError(try compiler.ptx(for: broken, architecture: "sm_80", precision: .float64)) { error in
            let error = error as! KernelCompilationError
            XCTAssertEqual(error.message, "NVRTC_ERROR_COMPILATION")
            XCTAssertTrue(error.log.contains("undeclared"), error.log)
        }
        XCTAssertThrowsError(try compiler.ptx(for: broken, architecture: "compute_80", precision: .float64))
    }

    func testPTXCacheKeysOnSourceArchitectureAndVersions() throws {
        let nvrtc = try nvrtc()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnc-ptx-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = try XCTUnwrap(KernelSource.named("content_addressing.cu"))
        let first = KernelCompiler(nvrtc: nvrtc, driverVersion: nil, cacheDirectory: directory)
        let ptx = try first.ptx(for: source, architecture: "sm_90", precision: .float32)
        XCTAssertEqual(first.compilations, 1)
        // Another process (a new compiler) with the same setup reads it from disk.
        let second = KernelCompiler(nvrtc: nvrtc, driverVersion: nil, cacheDirectory: directory)
        XCTAssertEqual(try second.ptx(for: source, architecture: "sm_90", precision: .float32), ptx)
        XCTAssertEqual(second.compilations, 0)
        // Another architecture, precision, source text or driver version is another entry.
        _ = try second.ptx(for: source, architecture: "sm_80", precision: .float32)
        _ = try second.ptx(for: source, architecture: "sm_90", precision: .float64)
        let edited = KernelSource(name: source.name, text: source.text + "\n// edited\n")
        _ = try second.ptx(for: edited, architecture: "sm_90", precision: .float32)
        XCTAssertEqual(second.compilations, 3)
        let withDriver = KernelCompiler(nvrtc: nvrtc, driverVersion: CUDAVersion(major: 13, minor: 0), cacheDirectory: directory)
        XCTAssertEqual(try withDriver.ptx(for: source, architecture: "sm_90", precision: .float32), ptx)
        XCTAssertEqual(withDriver.compilations, 1)
        // A stored key that does not match (a hash collision, a damaged entry) is a miss.
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".key") }
        XCTAssertEqual(files.count, 5)
        for file in files { try "other".write(to: directory.appendingPathComponent(file), atomically: true, encoding: .utf8) }
        let third = KernelCompiler(nvrtc: nvrtc, driverVersion: nil, cacheDirectory: directory)
        XCTAssertEqual(try third.ptx(for: source, architecture: "sm_90", precision: .float32), ptx)
        XCTAssertEqual(third.compilations, 1)
    }

    func testDefaultCacheDirectory() {
        XCTAssertEqual(KernelCompiler.defaultCacheDirectory(environment: ["XDG_CACHE_HOME": "/tmp/xdg"]).path, "/tmp/xdg/dnc-swift/ptx")
        XCTAssertTrue(KernelCompiler.defaultCacheDirectory(environment: [:]).path.hasSuffix("/.cache/dnc-swift/ptx"))
    }
}
