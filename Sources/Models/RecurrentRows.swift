import DNCNumerics
import DNCLayers

/// The rows of a recurrent state that belong to finished samples, saved so that a step can be
/// undone for them (variable-length batches).
struct RecurrentRows<T: Real> {
    let inactive: [Int]
    let hiddenSize: Int
    let layers: Int
    let batch: Int
    private var saved: RecurrentState<T>

    init?(saving state: RecurrentState<T>, inactive flags: [Bool]) {
        let rows = flags.indices.filter { !flags[$0] }
        if rows.isEmpty { return nil }
        inactive = rows
        saved = state
        layers = state.hidden.shape[0]; batch = state.hidden.shape[1]; hiddenSize = state.hidden.shape[2]
    }

    private func copyRows(from source: Tensor<T>, into target: inout Tensor<T>) {
        for l in 0..<layers { for b in inactive { for j in 0..<hiddenSize {
            let i = (l * batch + b) * hiddenSize + j
            target[flat: i] = source[flat: i]
        } } }
    }

    /// Puts the saved rows back.
    func restore(into state: inout RecurrentState<T>) {
        copyRows(from: saved.hidden, into: &state.hidden)
        if let cell = saved.cell { copyRows(from: cell, into: &state.cell!) }
    }

    /// Zeroes the inactive rows of `state`.
    func zero(in state: inout RecurrentState<T>) {
        let zeros = Tensor<T>(shape: saved.hidden.shape)
        copyRows(from: zeros, into: &state.hidden)
        if state.cell != nil { copyRows(from: zeros, into: &state.cell!) }
    }

    /// Zeroes the inactive rows of a B × width matrix.
    func zeroRows(_ matrix: UnsafeMutablePointer<T>, width: Int) {
        for b in inactive { Kernels.fill(matrix + b * width, count: width, with: 0) }
    }
}
