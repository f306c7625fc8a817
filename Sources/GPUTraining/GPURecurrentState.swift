import DNCGPU
import DNCLayers
import DNCNumerics

/// A recurrent stack's state on the device, in `RecurrentState`'s layout: `hidden` is
/// (depth, B, H) and, for LSTMs, `cell` is (depth, B, H) too. Also used for the gradient with
/// respect to the state. Owns its device memory.
public final class GPURecurrentState<T: Real> {
    public let device: any KernelDevice
    public let depth: Int
    public let batch: Int
    public let hiddenSize: Int
    /// depth·B·H values.
    public let hidden: DeviceArray<T>
    /// depth·B·H values (LSTM only).
    public let cell: DeviceArray<T>?

    /// A zero state.
    public init(device: any KernelDevice, depth: Int, batch: Int, hiddenSize: Int, hasCell: Bool) throws {
        self.device = device
        self.depth = depth
        self.batch = batch
        self.hiddenSize = hiddenSize
        hidden = try device.zeros(T.self, count: depth * batch * hiddenSize)
        do {
            cell = hasCell ? try device.zeros(T.self, count: depth * batch * hiddenSize) : nil
        } catch {
            device.free(hidden)
            throw error
        }
    }

    deinit {
        device.free(hidden)
        if let cell { device.free(cell) }
    }

    /// Layer `layer`'s h (B×H).
    public func hidden(layer: Int) -> DeviceArray<T> { hidden.slice(layer * batch * hiddenSize, count: batch * hiddenSize) }
    /// Layer `layer`'s c (B×H), LSTM only.
    public func cell(layer: Int) -> DeviceArray<T>? { cell?.slice(layer * batch * hiddenSize, count: batch * hiddenSize) }

    /// Sets every value to zero (in launch order).
    public func zero() throws {
        try device.zero(hidden)
        if let cell { try device.zero(cell) }
    }

    /// Copies `other` (same shape) into this state, in launch order.
    public func copy(from other: GPURecurrentState<T>) throws {
        precondition(other.hidden.count == hidden.count && (other.cell == nil) == (cell == nil),
                     "copy between recurrent states of different shapes")
        try device.copy(other.hidden, to: hidden)
        if let cell, let source = other.cell { try device.copy(source, to: cell) }
    }
}
