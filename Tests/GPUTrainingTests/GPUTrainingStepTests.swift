import XCTest
import CGPUKernels
import DNCGPU
import DNCGPUTraining
import DNCModels
import DNCNumerics
import DNCTraining

/// A few training steps of the real trainer with the model on the emulated device
/// (GPUSequenceModel through a ModelPlacement, as `dnc-dist train … -cuda N` places it) against
/// the same steps on the CPU: the losses and the parameters after them agree in Float to 1e-4
/// (issue #14, item 7: "a few training steps"); long episodes carry the state on the device.
final class GPUTrainingStepTests: XCTestCase {
    func configuration(_ change: (inout TrainingConfiguration) -> Void = { _ in }) -> TrainingConfiguration {
        var c = TrainingConfiguration.defaults(task: "copy")
        c.nhid = 12; c.mem_slot = 10; c.mem_size = 5; c.read_heads = 2; c.batch_size = 3; c.sequence_max_length = 5
        c.iterations = 4; c.summarize_freq = 1; c.check_freq = 100; c.lr = 0.01
        change(&c)
        return c
    }

    func train(_ c: TrainingConfiguration, onDevice: Bool) throws -> (losses: [Double], parameters: [Float]) {
        let placement = onDevice ? ModelPlacement { dnc, _ in try GPUSequenceModel(dnc, device: EmulatedKernelDevice()) } : nil
        let trainer = try Trainer(configuration: c, runDirectory: nil, progress: ProgressReporter(enabled: false), placement: placement)
        XCTAssertEqual(trainer.model is GPUSequenceModel, onDevice)
        var losses: [Double] = []
        try trainer.run { losses.append($0.loss) }
        if let gpu = trainer.model as? GPUSequenceModel {
            // Whole-sequence steps take the device's loss; chunked episodes the host's (per chunk).
            XCTAssertEqual(gpu.stepsWithLossOnDevice, c.tbptt > 0 ? 0 : c.iterations)
        }
        let store = trainer.model.parameters
        return (losses, Array(UnsafeBufferPointer(start: store.values, count: store.count)))
    }

    func assertSameTraining(_ c: TrainingConfiguration, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let cpu = try train(c, onDevice: false), gpu = try train(c, onDevice: true)
        XCTAssertEqual(cpu.losses.count, c.iterations, what, file: file, line: line)
        XCTAssertEqual(gpu.losses.count, cpu.losses.count, what, file: file, line: line)
        for (a, b) in zip(gpu.losses, cpu.losses) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(b)), "\(what): loss", file: file, line: line) }
        let worst = zip(gpu.parameters, cpu.parameters).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1e-4, "\(what): parameters after \(c.iterations) steps", file: file, line: line)
        let initial = try TrainingSetup(c).model.parameters.flatValues
        let moved = zip(cpu.parameters, initial).contains { $0 != $1 }
        XCTAssertTrue(moved, "\(what): training changed nothing", file: file, line: line)
    }

    func testCopyTrainingSteps() throws { try assertSameTraining(configuration(), "copy") }

    func testDropoutAndStackedGRU() throws {
        try assertSameTraining(configuration { $0.rnn_type = .gru; $0.nhlayer = 2; $0.dropout = 0.3 }, "gru dropout")
    }

    func testLongEpisodesCarryTheStateOnTheDevice() throws {
        try assertSameTraining(configuration { $0.tbptt = 2; $0.sequence_max_length = 6 }, "tbptt")
    }

    /// The debug memory tensors of a GPU rank's chunk (replayed on the host from the chunk's
    /// starting state, brought back from the device) are the CPU model's for the same chunks.
    func testDebugTraceOfALaterChunkStartsFromTheCarriedState() throws {
        var c = DNCConfiguration(inputSize: 4, hiddenSize: 6)
        c.cellCount = 5; c.cellWidth = 3; c.readHeads = 1; c.controllerDepth = 1; c.batchFirst = false
        let cpu = DNC<Float>(c, seed: 9), gpu = try GPUSequenceModel(DNC<Float>(c, seed: 9), device: EmulatedKernelDevice())
        let random = CounterRandom(seed: 4)
        var cpuCarried: CarriedState?, gpuCarried: CarriedState?
        for chunk in 0..<2 {
            let inputs = Tensor<Float>(shape: [3, 2, 4], storage: (0..<24).map { Float(random.uniform(stream: UInt64(chunk), index: UInt64($0))) })
            let expected = cpu.forwardChunk(inputs, lengths: nil, carried: &cpuCarried, training: false, debug: true)
            let got = gpu.forwardChunk(inputs, lengths: nil, carried: &gpuCarried, training: false, debug: true)
            let worstLogit = zip(got.logits.storage, expected.logits.storage).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worstLogit, 1e-4, "chunk \(chunk): logits")
            let gotRecords = try XCTUnwrap(got.trace).records, expectedRecords = try XCTUnwrap(expected.trace).records
            XCTAssertEqual(gotRecords.count, 3)
            for (a, b) in zip(gotRecords.flatMap { $0 }, expectedRecords.flatMap { $0 }) {
                XCTAssertEqual(a.fields.map(\.key), b.fields.map(\.key))
                for (x, y) in zip(a.fields, b.fields) {
                    let worst = zip(x.value.storage, y.value.storage).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertLessThanOrEqual(worst, 1e-4, "chunk \(chunk): debug \(x.key)")
                }
                let memory = try XCTUnwrap(b.fields.first { $0.key == "memory" }).value
                XCTAssertTrue(memory.storage.contains { $0 != 0 }, "chunk \(chunk): the CPU's memory is empty")
            }
        }
    }

    /// The training tail's kernels (the task's loss, the norm, Adam) are race-free too: the same
    /// bits with the emulation's threads and blocks in descending order.
    func testTheTrainingStepsKernelsAreRaceFree() throws {
        let c = configuration { $0.iterations = 2; $0.clip = 0.01 }
        let ascending = try train(c, onDevice: true)
        dnc_emulated_set_reversed_order(1)
        defer { dnc_emulated_set_reversed_order(0) }
        let descending = try train(c, onDevice: true)
        XCTAssertEqual(ascending.losses, descending.losses)
        XCTAssertEqual(ascending.parameters, descending.parameters)
    }
}
