import DNCNumerics

/// DeepMind's repeat-copy task (docs/tasks.md, Repeat copy; DeepMind's `dnc/repeat_copy.py`): read a random binary
/// pattern and a repeat count, then write the pattern that many times and an end flag.
///
/// Per sample b (all draws from (seed, step, global sample index)): pattern length Lp_b,
/// repeats Rp_b ~ Uniform{minRepeats … maxRepeats}, pattern Lp_b × numBits fair bits. Sample b
/// takes n_b = Lp_b·(Rp_b+1) + 3 steps, time-major:
/// * `inputs` (T, B, numBits+2): step 0 has the start flag (channel numBits = 1); steps
///   1 … Lp hold the pattern; step Lp+1 has Rp/normMax in channel numBits+1; then Lp·Rp + 1
///   zero steps.
/// * `targets` (T, B, numBits+1): Lp+2 zero steps, the pattern Rp times (Lp·Rp steps, the last
///   channel 0), then one step with the end flag in channel numBits.
/// * `mask` (T, B): 0 for the first Lp+2 steps, 1 for the next Lp·Rp + 1, 0 on padding.
/// * `lengths` = [n_b]; `drawnLength` = the largest pattern length the spec allows.
///
/// Lengths: `.fixed(L)` gives every sample Lp = L; `.uniform(min: a, max: M)` draws
/// Lp ~ Uniform{max(a, minLength) … M} per sample, so a trainer's generic spec (min 1) keeps
/// the task's `minLength` and the curriculum moves M (`defaultLengths` is DeepMind's range).
///
/// Padding, the one deviation from DeepMind: DeepMind pads to the longest sample of the batch; here T
/// is the longest sequence the spec allows, Lmax·(maxRepeats+1) + 3, which depends only on the
/// spec. That is what makes a rank's batch an exact slice of the global batch (the batch
/// maximum differs between ranks); the padded steps have mask 0, so the loss, gradient and
/// metrics equal DeepMind's, and a model that honours `lengths` need not compute them.
///
/// Cost (docs/tasks.md, Repeat copy): Σ_b [Σ_t mask·Σ_k BCE(z, y)] / B over the global batch; `timeAverage` divides
/// each sample's sum by (Σ_t mask + ε_float32), `logProbInBits` divides by ln 2. Metrics:
/// `bit_errors` (primary), wrong bits per sequence over the masked steps (all numBits+1 target
/// channels, the end flag included), and `masked_bit_accuracy` over the same bits.
public struct RepeatCopyTask: SequenceTask {
    public let numBits: Int
    public let minLength: Int
    public let maxLength: Int
    public let minRepeats: Int
    public let maxRepeats: Int
    /// The repeat count is presented as Rp / normMax.
    public let normMax: Double
    public let timeAverage: Bool
    public let logProbInBits: Bool
    public let seed: UInt64

    public var name: String { "repeat-copy" }
    /// numBits + 2: the pattern, the start flag, the repeat count.
    public var inputSize: Int { numBits + 2 }
    /// numBits + 1: the pattern and the end flag.
    public var outputSize: Int { numBits + 1 }
    public var primaryMetric: (key: String, lowerIsBetter: Bool) { (MetricKey.bitErrors, true) }
    /// The pattern lengths the task was configured with: `.uniform(min: minLength, max: maxLength)`.
    public var defaultLengths: LengthSpec { .uniform(min: minLength, max: maxLength) }

    /// Defaults are DeepMind `train.py`'s (num_bits 4, lengths 1…2, repeats 1…2, norm_max 10).
    public init(numBits: Int = 4, minLength: Int = 1, maxLength: Int = 2, minRepeats: Int = 1, maxRepeats: Int = 2,
                normMax: Double = 10, timeAverage: Bool = false, logProbInBits: Bool = false, seed: UInt64) throws {
        guard numBits >= 1 else { throw TaskError("repeat-copy num_bits must be at least 1, got \(numBits)") }
        guard minLength >= 1, maxLength >= minLength else {
            throw TaskError("repeat-copy length range \(minLength)…\(maxLength) is invalid (need 1 ≤ min ≤ max)")
        }
        guard minRepeats >= 0, maxRepeats >= minRepeats else {
            throw TaskError("repeat-copy repeat range \(minRepeats)…\(maxRepeats) is invalid (need 0 ≤ min ≤ max)")
        }
        guard normMax > 0, normMax.isFinite else { throw TaskError("repeat-copy norm_max must be positive, got \(normMax)") }
        self.numBits = numBits
        self.minLength = minLength
        self.maxLength = maxLength
        self.minRepeats = minRepeats
        self.maxRepeats = maxRepeats
        self.normMax = normMax
        self.timeAverage = timeAverage
        self.logProbInBits = logProbInBits
        self.seed = seed
    }

    private static let sampleTag: UInt64 = 0x52_5043  // "RPC"

    /// The pattern lengths `lengths` allows: Lp ∈ `patternLengths(lengths)`.
    public func patternLengths(_ lengths: LengthSpec) -> ClosedRange<Int> {
        switch lengths {
        case .fixed(let length):
            precondition(length >= 1, "repeat-copy: pattern length \(length) is invalid (need ≥ 1)")
            return length...length
        case .uniform(let low, let high):
            let floor = Swift.max(low, minLength)
            precondition(high >= floor, "repeat-copy: length range \(floor)…\(high) is empty (min is max(\(low), min_length \(minLength)))")
            return floor...high
        }
    }

    /// T of every batch drawn with `lengths`: the longest sequence it allows.
    public func paddedSteps(_ lengths: LengthSpec) -> Int {
        patternLengths(lengths).upperBound * (maxRepeats + 1) + 3
    }

    public func batch(step: Int, firstSample: Int, count: Int, lengths: LengthSpec) -> TaskBatch {
        let range = patternLengths(lengths)
        let steps = paddedSteps(lengths)
        let random = CounterRandom(seed: seed), stream = TaskSupport.stream(Self.sampleTag, step: step)
        let bits = numBits, x = inputSize, y = outputSize
        var inputs = Tensor<Float>(shape: [steps, count, x])
        var targets = Tensor<Float>(shape: [steps, count, y])
        var mask = Tensor<Float>(shape: [steps, count])
        var sampleLengths = [Int](repeating: 0, count: count)
        for b in 0..<count {
            let sample = firstSample + b
            let p = range.lowerBound + random.integer(below: range.count, stream: stream, index: TaskSupport.index(sample: sample, 0))
            let r = minRepeats + random.integer(below: maxRepeats - minRepeats + 1, stream: stream,
                                                index: TaskSupport.index(sample: sample, 1))
            sampleLengths[b] = p * (r + 1) + 3
            inputs[flat: b * x + bits] = 1                                   // start flag, step 0
            for t in 0..<p {
                for j in 0..<bits {
                    let bit = TaskSupport.bit(random, stream: stream, index: TaskSupport.index(sample: sample, 2 + t * bits + j))
                    inputs[flat: ((1 + t) * count + b) * x + j] = bit
                    for repeatIndex in 0..<r {
                        targets[flat: ((p + 2 + repeatIndex * p + t) * count + b) * y + j] = bit
                    }
                }
            }
            inputs[flat: ((p + 1) * count + b) * x + bits + 1] = Float(Double(r) / normMax)
            targets[flat: ((p + 2 + p * r) * count + b) * y + bits] = 1       // end flag
            for t in (p + 2)..<(p * (r + 1) + 3) { mask[flat: t * count + b] = 1 }
        }
        return TaskBatch(inputs: inputs, targets: targets, lengths: sampleLengths, drawnLength: range.upperBound, mask: mask)
    }

    public func evaluate(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int) -> TaskEvaluation {
        TaskSupport.checkLogits(logits, batch: batch, outputSize: outputSize, globalBatchSize: globalBatchSize, task: name)
        guard let mask = batch.mask else { preconditionFailure("repeat-copy: the batch has no mask") }
        let count = batch.count, steps = batch.steps, y = outputSize
        let units = logProbInBits ? Double.exactLog(2) : 1
        var gradient = Tensor<Float>(shape: logits.shape)
        var total = 0.0, errors = 0.0, judged = 0.0
        for b in 0..<count {
            var maskSum = 0.0
            for t in 0..<steps { maskSum += Double(mask[flat: t * count + b]) }
            let normaliser = (timeAverage ? maskSum + Double(Float.ulpOfOne) : 1) * Double(globalBatchSize) * units
            var sampleTotal = 0.0
            for t in 0..<steps {
                let m = Double(mask[flat: t * count + b])
                if m == 0 { continue }
                for k in 0..<y {
                    let i = (t * count + b) * y + k
                    let term = TaskSupport.bce(Double(logits[flat: i]), Double(batch.targets[flat: i]))
                    sampleTotal += m * term.loss
                    gradient[flat: i] = Float(m * term.slope / normaliser)
                    judged += 1
                    if TaskSupport.predictedBit(logits[flat: i]) != batch.targets[flat: i] { errors += 1 }
                }
            }
            total += sampleTotal / normaliser
        }
        return TaskEvaluation(loss: total, gradient: gradient, metrics: [
            MetricKey.bitErrors: MetricSum(sum: errors, count: Double(count)),
            MetricKey.maskedBitAccuracy: MetricSum(sum: judged - errors, count: judged),
        ])
    }
}
