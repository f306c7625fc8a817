import DNCNumerics
import DNCLayers
import DNCMemories

/// The hidden state a DNC carries between calls (pytorch-dnc's `(chx, mhx, last_read)`), every
/// tensor per sample along its batch axis. Also the shape of the gradient with respect to it.
public struct DNCState<T: Real>: Equatable, Sendable {
    /// One controller state per DNC layer, each (L_h, B, H) (and the LSTM cell state).
    public var controllers: [RecurrentState<T>]
    /// One memory state if memory is shared between layers, else one per layer.
    public var memories: [DenseMemoryState<T>]
    /// The last DNC layer's read vectors at the last step, (B, R·W) head-major.
    public var lastRead: Tensor<T>

    public init(controllers: [RecurrentState<T>], memories: [DenseMemoryState<T>], lastRead: Tensor<T>) {
        self.controllers = controllers
        self.memories = memories
        self.lastRead = lastRead
    }

    public var batch: Int { lastRead.shape[0] }
}
