import XCTest
import TestSupport
import DNCNumerics
@testable import DNCLayers

/// Finite-difference checks of every recurrent cell kind through multi-step BPTT, in Double.
final class RecurrentStackTests: XCTestCase {
    struct Problem {
        let store = ParameterStore<Double>()
        let stack: RecurrentStack<Double>
        var inputs: Tensor<Double>
        var initial: RecurrentState<Double>
        let outputWeights: Tensor<Double>
        let finalWeights: RecurrentState<Double>
        let dropoutStart: RandomSequence

        init(kind: RecurrentCellKind, depth: Int, dropout: Double, steps: Int = 4, batch: Int = 2,
             inputSize: Int = 3, hiddenSize: Int = 4, bias: Bool = true, seed: UInt64 = 7) {
            stack = RecurrentStack(store: store, kind: kind, inputSize: inputSize, hiddenSize: hiddenSize,
                                   depth: depth, bias: bias, dropout: dropout)
            let random = CounterRandom(seed: seed)
            // Larger than PyTorch's default bound so that gates leave their linear regime.
            for slot in store.slots { store.initializeUniform(slot, bound: 0.8, random: random, stream: 1) }
            func draw(_ shape: [Int], _ stream: UInt64) -> Tensor<Double> {
                let n = shape.reduce(1, *)
                return Tensor(shape: shape, storage: (0..<n).map { random.uniform(Double.self, stream: stream, index: UInt64($0), low: -1, high: 1) })
            }
            inputs = draw([steps, batch, inputSize], 2)
            initial = RecurrentState(hidden: draw([depth, batch, hiddenSize], 3),
                                     cell: kind.hasCellState ? draw([depth, batch, hiddenSize], 4) : nil)
            outputWeights = draw([steps, batch, hiddenSize], 5)
            finalWeights = RecurrentState(hidden: draw([depth, batch, hiddenSize], 6),
                                          cell: kind.hasCellState ? draw([depth, batch, hiddenSize], 8) : nil)
            dropoutStart = random.sequence(stream: 9)
        }

        func dot(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double { zip(a.storage, b.storage).reduce(0) { $0 + $1.0 * $1.1 } }

        func loss(training: Bool) -> Double {
            var dropout = dropoutStart
            let (outputs, final) = stack.forward(inputs, from: initial, training: training, dropoutRandom: &dropout)
            var value = dot(outputs, outputWeights) + dot(final.hidden, finalWeights.hidden)
            if let c = final.cell, let g = finalWeights.cell { value += dot(c, g) }
            return value
        }
    }

    func check(kind: RecurrentCellKind, depth: Int, dropout: Double = 0, bias: Bool = true) {
        var problem = Problem(kind: kind, depth: depth, dropout: dropout, bias: bias)
        let tape = RecurrentTape<Double>()
        var dropoutRandom = problem.dropoutStart
        problem.store.zeroGradients()
        _ = problem.stack.forward(problem.inputs, from: problem.initial, tape: tape, training: true, dropoutRandom: &dropoutRandom)
        let (dInputs, dInitial) = problem.stack.backward(tape: tape, outputGradients: problem.outputWeights,
                                                         finalStateGradient: problem.finalWeights)
        let label = "\(kind) depth \(depth) dropout \(dropout) bias \(bias)"

        let parameters = problem.store.flatValues
        GradientCheck.compare(point: parameters, analytic: problem.store.flatGradients, label: "\(label) parameters") { x in
            for (i, v) in x.enumerated() { problem.store.values[i] = v }
            defer { for (i, v) in parameters.enumerated() { problem.store.values[i] = v } }
            return problem.loss(training: true)
        }
        let inputs = problem.inputs
        GradientCheck.compare(point: inputs.storage, analytic: dInputs.storage, label: "\(label) inputs") { x in
            problem.inputs.storage = x
            defer { problem.inputs = inputs }
            return problem.loss(training: true)
        }
        let initial = problem.initial
        GradientCheck.compare(point: initial.hidden.storage, analytic: dInitial.hidden.storage, label: "\(label) h0") { x in
            problem.initial.hidden.storage = x
            defer { problem.initial = initial }
            return problem.loss(training: true)
        }
        if let c0 = initial.cell {
            GradientCheck.compare(point: c0.storage, analytic: dInitial.cell!.storage, label: "\(label) c0") { x in
                problem.initial.cell!.storage = x
                defer { problem.initial = initial }
                return problem.loss(training: true)
            }
        }
    }

    func testLSTMSingleLayer() { check(kind: .lstm, depth: 1) }
    func testLSTMStackWithFixedDropoutMasks() { check(kind: .lstm, depth: 3, dropout: 0.3) }
    func testLSTMWithoutBias() { check(kind: .lstm, depth: 2, bias: false) }
    func testGRUStack() { check(kind: .gru, depth: 2) }
    func testGRUWithDropout() { check(kind: .gru, depth: 2, dropout: 0.5) }
    func testTanhRNNStack() { check(kind: .rnn(.tanh), depth: 2) }
    func testReLURNNStack() { check(kind: .rnn(.relu), depth: 2, dropout: 0.2) }

    /// Outputs and gradients through the weight copies (`forward`/`backward`: transposed, panels) equal
    /// those through the weights themselves (bare `step`/`backwardStep`), for every cell kind, a
    /// batch small enough for the transposed backward and one too large; and a weight changed
    /// between calls is seen by the next call (the copies are refreshed, never stale).
    func testWeightCopiesMatchTheWeights() {
        for kind: RecurrentCellKind in [.lstm, .gru, .rnn(.tanh)] {
            for batch in [2, 20] {
                let problem = Problem(kind: kind, depth: 2, dropout: 0, steps: 3, batch: batch)
                let label = "\(kind) batch \(batch)"
                func direct() -> (outputs: [Double], gradients: [Double], inputGradients: [Double]) {
                    let tape = RecurrentTape<Double>()
                    var none = problem.dropoutStart, state = problem.initial
                    let steps = problem.inputs.shape[0], inputSize = problem.inputs.shape[2], h = 4
                    var outputs = [Double](repeating: 0, count: steps * batch * h)
                    problem.inputs.withUnsafeBufferPointer { x in
                        outputs.withUnsafeMutableBufferPointer { y in
                            for t in 0..<steps {
                                problem.stack.step(input: x.baseAddress! + t * batch * inputSize, batch: batch, state: &state,
                                                   tape: tape, dropoutRandom: &none, output: y.baseAddress! + t * batch * h)
                            }
                        }
                    }
                    problem.store.zeroGradients()
                    var stateGradient = problem.stack.zeroState(batch: batch)
                    var inputGradients = [Double](repeating: 0, count: steps * batch * inputSize)
                    problem.outputWeights.withUnsafeBufferPointer { dy in
                        inputGradients.withUnsafeMutableBufferPointer { dx in
                            for t in stride(from: steps - 1, through: 0, by: -1) {
                                problem.stack.backwardStep(tape: tape, stepIndex: t, outputGradient: dy.baseAddress! + t * batch * h,
                                                           stateGradient: &stateGradient,
                                                           inputGradient: dx.baseAddress! + t * batch * inputSize)
                            }
                        }
                    }
                    return (outputs, problem.store.flatGradients, inputGradients)
                }
                func transposed() -> (outputs: [Double], gradients: [Double], inputGradients: [Double]) {
                    let tape = RecurrentTape<Double>()
                    var none = problem.dropoutStart
                    let (outputs, _) = problem.stack.forward(problem.inputs, from: problem.initial, tape: tape, dropoutRandom: &none)
                    problem.store.zeroGradients()
                    let (dx, _) = problem.stack.backward(tape: tape, outputGradients: problem.outputWeights)
                    return (outputs.storage, problem.store.flatGradients, dx.storage)
                }
                for round in 0..<2 {
                    let a = direct(), b = transposed()
                    for (name, x, y) in [("outputs", a.outputs, b.outputs), ("gradients", a.gradients, b.gradients),
                                         ("input gradients", a.inputGradients, b.inputGradients)] {
                        XCTAssertEqual(x.count, y.count)
                        for i in x.indices { XCTAssertEqual(x[i], y[i], accuracy: 1e-12, "\(label) round \(round) \(name) \(i)") }
                    }
                    XCTAssertNil(problem.stack.layers[0].forwardWeights.pointer, "inactive after the calls")
                    // Change every weight; the next round must see the new values.
                    for i in 0..<problem.store.count { problem.store.values[i] *= -0.9 }
                }
            }
        }
    }

    /// The Float paths (vectorised gate gradients, transposed products) agree with Double, for
    /// hidden sizes with and without a remainder after the 4-wide vectors.
    func testFloatAgreesWithDouble() {
        for kind: RecurrentCellKind in [.lstm, .gru, .rnn(.tanh)] {
            for hidden in [6, 8] {
                let problem = Problem(kind: kind, depth: 2, dropout: 0, steps: 4, batch: 3, hiddenSize: hidden)
                let floatStore = ParameterStore<Float>()
                let floatStack = RecurrentStack<Float>(store: floatStore, kind: kind, inputSize: 3, hiddenSize: hidden, depth: 2)
                for i in 0..<problem.store.count { floatStore.values[i] = Float(problem.store.values[i]) }
                var none = problem.dropoutStart, floatNone = problem.dropoutStart
                let tape = RecurrentTape<Double>(), floatTape = RecurrentTape<Float>()
                let (outputs, _) = problem.stack.forward(problem.inputs, from: problem.initial, tape: tape, dropoutRandom: &none)
                let (floatOutputs, _) = floatStack.forward(problem.inputs.converted(to: Float.self), from: RecurrentState(
                    hidden: problem.initial.hidden.converted(), cell: problem.initial.cell?.converted()),
                    tape: floatTape, dropoutRandom: &floatNone)
                problem.store.zeroGradients()
                floatStore.zeroGradients()
                let (dx, dInitial) = problem.stack.backward(tape: tape, outputGradients: problem.outputWeights)
                let (floatDx, floatDInitial) = floatStack.backward(tape: floatTape, outputGradients: problem.outputWeights.converted())
                let label = "\(kind) H \(hidden)"
                func close(_ a: [Double], _ b: [Float], _ what: String) {
                    XCTAssertEqual(a.count, b.count)
                    for i in a.indices { XCTAssertEqual(Double(b[i]), a[i], accuracy: 2e-5 * Swift.max(1, abs(a[i])), "\(label) \(what) \(i)") }
                }
                close(outputs.storage, floatOutputs.storage, "outputs")
                close(problem.store.flatGradients, floatStore.flatGradients, "parameter gradients")
                close(dx.storage, floatDx.storage, "input gradients")
                close(dInitial.hidden.storage, floatDInitial.hidden.storage, "h0 gradients")
                if let c = dInitial.cell { close(c.storage, floatDInitial.cell!.storage, "c0 gradients") }
            }
        }
    }

    /// Dropout really drops: in training mode some inter-layer activations are zero and the
    /// output differs from evaluation mode; in evaluation mode it has no effect at all.
    func testDropoutOnlyActsInTraining() {
        let problem = Problem(kind: .lstm, depth: 2, dropout: 0.5)
        let noDropout = Problem(kind: .lstm, depth: 2, dropout: 0)
        XCTAssertEqual(problem.loss(training: false), noDropout.loss(training: false))
        XCTAssertNotEqual(problem.loss(training: true), problem.loss(training: false))
        XCTAssertEqual(problem.loss(training: true), problem.loss(training: true), "same mask position, same masks")
    }

    /// Carrying the state into a second call gives exactly the outputs of one long call, and
    /// the second call's gradients stop at its first step (truncated BPTT).
    func testStateCarriesAcrossCallsAndGradientIsCut() {
        let problem = Problem(kind: .lstm, depth: 2, dropout: 0, steps: 6)
        var none = problem.dropoutStart
        let (whole, wholeFinal) = problem.stack.forward(problem.inputs, from: problem.initial, dropoutRandom: &none)
        let first = Tensor(shape: [3, 2, 3], storage: Array(problem.inputs.storage[0..<18]))
        let second = Tensor(shape: [3, 2, 3], storage: Array(problem.inputs.storage[18...]))
        let (out1, mid) = problem.stack.forward(first, from: problem.initial, dropoutRandom: &none)
        let tape = RecurrentTape<Double>()
        let (out2, final) = problem.stack.forward(second, from: mid, tape: tape, dropoutRandom: &none)
        XCTAssertEqual(out1.storage + out2.storage, whole.storage)
        XCTAssertEqual(final, wholeFinal)

        // Gradient of a loss on the second chunk only, with the carried state held constant.
        let weights = Tensor<Double>(shape: [3, 2, 4], storage: (0..<24).map { Double($0 % 5) - 2 })
        problem.store.zeroGradients()
        _ = problem.stack.backward(tape: tape, outputGradients: weights)
        let parameters = problem.store.flatValues
        GradientCheck.compare(point: parameters, analytic: problem.store.flatGradients, label: "truncated") { x in
            for (i, v) in x.enumerated() { problem.store.values[i] = v }
            defer { for (i, v) in parameters.enumerated() { problem.store.values[i] = v } }
            var d = problem.dropoutStart
            let (out, _) = problem.stack.forward(second, from: mid, dropoutRandom: &d)
            return zip(out.storage, weights.storage).reduce(0) { $0 + $1.0 * $1.1 }
        }
    }

    func testLinearLayerGradients() {
        let store = ParameterStore<Double>()
        let linear = Linear(store: store, name: "out", inputSize: 5, outputSize: 3)
        let random = CounterRandom(seed: 3)
        linear.initializeDefault(store: store, random: random, stream: 0)
        var input = (0..<10).map { random.uniform(stream: 1, index: UInt64($0)) - 0.5 }
        let weights = (0..<6).map { random.uniform(stream: 2, index: UInt64($0)) - 0.5 }
        func loss() -> Double {
            var y = [Double](repeating: 0, count: 6)
            linear.forward(store: store, input: input, rows: 2, output: &y)
            return zip(y, weights).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var dInput = [Double](repeating: 0, count: 10)
        linear.backward(store: store, input: input, outputGradient: weights, rows: 2, inputGradient: &dInput)
        let parameters = store.flatValues
        GradientCheck.compare(point: parameters, analytic: store.flatGradients, label: "linear parameters") { x in
            for (i, v) in x.enumerated() { store.values[i] = v }
            defer { for (i, v) in parameters.enumerated() { store.values[i] = v } }
            return loss()
        }
        let original = input
        GradientCheck.compare(point: input, analytic: dInput, label: "linear input") { x in
            input = x
            defer { input = original }
            return loss()
        }
    }
}
