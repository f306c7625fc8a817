import Foundation
import DNCLayers
import DNCModels
import DNCNumerics

/// A training run (docs/tasks.md, Training step; pytorch-dnc's loop with its bugs fixed): per step, this process's share
/// of the global batch (drawn by global sample index), forward, the task's loss, backward, one
/// sum of the flat gradient buffer over processes, a finiteness check (non-finite steps are
/// skipped and counted), the learning-rate schedule, global-norm clipping and the optimiser
/// step; the curriculum, summaries, metrics, debug dumps and checkpoints around it.
public final class Trainer {
    public let configuration: TrainingConfiguration
    public let setup: TrainingSetup
    public let communicator: Communicator
    public let runDirectory: URL?
    public let progress: ProgressReporter
    public var state: TrainingState
    let schedule: LearningRateSchedule
    let metricsLog: MetricsLog?
    /// The step of the newest checkpoint this run wrote or resumed from, if any.
    var lastCheckpointStep: Int?

    /// How a run ended.
    public enum Outcome: Equatable, Sendable {
        case finished
        /// A stop signal arrived; a checkpoint was written.
        case stopped(signal: Int32)
    }

    /// Called at each checkpoint step and at the end (or stop); returns the file written, if any.
    public var checkpointWriter: ((Trainer) throws -> URL?)?
    /// Called every eval_freq steps (generalisation during training).
    public var periodicEvaluation: ((Trainer) throws -> Void)?
    /// Called every summarize_freq steps with the debug trace of that step's batch element 0
    /// and that sample's input, target and output.
    public var debugWriter: ((Trainer, DNCTrace<Float>, DebugSample) throws -> Void)?

    public init(configuration: TrainingConfiguration, runDirectory: URL?, communicator: Communicator = SingleProcess(),
                progress: ProgressReporter? = nil, placement: ModelPlacement? = nil) throws {
        self.configuration = configuration
        setup = try TrainingSetup(configuration, placement: placement)
        self.communicator = communicator
        self.runDirectory = runDirectory
        self.progress = progress ?? ProgressReporter(enabled: communicator.rank == 0)
        state = TrainingState(maxLength: configuration.sequence_max_length)
        schedule = LearningRateSchedule(configuration)
        metricsLog = communicator.rank == 0 ? try MetricsLog(url: runDirectory?.appendingPathComponent("metrics.jsonl")) : nil
    }

    public var model: any SequenceModel { setup.model }
    public var task: any SequenceTask { setup.task }

    /// Runs from `state.step` to `iterations`. `summary` receives each summary window.
    @discardableResult
    public func run(summary: ((TrainingSummary) -> Void)? = nil) throws -> Outcome {
        let c = configuration
        var window = SummaryWindow()
        let share = communicator.share(ofGlobalBatch: c.batch_size)
        let started = Date()
        let firstStep = state.step
        if firstStep > 0 && checkpointWriter != nil && lastCheckpointStep == nil { lastCheckpointStep = firstStep }
        while state.step < c.iterations {
            // Every process stops at the same step: a signal seen by any of them counts for all.
            var stop = [Double(StopSignals.pending ?? 0)]
            if communicator.size > 1 { stop.withUnsafeMutableBufferPointer { communicator.sumInPlace($0.baseAddress!, count: 1) } }
            if stop[0] != 0 {
                let signal = StopSignals.pending ?? SIGTERM
                progress.log("\(StopSignals.name(signal)) received: checkpointing at step \(state.step) and stopping")
                try writeCheckpoint()
                return .stopped(signal: signal)
            }
            let step = state.step
            try injectedFailure(step: step)
            let lengths = TrainingSetup.trainingLengths(task: c.task, maxLength: state.maxLength)
            let batch = task.batch(step: step, firstSample: share.lowerBound, count: share.count, lengths: lengths)
            // Each process records its own first sample into its own debug file.
            let debugStep = c.debug && debugWriter != nil && (step + 1) % c.summarize_freq == 0 && share.count > 0

            let (loss, logits, trace) = c.tbptt > 0
                ? try trainEpisodeInChunks(batch, step: step, debug: debugStep, window: &window)
                : try trainWholeSequence(batch, step: step, debug: debugStep, window: &window)
            state.step += 1
            // pytorch-dnc's copy curriculum: after the update of iteration `step` (≠ 0) with step % freq == 0.
            if c.curriculum_increment > 0 && step != 0 && step % c.curriculum_freq == 0 {
                state.maxLength += c.curriculum_increment
            }
            if debugStep, let trace, let debugWriter {
                try debugWriter(self, trace, DebugSample(batch: batch, logits: logits, element: trace.batchElement))
            }

            if state.step % c.summarize_freq == 0 || state.step == c.iterations {
                let eta = Date().timeIntervalSince(started) / Double(state.step - firstStep) * Double(c.iterations - state.step)
                try summarise(&window, learningRate: schedule.rate(at: step), eta: eta, to: summary)
            } else {
                progress.update(String(format: "step %d/%d  loss %.4f", state.step, c.iterations, loss))
            }
            if state.step % c.check_freq == 0 && state.step < c.iterations { try writeCheckpoint() }
            if c.eval_freq > 0 && state.step % c.eval_freq == 0 && state.step < c.iterations {
                do {
                    try periodicEvaluation?(self)
                } catch let stop as EvaluationStopped {
                    progress.log("\(StopSignals.name(stop.signal)) received during the evaluation: checkpointing at step \(state.step) and stopping")
                    try writeCheckpoint()
                    return .stopped(signal: stop.signal)
                }
            }
        }
        try writeCheckpoint()
        return .finished
    }

    /// One training step over the whole sequence: forward, the task's loss, backward, one sum of
    /// the flat gradient buffer and one of the loss and metrics over processes, clipping and the
    /// update (skipped when anything is not finite). Returns the global loss, the logits and the
    /// debug trace.
    private func trainWholeSequence(_ batch: TaskBatch, step: Int, debug: Bool, window: inout SummaryWindow) throws
        -> (loss: Double, logits: Tensor<Float>, trace: DNCTrace<Float>?) {
        let c = configuration, store = model.parameters
        store.zeroGradients()
        let evaluation: (loss: Double, metrics: [String: MetricSum]), logits: Tensor<Float>, trace: DNCTrace<Float>?
        if !debug, let resident = model as? DeviceResidentModel,
           let onDevice = try resident.lossAndGradientOnDevice(batch, task: task, globalBatchSize: c.batch_size) {
            // A GPU rank: the logits stay on the device (they are only needed for a debug dump).
            (evaluation, logits, trace) = (onDevice, Tensor(shape: [0]), nil)
        } else {
            (logits, trace) = model.forwardSequence(batch.inputs, lengths: batch.lengths, training: true, debug: debug)
            let onHost = task.evaluate(logits: logits, batch: batch, globalBatchSize: c.batch_size)
            model.backwardSequence(logitGradients: onHost.gradient)
            evaluation = (onHost.loss, onHost.metrics)
        }

        communicator.sumInPlace(store.gradients, count: store.count)
        var reduced = MetricVector(loss: evaluation.loss, metrics: evaluation.metrics)
        reduced.sum(over: communicator)

        if let norm = try clipAndUpdate(step: step, lossIsFinite: reduced.loss.isFinite) {
            window.add(loss: reduced.loss, metrics: reduced.metrics, sequences: c.batch_size, gradientNorm: norm)
        }
        return (reduced.loss, logits, trace)
    }

    /// One training step over a long episode by truncated backpropagation through time
    /// (docs/tasks.md, Long episodes): chunks of `tbptt` steps, the model's state carried from
    /// one to the next (a sparse memory stays filled for the whole episode), and per chunk a
    /// backward that stops at the carried state, one sum of the gradient over processes,
    /// clipping and an update. Every process runs the same number of chunks (the longest local
    /// episode's; a process whose episode is shorter adds zero gradients). The loss and metrics
    /// are the whole episode's, from the logits of all chunks; so is the debug trace, the chunks'
    /// traces end to end.
    private func trainEpisodeInChunks(_ batch: TaskBatch, step: Int, debug: Bool, window: inout SummaryWindow) throws
        -> (loss: Double, logits: Tensor<Float>, trace: DNCTrace<Float>?) {
        let c = configuration, store = model.parameters, steps = batch.steps
        let longest = communicator.size > 1 ? Int(communicator.extremes([Double(steps)]).maximum[0]) : steps
        let chunkCount = (longest + c.tbptt - 1) / c.tbptt
        var logits = Tensor<Float>(shape: [steps, batch.count, task.outputSize])
        var carried: CarriedState?
        var trace: DNCTrace<Float>?
        var normSum = 0.0, updates = 0
        for k in 0..<chunkCount {
            store.zeroGradients()
            let range = Swift.min(k * c.tbptt, steps) ..< Swift.min((k + 1) * c.tbptt, steps)
            if !range.isEmpty {
                let lengths = batch.lengths?.map { Swift.max(0, Swift.min($0 - range.lowerBound, range.count)) }
                let (chunk, chunkTrace) = model.forwardChunk(batch.inputs.leadingRange(range), lengths: lengths, carried: &carried,
                                                             training: true, debug: debug)
                logits.replaceLeadingRange(at: range.lowerBound, with: chunk)
                if let chunkTrace {
                    if trace == nil { trace = chunkTrace } else { trace!.append(chunkTrace) }
                }
                let gradient = task.gradient(logits: logits, batch: batch, globalBatchSize: c.batch_size, steps: range)
                model.backwardSequence(logitGradients: gradient)
            }
            communicator.sumInPlace(store.gradients, count: store.count)
            if let norm = try clipAndUpdate(step: step, lossIsFinite: true) {
                normSum += norm
                updates += 1
            }
        }
        let evaluation = task.evaluate(logits: logits, batch: batch, globalBatchSize: c.batch_size)
        var reduced = MetricVector(loss: evaluation.loss, metrics: evaluation.metrics)
        reduced.sum(over: communicator)
        if reduced.loss.isFinite && updates > 0 {
            window.add(loss: reduced.loss, metrics: reduced.metrics, sequences: c.batch_size, gradientNorm: normSum / Double(updates))
        }
        return (reduced.loss, logits, trace)
    }

    /// Global-norm clipping of the summed gradient, then the learning-rate schedule and the
    /// optimiser step; or, when the loss or the clipped gradient is not finite, no update
    /// (`skipNonFiniteStep`). Returns the gradient norm of an update made, nil for a skip.
    private func clipAndUpdate(step: Int, lossIsFinite: Bool) throws -> Double? {
        let store = model.parameters, resident = model as? DeviceResidentModel
        let norm = try resident?.clipGradientsOnDevice(maxNorm: configuration.clip, summedOnHost: communicator.size > 1)
            ?? clipGlobalNorm(store, maxNorm: configuration.clip)
        guard lossIsFinite && norm.isFinite else {
            try skipNonFiniteStep(step, lossIsFinite: lossIsFinite)
            return nil
        }
        state.badStepsInARow = 0
        setup.optimiser.learningRate = schedule.rate(at: step)
        if let resident {
            try resident.stepOnDevice(optimiser: setup.optimiser, learningRate: setup.optimiser.learningRate)
        } else {
            setup.optimiser.step(store: store)
        }
        return norm
    }

    /// The host copies of the parameters and optimiser state, current (a model updated on a
    /// device brings them back; others have nothing to do).
    func synchroniseHost() throws {
        try (model as? DeviceResidentModel)?.synchroniseHost(optimiser: setup.optimiser)
    }

    /// A step whose loss or gradient is not finite: no update, one line; the run stops when the
    /// parameters themselves are no longer finite (nothing can bring them back) or after
    /// `max_bad_steps` such steps in a row, naming the newest checkpoint.
    private func skipNonFiniteStep(_ step: Int, lossIsFinite: Bool) throws {
        try synchroniseHost()
        let c = configuration, store = model.parameters
        state.badStepsInARow += 1
        state.skippedSteps += 1
        progress.log("step \(step + 1): non-finite \(lossIsFinite ? "gradient" : "loss"); update skipped "
                     + "(\(state.badStepsInARow) in a row, \(state.skippedSteps) in all)")
        let saved = lastCheckpointStep.map { "the newest checkpoint is that of step \($0)" } ?? "no checkpoint was written"
        if !(0..<store.count).allSatisfy({ store.values[$0].isFinite }) {
            throw TrainingFailure("stopping at step \(step + 1): the parameters are no longer finite (an update with "
                                  + "lr \(c.lr) overflowed them); \(saved)")
        }
        if state.badStepsInARow >= c.max_bad_steps {
            throw TrainingFailure("stopping: \(state.badStepsInARow) consecutive steps with a non-finite loss or gradient "
                                     + "(max_bad_steps \(c.max_bad_steps)); \(saved)")
        }
    }

    /// Ends a summary window: checks the replicas agree, reports the window's summary (and
    /// passes it to `summary`) and starts a new window.
    private func summarise(_ window: inout SummaryWindow, learningRate: Double, eta: Double,
                           to summary: ((TrainingSummary) -> Void)?) throws {
        try checkReplicas()
        let s = window.summary(step: state.step, learningRate: learningRate, maxLength: state.maxLength,
                               skipped: state.skippedSteps, eta: eta, primary: task.primaryMetric.key)
        try report(s)
        summary?(s)
        window = SummaryWindow()
    }

    /// Fails the run when the processes' parameters are no longer identical: replicas apply the
    /// same reduced gradient to the same parameters, so a position-weighted checksum must agree
    /// bit for bit (its maximum and minimum over processes; a spread estimated from sums of
    /// squares cancels catastrophically and reported identical replicas as diverged).
    func checkReplicas() throws {
        guard communicator.size > 1 else { return }
        try synchroniseHost()
        let store = model.parameters
        var checksum = 0.0
        for i in 0..<store.count { checksum += Double(store.values[i]) * (1 + Double(i % 7) / 7) }
        let (maximum, minimum) = communicator.extremes([checksum])
        if maximum[0] != minimum[0] {
            throw TrainingFailure("replicas diverged at step \(state.step): parameter checksums differ between processes "
                                  + "(from \(minimum[0]) to \(maximum[0])); this process has \(checksum)")
        }
    }

    /// Test hook for the failure tests: `DNC_TEST_FAIL_STEP=s` (and optionally `DNC_TEST_FAIL_RANK=r`)
    /// makes that process fail at step s as a real error would.
    func injectedFailure(step: Int) throws {
        let environment = ProcessInfo.processInfo.environment
        guard let failStep = environment["DNC_TEST_FAIL_STEP"].flatMap(Int.init), failStep == step,
              environment["DNC_TEST_FAIL_RANK"].flatMap(Int.init).map({ $0 == communicator.rank }) ?? true else { return }
        throw TrainingFailure("injected failure at step \(step) (DNC_TEST_FAIL_STEP)")
    }

    @discardableResult
    func writeCheckpoint() throws -> URL? {
        // Also at the end of a run without checkpoints: the store is the run's result.
        try synchroniseHost()
        guard let checkpointWriter else { return nil }
        let url = try checkpointWriter(self)
        communicator.barrier()
        lastCheckpointStep = state.step
        return url
    }

    func report(_ s: TrainingSummary) throws {
        var line = String(format: "step %6d  loss %.4f", s.step, s.loss)
        for key in s.metrics.keys.sorted() where key == MetricKey.bitErrors || key == task.primaryMetric.key {
            line += String(format: "  %@ %.4f", key.replacingOccurrences(of: "_", with: " "), s.metrics[key]!)
        }
        line += String(format: "  %.0f seq/s  L≤%d  ETA %@", s.sequencesPerSecond, s.maxLength, ProgressReporter.duration(s.eta))
        if s.skippedSteps > 0 { line += "  skipped \(s.skippedSteps)" }
        progress.log(line)
        try metricsLog?.append(s.record)
    }
}

/// What a checkpoint must restore besides parameters and optimiser state for a resumed run to
/// continue bit-identically: the step (data are keyed by it), the curriculum, the skip counters.
public struct TrainingState: Equatable, Sendable {
    public var step = 0
    public var maxLength: Int
    public var badStepsInARow = 0
    public var skippedSteps = 0
    public init(maxLength: Int) { self.maxLength = maxLength }
}

/// The means over one summary window.
public struct TrainingSummary: Sendable {
    public let step: Int
    public let loss: Double
    public let metrics: [String: Double]
    public let sequencesPerSecond: Double
    public let learningRate: Double
    public let maxLength: Int
    public let skippedSteps: Int
    public let gradientNorm: Double
    public let eta: Double

    var record: [String: Any] {
        var r: [String: Any] = ["step": step, "loss": loss, "sequences_per_second": sequencesPerSecond, "lr": learningRate,
                                "max_length": maxLength, "skipped_steps": skippedSteps, "gradient_norm": gradientNorm,
                                "time": Date().timeIntervalSince1970]
        for (k, v) in metrics { r[k] = v }
        return r
    }
}

struct SummaryWindow {
    var loss = 0.0, steps = 0, sequences = 0, gradientNorm = 0.0
    var metrics: [String: MetricSum] = [:]
    let started = Date()

    mutating func add(loss: Double, metrics: [String: MetricSum], sequences: Int, gradientNorm: Double) {
        self.loss += loss
        self.metrics.accumulate(metrics)
        self.sequences += sequences
        self.gradientNorm += gradientNorm
        steps += 1
    }

    func summary(step: Int, learningRate: Double, maxLength: Int, skipped: Int, eta: Double, primary: String) -> TrainingSummary {
        let n = Double(Swift.max(steps, 1))
        return TrainingSummary(step: step, loss: steps == 0 ? .nan : loss / n, metrics: metrics.mapValues(\.mean),
                               sequencesPerSecond: Double(sequences) / Swift.max(Date().timeIntervalSince(started), 1e-9),
                               learningRate: learningRate, maxLength: maxLength, skippedSteps: skipped,
                               gradientNorm: gradientNorm / n, eta: eta)
    }
}

/// The loss and metric pairs of one step as one vector, summed over processes in one call.
struct MetricVector {
    var loss: Double
    var metrics: [String: MetricSum]

    mutating func sum(over communicator: Communicator) {
        guard communicator.size > 1 else { return }
        let keys = metrics.keys.sorted()
        var values = [loss] + keys.flatMap { [metrics[$0]!.sum, metrics[$0]!.count] }
        values.withUnsafeMutableBufferPointer { communicator.sumInPlace($0.baseAddress!, count: $0.count) }
        loss = values[0]
        for (i, key) in keys.enumerated() { metrics[key] = MetricSum(sum: values[1 + 2 * i], count: values[2 + 2 * i]) }
    }
}

/// A run that started and could not go on (as opposed to bad input, `ConfigurationError`).
public struct TrainingFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
