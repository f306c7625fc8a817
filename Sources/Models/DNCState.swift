import DNCNumerics
import DNCLayers
import DNCMemories

/// The hidden state a DNC carries between calls (pytorch-dnc's `(chx, mhx, last_read)`), every
/// tensor per sample along its batch axis. Also the shape of the gradient with respect to it.
///
/// Sparse memory states are objects that the model changes in place (that is what makes them
/// cheap): a state returned by one call and passed to the next is the same object. `copy()` one
/// to keep it.
public struct DNCState<T: Real>: Equatable, @unchecked Sendable {
    /// One controller state per DNC layer, each (L_h, B, H) (and the LSTM cell state).
    public var controllers: [RecurrentState<T>]
    /// Dense memory: one state if memory is shared between layers, else one per layer.
    public var memories: [DenseMemoryState<T>]
    /// Sparse memory (SAM), likewise; empty for the dense DNC.
    public var sparseMemories: [SparseMemoryState<T>] = []
    /// The last DNC layer's read vectors at the last step, (B, R·W) head-major.
    public var lastRead: Tensor<T>
    /// Only when this value is a gradient (`DNC.Gradients.initialState`, or a `finalStateGradient`
    /// passed to `backward`): d loss / d sparse memory state, one per sparse memory, carried
    /// sparsely (the rows, links and read weights that received gradient). Not compared by `==`.
    public var sparseMemoryGradients: [SparseMemoryStateGradient<T>] = []

    public init(controllers: [RecurrentState<T>], memories: [DenseMemoryState<T>], lastRead: Tensor<T>) {
        self.controllers = controllers
        self.memories = memories
        self.lastRead = lastRead
    }

    public var batch: Int { lastRead.shape[0] }

    /// Equal values; sparse memory states are compared by identity (they are shared objects).
    public static func == (a: DNCState, b: DNCState) -> Bool {
        a.controllers == b.controllers && a.memories == b.memories && a.lastRead == b.lastRead
            && a.sparseMemories.count == b.sparseMemories.count && zip(a.sparseMemories, b.sparseMemories).allSatisfy { $0 === $1 }
    }
}
