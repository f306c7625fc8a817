import DNCModels
import DNCNumerics

/// Where a run's DNC trains when not on the CPU: given the CPU model (its parameters initialised,
/// the checkpoint's home) and the configuration, a `SequenceModel` that runs it elsewhere (the
/// GPU back end, DNCGPUTraining.GPUSequenceModel), or nil to train on the CPU. Kept as a closure so
/// that this module does not depend on any device code.
public struct ModelPlacement: Sendable {
    public let place: @Sendable (DNC<Float>, TrainingConfiguration) throws -> (any SequenceModel)?
    public init(_ place: @escaping @Sendable (DNC<Float>, TrainingConfiguration) throws -> (any SequenceModel)?) {
        self.place = place
    }
}
