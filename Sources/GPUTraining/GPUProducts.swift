import DNCGPU
import DNCNumerics

/// The dense products of the GPU back end and their two companions (bias broadcast, bias
/// gradient), as launches of the kernels in `Sources/CGPUKernels/kernels/gemm.cu`: the device
/// counterparts of `Kernels.gemm`, `Kernels.addRowVector` and `Kernels.accumulateColumnSums`.
/// Every matrix is row-major with a row stride (`ld`, default: tightly packed). The results are
/// deterministic: each output is summed in a fixed order, with no atomics.
public enum GPUProducts {
    /// Threads per block of the product kernels (a 16×16 grid of threads over a C tile).
    static let productThreads = 256
    /// The k depth of the tiles staged in shared memory (`DNC_GEMM_TILE_K`).
    static let tileDepth = 16

    /// Row-major C = alpha·op(A)·op(B) + beta·C, `batch` independent products whose A, B, C advance
    /// by strideA/strideB/strideC elements. op(A) is m×k, op(B) k×n; lda/ldb/ldc are the row strides of
    /// A, B and C as stored (defaults: tightly packed). beta 0 must not read C (it may hold NaN).
    /// `bias` (n values), when given, is added to every row of the result (the fused bias of a
    /// linear layer: `x·Wᵀ + b` in one launch).
    public static func gemm<T: Real>(_ device: any KernelDevice, transA: Bool = false, transB: Bool = false,
                                     m: Int, n: Int, k: Int, alpha: T = 1, a: DevicePointer, lda: Int? = nil,
                                     b: DevicePointer, ldb: Int? = nil, beta: T, c: DevicePointer, ldc: Int? = nil,
                                     batch: Int = 1, strideA: Int = 0, strideB: Int = 0, strideC: Int = 0,
                                     bias: DevicePointer? = nil) throws {
        try launchProduct(device, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                          second: nil, beta: beta, c: c, ldc: ldc, batch: batch, strideA: strideA, strideB: strideB,
                          strideC: strideC, bias: bias)
    }

    /// C = alpha·(op(A)·op(B) + op(A2)·op(B2)) + beta·C (+ bias on every row) in one launch, one
    /// sum over k + k2 terms: op(A) m×k, op(B) k×n, op(A2) m×k2, op(B2) k2×n, the same transposes.
    /// A recurrent layer's gate pre-activations x·W_ihᵀ + h·W_hhᵀ without a concatenated copy.
    public static func sumOfProducts<T: Real>(_ device: any KernelDevice, transA: Bool = false, transB: Bool = false,
                                              m: Int, n: Int, k: Int, a: DevicePointer, lda: Int? = nil,
                                              b: DevicePointer, ldb: Int? = nil, k2: Int, a2: DevicePointer, lda2: Int? = nil,
                                              b2: DevicePointer, ldb2: Int? = nil, alpha: T = 1, beta: T, c: DevicePointer,
                                              ldc: Int? = nil, bias: DevicePointer? = nil) throws {
        precondition(k2 >= 0, "the second product's depth must not be negative (\(k2))")
        let second = (k: k2, a: a2, lda: lda2 ?? (transA ? m : k2), b: b2, ldb: ldb2 ?? (transB ? k2 : n))
        try launchProduct(device, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                          second: second, beta: beta, c: c, ldc: ldc, batch: 1, strideA: 0, strideB: 0, strideC: 0, bias: bias)
    }

    private static func launchProduct<T: Real>(_ device: any KernelDevice, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                               alpha: T, a: DevicePointer, lda: Int?, b: DevicePointer, ldb: Int?,
                                               second: (k: Int, a: DevicePointer, lda: Int, b: DevicePointer, ldb: Int)?,
                                               beta: T, c: DevicePointer, ldc: Int?, batch: Int, strideA: Int, strideB: Int,
                                               strideC: Int, bias: DevicePointer?) throws {
        precondition(m >= 0 && n >= 0 && k >= 0 && batch >= 0, "gemm sizes must not be negative (m \(m), n \(n), k \(k), batch \(batch))")
        guard m > 0, n > 0, batch > 0 else { return }
        let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
        // A few rows (a batch by a weight matrix) get 16-row tiles: 64-row ones would idle
        // three quarters of each block.
        let (kernel, tileRows) = m <= 16 ? ("dnc_gemm_rows16", 16) : ("dnc_gemm", 64)
        let tileColumns = 64
        let tiles = ((m + tileRows - 1) / tileRows) * ((n + tileColumns - 1) / tileColumns)
        let shared = tileDepth * (tileRows + 1 + tileColumns + 1) * MemoryLayout<T>.stride
        let null = DevicePointer(address: 0)
        try device.launch(KernelPrecision.of(T.self).kernelName(kernel), grid: (tiles, batch), threads: productThreads,
                          sharedBytes: shared,
                          [.int(transA ? 1 : 0), .int(transB ? 1 : 0), .int(m), .int(n), .int(k), .real(alpha),
                           .pointer(a), .int(lda), .int(strideA), .pointer(b), .int(ldb), .int(strideB), .real(beta),
                           .pointer(c), .int(ldc), .int(strideC), .pointer(bias ?? null),
                           .int(second?.k ?? 0), .pointer(second?.a ?? null), .int(second?.lda ?? 1),
                           .pointer(second?.b ?? null), .int(second?.ldb ?? 1)])
    }

    /// matrix (rows×columns, row stride ld) += vector broadcast over the rows.
    public static func addRowVector<T: Real>(_ device: any KernelDevice, _ vector: DevicePointer, to matrix: DevicePointer,
                                             rows: Int, columns: Int, ld: Int? = nil, as: T.Type) throws {
        guard rows > 0, columns > 0 else { return }
        try device.launch(KernelPrecision.of(T.self).kernelName("dnc_add_row_vector"), grid: (rows, 1),
                          threads: threads(for: columns), sharedBytes: 0,
                          [.pointer(vector), .pointer(matrix), .int(columns), .int(ld ?? columns)])
    }

    /// into[j] += Σ_r matrix[r, j]  (matrix rows×columns, row stride ld), in a fixed order.
    public static func accumulateColumnSums<T: Real>(_ device: any KernelDevice, _ matrix: DevicePointer, rows: Int,
                                                     columns: Int, ld: Int? = nil, into: DevicePointer, as: T.Type) throws {
        guard rows > 0, columns > 0 else { return }
        // 32 columns per block, and row groups enough to keep the block's warps busy (the
        // order of the sum depends on the group count, so it is a function of `rows` only).
        var groups = 1
        while groups < 8 && groups * 2 <= rows { groups *= 2 }
        try device.launch(KernelPrecision.of(T.self).kernelName("dnc_accumulate_column_sums"),
                          grid: ((columns + 31) / 32, 1), threads: 32 * groups, sharedBytes: 32 * groups * MemoryLayout<T>.stride,
                          [.pointer(matrix), .int(rows), .int(columns), .int(ld ?? columns), .pointer(into)])
    }

    /// destination (rows×columns, row stride ldDestination) = source (row stride ldSource).
    public static func copyRows<T: Real>(_ device: any KernelDevice, _ source: DevicePointer, ldSource: Int,
                                         to destination: DevicePointer, ldDestination: Int, rows: Int, columns: Int,
                                         as: T.Type) throws {
        guard rows > 0, columns > 0 else { return }
        if ldSource == columns && ldDestination == columns {
            try device.copy(from: source, to: destination, bytes: rows * columns * MemoryLayout<T>.stride)
            return
        }
        try device.launch(KernelPrecision.of(T.self).kernelName("dnc_copy_rows"), grid: (rows, 1),
                          threads: threads(for: columns), sharedBytes: 0,
                          [.pointer(source), .int(ldSource), .pointer(destination), .int(ldDestination), .int(columns)])
    }

    /// A block size for `count` elements strided over by the threads: a multiple of 32, at most 256.
    static func threads(for count: Int) -> Int { Swift.min(256, Swift.max(32, (count + 31) / 32 * 32)) }
}
