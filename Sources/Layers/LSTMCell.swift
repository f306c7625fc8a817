import DNCNumerics

// LSTM with PyTorch's gate order i, f, g, o (rows [0,H) i, [H,2H) f, [2H,3H) g, [3H,4H) o):
//   z = W_ih x + b_ih + W_hh h + b_hh
//   c' = σ(z_f) ⊙ c + σ(z_i) ⊙ tanh(z_g),   h' = σ(z_o) ⊙ tanh(c')
// Cache per step (block-major, B rows each): activated gates [B×4H], c' [B×H], tanh(c') [B×H].
extension RecurrentLayer {
    /// `scratch` holds B·(in + H) values.
    func lstmForward(store: ParameterStore<T>, input: UnsafePointer<T>, hiddenPrevious: UnsafePointer<T>,
                     cellPrevious: UnsafePointer<T>, batch: Int, cache: UnsafeMutablePointer<T>,
                     hiddenOut: UnsafeMutablePointer<T>, cellOut: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>) {
        let h = hiddenSize
        let gates = cache, cell = cache + batch * 4 * h, tanhCell = cell + batch * h
        gatePreactivations(store: store, input: input, hidden: hiddenPrevious, batch: batch, into: gates, rowScratch: scratch)
        for b in 0..<batch {
            let row = gates + b * 4 * h
            Kernels.sigmoid(row, row, count: 2 * h)
            Kernels.tanh(row + 2 * h, row + 2 * h, count: h)
            Kernels.sigmoid(row + 3 * h, row + 3 * h, count: h)
            let c = cell + b * h, cp = cellPrevious + b * h
            for j in 0..<h { c[j] = row[h + j] * cp[j] + row[j] * row[2 * h + j] }
        }
        Kernels.tanh(cell, tanhCell, count: batch * h)
        for b in 0..<batch {
            let o = gates + b * 4 * h + 3 * h, tc = tanhCell + b * h, out = hiddenOut + b * h
            for j in 0..<h { out[j] = o[j] * tc[j] }
        }
        cellOut.update(from: cell, count: batch * h)
    }

    /// `dHidden` is the total gradient reaching h' (B×H); `dCell` holds the gradient reaching c'
    /// from the next step and is replaced by the gradient of c. `dInput` (B×in) and
    /// `dHiddenPrevious` (B×H) are overwritten. The gate gradients are written to `dGates`
    /// (B×4H) for `accumulateWeightGradients`.
    func lstmBackward(store: ParameterStore<T>, cellPrevious: UnsafePointer<T>, batch: Int, cache: UnsafePointer<T>,
                      dHidden: UnsafePointer<T>, dCell: UnsafeMutablePointer<T>,
                      dInput: UnsafeMutablePointer<T>, dHiddenPrevious: UnsafeMutablePointer<T>,
                      dGates: UnsafeMutablePointer<T>) {
        let h = hiddenSize
        let gates = cache, tanhCell = cache + batch * 5 * h
        for b in 0..<batch {
            let a = gates + b * 4 * h, dz = dGates + b * 4 * h
            let tc = tanhCell + b * h, dh = dHidden + b * h, dc = dCell + b * h, cp = cellPrevious + b * h
            if T.self == Float.self {
                Self.floatGateGradients(activated: UnsafeRawPointer(a), tanhCell: UnsafeRawPointer(tc),
                                        dHidden: UnsafeRawPointer(dh), dCell: UnsafeMutableRawPointer(dc),
                                        cellPrevious: UnsafeRawPointer(cp), dGates: UnsafeMutableRawPointer(dz), hidden: h)
            } else {
                Self.gateGradients(activated: a, tanhCell: tc, dHidden: dh, dCell: dc, cellPrevious: cp, dGates: dz,
                                   hidden: h, from: 0)
            }
        }
        gateBackward(store: store, batch: batch, dGatesInput: dGates, dInput: dInput, dHidden: dHiddenPrevious)
    }

    /// One sample's gate gradients for Float in `SIMD4` (the same arithmetic per element as the
    /// generic loop, whose eight pointers kept it scalar).
    @inline(__always)
    static func floatGateGradients(activated a: UnsafeRawPointer, tanhCell tc: UnsafeRawPointer,
                                   dHidden dh: UnsafeRawPointer, dCell dc: UnsafeMutableRawPointer,
                                   cellPrevious cp: UnsafeRawPointer, dGates dz: UnsafeMutableRawPointer, hidden h: Int) {
        typealias V = SIMD4<Float>
        let block = h &* 4, one = V(repeating: 1)
        var j = 0
        while j &+ 4 <= h {
            let o = j &* 4
            let i = a.loadUnaligned(fromByteOffset: o, as: V.self), f = a.loadUnaligned(fromByteOffset: block &+ o, as: V.self)
            let g = a.loadUnaligned(fromByteOffset: 2 &* block &+ o, as: V.self)
            let out = a.loadUnaligned(fromByteOffset: 3 &* block &+ o, as: V.self)
            let t = tc.loadUnaligned(fromByteOffset: o, as: V.self), dhv = dh.loadUnaligned(fromByteOffset: o, as: V.self)
            let dcTotal = dc.loadUnaligned(fromByteOffset: o, as: V.self) + dhv * out * (one - t * t)
            dz.storeBytes(of: dcTotal * g * i * (one - i), toByteOffset: o, as: V.self)
            dz.storeBytes(of: dcTotal * cp.loadUnaligned(fromByteOffset: o, as: V.self) * f * (one - f),
                          toByteOffset: block &+ o, as: V.self)
            dz.storeBytes(of: dcTotal * i * (one - g * g), toByteOffset: 2 &* block &+ o, as: V.self)
            dz.storeBytes(of: dhv * t * out * (one - out), toByteOffset: 3 &* block &+ o, as: V.self)
            dc.storeBytes(of: dcTotal * f, toByteOffset: o, as: V.self)
            j &+= 4
        }
        RecurrentLayer<Float>.gateGradients(
            activated: a.assumingMemoryBound(to: Float.self), tanhCell: tc.assumingMemoryBound(to: Float.self),
            dHidden: dh.assumingMemoryBound(to: Float.self), dCell: dc.assumingMemoryBound(to: Float.self),
            cellPrevious: cp.assumingMemoryBound(to: Float.self), dGates: dz.assumingMemoryBound(to: Float.self),
            hidden: h, from: j)
    }

    /// One sample's gate gradients from element `start` on: dz (4H) from the activated gates,
    /// tanh(c'), dℓ/dh' and dℓ/dc' (replaced by dℓ/dc).
    @inline(__always)
    static func gateGradients(activated a: UnsafePointer<T>, tanhCell tc: UnsafePointer<T>, dHidden dh: UnsafePointer<T>,
                              dCell dc: UnsafeMutablePointer<T>, cellPrevious cp: UnsafePointer<T>,
                              dGates dz: UnsafeMutablePointer<T>, hidden h: Int, from start: Int) {
        for j in start..<h {
            let i = a[j], f = a[h + j], g = a[2 * h + j], o = a[3 * h + j]
            let dcTotal = dc[j] + dh[j] * o * (1 - tc[j] * tc[j])
            dz[j] = dcTotal * g * i * (1 - i)
            dz[h + j] = dcTotal * cp[j] * f * (1 - f)
            dz[2 * h + j] = dcTotal * i * (1 - g * g)
            dz[3 * h + j] = dh[j] * tc[j] * o * (1 - o)
            dc[j] = dcTotal * f
        }
    }
}
