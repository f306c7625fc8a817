import DNCNumerics

/// The state of one sparse memory for a batch: one `SparseSampleMemory` per sample (nothing is
/// shared between samples). A reference type: `step` modifies it in place and the tape keeps a
/// reference to roll it back (docs/sparse-memory.md, Efficient backward). Use `copy()` for an independent snapshot (O(B·N·W)).
public final class SparseMemoryState<T: Real>: @unchecked Sendable {
    public let samples: [SparseSampleMemory<T>]
    public var batch: Int { samples.count }

    public init(samples: [SparseSampleMemory<T>]) { self.samples = samples }

    /// Lazy reset of every sample (O(B·R·K)).
    public func reset() { for s in samples { s.reset() } }

    public func copy() -> SparseMemoryState<T> { SparseMemoryState(samples: samples.map { $0.copy() }) }

    public func isIdentical(to other: SparseMemoryState<T>) -> Bool {
        batch == other.batch && zip(samples, other.samples).allSatisfy { $0.isIdentical(to: $1) }
    }
}
