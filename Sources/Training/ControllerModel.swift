import DNCNumerics
import DNCLayers

/// A recurrent controller with a linear read-out and no external memory: the baseline the
/// memory models are measured against.
///
/// Parameter names: `rnn.weight_ih_l<k>` … and `output.weight`, `output.bias`.
public final class ControllerModel: @unchecked Sendable {
    public let store = ParameterStore<Float>()
    public let stack: RecurrentStack<Float>
    public let readout: Linear<Float>
    private let tape = RecurrentTape<Float>()
    private var lastOutputs = Tensor<Float>(shape: [0, 0, 0])
    private var dropoutRandom: RandomSequence
    public var dropoutPosition: UInt64 {
        get { dropoutRandom.position }
        set { dropoutRandom = RandomSequence(source: dropoutRandom.source, stream: dropoutRandom.stream, position: newValue) }
    }

    public init(kind: RecurrentCellKind, inputSize: Int, hiddenSize: Int, depth: Int, outputSize: Int,
                bias: Bool = true, dropout: Double = 0, seed: UInt64) {
        stack = RecurrentStack(store: store, prefix: "rnn.", kind: kind, inputSize: inputSize,
                               hiddenSize: hiddenSize, depth: depth, bias: bias, dropout: dropout)
        readout = Linear(store: store, name: "output", inputSize: hiddenSize, outputSize: outputSize)
        let random = CounterRandom(seed: seed)
        stack.initializeDefault(random: random, stream: 1)
        readout.initializeDefault(store: store, random: random, stream: 2)
        dropoutRandom = random.sequence(stream: 0xD0)
    }

    /// inputs (T, B, in) → logits (T, B, out), from a zero state. Records for `backward`.
    public func forward(_ inputs: Tensor<Float>, training: Bool) -> Tensor<Float> {
        let steps = inputs.shape[0], batch = inputs.shape[1]
        let (hidden, _) = stack.forward(inputs, from: stack.zeroState(batch: batch), tape: tape,
                                        training: training, dropoutRandom: &dropoutRandom)
        lastOutputs = hidden
        var logits = Tensor<Float>(shape: [steps, batch, readout.outputSize])
        hidden.withUnsafeBufferPointer { h in
            logits.withUnsafeMutableBufferPointer { y in
                readout.forward(store: store, input: h.baseAddress!, rows: steps * batch, output: y.baseAddress!)
            }
        }
        return logits
    }

    /// Accumulates parameter gradients for d(loss)/d(logits) of the last `forward`.
    public func backward(logitGradients: Tensor<Float>) {
        let rows = lastOutputs.shape[0] * lastOutputs.shape[1]
        var dHidden = Tensor<Float>(shape: lastOutputs.shape)
        lastOutputs.withUnsafeBufferPointer { h in
            logitGradients.withUnsafeBufferPointer { dy in
                dHidden.withUnsafeMutableBufferPointer { dh in
                    readout.backward(store: store, input: h.baseAddress!, outputGradient: dy.baseAddress!, rows: rows,
                                     inputGradient: dh.baseAddress!)
                }
            }
        }
        _ = stack.backward(tape: tape, outputGradients: dHidden)
    }
}
