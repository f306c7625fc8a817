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

/// What a stack's forward keeps for its backward, field by field: each field (a layer's inputs,
/// its previous h, its cell cache, its gate gradients, …) is one growing buffer holding that field
/// for every step in order, so that the weight gradients of many steps are one matrix product over
/// consecutive rows. No allocation per step once warm.
public final class RecurrentTape<T: Real>: @unchecked Sendable {
    public private(set) var steps = 0
    private(set) var batch = 0
    /// Elements per step of each field.
    private var fieldSizes: [Int] = []
    private var buffers: [UnsafeMutablePointer<T>] = []
    private var capacity = 0
    /// Steps whose gate gradients are on the tape but not yet folded into the weight gradients.
    var pendingBackward: ClosedRange<Int>?

    public init() {}
    deinit { for b in buffers { b.deallocate() } }

    /// Forgets every step (the memory is reused).
    public func reset() {
        steps = 0
        pendingBackward = nil
    }

    /// Starts a new step, returning its index. The field layout is fixed by the first step after a reset.
    func appendStep(batch: Int, fieldSizes sizes: [Int]) -> Int {
        if steps == 0 {
            self.batch = batch
            if sizes != fieldSizes {
                for b in buffers { b.deallocate() }
                fieldSizes = sizes
                buffers = sizes.map { _ in .allocate(capacity: 1) }
                capacity = 0
            }
        }
        precondition(batch == self.batch && sizes == fieldSizes,
                     "a tape records one batch size per sequence; call reset() between sequences")
        if steps == capacity {
            let newCapacity = Swift.max(16, capacity * 2)
            for (f, size) in fieldSizes.enumerated() {
                let fresh = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(1, newCapacity * size))
                fresh.moveInitialize(from: buffers[f], count: steps * size)
                buffers[f].deallocate()
                buffers[f] = fresh
            }
            capacity = newCapacity
        }
        steps += 1
        return steps - 1
    }

    /// Field `field` of step `step` (valid until the next `appendStep`).
    func field(_ field: Int, _ step: Int) -> UnsafeMutablePointer<T> {
        precondition(step >= 0 && step < steps, "step \(step) is not on the tape (\(steps) steps)")
        return buffers[field] + step * fieldSizes[field]
    }
}
