import XCTest
import CGPUKernels
import DNCGPU
import DNCGPUTraining
import DNCLayers
import DNCMemories
import DNCModels
import DNCNumerics

/// The whole dense DNC on the emulated device against the CPU model (issue #14, item 7): the same
/// parameters and input through `DNC.forward`/`backward` and through `GPUDNC` (every operation a
/// kernel launch, run by the CPU emulation of the launches): outputs, final states and every
/// parameter gradient, Double to 1e-9 and Float to 1e-4 (relative to max(1, |value|)).
final class GPUDNCTests: XCTestCase {
    /// Largest |a − b| / max(1, |b|).
    func worst<T: Real>(_ a: [T], _ b: [T]) -> Double {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { Double(abs($0 - $1)) / max(1, Double(abs($1))) }.max() ?? 0
    }

    /// A deterministic input in [-1, 1].
    func sequence<T: Real>(_ count: Int, seed: UInt64, as: T.Type) -> [T] {
        let random = CounterRandom(seed: seed)
        return (0..<count).map { T(random.uniform(stream: 7, index: UInt64($0)) * 2 - 1) }
    }

    /// Runs `configuration` (time-major: batchFirst false) on both back ends and compares.
    func compare<T: Real>(_ configuration: DNCConfiguration, _: T.Type, batch: Int = 3, steps: Int = 5, lengths: [Int]? = nil,
                          tolerance: Double, file: StaticString = #filePath, line: UInt = #line) throws {
        var c = configuration
        c.batchFirst = false
        let cpu = DNC<T>(c, seed: 5)
        let x = c.inputSize, y = c.resolvedOutputSize
        let input = Tensor<T>(shape: [steps, batch, x], storage: sequence(steps * batch * x, seed: 1, as: T.self))
        let outputGradient = sequence(steps * batch * y, seed: 2, as: T.self)

        // The GPU model first: it reads the parameters before the CPU backward touches the gradients.
        let device = EmulatedKernelDevice()
        let gpu = try GPUDNC(cpu, device: device)
        let fresh = cpu.freshState(batch: batch)
        let state = try gpu.upload(fresh)
        let deviceInput = try device.array(input.storage)
        let deviceOutput = try device.zeros(T.self, count: steps * batch * y)
        try gpu.forward(input: deviceInput, batch: batch, steps: steps, state: state, lengths: lengths, output: deviceOutput)
        let gpuOutput = try device.download(deviceOutput)
        let gpuFinal = try gpu.download(state)
        try device.upload(outputGradient, to: deviceOutput)
        try gpu.backward(outputGradient: deviceOutput)
        let gpuGradients = try device.download(gpu.parameters.gradients)

        // The GPU model's output is time-major; the CPU's is batch-major in pytorch-dnc's preset.
        cpu.store.zeroGradients()
        var forward = cpu.forward(input, state: fresh, lengths: lengths)
        let timeMajorGradient = Tensor<T>(shape: [steps, batch, y], storage: outputGradient)
        _ = cpu.backward(outputGradient: cpu.outputIsTimeMajor ? timeMajorGradient : timeMajorGradient.swappingFirstTwoAxes())
        if !cpu.outputIsTimeMajor { forward.output = forward.output.swappingFirstTwoAxes() }
        let what = "\(c.cell) L\(c.layerCount) depth \(c.controllerDepth) \(c.preset) \(T.self)"
        XCTAssertLessThanOrEqual(worst(gpuOutput, forward.output.storage), tolerance, "\(what): output", file: file, line: line)
        XCTAssertLessThanOrEqual(worst(gpuFinal.lastRead.storage, forward.state.lastRead.storage), tolerance, "\(what): last read",
                                 file: file, line: line)
        for (k, controller) in gpuFinal.controllers.enumerated() {
            XCTAssertLessThanOrEqual(worst(controller.hidden.storage, forward.state.controllers[k].hidden.storage), tolerance,
                                     "\(what): controller \(k) h", file: file, line: line)
        }
        for (k, memory) in gpuFinal.memories.enumerated() {
            let got = (memory as! DenseMemoryState<T>).memory.storage, expected = (forward.state.memories[k] as! DenseMemoryState<T>).memory.storage
            XCTAssertLessThanOrEqual(worst(got, expected), tolerance, "\(what): memory \(k)", file: file, line: line)
        }
        let cpuGradients = cpu.store.flatGradients
        for slot in cpu.store.slots {
            let range = slot.offset ..< slot.offset + slot.count
            XCTAssertLessThanOrEqual(worst(Array(gpuGradients[range]), Array(cpuGradients[range])), tolerance,
                                     "\(what): gradient of \(slot.name)", file: file, line: line)
        }
        XCTAssertTrue(cpuGradients.contains { $0 != 0 }, "\(what): the CPU gradients are all zero", file: file, line: line)
    }

    func small(_ cell: RecurrentCellKind = .lstm) -> DNCConfiguration {
        var c = DNCConfiguration(inputSize: 4, hiddenSize: 6)
        c.cell = cell
        c.cellCount = 7
        c.cellWidth = 3
        c.readHeads = 2
        c.controllerDepth = 1
        return c
    }

    func testLSTMOneLayerDouble() throws { try compare(small(), Double.self, tolerance: 1e-9) }
    func testLSTMOneLayerFloat() throws { try compare(small(), Float.self, tolerance: 1e-4) }

    func testTwoLayersSeparateMemoriesStackedGRU() throws {
        var c = small(.gru)
        c.layerCount = 2
        c.controllerDepth = 2
        c.shareMemoryBetweenLayers = false
        try compare(c, Double.self, tolerance: 1e-9)
    }

    func testSharedMemoryRNNIndependentLinearsAndClip() throws {
        var c = small(.rnn(.tanh))
        c.layerCount = 2
        c.independentLinears = true
        c.controllerOutputClip = 0.3
        try compare(c, Double.self, tolerance: 1e-9)
    }

    func testPyTorchCompatPreset() throws {
        var c = small()
        c.preset = .pytorchCompat
        try compare(c, Double.self, tolerance: 1e-9)
    }

    func testLengthsFreezeFinishedSamples() throws {
        try compare(small(), Double.self, batch: 3, steps: 5, lengths: [5, 2, 0], tolerance: 1e-9)
    }

    /// Evaluation without recording (one step's record, as for long sequences) gives the outputs
    /// of the recorded forward and the same final state.
    func testForwardWithoutRecordingIsTheSame() throws {
        var c = small()
        c.batchFirst = false
        let model = DNC<Double>(c, seed: 5)
        let device = EmulatedKernelDevice()
        let gpu = try GPUDNC(model, device: device)
        let (batch, steps) = (2, 7)
        let input = try device.array(sequence(steps * batch * c.inputSize, seed: 3, as: Double.self))
        var outputs: [[Double]] = [], memories: [[Double]] = []
        for recording in [true, false] {
            let state = try gpu.zeroState(batch: batch)
            let output = try device.zeros(Double.self, count: steps * batch * c.resolvedOutputSize)
            try gpu.forward(input: input, batch: batch, steps: steps, state: state, lengths: [7, 4], recording: recording, output: output)
            outputs.append(try device.download(output))
            memories.append((try gpu.download(state).memories[0] as! DenseMemoryState<Double>).memory.storage)
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(memories[0], memories[1])
        XCTAssertTrue(outputs[0].contains { $0 != 0 })
    }

    /// No kernel of the model reads what another thread of the same phase, or another block of
    /// the same launch, writes: running the emulation's threads and blocks in descending order
    /// gives the ascending order's bits (a GPU runs them in any order; the emulation otherwise
    /// hides such races).
    func testTheModelsKernelsAreRaceFree() throws {
        var c = small(.lstm)
        c.layerCount = 2
        c.controllerDepth = 2
        c.shareMemoryBetweenLayers = false
        c.batchFirst = false
        func run(reversed: Bool) throws -> (output: [Double], gradients: [Double]) {
            dnc_emulated_set_reversed_order(reversed ? 1 : 0)
            defer { dnc_emulated_set_reversed_order(0) }
            let model = DNC<Double>(c, seed: 5)
            let device = EmulatedKernelDevice()
            let gpu = try GPUDNC(model, device: device)
            let (batch, steps) = (3, 5)
            let input = try device.array(sequence(steps * batch * c.inputSize, seed: 1, as: Double.self))
            let output = try device.zeros(Double.self, count: steps * batch * c.resolvedOutputSize)
            try gpu.forward(input: input, batch: batch, steps: steps, state: try gpu.zeroState(batch: batch), lengths: [5, 3, 1], output: output)
            let result = try device.download(output)
            try device.upload(sequence(output.count, seed: 2, as: Double.self), to: output)
            try gpu.backward(outputGradient: output)
            return (result, try device.download(gpu.parameters.gradients))
        }
        let ascending = try run(reversed: false), descending = try run(reversed: true)
        XCTAssertEqual(ascending.output, descending.output, "outputs depend on the order threads run in")
        XCTAssertEqual(ascending.gradients, descending.gradients, "gradients depend on the order threads run in")
    }
}
