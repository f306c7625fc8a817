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
