import DNCNumerics

/// Copies of weight matrices laid out for the per-step products of a few rows (a batch) by a
/// whole weight matrix: transposed for the forward's `x·Wᵀ`, or as they are for the backward's
/// `dZ·W`, and kept row-major or as column panels (`PanelMatrix`), whichever the product runs
/// faster from.
///
/// - Transposed: OpenBLAS's small-matrix kernels run `x·(Wᵀ)` with the transpose stored up to
///   1.5× faster than with `W` transposed on the fly (32×256×64: 13.5 → 9.2 µs; 16×1024×390:
///   131 → 115 µs), and libxsmm (1.17) has no transposed operand for it at all.
/// - Panels: libxsmm's kernels read a row-major weight matrix a row's length apart, which the
///   hardware prefetcher does not follow once the weights have left the caches; from panels they
///   read one sequential stream (measurements in `PanelMatrix`).
///
/// Several weights (each `(out, in)` as PyTorch stores it) go into one `rows × columns` matrix:
/// a block (transposed `(in, out)`, or not `(out, in)`) lands at its (row, column) offset, so
/// stacked recurrent weights `[W_ihᵀ; W_hhᵀ]` or the ten independent interface layers side by
/// side `[W₁ᵀ … W₁₀ᵀ]` are one buffer. The copies are valid only between `activate` and
/// `deactivate` (the model refreshes them at the start of a forward pass); outside, `pointer` and
/// `panels` are nil and users multiply by `W` itself, so weights changed between passes are never
/// read stale. Each layout is built on its first use after a refresh, so a layout no product asks
/// for costs nothing.
public final class WeightCopies<T: Real>: @unchecked Sendable {
    public struct Block: Sendable {
        public let slot: ParameterSlot
        public let row: Int, column: Int
        /// Whether the block is the weight's transpose (the default) or the weight as it is.
        public let transposed: Bool
        public init(_ slot: ParameterSlot, row: Int = 0, column: Int = 0, transposed: Bool = true) {
            self.slot = slot
            self.row = row
            self.column = column
            self.transposed = transposed
        }

        /// (rows, columns) the block takes in the copy.
        var extent: (rows: Int, columns: Int) {
            transposed ? (slot.shape[1], slot.shape[0]) : (slot.shape[0], slot.shape[1])
        }
    }

    public let rows: Int, columns: Int
    public let blocks: [Block]
    private var activations = 0
    /// Counts the refreshes: a backward pass can ask for the copy its forward used.
    public private(set) var generation = 0
    private var rowMajor: Layout, panelled: Layout

    /// One layout's buffer (allocated on first use) and the generation it holds.
    private struct Layout {
        var buffer: UnsafeMutablePointer<T>?
        var generation = -1
    }

    public init(rows: Int, columns: Int, blocks: [Block]) {
        for block in blocks {
            precondition(block.slot.shape.count == 2, "\(block.slot) is not a matrix")
            let extent = block.extent
            precondition(block.row + extent.rows <= rows && block.column + extent.columns <= columns,
                         "\(block.slot) at (\(block.row), \(block.column)) overflows \(rows)×\(columns)")
        }
        self.rows = rows
        self.columns = columns
        self.blocks = blocks
        rowMajor = Layout()
        panelled = Layout()
    }

    deinit {
        rowMajor.buffer?.deallocate()
        panelled.buffer?.deallocate()
    }

    /// The `rows × columns` row-major copy while active, else nil.
    public var pointer: UnsafePointer<T>? {
        guard activations > 0 else { return nil }
        if rowMajor.generation != generation, let store {
            let buffer = Self.buffer(&rowMajor, count: rows * columns)
            for block in blocks {
                let (r, c) = (block.slot.shape[0], block.slot.shape[1])
                let target = buffer + block.row * columns + block.column
                if block.transposed {
                    Kernels.transpose(rows: r, columns: c, store.values(block.slot), into: target, destinationStride: columns)
                } else {
                    Kernels.copy(rows: r, columns: c, store.values(block.slot), sourceStride: c, into: target,
                                 destinationStride: columns)
                }
            }
            rowMajor.generation = generation
        }
        return UnsafePointer(rowMajor.buffer!)
    }

    /// The copy as panels of `PanelMatrix.defaultWidth` columns while active, else nil.
    public var panels: PanelMatrix<T>? {
        guard activations > 0 else { return nil }
        let width = PanelMatrix<T>.defaultWidth, panelStride = rows * width
        if panelled.generation != generation, let store {
            let buffer = Self.buffer(&panelled, count: PanelMatrix<T>.size(rows: rows, columns: columns, width: width))
            for block in blocks {
                let (r, c) = (block.slot.shape[0], block.slot.shape[1]), values = store.values(block.slot)
                let extent = block.extent
                // Column by column of the copy, within each panel: a block column is a weight row
                // (transposed) or a weight column (as it is).
                var column = 0
                while column < extent.columns {
                    let absolute = block.column + column
                    let count = Swift.min(width - absolute % width, extent.columns - column)
                    let target = buffer + PanelMatrix<T>.offset(row: block.row, column: absolute, width: width,
                                                                panelStride: panelStride)
                    if block.transposed {
                        Kernels.transpose(rows: count, columns: c, values + column * c, into: target, destinationStride: width)
                    } else {
                        Kernels.copy(rows: r, columns: count, values + column, sourceStride: c, into: target,
                                     destinationStride: width)
                    }
                    column += count
                }
            }
            panelled.generation = generation
        }
        return PanelMatrix(base: panelled.buffer!, rows: rows, columns: columns, width: width, panelStride: panelStride)
    }

    /// The layout's buffer, allocated and zeroed on first use (gaps between blocks and a last
    /// panel's padding stay zero).
    private static func buffer(_ layout: inout Layout, count: Int) -> UnsafeMutablePointer<T> {
        if let buffer = layout.buffer { return buffer }
        let buffer = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(count, 1))
        buffer.initialize(repeating: 0, count: Swift.max(count, 1))
        layout.buffer = buffer
        return buffer
    }

    /// Where the copies come from (the store holds nothing of this object: no cycle).
    private var store: ParameterStore<T>?

    /// Makes `pointer` and `panels` valid, refreshed from `store` on the outermost activation
    /// (each built when first asked for). With `keeping`, a copy of that generation is kept as it
    /// is: a backward pass uses the weights its forward used without copying them again.
    /// Activations nest; each needs its `deactivate`.
    public func activate(store: ParameterStore<T>, keeping kept: Int? = nil) {
        if activations == 0 {
            if kept != generation || self.store !== store { generation += 1 }
            self.store = store
        }
        activations += 1
    }

    public func deactivate() {
        precondition(activations > 0, "deactivate without activate")
        activations -= 1
    }
}
