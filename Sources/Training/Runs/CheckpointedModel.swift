import Foundation
import DNCNumerics

/// A model rebuilt from a checkpoint file: its configuration, task, parameters.
public struct CheckpointedModel {
    public let checkpoint: Checkpoint<Float>
    public let configuration: TrainingConfiguration
    public let setup: TrainingSetup
    public var step: Int64 { checkpoint.step }

    /// `cellCount` replaces the memory size the model was trained with: the DNC's parameters do
    /// not depend on it, so a model trained with N cells can be evaluated with more, on
    /// sequences longer than N.
    /// `babiData` replaces a bAbI run's data folder (the same files elsewhere; the stored
    /// vocabulary checks them).
    /// `cuda` replaces the run's `-cuda` (the device the model runs on, with `placement` putting
    /// it there; default: the CPU).
    public init(path: String, cellCount: Int? = nil, babiData: String? = nil, cuda: Int = -1, placement: ModelPlacement? = nil) throws {
        try self.init(checkpoint: CheckpointFile.read(path, as: Float.self), path: path, cellCount: cellCount, babiData: babiData,
                      cuda: cuda, placement: placement)
    }

    /// The same from a checkpoint already read from `path` (named in errors).
    public init(checkpoint: Checkpoint<Float>, path: String, cellCount: Int? = nil, babiData: String? = nil, cuda: Int = -1,
                placement: ModelPlacement? = nil) throws {
        guard case .string(let json)? = checkpoint.configuration["configuration_json"],
              var configuration = TrainingConfiguration.decode(json: json) else {
            throw ConfigurationError("checkpoint '\(path)' has no readable training configuration")
        }
        if let cellCount {
            guard cellCount >= 1 else { throw ConfigurationError("mem_slot must be at least 1, got \(cellCount)") }
            configuration.mem_slot = cellCount
        }
        if let babiData { configuration.babi_data = babiData }
        configuration.cuda = cuda
        let setup = try TrainingSetup(configuration, placement: placement)
        try checkpoint.restore(into: setup.model.parameters, file: path)
        self.checkpoint = checkpoint
        self.configuration = configuration
        self.setup = setup
    }
}
