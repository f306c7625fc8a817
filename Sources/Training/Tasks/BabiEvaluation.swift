import Foundation
import DNCNumerics
import DNCStorage

/// bAbI results in the DNC paper's format (Extended Data Table 1): the test error per task (a
/// question is right only if all its answer words are), the mean error, and the number of failed
/// tasks (error > 5 %).
public struct BabiResults: Sendable, Equatable {
    public struct TaskResult: Sendable, Equatable {
        public var task: Int
        public var questions: Int
        public var wrong: Int
        /// wrong / questions, as a fraction.
        public var error: Double { questions == 0 ? 0 : Double(wrong) / Double(questions) }
    }

    /// A task fails above this error (Weston et al. 2015; the DNC paper).
    public static let failureThreshold = 0.05

    public var tasks: [TaskResult]
    public var split: String
    /// Lines about files taken from another set (the 10k set's missing task 3 training file).
    public var notes: [String]

    public init(tasks: [TaskResult], split: String, notes: [String] = []) {
        self.tasks = tasks
        self.split = split
        self.notes = notes
    }

    /// The per-task results of summed (over batches and ranks) metric pairs.
    public init(metrics: [String: MetricSum], tasks: [Int], split: String, notes: [String] = []) {
        self.init(tasks: tasks.map { task in
            let sum = metrics[BabiMetricKey.questionError(task: task)] ?? MetricSum(sum: 0, count: 0)
            return TaskResult(task: task, questions: Int(sum.count.rounded()), wrong: Int(sum.sum.rounded()))
        }, split: split, notes: notes)
    }

    public var meanError: Double { tasks.isEmpty ? 0 : tasks.map(\.error).reduce(0, +) / Double(tasks.count) }
    public var failedTasks: Int { tasks.filter { $0.error > Self.failureThreshold }.count }

    public func table() -> String {
        var lines = ["task  questions  wrong  error %"]
        for t in tasks {
            lines.append(String(format: "%4d  %9d  %5d  %7.2f%@", t.task, t.questions, t.wrong, 100 * t.error,
                                t.error > Self.failureThreshold ? "  failed" : ""))
        }
        lines.append(String(format: "mean error %.2f %%, failed tasks (> 5 %%) %d of %d (%@ split)",
                            100 * meanError, failedTasks, tasks.count, split))
        lines += notes.map { "note: \($0)" }
        return lines.joined(separator: "\n")
    }

    /// `<prefix>.csv` (task,questions,wrong,error_percent, then a `mean` row) and `<prefix>.h5`
    /// (datasets task, questions, wrong, error; attributes mean_error, failed_tasks, split, notes).
    public func write(to prefix: URL, attributes: [String: String]) throws {
        // Percentages to four decimals (55.5000, not the binary artefact 55.50000000000001); the
        // exact counts are the questions and wrong columns, and the HDF5 file keeps full precision.
        func percent(_ e: Double) -> String { String(format: "%.4f", 100 * e) }
        var csv = "task,questions,wrong,error_percent\n"
        for t in tasks { csv += "\(t.task),\(t.questions),\(t.wrong),\(percent(t.error))\n" }
        csv += "mean,\(tasks.map(\.questions).reduce(0, +)),\(tasks.map(\.wrong).reduce(0, +)),\(percent(meanError))\n"
        let csvURL = prefix.appendingPathExtension("csv")
        do {
            try csv.write(to: csvURL, atomically: true, encoding: .utf8)
        } catch {
            throw TrainingFailure("cannot write '\(csvURL.path)': \(error.localizedDescription)")
        }
        try HDF5File.writeAtomically(to: prefix.appendingPathExtension("h5").path) { file in
            try file.write(ints: tasks.map { Int64($0.task) }, shape: [tasks.count], to: "task")
            try file.write(ints: tasks.map { Int64($0.questions) }, shape: [tasks.count], to: "questions")
            try file.write(ints: tasks.map { Int64($0.wrong) }, shape: [tasks.count], to: "wrong")
            try file.write(Tensor<Double>(shape: [tasks.count], storage: tasks.map(\.error)), to: "error")
            var all = attributes
            all["mean_error"] = String(meanError)
            all["failed_tasks"] = String(failedTasks)
            all["split"] = split
            if !notes.isEmpty { all["notes"] = notes.joined(separator: "; ") }
            for (key, value) in all.sorted(by: { $0.key < $1.key }) { try file.writeAttribute(key, value) }
        }
    }

    /// Every story of `split` once, in batches of `batchSize` stories of similar length (sorted),
    /// each batch split over the communicator's processes; the per-task pairs summed over all.
    public static func run(model: any SequenceModel, task: BabiTask, split: BabiDataset.Split, batchSize: Int,
                           communicator: Communicator = SingleProcess(), stopSignal: (() -> Int32?)? = nil) throws -> BabiResults {
        let samples = task.dataset.samples(split)
        let order = samples.indices.sorted { (samples[$0].length, $0) < (samples[$1].length, $1) }
        var metrics: [String: MetricSum] = [:]
        var start = 0
        while start < order.count {
            if let stopSignal {
                var stop = [Double(stopSignal() ?? 0)]
                if communicator.size > 1 { stop.withUnsafeMutableBufferPointer { communicator.sumInPlace($0.baseAddress!, count: 1) } }
                if stop[0] != 0 { throw EvaluationStopped(signal: stopSignal() ?? SIGTERM) }
            }
            let global = Swift.min(batchSize, order.count - start)
            let share = communicator.share(ofGlobalBatch: global)
            var evaluation = TaskEvaluation(loss: 0, gradient: Tensor(shape: [0]), metrics: task.emptyMetrics())
            if !share.isEmpty {
                let batch = task.makeBatch(share.map { samples[order[start + $0]] })
                let logits = model.infer(batch.inputs, lengths: batch.lengths)
                evaluation = task.evaluate(logits: logits, batch: batch, globalBatchSize: global)
            }
            var reduced = MetricVector(loss: evaluation.loss, metrics: evaluation.metrics)
            reduced.sum(over: communicator)
            metrics.accumulate(reduced.metrics)
            start += global
        }
        return BabiResults(metrics: metrics, tasks: task.tasks, split: split.rawValue, notes: task.dataset.substitutions)
    }
}

extension BabiTask {
    /// Every metric key `evaluate` reports, at zero: a process with no story in a batch must
    /// still add the same keys as the others.
    func emptyMetrics() -> [String: MetricSum] {
        var metrics = [BabiMetricKey.questionError: MetricSum(sum: 0, count: 0), BabiMetricKey.answerWordError: MetricSum(sum: 0, count: 0)]
        for task in tasks { metrics[BabiMetricKey.questionError(task: task)] = MetricSum(sum: 0, count: 0) }
        return metrics
    }
}

enum BabiEvaluation {
    /// A trainer's model on `split`: a table on rank 0, `<prefix>.csv` and `<prefix>.h5`, and a
    /// line in metrics.jsonl (validation every eval_freq steps, test at the end).
    static func evaluate(_ trainer: Trainer, task: BabiTask, split: BabiDataset.Split, into prefix: URL) throws {
        let c = trainer.configuration
        let results = try BabiResults.run(model: trainer.model, task: task, split: split, batchSize: c.batch_size,
                                          communicator: trainer.communicator, stopSignal: { StopSignals.pending })
        guard trainer.communicator.rank == 0 else { return }
        trainer.progress.log("bAbI \(split.rawValue) error at step \(trainer.state.step):\n" + results.table())
        try results.write(to: prefix, attributes: ["task": c.task, "step": String(trainer.state.step), "babi_set": c.babi_set])
        try trainer.metricsLog?.append(["step": trainer.state.step, "babi_evaluation": [
            "split": split.rawValue, "mean_error": results.meanError, "failed_tasks": results.failedTasks,
            "errors": Dictionary(uniqueKeysWithValues: results.tasks.map { (String($0.task), $0.error) }),
        ] as [String: Any]])
    }
}
