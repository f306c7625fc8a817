import DNCNumerics

/// The sparse content read of SAM and the SDNC (docs/sparse-memory.md, "Sparse read"), forward
/// and backward side by side: one read head attends over the K stored rows nearest its query
/// (found by the index), not over all N cells.
///
/// For query q (W), strength β (1 for SAM) and the rows M(s_j) at positions s_j, j < K':
///     ‖q‖ = √(Σ q² + ε),  ‖M_j‖ = √(Σ M_j² + ε),  cos_j = q·M_j / (‖q‖ ‖M_j‖ + ε),
///     ω = softmax_j(β cos_j),
/// with ε the dense content addressing's (`ContentAddressing.epsilon`). The read vector is
/// r = Σ_s weight_s M(s) over a head's slots (content slots, and the SDNC's temporal ones).
enum SparseContentRead {
    /// ‖q‖ = √(Σ q² + ε) of one query (W values).
    @inline(__always)
    static func queryNorm<T: Real>(_ q: UnsafePointer<T>, width w: Int) -> T {
        var qs: T = 0
        for e in 0..<w { qs += q[e] * q[e] }
        return (qs + ContentAddressing.epsilon(T.self)).squareRoot()
    }

    /// Forward for one head over `found` rows: fills `rowNorms`, `cosine` and `weights` (ω, K'
    /// each) and returns ‖q‖.
    @inline(__always)
    static func forward<T: Real>(query q: UnsafePointer<T>, strength beta: T, memory: UnsafePointer<T>,
                                 positions: UnsafePointer<Int>, found: Int, width w: Int,
                                 rowNorms: UnsafeMutablePointer<T>, cosine: UnsafeMutablePointer<T>,
                                 weights: UnsafeMutablePointer<T>) -> T {
        let eps = ContentAddressing.epsilon(T.self)
        let nq = queryNorm(q, width: w)
        for j in 0..<found {
            let row = memory + positions[j] * w
            var d: T = 0, ms: T = 0
            for e in 0..<w { d += q[e] * row[e]; ms += row[e] * row[e] }
            let nm = (ms + eps).squareRoot()
            rowNorms[j] = nm
            cosine[j] = d / (nq * nm + eps)
            weights[j] = beta * cosine[j]
        }
        if found > 0 { Kernels.softmaxRows(weights, weights, rows: 1, columns: found) }
        return nq
    }

    /// Backward of `forward` for one head, given g_j, the gradient with respect to π·ω_j where π
    /// is the content read mode (1 for SAM): accumulates dℓ/dq into `queryGradient` and dℓ/dM_j
    /// into `rowGradient(j)`; returns dℓ/dβ (SAM, with β fixed at 1, ignores it).
    @inline(__always)
    static func backward<T: Real>(query q: UnsafePointer<T>, strength beta: T, mode: T, memory: UnsafePointer<T>,
                                  positions: UnsafePointer<Int>, found: Int, width w: Int, queryNorm nq: T,
                                  rowNorms: UnsafePointer<T>, cosine: UnsafePointer<T>, weights omega: UnsafePointer<T>,
                                  slotGradient g: UnsafePointer<T>, queryGradient dq: UnsafeMutablePointer<T>,
                                  rowGradient: (Int) -> UnsafeMutablePointer<T>) -> T {
        let eps = ContentAddressing.epsilon(T.self)
        var inner: T = 0
        for j in 0..<found { inner += omega[j] * mode * g[j] }
        var dBeta: T = 0
        for j in 0..<found {
            // Through the softmax, then the strength, then the cosine.
            let dLogit = omega[j] * (mode * g[j] - inner)
            let c = cosine[j], nm = rowNorms[j]
            dBeta += dLogit * c
            let dc = beta * dLogit
            let row = memory + positions[j] * w, gr = rowGradient(j)
            let dd = nq * nm + eps
            let qScale = dc / dd, qNorm = dc * c * nm / (dd * nq), mNorm = dc * c * nq / (dd * nm)
            for e in 0..<w {
                dq[e] += qScale * row[e] - qNorm * q[e]
                gr[e] += qScale * q[e] - mNorm * row[e]
            }
        }
        return dBeta
    }

    /// r = Σ_s weights_s M(positions_s) over `slots` slots (position −1: unused slot), into `out` (W).
    @inline(__always)
    static func readVector<T: Real>(weights: UnsafePointer<T>, positions: UnsafePointer<Int>, slots: Int, memory: UnsafePointer<T>,
                                    width w: Int, out: UnsafeMutablePointer<T>) {
        for e in 0..<w { out[e] = 0 }
        for s in 0..<slots where positions[s] >= 0 {
            let row = memory + positions[s] * w, weight = weights[s]
            for e in 0..<w { out[e] += weight * row[e] }
        }
    }

    /// Backward of `readVector` given dℓ/dr (`readGradient`, W): dℓ/dM(s) += weight_s dℓ/dr into
    /// `rowGradient(s)`, and `slotGradient[s]` = M(s)·dℓ/dr + `laterGradient[s]` (the gradient the
    /// slot's weight received from later steps, as the next step's previous read).
    @inline(__always)
    static func readVectorBackward<T: Real>(weights: UnsafePointer<T>, positions: UnsafePointer<Int>, slots: Int,
                                            memory: UnsafePointer<T>, width w: Int, readGradient dr: UnsafePointer<T>,
                                            laterGradient: UnsafePointer<T>, slotGradient: UnsafeMutablePointer<T>,
                                            rowGradient: (Int) -> UnsafeMutablePointer<T>) {
        for s in 0..<slots where positions[s] >= 0 {
            let row = memory + positions[s] * w, gr = rowGradient(s), weight = weights[s]
            var d: T = 0
            for e in 0..<w { d += dr[e] * row[e]; gr[e] += weight * dr[e] }
            slotGradient[s] = d + laterGradient[s]
        }
    }
}
