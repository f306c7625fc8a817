import Foundation

/// A CUDA context on one device, through the driver API opened at run time: PTX modules,
/// device memory, kernel launches. The smallest set that runs the project's kernels on a GPU, so
/// that their results can be compared with the CPU emulation there (GPUTests.GPUKernelTests,
/// scripts/gpu-check.sh). Not thread-safe: one context per thread of work.
public final class CUDAContext: @unchecked Sendable {
    private typealias PrimaryContextRetain = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?, Int32) -> Int32
    private typealias PrimaryContextRelease = @convention(c) (Int32) -> Int32
    private typealias ContextSetCurrent = @convention(c) (OpaquePointer?) -> Int32
    private typealias ContextSynchronize = @convention(c) () -> Int32
    private typealias ModuleLoadData = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?, UnsafeRawPointer?) -> Int32
    private typealias ModuleUnload = @convention(c) (OpaquePointer?) -> Int32
    private typealias ModuleGetFunction = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?, OpaquePointer?, UnsafePointer<CChar>?) -> Int32
    private typealias MemoryAllocate = @convention(c) (UnsafeMutablePointer<UInt64>?, Int) -> Int32
    private typealias MemoryFree = @convention(c) (UInt64) -> Int32
    private typealias CopyToDevice = @convention(c) (UInt64, UnsafeRawPointer?, Int) -> Int32
    private typealias CopyToHost = @convention(c) (UnsafeMutableRawPointer?, UInt64, Int) -> Int32
    private typealias CopyDeviceToDevice = @convention(c) (UInt64, UInt64, Int) -> Int32
    private typealias SetBytes = @convention(c) (UInt64, UInt8, Int) -> Int32
    private typealias LaunchKernel = @convention(c) (OpaquePointer?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, OpaquePointer?,
                                                     UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32

    private let driver: CUDADriver
    private let device: Int32
    private let context: OpaquePointer?
    private let primaryContextRelease: PrimaryContextRelease, setCurrent: ContextSetCurrent, synchronizeContext: ContextSynchronize
    private let moduleLoadData: ModuleLoadData, moduleUnload: ModuleUnload, moduleGetFunction: ModuleGetFunction
    private let memoryAllocate: MemoryAllocate, memoryFree: MemoryFree, copyToDevice: CopyToDevice, copyToHost: CopyToHost
    private let launchKernel: LaunchKernel
    private let copyDeviceToDevice: CopyDeviceToDevice, setBytes: SetBytes
    private var modules: [OpaquePointer] = []

    /// Retains the device's primary context (the one the CUDA runtime would use) and makes it current.
    public init(device ordinal: Int, driver given: CUDADriver? = nil) throws(GPUUnavailable) {
        let driver: CUDADriver
        if let given { driver = given } else { driver = try CUDADriver() }
        guard case .usable(_, let devices) = try driver.query() else { throw GPUUnavailable("the driver is not usable") }
        guard ordinal >= 0 && ordinal < devices.count else { throw GPUUnavailable("GPU \(ordinal) does not exist (\(devices.count) visible)") }
        let library = driver.library
        func load<F>(_ symbol: String, _ type: F.Type) throws(GPUUnavailable) -> F {
            guard let function = library.function(symbol, as: type) else { throw GPUUnavailable("\(library.name) lacks \(symbol)") }
            return function
        }
        let retain = try load("cuDevicePrimaryCtxRetain", PrimaryContextRetain.self)
        primaryContextRelease = try load("cuDevicePrimaryCtxRelease_v2", PrimaryContextRelease.self)
        setCurrent = try load("cuCtxSetCurrent", ContextSetCurrent.self)
        synchronizeContext = try load("cuCtxSynchronize", ContextSynchronize.self)
        moduleLoadData = try load("cuModuleLoadData", ModuleLoadData.self)
        moduleUnload = try load("cuModuleUnload", ModuleUnload.self)
        moduleGetFunction = try load("cuModuleGetFunction", ModuleGetFunction.self)
        memoryAllocate = try load("cuMemAlloc_v2", MemoryAllocate.self)
        memoryFree = try load("cuMemFree_v2", MemoryFree.self)
        copyToDevice = try load("cuMemcpyHtoD_v2", CopyToDevice.self)
        copyToHost = try load("cuMemcpyDtoH_v2", CopyToHost.self)
        launchKernel = try load("cuLaunchKernel", LaunchKernel.self)
        copyDeviceToDevice = try load("cuMemcpyDtoD_v2", CopyDeviceToDevice.self)
        setBytes = try load("cuMemsetD8_v2", SetBytes.self)
        self.driver = driver
        device = try driver.deviceHandle(ordinal: ordinal)
        var context: OpaquePointer?
        let retained = retain(&context, device)
        guard retained == 0 else { throw GPUUnavailable("cuDevicePrimaryCtxRetain(\(ordinal)) failed: \(driver.errorText(retained))") }
        self.context = context
        let current = setCurrent(context)
        guard current == 0 else {
            _ = primaryContextRelease(device)
            throw GPUUnavailable("cuCtxSetCurrent failed: \(driver.errorText(current))")
        }
    }

    deinit {
        for module in modules { _ = moduleUnload(module) }
        _ = primaryContextRelease(device)
    }

    /// A kernel of a loaded module.
    public struct Function: @unchecked Sendable {
        fileprivate let handle: OpaquePointer
        public let name: String
    }

    /// Device memory; freed by `free` (device memory outlives no context: free it before).
    public struct Buffer: Sendable {
        public let address: UInt64
        public let bytes: Int
    }

    /// One kernel argument, passed by value as the kernel's C signature declares it.
    public enum Argument {
        case buffer(Buffer)
        case int32(Int32)
        case float(Float)
        case double(Double)
    }

    /// Loads `ptx` (the driver compiles it for the device) and finds the kernels `names`.
    public func functions(ptx: String, names: [String]) throws(GPUUnavailable) -> [String: Function] {
        var module: OpaquePointer?
        let loaded = ptx.withCString { moduleLoadData(&module, $0) }
        guard loaded == 0, let module else { throw GPUUnavailable("cuModuleLoadData failed: \(driver.errorText(loaded))") }
        modules.append(module)
        var result: [String: Function] = [:]
        for name in names {
            var function: OpaquePointer?
            let found = moduleGetFunction(&function, module, name)
            guard found == 0, let function else { throw GPUUnavailable("cuModuleGetFunction(\(name)) failed: \(driver.errorText(found))") }
            result[name] = Function(handle: function, name: name)
        }
        return result
    }

    /// Device memory holding a copy of `values`.
    public func upload<T>(_ values: [T]) throws(GPUUnavailable) -> Buffer {
        let buffer = try allocate(bytes: max(1, values.count * MemoryLayout<T>.stride))
        let copied = values.withUnsafeBytes { copyToDevice(buffer.address, $0.baseAddress, $0.count) }
        guard copied == 0 else { free(buffer); throw GPUUnavailable("cuMemcpyHtoD failed: \(driver.errorText(copied))") }
        return buffer
    }

    public func allocate(bytes: Int) throws(GPUUnavailable) -> Buffer {
        var address: UInt64 = 0
        let allocated = memoryAllocate(&address, bytes)
        guard allocated == 0 else { throw GPUUnavailable("cuMemAlloc(\(bytes) bytes) failed: \(driver.errorText(allocated))") }
        return Buffer(address: address, bytes: bytes)
    }

    /// The first `count` elements of `buffer`.
    public func download<T>(_ buffer: Buffer, count: Int, as: T.Type) throws(GPUUnavailable) -> [T] {
        precondition(count * MemoryLayout<T>.stride <= buffer.bytes, "download past the buffer's end")
        var values = [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        let copied = values.withUnsafeMutableBytes { copyToHost($0.baseAddress, buffer.address, $0.count) }
        guard copied == 0 else { throw GPUUnavailable("cuMemcpyDtoH failed: \(driver.errorText(copied))") }
        return values
    }

    public func free(_ buffer: Buffer) { _ = memoryFree(buffer.address) }

    /// Launches `function` on a `grid` of blocks of `threads` threads with `sharedBytes` of
    /// dynamic shared memory, on the default stream, and waits for it (errors of the kernel
    /// itself surface here).
    public func launch(_ function: Function, grid: (x: Int, y: Int), threads: Int, sharedBytes: Int,
                       _ arguments: [Argument]) throws(GPUUnavailable) {
        // cuLaunchKernel takes an array of pointers, each to one argument's value.
        let storage = arguments.map { argument -> UnsafeMutableRawPointer in
            let pointer = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
            switch argument {
            case .buffer(let buffer): pointer.storeBytes(of: buffer.address, as: UInt64.self)
            case .int32(let value): pointer.storeBytes(of: value, as: Int32.self)
            case .float(let value): pointer.storeBytes(of: value, as: Float.self)
            case .double(let value): pointer.storeBytes(of: value, as: Double.self)
            }
            return pointer
        }
        defer { storage.forEach { $0.deallocate() } }
        var parameters: [UnsafeMutableRawPointer?] = storage
        let launched = launchKernel(function.handle, UInt32(grid.x), UInt32(grid.y), 1, UInt32(threads), 1, 1, UInt32(sharedBytes), nil,
                                    &parameters, nil)
        guard launched == 0 else { throw GPUUnavailable("cuLaunchKernel(\(function.name)) failed: \(driver.errorText(launched))") }
        let finished = synchronizeContext()
        guard finished == 0 else { throw GPUUnavailable("\(function.name) failed on the GPU: \(driver.errorText(finished))") }
    }

    // Raw operations for CUDAKernelDevice. The legacy default stream orders them with the
    // launches; the copies to the host wait for every launch before them.

    func copy(host source: UnsafeRawPointer, to destination: UInt64, bytes: Int) throws(GPUUnavailable) {
        let copied = copyToDevice(destination, source, bytes)
        guard copied == 0 else { throw GPUUnavailable("cuMemcpyHtoD failed: \(driver.errorText(copied))") }
    }

    func copy(device source: UInt64, toHost destination: UnsafeMutableRawPointer, bytes: Int) throws(GPUUnavailable) {
        let copied = copyToHost(destination, source, bytes)
        guard copied == 0 else { throw GPUUnavailable("cuMemcpyDtoH failed: \(driver.errorText(copied))") }
    }

    func copy(device source: UInt64, toDevice destination: UInt64, bytes: Int) throws(GPUUnavailable) {
        let copied = copyDeviceToDevice(destination, source, bytes)
        guard copied == 0 else { throw GPUUnavailable("cuMemcpyDtoD failed: \(driver.errorText(copied))") }
    }

    func zero(_ destination: UInt64, bytes: Int) throws(GPUUnavailable) {
        let set = setBytes(destination, 0, bytes)
        guard set == 0 else { throw GPUUnavailable("cuMemsetD8 failed: \(driver.errorText(set))") }
    }

    /// Queues `function` without waiting for it (errors of the kernel surface at the next wait).
    func enqueue(_ function: Function, grid: (x: Int, y: Int), threads: Int, sharedBytes: Int,
                 _ parameters: UnsafeMutablePointer<UnsafeMutableRawPointer?>) throws(GPUUnavailable) {
        let launched = launchKernel(function.handle, UInt32(grid.x), UInt32(grid.y), 1, UInt32(threads), 1, 1, UInt32(sharedBytes), nil,
                                    parameters, nil)
        guard launched == 0 else { throw GPUUnavailable("cuLaunchKernel(\(function.name)) failed: \(driver.errorText(launched))") }
    }

    /// Waits for every queued launch.
    func synchronize() throws(GPUUnavailable) {
        let finished = synchronizeContext()
        guard finished == 0 else { throw GPUUnavailable("a kernel failed on the GPU: \(driver.errorText(finished))") }
    }

    /// Loads `ptx` and returns the module's function `name`, or nil when the module lacks it.
    func loadModule(ptx: String) throws(GPUUnavailable) -> OpaquePointer {
        var module: OpaquePointer?
        let loaded = ptx.withCString { moduleLoadData(&module, $0) }
        guard loaded == 0, let module else { throw GPUUnavailable("cuModuleLoadData failed: \(driver.errorText(loaded))") }
        modules.append(module)
        return module
    }

    /// Function `name` of a module from `loadModule`, or nil when it has none by that name.
    func function(_ name: String, in module: OpaquePointer) -> Function? {
        var function: OpaquePointer?
        guard moduleGetFunction(&function, module, name) == 0, let function else { return nil }
        return Function(handle: function, name: name)
    }
}
