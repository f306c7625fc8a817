import DNCNumerics

/// Which nearest-neighbour index each sample's sparse memory uses (docs/sparse-memory.md).
public enum SparseIndexKind: Hashable, Sendable {
    /// Exact cosine top-K by a BLAS scan over the stored rows: O(N·W) per query. The reference,
    /// and the right choice for small N.
    case exact
    /// Approximate cosine top-K (`ApproximateNeighbourIndex`): sublinear query cost, incremental
    /// updates of the rows each step changes, periodic rebuilds.
    case approximate(ApproximateIndexOptions)

    /// The approximate index with its default settings.
    public static var approximate: SparseIndexKind { .approximate(ApproximateIndexOptions()) }

    /// A new, empty index of this kind for one sample's memory of `capacity` rows of `width`.
    public func makeIndex<T: Real>(capacity: Int, width: Int) -> any NearestNeighbourIndex<T> {
        switch self {
        case .exact: return ExactNeighbourIndex<T>(capacity: capacity, width: width)
        case .approximate(let o): return ApproximateNeighbourIndex<T>(capacity: capacity, width: width, options: o)
        }
    }
}

/// Settings of the sparse memory beyond its sizes (paper mode, docs/sparse-memory.md).
public struct SparseMemoryOptions: Hashable, Sendable {
    /// δ: a cell counts as accessed at a step when its write weight plus its (head-summed) read
    /// weight exceeds δ (paper U^(2), "typically 0.005").
    public var accessThreshold: Double
    public init(accessThreshold: Double = 0.005) {
        self.accessThreshold = accessThreshold
    }
    public static let paper = SparseMemoryOptions()
}

/// Layout of the SAM interface vector ξ (paper mode): `S = R·W + W + 2`.
///
/// | field | offsets | activation |
/// |---|---|---|
/// | read queries q_i | [0, RW), head i = [iW, (i+1)W) | none |
/// | write word a | [RW, RW+W) | none |
/// | interpolation gate γ | RW+W | σ |
/// | write gate α | RW+W+1 | σ |
///
/// pytorch-dnc's layout differs only in the interpolation gates: it has c = R·K+1 of them (one
/// per visible slot); paper mode has the paper's single scalar γ. The parameter names
/// are pytorch-dnc's (`interface_weights`, or the four independent transforms), so a pytorch-dnc checkpoint maps
/// onto this layout except for the γ block.
struct SparseInterfaceLayout: Sendable {
    let cellWidth: Int, readHeads: Int
    var readQueries: Int { 0 }
    var writeVector: Int { readHeads * cellWidth }
    var interpolationGate: Int { writeVector + cellWidth }
    var writeGate: Int { interpolationGate + 1 }
    var size: Int { writeGate + 1 }

    /// (offset, length) of the four fields, also the column blocks of the independent linears.
    var fieldBlocks: [(offset: Int, length: Int)] {
        [(readQueries, readHeads * cellWidth), (writeVector, cellWidth), (interpolationGate, 1), (writeGate, 1)]
    }

    func activate<T: Real>(raw z: UnsafePointer<T>, out xi: UnsafeMutablePointer<T>) {
        xi.update(from: z, count: interpolationGate)
        Kernels.sigmoid(z + interpolationGate, xi + interpolationGate, count: 2)
    }

    /// In place: dℓ/dξ → dℓ/dẑ.
    func activationBackward<T: Real>(activated xi: UnsafePointer<T>, gradient g: UnsafeMutablePointer<T>) {
        for i in interpolationGate..<size { g[i] *= xi[i] * (1 - xi[i]) }
    }
}
