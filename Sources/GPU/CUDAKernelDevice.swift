import Foundation

/// A CUDA GPU as a `KernelDevice`: the project's kernel sources compiled by NVRTC for the GPU's
/// architecture on first use of a precision (cached on disk by `KernelCompiler`), launched on
/// the default stream without waiting; copies to the host wait for the launches before them.
public final class CUDAKernelDevice: KernelDevice, @unchecked Sendable {
    public let context: CUDAContext
    public let compiler: KernelCompiler
    /// "sm_90"
    public let architecture: String
    public let summary: String
    private var modules: [KernelPrecision: [OpaquePointer]] = [:]
    private var functions: [String: CUDAContext.Function] = [:]
    public private(set) var launches = 0

    /// Opens GPU `ordinal` (after CUDA_VISIBLE_DEVICES) with NVRTC not newer than the driver, or
    /// throws one line saying what is missing.
    public init(ordinal: Int, environment: [String: String] = ProcessInfo.processInfo.environment,
                cacheDirectory: URL? = KernelCompiler.defaultCacheDirectory()) throws(GPUUnavailable) {
        let status = CUDADriver.status()
        guard case .usable(let driverVersion, let devices) = status else {
            if case .unusable(let reason) = status { throw GPUUnavailable(reason) }
            throw GPUUnavailable("no GPU")
        }
        guard ordinal >= 0 && ordinal < devices.count else { throw GPUUnavailable("no GPU \(ordinal): the driver shows \(devices.count)") }
        let nvrtc: NVRTC
        do { nvrtc = try NVRTC.load(environment: environment, preferringAtMost: driverVersion) } catch {
            throw GPUUnavailable("NVRTC \(error.reason)")
        }
        if let problem = CUDAVersion.ptxIncompatibility(nvrtc: nvrtc.version, driver: driverVersion) { throw GPUUnavailable(problem) }
        let device = devices[ordinal]
        architecture = "sm_\(device.computeCapability.major)\(device.computeCapability.minor)"
        context = try CUDAContext(device: ordinal)
        compiler = KernelCompiler(nvrtc: nvrtc, driverVersion: driverVersion, cacheDirectory: cacheDirectory)
        summary = "GPU \(ordinal): \(device.summary); driver CUDA \(driverVersion); NVRTC \(nvrtc.version); \(architecture)"
    }

    public func allocate(bytes: Int) throws(GPUUnavailable) -> DeviceBuffer {
        let buffer = try context.allocate(bytes: max(1, bytes))
        return DeviceBuffer(pointer: DevicePointer(address: buffer.address), bytes: buffer.bytes)
    }

    public func free(_ buffer: DeviceBuffer) {
        context.free(CUDAContext.Buffer(address: buffer.pointer.address, bytes: buffer.bytes))
    }

    public func copy(from source: UnsafeRawPointer, to destination: DevicePointer, bytes: Int) throws(GPUUnavailable) {
        try context.copy(host: source, to: destination.address, bytes: bytes)
    }

    public func copy(from source: DevicePointer, to destination: UnsafeMutableRawPointer, bytes: Int) throws(GPUUnavailable) {
        try context.copy(device: source.address, toHost: destination, bytes: bytes)
    }

    public func copy(from source: DevicePointer, to destination: DevicePointer, bytes: Int) throws(GPUUnavailable) {
        try context.copy(device: source.address, toDevice: destination.address, bytes: bytes)
    }

    public func zero(_ destination: DevicePointer, bytes: Int) throws(GPUUnavailable) {
        try context.zero(destination.address, bytes: bytes)
    }

    public func launch(_ name: String, grid: (x: Int, y: Int), threads: Int, sharedBytes: Int,
                       _ arguments: [KernelArgument]) throws(GPUUnavailable) {
        let function = try self.function(name)
        launches += 1
        try KernelArgument.withParameterArray(arguments) { parameters throws(GPUUnavailable) in
            try context.enqueue(function, grid: grid, threads: threads, sharedBytes: sharedBytes, parameters)
        }
    }

    public func synchronize() throws(GPUUnavailable) { try context.synchronize() }

    /// Kernel `name`: the precision from its suffix; every source compiled for that precision the
    /// first time one of its kernels is asked for.
    private func function(_ name: String) throws(GPUUnavailable) -> CUDAContext.Function {
        if let function = functions[name] { return function }
        guard let precision = KernelPrecision.allCases.first(where: { name.hasSuffix("_\($0.rawValue)") }) else {
            throw GPUUnavailable("kernel name \(name) has no precision suffix (_f32 or _f64)")
        }
        if modules[precision] == nil {
            var loaded: [OpaquePointer] = []
            for source in KernelSource.all {
                let ptx: String
                do { ptx = try compiler.ptx(for: source, architecture: architecture, precision: precision) } catch {
                    throw GPUUnavailable("NVRTC: \(error.description)")
                }
                loaded.append(try context.loadModule(ptx: ptx))
            }
            modules[precision] = loaded
        }
        for module in modules[precision]! {
            if let function = context.function(name, in: module) {
                functions[name] = function
                return function
            }
        }
        throw GPUUnavailable("no kernel \(name) in the compiled sources")
    }
}
