import DNCLayers
import DNCModels
import DNCNumerics

/// The objects a configuration turns into: the task, the model and the optimiser.
public struct TrainingSetup {
    public let task: any SequenceTask
    public let model: any SequenceModel
    public let optimiser: any Optimiser<Float>

    /// `placement`: where a DNC trains when not on the CPU (a GPU rank); nil: the CPU.
    public init(_ c: TrainingConfiguration, placement: ModelPlacement? = nil) throws {
        if let problem = c.validationError() { throw ConfigurationError(problem) }
        task = c.task == BabiTask.taskName ? try BabiTask(configuration: c)
            : try Tasks.make(name: c.task, inputSize: c.input_size, seed: c.seed, options: Self.taskOptions(c))
        if c.memory_type == .controllerOnly {
            model = ControllerModel(kind: c.controllerCell,
                                    inputSize: task.inputSize, hiddenSize: c.nhid, depth: c.nhlayer,
                                    outputSize: task.outputSize, dropout: c.dropout, seed: c.seed)
        } else {
            let dnc = DNC<Float>(c.dncConfiguration(inputSize: task.inputSize, outputSize: task.outputSize), seed: c.seed)
            dnc.debugMemoryWindow = c.debug_memory_window
            model = try placement?.place(dnc, c) ?? dnc
        }
        optimiser = try Optimisers.seed(c.optim.rawValue, learningRate: c.lr, scalar: Float.self)
    }

    static func taskOptions(_ c: TrainingConfiguration) -> Tasks.Options {
        var options = Tasks.Options()
        if c.task == "repeat-copy" { options.maxLength = c.sequence_max_length }
        return options
    }

    /// The shortest length each task is defined for.
    public static func minimumLength(task: String) -> Int {
        switch task { case "adding", "argmax", "associative-recall": 2; default: 1 }
    }

    /// Training lengths with the curriculum's current maximum.
    public static func trainingLengths(task: String, maxLength: Int) -> LengthSpec {
        let low = minimumLength(task: task)
        return .uniform(min: low, max: Swift.max(low, maxLength))
    }
}
