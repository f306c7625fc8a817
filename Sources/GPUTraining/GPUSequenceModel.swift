import DNCGPU
import DNCLayers
import DNCModels
import DNCNumerics
import DNCTraining
import Foundation

/// A DNC training on a GPU rank, as the trainer sees any model (`SequenceModel`): the forward and
/// backward run on the device (`GPUDNC`); the parameters' home for checkpoints, the MPI sum of the
/// gradient and the optimiser is the CPU model's `ParameterStore`, whose values go up before each
/// forward and whose gradient buffer comes down after each backward (one contiguous copy each
/// way, the buffer the allreduce needs anyway). The sequences go up and the logits come down, so
/// that the task's loss, metrics, reports and debug dumps are the CPU's own code.
///
/// Debug memory tensors (`debug: true`) come from replaying the step's forward on the CPU model
/// with the same parameters and no dropout: the GPU does not record them.
public final class GPUSequenceModel: DeviceResidentModel, @unchecked Sendable {
    public let dnc: DNC<Float>
    public let gpu: GPUDNC<Float>
    private var buffers: (steps: Int, batch: Int, input: DeviceArray<Float>, output: DeviceArray<Float>, gradient: DeviceArray<Float>)?
    /// The task's loss on the device, made for the first task the trainer asks about (nil: not yet,
    /// or the task is evaluated on the host).
    private var taskLoss: GPUTaskLoss?
    private var taskLossRefused = false
    /// Training steps whose loss was computed on the device (tests check the path is taken).
    public private(set) var stepsWithLossOnDevice = 0
    private var freshState: GPUDNC<Float>.State?
    /// The optimiser on the device, made at the first update from the trainer's (its state then:
    /// fresh, or a checkpoint's).
    private var optimiser: GPUOptimiser<Float>?
    /// Whether the device's parameters are the store's (false until the first forward uploads
    /// them, and after `hostParametersChanged`).
    private var deviceIsCurrent = false
    /// Whether the store's values and the trainer's optimiser state are the device's (false after
    /// an update on the device, until `synchroniseHost`).
    private var hostIsCurrent = true

    public init(_ dnc: DNC<Float>, device: any KernelDevice) throws {
        self.dnc = dnc
        gpu = try GPUDNC(dnc, device: device)
    }

    public var parameters: ParameterStore<Float> { dnc.store }

    public var dropoutPosition: UInt64 {
        get { dnc.dropoutPosition }
        set { dnc.dropoutPosition = newValue }
    }

    /// A device failure mid-run (lost device, out of memory) ends the process with one line; the
    /// run's last checkpoint is complete on disk (checkpoints are written whole, then renamed).
    private func onDevice<R>(_ body: () throws -> R) -> R {
        do { return try body() } catch {
            FileHandle.standardError.write(Data("error: GPU: \(error)\n".utf8))
            exit(1)
        }
    }

    private func sequenceBuffers(steps: Int, batch: Int)
        throws -> (input: DeviceArray<Float>, output: DeviceArray<Float>, gradient: DeviceArray<Float>) {
        if let buffers, buffers.steps == steps, buffers.batch == batch { return (buffers.input, buffers.output, buffers.gradient) }
        if let old = buffers { gpu.device.free(old.input); gpu.device.free(old.output); gpu.device.free(old.gradient) }
        let c = dnc.configuration
        let made = (input: try gpu.device.zeros(Float.self, count: steps * batch * c.inputSize),
                    output: try gpu.device.zeros(Float.self, count: steps * batch * c.resolvedOutputSize),
                    gradient: try gpu.device.zeros(Float.self, count: steps * batch * c.resolvedOutputSize))
        buffers = (steps, batch, made.input, made.output, made.gradient)
        return made
    }

    /// inputs (T, B, X) time-major, from `state` → logits (T, B, Y).
    private func run(_ inputs: Tensor<Float>, lengths: [Int]?, training: Bool, recording: Bool = true,
                     state: GPUDNC<Float>.State) throws -> Tensor<Float> {
        let steps = inputs.shape[0], batch = inputs.shape[1], y = dnc.configuration.resolvedOutputSize
        let output = try forwardOnDevice(inputs, lengths: lengths, training: training, recording: recording, state: state)
        return Tensor(shape: [steps, batch, y], storage: try gpu.device.download(output))
    }

    /// inputs (T, B, X) time-major, from `state` → the logits (T, B, Y) on the device.
    private func forwardOnDevice(_ inputs: Tensor<Float>, lengths: [Int]?, training: Bool, recording: Bool = true,
                                 state: GPUDNC<Float>.State) throws -> DeviceArray<Float> {
        let steps = inputs.shape[0], batch = inputs.shape[1]
        let (input, output, _) = try sequenceBuffers(steps: steps, batch: batch)
        if !deviceIsCurrent {
            try gpu.parameters.upload()
            deviceIsCurrent = true
        }
        try gpu.parameters.zeroGradients()
        try gpu.device.upload(inputs.storage, to: input)
        try gpu.forward(input: input, batch: batch, steps: steps, state: state, lengths: lengths, training: training,
                        recording: recording, output: output)
        return output
    }

    private func fresh(batch: Int) throws -> GPUDNC<Float>.State {
        if freshState?.batch != batch { freshState = try gpu.zeroState(batch: batch) }
        try gpu.resetToFresh(freshState!)
        return freshState!
    }

    public func forwardSequence(_ inputs: Tensor<Float>, lengths: [Int]?, training: Bool, debug: Bool)
        -> (logits: Tensor<Float>, trace: DNCTrace<Float>?) {
        let logits = onDevice { try run(inputs, lengths: lengths, training: training, state: try fresh(batch: inputs.shape[1])) }
        return (logits, debug ? replayTrace(inputs, lengths: lengths) : nil)
    }

    public func backwardSequence(logitGradients: Tensor<Float>) {
        onDevice {
            guard let buffers else { preconditionFailure("backwardSequence needs a forward first") }
            try gpu.device.upload(logitGradients.storage, to: buffers.gradient)
            try gpu.backward(outputGradient: buffers.gradient)
            try gpu.parameters.downloadGradients()
        }
    }

    public func infer(_ inputs: Tensor<Float>, lengths: [Int]?) -> Tensor<Float> {
        // Nothing kept for a backward: one step's record, whatever the length (as the CPU's infer).
        onDevice { try run(inputs, lengths: lengths, training: false, recording: false, state: try fresh(batch: inputs.shape[1])) }
    }

    /// Long episodes: the state stays on the device from one chunk to the next.
    public func forwardChunk(_ inputs: Tensor<Float>, lengths: [Int]?, carried: inout CarriedState?, training: Bool, debug: Bool)
        -> (logits: Tensor<Float>, trace: DNCTrace<Float>?) {
        let batch = inputs.shape[1]
        let state = carried.flatMap { $0.value as? GPUDNC<Float>.State } ?? onDevice { try gpu.zeroState(batch: batch) }
        if carried == nil { onDevice { try gpu.resetToFresh(state) } }
        // The debug replay starts from the chunk's starting state, brought to the host first.
        let start = debug ? onDevice { try gpu.download(state) } : nil
        let logits = onDevice { try run(inputs, lengths: lengths, training: training, state: state) }
        carried = CarriedState(state)
        return (logits, start.flatMap { replayTrace(inputs, lengths: lengths, from: $0) })
    }

    /// The debug memory tensors of a forward over `inputs`, from the CPU model (no dropout) with
    /// the device's parameters.
    /// `state`: where a chunk of a long episode starts (nil: a fresh state).
    private func replayTrace(_ inputs: Tensor<Float>, lengths: [Int]?, from state: DNCState<Float>? = nil) -> DNCTrace<Float>? {
        onDevice {
            if !hostIsCurrent { try gpu.parameters.downloadValues() }
        }
        guard let state else { return dnc.forwardSequence(inputs, lengths: lengths, training: false, debug: true).trace }
        var carried: CarriedState? = CarriedState(state)
        return dnc.forwardChunk(inputs, lengths: lengths, carried: &carried, training: false, debug: true).trace
    }

    /// The store's values were changed on the host (a checkpoint restored after a forward): the
    /// next forward uploads them.
    public func hostParametersChanged() {
        deviceIsCurrent = false
        hostIsCurrent = true
        optimiser = nil
    }

    // MARK: DeviceResidentModel

    public func lossAndGradientOnDevice(_ batch: TaskBatch, task: any SequenceTask, globalBatchSize: Int) throws
        -> (loss: Double, metrics: [String: MetricSum])? {
        if taskLoss == nil && !taskLossRefused {
            if GPUTaskLoss.unsupportedReason(task) == nil { taskLoss = try GPUTaskLoss(task, device: gpu.device) } else { taskLossRefused = true }
        }
        guard let taskLoss, taskLoss.task.name == task.name else { return nil }
        let steps = batch.inputs.shape[0], count = batch.inputs.shape[1]
        let logits = try forwardOnDevice(batch.inputs, lengths: batch.lengths, training: true, state: try fresh(batch: count))
        let gradient = try sequenceBuffers(steps: steps, batch: count).gradient
        let result = try taskLoss.evaluate(logits: logits, logitShape: [steps, count, dnc.configuration.resolvedOutputSize], batch: batch,
                                           globalBatchSize: globalBatchSize, gradient: gradient)
        try gpu.backward(outputGradient: gradient)
        try gpu.parameters.downloadGradients()
        stepsWithLossOnDevice += 1
        return result
    }

    public func clipGradientsOnDevice(maxNorm: Double, summedOnHost: Bool) throws -> Double {
        if summedOnHost { try gpu.parameters.uploadGradients() }
        return try GPUGradientClipping.clipGlobalNorm(gpu.parameters, maxNorm: maxNorm)
    }

    public func stepOnDevice(optimiser cpu: any Optimiser<Float>, learningRate: Double) throws {
        if !deviceIsCurrent {
            try gpu.parameters.upload()
            deviceIsCurrent = true
        }
        if optimiser == nil { optimiser = try GPUOptimiser(cpu, parameters: gpu.parameters) }
        optimiser!.learningRate = learningRate
        try optimiser!.step()
        hostIsCurrent = false
    }

    public func synchroniseHost(optimiser cpu: any Optimiser<Float>) throws {
        guard !hostIsCurrent else { return }
        try gpu.parameters.downloadValues()
        if let optimiser { try cpu.importState(try optimiser.exportState()) }
        hostIsCurrent = true
    }
}
