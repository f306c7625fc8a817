import DNCGPU
import DNCLayers
import DNCNumerics

/// A model's parameters and their gradients on a `KernelDevice`, in the `ParameterStore`'s flat
/// layout (same slots, same offsets), so that a checkpoint, an allreduce or an optimiser step
/// sees one contiguous buffer on either side, and a slot's device address is its offset.
public final class DeviceParameters<T: Real>: @unchecked Sendable {
    public let device: any KernelDevice
    public let store: ParameterStore<T>
    /// `store.count` values.
    public let values: DeviceArray<T>
    /// `store.count` gradients, same layout.
    public let gradients: DeviceArray<T>

    /// Copies the store's values to the device; gradients start at zero.
    public init(store: ParameterStore<T>, device: any KernelDevice) throws(GPUUnavailable) {
        self.device = device
        self.store = store
        values = try device.zeros(T.self, count: store.count)
        gradients = try device.zeros(T.self, count: store.count)
        try upload()
    }

    deinit {
        device.free(values)
        device.free(gradients)
    }

    /// The device address of `slot`'s values.
    public func values(_ slot: ParameterSlot) -> DeviceArray<T> { values.slice(slot.offset, count: slot.count) }
    /// The device address of `slot`'s gradients.
    public func gradients(_ slot: ParameterSlot) -> DeviceArray<T> { gradients.slice(slot.offset, count: slot.count) }

    /// The store's values → the device.
    public func upload() throws(GPUUnavailable) {
        try device.upload(Array(UnsafeBufferPointer(start: store.values, count: store.count)), to: values)
    }

    /// The device's values → the store (for checkpoints and evaluation on the CPU).
    public func downloadValues() throws(GPUUnavailable) {
        let host = try device.download(values)
        host.withUnsafeBufferPointer { store.values.update(from: $0.baseAddress!, count: store.count) }
    }

    /// The device's gradients → the store's gradient buffer (for the MPI allreduce).
    public func downloadGradients() throws(GPUUnavailable) {
        let host = try device.download(gradients)
        host.withUnsafeBufferPointer { store.gradients.update(from: $0.baseAddress!, count: store.count) }
    }

    /// The store's gradient buffer (after the allreduce) → the device.
    public func uploadGradients() throws(GPUUnavailable) {
        try device.upload(Array(UnsafeBufferPointer(start: store.gradients, count: store.count)), to: gradients)
    }

    public func zeroGradients() throws(GPUUnavailable) { try device.zero(gradients) }
}
