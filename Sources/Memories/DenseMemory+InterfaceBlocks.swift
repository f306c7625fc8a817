import DNCLayers

extension DenseMemory {
    /// The interface projection's linear layers and the column of the raw interface vector ẑ
    /// (B×S) where each one's output starts: one layer at column 0, or one per field with
    /// independent linears. For a back end that applies the projection itself (the GPU model).
    public var interfaceBlocks: [(linear: Linear<T>, column: Int)] {
        zip(interface.linears, interface.blockOffsets).map { (linear: $0, column: $1) }
    }
}
