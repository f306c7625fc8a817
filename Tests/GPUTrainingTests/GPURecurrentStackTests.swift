import XCTest
import DNCGPU
import DNCGPUTraining
import DNCLayers
import DNCNumerics

/// GPURecurrentStack on the emulated device against RecurrentStack on the CPU: a few steps
/// forward (outputs, final state, the dropout sequence's position) and the backward of every
/// step (input gradients, the initial state's gradient, every parameter gradient, accumulated
/// onto gradients that were not zero), for every cell kind, depths 1–3, with and without bias,
/// with dropout in training mode (the masks must be the CPU's) and in evaluation mode.
final class GPURecurrentStackTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var kind: RecurrentCellKind
        var depth = 1
        var bias = true
        var dropout = 0.0
        var training = false
        var batch = 3
        var steps = 5
        var inputSize = 7
        var hidden = 6
        var description: String {
            "\(kind) depth \(depth) bias \(bias) dropout \(dropout) training \(training) batch \(batch) steps \(steps) in \(inputSize) H \(hidden)"
        }
    }

    static let kinds: [RecurrentCellKind] = [.lstm, .gru, .rnn(.tanh), .rnn(.relu)]

    static func cases(_ kind: RecurrentCellKind) -> [Case] {
        [Case(kind: kind),
         Case(kind: kind, depth: 2, dropout: 0.4, training: true),
         Case(kind: kind, depth: 2, dropout: 0.4, training: false, batch: 2, steps: 3),
         Case(kind: kind, depth: 3, bias: false, dropout: 0.3, training: true, batch: 2, steps: 4),
         Case(kind: kind, depth: 2, batch: 19, steps: 2),
         // Several tiles and k slices in every product.
         Case(kind: kind, depth: 2, dropout: 0.25, training: true, batch: 16, steps: 3, inputSize: 40, hidden: 37)]
    }

    func check<T: Real>(_: T.Type, _ c: Case, recording: Bool = true, sequences: Int = 1,
                        device: any KernelDevice = EmulatedKernelDevice()) throws {
        let inputSize = c.inputSize, hidden = c.hidden, padding = 2, ldInput = inputSize + padding
        let what = "\(T.self) \(c)"
        let store = ParameterStore<T>()
        _ = store.add("before", shape: [2])  // the stack's slots do not start at offset 0
        let stack = RecurrentStack(store: store, prefix: "controller.", kind: c.kind, inputSize: inputSize, hiddenSize: hidden,
                                   depth: c.depth, bias: c.bias, dropout: c.dropout)
        stack.initializeDefault(random: CounterRandom(seed: 3), stream: 1)
        // Gradients that are not zero: the backward must add to them.
        let initialGradients: [T] = ControllerCheck.random(store.count, seed: 4)
        initialGradients.withUnsafeBufferPointer { store.gradients.update(from: $0.baseAddress!, count: store.count) }

        let parameters = try DeviceParameters(store: store, device: device)
        try parameters.uploadGradients()

        let stateShape = [c.depth, c.batch, hidden]
        let count = c.depth * c.batch * hidden
        var initial = RecurrentState(hidden: Tensor(shape: stateShape, storage: ControllerCheck.random(count, seed: 5, as: T.self)),
                                     cell: c.kind.hasCellState ? Tensor(shape: stateShape, storage: ControllerCheck.random(count, seed: 6)) : nil)
        let gpu = try GPURecurrentStack(stack, parameters: parameters)
        let state = try gpu.makeState(batch: c.batch)
        try gpu.upload(initial, into: state)
        var cpuRandom = CounterRandom(seed: 11).sequence(stream: 12, startingAt: 5)
        var gpuRandom = cpuRandom
        let tape = RecurrentTape<T>()

        // Consecutive sequences (truncated backpropagation through time): the second starts from
        // the first's final state, reuses the device tape, and adds to the same gradients.
        for sequence in 0..<sequences {
            let steps = c.steps - sequence, seed = UInt64(100 * sequence)
            let what = "\(what) sequence \(sequence)"
            let inputs = Tensor<T>(shape: [steps, c.batch, inputSize],
                                   storage: ControllerCheck.random(steps * c.batch * inputSize, seed: seed + 7))
            let outputGradients = Tensor<T>(shape: [steps, c.batch, hidden],
                                            storage: ControllerCheck.random(steps * c.batch * hidden, seed: seed + 8))
            let finalGradient = RecurrentState(hidden: Tensor(shape: stateShape, storage: ControllerCheck.random(count, seed: seed + 9, as: T.self)),
                                               cell: c.kind.hasCellState ? Tensor(shape: stateShape, storage: ControllerCheck.random(count, seed: seed + 10)) : nil)

            // The CPU.
            let (outputs, final) = stack.forward(inputs, from: initial, tape: tape, training: c.training, dropoutRandom: &cpuRandom)
            let (dInputs, dInitial) = stack.backward(tape: tape, outputGradients: outputGradients, finalStateGradient: finalGradient)
            initial = final

            // The device: inputs and input gradients with a row stride wider than the rows.
            let rows = steps * c.batch
            var padded = [T](repeating: .nan, count: rows * ldInput)
            for r in 0..<rows { for j in 0..<inputSize { padded[r * ldInput + j] = inputs.storage[r * inputSize + j] } }
            let deviceInputs = try device.array(padded)
            let deviceOutputs = try device.array([T](repeating: .nan, count: rows * hidden))
            let deviceOutputGradients = try device.array(outputGradients.storage)
            let deviceInputGradients = try device.array([T](repeating: .nan, count: rows * ldInput))
            defer { for array in [deviceInputs, deviceOutputs, deviceOutputGradients, deviceInputGradients] { device.free(array) } }

            try gpu.beginSequence(batch: c.batch, steps: steps, recording: recording)
            for t in 0..<steps {
                try gpu.step(input: deviceInputs.element(t * c.batch * ldInput), ldInput: ldInput, state: state, stepIndex: t,
                             training: c.training, dropoutRandom: &gpuRandom, output: deviceOutputs.element(t * c.batch * hidden))
            }
            XCTAssertEqual(gpuRandom.position, cpuRandom.position, "\(what): dropout draws")
            ControllerCheck.assertClose(try device.download(deviceOutputs), outputs.storage, "\(what): outputs")
            let gpuFinal = try gpu.download(state)
            ControllerCheck.assertClose(gpuFinal.hidden.storage, final.hidden.storage, "\(what): final h")
            if let cell = final.cell { ControllerCheck.assertClose(gpuFinal.cell?.storage ?? [], cell.storage, "\(what): final c") }
            guard recording else { continue }

            let stateGradient = try gpu.makeState(batch: c.batch)
            try gpu.upload(finalGradient, into: stateGradient)
            for t in stride(from: steps - 1, through: 0, by: -1) {
                try gpu.backwardStep(stepIndex: t, outputGradient: deviceOutputGradients.element(t * c.batch * hidden),
                                     stateGradient: stateGradient, inputGradient: deviceInputGradients.element(t * c.batch * ldInput),
                                     ldInputGradient: ldInput)
            }
            let gpuInputGradients = try device.download(deviceInputGradients)
            ControllerCheck.assertClose((0..<rows).flatMap { r in gpuInputGradients[(r * ldInput)..<(r * ldInput + inputSize)] },
                                        dInputs.storage, "\(what): input gradients")
            let gpuInitial = try gpu.download(stateGradient)
            ControllerCheck.assertClose(gpuInitial.hidden.storage, dInitial.hidden.storage, "\(what): initial h gradient")
            if let cell = dInitial.cell {
                ControllerCheck.assertClose(gpuInitial.cell?.storage ?? [], cell.storage, "\(what): initial c gradient")
            }
            let gpuGradients = try device.download(parameters.gradients)
            let cpuGradients = store.flatGradients
            for slot in store.slots {
                ControllerCheck.assertClose(Array(gpuGradients[slot.offset..<(slot.offset + slot.count)]),
                                            Array(cpuGradients[slot.offset..<(slot.offset + slot.count)]), "\(what): \(slot.name) gradient")
            }
        }
    }

    func checkAll<T: Real>(_: T.Type, _ kind: RecurrentCellKind) throws {
        for c in Self.cases(kind) { try check(T.self, c) }
    }

    func testLSTMDouble() throws { try checkAll(Double.self, .lstm) }
    func testLSTMFloat() throws { try checkAll(Float.self, .lstm) }
    func testGRUDouble() throws { try checkAll(Double.self, .gru) }
    func testGRUFloat() throws { try checkAll(Float.self, .gru) }
    func testRNNTanhDouble() throws { try checkAll(Double.self, .rnn(.tanh)) }
    func testRNNTanhFloat() throws { try checkAll(Float.self, .rnn(.tanh)) }
    func testRNNReluDouble() throws { try checkAll(Double.self, .rnn(.relu)) }
    func testRNNReluFloat() throws { try checkAll(Float.self, .rnn(.relu)) }

    /// The same checks with the real kernels on GPU 0 (skipped without one).
    func testOnTheGPU() throws {
        let device = try ControllerCheck.cudaDevice()
        for kind in Self.kinds {
            for c in Self.cases(kind) {
                try check(Double.self, c, device: device)
                try check(Float.self, c, device: device)
            }
            try check(Double.self, Case(kind: kind, depth: 2, dropout: 0.4, training: true), sequences: 2, device: device)
            try check(Float.self, Case(kind: kind, depth: 2, dropout: 0.4, training: true), recording: false, device: device)
        }
    }

    /// Two sequences in a row on one GPURecurrentStack (tape reused, state carried over).
    func testConsecutiveSequences() throws {
        for kind in Self.kinds {
            try check(Double.self, Case(kind: kind, depth: 2, dropout: 0.4, training: true), sequences: 2)
            try check(Float.self, Case(kind: kind, depth: 2, dropout: 0.4, training: true), sequences: 2)
        }
    }

    /// Steps that are not recorded (evaluation, or a forward whose backward is not wanted) give
    /// the same outputs, state and dropout draws.
    func testUnrecordedStepsMatchTheCPU() throws {
        for kind in Self.kinds {
            try check(Double.self, Case(kind: kind, depth: 2, dropout: 0.4, training: true), recording: false)
            try check(Float.self, Case(kind: kind, depth: 2), recording: false)
        }
    }

    /// The device Philox draws are CounterRandom's: a depth-2 stack with dropout 0.5 drops
    /// about half the next layer's inputs, and exactly where the CPU does (checked through the
    /// outputs above); here also that masks do differ between steps and positions.
    func testDropoutActuallyDrops() throws {
        let store = ParameterStore<Double>()
        let stack = RecurrentStack(store: store, kind: .rnn(.relu), inputSize: 2, hiddenSize: 64, depth: 2, dropout: 0.5)
        // Identity-like layer 1: W_ih = I, everything else zero, so output = relu(mask ⊙ relu(x·W_ih0ᵀ)).
        let layer1 = stack.layers[1]
        for j in 0..<64 { store.values(layer1.weightIH)[j * 64 + j] = 1 }
        for j in 0..<64 { store.values(stack.layers[0].weightIH)[j * 2] = 1 }
        let device = EmulatedKernelDevice()
        let parameters = try DeviceParameters(store: store, device: device)
        let gpu = try GPURecurrentStack(stack, parameters: parameters)
        let state = try gpu.makeState(batch: 1)
        let input = try device.array([1.0, 0.0]), output = try device.zeros(Double.self, count: 64)
        defer { device.free(input); device.free(output) }
        var random = CounterRandom(seed: 1).sequence(stream: 2)
        try gpu.beginSequence(batch: 1, steps: 2, recording: false)
        try state.zero()
        try gpu.step(input: input.pointer, state: state, stepIndex: 0, training: true, dropoutRandom: &random, output: output.pointer)
        let first = try device.download(output)
        try state.zero()
        try gpu.step(input: input.pointer, state: state, stepIndex: 1, training: true, dropoutRandom: &random, output: output.pointer)
        let second = try device.download(output)
        XCTAssertEqual(random.position, 128)
        for values in [first, second] {
            let kept = values.filter { $0 != 0 }
            XCTAssert(kept.count > 16 && kept.count < 48, "\(kept.count) of 64 kept")
            XCTAssert(kept.allSatisfy { Swift.abs($0 - 2) < 1e-12 }, "kept values are scaled by 1/(1 − p)")
        }
        XCTAssertNotEqual(first, second)
    }
}
