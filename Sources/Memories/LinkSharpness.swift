import DNCNumerics

/// DNC-MD's link distribution sharpness control (Csordás & Schmidhuber 2019, §3.3;
/// docs/dense-memory.md, "Link distribution sharpness"): a directional weighting d = L w^r (or
/// Lᵀ w^r) becomes `S(d, s)_j = d̃_j^s / Σ_k d̃_k^s` with `d̃ = max(d, 0) + ε` and a sharpness
/// s ≥ 1 per head and direction. ε (1e-6, the authors' code's) keeps the logarithm finite where
/// d is 0 (at the start of a sequence, L = 0); the max only guards against rounding below 0
/// (d ≥ 0 in exact arithmetic) and passes the gradient wherever d ≥ 0. The forward divides by
/// the largest d̃ before the power, which S does not see (it is scale-free) but which keeps
/// d̃^s in range; so the backward needs no term for it.
///
/// Backward, with y = S(d, s), g = dℓ/dy and ḡ = Σ_j g_j y_j:
/// `dℓ/dd_j = s · y_j (g_j − ḡ) / d̃_j`, `dℓ/ds = Σ_j y_j log d̃_j (g_j − ḡ)`.
enum LinkSharpness {
    @inlinable static func epsilon<T: Real>(_: T.Type) -> T { T(1e-6) }

    /// y = S(d, s) for one head: d, y: N (may not alias).
    static func forward<T: Real>(raw d: UnsafePointer<T>, sharpness s: T, cells n: Int, out y: UnsafeMutablePointer<T>) {
        let eps = epsilon(T.self)
        var largest: T = 0
        for j in 0..<n {
            let shifted = Swift.max(d[j], 0) + eps
            y[j] = shifted
            largest = Swift.max(largest, shifted)
        }
        let logLargest = T.exactLog(largest)
        var total: T = 0
        for j in 0..<n {
            y[j] = T.exactExp(s * (T.exactLog(y[j]) - logLargest))
            total += y[j]
        }
        let inverse = 1 / total
        for j in 0..<n { y[j] *= inverse }
    }

    /// Backward of `forward`, in place: `gradient` holds dℓ/dy (N) and becomes dℓ/dd. Returns dℓ/ds.
    static func backward<T: Real>(raw d: UnsafePointer<T>, sharpness s: T, sharpened y: UnsafePointer<T>, cells n: Int,
                                  gradient g: UnsafeMutablePointer<T>) -> T {
        let eps = epsilon(T.self)
        var mean: T = 0
        for j in 0..<n { mean += g[j] * y[j] }
        var ds: T = 0
        for j in 0..<n {
            let shifted = Swift.max(d[j], 0) + eps
            let centred = y[j] * (g[j] - mean)
            ds += centred * T.exactLog(shifted)
            g[j] = d[j] >= 0 ? s * centred / shifted : 0
        }
        return ds
    }
}
