import DNCNumerics
import DNCLayers
import DNCModels

/// What a training loop needs from a model: time-major logits for time-major inputs, and the
/// backward of the last forward into the model's parameter store.
public protocol SequenceModel: AnyObject {
    var parameters: ParameterStore<Float> { get }
    /// inputs (T, B, X) → logits (T, B, Y). Records what `backwardSequence` needs.
    func forwardSequence(_ inputs: Tensor<Float>, training: Bool) -> Tensor<Float>
    /// Accumulates parameter gradients for d loss / d logits of the last forward.
    func backwardSequence(logitGradients: Tensor<Float>)
}

extension ControllerModel: SequenceModel {
    public var parameters: ParameterStore<Float> { store }

    public func forwardSequence(_ inputs: Tensor<Float>, training: Bool) -> Tensor<Float> {
        forward(inputs, training: training)
    }

    public func backwardSequence(logitGradients: Tensor<Float>) { backward(logitGradients: logitGradients) }
}

/// A DNC built with `batchFirst = false` and the `.paper` preset reads and writes time-major
/// sequences; each training sequence starts from a fresh state (the seed's `reset_experience`).
extension DNC: SequenceModel where T == Float {
    public var parameters: ParameterStore<Float> { store }

    public func forwardSequence(_ inputs: Tensor<Float>, training: Bool) -> Tensor<Float> {
        precondition(outputIsTimeMajor && !configuration.batchFirst, "the training loop feeds time-major sequences")
        return forward(inputs, training: training).output
    }

    public func backwardSequence(logitGradients: Tensor<Float>) {
        _ = backward(outputGradient: logitGradients)
    }
}
