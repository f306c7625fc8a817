import XCTest
import TestSupport
import DNCNumerics
@testable import DNCModels

/// Finite-difference check of a whole DNC (parameters and input; batch 2, 4 steps of width 3)
/// whose selections cannot change under the step: for the sparse memories, K = N and K_L above
/// the cells a 4-step sequence uses.
func sparseModelGradientCheck(_ c: DNCConfiguration, label: String, file: StaticString = #filePath, line: UInt = #line) {
    let model = DNC<Double>(c, seed: 5)
    let random = CounterRandom(seed: 5)
    for slot in model.store.slots { model.store.initializeUniform(slot, bound: 0.6, random: random, stream: 9) }
    var input = Tensor<Double>(shape: [2, 4, 3], storage: (0..<24).map { random.uniform(Double.self, stream: 1, index: UInt64($0), low: -1, high: 1) })
    let weights = Tensor<Double>(shape: [2, 4, 3], storage: (0..<24).map { random.uniform(Double.self, stream: 2, index: UInt64($0), low: -1, high: 1) })
    func loss() -> Double {
        let output = model.forward(input, recordForBackward: false).output
        return zip(output.storage, weights.storage).reduce(0) { $0 + $1.0 * $1.1 }
    }
    model.store.zeroGradients()
    _ = model.forward(input)
    let gradients = model.backward(outputGradient: weights)
    let store = model.store
    let parameters = store.flatValues
    XCTAssertTrue(store.slots.contains { $0.name.hasPrefix("rnn_layer_memory") }, file: file, line: line)
    GradientCheck.compare(point: parameters, analytic: store.flatGradients, step: 1e-4, floor: 1e-4, label: "\(label) parameters",
                          file: file, line: line) { x in
        for (i, v) in x.enumerated() { store.values[i] = v }
        defer { for (i, v) in parameters.enumerated() { store.values[i] = v } }
        return loss()
    }
    let original = input
    GradientCheck.compare(point: input.storage, analytic: gradients.input.storage, step: 1e-4, floor: 1e-4, label: "\(label) input",
                          file: file, line: line) { x in
        input.storage = x
        defer { input = original }
        return loss()
    }
}

/// After forward and backward the sparse state is the end of the forward pass (the backward
/// rolls back, then the model restores), so a chunked stream continues exactly as it would
/// without the backward.
func sparseStateAfterBackwardContinues(_ c: DNCConfiguration, label: String, file: StaticString = #filePath, line: UInt = #line) {
    let model = DNC<Double>(c, seed: 3), reference = DNC<Double>(c, seed: 3)
    let random = CounterRandom(seed: 3)
    let x = Tensor<Double>(shape: [2, 8, 3], storage: (0..<48).map { random.uniform(Double.self, stream: 1, index: UInt64($0), low: -1, high: 1) })
    let first = timeSteps(x, 0..<4), second = timeSteps(x, 4..<8)
    // Reference: the two chunks without any backward in between.
    let a = reference.forward(first, recordForBackward: false)
    // The same with a training backward after the first chunk.
    let trained = model.forward(first)
    _ = model.backward(outputGradient: Tensor(shape: trained.output.shape, repeating: 1))
    XCTAssertTrue(zip(trained.state.sparse, a.state.sparse).allSatisfy { $0.isIdentical(to: $1) },
                  "\(label): the state after the backward", file: file, line: line)
    let b = reference.forward(second, state: a.state, recordForBackward: false)
    let continued = model.forward(second, state: trained.state, recordForBackward: false)
    XCTAssertEqual(continued.output, b.output, label, file: file, line: line)
}

/// (B, T, X) steps [start, end) along T.
func timeSteps(_ x: Tensor<Double>, _ range: Range<Int>) -> Tensor<Double> {
    let (batch, total, width) = (x.shape[0], x.shape[1], x.shape[2])
    var out = Tensor<Double>(shape: [batch, range.count, width])
    for b in 0..<batch { for (i, t) in range.enumerated() { for j in 0..<width {
        out[flat: (b * range.count + i) * width + j] = x[flat: (b * total + t) * width + j]
    } } }
    return out
}

/// Three chunks carrying a sparse state, each on its own tape, give one pass's outputs; the
/// backward calls, latest first, each continuing the previous one's state gradient (sparse
/// memory included), give one pass's parameter and input gradients; afterwards the state is
/// the end of the stream again. Selections are fixed by `c` (K = N, as the gradient checks).
func sparseChunkedBackwardEqualsOnePass(_ c: DNCConfiguration, label: String, file: StaticString = #filePath, line: UInt = #line) {
    let model = DNC<Double>(c, seed: 7), reference = DNC<Double>(c, seed: 7)
    let random = CounterRandom(seed: 7)
    let x = Tensor<Double>(shape: [2, 9, 3], storage: (0..<54).map { random.uniform(Double.self, stream: 1, index: UInt64($0), low: -1, high: 1) })
    let weights = Tensor<Double>(shape: [2, 9, 3], storage: (0..<54).map { random.uniform(Double.self, stream: 2, index: UInt64($0), low: -1, high: 1) })
    let whole = reference.forward(x)
    reference.store.zeroGradients()
    let wholeGradients = reference.backward(outputGradient: weights)
    let ranges = [0..<3, 3..<5, 5..<9]
    let tapes = ranges.map { _ in DNCTape(for: model) }
    var state: DNCState<Double>? = nil
    var outputs: [Tensor<Double>] = []
    for (range, tape) in zip(ranges, tapes) {
        let out = model.forward(timeSteps(x, range), state: state, tape: tape)
        outputs.append(out.output)
        state = out.state
    }
    for (range, out) in zip(ranges, outputs) { XCTAssertEqual(out, timeSteps(whole.output, range), "\(label) outputs", file: file, line: line) }
    let end = state!.sparse.map { $0.copy() }
    model.store.zeroGradients()
    var carried: DNCState<Double>? = nil
    var inputGradients: [Tensor<Double>] = []
    for (range, tape) in zip(ranges, tapes).reversed() {
        let g = model.backward(outputGradient: timeSteps(weights, range), finalStateGradient: carried, tape: tape)
        XCTAssertFalse(g.initialState.sparseGradients.isEmpty, file: file, line: line)
        carried = g.initialState
        inputGradients.insert(g.input, at: 0)
        XCTAssertTrue(zip(state!.sparse, end).allSatisfy { $0.isIdentical(to: $1) }, "\(label): state back at the end",
                      file: file, line: line)
    }
    for (u, v) in zip(model.store.flatGradients, reference.store.flatGradients) {
        XCTAssertEqual(u, v, accuracy: 1e-10 * max(1, abs(v)), "\(label) parameter gradients", file: file, line: line)
    }
    for (range, g) in zip(ranges, inputGradients) {
        for (u, v) in zip(g.storage, timeSteps(wholeGradients.input, range).storage) {
            XCTAssertEqual(u, v, accuracy: 1e-10 * max(1, abs(v)), "\(label) input gradients", file: file, line: line)
        }
    }
}
