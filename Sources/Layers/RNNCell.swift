import DNCNumerics

// Vanilla RNN: h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu.
// Cache per step: h' [B×H].
extension RecurrentLayer {
    /// `scratch` holds B·(in + H) values.
    func rnnForward(store: ParameterStore<T>, input: UnsafePointer<T>, hiddenPrevious: UnsafePointer<T>,
                    batch: Int, activation: RecurrentCellKind.RNNActivation,
                    cache: UnsafeMutablePointer<T>, hiddenOut: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>) {
        let n = batch * hiddenSize
        gatePreactivations(store: store, input: input, hidden: hiddenPrevious, batch: batch, into: cache, rowScratch: scratch)
        switch activation {
        case .tanh: Kernels.tanh(cache, cache, count: n)
        case .relu: Kernels.relu(cache, cache, count: n)
        }
        hiddenOut.update(from: cache, count: n)
    }

    /// The pre-activation gradient is written to `dGates` (B×H) for `accumulateWeightGradients`.
    func rnnBackward(store: ParameterStore<T>, batch: Int, activation: RecurrentCellKind.RNNActivation,
                     cache: UnsafePointer<T>, dHidden: UnsafePointer<T>, dInput: UnsafeMutablePointer<T>,
                     dHiddenPrevious: UnsafeMutablePointer<T>, dGates: UnsafeMutablePointer<T>) {
        let n = batch * hiddenSize
        switch activation {
        case .tanh: for i in 0..<n { dGates[i] = dHidden[i] * (1 - cache[i] * cache[i]) }
        case .relu: for i in 0..<n { dGates[i] = cache[i] > 0 ? dHidden[i] : 0 }
        }
        gateBackward(store: store, batch: batch, dGatesInput: dGates, dInput: dInput, dHidden: dHiddenPrevious)
    }
}
