import DNCNumerics

/// Temporal link matrix, precedence and the directional read weightings (docs/dense-memory.md:
/// Temporal link matrix and precedence, Read modes and read weights) with their backward passes
/// (Backward pass). One sample; the link update is an O(N²)
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

    /// `L_t` from `L_{t−1}` into a separate buffer, with exactly the arithmetic of the forward
    /// step (the backward and the debug record recompute the links the tape does not keep).
    static func link<T: Real>(previous: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                              precedence p: UnsafePointer<T>, cells n: Int, out link: UnsafeMutablePointer<T>) {
        for i in 0..<n {
            let row = link + i * n, prev = previous + i * n, wi = w[i]
            if T.self == Float.self {
                floatLinkRow(out: UnsafeMutableRawPointer(row), copy: nil, link: UnsafeRawPointer(prev),
                             writeWeights: UnsafeRawPointer(w), precedence: UnsafeRawPointer(p), wi: unsafeBitCast(wi, to: Float.self),
                             cells: n)
            } else {
                for j in 0..<n { row[j] = (1 - wi - w[j]) * prev[j] + wi * p[j] }
            }
            row[i] = 0
        }
    }

    /// Backward of `linkForward`, in place: `gradient` holds dℓ/dL_t (N×N) and is replaced by
    /// dℓ/dL_{t−1}; accumulates into `writeWeightsGradient` (N) and `precedenceGradient`
    /// dℓ/dp_{t−1} (N). `previousLink` is L_{t−1}.
    static func linkBackward<T: Real>(previousLink l: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                                      precedence p: UnsafePointer<T>, cells n: Int,
                                      gradient g: UnsafeMutablePointer<T>,
                                      writeWeightsGradient dw: UnsafeMutablePointer<T>,
                                      precedenceGradient dp: UnsafeMutablePointer<T>,
                                      link linkOut: UnsafeMutablePointer<T>? = nil) {
        for i in 0..<n {
            linkBackwardRow(i, previousRow: l + i * n, writeWeights: w, precedence: p, cells: n,
                            gradientRow: g + i * n, writeWeightsGradient: dw, precedenceGradient: dp,
                            linkRow: linkOut.map { $0 + i * n })
        }
    }

    /// Row i of `linkBackward`. Ĝ = G ∘ D: the diagonal gets no gradient, so g[i] is zeroed
    /// first and the row is processed whole (branch-free, vectorised). With `linkRow`, also
    /// writes row i of L_t there (as `linkForward`), from the same pass over L_{t−1}.
    @inline(__always)
    static func linkBackwardRow<T: Real>(_ i: Int, previousRow lRow: UnsafePointer<T>, writeWeights w: UnsafePointer<T>,
                                         precedence p: UnsafePointer<T>, cells n: Int,
                                         gradientRow gRow: UnsafeMutablePointer<T>,
                                         writeWeightsGradient dw: UnsafeMutablePointer<T>,
                                         precedenceGradient dp: UnsafeMutablePointer<T>,
                                         linkRow: UnsafeMutablePointer<T>?) {
        gRow[i] = 0
        if T.self == Float.self {
            floatLinkBackwardRow(i, previousRow: UnsafeRawPointer(lRow), writeWeights: UnsafeRawPointer(w),
                                 precedence: UnsafeRawPointer(p), cells: n, gradientRow: UnsafeMutableRawPointer(gRow),
                                 writeWeightsGradient: UnsafeMutableRawPointer(dw),
                                 precedenceGradient: UnsafeMutableRawPointer(dp),
                                 linkRow: linkRow.map { UnsafeMutableRawPointer($0) })
            linkRow?[i] = 0
            return
        }
        let wi = w[i]
        if let linkRow {
            for j in 0..<n { linkRow[j] = (1 - wi - w[j]) * lRow[j] + wi * p[j] }
            linkRow[i] = 0
        }
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

    /// `linkBackwardRow` for Float in one `SIMD4` pass (the same arithmetic per element).
    @inline(__always)
    static func floatLinkBackwardRow(_ i: Int, previousRow l: UnsafeRawPointer, writeWeights w: UnsafeRawPointer,
                                     precedence p: UnsafeRawPointer, cells n: Int, gradientRow g: UnsafeMutableRawPointer,
                                     writeWeightsGradient dw: UnsafeMutableRawPointer,
                                     precedenceGradient dp: UnsafeMutableRawPointer,
                                     linkRow lt: UnsafeMutableRawPointer?) {
        typealias V = SIMD4<Float>
        let ws = w.assumingMemoryBound(to: Float.self)
        let wi = ws[i], keep = 1 - wi, vwi = V(repeating: wi), vkeep = V(repeating: keep)
        var s0 = V(), s1 = V(), j = 0
        @inline(__always) func chunk(_ j: Int, _ s: inout V, _ lt: UnsafeMutableRawPointer?) {
            let o = j &* 4
            let gv = g.loadUnaligned(fromByteOffset: o, as: V.self), lv = l.loadUnaligned(fromByteOffset: o, as: V.self)
            let pv = p.loadUnaligned(fromByteOffset: o, as: V.self), c = vkeep - w.loadUnaligned(fromByteOffset: o, as: V.self)
            s += gv * (pv - lv)
            dw.storeBytes(of: dw.loadUnaligned(fromByteOffset: o, as: V.self) - gv * lv, toByteOffset: o, as: V.self)
            dp.storeBytes(of: dp.loadUnaligned(fromByteOffset: o, as: V.self) + gv * vwi, toByteOffset: o, as: V.self)
            g.storeBytes(of: gv * c, toByteOffset: o, as: V.self)
            lt?.storeBytes(of: c * lv + vwi * pv, toByteOffset: o, as: V.self)
        }
        if let lt {
            while j &+ 8 <= n { chunk(j, &s0, lt); chunk(j &+ 4, &s1, lt); j &+= 8 }
            if j &+ 4 <= n { chunk(j, &s0, lt); j &+= 4 }
        } else {
            while j &+ 8 <= n { chunk(j, &s0, nil); chunk(j &+ 4, &s1, nil); j &+= 8 }
            if j &+ 4 <= n { chunk(j, &s0, nil); j &+= 4 }
        }
        var dwi = (s0 + s1).sum()
        let gs = g.assumingMemoryBound(to: Float.self), ls = l.assumingMemoryBound(to: Float.self)
        let ps = p.assumingMemoryBound(to: Float.self), lts = lt?.assumingMemoryBound(to: Float.self)
        let dws = dw.assumingMemoryBound(to: Float.self), dps = dp.assumingMemoryBound(to: Float.self)
        while j < n {
            let gij = gs[j], lij = ls[j], c = keep - ws[j]
            dwi += gij * (ps[j] - lij)
            dws[j] -= gij * lij
            dps[j] += gij * wi
            gs[j] = gij * c
            lts?[j] = c * lij + wi * ps[j]
            j &+= 1
        }
        dws[i] += dwi
    }

    // MARK: Step

    /// The link part of a forward step for one sample: updates `link` in place to L_t (as
    /// `linkForward`, recording L_{t−1} into `previous` (N×N) in the same pass when given), then
    /// writes the directional weightings F = W·L_tᵀ and B = W·L_t (`directionalForward`).
    static func stepForward<T: Real>(link: UnsafeMutablePointer<T>, previous: UnsafeMutablePointer<T>?,
                                     writeWeights w: UnsafePointer<T>, precedence p: UnsafePointer<T>,
                                     readWeights wr: UnsafePointer<T>, cells n: Int, readHeads r: Int,
                                     forward f: UnsafeMutablePointer<T>, backward b: UnsafeMutablePointer<T>) {
        for i in 0..<n {
            let row = link + i * n, prev = previous.map { $0 + i * n }, wi = w[i]
            if T.self == Float.self {
                floatLinkRow(out: UnsafeMutableRawPointer(row), copy: prev.map { UnsafeMutableRawPointer($0) },
                             link: UnsafeRawPointer(row), writeWeights: UnsafeRawPointer(w), precedence: UnsafeRawPointer(p),
                             wi: unsafeBitCast(wi, to: Float.self), cells: n)
            } else {
                for j in 0..<n {
                    let v = row[j]
                    prev?[j] = v
                    row[j] = (1 - wi - w[j]) * v + wi * p[j]
                }
            }
            row[i] = 0
        }
        directionalForward(link: link, readWeights: wr, cells: n, readHeads: r, forward: f, backward: b)
    }

    /// Scratch (reals) that `stepBackward` needs.
    static func stepBackwardScratchSize(cells n: Int, readHeads r: Int) -> Int {
        n * n + 4 * r * n
    }

    /// The link part of a backward step for one sample, as `directionalBackward` (on L_t,
    /// recomputed from L_{t−1}) followed by `linkBackward`: first dL_t += dFᵀ·W + Wᵀ·dB, then
    /// one pass over the rows that propagates dL_t and recomputes L_t, then dW += dF·L_t + dB·L_tᵀ.
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
        // dL_t += [dF; W]ᵀ·[W; dB]: both rank-R updates in one product.
        let lt = scratch, packA = scratch + n * n, packB = packA + 2 * r * n
        packA.update(from: dF, count: r * n)
        (packA + r * n).update(from: wr, count: r * n)
        packB.update(from: wr, count: r * n)
        (packB + r * n).update(from: dB, count: r * n)
        Kernels.gemm(transA: true, m: n, n: n, k: 2 * r, a: packA, b: packB, beta: 1, c: g)
        // The link rows, recomputing L_t in the same pass over L_{t−1}; then dW += dF·L_t + dB·L_tᵀ.
        linkBackward(previousLink: l, writeWeights: w, precedence: p, cells: n, gradient: g,
                     writeWeightsGradient: dw, precedenceGradient: dp, link: lt)
        Kernels.gemm(m: r, n: n, k: n, a: dF, b: lt, beta: 1, c: dwr)
        Kernels.gemm(transB: true, m: r, n: n, k: n, a: dB, b: lt, beta: 1, c: dwr)
    }

    /// Row i of the link update for Float in `SIMD4`: copies the old row `l` to `copy` (when
    /// given), then `out[j] = (1 − w_i − w_j)·l[j] + w_i·p[j]` (the diagonal is the caller's).
    /// `out` may be `l`.
    @inline(__always)
    static func floatLinkRow(out: UnsafeMutableRawPointer, copy: UnsafeMutableRawPointer?, link l: UnsafeRawPointer,
                             writeWeights w: UnsafeRawPointer, precedence p: UnsafeRawPointer, wi: Float, cells n: Int) {
        typealias V = SIMD4<Float>
        let keep = 1 - wi, vkeep = V(repeating: keep), vwi = V(repeating: wi)
        let vectorEnd = n & ~3
        @inline(__always) func row(_ copy: UnsafeMutableRawPointer?) {
            var j = 0
            while j < vectorEnd {
                let o = j &* 4
                let lv = l.loadUnaligned(fromByteOffset: o, as: V.self)
                copy?.storeBytes(of: lv, toByteOffset: o, as: V.self)
                out.storeBytes(of: (vkeep - w.loadUnaligned(fromByteOffset: o, as: V.self)) * lv
                                   + vwi * p.loadUnaligned(fromByteOffset: o, as: V.self), toByteOffset: o, as: V.self)
                j &+= 4
            }
            let ls = l.assumingMemoryBound(to: Float.self), ws = w.assumingMemoryBound(to: Float.self)
            let ps = p.assumingMemoryBound(to: Float.self), outs = out.assumingMemoryBound(to: Float.self)
            let copies = copy?.assumingMemoryBound(to: Float.self)
            while j < n {
                let v = ls[j]
                copies?[j] = v
                outs[j] = (keep - ws[j]) * v + wi * ps[j]
                j &+= 1
            }
        }
        // Two instances, so that the loop without a copy has no test in it.
        if let copy { row(copy) } else { row(nil) }
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
