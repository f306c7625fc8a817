import CBLAS
import CLibxsmm
import Foundation

/// The floating-point types the numeric core runs in: `Float` for training, `Double` for
/// gradient checks and fixture parity. Every requirement works over raw buffers so that the
/// kernels in `Kernels` stay thin and a GPU backend can stand in for them later.
public protocol Real: BinaryFloatingPoint, Sendable, CustomStringConvertible
where RawSignificand: FixedWidthInteger {
    /// Row-major general matrix product `C = alpha * op(A) * op(B) + beta * C`, where `op(A)` is
    /// m×k and `op(B)` is k×n. Transposes are taken by BLAS, never by copying.
    static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                         alpha: Self, a: UnsafePointer<Self>, lda: Int,
                         b: UnsafePointer<Self>, ldb: Int,
                         beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
    /// A libxsmm JIT kernel for the column-major product `C = op(A)·op(B) + beta·C` (alpha 1,
    /// beta 0 or 1; `transA`/`transB` are libxsmm's flags for its own A and B), or nil when
    /// libxsmm generates none for this shape. libxsmm keeps the kernels it generated in its
    /// code registry keyed by shape, leading dimensions, beta and flags, so a repeated call
    /// is a hash lookup, not a new JIT; the shim also remembers them per thread, which skips
    /// even that lookup (Sources/CLibxsmm/shim.h).
    static func xsmmKernel(m: Int32, n: Int32, k: Int32, lda: Int32, ldb: Int32, ldc: Int32,
                           beta: Self, flags: Int32) -> UnsafeRawPointer?
    /// Runs a kernel from `xsmmKernel` on column-major operands.
    static func xsmmCall(_ kernel: UnsafeRawPointer, a: UnsafePointer<Self>, b: UnsafePointer<Self>,
                         c: UnsafeMutablePointer<Self>)
    /// Row-major `C = A·Bᵀ + beta·C` (beta 0 or 1) in libxsmm through a transposed copy of B;
    /// false, with nothing written, when B is larger than the copy's limit or libxsmm has no
    /// kernel for the shape.
    static func xsmmProductTransposedB(m: Int32, n: Int32, k: Int32, a: UnsafePointer<Self>, lda: Int32,
                                       b: UnsafePointer<Self>, ldb: Int32, beta: Self,
                                       c: UnsafeMutablePointer<Self>, ldc: Int32) -> Bool
    /// `y += alpha * x`.
    static func blasAxpy(count: Int, alpha: Self, x: UnsafePointer<Self>, y: UnsafeMutablePointer<Self>)
    /// Dot product of two contiguous vectors.
    static func blasDot(count: Int, x: UnsafePointer<Self>, y: UnsafePointer<Self>) -> Self
    /// `b = aᵀ`: a is rows×columns (row stride lda), b is columns×rows (row stride ldb).
    static func blasTranspose(rows: Int, columns: Int, a: UnsafePointer<Self>, lda: Int,
                              b: UnsafeMutablePointer<Self>, ldb: Int)
    /// `b = a`: both rows×columns, row strides lda and ldb.
    static func blasCopy(rows: Int, columns: Int, a: UnsafePointer<Self>, lda: Int,
                         b: UnsafeMutablePointer<Self>, ldb: Int)

    /// Element-wise maps; `input` and `output` may be the same buffer.
    static func mapTanh(_ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>, count: Int)
    static func mapExp(_ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>, count: Int)
    static func mapLog(_ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>, count: Int)

    /// Scalar transcendental functions at full precision (used off the hot path).
    static func exactExp(_ x: Self) -> Self
    static func exactLog(_ x: Self) -> Self
    static func exactLog1p(_ x: Self) -> Self
    static func exactTanh(_ x: Self) -> Self
}

extension Float: Real {
    @inlinable
    public static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                alpha: Float, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafePointer<Float>, ldb: Int,
                                beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    // Not inlinable, like `xsmmCall`: the C shim is then compiled into this module only, so a
    // change to it cannot be left stale in other modules' inlined copies (SwiftPM does not rebuild
    // dependents when a system library's header changes).
    public static func xsmmKernel(m: Int32, n: Int32, k: Int32, lda: Int32, ldb: Int32, ldc: Int32,
                                  beta: Float, flags: Int32) -> UnsafeRawPointer? {
        dnc_xsmm_sdispatch(m, n, k, lda, ldb, ldc, beta, flags)
    }
    public static func xsmmCall(_ kernel: UnsafeRawPointer, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                c: UnsafeMutablePointer<Float>) {
        dnc_xsmm_scall(kernel, a, b, c)
    }
    public static func xsmmProductTransposedB(m: Int32, n: Int32, k: Int32, a: UnsafePointer<Float>, lda: Int32,
                                              b: UnsafePointer<Float>, ldb: Int32, beta: Float,
                                              c: UnsafeMutablePointer<Float>, ldc: Int32) -> Bool {
        dnc_xsmm_sgemm_transposed_b(m, n, k, a, lda, b, ldb, beta, c, ldc) != 0
    }
    @inlinable
    public static func blasAxpy(count: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(Int32(count), alpha, x, 1, y, 1)
    }
    @inlinable
    public static func blasDot(count: Int, x: UnsafePointer<Float>, y: UnsafePointer<Float>) -> Float {
        cblas_sdot(Int32(count), x, 1, y, 1)
    }
    @inlinable
    public static func blasTranspose(rows: Int, columns: Int, a: UnsafePointer<Float>, lda: Int,
                                     b: UnsafeMutablePointer<Float>, ldb: Int) {
        cblas_somatcopy(CblasRowMajor, CblasTrans, Int32(rows), Int32(columns), 1, a, Int32(lda), b, Int32(ldb))
    }
    @inlinable
    public static func blasCopy(rows: Int, columns: Int, a: UnsafePointer<Float>, lda: Int,
                                b: UnsafeMutablePointer<Float>, ldb: Int) {
        cblas_somatcopy(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(columns), 1, a, Int32(lda), b, Int32(ldb))
    }
    @inlinable
    public static func mapTanh(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { output[i] = FastFloatMath.tanh(input[i]) }
    }
    @inlinable
    public static func mapExp(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { output[i] = FastFloatMath.exp(input[i]) }
    }
    @inlinable
    public static func mapLog(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { output[i] = FastFloatMath.log(input[i]) }
    }
    @inlinable public static func exactExp(_ x: Float) -> Float { Foundation.exp(x) }
    @inlinable public static func exactLog(_ x: Float) -> Float { Foundation.log(x) }
    @inlinable public static func exactLog1p(_ x: Float) -> Float { Foundation.log1p(x) }
    @inlinable public static func exactTanh(_ x: Float) -> Float { Foundation.tanh(x) }
}

extension Double: Real {
    @inlinable
    public static func blasGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                alpha: Double, a: UnsafePointer<Double>, lda: Int,
                                b: UnsafePointer<Double>, ldb: Int,
                                beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    // Not inlinable, like `xsmmCall`: the C shim is then compiled into this module only, so a
    // change to it cannot be left stale in other modules' inlined copies (SwiftPM does not rebuild
    // dependents when a system library's header changes).
    public static func xsmmKernel(m: Int32, n: Int32, k: Int32, lda: Int32, ldb: Int32, ldc: Int32,
                                  beta: Double, flags: Int32) -> UnsafeRawPointer? {
        dnc_xsmm_ddispatch(m, n, k, lda, ldb, ldc, beta, flags)
    }
    public static func xsmmCall(_ kernel: UnsafeRawPointer, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
                                c: UnsafeMutablePointer<Double>) {
        dnc_xsmm_dcall(kernel, a, b, c)
    }
    public static func xsmmProductTransposedB(m: Int32, n: Int32, k: Int32, a: UnsafePointer<Double>, lda: Int32,
                                              b: UnsafePointer<Double>, ldb: Int32, beta: Double,
                                              c: UnsafeMutablePointer<Double>, ldc: Int32) -> Bool {
        dnc_xsmm_dgemm_transposed_b(m, n, k, a, lda, b, ldb, beta, c, ldc) != 0
    }
    @inlinable
    public static func blasAxpy(count: Int, alpha: Double, x: UnsafePointer<Double>, y: UnsafeMutablePointer<Double>) {
        cblas_daxpy(Int32(count), alpha, x, 1, y, 1)
    }
    @inlinable
    public static func blasDot(count: Int, x: UnsafePointer<Double>, y: UnsafePointer<Double>) -> Double {
        cblas_ddot(Int32(count), x, 1, y, 1)
    }
    @inlinable
    public static func blasTranspose(rows: Int, columns: Int, a: UnsafePointer<Double>, lda: Int,
                                     b: UnsafeMutablePointer<Double>, ldb: Int) {
        cblas_domatcopy(CblasRowMajor, CblasTrans, Int32(rows), Int32(columns), 1, a, Int32(lda), b, Int32(ldb))
    }
    @inlinable
    public static func blasCopy(rows: Int, columns: Int, a: UnsafePointer<Double>, lda: Int,
                                b: UnsafeMutablePointer<Double>, ldb: Int) {
        cblas_domatcopy(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(columns), 1, a, Int32(lda), b, Int32(ldb))
    }
    // Double is the checking precision: libm, correctly rounded or nearly so.
    @inlinable
    public static func mapTanh(_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { output[i] = Foundation.tanh(input[i]) }
    }
    @inlinable
    public static func mapExp(_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { output[i] = Foundation.exp(input[i]) }
    }
    @inlinable
    public static func mapLog(_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { output[i] = Foundation.log(input[i]) }
    }
    @inlinable public static func exactExp(_ x: Double) -> Double { Foundation.exp(x) }
    @inlinable public static func exactLog(_ x: Double) -> Double { Foundation.log(x) }
    @inlinable public static func exactLog1p(_ x: Double) -> Double { Foundation.log1p(x) }
    @inlinable public static func exactTanh(_ x: Double) -> Double { Foundation.tanh(x) }
}
