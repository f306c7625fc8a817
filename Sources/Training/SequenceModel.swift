import DNCNumerics
import DNCLayers
import DNCModels

/// What a training loop needs from a model: time-major logits for time-major inputs, the
/// backward of the last forward into the model's parameter store, inference without BPTT
/// storage, and the position of its dropout random numbers (checkpointed, so that a resumed run
/// draws the same masks).
public protocol SequenceModel: AnyObject {
    var parameters: ParameterStore<Float> { get }
    /// inputs (T, B, X) → logits (T, B, Y), from a fresh state. Records what
    /// `backwardSequence` needs. `lengths`: per-sample valid steps (padding after).
    func forwardSequence(_ inputs: Tensor<Float>, lengths: [Int]?, training: Bool, debug: Bool)
        -> (logits: Tensor<Float>, trace: DNCTrace<Float>?)
    /// Accumulates parameter gradients for d loss / d logits of the last forward.
    func backwardSequence(logitGradients: Tensor<Float>)
    /// Evaluation mode, nothing kept for a backward: memory does not grow with the length
    /// beyond the model state.
    func infer(_ inputs: Tensor<Float>, lengths: [Int]?) -> Tensor<Float>
    var dropoutPosition: UInt64 { get set }
    /// Truncated backpropagation through time (docs/tasks.md, Long episodes): inputs (T, B, X) of
    /// one chunk → logits (T, B, Y), starting from `carried` (nil: a fresh state) and leaving
    /// the chunk's end state there. `backwardSequence` then backpropagates this chunk only: the
    /// gradient stops at the carried state. `debug`: also the chunk's memory trace.
    func forwardChunk(_ inputs: Tensor<Float>, lengths: [Int]?, carried: inout CarriedState?, training: Bool, debug: Bool)
        -> (logits: Tensor<Float>, trace: DNCTrace<Float>?)
}

/// The state one chunk of a long episode leaves for the next, opaque to the trainer (a model's
/// own state type, for example `DNCState<Float>`).
public struct CarriedState {
    public let value: Any
    public init(_ value: Any) { self.value = value }
    init(value: Any) { self.value = value }
}

extension ControllerModel: SequenceModel {
    public var parameters: ParameterStore<Float> { store }

    public func forwardSequence(_ inputs: Tensor<Float>, lengths: [Int]?, training: Bool, debug: Bool)
        -> (logits: Tensor<Float>, trace: DNCTrace<Float>?) {
        // Padding comes after each sample's steps, so it cannot change the valid outputs.
        (forward(inputs, training: training), nil)
    }

    public func backwardSequence(logitGradients: Tensor<Float>) { backward(logitGradients: logitGradients) }

    public func infer(_ inputs: Tensor<Float>, lengths: [Int]?) -> Tensor<Float> { forward(inputs, training: false) }

    /// The controller-only baseline always starts from a zero state (pytorch-dnc's LSTM baseline).
    public func forwardChunk(_ inputs: Tensor<Float>, lengths: [Int]?, carried: inout CarriedState?, training: Bool, debug: Bool)
        -> (logits: Tensor<Float>, trace: DNCTrace<Float>?) {
        preconditionFailure("the controller-only model does not carry a state across chunks (TrainingConfiguration.validate refuses tbptt)")
    }
}

/// Each training sequence starts from a fresh state (pytorch-dnc's `reset_experience=True` in its task scripts). Inputs and
/// outputs are converted from and to time-major when the configuration's layouts differ.
extension DNC: SequenceModel where T == Float {
    public var parameters: ParameterStore<Float> { store }

    public func forwardSequence(_ inputs: Tensor<Float>, lengths: [Int]?, training: Bool, debug: Bool)
        -> (logits: Tensor<Float>, trace: DNCTrace<Float>?) {
        let result = forward(configuration.batchFirst ? inputs.swappingFirstTwoAxes() : inputs, lengths: lengths,
                             training: training, debug: debug)
        return (outputIsTimeMajor ? result.output : result.output.swappingFirstTwoAxes(), result.trace)
    }

    public func backwardSequence(logitGradients: Tensor<Float>) {
        _ = backward(outputGradient: outputIsTimeMajor ? logitGradients : logitGradients.swappingFirstTwoAxes())
    }

    public func infer(_ inputs: Tensor<Float>, lengths: [Int]?) -> Tensor<Float> {
        let output = forward(configuration.batchFirst ? inputs.swappingFirstTwoAxes() : inputs, lengths: lengths,
                             recordForBackward: false).output
        return outputIsTimeMajor ? output : output.swappingFirstTwoAxes()
    }

    public func forwardChunk(_ inputs: Tensor<Float>, lengths: [Int]?, carried: inout CarriedState?, training: Bool, debug: Bool)
        -> (logits: Tensor<Float>, trace: DNCTrace<Float>?) {
        let state = carried.map { $0.value as! DNCState<Float> }
        let result = forward(configuration.batchFirst ? inputs.swappingFirstTwoAxes() : inputs, state: state, lengths: lengths,
                             training: training, debug: debug)
        carried = CarriedState(value: result.state)
        return (outputIsTimeMajor ? result.output : result.output.swappingFirstTwoAxes(), result.trace)
    }

    public var dropoutPosition: UInt64 {
        get { dropoutRandom.position }
        set { dropoutRandom = RandomSequence(source: dropoutRandom.source, stream: dropoutRandom.stream, position: newValue) }
    }
}

/// A model whose parameters and optimiser state stay on a device between steps (a GPU rank): the
/// trainer has it clip and update there, and asks for the host copies (the `ParameterStore`'s
/// values, the optimiser's state) only where it reads them: checkpoints, the replica check,
/// a non-finite step. The gradient buffer still comes down after each backward: it is what the
/// processes sum.
public protocol DeviceResidentModel: SequenceModel {
    /// Clips the step's gradient to the global norm `maxNorm` on the device and returns the norm
    /// before clipping. `summedOnHost`: the store's gradient buffer was summed over processes
    /// and replaces the device's first.
    func clipGradientsOnDevice(maxNorm: Double, summedOnHost: Bool) throws -> Double
    /// One update of `optimiser`'s algorithm, hyperparameters and state at `learningRate`, on the device.
    func stepOnDevice(optimiser: any Optimiser<Float>, learningRate: Double) throws
    /// Makes the store's values and `optimiser`'s state those of the device, if they are older.
    func synchroniseHost(optimiser: any Optimiser<Float>) throws
    /// One training step's forward (training mode, a fresh state), `task`'s loss, metrics and
    /// logit gradient, and backward, on the device: only the loss, the metrics and the store's
    /// gradient buffer come back. nil when the device cannot evaluate `task` (the trainer then
    /// runs `forwardSequence`, `task.evaluate` and `backwardSequence`).
    func lossAndGradientOnDevice(_ batch: TaskBatch, task: any SequenceTask, globalBatchSize: Int) throws
        -> (loss: Double, metrics: [String: MetricSum])?
}
