import DNCLayers
import DNCModels
import DNCNumerics

/// Typed checkpoint files for a DNC (or SAM, SDNC) built in Swift:
///
///     try model.save(to: "model.h5")
///     let restored = try DNC<Float>.load(checkpoint: "model.h5")
///
/// `save` writes the `CheckpointFile` format with the model's `DNCConfiguration` as `dnc.*`
/// root attributes; `load` rebuilds the model from them and restores the parameters. `load`
/// also reads the checkpoints `dnc-dist train` writes (its training configuration names the
/// model), as long as they hold a DNC, SAM or SDNC rather than a controller-only model.
extension DNC {
    /// Writes the parameters and configuration to a new checkpoint file at `path`, which must
    /// not exist yet (`CheckpointError.ioFailed` otherwise). `step` is recorded as the
    /// checkpoint's training step. Float parameters give float32 datasets, Double float64.
    public func save(to path: String, step: Int64 = 0) throws(CheckpointError) {
        let checkpoint = Checkpoint<T>(step: step, store: store, optimiser: nil,
                                       configuration: try configuration.checkpointAttributes(file: path),
                                       counters: [Self.seedCounter: Int64(bitPattern: dropoutRandom.source.seed),
                                                  Self.dropoutPositionCounter: Int64(bitPattern: dropoutRandom.position)])
        try CheckpointFile.write(checkpoint, to: path)
    }

    /// The counters that keep the model's seed (its dropout masks and the compat preset's
    /// initial states are drawn from it) and the position of its dropout random numbers.
    static var seedCounter: String { "seed" }
    static var dropoutPositionCounter: String { "dropout_position" }

    /// The model a checkpoint file holds, with its parameters restored. The file's parameters
    /// must be of this model's element type (float32 for `DNC<Float>`, float64 for `DNC<Double>`).
    public static func load(checkpoint path: String) throws -> DNC<T> {
        try model(from: CheckpointFile.read(path, as: T.self), file: path)
    }

    /// The model `checkpoint` (read from `file`, which errors name) describes, its parameters restored.
    public static func model(from checkpoint: Checkpoint<T>, file: String) throws -> DNC<T> {
        let model: DNC<T>
        if checkpoint.configuration[DNCConfiguration.checkpointMarker] != nil {
            let seed = UInt64(bitPattern: checkpoint.counters[seedCounter] ?? 0)
            model = DNC(try DNCConfiguration(checkpointAttributes: checkpoint.configuration, file: file), seed: seed)
            if let position = checkpoint.counters[dropoutPositionCounter] {
                model.dropoutRandom = RandomSequence(source: model.dropoutRandom.source, stream: model.dropoutRandom.stream,
                                                     position: UInt64(bitPattern: position))
            }
        } else if case .string(let json)? = checkpoint.configuration["configuration_json"],
                  let training = TrainingConfiguration.decode(json: json) {
            if let problem = training.validationError() { throw CheckpointError.invalidContents(file: file, reason: problem) }
            guard training.memory_type != .controllerOnly else {
                throw CheckpointError.invalidContents(file: file, reason: "holds a controller-only model (memory_type \(training.memory_type.rawValue)), not a DNC")
            }
            let task = try Tasks.make(name: training.task, inputSize: training.input_size, seed: training.seed,
                                      options: TrainingSetup.taskOptions(training))
            model = DNC(training.dncConfiguration(inputSize: task.inputSize, outputSize: task.outputSize), seed: training.seed)
            model.debugMemoryWindow = training.debug_memory_window
        } else {
            throw CheckpointError.invalidContents(file: file, reason: "no model configuration (neither DNC.save's dnc.* attributes nor dnc-dist's configuration_json)")
        }
        _ = try checkpoint.restore(into: model.store, file: file)
        return model
    }
}
