import ArgumentParser
import DNCTraining
import DNCModels

/// Both spellings of a pytorch-dnc flag: `-mem_slot` (its README's single dash) and `--mem_slot`
/// (its scripts' double dash).
func seedFlag(_ name: String) -> NameSpecification {
    [.customLong(name), .customLong(name, withSingleDash: true)]
}

// The settings chosen from a list parse from their configuration spellings; an unknown one is
// refused naming the flag, the value and the accepted values.
extension TrainingConfiguration.MemoryType: ExpressibleByArgument {}
extension TrainingConfiguration.RNNType: ExpressibleByArgument {}
extension TrainingConfiguration.Nonlinearity: ExpressibleByArgument {}
extension TrainingConfiguration.IndexChoice: ExpressibleByArgument {}
extension TrainingConfiguration.Preset: ExpressibleByArgument {}
extension TrainingConfiguration.OptimiserName: ExpressibleByArgument {}
extension TrainingConfiguration.LearningRateScheduleKind: ExpressibleByArgument {}

/// Every training option, each optional so that pytorch-dnc's README defaults for the task, a
/// configuration file (`--config`) and the command line combine in that order. Because they are
/// optional, ArgumentParser shows no default: each help text states its per-task defaults.
///
/// Flag style: training settings are pytorch-dnc's snake_case names, with one dash or two
/// (`-mem_slot 32`, `--mem_slot 32`); dnc-swift's own options are `--kebab-case` and accept
/// `--snake_case` too (`--run-dir`, `--run_dir`).
struct TrainingOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "A JSON configuration file (see experiments/); flags override it.")
    var config: String?

    @Option(name: seedFlag("input_size"), help: ArgumentHelp("Input width X." + TrainingOptions.defaultText("input_size"))) var input_size: Int?
    @Option(name: seedFlag("sequence_max_length"), help: ArgumentHelp("Longest training length." + TrainingOptions.defaultText("sequence_max_length"))) var sequence_max_length: Int?
    @Option(name: seedFlag("curriculum_increment"), help: ArgumentHelp("Copy: add this to sequence_max_length every curriculum_freq steps." + TrainingOptions.defaultText("curriculum_increment"))) var curriculum_increment: Int?
    @Option(name: seedFlag("curriculum_freq"), help: ArgumentHelp("Copy: steps between curriculum increments." + TrainingOptions.defaultText("curriculum_freq"))) var curriculum_freq: Int?
    @Option(name: seedFlag("memory_type"), help: ArgumentHelp("dnc, sam, sdnc, or none (controller alone)." + TrainingOptions.defaultText("memory_type"))) var memory_type: TrainingConfiguration.MemoryType?
    @Option(name: seedFlag("rnn_type"), help: ArgumentHelp("Controller cell: lstm, gru, rnn." + TrainingOptions.defaultText("rnn_type"))) var rnn_type: TrainingConfiguration.RNNType?
    @Option(name: seedFlag("nonlinearity"), help: ArgumentHelp("rnn_type rnn: tanh or relu (refused with lstm and gru)." + TrainingOptions.defaultText("nonlinearity"))) var nonlinearity: TrainingConfiguration.Nonlinearity?
    @Option(name: seedFlag("nhid"), help: ArgumentHelp("Controller hidden size." + TrainingOptions.defaultText("nhid"))) var nhid: Int?
    @Option(name: seedFlag("nlayer"), help: ArgumentHelp("DNC layers." + TrainingOptions.defaultText("nlayer"))) var nlayer: Int?
    @Option(name: seedFlag("nhlayer"), help: ArgumentHelp("Recurrent layers per controller." + TrainingOptions.defaultText("nhlayer"))) var nhlayer: Int?
    @Option(name: seedFlag("dropout"), help: ArgumentHelp("Dropout between controller layers." + TrainingOptions.defaultText("dropout"))) var dropout: Double?
    @Option(name: seedFlag("mem_slot"), help: ArgumentHelp("Memory cells N." + TrainingOptions.defaultText("mem_slot"))) var mem_slot: Int?
    @Option(name: seedFlag("mem_size"), help: ArgumentHelp("Cell width W." + TrainingOptions.defaultText("mem_size"))) var mem_size: Int?
    @Option(name: seedFlag("read_heads"), help: ArgumentHelp("Read heads R." + TrainingOptions.defaultText("read_heads"))) var read_heads: Int?
    @Option(name: seedFlag("sparse_reads"), help: ArgumentHelp("SAM/SDNC: reads per head K, at most mem_slot." + TrainingOptions.defaultText("sparse_reads"))) var sparse_reads: Int?
    @Option(name: seedFlag("index_probes"), help: ArgumentHelp("SAM/SDNC approximate index: lists probed per query (0: 32); more recall, more time (96: recall@4 0.91 on 1 M Gaussian rows, README)." + TrainingOptions.defaultText("index_probes"))) var index_probes: Int?
    @Option(name: seedFlag("index"), help: ArgumentHelp("SAM/SDNC neighbour index: auto (exact below 10 000 cells), exact, approximate." + TrainingOptions.defaultText("index"))) var index: TrainingConfiguration.IndexChoice?
    @Option(name: seedFlag("temporal_reads"), help: ArgumentHelp("SDNC: temporal links per cell K_L, at most mem_slot − 1." + TrainingOptions.defaultText("temporal_reads"))) var temporal_reads: Int?
    @Option(name: seedFlag("independent_linears"), help: ArgumentHelp("Ten separate interface layers (true/false)." + TrainingOptions.defaultText("independent_linears"))) var independent_linears: Bool?
    @Option(name: seedFlag("share_memory"), help: ArgumentHelp("One memory for all DNC layers (true/false)." + TrainingOptions.defaultText("share_memory"))) var share_memory: Bool?
    @Option(name: seedFlag("controller_clip"), help: ArgumentHelp("Controller output clamp (0 = off)." + TrainingOptions.defaultText("controller_clip"))) var controller_clip: Double?
    @Option(name: seedFlag("masked_lookup"), help: ArgumentHelp("DNC-MD masked content lookup, dense memory only (true/false)." + TrainingOptions.defaultText("masked_lookup"))) var masked_lookup: Bool?
    @Option(name: seedFlag("deallocation"), help: ArgumentHelp("DNC-MD: erase the cells the free gates free, dense memory only (true/false)." + TrainingOptions.defaultText("deallocation"))) var deallocation: Bool?
    @Option(name: seedFlag("link_sharpness"), help: ArgumentHelp("DNC-MD link distribution sharpness, dense memory only (true/false)." + TrainingOptions.defaultText("link_sharpness"))) var link_sharpness: Bool?
    @Option(name: seedFlag("preset"), help: ArgumentHelp("paper or pytorch (pytorch-dnc's behaviour)." + TrainingOptions.defaultText("preset"))) var preset: TrainingConfiguration.Preset?
    @Option(name: seedFlag("optim"), help: ArgumentHelp("adam, adamax, rmsprop, sgd, adagrad, adadelta." + TrainingOptions.defaultText("optim"))) var optim: TrainingConfiguration.OptimiserName?
    @Option(name: seedFlag("lr"), help: ArgumentHelp("Learning rate, in (0, 1]." + TrainingOptions.defaultText("lr"))) var lr: Double?
    @Option(name: seedFlag("lr_schedule"), help: ArgumentHelp("constant, step or cosine." + TrainingOptions.defaultText("lr_schedule"))) var lr_schedule: TrainingConfiguration.LearningRateScheduleKind?
    @Option(name: seedFlag("lr_step"), help: ArgumentHelp("step schedule: steps between decays." + TrainingOptions.defaultText("lr_step"))) var lr_step: Int?
    @Option(name: seedFlag("lr_decay"), help: ArgumentHelp("step schedule: factor per decay." + TrainingOptions.defaultText("lr_decay"))) var lr_decay: Double?
    @Option(name: seedFlag("lr_min"), help: ArgumentHelp("cosine schedule: final rate." + TrainingOptions.defaultText("lr_min"))) var lr_min: Double?
    @Option(name: seedFlag("clip"), help: ArgumentHelp("Global gradient-norm clip." + TrainingOptions.defaultText("clip"))) var clip: Double?
    @Option(name: seedFlag("tbptt"), help: ArgumentHelp("Train each sequence as an episode in chunks of this many steps, the state carried across them, one update per chunk (0: whole sequences)." + TrainingOptions.defaultText("tbptt"))) var tbptt: Int?
    @Option(name: seedFlag("batch_size"), help: ArgumentHelp("Global batch size (split across MPI processes)." + TrainingOptions.defaultText("batch_size"))) var batch_size: Int?
    @Option(name: seedFlag("per_rank_batch_size"), help: ArgumentHelp("Batch per MPI process instead (global = this × processes)." + TrainingOptions.defaultText("per_rank_batch_size"))) var per_rank_batch_size: Int?
    @Option(name: seedFlag("iterations"), help: ArgumentHelp("Training steps." + TrainingOptions.defaultText("iterations"))) var iterations: Int?
    @Option(name: seedFlag("seed"), help: ArgumentHelp("Random seed (data, weights, dropout)." + TrainingOptions.defaultText("seed"))) var seed: UInt64?
    @Option(name: seedFlag("summarize_freq"), help: ArgumentHelp("Steps between summaries (and debug dumps)." + TrainingOptions.defaultText("summarize_freq"))) var summarize_freq: Int?
    @Option(name: seedFlag("check_freq"), help: ArgumentHelp("Steps between checkpoints." + TrainingOptions.defaultText("check_freq"))) var check_freq: Int?
    @Option(name: seedFlag("keep_checkpoints"), help: ArgumentHelp("Checkpoints kept." + TrainingOptions.defaultText("keep_checkpoints"))) var keep_checkpoints: Int?
    @Option(name: seedFlag("eval_lengths"), help: ArgumentHelp("Comma-separated generalisation lengths evaluated at the end." + TrainingOptions.defaultText("eval_lengths"))) var eval_lengths: String?
    @Option(name: seedFlag("eval_batches"), help: ArgumentHelp("Batches per evaluated length." + TrainingOptions.defaultText("eval_batches"))) var eval_batches: Int?
    @Option(name: seedFlag("eval_freq"), help: ArgumentHelp("Also evaluate every this many steps (0: only at the end)." + TrainingOptions.defaultText("eval_freq"))) var eval_freq: Int?
    @Option(name: seedFlag("max_bad_steps"), help: ArgumentHelp("Consecutive non-finite steps tolerated." + TrainingOptions.defaultText("max_bad_steps"))) var max_bad_steps: Int?
    @Option(name: seedFlag("cuda"), help: ArgumentHelp("The GPU id as in pytorch-dnc (-1: the CPU); under MPI each rank takes its node-local rank modulo the visible GPUs. This build trains on the CPU and warns (--require-gpu: fails)." + TrainingOptions.defaultText("cuda"))) var cuda: Int?
    @Flag(name: seedFlag("visdom"), help: "pytorch-dnc's live plots: here, debug tensors to HDF5 (same as --debug).") var visdom = false
    @Flag(name: seedFlag("debug"), help: "Write the memory's debug tensors every summarize_freq steps.") var debug = false
    @Option(name: seedFlag("debug_memory_window"), help: ArgumentHelp("SAM/SDNC debug memory: 0 = the rows each step wrote (default), w = the first w rows." + TrainingOptions.defaultText("debug_memory_window"))) var debug_memory_window: Int?

    /// " (default: 64; argmax: 100)": the setting's default for every task, pytorch-dnc's
    /// per-task defaults (`TrainingConfiguration.defaults(task:)`), naming the tasks whose
    /// default differs from copy's; "" for a setting without a default of its own.
    static func defaultText(_ key: String) -> String { defaultTexts[key] ?? "" }

    /// `defaultText` of every setting, computed once: ArgumentParser builds the options (so
    /// their help texts) many times per command line.
    private static let defaultTexts: [String: String] = {
        let tasks = TrainingConfiguration.tasks
        let values = tasks.map { task in
            Dictionary(uniqueKeysWithValues: TrainingConfiguration.defaults(task: task).keyValues.map { ($0.key, $0.value) })
        }
        var texts: [String: String] = [:]
        for (key, base) in values[0] {
            let others = zip(tasks, values).dropFirst().compactMap { task, defaults in
                defaults[key].flatMap { $0 == base ? nil : "\(task): \($0)" }
            }
            texts[key] = " (default: " + ([base] + others).joined(separator: "; ") + ")"
        }
        texts["eval_lengths"] = " (default: the task's set, up to 10× the training length)"
        return texts
    }()
    @Option(name: [.customLong("data"), .customLong("data", withSingleDash: true), .customLong("babi_data"), .customLong("babi_data", withSingleDash: true)], help: "bAbI: the folder holding the v1.2 sets en/ and en-10k/.") var babi_data: String?
    @Option(name: [.customLong("tasks"), .customLong("tasks", withSingleDash: true), .customLong("babi_tasks"), .customLong("babi_tasks", withSingleDash: true)], help: "bAbI: comma-separated task numbers 1…20 (default: all 20).") var babi_tasks: String?
    @Option(name: seedFlag("babi_set"), help: "bAbI: en (1k stories per task, default) or en-10k.") var babi_set: String?
    @Option(name: seedFlag("babi_validation"), help: "bAbI: fraction of each task's training stories held out for validation (default 0.1).") var babi_validation: Double?

    /// Task defaults (or, resuming, the run's own configuration), then the configuration file,
    /// then the flags given. A problem is one line naming the flag (or the file and its key),
    /// the value and what is accepted.
    func resolve(task: String, base: TrainingConfiguration? = nil) throws -> TrainingConfiguration {
        var c: TrainingConfiguration
        var fileKeys: Set<String> = []
        if let base {
            if base.task != task { throw ValidationError("the run to resume is a '\(base.task)' run, not '\(task)'") }
            c = base
        } else if let config {
            c = try TrainingConfiguration.load(from: config)
            fileKeys = TrainingConfiguration.keys(inFile: config)
            if c.task != task { throw ValidationError("configuration file '\(config)' is for task '\(c.task)', not '\(task)'") }
        } else {
            c = TrainingConfiguration.defaults(task: task)
        }
        var given: Set<String> = []
        func set<V>(_ value: V?, _ path: WritableKeyPath<TrainingConfiguration, V>, _ key: String) {
            if let value { c[keyPath: path] = value; given.insert(key) }
        }
        set(input_size, \.input_size, "input_size"); set(sequence_max_length, \.sequence_max_length, "sequence_max_length")
        set(curriculum_increment, \.curriculum_increment, "curriculum_increment"); set(curriculum_freq, \.curriculum_freq, "curriculum_freq")
        set(memory_type, \.memory_type, "memory_type"); set(rnn_type, \.rnn_type, "rnn_type")
        set(nonlinearity, \.nonlinearity, "nonlinearity")
        set(nhid, \.nhid, "nhid"); set(nlayer, \.nlayer, "nlayer"); set(nhlayer, \.nhlayer, "nhlayer"); set(dropout, \.dropout, "dropout")
        set(mem_slot, \.mem_slot, "mem_slot"); set(mem_size, \.mem_size, "mem_size"); set(read_heads, \.read_heads, "read_heads")
        set(sparse_reads, \.sparse_reads, "sparse_reads"); set(index, \.index, "index"); set(index_probes, \.index_probes, "index_probes"); set(temporal_reads, \.temporal_reads, "temporal_reads")
        set(independent_linears, \.independent_linears, "independent_linears"); set(share_memory, \.share_memory, "share_memory")
        set(controller_clip, \.controller_clip, "controller_clip"); set(preset, \.preset, "preset")
        set(masked_lookup, \.masked_lookup, "masked_lookup"); set(deallocation, \.deallocation, "deallocation")
        set(link_sharpness, \.link_sharpness, "link_sharpness")
        set(optim, \.optim, "optim"); set(lr, \.lr, "lr"); set(lr_schedule, \.lr_schedule, "lr_schedule")
        set(lr_step, \.lr_step, "lr_step"); set(lr_decay, \.lr_decay, "lr_decay"); set(lr_min, \.lr_min, "lr_min")
        set(clip, \.clip, "clip"); set(tbptt, \.tbptt, "tbptt"); set(batch_size, \.batch_size, "batch_size"); set(per_rank_batch_size, \.per_rank_batch_size, "per_rank_batch_size")
        set(iterations, \.iterations, "iterations"); set(seed, \.seed, "seed"); set(summarize_freq, \.summarize_freq, "summarize_freq")
        set(check_freq, \.check_freq, "check_freq"); set(keep_checkpoints, \.keep_checkpoints, "keep_checkpoints")
        set(eval_batches, \.eval_batches, "eval_batches"); set(eval_freq, \.eval_freq, "eval_freq")
        set(max_bad_steps, \.max_bad_steps, "max_bad_steps"); set(cuda, \.cuda, "cuda")
        set(debug_memory_window, \.debug_memory_window, "debug_memory_window")
        set(babi_data, \.babi_data, "babi_data"); set(babi_set, \.babi_set, "babi_set")
        set(babi_validation, \.babi_validation, "babi_validation")
        if let babi_tasks { c.babi_tasks = try Self.lengths(babi_tasks, flag: "tasks"); given.insert("babi_tasks") }
        if let eval_lengths { c.eval_lengths = try Self.lengths(eval_lengths, flag: "eval_lengths"); given.insert("eval_lengths") }
        if visdom || debug { c.debug = true }
        do {
            try c.validate()
        } catch {
            if let config, fileKeys.contains(error.key), !given.contains(error.key) {
                throw ValidationError("configuration file '\(config)': \(error)")
            }
            throw ValidationError(error.description)
        }
        if let inert = Self.inertFlag(given: given, in: c) { throw ValidationError(inert) }
        return c
    }

    /// A flag given that the chosen model or schedule would ignore, as one line; nil if none.
    /// (pytorch-dnc's README command lines pass none of these.)
    static func inertFlag(given: Set<String>, in c: TrainingConfiguration) -> String? {
        let rules: [(keys: [String], applies: Bool, needs: String)] = [
            (["nonlinearity"], c.rnn_type == .rnn, "rnn_type rnn (rnn_type is \(c.rnn_type))"),
            (["sparse_reads", "index"], c.memory_type.isSparse, "memory_type sam or sdnc (memory_type is \(c.memory_type))"),
            (["index_probes"], c.memory_type.isSparse && (c.index == .approximate || (c.index == .auto && c.mem_slot >= 10_000)),
             "the approximate index (-memory_type sam or sdnc with -index approximate, or auto from 10 000 cells)"),
            (["temporal_reads"], c.memory_type == .sdnc, "memory_type sdnc (memory_type is \(c.memory_type))"),
            (["masked_lookup", "deallocation", "link_sharpness"], c.memory_type == .dnc,
             "memory_type dnc, the dense memory (memory_type is \(c.memory_type))"),
            (["mem_slot", "mem_size", "read_heads", "nlayer", "independent_linears", "share_memory", "controller_clip", "preset"],
             c.memory_type != .controllerOnly, "a memory (memory_type is none)"),
            (["lr_step", "lr_decay"], c.lr_schedule == .step, "lr_schedule step (lr_schedule is \(c.lr_schedule))"),
            (["lr_min"], c.lr_schedule == .cosine, "lr_schedule cosine (lr_schedule is \(c.lr_schedule))"),
            (["babi_data", "babi_tasks", "babi_set", "babi_validation"], c.task == "babi", "task babi (the task is \(c.task))"),
        ]
        let values = Dictionary(uniqueKeysWithValues: c.keyValues.map { ($0.key, $0.value) })
        for rule in rules where !rule.applies {
            if let key = rule.keys.first(where: given.contains) {
                return "-\(key) \(values[key] ?? "") has no effect: it needs \(rule.needs); leave it out"
            }
        }
        return nil
    }

    /// "10,20,50" → [10, 20, 50], with a one-line error for anything else.
    static func lengths(_ text: String, flag: String) throws -> [Int] {
        if text.trimmingCharacters(in: .whitespaces).isEmpty {
            throw ValidationError("--\(flag) '\(text)' is empty: give comma-separated positive lengths, e.g. 10,20,50")
        }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard let value = Int(part.trimmingCharacters(in: .whitespaces)), value >= 1 else {
                throw ValidationError("--\(flag): '\(part)' is not a positive integer")
            }
            return value
        }
    }
}
