import DNCNumerics

/// How long the sequences of a batch are: drawn per step from a range (training, curriculum), or
/// fixed (generalisation tests). What "length" means is the task's: the copied sequence L for
/// copy, the number of digits for adding and argmax, the pattern length for repeat-copy, the
/// number of items for associative recall.
public enum LengthSpec: Hashable, Sendable {
    /// L ~ Uniform{min … max} (both included).
    case uniform(min: Int, max: Int)
    case fixed(Int)

    /// The smallest and largest length this spec can produce.
    public var range: ClosedRange<Int> {
        switch self {
        case .uniform(let low, let high): return low...Swift.max(low, high)
        case .fixed(let length): return length...length
        }
    }

    /// Checks that the spec is a non-empty range whose lengths are all ≥ `minimum`.
    func check(minimum: Int, task: String) {
        switch self {
        case .uniform(let low, let high):
            precondition(low >= minimum && high >= low,
                         "\(task): length range \(low)…\(high) is invalid (need \(minimum) ≤ min ≤ max)")
        case .fixed(let length):
            precondition(length >= minimum, "\(task): length \(length) is invalid (need ≥ \(minimum))")
        }
    }

    /// One length for draw `index` of `stream`: a pure function of (seed, stream, index).
    func draw(_ random: CounterRandom, stream: UInt64, index: UInt64) -> Int {
        switch self {
        case .uniform(let low, let high): return low + random.integer(below: high - low + 1, stream: stream, index: index)
        case .fixed(let length): return length
        }
    }
}

/// One batch of a task, time-major. The batch axis is axis 1 of every tensor (inputs, targets,
/// mask), so a rank's share of a global batch is a slice along axis 1.
public struct TaskBatch: Sendable {
    /// (T, B, X) time-major.
    public var inputs: Tensor<Float>
    /// Task-defined shape with the batch on axis 1, documented per task.
    public var targets: Tensor<Float>
    /// Per-sample valid steps when samples differ in length (padding after), else nil.
    public var lengths: [Int]?
    /// The L of this batch (for copy/adding/argmax/associative recall; for repeat-copy the
    /// largest pattern length in the batch), for logs.
    public var drawnLength: Int
    /// (T, B): 1 where the loss judges step t of sample b, 0 elsewhere, for tasks whose loss
    /// is masked per sample (repeat-copy, associative recall); nil when the judged region is
    /// the same for every sample and implied by the task's layout (copy, adding, argmax).
    public var mask: Tensor<Float>?

    public init(inputs: Tensor<Float>, targets: Tensor<Float>, lengths: [Int]?, drawnLength: Int, mask: Tensor<Float>? = nil) {
        self.inputs = inputs
        self.targets = targets
        self.lengths = lengths
        self.drawnLength = drawnLength
        self.mask = mask
    }

    /// T, the number of time steps (padding included).
    public var steps: Int { inputs.shape[0] }
    /// B, the number of samples in this (local) batch.
    public var count: Int { inputs.shape[1] }
}

/// A metric as a (sum, count) pair, so that the ranks' pairs can be added before the mean is
/// taken: the mean of a global batch is Σ sums / Σ counts, not the mean of the ranks' means.
public struct MetricSum: Hashable, Sendable {
    public var sum: Double
    public var count: Double

    public init(sum: Double, count: Double) {
        self.sum = sum
        self.count = count
    }

    /// sum / count, or 0 when nothing was counted.
    public var mean: Double { count == 0 ? 0 : sum / count }

    public static func + (a: MetricSum, b: MetricSum) -> MetricSum {
        MetricSum(sum: a.sum + b.sum, count: a.count + b.count)
    }

    public static func += (a: inout MetricSum, b: MetricSum) { a = a + b }
}

extension Dictionary where Key == String, Value == MetricSum {
    /// Adds `other`'s pairs key by key (for summing ranks or a report window).
    public mutating func accumulate(_ other: [String: MetricSum]) {
        for (key, value) in other { self[key, default: MetricSum(sum: 0, count: 0)] += value }
    }
}

/// The metric keys the tasks report.
public enum MetricKey {
    /// Wrong bits per sequence over the judged region (sum over sequences, count = sequences).
    public static let bitErrors = "bit_errors"
    /// Correct bits / judged bits over the judged region (output phase, data channels).
    public static let maskedBitAccuracy = "masked_bit_accuracy"
    /// Copy only: correct / all elements, input phase and marker channel included: the
    /// "accuracy" pytorch-dnc's copy script printed; an all-zero output already scores high.
    public static let unmaskedBitAccuracy = "unmasked_bit_accuracy"
    /// |prediction − target| per sequence (adding, argmax).
    public static let absoluteError = "absolute_error"
    /// Fraction of sequences whose prediction is within 0.5 of the integer target (adding,
    /// argmax): the prediction rounds to the target.
    public static let accuracy = "accuracy"
}

/// The result of scoring a model's logits on one (local) batch.
public struct TaskEvaluation: Sendable {
    /// This rank's contribution to the global mean loss (sum of terms / normalizer).
    public var loss: Double
    /// d loss / d logits, (T, B, Y).
    public var gradient: Tensor<Float>
    /// Metrics as (sum, count) pairs so they can be summed across ranks (keys in `MetricKey`).
    public var metrics: [String: MetricSum]

    public init(loss: Double, gradient: Tensor<Float>, metrics: [String: MetricSum]) {
        self.loss = loss
        self.gradient = gradient
        self.metrics = metrics
    }
}

/// A synthetic sequence task, designed for data-parallel training: every draw is a pure
/// function of (seed, step, …) through `CounterRandom`, so the samples
/// `firstSample ..< firstSample + count` a rank generates are exactly the slice of the global
/// batch it would get by splitting, whatever the split, and the ranks' losses, gradients and
/// metric pairs add up to the global batch's.
public protocol SequenceTask: Sendable {
    /// "copy", "adding", "argmax", "repeat-copy", "associative-recall".
    var name: String { get }
    /// X fed to the model.
    var inputSize: Int { get }
    /// Y the model must produce.
    var outputSize: Int { get }
    /// The primary metric's key and whether lower is better (for reports).
    var primaryMetric: (key: String, lowerIsBetter: Bool) { get }
    /// Global samples firstSample..<firstSample+count of training/eval step `step`. Length draws
    /// that the spec makes per batch (copy, adding, argmax, associative recall) depend only on
    /// (seed, step) so every rank agrees; per-sample draws depend on (seed, step, global sample
    /// index).
    func batch(step: Int, firstSample: Int, count: Int, lengths: LengthSpec) -> TaskBatch
    /// Loss, gradient and metrics of the model's logits (T, B, Y) for `batch`;
    /// `globalBatchSize` is the normaliser of batch means (equal to count on one process), so
    /// that summing the ranks' losses and gradients gives the global-batch result.
    func evaluate(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int) -> TaskEvaluation
    /// d loss / d logits at the time steps `steps` only, for one chunk of truncated BPTT: a
    /// (steps.count, B, Y) tensor equal to `evaluate`'s gradient rows `steps`. Only `logits`' rows
    /// in `steps` are read.
    func gradient(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int, steps: Range<Int>) -> Tensor<Float>
}

extension SequenceTask {
    /// The loss of every task but adding (whose prediction is the sum of all steps' outputs) is a
    /// sum of per-step terms over a normaliser fixed by the batch (docs/tasks.md, Long
    /// episodes), so a step's gradient depends on that step's logits alone:
    /// `evaluate`'s gradient rows `steps`. O(T) per call; the tasks made for long episodes (copy,
    /// associative recall) visit only the chunk's steps.
    public func gradient(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int, steps: Range<Int>) -> Tensor<Float> {
        evaluate(logits: logits, batch: batch, globalBatchSize: globalBatchSize).gradient.leadingRange(steps)
    }
}

/// Why a task could not be made; the description is one line naming the bad value.
public struct TaskError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
