import CGPUKernels
import Foundation

/// The CPU as a `KernelDevice`: buffers are host memory and every launch runs the kernel's CUDA C
/// source compiled as C through the launch emulation (Sources/CGPUKernels/emulation.h), in
/// order, at once. The GPU back end runs unchanged on it, which is how its arithmetic is
/// compared with the CPU back end without a GPU (docs/gpu-kernels.md).
public final class EmulatedKernelDevice: KernelDevice, @unchecked Sendable {
    /// Launches run so far (tests check that work is fused into few launches).
    public private(set) var launches = 0
    /// Bytes allocated and not yet freed.
    public private(set) var allocatedBytes = 0

    public init() {}

    public var summary: String { "the CPU, emulating the kernels' launches" }

    public func allocate(bytes: Int) throws(GPUUnavailable) -> DeviceBuffer {
        let size = max(1, bytes)
        guard let memory = malloc(size) else { throw GPUUnavailable("emulated allocation of \(size) bytes failed") }
        // NaN-like garbage, as fresh device memory is not zero either: a kernel that reads before
        // writing shows up in the comparisons.
        memset(memory, 0xFF, size)
        allocatedBytes += size
        return DeviceBuffer(pointer: DevicePointer(address: UInt64(UInt(bitPattern: memory))), bytes: size)
    }

    public func free(_ buffer: DeviceBuffer) {
        allocatedBytes -= buffer.bytes
        Foundation.free(UnsafeMutableRawPointer(bitPattern: UInt(buffer.pointer.address)))
    }

    private func host(_ pointer: DevicePointer) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: UInt(pointer.address))!
    }

    public func copy(from source: UnsafeRawPointer, to destination: DevicePointer, bytes: Int) throws(GPUUnavailable) {
        host(destination).copyMemory(from: source, byteCount: bytes)
    }

    public func copy(from source: DevicePointer, to destination: UnsafeMutableRawPointer, bytes: Int) throws(GPUUnavailable) {
        destination.copyMemory(from: host(source), byteCount: bytes)
    }

    public func copy(from source: DevicePointer, to destination: DevicePointer, bytes: Int) throws(GPUUnavailable) {
        memmove(host(destination), host(source), bytes)
    }

    public func zero(_ destination: DevicePointer, bytes: Int) throws(GPUUnavailable) {
        memset(host(destination), 0, bytes)
    }

    public func launch(_ name: String, grid: (x: Int, y: Int), threads: Int, sharedBytes: Int,
                       _ arguments: [KernelArgument]) throws(GPUUnavailable) {
        launches += 1
        let status = try KernelArgument.withParameterArray(arguments) { parameters throws(GPUUnavailable) in
            dnc_emulated_launch(name, UInt32(grid.x), UInt32(grid.y), UInt32(threads), sharedBytes, parameters)
        }
        switch status {
        case 0: return
        case -2: throw GPUUnavailable("the emulation has no kernel \(name)")
        default: throw GPUUnavailable("the emulation refused the launch of \(name) (grid \(grid.x)×\(grid.y), \(threads) threads, \(sharedBytes) shared bytes)")
        }
    }

    public func synchronize() throws(GPUUnavailable) {}
}
