import CLibxsmm

/// The numeric kernels every layer calls: products, element-wise maps, reductions and
/// row-wise softmax, all over raw buffers with explicit sizes.
///
/// This is the seam for a GPU backend: layers never loop over tensors themselves for the
/// heavy work, they call these functions, so a CUDA implementation of this one namespace can
/// stand in for the CPU one.
public enum Kernels {
    // MARK: Products

    /// `C = alpha · op(A) · op(B) + beta · C`, row-major; `op(A)` is m×k, `op(B)` is k×n.
    /// Use `beta: 1` to accumulate (gradients), `beta: 0` to overwrite. `path` picks the library
    /// (`ProductPath`; the default follows `DNC_SMALL_GEMM`), tests pass it to compare them.
    @inlinable
    public static func gemm<T: Real>(transA: Bool = false, transB: Bool = false,
                                     m: Int, n: Int, k: Int, alpha: T = 1,
                                     a: UnsafePointer<T>, lda: Int? = nil,
                                     b: UnsafePointer<T>, ldb: Int? = nil,
                                     beta: T = 0, c: UnsafeMutablePointer<T>, ldc: Int? = nil,
                                     path: ProductPath = .configured) {
        // One flag read when accounting is off; with it on, the product is timed and counted
        // under the current class (`ProductAccounting`).
        guard ProductAccounting.enabled else {
            return gemmUnaccounted(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                   b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, path: path)
        }
        let start = ProductAccounting.now()
        gemmUnaccounted(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                        b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, path: path)
        ProductAccounting.record(m: m, n: n, k: k, since: start)
    }

    /// `gemm` without the accounting hook.
    @inlinable
    static func gemmUnaccounted<T: Real>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                                         a: UnsafePointer<T>, lda: Int?, b: UnsafePointer<T>, ldb: Int?,
                                         beta: T, c: UnsafeMutablePointer<T>, ldc: Int?, path: ProductPath) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { for j in 0..<n { c[i * (ldc ?? n) + j] = 0 } } }
            else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * (ldc ?? n) + j] *= beta } } }
            return
        }
        let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
        if ProductPath.choose(transA: transA, transB: transB, m: m, n: n, k: k, alphaIsOne: alpha == 1,
                              betaIsZeroOrOne: beta == 0 || beta == 1, requested: path) == .libxsmm {
            if transB {
                // A·Bᵀ: through a transposed copy of the small B (ProductPath says when).
                if T.xsmmProductTransposedB(m: Int32(m), n: Int32(n), k: Int32(k), a: a, lda: Int32(lda), b: b,
                                            ldb: Int32(ldb), beta: beta, c: c, ldc: Int32(ldc)) { return }
            } else if let kernel = T.xsmmKernel(m: Int32(n), n: Int32(m), k: Int32(k), lda: Int32(ldb), ldb: Int32(lda),
                                                ldc: Int32(ldc), beta: beta,
                                                flags: transA ? dnc_xsmm_flag_trans_b() : 0) {
                // Row-major C = op(A)·B is column-major Cᵀ = Bᵀ·op(A)ᵀ: libxsmm's A is our B (not
                // transposed: a row-major matrix read column-major is its transpose already) and its
                // B is our A, transposed exactly when ours is.
                T.xsmmCall(kernel, a: b, b: a, c: c)
                return
            }
        }
        let block = transA ? n : smallProductBlock(m: m, k: k, transB: transB)
        guard n > block else {
            T.blasGemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        var column = 0
        while column < n {
            let width = Swift.min(block, n - column)
            T.blasGemm(transA: transA, transB: transB, m: m, n: width, k: k, alpha: alpha,
                       a: a, lda: lda, b: b + (transB ? column * ldb : column), ldb: ldb,
                       beta: beta, c: c + column, ldc: ldc)
            column += width
        }
    }

    /// Column block for a product of a few rows (a batch) by a whole weight matrix. OpenBLAS
    /// packs both operands of a product unless it qualifies for its unpacked "small matrix"
    /// kernels: m·n·k ≤ 10⁶, and with op(B) = Bᵀ also m·n ≤ 1200 (the rule of its permit
    /// function). Splitting the columns into blocks that qualify gets there; the blocks are
    /// powers of two (blocks of 48 or 96 columns ran 2–3× slower). Measured on this machine,
    /// one thread, sgemm, weights cold in L2 as in a training step (µs, unsplit → split):
    /// 16×1024×134 B 90 → 41, Bᵀ 69 → 52; 16×1024×256 B 171 → 90, Bᵀ 159 → 86; 16×256×1024 B
    /// 132 → 94, Bᵀ 240 → 82. Bᵀ with 32 rows runs faster whole in the training step (call
    /// overhead), and where no block of 16 columns qualifies (64 rows by 1024) the packed path
    /// is as fast: `Int.max`, no split.
    @inlinable
    public static func smallProductBlock(m: Int, k: Int, transB: Bool) -> Int {
        var limit = 1_000_000 / Swift.max(m * k, 1)
        if transB {
            guard m <= 16 else { return Int.max }
            limit = Swift.min(limit, 1200 / Swift.max(m, 1))
        }
        guard limit >= 16 else { return Int.max }
        var block = 16
        while block * 2 <= limit { block *= 2 }
        return block
    }

    /// Writes the transpose of a rows×columns matrix (contiguous rows) into `destination`,
    /// columns×rows with row stride `destinationStride`.
    @inlinable
    public static func transpose<T: Real>(rows: Int, columns: Int, _ source: UnsafePointer<T>,
                                          into destination: UnsafeMutablePointer<T>, destinationStride: Int) {
        guard rows > 0, columns > 0 else { return }
        T.blasTranspose(rows: rows, columns: columns, a: source, lda: columns, b: destination, ldb: destinationStride)
    }

    /// Copies a rows×columns matrix (row stride `sourceStride`) into `destination` (row stride
    /// `destinationStride`).
    @inlinable
    public static func copy<T: Real>(rows: Int, columns: Int, _ source: UnsafePointer<T>, sourceStride: Int,
                                     into destination: UnsafeMutablePointer<T>, destinationStride: Int) {
        guard rows > 0, columns > 0 else { return }
        T.blasCopy(rows: rows, columns: columns, a: source, lda: sourceStride, b: destination, ldb: destinationStride)
    }

    /// `y += alpha · x`.
    @inlinable
    public static func axpy<T: Real>(_ count: Int, alpha: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>) {
        T.blasAxpy(count: count, alpha: alpha, x: x, y: y)
    }

    @inlinable
    public static func dot<T: Real>(_ count: Int, _ x: UnsafePointer<T>, _ y: UnsafePointer<T>) -> T {
        T.blasDot(count: count, x: x, y: y)
    }

    /// Adds `bias` (length `columns`) to every row of a rows×columns matrix.
    @inlinable
    public static func addRowVector<T: Real>(_ bias: UnsafePointer<T>, to matrix: UnsafeMutablePointer<T>,
                                             rows: Int, columns: Int) {
        for r in 0..<rows {
            let row = matrix + r * columns
            for j in 0..<columns { row[j] += bias[j] }
        }
    }

    /// `bias += Σ_rows matrix[row, :]` (the gradient of a broadcast bias).
    @inlinable
    public static func accumulateColumnSums<T: Real>(_ matrix: UnsafePointer<T>, rows: Int, columns: Int,
                                                     into bias: UnsafeMutablePointer<T>) {
        for r in 0..<rows {
            let row = matrix + r * columns
            for j in 0..<columns { bias[j] += row[j] }
        }
    }

    // MARK: Element-wise maps (input and output may alias)

    @inlinable
    public static func tanh<T: Real>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self, x == UnsafePointer(y) {
            // In place over one pointer: an exactly aliased pair would fail the vectoriser's
            // overlap check and run scalar.
            let p = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self)
            for i in 0..<count { p[i] = FastFloatMath.tanh(p[i]) }
            return
        }
        T.mapTanh(x, y, count: count)
    }

    @inlinable
    public static func exp<T: Real>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self, x == UnsafePointer(y) {
            let p = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self)
            for i in 0..<count { p[i] = FastFloatMath.exp(p[i]) }
            return
        }
        T.mapExp(x, y, count: count)
    }

    @inlinable
    public static func log<T: Real>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int) {
        T.mapLog(x, y, count: count)
    }

    /// σ(x) = 1 / (1 + e^{-x}), evaluated as e^{x} / (1 + e^{x}) for negative x so that the
    /// result keeps its relative precision far into the tail.
    @inlinable
    public static func sigmoid<T: Real>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self {
            // One vectorised pass (the same arithmetic as below, with `FastFloatMath.exp`).
            let xs = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)
            let ys = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self)
            if xs == UnsafePointer(ys) {
                for i in 0..<count { ys[i] = floatSigmoid(ys[i]) }
            } else {
                for i in 0..<count { ys[i] = floatSigmoid(xs[i]) }
            }
            return
        }
        // Chunked through a stack buffer so that `x` and `y` may alias.
        withUnsafeTemporaryAllocation(of: T.self, capacity: 256) { buffer in
            let e = buffer.baseAddress!
            var start = 0
            while start < count {
                let n = Swift.min(256, count - start)
                let xs = x + start, ys = y + start
                for i in 0..<n { e[i] = -Swift.abs(xs[i]) }
                T.mapExp(e, e, count: n)  // e^{-|x|} ∈ (0, 1]
                for i in 0..<n {
                    let s = 1 / (1 + e[i])
                    ys[i] = xs[i] < 0 ? e[i] * s : s
                }
                start += n
            }
        }
    }

    @inlinable @inline(__always)
    static func floatSigmoid(_ v: Float) -> Float {
        let e = FastFloatMath.exp(-Swift.abs(v))  // e^{-|x|} ∈ (0, 1]
        let s = 1 / (1 + e)
        return v < 0 ? e * s : s
    }

    /// softplus(x) = ln(1 + e^x), returned as x itself for x > 20 (PyTorch's threshold, kept so
    /// that pytorch-dnc weights give the same strengths).
    @inlinable
    public static func softplus<T: Real>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            if v > 20 { y[i] = v; continue }
            let e = T.exactExp(-Swift.abs(v))
            y[i] = Swift.max(v, 0) + T.exactLog1p(e)
        }
    }

    /// Derivative of `softplus` at x (σ(x), and 1 above PyTorch's threshold).
    @inlinable
    public static func softplusDerivative<T: Real>(_ x: T) -> T {
        if x > 20 { return 1 }
        return x < 0 ? T.exactExp(x) / (1 + T.exactExp(x)) : 1 / (1 + T.exactExp(-x))
    }

    /// relu(x) = max(x, 0).
    @inlinable
    public static func relu<T: Real>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int) {
        for i in 0..<count { y[i] = x[i] > 0 ? x[i] : 0 }
    }

    /// Clamps every element to [-limit, limit].
    @inlinable
    public static func clamp<T: Real>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int, limit: T) {
        for i in 0..<count { y[i] = x[i] < -limit ? -limit : (x[i] > limit ? limit : x[i]) }
    }

    /// `y *= alpha`.
    @inlinable
    public static func scale<T: Real>(_ y: UnsafeMutablePointer<T>, count: Int, by alpha: T) {
        for i in 0..<count { y[i] *= alpha }
    }

    /// `y = a ⊙ b`.
    @inlinable
    public static func multiply<T: Real>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, count: Int) {
        for i in 0..<count { y[i] = a[i] * b[i] }
    }

    /// Sets `count` elements to `value`.
    @inlinable
    public static func fill<T: Real>(_ y: UnsafeMutablePointer<T>, count: Int, with value: T) {
        y.update(repeating: value, count: count)
    }

    // MARK: Reductions

    @inlinable
    public static func sum<T: Real>(_ x: UnsafePointer<T>, count: Int) -> T {
        var s: T = 0
        for i in 0..<count { s += x[i] }
        return s
    }

    /// Σ x², accumulated in the same precision (use `Double` for checks).
    @inlinable
    public static func sumOfSquares<T: Real>(_ x: UnsafePointer<T>, count: Int) -> T {
        var s: T = 0
        for i in 0..<count { s += x[i] * x[i] }
        return s
    }

    /// Euclidean norm, scaled to avoid overflow for very large elements.
    @inlinable
    public static func norm<T: Real>(_ x: UnsafePointer<T>, count: Int) -> T {
        var largest: T = 0
        for i in 0..<count { largest = Swift.max(largest, Swift.abs(x[i])) }
        if largest == 0 || !largest.isFinite { return largest }
        var s: T = 0
        for i in 0..<count { let v = x[i] / largest; s += v * v }
        return largest * s.squareRoot()
    }

    /// Index of the largest element (the first of equal ones).
    @inlinable
    public static func argmax<T: Real>(_ x: UnsafePointer<T>, count: Int) -> Int {
        var best = 0
        for i in 1..<Swift.max(count, 1) where x[i] > x[best] { best = i }
        return best
    }

    // MARK: Softmax

    /// Row-wise softmax of a rows×columns matrix, stable for any finite input. `x` and `y` may
    /// be the same buffer.
    @inlinable
    public static func softmaxRows<T: Real>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, rows: Int, columns: Int) {
        if T.self == Float.self {
            let xs = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)
            let ys = UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self)
            for r in 0..<rows {
                let input = xs + r * columns, output = ys + r * columns
                var largest = -Float.infinity
                for j in 0..<columns { largest = Swift.max(largest, input[j]) }
                // Vectorised exp; one pointer when in place (see `tanh`).
                if input == UnsafePointer(output) {
                    for j in 0..<columns { output[j] = FastFloatMath.exp(output[j] - largest) }
                } else {
                    for j in 0..<columns { output[j] = FastFloatMath.exp(input[j] - largest) }
                }
                let inverse = 1 / floatSum(output, count: columns)
                for j in 0..<columns { output[j] *= inverse }
            }
            return
        }
        for r in 0..<rows {
            let input = x + r * columns, output = y + r * columns
            var largest = -T.infinity
            for j in 0..<columns { largest = Swift.max(largest, input[j]) }
            for j in 0..<columns { output[j] = input[j] - largest }
            T.mapExp(output, output, count: columns)
            var total: T = 0
            for j in 0..<columns { total += output[j] }
            let inverse = 1 / total
            for j in 0..<columns { output[j] *= inverse }
        }
    }

    /// Σ x over `SIMD4` lanes (four partial sums, then the lanes).
    @inlinable @inline(__always)
    static func floatSum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        let raw = UnsafeRawPointer(x)
        var s0 = SIMD4<Float>(), s1 = SIMD4<Float>(), j = 0
        while j &+ 8 <= n {
            s0 += raw.loadUnaligned(fromByteOffset: j &* 4, as: SIMD4<Float>.self)
            s1 += raw.loadUnaligned(fromByteOffset: (j &+ 4) &* 4, as: SIMD4<Float>.self)
            j &+= 8
        }
        var s = (s0 + s1).sum()
        while j < n { s += x[j]; j &+= 1 }
        return s
    }

    /// Backward of a row-wise softmax: `dx = y ⊙ (dy − ⟨dy, y⟩)` per row. `dx` may alias `dy`.
    @inlinable
    public static func softmaxRowsBackward<T: Real>(output y: UnsafePointer<T>, outputGradient dy: UnsafePointer<T>,
                                                    inputGradient dx: UnsafeMutablePointer<T>, rows: Int, columns: Int) {
        for r in 0..<rows {
            let yr = y + r * columns, dyr = dy + r * columns, dxr = dx + r * columns
            var inner: T = 0
            for j in 0..<columns { inner += dyr[j] * yr[j] }
            if dyr == UnsafePointer(dxr) {
                for j in 0..<columns { dxr[j] = yr[j] * (dxr[j] - inner) }
            } else {
                for j in 0..<columns { dxr[j] = yr[j] * (dyr[j] - inner) }
            }
        }
    }

    /// Row-wise log-softmax.
    @inlinable
    public static func logSoftmaxRows<T: Real>(_ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, rows: Int, columns: Int) {
        for r in 0..<rows {
            let input = x + r * columns, output = y + r * columns
            var largest = -T.infinity
            for j in 0..<columns { largest = Swift.max(largest, input[j]) }
            var total: T = 0
            for j in 0..<columns { total += T.exactExp(input[j] - largest) }
            let shift = largest + T.exactLog(total)
            for j in 0..<columns { output[j] = input[j] - shift }
        }
    }
}
