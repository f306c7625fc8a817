import DNCNumerics

/// Transposed copies of weight matrices for the forward products `x·Wᵀ` of a few rows (a
/// batch) by a whole weight matrix. OpenBLAS's small-matrix kernels run `x·(Wᵀ)` with the
/// transpose stored up to 1.5× faster than with `W` transposed on the fly (32×256×64: 13.5 →
/// 9.2 µs; 16×1024×390: 131 → 115 µs), and refreshing the copies costs one pass over the
/// weights per sequence.
///
/// Several weights (each `(out, in)` as PyTorch stores it) go into one `rows × columns` matrix:
/// a block's transpose `(in, out)` lands at its (row, column) offset, so stacked recurrent
/// weights `[W_ihᵀ; W_hhᵀ]` or the ten independent interface layers side by side `[W₁ᵀ … W₁₀ᵀ]`
/// are one buffer. The copies are valid only between `activate` and `deactivate` (the model
/// refreshes them at the start of a forward pass); outside, `pointer` is nil and users multiply
/// by `W` itself, so weights changed between passes are never read stale.
public final class TransposedWeights<T: Real>: @unchecked Sendable {
    public struct Block: Sendable {
        public let slot: ParameterSlot
        public let row: Int, column: Int
        public init(_ slot: ParameterSlot, row: Int = 0, column: Int = 0) {
            self.slot = slot
            self.row = row
            self.column = column
        }
    }

    public let rows: Int, columns: Int
    public let blocks: [Block]
    private let buffer: UnsafeMutablePointer<T>
    private var activations = 0
    /// Counts the refreshes: a backward pass can ask for the copy its forward used.
    public private(set) var generation = 0

    public init(rows: Int, columns: Int, blocks: [Block]) {
        for block in blocks {
            precondition(block.slot.shape.count == 2, "\(block.slot) is not a matrix")
            precondition(block.row + block.slot.shape[1] <= rows && block.column + block.slot.shape[0] <= columns,
                         "\(block.slot) transposed at (\(block.row), \(block.column)) overflows \(rows)×\(columns)")
        }
        self.rows = rows
        self.columns = columns
        self.blocks = blocks
        buffer = .allocate(capacity: Swift.max(rows * columns, 1))
        buffer.initialize(repeating: 0, count: Swift.max(rows * columns, 1))
    }

    deinit { buffer.deallocate() }

    /// The `rows × columns` transposed copy while active, else nil.
    public var pointer: UnsafePointer<T>? { activations > 0 ? UnsafePointer(buffer) : nil }

    /// Refreshes the copy from `store` (on the outermost activation) and makes `pointer` valid.
    /// With `keeping`, a copy of that generation is kept as it is: a backward pass uses the
    /// weights its forward used without copying them again. Activations nest; each needs its
    /// `deactivate`.
    public func activate(store: ParameterStore<T>, keeping kept: Int? = nil) {
        if activations == 0 && kept != generation {
            generation += 1
            for block in blocks {
                Kernels.transpose(rows: block.slot.shape[0], columns: block.slot.shape[1], store.values(block.slot),
                                  into: buffer + block.row * columns + block.column, destinationStride: columns)
            }
        }
        activations += 1
    }

    public func deactivate() {
        precondition(activations > 0, "deactivate without activate")
        activations -= 1
    }
}
