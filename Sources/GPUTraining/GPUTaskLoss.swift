import DNCGPU
import DNCNumerics
import DNCTraining

/// A task's loss on the device: from the model's logits on the device, time-major (T, B, Y) as
/// `SequenceModel` produces them, and the batch's targets (uploaded at each call), the loss, the
/// task's metrics (the values `task.evaluate` returns) and d loss / d logits written on the
/// device, so the logits never come down. Float, as the trainer runs.
///
/// Per task (kernels/losses.cu):
/// - copy, repeat-copy, associative recall: one binary cross-entropy kernel with per-row loss
///   weights and metric masks built here from the task's layout and the batch's mask;
/// - adding, argmax: one kernel per sample (the sums over steps and outputs);
/// - bAbI: one softmax cross-entropy block per answer row. The per-row "wrong" flags (one int
///   per answer word) come down: a question counts as right only when all its answer words are,
///   and the grouping by question and bAbI task is host logic over the batch's targets.
/// Each ends with one block summing the partials in a fixed order; the few sums come down. So a
/// call is a zeroing at most, two launches and one or two small downloads.
public final class GPUTaskLoss {
    public let task: any SequenceTask
    public let device: any KernelDevice
    private let kind: Kind
    /// Device buffers reused from call to call (grown when a batch needs more): slot i is the
    /// i-th temporary an evaluation asks for, so steady training allocates nothing.
    private var slots: [DeviceBuffer] = []
    private var slotsUsed = 0
    /// The whole-shape gradient `gradient(…steps:)` evaluates into, kept between chunks.
    private var fullGradient: DeviceArray<Float>?
    /// Threads per block of every launch (a power of two, at least 4: the BCE kernel's four sums).
    public let threads: Int
    /// First-pass blocks of the element-wise loss at most (see GPUGradientClipping).
    static let maximumBlocks = 1024

    private enum Kind {
        case copy(CopyTask)
        case repeatCopy(RepeatCopyTask)
        case associativeRecall(AssociativeRecallTask)
        case adding(AddingTask)
        case argmax(ArgmaxTask)
        case babi(BabiTask)
    }

    private static func kind(of task: any SequenceTask) -> Kind? {
        switch task {
        case let t as CopyTask: return .copy(t)
        case let t as RepeatCopyTask: return .repeatCopy(t)
        case let t as AssociativeRecallTask: return .associativeRecall(t)
        case let t as AddingTask: return .adding(t)
        case let t as ArgmaxTask: return .argmax(t)
        case let t as BabiTask: return .babi(t)
        default: return nil
        }
    }

    /// nil when the task's loss runs on the device; else why not (a task type this file does not know).
    public static func unsupportedReason(_ task: any SequenceTask) -> String? {
        kind(of: task) == nil ? "task '\(task.name)' (\(type(of: task))) has no device loss" : nil
    }

    /// `threads`: per block (tests use few, to cover rows wider than a block).
    public init(_ task: any SequenceTask, device: any KernelDevice, threads: Int = 256) throws {
        guard let kind = Self.kind(of: task) else { throw GPUUnavailable(Self.unsupportedReason(task)!) }
        precondition(threads >= 4 && threads & (threads - 1) == 0, "threads \(threads) must be a power of two ≥ 4")
        self.threads = threads
        self.task = task
        self.device = device
        self.kind = kind
    }

    deinit {
        for buffer in slots { device.free(buffer) }
        if let fullGradient { device.free(fullGradient) }
    }

    /// The next temporary device array of `count` elements (not initialised).
    private func temporary<E>(_: E.Type, count: Int) throws -> DeviceArray<E> {
        let bytes = max(1, count * MemoryLayout<E>.stride)
        if slotsUsed == slots.count {
            slots.append(try device.allocate(bytes: bytes))
        } else if slots[slotsUsed].bytes < bytes {
            device.free(slots[slotsUsed])
            slots[slotsUsed] = try device.allocate(bytes: bytes)
        }
        slotsUsed += 1
        return DeviceArray(pointer: slots[slotsUsed - 1].pointer, count: count)
    }

    /// The next temporary device array, holding `values`.
    private func upload<E>(_ values: [E]) throws -> DeviceArray<E> {
        let array = try temporary(E.self, count: values.count)
        try device.upload(values, to: array)
        return array
    }

    /// The loss and metrics `task.evaluate(logits:batch:globalBatchSize:)` returns, and its
    /// gradient written into `gradient`. `logits`, `gradient`: device arrays of `logitShape`
    /// elements, `logitShape` = [T, B, Y] (T = batch.steps, B = batch.count, Y = task.outputSize).
    public func evaluate(logits: DeviceArray<Float>, logitShape: [Int], batch: TaskBatch, globalBatchSize: Int,
                         gradient: DeviceArray<Float>) throws -> (loss: Double, metrics: [String: MetricSum]) {
        let expected = [batch.steps, batch.count, task.outputSize]
        precondition(logitShape == expected, "\(task.name): logits \(logitShape) for a batch that needs \(expected)")
        precondition(logits.count >= expected.reduce(1, *) && gradient.count >= expected.reduce(1, *),
                     "\(task.name): device arrays of \(logits.count) and \(gradient.count) for logits \(logitShape)")
        precondition(globalBatchSize >= batch.count && globalBatchSize > 0,
                     "\(task.name): global batch size \(globalBatchSize) is smaller than the local batch \(batch.count)")
        slotsUsed = 0
        switch kind {
        case .copy(let t): return try copy(t, logits, batch, globalBatchSize, gradient)
        case .repeatCopy(let t): return try repeatCopy(t, logits, batch, globalBatchSize, gradient)
        case .associativeRecall(let t): return try associativeRecall(t, logits, batch, globalBatchSize, gradient)
        case .adding: return try adding(logits, batch, globalBatchSize, gradient)
        case .argmax(let t): return try argmax(t, logits, batch, globalBatchSize, gradient)
        case .babi(let t): return try babi(t, logits, batch, globalBatchSize, gradient)
        }
    }

    /// d loss / d logits at the time steps `steps` only, for one chunk of truncated BPTT
    /// (`SequenceTask.gradient(logits:batch:globalBatchSize:steps:)`): `gradient` receives
    /// (steps.count, B, Y) elements, evaluate's gradient rows `steps`. As on the CPU, `logits`
    /// holds all T steps; rows not yet computed must hold what the CPU trainer's logits hold there
    /// (zeros), since the adding task's gradient depends on every step's logits.
    ///
    /// It runs `evaluate` into a device scratch array of the whole shape and copies the rows (a
    /// device copy): O(T) per chunk as the CPU's default, the loss and metrics discarded.
    public func gradient(logits: DeviceArray<Float>, logitShape: [Int], batch: TaskBatch, globalBatchSize: Int, steps: Range<Int>,
                         gradient: DeviceArray<Float>) throws {
        let visited = steps.clamped(to: 0..<batch.steps), row = batch.count * task.outputSize
        precondition(gradient.count >= visited.count * row, "\(task.name): gradient of \(gradient.count) elements for \(visited.count) steps")
        if fullGradient == nil || fullGradient!.count < logitShape.reduce(1, *) {
            if let old = fullGradient { device.free(old) }
            fullGradient = try device.zeros(Float.self, count: logitShape.reduce(1, *))
        }
        let full = fullGradient!
        _ = try evaluate(logits: logits, logitShape: logitShape, batch: batch, globalBatchSize: globalBatchSize, gradient: full)
        guard !visited.isEmpty else { return }
        try device.copy(full.slice(visited.lowerBound * row, count: visited.count * row), to: gradient.slice(0, count: visited.count * row))
    }

    // MARK: Binary cross-entropy tasks

    /// The BCE kernel over the batch's (T·B) × Y elements, targets of the logits' shape. `rowWeights`:
    /// (numerator, denominator) per row, `metricRows`: 1 for rows the bit metrics judge. Returns
    /// (loss, wrong judged bits, judged bits, right bits of all elements).
    private func bce(_ logits: DeviceArray<Float>, _ batch: TaskBatch, rowWeights: [Double], lossColumns: Int,
                     metricRows: [Int32], metricColumns: Int, countAllCorrect: Bool,
                     gradient: DeviceArray<Float>) throws -> [Double] {
        let rows = batch.steps * batch.count, columns = task.outputSize, elements = rows * columns
        precondition(batch.targets.count == elements, "\(task.name): targets \(batch.targets.shape) for logits [\(batch.steps), \(batch.count), \(columns)]")
        guard elements > 0 else { return [0, 0, 0, 0] }
        let blocks = min((elements + threads - 1) / threads, Self.maximumBlocks)
        let targets = try upload(batch.targets.storage), weights = try upload(rowWeights), judged = try upload(metricRows)
        let partials = try temporary(Double.self, count: 4 * blocks), sums = try temporary(Double.self, count: 4)
        try device.launch("dnc_loss_bce_f32", grid: (blocks, 1), threads: threads, sharedBytes: 4 * threads * MemoryLayout<Double>.stride, [
            logits.argument(), targets.argument(), weights.argument(), .int(lossColumns), judged.argument(), .int(metricColumns),
            .int(countAllCorrect ? 1 : 0), .int(rows), .int(columns), gradient.argument(), partials.argument(),
        ])
        return try sum(partials, rows: blocks, columns: 4, into: sums)
    }

    /// Pass 2: the column sums of a rows × columns (≤ 4) array of doubles, downloaded.
    private func sum(_ values: DeviceArray<Double>, rows: Int, columns: Int, into sums: DeviceArray<Double>) throws -> [Double] {
        try device.launch("dnc_loss_sum_f32", grid: (1, 1), threads: threads, sharedBytes: columns * threads * MemoryLayout<Double>.stride,
                          [values.argument(), .int(rows), .int(columns), sums.argument()])
        return try device.download(sums, count: columns)
    }

    /// CopyTask.evaluate: BCE over every element (or the output phase's data bits), scale
    /// 1 / (G·judged); the bit metrics over the output phase's data bits.
    private func copy(_ t: CopyTask, _ logits: DeviceArray<Float>, _ batch: TaskBatch, _ global: Int,
                      _ gradient: DeviceArray<Float>) throws -> (loss: Double, metrics: [String: MetricSum]) {
        let length = batch.drawnLength, count = batch.count, x = t.inputSize, steps = batch.steps
        precondition(steps == 2 * length + 1, "copy: batch of \(steps) steps for length \(length)")
        let judged = t.objective == .allElements ? steps * x : length * (x - 1)
        let scale = 1 / (Double(global) * Double(judged))
        var weights = [Double](repeating: 0, count: 2 * steps * count), metricRows = [Int32](repeating: 0, count: steps * count)
        for step in 0..<steps {
            let outputPhase = step > length
            for b in 0..<count {
                let r = step * count + b
                weights[2 * r] = t.objective == .allElements || outputPhase ? scale : 0
                weights[2 * r + 1] = 1
                metricRows[r] = outputPhase ? 1 : 0
            }
        }
        let s = try bce(logits, batch, rowWeights: weights, lossColumns: t.objective == .allElements ? x : x - 1,
                        metricRows: metricRows, metricColumns: x - 1, countAllCorrect: true, gradient: gradient)
        let bits = Double(count * length * (x - 1))
        return (s[0], [
            MetricKey.bitErrors: MetricSum(sum: s[1], count: Double(count)),
            MetricKey.maskedBitAccuracy: MetricSum(sum: bits - s[1], count: bits),
            MetricKey.unmaskedBitAccuracy: MetricSum(sum: s[3], count: Double(steps * count * x)),
        ])
    }

    /// RepeatCopyTask.evaluate: BCE at the masked steps, m / normaliser per row (the normaliser per
    /// sample: G, times Σ_t mask + ε with time averaging, times ln 2 in bits).
    private func repeatCopy(_ t: RepeatCopyTask, _ logits: DeviceArray<Float>, _ batch: TaskBatch, _ global: Int,
                            _ gradient: DeviceArray<Float>) throws -> (loss: Double, metrics: [String: MetricSum]) {
        guard let mask = batch.mask else { preconditionFailure("repeat-copy: the batch has no mask") }
        let count = batch.count, steps = batch.steps, y = t.outputSize
        let units = t.logProbInBits ? Double.exactLog(2) : 1
        var weights = [Double](repeating: 0, count: 2 * steps * count), metricRows = [Int32](repeating: 0, count: steps * count)
        for b in 0..<count {
            var maskSum = 0.0
            for step in 0..<steps { maskSum += Double(mask[flat: step * count + b]) }
            let normaliser = (t.timeAverage ? maskSum + Double(Float.ulpOfOne) : 1) * Double(global) * units
            for step in 0..<steps {
                let r = step * count + b, m = Double(mask[flat: r])
                weights[2 * r] = m
                weights[2 * r + 1] = normaliser
                metricRows[r] = m != 0 ? 1 : 0
            }
        }
        let s = try bce(logits, batch, rowWeights: weights, lossColumns: y, metricRows: metricRows, metricColumns: y,
                        countAllCorrect: false, gradient: gradient)
        return (s[0], [
            MetricKey.bitErrors: MetricSum(sum: s[1], count: Double(count)),
            MetricKey.maskedBitAccuracy: MetricSum(sum: s[2] - s[1], count: s[2]),
        ])
    }

    /// AssociativeRecallTask.evaluate: BCE at the masked (answer) steps, scale 1 / (G·K·W).
    private func associativeRecall(_ t: AssociativeRecallTask, _ logits: DeviceArray<Float>, _ batch: TaskBatch, _ global: Int,
                                   _ gradient: DeviceArray<Float>) throws -> (loss: Double, metrics: [String: MetricSum]) {
        guard let mask = batch.mask else { preconditionFailure("associative-recall: the batch has no mask") }
        let count = batch.count, steps = batch.steps, w = t.outputSize
        let scale = 1 / (Double(global) * Double(t.itemLength * w))
        var weights = [Double](repeating: 0, count: 2 * steps * count), metricRows = [Int32](repeating: 0, count: steps * count)
        for r in 0..<(steps * count) where mask[flat: r] != 0 {
            weights[2 * r] = scale
            weights[2 * r + 1] = 1
            metricRows[r] = 1
        }
        let s = try bce(logits, batch, rowWeights: weights, lossColumns: w, metricRows: metricRows, metricColumns: w,
                        countAllCorrect: false, gradient: gradient)
        return (s[0], [
            MetricKey.bitErrors: MetricSum(sum: s[1], count: Double(count)),
            MetricKey.maskedBitAccuracy: MetricSum(sum: s[2] - s[1], count: s[2]),
        ])
    }

    // MARK: Regression tasks

    /// AddingTask.evaluate: per sample (Σ_t Σ_k z − S)², |·|, |·| < ½.
    private func adding(_ logits: DeviceArray<Float>, _ batch: TaskBatch, _ global: Int,
                        _ gradient: DeviceArray<Float>) throws -> (loss: Double, metrics: [String: MetricSum]) {
        let count = batch.count
        let s = try perSample("dnc_loss_adding_f32", logits, batch, gradient, extra: [.int(global)])
        return (s[0] / Double(global), [
            MetricKey.absoluteError: MetricSum(sum: s[1], count: Double(count)),
            MetricKey.accuracy: MetricSum(sum: s[2], count: Double(count)),
        ])
    }

    /// ArgmaxTask.evaluate: the regressed steps' (Σ_k z − target)², the last step's metrics.
    private func argmax(_ t: ArgmaxTask, _ logits: DeviceArray<Float>, _ batch: TaskBatch, _ global: Int,
                        _ gradient: DeviceArray<Float>) throws -> (loss: Double, metrics: [String: MetricSum]) {
        let count = batch.count, steps = batch.steps
        let first = t.objective == .allSteps ? 0 : steps - 1
        let s = try perSample("dnc_loss_argmax_f32", logits, batch, gradient, extra: [.int(first), .int(global)])
        let scale = 1 / (Double(global) * Double(steps - first))
        return (s[0] * scale, [
            MetricKey.accuracy: MetricSum(sum: s[2], count: Double(count)),
            MetricKey.absoluteError: MetricSum(sum: s[1], count: Double(count)),
        ])
    }

    /// A per-sample kernel (grid B) writing 3 doubles per sample, then their sums.
    private func perSample(_ kernel: String, _ logits: DeviceArray<Float>, _ batch: TaskBatch, _ gradient: DeviceArray<Float>,
                           extra: [KernelArgument]) throws -> [Double] {
        let count = batch.count, steps = batch.steps
        precondition(batch.targets.count == count, "\(task.name): targets \(batch.targets.shape) for \(count) samples")
        guard count > 0 else { return [0, 0, 0] }
        let targets = try upload(batch.targets.storage)
        let values = try temporary(Double.self, count: 3 * count), sums = try temporary(Double.self, count: 3)
        try device.launch(kernel, grid: (count, 1), threads: threads, sharedBytes: threads * MemoryLayout<Double>.stride,
                          [logits.argument(), targets.argument(), .int(steps), .int(count), .int(task.outputSize)] + extra
                            + [gradient.argument(), values.argument()])
        return try sum(values, rows: count, columns: 3, into: sums)
    }

    // MARK: bAbI

    /// BabiTask.evaluate: softmax cross-entropy at the answer rows (targets channel 0 ≥ 0),
    /// averaged over answer words by Losses.softmaxCrossEntropy and rescaled to a sum per story
    /// averaged over the global batch, in Float as there; the question error grouped here.
    private func babi(_ t: BabiTask, _ logits: DeviceArray<Float>, _ batch: TaskBatch, _ global: Int,
                      _ gradient: DeviceArray<Float>) throws -> (loss: Double, metrics: [String: MetricSum]) {
        let steps = batch.steps, count = batch.count, v = t.outputSize, rows = steps * count
        precondition(batch.targets.count == rows * 3, "babi: targets \(batch.targets.shape) for \(rows) rows")
        var answerRows: [Int32] = [], classes: [Int32] = []
        for r in 0..<rows where batch.targets[flat: r * 3] >= 0 {
            let c = Int(batch.targets[flat: r * 3])
            precondition(c >= 0 && c < v, "class target \(c) of row \(r) is outside 0..<\(v)")
            answerRows.append(Int32(r))
            classes.append(Int32(c))
        }
        let answerWords = Double(answerRows.count)
        if rows * v > 0 { try device.zero(gradient.slice(0, count: rows * v)) }
        var loss: Float = 0, wrong: [Int32] = []
        if !answerRows.isEmpty {
            let k = Float(1 / answerWords), rescale = Float(answerWords / Double(global))
            let answerRowsOnDevice = try upload(answerRows), classesOnDevice = try upload(classes)
            let rowLoss = try temporary(Double.self, count: answerRows.count), rowWrong = try temporary(Int32.self, count: answerRows.count)
            let sums = try temporary(Double.self, count: 1)
            try device.launch("dnc_loss_softmax_rows_f32", grid: (answerRows.count, 1), threads: threads,
                              sharedBytes: 3 * threads * MemoryLayout<Double>.stride, [
                                logits.argument(), .int(v), answerRowsOnDevice.argument(), classesOnDevice.argument(), .float(k),
                                .float(rescale), gradient.argument(), rowLoss.argument(), rowWrong.argument(),
                              ])
            let total = try sum(rowLoss, rows: answerRows.count, columns: 1, into: sums)[0]
            wrong = try device.download(rowWrong)
            loss = Float(total * (1 / answerWords)) * rescale
        }

        // A question is right only if every one of its answer words is (BabiTask.evaluate).
        var wrongWords = 0.0
        var questions: [Int: (task: Int, questions: Set<Int>, wrong: Set<Int>)] = [:]  // per sample b
        for (a, row) in answerRows.enumerated() {
            let r = Int(row), b = r % count, question = Int(batch.targets[flat: r * 3 + 1])
            var entry = questions[b] ?? (Int(batch.targets[flat: r * 3 + 2]), [], [])
            entry.questions.insert(question)
            if wrong[a] != 0 { wrongWords += 1; entry.wrong.insert(question) }
            questions[b] = entry
        }
        var perTask = Dictionary(uniqueKeysWithValues: t.tasks.map { ($0, MetricSum(sum: 0, count: 0)) })
        for entry in questions.values {
            perTask[entry.task, default: MetricSum(sum: 0, count: 0)] += MetricSum(sum: Double(entry.wrong.count), count: Double(entry.questions.count))
        }
        var metrics: [String: MetricSum] = [BabiMetricKey.answerWordError: MetricSum(sum: wrongWords, count: answerWords)]
        metrics[BabiMetricKey.questionError] = perTask.values.reduce(MetricSum(sum: 0, count: 0), +)
        for (task, sum) in perTask { metrics[BabiMetricKey.questionError(task: task)] = sum }
        return (Double(loss), metrics)
    }
}
