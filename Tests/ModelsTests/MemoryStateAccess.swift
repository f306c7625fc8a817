import DNCNumerics
import DNCMemories
import DNCModels

/// Typed views of a model's memory states for the tests, which know which memory they built.
extension DNCState {
    /// The dense memory states (or their gradients); a test bug if the memory is another kind.
    var dense: [DenseMemoryState<T>] {
        get { memories(as: DenseMemoryState<T>.self)! }
        set { memories = newValue }
    }
    /// The sparse memory states (SAM, SDNC).
    var sparse: [SparseMemoryState<T>] { memories(as: SparseMemoryState<T>.self)! }
    /// The sparse memory state gradients (in a gradient).
    var sparseGradients: [SparseMemoryStateGradient<T>] { memories(as: SparseMemoryStateGradient<T>.self)! }
}
