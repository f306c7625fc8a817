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

    /// In place: `M[n,j] ← M[n,j]·(1 − w_n e_j) + w_n v_j`. memory N×W; w N; erase, write: W.
    static func eraseAndAdd<T: Real>(memory: UnsafeMutablePointer<T>, writeWeights w: UnsafePointer<T>,
                                     erase e: UnsafePointer<T>, write v: UnsafePointer<T>, cells n: Int, width: Int) {
        for i in 0..<n {
            let row = memory + i * width, wi = w[i]
            if wi == 0 { continue }
            for j in 0..<width { row[j] = row[j] * (1 - wi * e[j]) + wi * v[j] }
        }
    }

    /// Backward of `eraseAndAdd`. `memoryGradient` dℓ/dM_t (N×W) in; `previousMemoryGradient`
    /// dℓ/dM_{t−1} (N×W) overwritten; accumulates into `writeWeightsGradient` (N),
    /// `eraseGradient` (W) and `writeVectorGradient` (W). `previousMemory` is M_{t−1}.
    static func eraseAndAddBackward<T: Real>(previousMemory m: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                                             erase e: UnsafePointer<T>, write v: UnsafePointer<T>,
                                             cells n: Int, width: Int, memoryGradient g: UnsafePointer<T>,
                                             previousMemoryGradient dM: UnsafeMutablePointer<T>,
                                             writeWeightsGradient dw: UnsafeMutablePointer<T>,
                                             eraseGradient de: UnsafeMutablePointer<T>,
                                             writeVectorGradient dv: UnsafeMutablePointer<T>) {
        for i in 0..<n {
            let row = m + i * width, gRow = g + i * width, dRow = dM + i * width, wi = w[i]
            var dwi: T = 0
            for j in 0..<width {
                let gij = gRow[j]
                dRow[j] = gij * (1 - wi * e[j])
                dwi += gij * (v[j] - row[j] * e[j])
                de[j] -= gij * row[j] * wi
                dv[j] += gij * wi
            }
            dw[i] += dwi
        }
    }
}
