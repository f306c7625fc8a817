import ArgumentParser
import DNCTraining
import Foundation

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint at sequence lengths far beyond training.",
        discussion: """
        Inference mode: nothing is kept for a backward pass, so memory does not grow with the \
        length beyond the model state and the sequence. Prints a table and writes <output>.csv \
        and <output>.h5 (datasets length, loss, metrics/<name>, sequences).
        """)

    @Option(help: "Checkpoint file (checkpoints/checkpoint-<step>.h5 in a run directory).")
    var checkpoint: String
    @Option(help: "Comma-separated sequence lengths, e.g. 10,20,50,100,200,500,1000 (default: the run's eval_lengths, else 1, 2, 5 and 10× its training length; not for bAbI).")
    var lengths: String?
    @Option(name: [.customLong("data"), .customLong("data", withSingleDash: true)],
            help: "bAbI: the folder holding en/ and en-10k/ (default: the run's).")
    var data: String?
    @Option(help: "bAbI: the stories evaluated: test (default), validation or train.")
    var split: String = "test"
    @Option(help: "Batches per length.")
    var batches = 4
    @Option(name: [.customLong("batch-size"), .customLong("batch_size")], help: "Sequences per batch (default: the run's).")
    var batchSize: Int?
    @Option(help: "Output prefix (default: eval-<step> beside the checkpoints folder).")
    var output: String?
    @Option(name: [.customLong("mem-slot"), .customLong("mem_slot"), .customLong("mem_slot", withSingleDash: true)],
            help: "Memory cells for the evaluation (default: as trained). The DNC's weights do not depend on it, so a model can be tested on sequences longer than its training memory.")
    var memSlot: Int?
    @Option(name: [.customLong("memory-limit"), .customLong("memory_limit")],
            help: "Refuse lengths estimated to need more than this many GiB (default: the machine's physical memory).")
    var memoryLimit: Double?
    @Option(name: [.customLong("cuda"), .customLong("cuda", withSingleDash: true)],
            help: "Evaluate on GPU N (−1: the CPU, the default); as train's -cuda: a GPU that cannot be used means a warning and the CPU.")
    var cuda = -1
    @Flag(name: [.customLong("require-gpu"), .customLong("require_gpu")],
          help: "Fail (exit 2) instead of warning and evaluating on the CPU when -cuda N asks for a GPU this process cannot use.")
    var requireGPU = false

    func validate() throws {
        guard batches >= 1 else { throw ValidationError("--batches must be at least 1, got \(batches)") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let memSlot, memSlot < 1 { throw ValidationError("--mem_slot must be at least 1, got \(memSlot)") }
        if let memoryLimit, !(memoryLimit > 0) { throw ValidationError("--memory-limit must be a positive number of GiB, got \(memoryLimit)") }
        if let lengths { _ = try TrainingOptions.lengths(lengths, flag: "lengths") }
        if BabiDataset.Split(rawValue: split) == nil {
            throw ValidationError("--split '\(split)' is not one of \(BabiDataset.Split.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        var device = TrainingConfiguration()
        device.cuda = cuda
        let resolved = try DeviceChoice.resolve(device, requireGPU: requireGPU, communicator: SingleProcess()).cuda
        let loaded = try CheckpointedModel(path: checkpoint, cellCount: memSlot, babiData: data, cuda: resolved,
                                           placement: GPUPlacement.placement(requireGPU: requireGPU, rank: 0))
        if let task = loaded.setup.task as? BabiTask { return try evaluateBabi(loaded, task: task) }
        // The lengths the run itself evaluates at the end, unless others are asked for.
        let trainedLength = loaded.checkpoint.counters["max_length"].map(Int.init) ?? loaded.configuration.sequence_max_length
        let lengthList = try lengths.map { try TrainingOptions.lengths($0, flag: "lengths") }
            ?? (loaded.configuration.eval_lengths.isEmpty ? Evaluation.defaultLengths(maxLength: trainedLength)
                                                          : loaded.configuration.eval_lengths)
        let batch = batchSize ?? loaded.configuration.batch_size
        if let memoryLimit { MemoryEstimate.limitOverride = memoryLimit * 1_073_741_824 }
        try MemoryEstimate.checkEvaluation(loaded.configuration, lengths: lengthList, batchSize: batch,
                                           cells: memSlot ?? loaded.configuration.mem_slot)
        let results = Evaluation.run(model: loaded.setup.model, task: loaded.setup.task, lengths: lengthList,
                                     batches: batches, batchSize: batch)
        print("\(loaded.configuration.task) checkpoint \(checkpoint) (step \(loaded.step)), \(batches) batches of \(batch) per length, "
              + "\(loaded.configuration.mem_slot) memory cells")
        print(Evaluation.table(results, primary: loaded.setup.task.primaryMetric.key))
        let prefix = output.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: checkpoint)
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("eval-\(loaded.step)")
        try Evaluation.write(results, to: prefix, attributes: ["task": .string(loaded.configuration.task),
                                                               "checkpoint": .string(checkpoint), "step": .int(Int64(loaded.step))])
        print("wrote \(prefix.path).csv and \(prefix.path).h5")
    }
}

extension Eval {
    /// A bAbI checkpoint: the test (or --split) error per task in the paper's format.
    func evaluateBabi(_ loaded: CheckpointedModel, task: BabiTask) throws {
        if lengths != nil { throw ValidationError("--lengths has no effect on a bAbI checkpoint (its stories have their own lengths); leave it out") }
        let batch = batchSize ?? loaded.configuration.batch_size
        let results = try BabiResults.run(model: loaded.setup.model, task: task, split: BabiDataset.Split(rawValue: split)!, batchSize: batch)
        print("babi checkpoint \(checkpoint) (step \(loaded.step)), set \(loaded.configuration.babi_set), \(split) split, batches of \(batch)")
        print(results.table())
        let prefix = output.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: checkpoint)
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("eval-\(loaded.step)-\(split)")
        try results.write(to: prefix, attributes: ["task": BabiTask.taskName, "checkpoint": checkpoint, "step": String(loaded.step),
                                                   "babi_set": loaded.configuration.babi_set])
        print("wrote \(prefix.path).csv and \(prefix.path).h5")
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a checkpoint's configuration, step and parameters.")

    @Argument(help: "Checkpoint file.")
    var checkpoint: String

    func run() throws {
        let loaded = try CheckpointedModel(path: checkpoint)
        let c = loaded.checkpoint
        print("checkpoint \(checkpoint)")
        print("format: \(Checkpoint<Float>.formatName) version \(Checkpoint<Float>.formatVersion), step \(c.step)")
        print("\nconfiguration:")
        for (key, value) in loaded.configuration.keyValues { print("  \(key.padding(toLength: 22, withPad: " ", startingAt: 0)) \(value)") }
        print("\ncounters:")
        for key in c.counters.keys.sorted() { print("  \(key.padding(toLength: 22, withPad: " ", startingAt: 0)) \(c.counters[key]!)") }
        if let optimiser = c.optimiser {
            print("\noptimiser: \(optimiser.algorithm), step \(optimiser.step), buffers \(optimiser.buffers.keys.sorted().joined(separator: ", "))")
        }
        print("\nparameters (\(c.parameterCount) in all):")
        print("  " + ["name", "shape", "mean", "std", "min", "max"].enumerated()
            .map { $1.padding(toLength: $0 == 0 ? 52 : 12, withPad: " ", startingAt: 0) }.joined())
        for p in c.parameters {
            let values = p.value.storage.map(Double.init)
            let mean = values.reduce(0, +) / Double(max(values.count, 1))
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(values.count, 1))).squareRoot()
            let cells = [p.name, "\(p.value.shape)", String(format: "%.4g", mean), String(format: "%.4g", std),
                         String(format: "%.4g", values.min() ?? 0), String(format: "%.4g", values.max() ?? 0)]
            print("  " + cells.enumerated().map { $1.padding(toLength: $0 == 0 ? 52 : 12, withPad: " ", startingAt: 0) }.joined())
        }
    }
}
