import XCTest
import CGPUKernels
@testable import DNCGPU

/// The kernels on a real GPU: compiled by NVRTC for the device, loaded by the driver, launched,
/// and compared with their CPU emulation (which the other kernel tests compare with the CPU
/// memory). Skipped, with the reason, without a usable GPU or NVRTC, or when NVRTC is newer than
/// the driver (scripts/gpu-check.sh runs these on a GPU machine).
final class GPUKernelTests: XCTestCase {
    struct Setup {
        let context: CUDAContext
        let compiler: KernelCompiler
        let architecture: String
    }

    func setup() throws -> Setup {
        guard case .usable(let driverVersion, let devices) = CUDADriver.status() else {
            if case .unusable(let reason) = CUDADriver.status() { throw XCTSkip(reason) }
            throw XCTSkip("no GPU")
        }
        guard let device = devices.first else { throw XCTSkip("no GPU: the driver shows no device") }
        let nvrtc: NVRTC
        do { nvrtc = try NVRTC.load() } catch { throw XCTSkip("NVRTC \(error.reason)") }
        if let problem = CUDAVersion.ptxIncompatibility(nvrtc: nvrtc.version, driver: driverVersion) { throw XCTSkip(problem) }
        let architecture = "sm_\(device.computeCapability.major)\(device.computeCapability.minor)"
        return Setup(context: try CUDAContext(device: 0), compiler: KernelCompiler(nvrtc: nvrtc, driverVersion: driverVersion, cacheDirectory: nil),
                     architecture: architecture)
    }

    func function(_ setup: Setup, source: String, kernel: String, precision: KernelPrecision) throws -> CUDAContext.Function {
        let ptx = try setup.compiler.ptx(for: try XCTUnwrap(KernelSource.named(source)), architecture: setup.architecture, precision: precision)
        let name = "\(kernel)_\(precision.rawValue)"
        return try XCTUnwrap(try setup.context.functions(ptx: ptx, names: [name])[name])
    }

    func testContentAddressingOnTheGPUEqualsItsEmulation() throws {
        let setup = try setup()
        let (b, n, w, h) = (4, 300, 20, 3)
        var generator = SplitMix(seed: 9)
        let memory: [Double] = generator.values(b * n * w, in: -1...1, as: Double.self)
        let keys: [Double] = generator.values(b * h * w, in: -1...1, as: Double.self)
        let strengths: [Double] = generator.values(b * h, in: 1...10, as: Double.self)
        for precision in KernelPrecision.allCases {
            let kernel = try function(setup, source: "content_addressing.cu", kernel: "dnc_content_addressing_forward", precision: precision)
            let threads = 128, size = precision == .float64 ? 8 : 4
            let c = setup.context
            let (m, k, s) = precision == .float64 ? (try c.upload(memory), try c.upload(keys), try c.upload(strengths))
                : (try c.upload(memory.map(Float.init)), try c.upload(keys.map(Float.init)), try c.upload(strengths.map(Float.init)))
            let cosine = try c.allocate(bytes: b * h * n * size), weights = try c.allocate(bytes: b * h * n * size)
            defer { [m, k, s, cosine, weights].forEach(c.free) }
            let shift: CUDAContext.Argument = precision == .float64 ? .double(0) : .float(0)
            try c.launch(kernel, grid: (h, b), threads: threads, sharedBytes: 2 * threads * size,
                         [.buffer(m), .buffer(k), .buffer(s), .int32(Int32(n)), .int32(Int32(w)), .int32(Int32(h)), shift, .buffer(cosine), .buffer(weights)])
            if precision == .float64 {
                var expectedCosine = [Double](repeating: 0, count: b * h * n), expectedWeights = expectedCosine
                XCTAssertEqual(dnc_emulated_content_addressing_forward_f64(memory, keys, strengths, Int32(b), Int32(n), Int32(w), Int32(h), 0,
                                                                           Int32(threads), &expectedCosine, &expectedWeights), 0)
                assertClose(try c.download(cosine, count: b * h * n, as: Double.self), expectedCosine, 1e-12, "cosine f64")
                assertClose(try c.download(weights, count: b * h * n, as: Double.self), expectedWeights, 1e-12, "weights f64")
            } else {
                var expectedCosine = [Float](repeating: 0, count: b * h * n), expectedWeights = expectedCosine
                XCTAssertEqual(dnc_emulated_content_addressing_forward_f32(memory.map(Float.init), keys.map(Float.init), strengths.map(Float.init),
                                                                           Int32(b), Int32(n), Int32(w), Int32(h), 0, Int32(threads),
                                                                           &expectedCosine, &expectedWeights), 0)
                assertClose(try c.download(cosine, count: b * h * n, as: Float.self), expectedCosine, 1e-5, "cosine f32")
                assertClose(try c.download(weights, count: b * h * n, as: Float.self), expectedWeights, 1e-5, "weights f32")
            }
        }
    }

    func testLinkAndPrecedenceOnTheGPUEqualTheirEmulation() throws {
        let setup = try setup()
        let (b, n) = (3, 200)
        var generator = SplitMix(seed: 10)
        let link: [Double] = generator.values(b * n * n, as: Double.self)
        let writeWeights: [Double] = generator.values(b * n, as: Double.self).map { $0 / Double(n) }
        let precedence: [Double] = generator.values(b * n, as: Double.self).map { $0 / Double(n) }
        let c = setup.context
        let update = try function(setup, source: "temporal_link.cu", kernel: "dnc_link_update", precision: .float64)
        let precede = try function(setup, source: "temporal_link.cu", kernel: "dnc_precedence_update", precision: .float64)
        let l = try c.upload(link), w = try c.upload(writeWeights), p = try c.upload(precedence)
        defer { [l, w, p].forEach(c.free) }
        try c.launch(update, grid: (n, b), threads: 64, sharedBytes: 0, [.buffer(l), .buffer(w), .buffer(p), .int32(Int32(n))])
        try c.launch(precede, grid: (b, 1), threads: 64, sharedBytes: 64 * 8, [.buffer(p), .buffer(w), .int32(Int32(n))])
        var expectedLink = link, expectedPrecedence = precedence
        XCTAssertEqual(dnc_emulated_link_update_f64(&expectedLink, writeWeights, precedence, Int32(b), Int32(n), 64), 0)
        XCTAssertEqual(dnc_emulated_precedence_update_f64(&expectedPrecedence, writeWeights, Int32(b), Int32(n), 64), 0)
        assertClose(try c.download(l, count: b * n * n, as: Double.self), expectedLink, 1e-12, "link")
        assertClose(try c.download(p, count: b * n, as: Double.self), expectedPrecedence, 1e-12, "precedence")
    }

    func testUsageAndAllocationOnTheGPUEqualTheirEmulation() throws {
        let setup = try setup()
        let (b, n, r) = (3, 257, 2)
        var generator = SplitMix(seed: 11)
        var usage: [Double] = generator.values(b * n, as: Double.self)
        var writeWeights: [Double] = generator.values(b * n, as: Double.self).map { $0 / Double(n) }
        let readWeights: [Double] = generator.values(b * r * n, as: Double.self).map { $0 / Double(n) }
        let freeGates: [Double] = generator.values(b * r, as: Double.self)
        for c in stride(from: 1, to: b * n, by: 3) { usage[c] = 0; writeWeights[c] = 0 }
        let c = setup.context
        let kernel = try function(setup, source: "usage_allocation.cu", kernel: "dnc_usage_allocation", precision: .float64)
        let inputs = [try c.upload(usage), try c.upload(writeWeights), try c.upload(readWeights), try c.upload(freeGates)]
        let outputs = try (0..<6).map { _ in try c.allocate(bytes: b * n * 8) }
        defer { (inputs + outputs).forEach(c.free) }
        try c.launch(kernel, grid: (b, 1), threads: 128, sharedBytes: 0,
                     inputs.map { .buffer($0) } + [.int32(Int32(n)), .int32(Int32(r))] + outputs.map { .buffer($0) })
        var retention = [Double](repeating: 0, count: b * n), newUsage = retention, sorted = retention, prefix = retention, allocation = retention
        var order = [Int32](repeating: 0, count: b * n)
        XCTAssertEqual(Double.usageAllocation(usage: usage, writeWeights: writeWeights, readWeights: readWeights, freeGates: freeGates, batch: b,
                                              cells: n, readHeads: r, threads: 128, retention: &retention, newUsage: &newUsage, order: &order,
                                              sorted: &sorted, prefix: &prefix, allocation: &allocation), 0)
        XCTAssertEqual(try c.download(outputs[2], count: b * n, as: Int32.self), order, "order")
        for (index, (expected, name)) in [(retention, "retention"), (newUsage, "usage"), (sorted, "sorted"), (prefix, "prefix"), (allocation, "allocation")]
            .enumerated() {
            let buffer = outputs[index < 2 ? index : index + 1]
            assertClose(try c.download(buffer, count: b * n, as: Double.self), expected, 1e-12, name)
        }
    }
}
