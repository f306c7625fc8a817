import DNCGPU
import DNCMemories
import DNCNumerics

/// A dense memory's state (`DenseMemoryState`) on a `KernelDevice`, batch first, in the CPU's
/// layouts: memory M (B×N×W), link L (B×N×N), precedence p (B×N), read weights w^r (B×R×N,
/// head-major), write weights w^w (B×N), usage u (B×N). The same type carries the gradient with
/// respect to a state (`GPUDenseMemory.backwardStep`). Owns its device arrays.
public final class GPUDenseMemoryState<T: Real>: @unchecked Sendable {
    public let device: any KernelDevice
    public let batch: Int, cells: Int, width: Int, readHeads: Int
    public let memory: DeviceArray<T>
    public let link: DeviceArray<T>
    public let precedence: DeviceArray<T>
    public let readWeights: DeviceArray<T>
    public let writeWeights: DeviceArray<T>
    public let usage: DeviceArray<T>

    /// The all-zero state (as `DenseMemoryState.zeros`).
    public init(device: any KernelDevice, batch: Int, cells: Int, width: Int, readHeads: Int) throws(GPUUnavailable) {
        self.device = device
        self.batch = batch
        self.cells = cells
        self.width = width
        self.readHeads = readHeads
        memory = try device.zeros(T.self, count: batch * cells * width)
        link = try device.zeros(T.self, count: batch * cells * cells)
        precedence = try device.zeros(T.self, count: batch * cells)
        readWeights = try device.zeros(T.self, count: batch * readHeads * cells)
        writeWeights = try device.zeros(T.self, count: batch * cells)
        usage = try device.zeros(T.self, count: batch * cells)
    }

    deinit {
        for array in [memory, link, precedence, readWeights, writeWeights, usage] { device.free(array) }
    }

    /// The six arrays in `DenseMemoryState`'s field order.
    var fields: [DeviceArray<T>] { [memory, link, precedence, readWeights, writeWeights, usage] }

    /// Zeroes every field (a fresh state, or a zero gradient).
    public func zero() throws(GPUUnavailable) {
        for array in fields { try device.zero(array) }
    }

    /// Copies `other` (same shape) into this state, in launch order.
    public func copy(from other: GPUDenseMemoryState<T>) throws(GPUUnavailable) {
        precondition(other.batch == batch && other.cells == cells && other.width == width && other.readHeads == readHeads,
                     "state shapes differ")
        for (source, destination) in zip(other.fields, fields) { try device.copy(source, to: destination) }
    }

    /// `state`'s tensors → the device (same shape).
    public func upload(_ state: DenseMemoryState<T>) throws(GPUUnavailable) {
        precondition(state.hasShape(batch: batch, cells: cells, width: width, readHeads: readHeads),
                     "state has shape \(state.memory.shape), expected batch \(batch), N \(cells), W \(width), R \(readHeads)")
        let tensors = [state.memory, state.linkMatrix, state.precedence, state.readWeights, state.writeWeights, state.usage]
        for (tensor, array) in zip(tensors, fields) { try device.upload(tensor.storage, to: array) }
    }

    /// The device's state as a `DenseMemoryState`.
    public func download() throws(GPUUnavailable) -> DenseMemoryState<T> {
        let b = batch, n = cells, w = width, r = readHeads
        return DenseMemoryState(memory: Tensor(shape: [b, n, w], storage: try device.download(memory)),
                                linkMatrix: Tensor(shape: [b, n, n], storage: try device.download(link)),
                                precedence: Tensor(shape: [b, n], storage: try device.download(precedence)),
                                readWeights: Tensor(shape: [b, r, n], storage: try device.download(readWeights)),
                                writeWeights: Tensor(shape: [b, n], storage: try device.download(writeWeights)),
                                usage: Tensor(shape: [b, n], storage: try device.download(usage)))
    }
}
