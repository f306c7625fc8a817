import DNCNumerics

/// Associative recall (Graves et al. 2014, NTM §4.3; the SAM paper, Rae et al. 2016, trains
/// on it): a list of items, then a query item; the model must output the item that followed
/// the query in the list. Not among pytorch-dnc's tasks; defined here (docs/tasks.md, Associative recall).
///
/// An item is `itemLength` (K) vectors of `bits` (W) fair bits. Per sample (all draws from
/// (seed, step, global sample index)): items I_0 … I_{L−1} and a query position
/// q ~ Uniform{0 … L−2}. With L the number of items (the batch's length, drawn once per step,
/// so every sample has T = L·(K+1) + 2K + 2 steps), time-major:
/// * `inputs` (T, B, W+2): for each item i, one step with the item delimiter (channel W = 1)
///   then its K vectors in channels 0..<W; then the query: one step with the query delimiter
///   (channel W+1 = 1), the K vectors of I_q, the query delimiter again; then K zero steps.
/// * `targets` (T, B, W): zero except the last K steps, which hold I_{q+1}.
/// * `mask` (T, B): 1 on the last K steps (the answer), else 0. `lengths` nil,
///   `drawnLength` = L.
///
/// Items are not forced to be distinct (two items collide with probability 2^−K·W; NTM's
/// generator does not exclude it either); the target is always the item after position q.
/// Defaults follow NTM: W = 6, K = 3, 2…6 items (`defaultLengths`).
///
/// Loss: BCE with logits averaged over the judged elements only, the answer steps' W channels
/// (B·K·W of the global batch). Metrics: `masked_bit_accuracy` (primary) and `bit_errors`
/// per sequence over the same bits.
public struct AssociativeRecallTask: SequenceTask {
    /// W: bits per vector.
    public let bits: Int
    /// K: vectors per item.
    public let itemLength: Int
    public let minItems: Int
    public let maxItems: Int
    public let seed: UInt64

    public var name: String { "associative-recall" }
    /// W + 2: the bits, the item delimiter, the query delimiter.
    public var inputSize: Int { bits + 2 }
    /// W: the recalled item's bits.
    public var outputSize: Int { bits }
    public var primaryMetric: (key: String, lowerIsBetter: Bool) { (MetricKey.maskedBitAccuracy, false) }
    /// The item counts the task was configured with: `.uniform(min: minItems, max: maxItems)`.
    public var defaultLengths: LengthSpec { .uniform(min: minItems, max: maxItems) }

    public init(bits: Int = 6, itemLength: Int = 3, minItems: Int = 2, maxItems: Int = 6, seed: UInt64) throws {
        guard bits >= 1 else { throw TaskError("associative-recall bits must be at least 1, got \(bits)") }
        guard itemLength >= 1 else { throw TaskError("associative-recall item length must be at least 1, got \(itemLength)") }
        guard minItems >= 2, maxItems >= minItems else {
            throw TaskError("associative-recall item range \(minItems)…\(maxItems) is invalid (need 2 ≤ min ≤ max)")
        }
        self.bits = bits
        self.itemLength = itemLength
        self.minItems = minItems
        self.maxItems = maxItems
        self.seed = seed
    }

    private static let lengthTag: UInt64 = 0x41_524C  // "ARL"
    private static let sampleTag: UInt64 = 0x41_5352  // "ASR"

    /// L (items) of step `step`: depends only on (seed, step).
    public func length(step: Int, lengths: LengthSpec) -> Int {
        lengths.check(minimum: 2, task: name)
        return lengths.draw(CounterRandom(seed: seed), stream: TaskSupport.stream(Self.lengthTag, step: 0), index: UInt64(step))
    }

    /// T for L items.
    public func steps(items: Int) -> Int { items * (itemLength + 1) + 2 * itemLength + 2 }

    public func batch(step: Int, firstSample: Int, count: Int, lengths: LengthSpec) -> TaskBatch {
        let items = self.length(step: step, lengths: lengths)
        let k = itemLength, w = bits, x = inputSize, steps = self.steps(items: items)
        let random = CounterRandom(seed: seed), stream = TaskSupport.stream(Self.sampleTag, step: step)
        var inputs = Tensor<Float>(shape: [steps, count, x])
        var targets = Tensor<Float>(shape: [steps, count, w])
        var mask = Tensor<Float>(shape: [steps, count])
        let queryStart = items * (k + 1)       // the first query delimiter
        let answerStart = steps - k
        for b in 0..<count {
            let sample = firstSample + b
            let query = random.integer(below: items - 1, stream: stream, index: TaskSupport.index(sample: sample, 0))
            func bit(_ item: Int, _ t: Int, _ j: Int) -> Float {
                TaskSupport.bit(random, stream: stream, index: TaskSupport.index(sample: sample, 1 + (item * k + t) * w + j))
            }
            for item in 0..<items {
                let start = item * (k + 1)
                inputs[flat: (start * count + b) * x + w] = 1
                for t in 0..<k {
                    for j in 0..<w { inputs[flat: ((start + 1 + t) * count + b) * x + j] = bit(item, t, j) }
                }
            }
            inputs[flat: (queryStart * count + b) * x + w + 1] = 1
            for t in 0..<k {
                for j in 0..<w {
                    inputs[flat: ((queryStart + 1 + t) * count + b) * x + j] = bit(query, t, j)
                    targets[flat: ((answerStart + t) * count + b) * w + j] = bit(query + 1, t, j)
                }
                mask[flat: (answerStart + t) * count + b] = 1
            }
            inputs[flat: ((queryStart + k + 1) * count + b) * x + w + 1] = 1
        }
        return TaskBatch(inputs: inputs, targets: targets, lengths: nil, drawnLength: items, mask: mask)
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
        guard let mask = batch.mask else { preconditionFailure("associative-recall: the batch has no mask") }
        let count = batch.count, steps = batch.steps, w = outputSize
        let scale = 1 / (Double(globalBatchSize) * Double(itemLength * w))
        // Rows of the visited steps only (all of them for `evaluate`).
        let visitedSteps = visited.clamped(to: 0..<steps)
        let firstRow = visitedSteps.lowerBound * count * outputSize
        var gradient = Tensor<Float>(shape: [visitedSteps.count] + logits.shape.dropFirst())
        var total = 0.0, errors = 0.0, judged = 0.0
        for t in visitedSteps {
            for b in 0..<count where mask[flat: t * count + b] != 0 {
                for j in 0..<w {
                    let i = (t * count + b) * w + j
                    let term = TaskSupport.bce(Double(logits[flat: i]), Double(batch.targets[flat: i]))
                    total += term.loss
                    gradient[flat: i - firstRow] = Float(term.slope * scale)
                    judged += 1
                    if TaskSupport.predictedBit(logits[flat: i]) != batch.targets[flat: i] { errors += 1 }
                }
            }
        }
        return TaskEvaluation(loss: total * scale, gradient: gradient, metrics: [
            MetricKey.bitErrors: MetricSum(sum: errors, count: Double(count)),
            MetricKey.maskedBitAccuracy: MetricSum(sum: judged - errors, count: judged),
        ])
    }
}
