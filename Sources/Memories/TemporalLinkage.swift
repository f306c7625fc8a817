import DNCNumerics

/// Temporal link matrix, precedence and the directional read weightings (dnc.md §5.6, §5.7,
/// §5.9) with their backward passes (§11.9, §11.10). One sample; the link update is an O(N²)
/// pointer loop, the directional products are gemms over all heads.
enum TemporalLinkage {
    /// In place: `L[i,j] ← (1 − w_i − w_j)·L[i,j] + w_i·p_j` for i ≠ j, `L[i,i] = 0`.
    /// link: N×N; writeWeights: the new w^w_t (N); precedence: the old p_{t−1} (N).
    static func linkForward<T: Real>(link: UnsafeMutablePointer<T>, writeWeights w: UnsafePointer<T>,
                                     precedence p: UnsafePointer<T>, cells n: Int) {
        for i in 0..<n {
            let row = link + i * n, wi = w[i]
            for j in 0..<n { row[j] = (1 - wi - w[j]) * row[j] + wi * p[j] }
            row[i] = 0
        }
    }

    /// `L_t` from `L_{t−1}` into a separate buffer (the backward recomputes it instead of
    /// keeping a second N×N matrix per step on the tape).
    static func link<T: Real>(previous: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                              precedence p: UnsafePointer<T>, cells n: Int, out link: UnsafeMutablePointer<T>) {
        link.update(from: previous, count: n * n)
        linkForward(link: link, writeWeights: w, precedence: p, cells: n)
    }

    /// Backward of `linkForward`. `linkGradient` dℓ/dL_t (N×N) in; `previousLinkGradient`
    /// dℓ/dL_{t−1} (N×N) overwritten (may alias `linkGradient`); accumulates into
    /// `writeWeightsGradient` (N) and `precedenceGradient` dℓ/dp_{t−1} (N).
    static func linkBackward<T: Real>(previousLink l: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                                      precedence p: UnsafePointer<T>, cells n: Int,
                                      linkGradient g: UnsafePointer<T>,
                                      previousLinkGradient dL: UnsafeMutablePointer<T>,
                                      writeWeightsGradient dw: UnsafeMutablePointer<T>,
                                      precedenceGradient dp: UnsafeMutablePointer<T>) {
        for i in 0..<n {
            let lRow = l + i * n, gRow = g + i * n, dRow = dL + i * n, wi = w[i]
            var dwi: T = 0
            for j in 0..<n where j != i {
                let gij = gRow[j], lij = lRow[j]
                // Ĝ = G ∘ D: the diagonal gets no gradient.
                dwi += gij * (p[j] - lij)
                dw[j] -= gij * lij
                dp[j] += gij * wi
                dRow[j] = gij * (1 - wi - w[j])
            }
            dRow[i] = 0
            dw[i] += dwi
        }
    }

    /// In place: `p ← (1 − Σ w)·p + w`.
    static func precedenceForward<T: Real>(precedence p: UnsafeMutablePointer<T>, writeWeights w: UnsafePointer<T>,
                                           cells n: Int) {
        let keep = 1 - Kernels.sum(w, count: n)
        for c in 0..<n { p[c] = keep * p[c] + w[c] }
    }

    /// Backward of `precedenceForward`: accumulates into `previousPrecedenceGradient` (N) and
    /// `writeWeightsGradient` (N).
    static func precedenceBackward<T: Real>(previousPrecedence p: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                                            cells n: Int, precedenceGradient g: UnsafePointer<T>,
                                            previousPrecedenceGradient dp: UnsafeMutablePointer<T>,
                                            writeWeightsGradient dw: UnsafeMutablePointer<T>) {
        let keep = 1 - Kernels.sum(w, count: n)
        var inner: T = 0
        for c in 0..<n { inner += g[c] * p[c] }
        for c in 0..<n {
            dp[c] += keep * g[c]
            dw[c] += g[c] - inner
        }
    }

    /// Forward `f_i = L w_i` and backward `b_i = Lᵀ w_i` for all heads.
    /// link: L_t (N×N); readWeights: w^r_{t−1} (R×N); forward, backward: R×N (written).
    static func directionalForward<T: Real>(link: UnsafePointer<T>, readWeights: UnsafePointer<T>, cells n: Int,
                                            readHeads r: Int, forward: UnsafeMutablePointer<T>,
                                            backward: UnsafeMutablePointer<T>) {
        // F = W·Lᵀ (row i is (L w_i)ᵀ), B = W·L (row i is (Lᵀ w_i)ᵀ).
        Kernels.gemm(transB: true, m: r, n: n, k: n, a: readWeights, b: link, beta: 0, c: forward)
        Kernels.gemm(m: r, n: n, k: n, a: readWeights, b: link, beta: 0, c: backward)
    }

    /// Backward of `directionalForward`: `dL += dFᵀ·W + Wᵀ·dB`, `dW += dF·L + dB·Lᵀ` (accumulated).
    static func directionalBackward<T: Real>(link: UnsafePointer<T>, readWeights: UnsafePointer<T>, cells n: Int,
                                             readHeads r: Int, forwardGradient dF: UnsafePointer<T>,
                                             backwardGradient dB: UnsafePointer<T>,
                                             linkGradient dL: UnsafeMutablePointer<T>,
                                             readWeightsGradient dW: UnsafeMutablePointer<T>) {
        Kernels.gemm(transA: true, m: n, n: n, k: r, a: dF, b: readWeights, beta: 1, c: dL)
        Kernels.gemm(transA: true, m: n, n: n, k: r, a: readWeights, b: dB, beta: 1, c: dL)
        Kernels.gemm(m: r, n: n, k: n, a: dF, b: link, beta: 1, c: dW)
        Kernels.gemm(transB: true, m: r, n: n, k: n, a: dB, b: link, beta: 1, c: dW)
    }
}
