import DNCLayers
import DNCNumerics

/// bAbI question answering (docs/tasks.md, bAbI; the DNC paper, Methods): each story with its
/// questions is one sequence of one-hot words; at every answer marker `-` the model outputs a
/// softmax over the vocabulary, trained with cross-entropy at those steps only.
///
/// Data, for V words, time-major:
/// * `inputs` (T, B, V): the one-hot word of each step; zero after a sample's length.
/// * `targets` (T, B, 3): channel 0 the answer word's index at marker steps, −1 elsewhere;
///   channel 1 the question's number within its story; channel 2 the sample's task (1…20).
/// * `lengths` the samples' steps, `drawnLength` the longest, `mask` (T, B) 1 at marker steps.
///
/// Training batches come from length buckets (the training stories sorted by length, cut into
/// buckets of `bucketSize`): the bucket is drawn per step from (seed, step), every sample of the
/// global batch from (seed, step, global sample index) within it, so the ranks agree on the
/// bucket and a batch is mostly story, not padding. Each story is equally likely.
///
/// Loss: cross-entropy summed over a story's answer words, averaged over the global batch's
/// stories. A question counts as right only if all its answer words are (tasks 8 and 19 have
/// several).
public struct BabiTask: SequenceTask {
    public static let taskName = "babi"

    public let dataset: BabiDataset
    /// The bAbI tasks trained and evaluated (1…20).
    public let tasks: [Int]
    public let seed: UInt64
    /// Training stories per bucket.
    public let bucketSize: Int
    /// Training sample indices sorted by (length, index), cut into buckets of `bucketSize`.
    let sortedTraining: [Int]

    public var name: String { Self.taskName }
    public var inputSize: Int { dataset.vocabulary.count }
    public var outputSize: Int { dataset.vocabulary.count }
    public var primaryMetric: (key: String, lowerIsBetter: Bool) { (BabiMetricKey.questionError, true) }

    public init(dataset: BabiDataset, tasks: [Int], seed: UInt64, bucketSize: Int) throws {
        guard !dataset.train.isEmpty else { throw TaskError("babi: no training stories for tasks \(tasks)") }
        guard bucketSize >= 1 else { throw TaskError("babi: bucket size must be at least 1, got \(bucketSize)") }
        self.dataset = dataset
        self.tasks = tasks
        self.seed = seed
        self.bucketSize = bucketSize
        sortedTraining = dataset.train.indices.sorted { (dataset.train[$0].length, $0) < (dataset.train[$1].length, $1) }
    }

    private static let bucketStream: UInt64 = 0x4241_4B  // "BAK"
    private static let sampleStream: UInt64 = 0x4241_53  // "BAS"

    /// The bucket (a range of `sortedTraining`) of step `step`: drawn through a uniform story, so
    /// a bucket comes up in proportion to its size.
    public func bucket(step: Int) -> Range<Int> {
        let random = CounterRandom(seed: seed)
        let anchor = random.integer(below: sortedTraining.count, stream: TaskSupport.stream(Self.bucketStream, step: step), index: 0)
        let start = anchor / bucketSize * bucketSize
        return start ..< Swift.min(start + bucketSize, sortedTraining.count)
    }

    /// The training sample of global sample `sample` at step `step`.
    public func trainingSample(step: Int, sample: Int) -> Int {
        let bucket = bucket(step: step)
        let random = CounterRandom(seed: seed)
        let offset = random.integer(below: bucket.count, stream: TaskSupport.stream(Self.sampleStream, step: step),
                                    index: TaskSupport.index(sample: sample, 0))
        return sortedTraining[bucket.lowerBound + offset]
    }

    /// `lengths` is ignored: a story's length is its own.
    public func batch(step: Int, firstSample: Int, count: Int, lengths: LengthSpec) -> TaskBatch {
        makeBatch((firstSample ..< firstSample + count).map { dataset.train[trainingSample(step: step, sample: $0)] })
    }

    /// The batch of `samples`, padded to the longest.
    public func makeBatch(_ samples: [BabiSample]) -> TaskBatch {
        let count = samples.count, v = inputSize
        let steps = samples.map(\.length).max() ?? 0
        var inputs = Tensor<Float>(shape: [steps, count, v])
        var targets = Tensor<Float>(shape: [steps, count, 3])
        var mask = Tensor<Float>(shape: [steps, count])
        for (b, sample) in samples.enumerated() {
            for t in 0..<steps { targets[flat: (t * count + b) * 3] = -1; targets[flat: (t * count + b) * 3 + 2] = Float(sample.task) }
            for (t, word) in sample.tokens.enumerated() { inputs[flat: (t * count + b) * v + word] = 1 }
            for answer in sample.answers {
                let i = (answer.step * count + b) * 3
                targets[flat: i] = Float(answer.word)
                targets[flat: i + 1] = Float(answer.question)
                mask[flat: answer.step * count + b] = 1
            }
        }
        return TaskBatch(inputs: inputs, targets: targets, lengths: samples.map(\.length), drawnLength: steps, mask: mask)
    }

    public func evaluate(logits: Tensor<Float>, batch: TaskBatch, globalBatchSize: Int) -> TaskEvaluation {
        TaskSupport.checkLogits(logits, batch: batch, outputSize: outputSize, globalBatchSize: globalBatchSize, task: name)
        let steps = batch.steps, count = batch.count, v = outputSize
        let rows = steps * count
        var classes = [Int](repeating: 0, count: rows)
        var weights = [Float](repeating: 0, count: rows)
        for r in 0..<rows where batch.targets[flat: r * 3] >= 0 {
            classes[r] = Int(batch.targets[flat: r * 3])
            weights[r] = 1
        }
        let answerWords = weights.reduce(0) { $0 + Double($1) }
        // Losses.softmaxCrossEntropy averages over the weighted rows; rescaled to a sum per story
        // averaged over the global batch, so the ranks' losses and gradients add up.
        var (loss, gradient) = Losses.softmaxCrossEntropy(logits.reshaped([rows, v]), classes: classes, rowWeights: weights)
        let scale = Float(answerWords / Double(globalBatchSize))
        for i in 0..<gradient.count { gradient[flat: i] *= scale }
        loss *= scale

        // A question is right only if every one of its answer words is.
        var wrongWords = 0.0
        var questions: [Int: (task: Int, questions: Set<Int>, wrong: Set<Int>)] = [:]  // per sample b
        for r in 0..<rows where weights[r] > 0 {
            var best = 0
            for j in 1..<v where logits[flat: r * v + j] > logits[flat: r * v + best] { best = j }
            let b = r % count, question = Int(batch.targets[flat: r * 3 + 1])
            var entry = questions[b] ?? (Int(batch.targets[flat: r * 3 + 2]), [], [])
            entry.questions.insert(question)
            if best != classes[r] { wrongWords += 1; entry.wrong.insert(question) }
            questions[b] = entry
        }
        var perTask = Dictionary(uniqueKeysWithValues: tasks.map { ($0, MetricSum(sum: 0, count: 0)) })
        for entry in questions.values {
            perTask[entry.task, default: MetricSum(sum: 0, count: 0)] += MetricSum(sum: Double(entry.wrong.count), count: Double(entry.questions.count))
        }
        var metrics: [String: MetricSum] = [BabiMetricKey.answerWordError: MetricSum(sum: wrongWords, count: answerWords)]
        metrics[BabiMetricKey.questionError] = perTask.values.reduce(MetricSum(sum: 0, count: 0), +)
        for (task, sum) in perTask { metrics[BabiMetricKey.questionError(task: task)] = sum }
        return TaskEvaluation(loss: Double(loss), gradient: gradient.reshaped(logits.shape), metrics: metrics)
    }
}

/// The metric keys of the bAbI task.
public enum BabiMetricKey {
    /// Wrong questions / questions (all answer words must be right): the paper's error.
    public static let questionError = "question_error"
    /// Wrong answer words / answer words.
    public static let answerWordError = "answer_word_error"
    /// `questionError` of one bAbI task.
    public static func questionError(task: Int) -> String { "question_error_task_\(task)" }
}

extension BabiTask {
    /// Training stories per length bucket: a few batches' worth, so that consecutive batches of
    /// one bucket still differ, and lengths within a bucket stay close.
    public static func bucketSize(batchSize: Int) -> Int { Swift.max(4 * batchSize, 32) }

    /// The task a configuration describes, its files read from `babi_data` with the stored
    /// vocabulary (if any).
    /// (The dataset `prepare` read for `c`, if it did: see `BabiPreparedDataset`.)
    public init(configuration c: TrainingConfiguration) throws {
        let dataset = try BabiPreparedDataset.take(for: c)
            ?? BabiDataset(data: c.babi_data, set: c.babi_set, tasks: c.babiTasks, validationFraction: c.babi_validation,
                           vocabulary: c.babi_vocabulary)
        try self.init(dataset: dataset, tasks: c.babiTasks, seed: c.seed, bucketSize: Self.bucketSize(batchSize: c.batch_size))
    }

    /// `c` with what the data decide filled in when the run starts: the vocabulary (stored with
    /// the run and its checkpoints), the input width and the longest training story (for the
    /// memory estimate). Other tasks' configurations are returned unchanged. The dataset read is
    /// kept for the run's `BabiTask(configuration:)` of the prepared configuration (read once).
    public static func prepare(_ c: TrainingConfiguration) throws -> TrainingConfiguration {
        guard c.task == taskName else { return c }
        var prepared = c
        let task = try BabiTask(configuration: c)
        prepared.babi_vocabulary = task.dataset.vocabulary.words
        prepared.input_size = task.inputSize
        prepared.sequence_max_length = task.dataset.train.map(\.length).max() ?? 1
        // Read with the prepared vocabulary the files give the same dataset: the run takes this one.
        BabiPreparedDataset.keep(task.dataset, for: prepared)
        return prepared
    }
}
