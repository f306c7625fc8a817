import DNCNumerics

// GRU with PyTorch's gate order r, z, n:
//   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
//   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),  h' = (1 − z) ⊙ n + z ⊙ h
// Cache per step: r, z, n as [B×3H] (row-major per sample), then W_hn h + b_hn as [B×H].
extension RecurrentLayer {
    /// `scratch` holds B×3H.
    func gruForward(store: ParameterStore<T>, input: UnsafePointer<T>, hiddenPrevious: UnsafePointer<T>,
                    batch: Int, cache: UnsafeMutablePointer<T>, hiddenOut: UnsafeMutablePointer<T>,
                    scratch: UnsafeMutablePointer<T>) {
        let h = hiddenSize
        let gates = cache, hiddenN = cache + batch * 3 * h
        gatePreactivations(store: store, input: input, hidden: hiddenPrevious, batch: batch,
                           into: gates, separateHidden: scratch)
        for b in 0..<batch {
            let gi = gates + b * 3 * h, gh = scratch + b * 3 * h, hn = hiddenN + b * h
            for j in 0..<(2 * h) { gi[j] += gh[j] }
            Kernels.sigmoid(gi, gi, count: 2 * h)
            for j in 0..<h {
                hn[j] = gh[2 * h + j]
                gi[2 * h + j] += gi[j] * hn[j]
            }
            Kernels.tanh(gi + 2 * h, gi + 2 * h, count: h)
            let hp = hiddenPrevious + b * h, out = hiddenOut + b * h
            for j in 0..<h {
                let z = gi[h + j], n = gi[2 * h + j]
                out[j] = (1 - z) * n + z * hp[j]
            }
        }
    }

    /// `dHidden` (B×H) is the total gradient reaching h'. `dInput` (B×in) and `dHiddenPrevious`
    /// (B×H) are overwritten. The gate gradients of the input and hidden products are written to
    /// `dGatesInput` and `dGatesHidden` (B×3H each) for `accumulateWeightGradients`.
    func gruBackward(store: ParameterStore<T>, hiddenPrevious: UnsafePointer<T>,
                     batch: Int, cache: UnsafePointer<T>, dHidden: UnsafePointer<T>,
                     dInput: UnsafeMutablePointer<T>, dHiddenPrevious: UnsafeMutablePointer<T>,
                     dGatesInput: UnsafeMutablePointer<T>, dGatesHidden: UnsafeMutablePointer<T>) {
        let h = hiddenSize
        let gates = cache, hiddenN = cache + batch * 3 * h
        for b in 0..<batch {
            let a = gates + b * 3 * h, hn = hiddenN + b * h, hp = hiddenPrevious + b * h, dh = dHidden + b * h
            let di = dGatesInput + b * 3 * h, dg = dGatesHidden + b * 3 * h
            for j in 0..<h {
                let r = a[j], z = a[h + j], n = a[2 * h + j]
                let dn = dh[j] * (1 - z) * (1 - n * n)
                let dr = dn * hn[j] * r * (1 - r)
                let dz = dh[j] * (hp[j] - n) * z * (1 - z)
                di[j] = dr; di[h + j] = dz; di[2 * h + j] = dn
                dg[j] = dr; dg[h + j] = dz; dg[2 * h + j] = dn * r
            }
        }
        gateBackward(store: store, batch: batch, dGatesInput: dGatesInput, dGatesHidden: dGatesHidden,
                     dInput: dInput, dHidden: dHiddenPrevious)
        // The direct path h → z ⊙ h.
        for b in 0..<batch {
            let z = gates + b * 3 * h + h, dh = dHidden + b * h, dhp = dHiddenPrevious + b * h
            for j in 0..<h { dhp[j] += dh[j] * z[j] }
        }
    }
}
