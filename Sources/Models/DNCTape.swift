import DNCNumerics
import DNCLayers
import DNCMemories

/// Everything one `forward` call records for its `backward`: the model's own per-step inputs and
/// the controllers' and memories' tapes.
public final class DNCTape<T: Real>: @unchecked Sendable {
    let model = ModelTape<T>()
    let controllers: [RecurrentTape<T>]
    /// One per memory of the model, of that memory's tape type.
    let memories: [AnyObject]
    /// The generations of the model's weight copies the forward used (its backward
    /// uses the same copies while no other forward has refreshed them).
    var weightCopyGenerations: [Int] = []

    init(controllerCount: Int, memories: [any MemoryModule<T>]) {
        controllers = (0..<controllerCount).map { _ in RecurrentTape<T>() }
        self.memories = memories.map { $0.erasedTape() }
    }

    /// A tape for `model`'s calls.
    public convenience init(for model: DNC<T>) {
        self.init(controllerCount: model.configuration.layerCount, memories: model.memories)
    }
}
