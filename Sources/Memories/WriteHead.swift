import DNCNumerics

/// The write weighting and the erase-then-add memory update of the single write head, with
/// their backward passes (docs/dense-memory.md: Write weights, Erase and add, Backward pass). One sample.
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
        if T.self == Float.self {
            floatEraseAndAdd(previous: UnsafeRawPointer(previous), memory: UnsafeMutableRawPointer(memory),
                             writeWeights: UnsafeRawPointer(w), erase: UnsafeRawPointer(e), write: UnsafeRawPointer(v),
                             cells: n, width: width)
            return
        }
        for i in 0..<n {
            let old = previous + i * width, row = memory + i * width, wi = w[i]
            if wi == 0 {
                if UnsafePointer(row) != old { row.update(from: old, count: width) }
                continue
            }
            for j in 0..<width { row[j] = old[j] * (1 - wi * e[j]) + wi * v[j] }
        }
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
        if T.self == Float.self {
            floatEraseAndAddBackward(previousMemory: UnsafeRawPointer(m), writeWeights: UnsafeRawPointer(w),
                                     erase: UnsafeRawPointer(e), write: UnsafeRawPointer(v), cells: n, width: width,
                                     memoryGradient: UnsafeRawPointer(g), previousMemoryGradient: UnsafeMutableRawPointer(dM),
                                     writeWeightsGradient: UnsafeMutableRawPointer(dw),
                                     eraseGradient: UnsafeMutableRawPointer(de), writeVectorGradient: UnsafeMutableRawPointer(dv))
            return
        }
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

    // MARK: Float

    private typealias V = SIMD4<Float>

    /// `eraseAndAdd` for Float: explicit `SIMD4` rows (no per-row overlap checks; the same
    /// arithmetic per element).
    private static func floatEraseAndAdd(previous: UnsafeRawPointer, memory: UnsafeMutableRawPointer,
                                         writeWeights w: UnsafeRawPointer, erase e: UnsafeRawPointer,
                                         write v: UnsafeRawPointer, cells n: Int, width: Int) {
        let ws = w.assumingMemoryBound(to: Float.self), es = e.assumingMemoryBound(to: Float.self)
        let vs = v.assumingMemoryBound(to: Float.self)
        let rowBytes = width &* 4, vectorEnd = width & ~3
        for i in 0..<n {
            let old = previous + i &* rowBytes, row = memory + i &* rowBytes, wi = ws[i]
            if wi == 0 {
                if UnsafeRawPointer(row) != old { row.copyMemory(from: old, byteCount: rowBytes) }
                continue
            }
            let vw = V(repeating: wi)
            var j = 0
            while j < vectorEnd {
                let o = j &* 4
                let ev = e.loadUnaligned(fromByteOffset: o, as: V.self), vv = v.loadUnaligned(fromByteOffset: o, as: V.self)
                let mv = old.loadUnaligned(fromByteOffset: o, as: V.self)
                row.storeBytes(of: mv * (1 - vw * ev) + vw * vv, toByteOffset: o, as: V.self)
                j &+= 4
            }
            let olds = old.assumingMemoryBound(to: Float.self), rows = row.assumingMemoryBound(to: Float.self)
            while j < width { rows[j] = olds[j] * (1 - wi * es[j]) + wi * vs[j]; j &+= 1 }
        }
    }

    /// `eraseAndAddBackward` for Float, one `SIMD4` pass per row (the same arithmetic per element;
    /// `dM` may be `g`).
    private static func floatEraseAndAddBackward(previousMemory m: UnsafeRawPointer, writeWeights w: UnsafeRawPointer,
                                                 erase e: UnsafeRawPointer, write v: UnsafeRawPointer,
                                                 cells n: Int, width: Int, memoryGradient g: UnsafeRawPointer,
                                                 previousMemoryGradient dM: UnsafeMutableRawPointer,
                                                 writeWeightsGradient dw: UnsafeMutableRawPointer,
                                                 eraseGradient de: UnsafeMutableRawPointer,
                                                 writeVectorGradient dv: UnsafeMutableRawPointer) {
        let ws = w.assumingMemoryBound(to: Float.self), es = e.assumingMemoryBound(to: Float.self)
        let vs = v.assumingMemoryBound(to: Float.self), dws = dw.assumingMemoryBound(to: Float.self)
        let des = de.assumingMemoryBound(to: Float.self), dvs = dv.assumingMemoryBound(to: Float.self)
        let rowBytes = width &* 4, vectorEnd = width & ~3
        for i in 0..<n {
            let row = m + i &* rowBytes, gRow = g + i &* rowBytes, dRow = dM + i &* rowBytes, wi = ws[i]
            let vw = V(repeating: wi)
            var s = V(), j = 0
            // dℓ/dw_i = Σ_j g_ij (v_j − M_ij e_j).
            if wi != 0 {
                while j < vectorEnd {
                    let o = j &* 4
                    let gv = gRow.loadUnaligned(fromByteOffset: o, as: V.self), mv = row.loadUnaligned(fromByteOffset: o, as: V.self)
                    let ev = e.loadUnaligned(fromByteOffset: o, as: V.self)
                    s += gv * (v.loadUnaligned(fromByteOffset: o, as: V.self) - mv * ev)
                    de.storeBytes(of: de.loadUnaligned(fromByteOffset: o, as: V.self) - gv * mv * vw, toByteOffset: o, as: V.self)
                    dv.storeBytes(of: dv.loadUnaligned(fromByteOffset: o, as: V.self) + gv * vw, toByteOffset: o, as: V.self)
                    dRow.storeBytes(of: gv * (1 - vw * ev), toByteOffset: o, as: V.self)
                    j &+= 4
                }
            } else {
                while j < vectorEnd {
                    let o = j &* 4
                    let gv = gRow.loadUnaligned(fromByteOffset: o, as: V.self), mv = row.loadUnaligned(fromByteOffset: o, as: V.self)
                    s += gv * (v.loadUnaligned(fromByteOffset: o, as: V.self) - mv * e.loadUnaligned(fromByteOffset: o, as: V.self))
                    dRow.storeBytes(of: gv, toByteOffset: o, as: V.self)
                    j &+= 4
                }
            }
            var dwi = s.sum()
            let rows = row.assumingMemoryBound(to: Float.self), gs = gRow.assumingMemoryBound(to: Float.self)
            let dRows = dRow.assumingMemoryBound(to: Float.self)
            while j < width {
                let gij = gs[j]
                dwi += gij * (vs[j] - rows[j] * es[j])
                if wi != 0 {
                    des[j] -= gij * rows[j] * wi
                    dvs[j] += gij * wi
                }
                dRows[j] = gij * (1 - wi * es[j])
                j &+= 1
            }
            dws[i] += dwi
        }
    }
}
