import DNCNumerics

/// The copy task (docs/tasks.md, Copy): a random binary sequence, an end marker, then the sequence must
/// be reproduced while the input is silent.
///
/// Data, for length L and width X (X − 1 data bits, channel X − 1 the marker), time-major:
/// * `inputs` (2L+1, B, X): step t < L holds the bits s[t] in channels 0..<X−1; step L has only
///   the end marker (channel X − 1 = 1); steps L+1 … 2L are zero.
/// * `targets` (2L+1, B, X): zero except step L+1+t, channels 0..<X−1, = s[t]; the marker
///   channel is always 0.
/// * `lengths` nil (every sample has 2L+1 steps), `drawnLength` = L, `mask` nil.
///
/// L is drawn once per step (both ranks of a split batch must agree on the shape) from
/// `LengthSpec`: training uses `.uniform(min: 1, max: sequence_max_length)`, generalisation
/// `.uniform(min: 2, max: 10·sequence_max_length)`; the curriculum is the trainer's (it changes
/// the spec). Bits are a pure function of (seed, step, global sample index), so a batch is the
/// same however its samples are split between processes.
///
/// Loss (`.allElements`, the default): BCE with logits averaged over **all**
/// B·(2L+1)·X elements of the global batch, input phase and marker channel included (pytorch-dnc's
/// loss, docs/pytorch-dnc.md, Unmasked copy loss). `.outputPhase` averages over the judged bits only (output phase, data channels,
/// B·L·(X−1) of them), like DeepMind's masked cost.
///
/// Metrics: `bit_errors` (wrong output-phase data bits per sequence), `masked_bit_accuracy`
/// (the same bits, the primary metric) and `unmasked_bit_accuracy`, the fraction of all
/// elements pytorch-dnc printed as "accuracy", which an all-zero output already scores high on.
public struct CopyTask: SequenceTask {
    /// Which elements the loss averages over.
    public enum Objective: String, Hashable, Sendable, CaseIterable {
        /// Every element (pytorch-dnc's loss, docs/tasks.md, Copy).
        case allElements
        /// The output phase's data channels only.
        case outputPhase
    }

    /// X: input width = output width; X − 1 data bits plus the marker channel.
    public let inputSize: Int
    public let seed: UInt64
    public let objective: Objective

    public var name: String { "copy" }
    public var outputSize: Int { inputSize }
    public var primaryMetric: (key: String, lowerIsBetter: Bool) { (MetricKey.maskedBitAccuracy, false) }

    /// Throws when X < 2 (one data bit and the marker are the least the task needs).
    public init(inputSize: Int, seed: UInt64, objective: Objective) throws {
        guard inputSize >= 2 else {
            throw TaskError("copy task input size must be at least 2 (one data bit and the marker), got \(inputSize)")
        }
        self.inputSize = inputSize
        self.seed = seed
        self.objective = objective
    }

    private static let lengthStream: UInt64 = 0x4C45_4E00_0000_0000  // "LEN"
    private static let bitsStream: UInt64 = 0x4249_5400_0000_0000    // "BIT"

    /// L of step `step`: depends only on (seed, step).
    public func length(step: Int, lengths: LengthSpec) -> Int {
        lengths.check(minimum: 1, task: name)
        return lengths.draw(CounterRandom(seed: seed), stream: Self.lengthStream, index: UInt64(step))
    }

    public func batch(step: Int, firstSample: Int, count: Int, lengths: LengthSpec) -> TaskBatch {
        let length = self.length(step: step, lengths: lengths)
        let random = CounterRandom(seed: seed)
        let x = inputSize, steps = 2 * length + 1
        var inputs = Tensor<Float>(shape: [steps, count, x])
        var targets = Tensor<Float>(shape: [steps, count, x])
        let stream = Self.bitsStream | UInt64(step)
        for b in 0..<count {
            let sample = UInt64(firstSample + b)
            for t in 0..<length {
                for j in 0..<(x - 1) {
                    let draw = sample * UInt64(length * (x - 1)) + UInt64(t * (x - 1) + j)
                    let bit = TaskSupport.bit(random, stream: stream, index: draw)
                    inputs[flat: (t * count + b) * x + j] = bit
                    targets[flat: ((t + length + 1) * count + b) * x + j] = bit
                }
            }
            inputs[flat: (length * count + b) * x + x - 1] = 1
        }
        return TaskBatch(inputs: inputs, targets: targets, lengths: nil, drawnLength: length)
    }

    public func evaluate(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int) -> TaskEvaluation {
        score(logits: logits, batch: batch, globalBatchSize: globalBatchSize, steps: 0..<batch.steps)
    }

    public func gradient(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int, steps: Range<Int>) -> Tensor<Float> {
        score(logits: logits, batch: batch, globalBatchSize: globalBatchSize, steps: steps).gradient
    }

    /// The loss terms, gradient and metrics of the time steps `visited` (all of them for `evaluate`).
    private func score(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int, steps visited: Range<Int>) -> TaskEvaluation {
        TaskSupport.checkLogits(logits, batch: batch, outputSize: outputSize, globalBatchSize: globalBatchSize, task: name)
        let length = batch.drawnLength, count = batch.count, x = inputSize, steps = batch.steps
        precondition(steps == 2 * length + 1, "copy: batch of \(steps) steps for length \(length)")
        let judged = objective == .allElements ? steps * x : length * (x - 1)
        let scale = 1 / (Double(globalBatchSize) * Double(judged))
        // Rows of the visited steps only (all of them for `evaluate`).
        let visitedSteps = visited.clamped(to: 0..<steps)
        let firstRow = visitedSteps.lowerBound * count * outputSize
        var gradient = Tensor<Float>(shape: [visitedSteps.count] + logits.shape.dropFirst())
        var total = 0.0, errors = 0.0, allCorrect = 0.0
        for t in visitedSteps {
            let outputPhase = t > length
            for b in 0..<count {
                for j in 0..<x {
                    let i = (t * count + b) * x + j
                    let z = logits[flat: i], y = batch.targets[flat: i]
                    let wrong = TaskSupport.predictedBit(z) != y
                    if !wrong { allCorrect += 1 }
                    let isDataBit = outputPhase && j < x - 1
                    if isDataBit && wrong { errors += 1 }
                    if objective == .allElements || isDataBit {
                        let term = TaskSupport.bce(Double(z), Double(y))
                        total += term.loss
                        gradient[flat: i - firstRow] = Float(term.slope * scale)
                    }
                }
            }
        }
        let bits = Double(count * length * (x - 1))
        return TaskEvaluation(loss: total * scale, gradient: gradient, metrics: [
            MetricKey.bitErrors: MetricSum(sum: errors, count: Double(count)),
            MetricKey.maskedBitAccuracy: MetricSum(sum: bits - errors, count: bits),
            MetricKey.unmaskedBitAccuracy: MetricSum(sum: allCorrect, count: Double(logits.count)),
        ])
    }
}
