import Foundation
import DNCNumerics

/// A model rebuilt from a checkpoint file: its configuration, task, parameters.
public struct CheckpointedModel {
    public let checkpoint: Checkpoint<Float>
    public let configuration: TrainingConfiguration
    public let setup: TrainingSetup
    public var step: Int64 { checkpoint.step }

    public init(path: String) throws {
        let checkpoint = try CheckpointFile.read(path, as: Float.self)
        guard case .string(let json)? = checkpoint.configuration["configuration_json"],
              let configuration = try? JSONDecoder().decode(TrainingConfiguration.self, from: Data(json.utf8)) else {
            throw ConfigurationError("checkpoint '\(path)' has no readable training configuration")
        }
        let setup = try TrainingSetup(configuration)
        try checkpoint.restore(into: setup.model.parameters, file: path)
        self.checkpoint = checkpoint
        self.configuration = configuration
        self.setup = setup
    }
}
