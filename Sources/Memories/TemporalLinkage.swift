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

    /// Backward of `linkForward`, in place: `gradient` holds dℓ/dL_t (N×N) and is replaced by
    /// dℓ/dL_{t−1}; accumulates into `writeWeightsGradient` (N) and `precedenceGradient`
    /// dℓ/dp_{t−1} (N). `previousLink` is L_{t−1}.
    static func linkBackward<T: Real>(previousLink l: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                                      precedence p: UnsafePointer<T>, cells n: Int,
                                      gradient g: UnsafeMutablePointer<T>,
                                      writeWeightsGradient dw: UnsafeMutablePointer<T>,
                                      precedenceGradient dp: UnsafeMutablePointer<T>) {
        for i in 0..<n {
            linkBackwardRow(i, previousRow: l + i * n, writeWeights: w, precedence: p, cells: n,
                            gradientRow: g + i * n, writeWeightsGradient: dw, precedenceGradient: dp)
        }
    }

    /// Row i of `linkBackward`. Ĝ = G ∘ D: the diagonal gets no gradient, so g[i] is zeroed
    /// first and the row is processed whole (branch-free, vectorised).
    @inline(__always)
    static func linkBackwardRow<T: Real>(_ i: Int, previousRow lRow: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                                         precedence p: UnsafePointer<T>, cells n: Int,
                                         gradientRow gRow: UnsafeMutablePointer<T>,
                                         writeWeightsGradient dw: UnsafeMutablePointer<T>,
                                         precedenceGradient dp: UnsafeMutablePointer<T>) {
        let wi = w[i]
        gRow[i] = 0
        // dℓ/dw_i += Σ_j g_ij (p_j − l_ij).
        let dwi = RowKernels.dotDifference(gRow, p, lRow, count: n)
        // (Two loops: fewer pointers per loop keeps the vectoriser's overlap checks few.)
        for j in 0..<n {
            let gij = gRow[j]
            dw[j] -= gij * lRow[j]
            dp[j] += gij * wi
        }
        for j in 0..<n { gRow[j] *= 1 - wi - w[j] }
        dw[i] += dwi
    }

    // MARK: Fused step

    /// From this N on, the N×N products with the R read weightings go to BLAS; below, they run
    /// fused into the row loops (a BLAS call costs more than the product there).
    nonisolated(unsafe) static var blasCells = 1000

    /// The link part of a forward step for one sample, fused: records L_{t−1} into `previous`
    /// (N×N) while updating `link` in place to L_t (as `linkForward`), then writes the
    /// directional weightings F = W·L_tᵀ and B = W·L_t (as `directionalForward`).
    static func stepForward<T: Real>(link: UnsafeMutablePointer<T>, previous: UnsafeMutablePointer<T>,
                                     writeWeights w: UnsafePointer<T>, precedence p: UnsafePointer<T>,
                                     readWeights wr: UnsafePointer<T>, cells n: Int, readHeads r: Int,
                                     forward f: UnsafeMutablePointer<T>, backward b: UnsafeMutablePointer<T>) {
        let fused = n < blasCells
        if fused { Kernels.fill(b, count: r * n, with: 0) }
        for i in 0..<n {
            let row = link + i * n, prev = previous + i * n, wi = w[i]
            for j in 0..<n {
                let v = row[j]
                prev[j] = v
                row[j] = (1 - wi - w[j]) * v + wi * p[j]
            }
            row[i] = 0
            if fused {
                for k in 0..<r {
                    f[k * n + i] = RowKernels.dot(row, wr + k * n, count: n)
                    let c = wr[k * n + i], bk = b + k * n
                    for j in 0..<n { bk[j] += c * row[j] }
                }
            }
        }
        if !fused { directionalForward(link: link, readWeights: wr, cells: n, readHeads: r, forward: f, backward: b) }
    }

    /// Scratch (reals) that `stepBackward` needs.
    static func stepBackwardScratchSize(cells n: Int, readHeads r: Int) -> Int {
        n < blasCells ? n : n * n + 4 * r * n
    }

    /// The link part of a backward step for one sample: the directional weightings, then the
    /// link update (as `directionalBackward` on L_t recomputed from L_{t−1}, then
    /// `linkBackward`).
    /// - previousLink: L_{t−1}; writeWeights: w^w_t; precedence: p_{t−1}; readWeights: w^r_{t−1}.
    /// - forwardGradient, backwardGradient: dℓ/dF, dℓ/dB (R×N).
    /// - linkGradient: dℓ/dL_t in, replaced by dℓ/dL_{t−1}.
    /// - Accumulates into readWeightsGradient (R×N), writeWeightsGradient (N), precedenceGradient (N).
    static func stepBackward<T: Real>(previousLink l: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                                      precedence p: UnsafePointer<T>, readWeights wr: UnsafePointer<T>,
                                      cells n: Int, readHeads r: Int,
                                      forwardGradient dF: UnsafePointer<T>, backwardGradient dB: UnsafePointer<T>,
                                      linkGradient g: UnsafeMutablePointer<T>,
                                      readWeightsGradient dwr: UnsafeMutablePointer<T>,
                                      writeWeightsGradient dw: UnsafeMutablePointer<T>,
                                      precedenceGradient dp: UnsafeMutablePointer<T>,
                                      scratch: UnsafeMutablePointer<T>) {
        if n < blasCells {
            let lt = scratch
            for i in 0..<n {
                let lRow = l + i * n, gRow = g + i * n, wi = w[i]
                // Row i of L_t.
                for j in 0..<n { lt[j] = (1 - wi - w[j]) * lRow[j] + wi * p[j] }
                lt[i] = 0
                // dL_t += dFᵀ·W + Wᵀ·dB (row i), dW += dF·L_t + dB·L_tᵀ.
                for k in 0..<r {
                    let a = dF[k * n + i], c = wr[k * n + i]
                    let wk = wr + k * n, dBk = dB + k * n, dwk = dwr + k * n
                    for j in 0..<n { gRow[j] += a * wk[j] + c * dBk[j] }
                    for j in 0..<n { dwk[j] += a * lt[j] }
                    dwk[i] += RowKernels.dot(dBk, lt, count: n)
                }
                linkBackwardRow(i, previousRow: lRow, writeWeights: w, precedence: p, cells: n, gradientRow: gRow,
                                writeWeightsGradient: dw, precedenceGradient: dp)
            }
            return
        }
        // Large N: L_t once, then BLAS for the products, then the link rows.
        let lt = scratch, packA = scratch + n * n, packB = packA + 2 * r * n
        for i in 0..<n {
            let lRow = l + i * n, row = lt + i * n, wi = w[i]
            for j in 0..<n { row[j] = (1 - wi - w[j]) * lRow[j] + wi * p[j] }
            row[i] = 0
        }
        Kernels.gemm(m: r, n: n, k: n, a: dF, b: lt, beta: 1, c: dwr)
        Kernels.gemm(transB: true, m: r, n: n, k: n, a: dB, b: lt, beta: 1, c: dwr)
        // dL_t += [dF; W]ᵀ·[W; dB]: both rank-R updates in one product.
        packA.update(from: dF, count: r * n)
        (packA + r * n).update(from: wr, count: r * n)
        packB.update(from: wr, count: r * n)
        (packB + r * n).update(from: dB, count: r * n)
        Kernels.gemm(transA: true, m: n, n: n, k: 2 * r, a: packA, b: packB, beta: 1, c: g)
        linkBackward(previousLink: l, writeWeights: w, precedence: p, cells: n, gradient: g,
                     writeWeightsGradient: dw, precedenceGradient: dp)
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
