/// A rows×columns matrix kept as column panels: the columns in groups of `width`, each group a
/// rows×width row-major block of its own, the blocks one after another (`panelStride` reals
/// apart; the last block padded to the full width). Element (r, c) lives at
/// `(c / width)·panelStride + r·width + c % width`.
///
/// Why: a product of a few rows (a batch) by a weight matrix that is row-major reads, for every
/// group of output columns the kernel holds in registers, one short piece of each of the matrix's
/// rows, all a row's length apart. When the weights have left the caches (the memory step between
/// two controller steps evicts them), each piece is a fresh miss that the hardware prefetcher,
/// which follows only a few such streams, does not fetch ahead. Kept as panels, the same product
/// reads each panel front to back, one sequential stream. C loop, libxsmm, dnc-paper's gate
/// products, weights evicted by a 4 MiB sweep before each call, medians of 300 (µs, row-major →
/// panels of 32 columns): forward 16×1024×(134 + 256) 293 → 193, backward 16×134×1024 85 → 65
/// and 16×256×1024 157 → 118; with the weights in cache 216 → 169, 60 → 54 and 105 → 94.
@frozen
public struct PanelMatrix<T: Real> {
    /// Columns per panel: 32 ran fastest in the measurements above (16, 64, 128 and 256 were
    /// tried: up to 64 the same in cache, slower cold; above, slower both ways).
    @inlinable
    public static var defaultWidth: Int { 32 }

    public let base: UnsafePointer<T>
    public let rows: Int, columns: Int
    public let width: Int
    /// Reals from one panel's start to the next.
    public let panelStride: Int

    public init(base: UnsafePointer<T>, rows: Int, columns: Int, width: Int, panelStride: Int) {
        precondition(width > 0 && panelStride >= rows * width, "panels of \(width) columns cannot hold \(rows) rows in \(panelStride) reals")
        self.base = base
        self.rows = rows
        self.columns = columns
        self.width = width
        self.panelStride = panelStride
    }

    @inlinable
    public var panelCount: Int { (columns + width - 1) / width }

    /// The fewest rows (batch) for which products by panels pay: SAM's single-sample step
    /// (`dnc-bench --only sam-1000000-approximate-b1`, hidden size 100, five alternating processes)
    /// took 0.91–0.99 ms with the row-major copies and 0.93–1.19 ms from panels, its products of
    /// one row by 32 columns being too short for the kernel; batches of 8 and 16 gain.
    @inlinable
    public static var minimumRows: Int { 8 }

    /// Whether products of `rows` rows by panels of `inner` rows pay: at least `minimumRows`
    /// rows, and all in libxsmm (the rule of `ProductPath.choose`; OpenBLAS packs its operands
    /// itself).
    @inlinable
    public static func pay(rows: Int, inner: Int, path: ProductPath = .configured) -> Bool {
        rows >= minimumRows
            && ProductPath.choose(transA: false, transB: false, m: rows, n: defaultWidth, k: inner,
                                  alphaIsOne: true, betaIsZeroOrOne: true, requested: path) == .libxsmm
    }

    /// Reals a rows×columns matrix takes as panels of `width` columns.
    public static func size(rows: Int, columns: Int, width: Int) -> Int {
        (columns + width - 1) / width * rows * width
    }

    /// The offset of element (row, column) from `base`.
    public static func offset(row: Int, column: Int, width: Int, panelStride: Int) -> Int {
        column / width * panelStride + row * width + column % width
    }

    /// Rows `range` of this matrix (every panel's rows in that range), same panels.
    public func rows(_ range: Range<Int>) -> PanelMatrix {
        precondition(range.lowerBound >= 0 && range.upperBound <= rows, "rows \(range) outside 0..<\(rows)")
        return PanelMatrix(base: base + range.lowerBound * width, rows: range.count, columns: columns, width: width,
                           panelStride: panelStride)
    }

    /// Columns `range`, which must start on a panel's first column.
    public func columns(_ range: Range<Int>) -> PanelMatrix {
        precondition(range.lowerBound % width == 0 && range.upperBound <= columns,
                     "columns \(range) do not start a panel of \(width) or exceed \(columns)")
        return PanelMatrix(base: base + range.lowerBound / width * panelStride, rows: rows, columns: range.count,
                           width: width, panelStride: panelStride)
    }
}

extension Kernels {
    /// `C = A·B + beta·C` with B kept as panels (see `PanelMatrix`): A is m×k (row stride `lda`),
    /// B is k×n (`b.rows` = k), C is m×n (row stride `ldc`); beta 0 or 1. One product per panel,
    /// each with the panel's width as B's row stride; `path` as in `gemm`. Accounted as one product.
    /// In libxsmm the kernels (one for the whole panels, one for a narrower last one) are looked
    /// up once per call, not once per panel: with a batch of one row a panel's product takes a
    /// few hundred nanoseconds, and the per-product path choice and lookup doubled it.
    @inlinable
    public static func gemm<T: Real>(m: Int, a: UnsafePointer<T>, lda: Int, panels b: PanelMatrix<T>, beta: T,
                                     c: UnsafeMutablePointer<T>, ldc: Int, path: ProductPath = .configured) {
        guard m > 0, b.columns > 0 else { return }
        let start = ProductAccounting.enabled ? ProductAccounting.now() : 0
        defer { if ProductAccounting.enabled { ProductAccounting.record(m: m, n: b.columns, k: b.rows, since: start) } }
        let width = b.width, last = b.columns - (b.panelCount - 1) * width
        if b.rows > 0, PanelMatrix<T>.pay(rows: m, inner: b.rows, path: path) {
            // Column-major, operands swapped (as in `gemmUnaccounted`): libxsmm's A is the panel.
            func kernel(_ columns: Int) -> UnsafeRawPointer? {
                T.xsmmKernel(m: Int32(columns), n: Int32(m), k: Int32(b.rows), lda: Int32(width), ldb: Int32(lda),
                             ldc: Int32(ldc), beta: beta, flags: 0)
            }
            if let whole = kernel(width), let narrow = last == width ? whole : kernel(last) {
                for panel in 0..<b.panelCount {
                    T.xsmmCall(panel == b.panelCount - 1 ? narrow : whole, a: b.base + panel * b.panelStride, b: a,
                               c: c + panel * width)
                }
                return
            }
        }
        for panel in 0..<b.panelCount {
            let column = panel * width
            gemmUnaccounted(transA: false, transB: false, m: m, n: Swift.min(width, b.columns - column), k: b.rows,
                            alpha: 1, a: a, lda: lda, b: b.base + panel * b.panelStride, ldb: width,
                            beta: beta, c: c + column, ldc: ldc, path: path)
        }
    }
}
