import CLibxsmm
import Foundation

/// Which library computes a matrix product in `Kernels.gemm`.
///
/// OpenBLAS's kernels are chosen when the library loads, from `OPENBLAS_CORETYPE` or the CPU it
/// recognises; a clusters' environment that sets `OPENBLAS_CORETYPE=Haswell` leaves AVX-512
/// unused, and even its best kernels pack both operands of a small product, which costs more than
/// the product itself at the sizes of one time step (a batch of 1–32 rows by a weight matrix).
/// libxsmm generates a kernel for the running CPU and the exact shape the first time a shape is
/// seen (JIT), and never packs. It is column-major and its 1.17 JIT has no transposed A, so it
/// serves the row-major products `A·B` and `Aᵀ·B` (computed as `Cᵀ = Bᵀ·Aᵀ`, operands swapped);
/// `A·Bᵀ`, alpha ≠ 1 and beta ∉ {0, 1} stay with OpenBLAS.
///
/// `DNC_SMALL_GEMM=auto|libxsmm|openblas` (read once per process) forces a path; `auto`, the
/// default, takes libxsmm for the small products and OpenBLAS for the large ones (see
/// `choose`). A given shape always takes the same path in a process and both libraries compute
/// a product in a fixed order, so the results are the same bits run to run.
public enum ProductPath: String, Sendable, CaseIterable, CustomStringConvertible {
    case auto, libxsmm, openblas

    public var description: String { rawValue }

    /// The path `DNC_SMALL_GEMM` asks for; `auto` when unset.
    public static let configured: ProductPath = {
        let value = ProcessInfo.processInfo.environment["DNC_SMALL_GEMM"]
        if let path = parse(value) { return path }
        FileHandle.standardError.write(Data("warning: DNC_SMALL_GEMM=\(value ?? "") is not auto, libxsmm or openblas; using auto\n".utf8))
        return .auto
    }()

    /// The path a value of `DNC_SMALL_GEMM` names (case and surrounding blanks ignored); `auto`
    /// for nil or empty, nil for anything else.
    public static func parse(_ value: String?) -> ProductPath? {
        let trimmed = (value ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        return trimmed.isEmpty ? .auto : ProductPath(rawValue: trimmed)
    }

    /// The library that computes this product under `requested` (never `.auto`).
    ///
    /// `auto`: libxsmm when the product has few rows or a short inner dimension (m ≤ 64 or
    /// k ≤ 64): the per-step products of a batch by a weight matrix and the per-sample memory
    /// products. Measured on this machine, one thread, sgemm (C test, µs libxsmm / OpenBLAS
    /// Cooperlake): 16×247×256 39 / 70, 16×1024×392 291 / 541, 392×1024×16 Aᵀ·B 306 / 507. The
    /// large weight-gradient products over a whole sequence (both m and k over 64) stay with
    /// OpenBLAS, which blocks for the caches: 1024×1024×512 29 ms / 26 ms, 392×1024×160 3.3 / 3.2.
    ///
    /// `A·Bᵀ` goes to libxsmm through a transposed copy of B (its 1.17 JIT has no transposed A)
    /// when B has at most `transposedCopyLimit` elements (`autoTransposedCopyLimit` under
    /// `auto`), and never with both operands transposed.
    @inlinable
    public static func choose(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                              alphaIsOne: Bool, betaIsZeroOrOne: Bool,
                              requested: ProductPath = configured) -> ProductPath {
        guard requested != .openblas, !(transA && transB), alphaIsOne, betaIsZeroOrOne,
              m <= Int(Int32.max), n <= Int(Int32.max), k <= Int(Int32.max) else { return .openblas }
        if transB {
            if requested == .libxsmm { return n * k <= transposedCopyLimit ? .libxsmm : .openblas }
            return (m <= 64 || k <= 64) && n * k <= autoTransposedCopyLimit ? .libxsmm : .openblas
        }
        if requested == .libxsmm { return .libxsmm }
        return m <= 64 || k <= 64 ? .libxsmm : .openblas
    }

    /// The most elements of B an `A·Bᵀ` product copies transposed to hand it to libxsmm: the C
    /// shim's stack buffer (`dnc_xsmm_transposed_b_limit`; a test checks the two agree).
    public static let transposedCopyLimit = 4096

    /// The shim's own limit, for the test that keeps the two equal.
    static var shimTransposedCopyLimit: Int { Int(dnc_xsmm_transposed_b_max_elements()) }

    /// The largest B whose transposed copy `auto` takes, by the kernels OpenBLAS runs. C test,
    /// one thread, ns per call of OpenBLAS's `A·Bᵀ` against the copy and libxsmm's `A·B` (kernels
    /// dispatched once), with OpenBLAS's AVX-512 kernels (SkylakeX, what it picks on the Intel
    /// Xeon this was measured on) and its AVX2 ones (Haswell):
    ///
    /// | m×n×k (B elements) | SkylakeX | Haswell | copy + libxsmm |
    /// |---|---|---|---|
    /// | 4×16×20 (320), dnc-small's keys by memory | 250 | 237 | 84 |
    /// | 4×16×16 (256), its link products | 214 | 214 | 51 |
    /// | 4×64×32 (2 048), dnc-paper's keys by memory | 453 | 1 121 | 368 |
    /// | 1×64×32 (2 048), its write key | 173 | 1 041 | 319 |
    /// | 4×64×64 (4 096), its link products | 666 | 2 206 | 749 |
    /// | 16×6×384 (2 304), its output layer | 857 | 5 092 | 1 924 |
    ///
    /// With AVX-512 kernels the copy pays only for the smallest B (up to 512 elements); with
    /// anything less (`OPENBLAS_CORETYPE=Haswell`, older CPUs) it pays up to the copy's limit.
    public static let autoTransposedCopyLimit: Int = {
        let tier = BLASRuntime.tiers[BLASRuntime.coreName.lowercased()] ?? 0
        return tier >= 3 ? 512 : transposedCopyLimit
    }()

    /// Whether libxsmm has a kernel for the row-major product `op(A)·B` (m×k by k×n, contiguous
    /// operands): what `Kernels.gemm` asks it for, operands swapped.
    public static func libxsmmHasKernel<T: Real>(_: T.Type, transA: Bool, m: Int, n: Int, k: Int, beta: T) -> Bool {
        T.xsmmKernel(m: Int32(n), n: Int32(m), k: Int32(k), lda: Int32(n), ldb: Int32(transA ? m : k), ldc: Int32(n),
                     beta: beta, flags: transA ? dnc_xsmm_flag_trans_b() : 0) != nil
    }

    /// One line for `--version` and diagnostics: the libxsmm target and the path rule.
    public static var summary: String {
        let target = String(cString: libxsmm_get_target_arch())
        let rule: String
        switch configured {
        case .auto:
            rule = "auto: libxsmm for A·B and Aᵀ·B with m ≤ 64 or k ≤ 64, and for A·Bᵀ also with at most "
                + "\(autoTransposedCopyLimit) elements in B (a transposed copy); OpenBLAS otherwise"
        case .libxsmm:
            rule = "DNC_SMALL_GEMM=libxsmm: libxsmm for every A·B and Aᵀ·B, and A·Bᵀ with at most "
                + "\(transposedCopyLimit) elements in B (a transposed copy); OpenBLAS for the rest"
        case .openblas: rule = "DNC_SMALL_GEMM=openblas: OpenBLAS for every product"
        }
        return "libxsmm \(String(cString: dnc_xsmm_version())) JIT for \(target) (\(rule))"
    }
}
