import DNCNumerics
import DNCLayers
import DNCMemories

/// The hidden state a DNC carries between calls (pytorch-dnc's `(chx, mhx, last_read)`), every
/// tensor per sample along its batch axis. Also the shape of the gradient with respect to it.
///
/// A sparse memory's state is an object that the model changes in place (that is what makes it
/// cheap): a state returned by one call and passed to the next is the same object. `copy()` one
/// to keep it.
public struct DNCState<T: Real>: Equatable, @unchecked Sendable {
    /// One controller state per DNC layer, each (L_h, B, H) (and the LSTM cell state).
    public var controllers: [RecurrentState<T>]
    /// One memory state if the memory is shared between layers, else one per layer, of the
    /// model's memory kind: `DenseMemoryState` for the DNC, `SparseMemoryState` for SAM and the
    /// SDNC. In a gradient, d loss / d that state: `DenseMemoryState` or
    /// `SparseMemoryStateGradient` (carried sparsely: the rows, links and read weights that
    /// received gradient).
    public var memories: [any MemoryStateValue<T>]
    /// The last DNC layer's read vectors at the last step, (B, R·W) head-major.
    public var lastRead: Tensor<T>

    public init(controllers: [RecurrentState<T>], memories: [any MemoryStateValue<T>], lastRead: Tensor<T>) {
        self.controllers = controllers
        self.memories = memories
        self.lastRead = lastRead
    }

    public var batch: Int { lastRead.shape[0] }

    /// The memory states as `type` (for example `DenseMemoryState<Float>.self`); nil when they
    /// are of another kind.
    public func memories<State: MemoryStateValue<T>>(as type: State.Type) -> [State]? {
        let typed = memories.compactMap { $0 as? State }
        return typed.count == memories.count ? typed : nil
    }

    /// Equal values; states changed in place are compared by identity (they are shared
    /// objects), and their gradients not at all.
    public static func == (a: DNCState, b: DNCState) -> Bool {
        a.controllers == b.controllers && a.lastRead == b.lastRead && a.memories.count == b.memories.count
            && zip(a.memories, b.memories).allSatisfy { $0.isSame(as: $1) }
    }
}
