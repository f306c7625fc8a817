import DNCGPU
import DNCLayers
import DNCModels
import DNCNumerics
import DNCTraining

/// The GPU back end against the CPU one at the level of a training step, on any `KernelDevice`:
/// a real GPU in `dnc-dist gpu-check --training` (scripts/gpu-check.sh run), the CPU emulation
/// in the tests. Float, as training runs.
public enum GPUModelChecks {
    /// A benchmark configuration (dnc-bench's names): copy task, input width 6.
    public struct Model: Sendable {
        public let name: String
        public let hidden: Int, depth: Int, cells: Int, width: Int, readHeads: Int, batch: Int, copyLength: Int

        public init(name: String, hidden: Int, depth: Int, cells: Int, width: Int, readHeads: Int, batch: Int, copyLength: Int) {
            self.name = name; self.hidden = hidden; self.depth = depth; self.cells = cells; self.width = width
            self.readHeads = readHeads; self.batch = batch; self.copyLength = copyLength
        }

        public var dnc: DNCConfiguration {
            var c = DNCConfiguration(inputSize: 6, hiddenSize: hidden)
            c.controllerDepth = depth
            c.cellCount = cells
            c.cellWidth = width
            c.readHeads = readHeads
            c.batchFirst = false
            return c
        }

        /// The trainer's configuration of the same model.
        public func training(iterations: Int) -> TrainingConfiguration {
            var c = TrainingConfiguration.defaults(task: "copy")
            c.input_size = 6; c.nhid = hidden; c.nhlayer = depth; c.mem_slot = cells; c.mem_size = width; c.read_heads = readHeads
            c.batch_size = batch; c.sequence_max_length = copyLength; c.iterations = iterations; c.summarize_freq = 1
            c.check_freq = iterations + 1; c.lr = 1e-3
            return c
        }

        public static let small = Model(name: "dnc-small", hidden: 64, depth: 2, cells: 16, width: 20, readHeads: 4, batch: 32, copyLength: 8)
        public static let paper = Model(name: "dnc-paper", hidden: 256, depth: 1, cells: 64, width: 32, readHeads: 4, batch: 16, copyLength: 20)
    }

    /// Largest |a − b| / max(1, |b|) over two arrays.
    static func relative(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).map { Double(abs($0 - $1)) / max(1, Double(abs($1))) }.max() ?? 0
    }

    /// One training step's forward, BCE loss and backward on `device` and on the CPU, from the
    /// same parameters and batch: the loss and every parameter's gradient (relative 1e-4).
    public static func trainingStep(_ model: Model, device: any KernelDevice, tolerance: Double = 1e-4) -> [GPUKernelChecks.Check] {
        let label = "\(model.name) training step"
        do {
            let cpu = DNC<Float>(model.dnc, seed: 3)
            let gpu = try GPUDNC(cpu, device: device)
            let data = try CopyTask(inputSize: 6, seed: 2, objective: .allElements)
                .batch(step: 0, firstSample: 0, count: model.batch, lengths: .fixed(model.copyLength))
            let steps = data.inputs.shape[0], batch = data.inputs.shape[1], y = cpu.configuration.resolvedOutputSize

            let input = try device.array(data.inputs.storage), output = try device.zeros(Float.self, count: steps * batch * y)
            defer { device.free(input); device.free(output) }
            let state = try gpu.zeroState(batch: batch)
            try gpu.parameters.zeroGradients()
            try gpu.forward(input: input, batch: batch, steps: steps, state: state, output: output)
            let gpuLogits = Tensor<Float>(shape: [steps, batch, y], storage: try device.download(output))
            let (gpuLoss, gpuGradient) = Losses.binaryCrossEntropyWithLogits(gpuLogits, targets: data.targets)
            try device.upload(gpuGradient.storage, to: output)
            try gpu.backward(outputGradient: output)
            let gpuGradients = try device.download(gpu.parameters.gradients)

            cpu.store.zeroGradients()
            let logits = cpu.forward(data.inputs).output
            let (loss, gradient) = Losses.binaryCrossEntropyWithLogits(logits, targets: data.targets)
            _ = cpu.backward(outputGradient: gradient)
            let cpuGradients = cpu.store.flatGradients

            var checks = [GPUKernelChecks.Check(name: "\(label): logits", worst: relative(gpuLogits.storage, logits.storage),
                                                tolerance: tolerance, problem: nil),
                          GPUKernelChecks.Check(name: "\(label): loss \(loss)", worst: Double(abs(gpuLoss - loss)) / max(1, Double(abs(loss))),
                                                tolerance: tolerance, problem: nil)]
            let worstSlot = cpu.store.slots.map { slot -> (String, Double) in
                let range = slot.offset ..< slot.offset + slot.count
                return (slot.name, relative(Array(gpuGradients[range]), Array(cpuGradients[range])))
            }.max { $0.1 < $1.1 }
            checks.append(GPUKernelChecks.Check(name: "\(label): \(cpu.store.slots.count) parameter gradients (worst \(worstSlot?.0 ?? "-"))",
                                                worst: worstSlot?.1 ?? 0, tolerance: tolerance,
                                                problem: cpuGradients.contains { $0 != 0 } ? nil : "the CPU gradients are all zero"))
            return checks
        } catch {
            return [.failed(label, "\(error)")]
        }
    }

    /// `iterations` steps of the trainer (Adam, lr 1e-3) with the model on `device` and on the
    /// CPU: every step's loss within `tolerance` (absolute).
    public static func lossCurves(_ model: Model, iterations: Int, device: @escaping @Sendable () throws -> any KernelDevice,
                                  tolerance: Double = 1e-3) -> GPUKernelChecks.Check {
        let label = "\(model.name) loss curve, \(iterations) steps"
        do {
            func losses(_ placement: ModelPlacement?) throws -> [Double] {
                let trainer = try Trainer(configuration: model.training(iterations: iterations), runDirectory: nil,
                                          progress: ProgressReporter(enabled: false), placement: placement)
                var losses: [Double] = []
                try trainer.run { losses.append($0.loss) }
                return losses
            }
            let cpu = try losses(nil)
            let gpu = try losses(ModelPlacement { dnc, _ in try GPUSequenceModel(dnc, device: try device()) })
            guard cpu.count == iterations && gpu.count == iterations else {
                return .failed(label, "\(gpu.count) GPU and \(cpu.count) CPU losses for \(iterations) steps")
            }
            let worst = zip(gpu, cpu).map { abs($0 - $1) }.max() ?? 0
            return GPUKernelChecks.Check(name: "\(label) (loss \(String(format: "%.4f", cpu[0])) → \(String(format: "%.4f", cpu.last!)))",
                                         worst: worst, tolerance: tolerance, problem: nil)
        } catch {
            return .failed(label, "\(error)")
        }
    }
}
