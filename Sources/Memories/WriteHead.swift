import DNCNumerics

/// The write weighting (dnc.md §5.4) and the erase-then-add memory update (§5.5) of the single
/// write head, with their backward passes (§11.7, §11.8). One sample.
enum WriteHead {
    /// `w = g^w·(g^a·a + (1 − g^a)·c)`; allocation a, content c, output w: N each.
    static func weightsForward<T: Real>(allocation a: UnsafePointer<T>, content c: UnsafePointer<T>,
                                        allocationGate ga: T, writeGate gw: T, cells n: Int,
                                        out w: UnsafeMutablePointer<T>) {
        for i in 0..<n { w[i] = gw * (ga * a[i] + (1 - ga) * c[i]) }
    }

    /// Backward of `weightsForward`: overwrites `allocationGradient` and `contentGradient` (N) and
    /// returns (dℓ/dg^a, dℓ/dg^w).
    static func weightsBackward<T: Real>(allocation a: UnsafePointer<T>, content c: UnsafePointer<T>,
                                         allocationGate ga: T, writeGate gw: T, cells n: Int,
                                         weightsGradient g: UnsafePointer<T>,
                                         allocationGradient da: UnsafeMutablePointer<T>,
                                         contentGradient dc: UnsafeMutablePointer<T>) -> (allocationGate: T, writeGate: T) {
        var dga: T = 0, dgw: T = 0
        for i in 0..<n {
            dgw += g[i] * (ga * a[i] + (1 - ga) * c[i])
            dga += g[i] * (a[i] - c[i])
            da[i] = gw * ga * g[i]
            dc[i] = gw * (1 - ga) * g[i]
        }
        return (gw * dga, dgw)
    }

    /// `M_t[n,j] = M_{t−1}[n,j]·(1 − w_n e_j) + w_n v_j`. previous, memory: N×W (the same
    /// buffer for an in-place update, or disjoint); w N; erase, write: W.
    static func eraseAndAdd<T: Real>(previous: UnsafePointer<T>, memory: UnsafeMutablePointer<T>,
                                     writeWeights w: UnsafePointer<T>, erase e: UnsafePointer<T>,
                                     write v: UnsafePointer<T>, cells n: Int, width: Int) {
        for i in 0..<n {
            let old = previous + i * width, row = memory + i * width, wi = w[i]
            if wi == 0 {
                if UnsafePointer(row) != old { row.update(from: old, count: width) }
                continue
            }
            for j in 0..<width { row[j] = old[j] * (1 - wi * e[j]) + wi * v[j] }
        }
    }

    /// In place: `M[n,j] ← M[n,j]·(1 − w_n e_j) + w_n v_j`. memory N×W; w N; erase, write: W.
    static func eraseAndAdd<T: Real>(memory: UnsafeMutablePointer<T>, writeWeights w: UnsafePointer<T>,
                                     erase e: UnsafePointer<T>, write v: UnsafePointer<T>, cells n: Int, width: Int) {
        eraseAndAdd(previous: memory, memory: memory, writeWeights: w, erase: e, write: v, cells: n, width: width)
    }

    /// Backward of `eraseAndAdd`. `memoryGradient` dℓ/dM_t (N×W) in; `previousMemoryGradient`
    /// dℓ/dM_{t−1} (N×W) overwritten (may be the same buffer); accumulates into
    /// `writeWeightsGradient` (N), `eraseGradient` (W) and `writeVectorGradient` (W).
    /// `previousMemory` is M_{t−1}; `scratch` holds W values.
    static func eraseAndAddBackward<T: Real>(previousMemory m: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                                             erase e: UnsafePointer<T>, write v: UnsafePointer<T>,
                                             cells n: Int, width: Int, memoryGradient g: UnsafePointer<T>,
                                             previousMemoryGradient dM: UnsafeMutablePointer<T>,
                                             writeWeightsGradient dw: UnsafeMutablePointer<T>,
                                             eraseGradient de: UnsafeMutablePointer<T>,
                                             writeVectorGradient dv: UnsafeMutablePointer<T>,
                                             scratch t: UnsafeMutablePointer<T>) {
        for i in 0..<n {
            let row = m + i * width, gRow = g + i * width, dRow = dM + i * width, wi = w[i]
            // dℓ/dw_i = Σ_j g_ij (v_j − M_ij e_j).
            for j in 0..<width { t[j] = v[j] - row[j] * e[j] }
            dw[i] += RowKernels.dot(gRow, t, count: width)
            if wi != 0 {
                for j in 0..<width {
                    let gij = gRow[j]
                    de[j] -= gij * row[j] * wi
                    dv[j] += gij * wi
                }
                // (A loop over one pointer when in place: the vectoriser's overlap check would
                // send an exactly aliased pair to the scalar loop.)
                if UnsafePointer(dRow) == gRow {
                    for j in 0..<width { dRow[j] *= 1 - wi * e[j] }
                } else {
                    for j in 0..<width { dRow[j] = gRow[j] * (1 - wi * e[j]) }
                }
            } else if UnsafePointer(dRow) != gRow {
                dRow.update(from: gRow, count: width)
            }
        }
    }
}
