import Foundation
import DNCLayers
import DNCModels
import DNCNumerics

/// A whole `dnc-dist train` run in its run directory:
///
///     <run-dir>/configuration.json      the resolved configuration
///     <run-dir>/metrics.jsonl           one JSON object per summary
///     <run-dir>/checkpoints/checkpoint-<step>.h5   the last keep_checkpoints checkpoints
///     <run-dir>/debug-rank<r>.h5        debug tensors (with --debug / -visdom)
///     <run-dir>/eval.csv, eval.h5       generalisation at the end
public enum TrainingRun {
    /// Configuration fields that may change when a run is resumed; all others define the
    /// experiment and must match the checkpoint's.
    public static let resumableFields: Set<String> = [
        "iterations", "summarize_freq", "check_freq", "keep_checkpoints", "debug", "eval_lengths", "eval_batches", "eval_freq",
        "max_bad_steps", "cuda",
        // The same bAbI files may live elsewhere on another machine (the stored vocabulary checks them).
        "babi_data",
    ]

    public static func checkpointDirectory(_ run: URL, keep: Int) -> CheckpointDirectory {
        CheckpointDirectory(path: run.appendingPathComponent("checkpoints").path, keepLast: keep)
    }

    /// The newest loadable checkpoint of a run directory, the configuration it was written with,
    /// and the newer checkpoints skipped on the way, each with the reason (damaged data, damaged
    /// configuration or state, unreadable configuration), one line each.
    public static func latestCheckpoint(in run: URL) throws
        -> (checkpoint: Checkpoint<Float>, path: String, configuration: TrainingConfiguration, skipped: [String]) {
        let directory = checkpointDirectory(run, keep: 1)
        var skipped: [String] = []
        for (_, path) in directory.checkpointFiles() {
            let checkpoint: Checkpoint<Float>
            do {
                checkpoint = try CheckpointFile.read(path, as: Float.self)
            } catch {
                skipped.append("skipped damaged \(error)")
                continue
            }
            guard case .string(let json)? = checkpoint.configuration["configuration_json"],
                  let configuration = TrainingConfiguration.decode(json: json) else {
                skipped.append("skipped checkpoint '\(path)': it has no readable training configuration")
                continue
            }
            return (checkpoint, path, configuration, skipped)
        }
        throw ConfigurationError("no loadable checkpoint in '\(run.appendingPathComponent("checkpoints").path)'"
                                 + (skipped.isEmpty ? "" : " (\(skipped.joined(separator: "; ")))"))
    }

    /// Why `configuration` cannot continue a run made with `original`, naming the first field
    /// that differs; nil when it can.
    public static func resumeConflict(_ configuration: TrainingConfiguration, original: TrainingConfiguration) -> String? {
        let new = Dictionary(uniqueKeysWithValues: configuration.keyValues.map { ($0.key, $0.value) })
        for (key, value) in original.keyValues where !resumableFields.contains(key) && new[key] != value {
            return "cannot resume: \(key) is \(new[key] ?? "?") but the run was made with \(value)"
        }
        return nil
    }

    /// The checkpoint of the trainer's current state.
    static func checkpoint(of trainer: Trainer) -> Checkpoint<Float> {
        let c = trainer.configuration
        var configuration = c.checkpointAttributes
        // Sorted keys: the same run writes the same bytes (a dictionary's order changes from one
        // process to the next).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let json = try? encoder.encode(c) { configuration["configuration_json"] = .string(String(decoding: json, as: UTF8.self)) }
        return Checkpoint(step: Int64(trainer.state.step), store: trainer.model.parameters,
                          optimiser: trainer.setup.optimiser.exportState(), configuration: configuration,
                          counters: ["max_length": Int64(trainer.state.maxLength),
                                     "bad_steps_in_a_row": Int64(trainer.state.badStepsInARow),
                                     "skipped_steps": Int64(trainer.state.skippedSteps),
                                     "dropout_position": Int64(bitPattern: trainer.model.dropoutPosition),
                                     "seed": Int64(bitPattern: c.seed)])
    }

    /// Puts a checkpoint's parameters, optimiser state and counters into a fresh trainer.
    static func restore(_ checkpoint: Checkpoint<Float>, path: String, into trainer: Trainer) throws {
        try checkpoint.restore(into: trainer.model.parameters, expectingOptimiser: trainer.setup.optimiser.name, file: path)
        if let optimiser = checkpoint.optimiser { try trainer.setup.optimiser.importState(optimiser) }
        func counter(_ name: String) throws -> Int64 {
            guard let value = checkpoint.counters[name] else { throw ConfigurationError("checkpoint '\(path)' lacks the counter '\(name)'") }
            return value
        }
        trainer.state.step = Int(checkpoint.step)
        trainer.state.maxLength = Int(try counter("max_length"))
        trainer.state.badStepsInARow = Int(try counter("bad_steps_in_a_row"))
        trainer.state.skippedSteps = Int(try counter("skipped_steps"))
        trainer.model.dropoutPosition = UInt64(bitPattern: try counter("dropout_position"))
    }

    /// Runs training (fresh or resumed), then the generalisation evaluation. Returns the exit
    /// code: 0, or `StopSignals.requeueExitCode` after a signal-requested stop.
    /// The configuration as the processes will run it (`per_rank_batch_size` turned into the
    /// global `batch_size`), refused in one line when the batch cannot be shared among the
    /// processes or the run cannot fit in memory (`MemoryEstimate`). Nothing is allocated or
    /// written: the command calls it before it touches the run directory.
    public static func preflight(_ given: TrainingConfiguration, communicator: Communicator) throws -> TrainingConfiguration {
        var configuration = given
        if configuration.per_rank_batch_size > 0 {
            configuration.batch_size = configuration.per_rank_batch_size * communicator.size
            configuration.per_rank_batch_size = 0
        }
        if configuration.batch_size < communicator.size {
            // batch_size is the global batch, split across the processes.
            throw ConfigurationError("batch_size \(configuration.batch_size) is the global batch, smaller than the \(communicator.size) processes: "
                                     + "give -batch_size \(communicator.size) or more, or -per_rank_batch_size \(configuration.batch_size) "
                                     + "for \(configuration.batch_size) per process")
        }
        // Refuse what cannot fit before allocating anything.
        try MemoryEstimate.check(configuration, processes: communicator.size)
        return configuration
    }

    public static func execute(configuration given: TrainingConfiguration, runDirectory path: String?, resume: Bool,
                               overwrite: Bool = false, communicator: Communicator = SingleProcess(),
                               placement: ModelPlacement? = nil) throws -> Int32 {
        let configuration = try preflight(given, communicator: communicator)
        // Every process must write to the same run directory: rank 0's default name is broadcast.
        let run = URL(fileURLWithPath: path ?? defaultRunDirectory(task: configuration.task, communicator: communicator))
        let manager = FileManager.default
        let progress = ProgressReporter(enabled: communicator.rank == 0)
        var resumeFrom: (checkpoint: Checkpoint<Float>, path: String, configuration: TrainingConfiguration, skipped: [String])?
        if communicator.rank == 0 {
            try manager.createDirectory(at: run, withIntermediateDirectories: true)
            // One process per run directory, for as long as it lives.
            try RunDirectoryGuard.lock(run)
            if resume {
                resumeFrom = try latestCheckpoint(in: run)
            } else {
                let removed = try RunDirectoryGuard.prepareFresh(run, overwrite: overwrite)
                if !removed.isEmpty { progress.log("--overwrite: deleted the earlier run's \(removed.joined(separator: ", "))") }
            }
            let directory = checkpointDirectory(run, keep: configuration.keep_checkpoints)
            for file in directory.removeStaleTemporaries() { progress.log("removed \(file), left by a save that was killed") }
            if let resumeFrom {
                for line in resumeFrom.skipped { progress.log("warning: \(line)") }
                // Records of steps after the checkpoint are recorded again by the resumed run.
                let dropped = try MetricsLog.truncate(run.appendingPathComponent("metrics.jsonl"), after: Int(resumeFrom.checkpoint.step))
                if dropped > 0 {
                    progress.log("metrics.jsonl: dropped \(dropped) record\(dropped == 1 ? "" : "s") after step \(resumeFrom.checkpoint.step), "
                                 + "which the resumed run records again")
                }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(configuration).write(to: run.appendingPathComponent("configuration.json"), options: .atomic)
        }
        communicator.barrier()
        if resume && communicator.rank != 0 { resumeFrom = try latestCheckpoint(in: run) }
        let trainer = try Trainer(configuration: configuration, runDirectory: run, communicator: communicator, progress: progress,
                                  placement: placement)
        if let (checkpoint, checkpointPath, original, _) = resumeFrom {
            if let conflict = resumeConflict(configuration, original: original) { throw ConfigurationError(conflict) }
            try restore(checkpoint, path: checkpointPath, into: trainer)
            progress.log("resumed from \(checkpointPath) at step \(trainer.state.step)")
        }
        // Identical replicas: every process starts from rank 0's parameters.
        communicator.broadcast(trainer.model.parameters.values, count: trainer.model.parameters.count)
        // Test hook for the replica check: DNC_TEST_PERTURB_RANK=r nudges that rank's first parameter.
        if let rank = ProcessInfo.processInfo.environment["DNC_TEST_PERTURB_RANK"].flatMap(Int.init), rank == communicator.rank {
            trainer.model.parameters.values[0] += 1e-3
        }
        let directory = checkpointDirectory(run, keep: configuration.keep_checkpoints)
        trainer.checkpointWriter = { trainer in
            guard trainer.communicator.rank == 0 else { return nil }
            let report = try directory.save(checkpoint(of: trainer))
            for problem in report.notRemoved { progress.log("warning: \(problem)") }
            return URL(fileURLWithPath: report.path)
        }
        if configuration.debug {
            let writer = try DebugDumpWriter(runDirectory: run.path, rank: communicator.rank)
            if let notice = writer.notice { warn(notice, progress: progress, rank: communicator.rank) }
            if resume {
                let removed = try writer.truncate(after: trainer.state.step)
                if !removed.isEmpty {
                    warn("\(writer.path): removed the dumps of steps \(removed.map(String.init).joined(separator: ", ")) "
                         + "after the checkpoint's step \(trainer.state.step), which the resumed run dumps again",
                         progress: progress, rank: communicator.rank)
                }
            }
            trainer.debugWriter = { trainer, trace, sample in
                try writer.write(step: trainer.state.step, trace: trace, sample: sample)
            }
        }
        trainer.periodicEvaluation = { trainer in
            try evaluate(trainer, into: run.appendingPathComponent("eval-\(trainer.state.step)"), babiSplit: .validation)
        }
        StopSignals.install()
        progress.log("\(configuration.task): \(describe(configuration)), \(trainer.model.parameters.count) parameters, "
                     + "run directory \(run.path)")
        let outcome = try trainer.run()
        if case .stopped(let signal) = outcome {
            return stopped(trainer, signal: signal)
        }
        do {
            try evaluate(trainer, into: run.appendingPathComponent("eval"))
        } catch let stop as EvaluationStopped {
            // The final checkpoint is on disk: a resume finds the run complete and evaluates again.
            return stopped(trainer, signal: stop.signal)
        }
        return 0
    }

    /// Creates the run directory and takes its lock (see `RunDirectoryGuard`).
    public static func lock(runDirectory path: String) throws {
        let run = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        } catch {
            throw ConfigurationError("cannot create the run directory '\(path)': \(error.localizedDescription)")
        }
        try RunDirectoryGuard.lock(run)
    }

    static func stopped(_ trainer: Trainer, signal: Int32) -> Int32 {
        trainer.progress.log("stopped by \(StopSignals.name(signal)) at step \(trainer.state.step); resume with --resume "
                             + "(exit code \(StopSignals.requeueExitCode))")
        return StopSignals.requeueExitCode
    }

    /// A line about this process's own files: rank 0 logs it, other ranks write it to stderr.
    static func warn(_ line: String, progress: ProgressReporter, rank: Int) {
        if rank == 0 { progress.log("warning: \(line)") } else { FileHandle.standardError.write(Data("warning: rank \(rank): \(line)\n".utf8)) }
    }

    /// Generalisation at the configured lengths (default 1, 2, 5, 10 × the training length):
    /// a table on rank 0, `<prefix>.csv` and `<prefix>.h5`, and a line in metrics.jsonl.
    static func evaluate(_ trainer: Trainer, into prefix: URL, babiSplit: BabiDataset.Split = .test) throws {
        let c = trainer.configuration
        if let babi = trainer.task as? BabiTask {
            try BabiEvaluation.evaluate(trainer, task: babi, split: babiSplit, into: prefix)
            return
        }
        let lengths = c.eval_lengths.isEmpty ? Evaluation.defaultLengths(maxLength: trainer.state.maxLength) : c.eval_lengths
        let results = try Evaluation.run(model: trainer.model, task: trainer.task, lengths: lengths, batches: c.eval_batches,
                                         batchSize: c.batch_size, communicator: trainer.communicator, stopSignal: { StopSignals.pending })
        guard trainer.communicator.rank == 0 else { return }
        trainer.progress.log("generalisation at step \(trainer.state.step) (\(c.eval_batches) batches of \(c.batch_size) per length):\n"
                             + Evaluation.table(results, primary: trainer.task.primaryMetric.key))
        try Evaluation.write(results, to: prefix, attributes: ["task": .string(c.task), "step": .int(Int64(trainer.state.step))])
        try trainer.metricsLog?.append(["step": trainer.state.step, "evaluation": results.map { r -> [String: Any] in
            ["length": r.length, "loss": r.loss, "metrics": r.metrics]
        }])
    }

    static func describe(_ c: TrainingConfiguration) -> String {
        let controller = "\(c.rnn_type) \(c.nhlayer)×\(c.nhid)"
        let model = c.memory_type == .controllerOnly ? "\(controller) controller, no memory"
            : "\(c.memory_type.rawValue.uppercased()) (\(controller), \(c.nlayer) layer\(c.nlayer == 1 ? "" : "s"), memory \(c.mem_slot)×\(c.mem_size), \(c.read_heads) read head\(c.read_heads == 1 ? "" : "s"), \(c.preset) preset)"
        return "\(model), batch \(c.batch_size), L ≤ \(c.sequence_max_length), \(c.optim) lr \(c.lr), \(c.iterations) steps"
    }

    static func defaultRunDirectory(task: String, communicator: Communicator) -> String {
        var time = [Double(Date().timeIntervalSince1970.rounded(.down))]
        if communicator.size > 1 {
            if communicator.rank != 0 { time[0] = 0 }
            time.withUnsafeMutableBufferPointer { communicator.sumInPlace($0.baseAddress!, count: 1) }
        }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return "runs/\(task)-\(formatter.string(from: Date(timeIntervalSince1970: time[0])))"
    }
}
