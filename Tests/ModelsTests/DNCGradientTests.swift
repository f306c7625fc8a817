import XCTest
import TestSupport
import DNCNumerics
import DNCLayers
import DNCMemories
@testable import DNCModels

/// Finite-difference checks of the whole DNC over several steps, in Double: every parameter,
/// the input and the initial state, for each controller kind, two DNC layers with shared and
/// separate memories, one and ten interface layers, both presets, and variable lengths.
/// Gradients below 1e-4 are judged absolutely (to 1e-10): the loss's rounding noise in the
/// differences is about 1e-12, so an exact zero (the link matrix diagonal) reads as 2e-12.
final class DNCGradientTests: XCTestCase {
    struct Problem {
        let model: DNC<Double>
        var input: Tensor<Double>
        var state: DNCState<Double>
        let outputWeights: Tensor<Double>
        let finalWeights: DNCState<Double>
        let lengths: [Int]?

        init(_ c: DNCConfiguration, steps: Int = 3, batch: Int = 2, lengths: [Int]? = nil, seed: UInt64 = 11) {
            model = DNC<Double>(c, seed: seed)
            let random = CounterRandom(seed: seed)
            var stream: UInt64 = 100
            func draw(_ shape: [Int], low: Double = -1, high: Double = 1) -> Tensor<Double> {
                stream += 1
                let s = stream
                return Tensor(shape: shape, storage: (0..<shape.reduce(1, *)).map { random.uniform(Double.self, stream: s, index: UInt64($0), low: low, high: high) })
            }
            // Larger weights than the default so that gates and memory leave their linear regime.
            for slot in model.store.slots {
                model.store.initializeUniform(slot, bound: 0.7, random: random, stream: 7)
            }
            input = draw(c.batchFirst ? [batch, steps, c.inputSize] : [steps, batch, c.inputSize])
            let n = c.cellCount, r = c.readHeads, w = c.cellWidth
            func controllerState() -> RecurrentState<Double> {
                RecurrentState(hidden: draw([c.controllerDepth, batch, c.hiddenSize], low: -0.5, high: 0.5),
                               cell: c.cell.hasCellState ? draw([c.controllerDepth, batch, c.hiddenSize], low: -0.5, high: 0.5) : nil)
            }
            // A valid memory state: weights on the simplex (scaled below 1), usage in (0, 1).
            func simplex(_ shape: [Int]) -> Tensor<Double> {
                var t = draw(shape, low: 0.05, high: 1)
                let rows = t.count / n
                for row in 0..<rows {
                    let total = (0..<n).reduce(0.0) { $0 + t[flat: row * n + $1] } * 1.25
                    for j in 0..<n { t[flat: row * n + j] /= total }
                }
                return t
            }
            func memoryState() -> DenseMemoryState<Double> {
                var link = simplex([batch, n, n])
                for b in 0..<batch { for i in 0..<n { link[flat: (b * n + i) * n + i] = 0 } }
                return DenseMemoryState(memory: draw([batch, n, w]), linkMatrix: link, precedence: simplex([batch, n]),
                                        readWeights: simplex([batch, r, n]), writeWeights: simplex([batch, n]),
                                        usage: draw([batch, n], low: 0.05, high: 0.95))
            }
            state = DNCState(controllers: (0..<c.layerCount).map { _ in controllerState() },
                             memories: (0..<c.memoryCount).map { _ in memoryState() },
                             lastRead: draw([batch, c.readWidth]))
            let outputShape = model.outputIsTimeMajor ? [steps, batch, c.resolvedOutputSize] : [batch, steps, c.resolvedOutputSize]
            outputWeights = draw(outputShape)
            finalWeights = DNCState(controllers: (0..<c.layerCount).map { _ in controllerState() },
                                    memories: (0..<c.memoryCount).map { _ in memoryState() },
                                    lastRead: draw([batch, c.readWidth]))
            self.lengths = lengths
        }

        func dot(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double { zip(a.storage, b.storage).reduce(0) { $0 + $1.0 * $1.1 } }

        func stateDot(_ s: DNCState<Double>, _ g: DNCState<Double>) -> Double {
            var total = dot(s.lastRead, g.lastRead)
            for (a, b) in zip(s.controllers, g.controllers) {
                total += dot(a.hidden, b.hidden)
                if let c = a.cell, let d = b.cell { total += dot(c, d) }
            }
            for (a, b) in zip(s.dense, g.dense) {
                total += dot(a.memory, b.memory) + dot(a.linkMatrix, b.linkMatrix) + dot(a.precedence, b.precedence)
                    + dot(a.readWeights, b.readWeights) + dot(a.writeWeights, b.writeWeights) + dot(a.usage, b.usage)
            }
            return total
        }

        func loss() -> Double {
            let result = model.forward(input, state: state, lengths: lengths, recordForBackward: false)
            return dot(result.output, outputWeights) + stateDot(result.state, finalWeights)
        }
    }

    func check(_ c: DNCConfiguration, lengths: [Int]? = nil, label: String, file: StaticString = #filePath, line: UInt = #line) {
        var p = Problem(c, lengths: lengths)
        p.model.store.zeroGradients()
        _ = p.model.forward(p.input, state: p.state, lengths: lengths)
        let gradients = p.model.backward(outputGradient: p.outputWeights, finalStateGradient: p.finalWeights)
        let store = p.model.store
        let parameters = store.flatValues
        GradientCheck.compare(point: parameters, analytic: store.flatGradients, step: 1e-4, floor: 1e-4, label: "\(label) parameters", file: file, line: line) { x in
            for (i, v) in x.enumerated() { store.values[i] = v }
            defer { for (i, v) in parameters.enumerated() { store.values[i] = v } }
            return p.loss()
        }
        let input = p.input
        GradientCheck.compare(point: input.storage, analytic: gradients.input.storage, step: 1e-4, floor: 1e-4, label: "\(label) input", file: file, line: line) { x in
            p.input.storage = x
            defer { p.input = input }
            return p.loss()
        }
        // Initial state: controller, read vector, and the memory tensors (memory contents and link matrix).
        let state = p.state
        GradientCheck.compare(point: state.lastRead.storage, analytic: gradients.initialState.lastRead.storage, step: 1e-4, floor: 1e-4,
                              label: "\(label) last read", file: file, line: line) { x in
            p.state.lastRead.storage = x
            defer { p.state = state }
            return p.loss()
        }
        for layer in 0..<c.layerCount {
            GradientCheck.compare(point: state.controllers[layer].hidden.storage,
                                  analytic: gradients.initialState.controllers[layer].hidden.storage, step: 1e-4, floor: 1e-4,
                                  label: "\(label) controller \(layer) h", file: file, line: line) { x in
                p.state.controllers[layer].hidden.storage = x
                defer { p.state = state }
                return p.loss()
            }
        }
        for k in 0..<c.memoryCount {
            let keyPaths: [(String, WritableKeyPath<DenseMemoryState<Double>, Tensor<Double>>)] = [
                ("memory", \.memory), ("link", \.linkMatrix), ("precedence", \.precedence),
                ("read weights", \.readWeights), ("write weights", \.writeWeights)]
            for (name, path) in keyPaths {
                GradientCheck.compare(point: state.dense[k][keyPath: path].storage,
                                      analytic: gradients.initialState.dense[k][keyPath: path].storage, step: 1e-4, floor: 1e-4,
                                      label: "\(label) memory \(k) \(name)", file: file, line: line) { x in
                    p.state.dense[k][keyPath: path].storage = x
                    defer { p.state = state }
                    return p.loss()
                }
            }
        }
    }

    func small(_ cell: RecurrentCellKind = .lstm, preset: DNCPreset = .paper) -> DNCConfiguration {
        var c = DNCConfiguration(inputSize: 3, hiddenSize: 4)
        c.cell = cell
        c.cellCount = 5
        c.cellWidth = 3
        c.readHeads = 2
        c.controllerOutputClip = 0.6  // some outputs are clipped
        c.preset = preset
        if preset == .paper {
            // The finite differences see the gradient through the usage, which `.paper` stops.
            var options = MemoryOptions.paper
            options.stopGradientThroughUsage = false
            c.memoryOptionsOverride = options
        }
        return c
    }

    func testLSTMPaper() { check(small(.lstm), label: "lstm paper") }
    func testGRUPaper() { check(small(.gru), label: "gru paper") }
    func testTanhRNNCompat() { check(small(.rnn(.tanh), preset: .pytorchCompat), label: "rnn compat") }
    func testLSTMCompat() { check(small(.lstm, preset: .pytorchCompat), label: "lstm compat") }

    func testTwoLayersSharedMemory() {
        var c = small(.lstm)
        c.layerCount = 2
        c.controllerDepth = 1
        check(c, label: "two layers shared")
    }

    func testTwoLayersSeparateMemoriesIndependentLinears() {
        var c = small(.gru)
        c.layerCount = 2
        c.controllerDepth = 1
        c.shareMemoryBetweenLayers = false
        c.independentLinears = true
        check(c, label: "two layers separate, independent linears")
    }

    func testTimeMajorInputWithVariableLengths() {
        var c = small(.lstm)
        c.batchFirst = false
        check(c, lengths: [3, 1], label: "time-major, lengths 3 and 1")
    }
}
