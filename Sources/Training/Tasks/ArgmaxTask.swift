import DNCNumerics

/// The argmax task (docs/tasks.md, Argmax): read one-hot digits, then output the position of the first
/// largest one as the total of the outputs.
///
/// Data, for L digits and width X (digits 0 … X−2, channel X − 1 the end marker), time-major:
/// * `inputs` (L+1, B, X): step i < L is one-hot(d_i) with d_i ~ Uniform{0 … X−2}; step L is
///   one-hot(X−1), the end marker.
/// * `targets` (1, B, 1): the 0-based index of the **first** maximum of d_0 … d_{L−1}.
/// * `lengths` nil, `drawnLength` = L, `mask` nil.
///
/// As for adding, every sample draws its own digits from (seed, step, global sample index)
/// where pytorch-dnc repeats one sequence over the batch (data-parallel batches must be splittable).
/// L is drawn once per step (training `.uniform(min: 2, max: sequence_max_length)`,
/// generalisation `.uniform(min: 2, max: 2·sequence_max_length)`).
///
/// Loss (both offered; docs/pytorch-dnc.md, Argmax objective): `.allSteps`, the default, is pytorch-dnc's objective
/// mean_{b,t} (Σ_k y[t,b,k] − target_b)² over all T = L+1 steps of the global batch (the input
/// phase is regressed too; kept so runs compare with pytorch-dnc); `.lastStep` is the README's intent,
/// mean_b (Σ_k y[T−1,b,k] − target_b)². Either way the metrics judge the last step only:
/// `accuracy` (primary), the fraction of sequences with |Σ_k y[T−1,b,k] − target_b| < 0.5
/// (the last step's sum rounds to the index; pytorch-dnc only printed batch sums), and
/// `absolute_error`, |Σ_k y[T−1,b,k] − target_b| per sequence.
public struct ArgmaxTask: SequenceTask {
    /// Which steps the loss regresses to the index.
    public enum Objective: String, Hashable, Sendable, CaseIterable {
        /// Every step (pytorch-dnc).
        case allSteps
        /// The last step (the README's description).
        case lastStep
    }

    /// X: input width = output width; X − 1 digit values plus the end marker.
    public let inputSize: Int
    public let seed: UInt64
    public let objective: Objective

    public var name: String { "argmax" }
    public var outputSize: Int { inputSize }
    public var primaryMetric: (key: String, lowerIsBetter: Bool) { (MetricKey.accuracy, false) }

    /// Throws when X < 2 (one digit value and the marker are the least the task needs).
    public init(inputSize: Int, seed: UInt64, objective: Objective = .allSteps) throws {
        guard inputSize >= 2 else {
            throw TaskError("argmax task input size must be at least 2 (digits and the end marker), got \(inputSize)")
        }
        self.inputSize = inputSize
        self.seed = seed
        self.objective = objective
    }

    private static let lengthTag: UInt64 = 0x41_474C  // "AGL"
    private static let digitTag: UInt64 = 0x41_4447   // "ADG"

    /// L of step `step`: depends only on (seed, step).
    public func length(step: Int, lengths: LengthSpec) -> Int {
        lengths.check(minimum: 1, task: name)
        return lengths.draw(CounterRandom(seed: seed), stream: TaskSupport.stream(Self.lengthTag, step: 0), index: UInt64(step))
    }

    public func batch(step: Int, firstSample: Int, count: Int, lengths: LengthSpec) -> TaskBatch {
        let length = self.length(step: step, lengths: lengths)
        let random = CounterRandom(seed: seed), stream = TaskSupport.stream(Self.digitTag, step: step)
        let x = inputSize
        var inputs = Tensor<Float>(shape: [length + 1, count, x])
        var targets = Tensor<Float>(shape: [1, count, 1])
        for b in 0..<count {
            var best = -1, bestIndex = 0
            for i in 0..<length {
                let d = random.integer(below: x - 1, stream: stream, index: TaskSupport.index(sample: firstSample + b, i))
                inputs[flat: (i * count + b) * x + d] = 1
                if d > best { best = d; bestIndex = i }  // strict: the first maximum wins
            }
            inputs[flat: (length * count + b) * x + x - 1] = 1
            targets[flat: b] = Float(bestIndex)
        }
        return TaskBatch(inputs: inputs, targets: targets, lengths: nil, drawnLength: length)
    }

    public func evaluate(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int) -> TaskEvaluation {
        TaskSupport.checkLogits(logits, batch: batch, outputSize: outputSize, globalBatchSize: globalBatchSize, task: name)
        let count = batch.count, steps = batch.steps, y = outputSize
        let regressed = objective == .allSteps ? 0..<steps : (steps - 1)..<steps
        let scale = 1 / (Double(globalBatchSize) * Double(regressed.count))
        var gradient = Tensor<Float>(shape: logits.shape)
        var total = 0.0, absolute = 0.0, correct = 0.0
        for b in 0..<count {
            let target = Double(batch.targets[flat: b])
            for t in regressed {
                var sum = 0.0
                for k in 0..<y { sum += Double(logits[flat: (t * count + b) * y + k]) }
                let difference = sum - target
                total += difference * difference
                let slope = Float(2 * difference * scale)
                for k in 0..<y { gradient[flat: (t * count + b) * y + k] = slope }
                if t == steps - 1 {
                    absolute += Swift.abs(difference)
                    if Swift.abs(difference) < 0.5 { correct += 1 }
                }
            }
        }
        return TaskEvaluation(loss: total * scale, gradient: gradient, metrics: [
            MetricKey.accuracy: MetricSum(sum: correct, count: Double(count)),
            MetricKey.absoluteError: MetricSum(sum: absolute, count: Double(count)),
        ])
    }
}
