import DNCNumerics

/// The recurrent state of a controller stack: `hidden` is (L, B, H) and, for LSTMs, `cell` is
/// (L, B, H) too (PyTorch's `(h_n, c_n)` layout). Also used for the gradient with respect to it.
public struct RecurrentState<T: Real>: Equatable, Sendable {
    public var hidden: Tensor<T>
    public var cell: Tensor<T>?

    public init(hidden: Tensor<T>, cell: Tensor<T>?) {
        self.hidden = hidden
        self.cell = cell
    }

    public static func zeros(kind: RecurrentCellKind, layers: Int, batch: Int, hiddenSize: Int) -> RecurrentState {
        RecurrentState(hidden: Tensor(shape: [layers, batch, hiddenSize]),
                       cell: kind.hasCellState ? Tensor(shape: [layers, batch, hiddenSize]) : nil)
    }

    public var batch: Int { hidden.shape[1] }
}

/// What a stack's forward keeps for its backward: one record per time step, laid out by
/// `RecurrentStack.recordLayout`, in one growing buffer (no allocation per step once warm).
public final class RecurrentTape<T: Real>: @unchecked Sendable {
    public private(set) var steps = 0
    private(set) var batch = 0
    private(set) var recordSize = 0
    private var capacity = 0
    private var buffer: UnsafeMutablePointer<T>

    public init() { buffer = .allocate(capacity: 1) }
    deinit { buffer.deallocate() }

    /// Forgets every record (their memory is reused).
    public func reset() { steps = 0 }

    func appendRecord(batch: Int, recordSize: Int) -> UnsafeMutablePointer<T> {
        if steps == 0 { self.batch = batch; self.recordSize = recordSize }
        precondition(batch == self.batch && recordSize == self.recordSize,
                     "a tape records one batch size per sequence; call reset() between sequences")
        let needed = (steps + 1) * recordSize
        if needed > capacity {
            let newCapacity = Swift.max(needed, capacity * 2)
            let fresh = UnsafeMutablePointer<T>.allocate(capacity: newCapacity)
            fresh.moveInitialize(from: buffer, count: steps * recordSize)
            buffer.deallocate()
            buffer = fresh
            capacity = newCapacity
        }
        steps += 1
        return buffer + (steps - 1) * recordSize
    }

    func record(_ step: Int) -> UnsafeMutablePointer<T> {
        precondition(step >= 0 && step < steps, "step \(step) is not on the tape (\(steps) steps)")
        return buffer + step * recordSize
    }
}
