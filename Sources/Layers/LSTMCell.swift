import DNCNumerics

// LSTM with PyTorch's gate order i, f, g, o (rows [0,H) i, [H,2H) f, [2H,3H) g, [3H,4H) o):
//   z = W_ih x + b_ih + W_hh h + b_hh
//   c' = σ(z_f) ⊙ c + σ(z_i) ⊙ tanh(z_g),   h' = σ(z_o) ⊙ tanh(c')
// Cache per step (block-major, B rows each): activated gates [B×4H], c' [B×H], tanh(c') [B×H].
extension RecurrentLayer {
    func lstmForward(store: ParameterStore<T>, input: UnsafePointer<T>, hiddenPrevious: UnsafePointer<T>,
                     cellPrevious: UnsafePointer<T>, batch: Int, cache: UnsafeMutablePointer<T>,
                     hiddenOut: UnsafeMutablePointer<T>, cellOut: UnsafeMutablePointer<T>) {
        let h = hiddenSize
        let gates = cache, cell = cache + batch * 4 * h, tanhCell = cell + batch * h
        gatePreactivations(store: store, input: input, hidden: hiddenPrevious, batch: batch, into: gates)
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
            for j in 0..<h {
                let i = a[j], f = a[h + j], g = a[2 * h + j], o = a[3 * h + j]
                let dcTotal = dc[j] + dh[j] * o * (1 - tc[j] * tc[j])
                dz[j] = dcTotal * g * i * (1 - i)
                dz[h + j] = dcTotal * cp[j] * f * (1 - f)
                dz[2 * h + j] = dcTotal * i * (1 - g * g)
                dz[3 * h + j] = dh[j] * tc[j] * o * (1 - o)
                dc[j] = dcTotal * f
            }
        }
        gateBackward(store: store, batch: batch, dGatesInput: dGates, dInput: dInput, dHidden: dHiddenPrevious)
    }
}
