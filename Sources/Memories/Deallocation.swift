import DNCNumerics

/// DNC-MD's de-allocation (Csordás & Schmidhuber 2019, §3.2; docs/dense-memory.md,
/// "De-allocation"): before the erase-and-add, every memory row is scaled by its retention ψ_t
/// (the product of the free gates' `1 − f^i w^{r,i}_{t−1}` that the usage update already
/// computes), so that what the read heads free is also wiped and a content lookup no longer
/// finds it: `M_t = (ψ_t 1ᵀ ⊙ M_{t−1}) ⊙ (E − w^w_t e_tᵀ) + w^w_t v_tᵀ`. One sample.
enum Deallocation {
    /// `out[i, ·] = ψ_i · M[i, ·]`; memory, out: N×W (may be the same buffer), retention ψ: N.
    static func forward<T: Real>(memory m: UnsafePointer<T>, retention psi: UnsafePointer<T>, cells n: Int, width w: Int,
                                 out: UnsafeMutablePointer<T>) {
        for i in 0..<n {
            let row = m + i * w, outRow = out + i * w, scale = psi[i]
            for j in 0..<w { outRow[j] = scale * row[j] }
        }
    }

    /// Backward of `forward`, in place: `gradient` holds dℓ/d(ψ ⊙ M) (N×W) and becomes dℓ/dM;
    /// writes dℓ/dψ_i = Σ_j gradient_ij M_ij to `retentionGradient` (N).
    static func backward<T: Real>(memory m: UnsafePointer<T>, retention psi: UnsafePointer<T>, cells n: Int, width w: Int,
                                  gradient g: UnsafeMutablePointer<T>, retentionGradient dPsi: UnsafeMutablePointer<T>) {
        for i in 0..<n {
            let row = m + i * w, gRow = g + i * w, scale = psi[i]
            dPsi[i] = RowKernels.dot(gRow, row, count: w)
            for j in 0..<w { gRow[j] *= scale }
        }
    }
}
