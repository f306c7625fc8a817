import DNCNumerics

/// The gradient of the loss with respect to one sample's sparse memory state, carried sparsely:
/// only rows that received gradient are stored (a row → slot map plus their W values each), and
/// the R·K previous read weights (which the next step's write interpolates with). Rows not
/// present have zero gradient. No positions, times or index entries carry gradient.
public struct SparseSampleGradient<T: Real>: Sendable {
    public let width: Int
    public private(set) var slotOfRow: [Int: Int] = [:]
    public private(set) var rowIds: [Int] = []
    var values: [T] = []
    /// dℓ/d (previous read weights), one per read slot, head-major like the positions.
    public var readWeights: [T]
    /// SDNC: dℓ/dL for the links present in the state (absent links have none).
    public internal(set) var links: [LinkKey: T] = [:]
    /// SDNC: dℓ/dp by precedence cell.
    public internal(set) var precedence: [Int: T] = [:]

    public init(width: Int, readSlots: Int) {
        self.width = width
        readWeights = Array(repeating: 0, count: readSlots)
    }

    /// dℓ/dM(row), or nil when it is zero.
    public func row(_ cell: Int) -> [T]? {
        guard let s = slotOfRow[cell] else { return nil }
        return Array(values[(s * width)..<((s + 1) * width)])
    }

    /// Adds `gradient` (W values) to dℓ/dM(row).
    public mutating func accumulate(row cell: Int, _ gradient: [T]) {
        let s = slot(cell)
        for j in 0..<width { values[s * width + j] += gradient[j] }
    }

    /// The slot of `cell`, created (zero) if absent.
    mutating func slot(_ cell: Int) -> Int {
        if let s = slotOfRow[cell] { return s }
        let s = rowIds.count
        slotOfRow[cell] = s
        rowIds.append(cell)
        values.append(contentsOf: repeatElement(0, count: width))
        return s
    }
}

/// A link L(row, target) of the SDNC's link matrix.
public struct LinkKey: Hashable, Sendable {
    public let row: Int, target: Int
    public init(row: Int, target: Int) { self.row = row; self.target = target }
}

/// dℓ/d(state) for a batch, one `SparseSampleGradient` per sample.
public struct SparseMemoryStateGradient<T: Real>: Sendable {
    public var samples: [SparseSampleGradient<T>]
    public init(batch: Int, width: Int, readSlots: Int) {
        samples = Array(repeating: SparseSampleGradient(width: width, readSlots: readSlots), count: batch)
    }
}
