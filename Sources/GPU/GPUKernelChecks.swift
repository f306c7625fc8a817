import CGPUKernels
import Foundation

/// The project's CUDA kernels on a real GPU: each compiled by NVRTC for the device, loaded by the
/// driver, launched on reproducible random inputs, and compared with its CPU emulation (which the
/// emulation tests compare with the CPU memory: docs/gpu-kernels.md). One code path for
/// `dnc-dist gpu-check` (a GPU machine without Swift) and GPUTests.GPUKernelTests.
public enum GPUKernelChecks {
    /// The outcome of comparing one output of one kernel launch with its emulation.
    public struct Check: Sendable {
        /// "content_addressing f64 cosine"
        public let name: String
        /// Largest |GPU − emulation| over the output (for an integer output, the count of differing elements).
        public let worst: Double
        public let tolerance: Double
        /// Why the check failed regardless of `worst`: a launch or compilation error, NaN left
        /// (an element the kernel never wrote), a length mismatch, the emulation refusing the launch.
        public let problem: String?

        public var passed: Bool { problem == nil && worst <= tolerance }

        public init(name: String, worst: Double, tolerance: Double, problem: String?) {
            self.name = name
            self.worst = worst
            self.tolerance = tolerance
            self.problem = problem
        }

        /// "PASS content_addressing f64 cosine: max |difference| 1.1e-16 ≤ 1e-12"
        public var line: String {
            let verdict = passed ? "PASS" : "FAIL"
            if let problem { return "\(verdict) \(name): \(problem)" }
            return "\(verdict) \(name): max |difference| \(String(format: "%.3g", worst)) \(passed ? "≤" : ">") \(String(format: "%.0e", tolerance))"
        }

        public static func failed(_ name: String, _ problem: String) -> Check { Check(name: name, worst: .infinity, tolerance: 0, problem: problem) }
    }

    /// Tolerances: the emulation runs the same source in the same order, so in Double only the
    /// GPU's fused multiply-adds separate them (docs/gpu-kernels.md); Float allows for exp and
    /// division rounding on the device.
    public static let doubleTolerance = 1e-12, floatTolerance = 1e-5

    /// `got` against `expected`: the largest difference, NaN left (the outputs start as NaN on the
    /// device, so an element the kernel never wrote fails), and the lengths.
    public static func compare<T: BinaryFloatingPoint>(_ name: String, got: [T], expected: [T], tolerance: Double) -> Check {
        guard got.count == expected.count else { return .failed(name, "\(got.count) values, the emulation has \(expected.count)") }
        if let index = got.firstIndex(where: \.isNaN) { return .failed(name, "NaN left at element \(index) (never written?)") }
        let worst = zip(got, expected).map { Double(abs($0 - $1)) }.max() ?? 0
        return Check(name: name, worst: worst.isNaN ? .infinity : worst, tolerance: tolerance, problem: nil)
    }

    /// Integer outputs (the allocation's free-list order) must be equal element for element.
    public static func compareExactly(_ name: String, got: [Int32], expected: [Int32]) -> Check {
        guard got.count == expected.count else { return .failed(name, "\(got.count) values, the emulation has \(expected.count)") }
        let differing = zip(got, expected).filter { $0 != $1 }.count
        if let index = got.indices.first(where: { got[$0] != expected[$0] }) {
            return .failed(name, "\(differing) of \(got.count) elements differ, the first at \(index): \(got[index]) vs \(expected[index])")
        }
        return Check(name: name, worst: 0, tolerance: 0, problem: nil)
    }

    /// Every check, kernel by kernel.
    public static func all(_ session: GPUKernelSession) -> [Check] {
        contentAddressing(session) + linkAndPrecedence(session) + usageAllocation(session)
    }

    /// `body`'s checks, or one failed check named `name` with the error that stopped it (a
    /// compilation, load or launch error is a failure of that kernel, not a missing GPU).
    static func guarded(_ name: String, _ body: () throws -> [Check]) -> [Check] {
        do { return try body() } catch let error as KernelCompilationError {
            return [.failed(name, "compilation: \(error.message)" + (error.log.isEmpty ? "" : " — \(error.log.split(separator: "\n").first ?? "")"))]
        } catch {
            return [.failed(name, "\(error)")]
        }
    }

    /// kernels/content_addressing.cu in both precisions: 4 samples × 3 heads over 300 rows of 20
    /// (more rows than the block's 128 threads), cosine and weights.
    public static func contentAddressing(_ session: GPUKernelSession) -> [Check] {
        let (b, n, w, h) = (4, 300, 20, 3)
        var generator = SplitMix(seed: 9)
        let memory = generator.doubles(b * n * w, in: -1...1), keys = generator.doubles(b * h * w, in: -1...1)
        let strengths = generator.doubles(b * h, in: 1...10)
        let threads = 128, outputs = b * h * n
        return KernelPrecision.allCases.flatMap { precision in
            guarded("content_addressing \(precision.rawValue)") {
                let kernel = try session.function(source: "content_addressing.cu", kernel: "dnc_content_addressing_forward", precision: precision)
                let c = session.context
                func launch(_ m: CUDAContext.Buffer, _ k: CUDAContext.Buffer, _ s: CUDAContext.Buffer, _ cosine: CUDAContext.Buffer,
                            _ weights: CUDAContext.Buffer, size: Int, shift: CUDAContext.Argument) throws {
                    try c.launch(kernel, grid: (h, b), threads: threads, sharedBytes: 2 * threads * size,
                                 [.buffer(m), .buffer(k), .buffer(s), .int32(Int32(n)), .int32(Int32(w)), .int32(Int32(h)), shift,
                                  .buffer(cosine), .buffer(weights)])
                }
                if precision == .float64 {
                    let nan = [Double](repeating: .nan, count: outputs)
                    let buffers = [try c.upload(memory), try c.upload(keys), try c.upload(strengths), try c.upload(nan), try c.upload(nan)]
                    defer { buffers.forEach(c.free) }
                    try launch(buffers[0], buffers[1], buffers[2], buffers[3], buffers[4], size: 8, shift: .double(0))
                    var cosine = nan, weights = nan
                    let status = dnc_emulated_content_addressing_forward_f64(memory, keys, strengths, Int32(b), Int32(n), Int32(w), Int32(h), 0,
                                                                             Int32(threads), &cosine, &weights)
                    guard status == 0 else { return [.failed("content_addressing f64", "the emulation refused the launch")] }
                    return [compare("content_addressing f64 cosine", got: try c.download(buffers[3], count: outputs, as: Double.self),
                                    expected: cosine, tolerance: doubleTolerance),
                            compare("content_addressing f64 weights", got: try c.download(buffers[4], count: outputs, as: Double.self),
                                    expected: weights, tolerance: doubleTolerance)]
                }
                let (m, k, s) = (memory.map(Float.init), keys.map(Float.init), strengths.map(Float.init))
                let nan = [Float](repeating: .nan, count: outputs)
                let buffers = [try c.upload(m), try c.upload(k), try c.upload(s), try c.upload(nan), try c.upload(nan)]
                defer { buffers.forEach(c.free) }
                try launch(buffers[0], buffers[1], buffers[2], buffers[3], buffers[4], size: 4, shift: .float(0))
                var cosine = nan, weights = nan
                let status = dnc_emulated_content_addressing_forward_f32(m, k, s, Int32(b), Int32(n), Int32(w), Int32(h), 0, Int32(threads),
                                                                         &cosine, &weights)
                guard status == 0 else { return [.failed("content_addressing f32", "the emulation refused the launch")] }
                return [compare("content_addressing f32 cosine", got: try c.download(buffers[3], count: outputs, as: Float.self),
                                expected: cosine, tolerance: floatTolerance),
                        compare("content_addressing f32 weights", got: try c.download(buffers[4], count: outputs, as: Float.self),
                                expected: weights, tolerance: floatTolerance)]
            }
        }
    }

    /// kernels/temporal_link.cu in Double: the link update (a block per row) and the precedence
    /// update for 3 samples of 200 cells.
    public static func linkAndPrecedence(_ session: GPUKernelSession) -> [Check] {
        guarded("temporal_link f64") {
            let (b, n) = (3, 200)
            var generator = SplitMix(seed: 10)
            let link = generator.doubles(b * n * n)
            let writeWeights = generator.doubles(b * n).map { $0 / Double(n) }
            let precedence = generator.doubles(b * n).map { $0 / Double(n) }
            let c = session.context
            let update = try session.function(source: "temporal_link.cu", kernel: "dnc_link_update", precision: .float64)
            let precede = try session.function(source: "temporal_link.cu", kernel: "dnc_precedence_update", precision: .float64)
            let l = try c.upload(link), w = try c.upload(writeWeights), p = try c.upload(precedence)
            defer { [l, w, p].forEach(c.free) }
            try c.launch(update, grid: (n, b), threads: 64, sharedBytes: 0, [.buffer(l), .buffer(w), .buffer(p), .int32(Int32(n))])
            try c.launch(precede, grid: (b, 1), threads: 64, sharedBytes: 64 * 8, [.buffer(p), .buffer(w), .int32(Int32(n))])
            var expectedLink = link, expectedPrecedence = precedence
            guard dnc_emulated_link_update_f64(&expectedLink, writeWeights, precedence, Int32(b), Int32(n), 64) == 0,
                  dnc_emulated_precedence_update_f64(&expectedPrecedence, writeWeights, Int32(b), Int32(n), 64) == 0 else {
                return [.failed("temporal_link f64", "the emulation refused the launch")]
            }
            return [compare("temporal_link f64 link", got: try c.download(l, count: b * n * n, as: Double.self), expected: expectedLink,
                            tolerance: doubleTolerance),
                    compare("temporal_link f64 precedence", got: try c.download(p, count: b * n, as: Double.self), expected: expectedPrecedence,
                            tolerance: doubleTolerance)]
        }
    }

    /// kernels/usage_allocation.cu in Double: 3 samples of 257 cells, 2 read heads, a third of the
    /// cells unused (tied usages, so the order's tie-break is exercised); the order exactly.
    public static func usageAllocation(_ session: GPUKernelSession) -> [Check] {
        guarded("usage_allocation f64") {
            let (b, n, r) = (3, 257, 2)
            var generator = SplitMix(seed: 11)
            var usage = generator.doubles(b * n)
            var writeWeights = generator.doubles(b * n).map { $0 / Double(n) }
            let readWeights = generator.doubles(b * r * n).map { $0 / Double(n) }
            let freeGates = generator.doubles(b * r)
            for cell in stride(from: 1, to: b * n, by: 3) { usage[cell] = 0; writeWeights[cell] = 0 }
            let c = session.context
            let kernel = try session.function(source: "usage_allocation.cu", kernel: "dnc_usage_allocation", precision: .float64)
            let nan = [Double](repeating: .nan, count: b * n)
            let inputs = [try c.upload(usage), try c.upload(writeWeights), try c.upload(readWeights), try c.upload(freeGates)]
            // Outputs in the kernel's order: retention, usage, order, sorted, prefix, allocation.
            let outputs = [try c.upload(nan), try c.upload(nan), try c.upload([Int32](repeating: -1, count: b * n)),
                           try c.upload(nan), try c.upload(nan), try c.upload(nan)]
            defer { (inputs + outputs).forEach(c.free) }
            try c.launch(kernel, grid: (b, 1), threads: 128, sharedBytes: 0,
                         inputs.map { .buffer($0) } + [.int32(Int32(n)), .int32(Int32(r))] + outputs.map { .buffer($0) })
            var retention = nan, newUsage = nan, sorted = nan, prefix = nan, allocation = nan
            var order = [Int32](repeating: -1, count: b * n)
            guard dnc_emulated_usage_allocation_f64(usage, writeWeights, readWeights, freeGates, Int32(b), Int32(n), Int32(r), 128,
                                                    &retention, &newUsage, &order, &sorted, &prefix, &allocation) == 0 else {
                return [.failed("usage_allocation f64", "the emulation refused the launch")]
            }
            var checks = [compareExactly("usage_allocation f64 order", got: try c.download(outputs[2], count: b * n, as: Int32.self), expected: order)]
            for (buffer, expected, name) in [(outputs[0], retention, "retention"), (outputs[1], newUsage, "usage"), (outputs[3], sorted, "sorted"),
                                             (outputs[4], prefix, "prefix"), (outputs[5], allocation, "allocation")] {
                checks.append(compare("usage_allocation f64 \(name)", got: try c.download(buffer, count: b * n, as: Double.self), expected: expected,
                                      tolerance: doubleTolerance))
            }
            return checks
        }
    }
}

/// A GPU ready for the kernel checks: the driver, a context on one device, NVRTC not newer than
/// the driver, and a compiler for the device's architecture.
public final class GPUKernelSession: @unchecked Sendable {
    public let context: CUDAContext
    public let compiler: KernelCompiler
    public let device: CUDADriver.Device
    public let driverVersion: CUDAVersion
    /// "sm_90"
    public let architecture: String

    /// Opens device `ordinal`, or throws one line naming what is missing: the driver ("no GPU:
    /// libcuda.so.1 not found (no NVIDIA driver)"), the device, NVRTC ("NVRTC not found (tried …)"),
    /// or an NVRTC newer than the driver. No disk cache: this checks NVRTC itself.
    public init(device ordinal: Int = 0, environment: [String: String] = ProcessInfo.processInfo.environment) throws(GPUUnavailable) {
        let status = CUDADriver.status()
        guard case .usable(let driverVersion, let devices) = status else {
            if case .unusable(let reason) = status { throw GPUUnavailable(reason) }
            throw GPUUnavailable("no GPU")
        }
        guard !devices.isEmpty else { throw GPUUnavailable("no GPU: the driver shows no device") }
        guard ordinal >= 0 && ordinal < devices.count else { throw GPUUnavailable("no GPU \(ordinal): the driver shows \(devices.count)") }
        let nvrtc: NVRTC
        do { nvrtc = try NVRTC.load(environment: environment, preferringAtMost: driverVersion) } catch {
            throw GPUUnavailable("NVRTC \(error.reason)")
        }
        if let problem = CUDAVersion.ptxIncompatibility(nvrtc: nvrtc.version, driver: driverVersion) { throw GPUUnavailable(problem) }
        device = devices[ordinal]
        self.driverVersion = driverVersion
        architecture = "sm_\(device.computeCapability.major)\(device.computeCapability.minor)"
        context = try CUDAContext(device: ordinal)
        compiler = KernelCompiler(nvrtc: nvrtc, driverVersion: driverVersion, cacheDirectory: nil)
    }

    /// The kernel `kernel` of `source` in `precision` (its name gets the precision's suffix).
    public func function(source: String, kernel: String, precision: KernelPrecision) throws -> CUDAContext.Function {
        guard let text = KernelSource.named(source) else { throw GPUUnavailable("no kernel source \(source)") }
        let ptx = try compiler.ptx(for: text, architecture: architecture, precision: precision)
        let name = "\(kernel)_\(precision.rawValue)"
        guard let function = try context.functions(ptx: ptx, names: [name])[name] else { throw GPUUnavailable("\(name) not in the PTX of \(source)") }
        return function
    }

    /// "GPU 0: NVIDIA H200, 139.8 GiB, compute capability 9.0; driver CUDA 13.0; NVRTC 13.0 (/…/libnvrtc.so.13); sm_90"
    public var summary: String {
        "GPU \(device.ordinal): \(device.summary); driver CUDA \(driverVersion); NVRTC \(compiler.nvrtc.version) (\(compiler.nvrtc.path)); \(architecture)"
    }
}
