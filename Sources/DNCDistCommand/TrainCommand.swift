import ArgumentParser
import DNCTraining
import DNCDistribution
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model on a generated task.",
        discussion: """
        pytorch-dnc's README command lines run unchanged with `dnc-dist train copy` (adding, argmax) in \
        place of `python ./tasks/copy_task.py`: single-dash (-mem_slot 32) and double-dash (--mem_slot 32) \
        flags, pytorch-dnc's README defaults (each flag's help gives them per task). Training settings keep pytorch-dnc's \
        snake_case names; dnc-swift's own options are --kebab-case and also accept --snake_case. Everything a run writes goes under --run-dir: checkpoints, metrics.jsonl, \
        debug dumps, evaluation results. SIGTERM, SIGINT or SIGUSR1 checkpoint and exit with code \
        \(StopSignals.requeueExitCode); --resume continues bit-identically.
        """,
        subcommands: [TrainCopy.self, TrainAdding.self, TrainArgmax.self, TrainRepeatCopy.self, TrainAssociativeRecall.self, TrainBabi.self])
}

/// Options of every `train` subcommand besides the training configuration.
struct RunOptions: ParsableArguments {
    @Option(name: [.customLong("run-dir"), .customLong("run_dir"), .customLong("run_dir", withSingleDash: true),
                   .customLong("checkpoint_dir"), .customLong("checkpoint_dir", withSingleDash: true)],
            help: "Directory for everything the run writes (default: runs/<task>-<date>).")
    var runDirectory: String?

    @Flag(help: "Continue from the latest checkpoint in --run-dir.")
    var resume = false

    @Flag(help: "Start afresh in a --run-dir that holds an earlier run, deleting that run's checkpoints, metrics, debug dumps and evaluations.")
    var overwrite = false

    @Flag(name: [.customLong("require-gpu"), .customLong("require_gpu")],
          help: "Fail (exit 2, before any work) instead of warning and training on the CPU when -cuda N asks for a GPU this process cannot use.")
    var requireGPU = false

    @Option(name: [.customLong("memory-limit"), .customLong("memory_limit")],
            help: "Refuse configurations estimated to need more than this many GiB per process (default: the machine's physical memory).")
    var memoryLimit: Double?

    func validate() throws {
        if let runDirectory, runDirectory.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--run-dir '\(runDirectory)' is empty: give a directory for the run's files")
        }
        if let memoryLimit, !(memoryLimit > 0) { throw ValidationError("--memory-limit must be a positive number of GiB, got \(memoryLimit)") }
        if resume && overwrite { throw ValidationError("--resume and --overwrite contradict each other") }
    }
}

protocol TaskTrainCommand: ParsableCommand {
    static var task: String { get }
    var options: TrainingOptions { get }
    var run: RunOptions { get }
}

extension TaskTrainCommand {
    func run() throws {
        if let limit = run.memoryLimit { MemoryEstimate.limitOverride = limit * 1_073_741_824 }
        let communicator = try Launcher.communicator()
        // One process per run directory: locked before anything in it is read (a resumed run's
        // checkpoint) or written, and after the options are validated (bad input does no work).
        var base: TrainingConfiguration?
        if run.resume {
            guard let directory = run.runDirectory else { throw ValidationError("--resume needs --run-dir") }
            if communicator.rank == 0 { try TrainingRun.lock(runDirectory: directory) }
            base = try TrainingRun.latestCheckpoint(in: URL(fileURLWithPath: directory)).configuration
        }
        // bAbI: the vocabulary and input width come from the data (no-op for the other tasks).
        var configuration = try BabiTask.prepare(options.resolve(task: Self.task, base: base))
        configuration = try DeviceChoice.resolve(configuration, requireGPU: run.requireGPU, communicator: communicator)
        if !run.resume {
            _ = try TrainingRun.preflight(configuration, communicator: communicator)
            if communicator.rank == 0, let directory = run.runDirectory { try TrainingRun.lock(runDirectory: directory) }
        }
        let code = try TrainingRun.execute(configuration: configuration, runDirectory: run.runDirectory, resume: run.resume,
                                           overwrite: run.overwrite, communicator: communicator,
                                           placement: GPUPlacement.placement(requireGPU: run.requireGPU, rank: communicator.rank))
        (communicator as? MPICommunicator)?.finalize()
        if code != 0 { throw ExitCode(code) }
    }
}

struct TrainCopy: TaskTrainCommand {
    static let task = "copy"
    static let configuration = CommandConfiguration(commandName: "copy", abstract: "Copy a random binary sequence (docs/tasks.md, Copy).")
    @OptionGroup var options: TrainingOptions
    @OptionGroup var run: RunOptions
}

struct TrainAdding: TaskTrainCommand {
    static let task = "adding"
    static let configuration = CommandConfiguration(commandName: "adding", abstract: "Sum one-hot digits (docs/tasks.md, Adding).")
    @OptionGroup var options: TrainingOptions
    @OptionGroup var run: RunOptions
}

struct TrainArgmax: TaskTrainCommand {
    static let task = "argmax"
    static let configuration = CommandConfiguration(commandName: "argmax", abstract: "Index of the largest digit (docs/tasks.md, Argmax).")
    @OptionGroup var options: TrainingOptions
    @OptionGroup var run: RunOptions
}

struct TrainRepeatCopy: TaskTrainCommand {
    static let task = "repeat-copy"
    static let configuration = CommandConfiguration(commandName: "repeat-copy", abstract: "DeepMind's repeat-copy (docs/tasks.md, Repeat copy).")
    @OptionGroup var options: TrainingOptions
    @OptionGroup var run: RunOptions
}

struct TrainAssociativeRecall: TaskTrainCommand {
    static let task = "associative-recall"
    static let configuration = CommandConfiguration(commandName: "associative-recall",
                                                    abstract: "Recall the item that followed a query item (SAM paper).")
    @OptionGroup var options: TrainingOptions
    @OptionGroup var run: RunOptions
}

struct TrainBabi: TaskTrainCommand {
    static let task = "babi"
    static let configuration = CommandConfiguration(
        commandName: "babi",
        abstract: "bAbI question answering, the 20 tasks jointly or a subset (docs/tasks.md, bAbI).",
        discussion: """
        --data DIR names the folder holding the bAbI v1.2 sets en/ and en-10k/; -babi_set chooses one, -tasks \
        the tasks (default all 20). Defaults are the DNC paper's (LSTM 256, memory 256×64, 4 read heads, \
        RMSProp 1e-4, batch 1). Every eval_freq steps the validation split is evaluated; at the end the test \
        error per task, the mean and the failed tasks (> 5 %) go to eval.csv and eval.h5.
        """)
    @OptionGroup var options: TrainingOptions
    @OptionGroup var run: RunOptions
}
