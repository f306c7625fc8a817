/// Where the GPU back end's buffers live and its kernels run: a CUDA device
/// (`CUDAKernelDevice`), or the CPU running the same kernel sources through the launch emulation
/// (`EmulatedKernelDevice`), which is how the back end is tested on machines without a GPU
/// (docs/gpu-kernels.md).
///
/// Launches are queued in order on one stream; copies to the host wait for them. A kernel is
/// named as compiled, with its precision suffix ("dnc_gemm_f64"; `KernelPrecision.kernelName`).
public protocol KernelDevice: AnyObject {
    /// "emulated on the CPU", "GPU 0: NVIDIA H200 …"
    var summary: String { get }
    /// Kernel launches queued so far (a step's count shows how launch-bound it is).
    var launches: Int { get }
    /// Device memory of `bytes` bytes (at least 1), not initialised.
    func allocate(bytes: Int) throws(GPUUnavailable) -> DeviceBuffer
    func free(_ buffer: DeviceBuffer)
    /// Host → device, `bytes` bytes to `destination`.
    func copy(from source: UnsafeRawPointer, to destination: DevicePointer, bytes: Int) throws(GPUUnavailable)
    /// Device → host, after every queued launch.
    func copy(from source: DevicePointer, to destination: UnsafeMutableRawPointer, bytes: Int) throws(GPUUnavailable)
    /// Device → device, in launch order.
    func copy(from source: DevicePointer, to destination: DevicePointer, bytes: Int) throws(GPUUnavailable)
    /// Sets `bytes` bytes to zero, in launch order.
    func zero(_ destination: DevicePointer, bytes: Int) throws(GPUUnavailable)
    /// Queues kernel `name` on a grid.x × grid.y grid of blocks of `threads` threads with
    /// `sharedBytes` of dynamic shared memory.
    func launch(_ name: String, grid: (x: Int, y: Int), threads: Int, sharedBytes: Int,
                _ arguments: [KernelArgument]) throws(GPUUnavailable)
    /// Waits for every queued launch.
    func synchronize() throws(GPUUnavailable)
}

/// An address in a device's memory (on the emulated device, a host address).
public struct DevicePointer: Hashable, Sendable {
    public let address: UInt64
    public init(address: UInt64) { self.address = address }
    /// The address `bytes` bytes further.
    public func advanced(byBytes bytes: Int) -> DevicePointer { DevicePointer(address: address &+ UInt64(bytes)) }
}

/// One allocation.
public struct DeviceBuffer: Hashable, Sendable {
    public let pointer: DevicePointer
    public let bytes: Int
    public init(pointer: DevicePointer, bytes: Int) { self.pointer = pointer; self.bytes = bytes }
}

/// One kernel argument, passed by value as the kernel's C signature declares it: a pointer,
/// an `int`, a `long long`, a `float` or a `double`.
public enum KernelArgument: Sendable {
    case pointer(DevicePointer)
    case int32(Int32)
    case int64(Int64)
    case float(Float)
    case double(Double)

    /// An `int` argument (sizes, indices); traps beyond Int32's range.
    public static func int(_ value: Int) -> KernelArgument { .int32(Int32(value)) }

    /// A `DNC_REAL` argument of the kernel's precision.
    public static func real<T: BinaryFloatingPoint>(_ value: T) -> KernelArgument {
        T.self == Double.self ? .double(Double(value)) : .float(Float(value))
    }

    /// Writes the value into 8 bytes at `storage` (cuLaunchKernel reads each argument through a pointer).
    func store(into storage: UnsafeMutableRawPointer) {
        switch self {
        case .pointer(let pointer): storage.storeBytes(of: pointer.address, as: UInt64.self)
        case .int32(let value): storage.storeBytes(of: value, as: Int32.self)
        case .int64(let value): storage.storeBytes(of: value, as: Int64.self)
        case .float(let value): storage.storeBytes(of: value, as: Float.self)
        case .double(let value): storage.storeBytes(of: value, as: Double.self)
        }
    }

    /// Calls `body` with cuLaunchKernel's argument array for `arguments`.
    static func withParameterArray<R>(_ arguments: [KernelArgument],
                                      _ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) throws(GPUUnavailable) -> R) throws(GPUUnavailable) -> R {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(1, arguments.count) * 8, alignment: 8)
        defer { storage.deallocate() }
        let parameters = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, arguments.count))
        defer { parameters.deallocate() }
        for (index, argument) in arguments.enumerated() {
            argument.store(into: storage + 8 * index)
            parameters[index] = storage + 8 * index
        }
        return try body(parameters)
    }
}

extension KernelPrecision {
    /// The compiled name of kernel `base` in this precision: "dnc_gemm" → "dnc_gemm_f64".
    public func kernelName(_ base: String) -> String { "\(base)_\(rawValue)" }

    /// The precision of element type `T` (Float or Double).
    public static func of<T: BinaryFloatingPoint>(_: T.Type) -> KernelPrecision { T.self == Double.self ? .float64 : .float32 }
}

/// A typed device array: `count` elements of `T` from `pointer`. Does not own its memory.
public struct DeviceArray<T>: Sendable {
    public let pointer: DevicePointer
    public let count: Int
    public init(pointer: DevicePointer, count: Int) { self.pointer = pointer; self.count = count }
    /// The kernel argument pointing at element `index` (default: the first).
    public func argument(at index: Int = 0) -> KernelArgument { .pointer(element(index)) }
    /// The address of element `index`.
    public func element(_ index: Int) -> DevicePointer { pointer.advanced(byBytes: index * MemoryLayout<T>.stride) }
    /// Elements `start ..< start + count`.
    public func slice(_ start: Int, count: Int) -> DeviceArray<T> {
        precondition(start >= 0 && count >= 0 && start + count <= self.count, "slice \(start)..<\(start + count) of \(self.count)")
        return DeviceArray(pointer: element(start), count: count)
    }
}

extension KernelDevice {
    /// A new array of `count` elements of `T`, zeroed.
    public func zeros<T>(_: T.Type, count: Int) throws(GPUUnavailable) -> DeviceArray<T> {
        let buffer = try allocate(bytes: max(1, count * MemoryLayout<T>.stride))
        try zero(buffer.pointer, bytes: buffer.bytes)
        return DeviceArray(pointer: buffer.pointer, count: count)
    }

    /// A new array holding `values`.
    public func array<T>(_ values: [T]) throws(GPUUnavailable) -> DeviceArray<T> {
        let buffer = try allocate(bytes: max(1, values.count * MemoryLayout<T>.stride))
        let array = DeviceArray<T>(pointer: buffer.pointer, count: values.count)
        try upload(values, to: array)
        return array
    }

    /// Frees an array made by `zeros` or `array`.
    public func free<T>(_ array: DeviceArray<T>) {
        free(DeviceBuffer(pointer: array.pointer, bytes: max(1, array.count * MemoryLayout<T>.stride)))
    }

    /// Host values into the start of `array`.
    public func upload<T>(_ values: [T], to array: DeviceArray<T>) throws(GPUUnavailable) {
        precondition(values.count <= array.count, "upload of \(values.count) values into \(array.count)")
        guard !values.isEmpty else { return }
        let bytes = values.count * MemoryLayout<T>.stride
        let storage = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        defer { storage.deallocate() }
        values.withUnsafeBytes { storage.copyMemory(from: $0.baseAddress!, byteCount: bytes) }
        try copy(from: UnsafeRawPointer(storage), to: array.pointer, bytes: bytes)
    }

    /// The first `count` (default: all) elements of `array`.
    public func download<T>(_ array: DeviceArray<T>, count: Int? = nil) throws(GPUUnavailable) -> [T] {
        let n = count ?? array.count
        precondition(n <= array.count, "download of \(n) values from \(array.count)")
        guard n > 0 else { return [] }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: n * MemoryLayout<T>.stride, alignment: 16)
        defer { storage.deallocate() }
        try copy(from: array.pointer, to: storage, bytes: n * MemoryLayout<T>.stride)
        return Array(UnsafeBufferPointer(start: storage.assumingMemoryBound(to: T.self), count: n))
    }

    /// Zeroes `array`.
    public func zero<T>(_ array: DeviceArray<T>) throws(GPUUnavailable) {
        guard array.count > 0 else { return }
        try zero(array.pointer, bytes: array.count * MemoryLayout<T>.stride)
    }

    /// Copies `source` into `destination` (same count) in launch order.
    public func copy<T>(_ source: DeviceArray<T>, to destination: DeviceArray<T>) throws(GPUUnavailable) {
        precondition(source.count == destination.count, "copy of \(source.count) elements into \(destination.count)")
        guard source.count > 0 else { return }
        try copy(from: source.pointer, to: destination.pointer, bytes: source.count * MemoryLayout<T>.stride)
    }
}
