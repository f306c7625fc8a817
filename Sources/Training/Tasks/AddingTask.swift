import DNCNumerics

/// The adding task (docs/tasks.md, Adding: the intended behaviour; pytorch-dnc's generator
/// crashes, docs/pytorch-dnc.md, Task scripts crash): read
/// one-hot digits, then output their sum as the total of all outputs.
///
/// Data, for L digits and width X (digits 0 … X−2, channel X − 1 the end marker), time-major:
/// * `inputs` (L+1, B, X): step i < L is one-hot(d_i) with d_i ~ Uniform{0 … X−2}; step L is
///   one-hot(X−1), the end marker.
/// * `targets` (1, B, 1): S_b = Σ_i d_i.
/// * `lengths` nil, `drawnLength` = L, `mask` nil.
///
/// Deviation from pytorch-dnc: it repeats one sequence in every batch row; here every sample draws its
/// own digits from (seed, step, global sample index). That is what data parallelism needs (a
/// batch split across ranks must be the same batch) and makes B a real batch of B examples.
/// L is drawn once per step (training `.uniform(min: 2, max: sequence_max_length)`,
/// generalisation `.uniform(min: 2, max: 10·sequence_max_length)`, docs/tasks.md, Adding).
///
/// Prediction: ŷ_b = Σ_t Σ_k y[t, b, k], every output unit at every step (Y = X).
/// Loss: (ŷ_b − S_b)² averaged over the global batch (intended; pytorch-dnc does not average).
/// Metrics: `absolute_error` |ŷ_b − S_b| per sequence (primary: the sum grows with L, so exact
/// hits are rare early on while the error still shows progress) and `accuracy`, the fraction of
/// sequences with |ŷ_b − S_b| < 0.5, i.e. ŷ rounds to S.
public struct AddingTask: SequenceTask {
    /// X: input width = output width; X − 1 digit values plus the end marker.
    public let inputSize: Int
    public let seed: UInt64

    public var name: String { "adding" }
    public var outputSize: Int { inputSize }
    public var primaryMetric: (key: String, lowerIsBetter: Bool) { (MetricKey.absoluteError, true) }

    /// Throws when X < 2 (one digit value and the marker are the least the task needs).
    public init(inputSize: Int, seed: UInt64) throws {
        guard inputSize >= 2 else {
            throw TaskError("adding task input size must be at least 2 (digits and the end marker), got \(inputSize)")
        }
        self.inputSize = inputSize
        self.seed = seed
    }

    private static let lengthTag: UInt64 = 0x41_444C  // "ADL"
    private static let digitTag: UInt64 = 0x41_4444   // "ADD"

    /// L of step `step`: depends only on (seed, step).
    public func length(step: Int, lengths: LengthSpec) -> Int {
        lengths.check(minimum: 1, task: name)
        return lengths.draw(CounterRandom(seed: seed), stream: TaskSupport.stream(Self.lengthTag, step: 0), index: UInt64(step))
    }

    /// Digit i of global sample `sample` at step `step`.
    func digit(step: Int, sample: Int, position i: Int) -> Int {
        CounterRandom(seed: seed).integer(below: inputSize - 1, stream: TaskSupport.stream(Self.digitTag, step: step),
                                          index: TaskSupport.index(sample: sample, i))
    }

    public func batch(step: Int, firstSample: Int, count: Int, lengths: LengthSpec) -> TaskBatch {
        let length = self.length(step: step, lengths: lengths)
        let x = inputSize
        var inputs = Tensor<Float>(shape: [length + 1, count, x])
        var targets = Tensor<Float>(shape: [1, count, 1])
        for b in 0..<count {
            var sum = 0
            for i in 0..<length {
                let d = digit(step: step, sample: firstSample + b, position: i)
                inputs[flat: (i * count + b) * x + d] = 1
                sum += d
            }
            inputs[flat: (length * count + b) * x + x - 1] = 1
            targets[flat: b] = Float(sum)
        }
        return TaskBatch(inputs: inputs, targets: targets, lengths: nil, drawnLength: length)
    }

    public func evaluate(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int) -> TaskEvaluation {
        TaskSupport.checkLogits(logits, batch: batch, outputSize: outputSize, globalBatchSize: globalBatchSize, task: name)
        let count = batch.count, steps = batch.steps, y = outputSize
        var gradient = Tensor<Float>(shape: logits.shape)
        var total = 0.0, absolute = 0.0, correct = 0.0
        for b in 0..<count {
            var prediction = 0.0
            for t in 0..<steps {
                for k in 0..<y { prediction += Double(logits[flat: (t * count + b) * y + k]) }
            }
            let difference = prediction - Double(batch.targets[flat: b])
            total += difference * difference
            absolute += Swift.abs(difference)
            if Swift.abs(difference) < 0.5 { correct += 1 }
            let slope = Float(2 * difference / Double(globalBatchSize))
            for t in 0..<steps {
                for k in 0..<y { gradient[flat: (t * count + b) * y + k] = slope }
            }
        }
        return TaskEvaluation(loss: total / Double(globalBatchSize), gradient: gradient, metrics: [
            MetricKey.absoluteError: MetricSum(sum: absolute, count: Double(count)),
            MetricKey.accuracy: MetricSum(sum: correct, count: Double(count)),
        ])
    }
}
