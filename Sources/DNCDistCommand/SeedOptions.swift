import ArgumentParser
import DNCTraining

/// Both spellings of a seed flag: `-mem_slot` (the seed README's single dash) and `--mem_slot`
/// (the upstream scripts' double dash).
func seedFlag(_ name: String) -> NameSpecification {
    [.customLong(name), .customLong(name, withSingleDash: true)]
}

/// Every training option, each optional so that the seed's per-task defaults, a configuration
/// file (`--config`) and the command line combine in that order.
struct TrainingOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "A JSON configuration file (see experiments/); flags override it.")
    var config: String?

    @Option(name: seedFlag("input_size"), help: "Input width X.") var input_size: Int?
    @Option(name: seedFlag("sequence_max_length"), help: "Longest training length.") var sequence_max_length: Int?
    @Option(name: seedFlag("curriculum_increment"), help: "Copy: add this to sequence_max_length every curriculum_freq steps.") var curriculum_increment: Int?
    @Option(name: seedFlag("curriculum_freq"), help: "Copy: steps between curriculum increments.") var curriculum_freq: Int?
    @Option(name: seedFlag("memory_type"), help: "dnc, sam, sdnc, or none (controller alone).") var memory_type: String?
    @Option(name: seedFlag("rnn_type"), help: "Controller cell: lstm, gru, rnn.") var rnn_type: String?
    @Option(name: seedFlag("nonlinearity"), help: "rnn_type rnn: tanh or relu.") var nonlinearity: String?
    @Option(name: seedFlag("nhid"), help: "Controller hidden size.") var nhid: Int?
    @Option(name: seedFlag("nlayer"), help: "DNC layers.") var nlayer: Int?
    @Option(name: seedFlag("nhlayer"), help: "Recurrent layers per controller.") var nhlayer: Int?
    @Option(name: seedFlag("dropout"), help: "Dropout between controller layers.") var dropout: Double?
    @Option(name: seedFlag("mem_slot"), help: "Memory cells N.") var mem_slot: Int?
    @Option(name: seedFlag("mem_size"), help: "Cell width W.") var mem_size: Int?
    @Option(name: seedFlag("read_heads"), help: "Read heads R.") var read_heads: Int?
    @Option(name: seedFlag("sparse_reads"), help: "SAM/SDNC: reads per head K.") var sparse_reads: Int?
    @Option(name: seedFlag("index"), help: "SAM/SDNC neighbour index: auto (exact below 10 000 cells), exact, approximate.") var index: String?
    @Option(name: seedFlag("temporal_reads"), help: "SDNC: temporal links per cell.") var temporal_reads: Int?
    @Option(name: seedFlag("independent_linears"), help: "Ten separate interface layers (true/false).") var independent_linears: Bool?
    @Option(name: seedFlag("share_memory"), help: "One memory for all DNC layers (true/false).") var share_memory: Bool?
    @Option(name: seedFlag("controller_clip"), help: "Controller output clamp (0 = off).") var controller_clip: Double?
    @Option(name: seedFlag("preset"), help: "paper (default) or pytorch (pytorch-dnc's behaviour).") var preset: String?
    @Option(name: seedFlag("optim"), help: "adam, adamax, rmsprop, sgd, adagrad, adadelta.") var optim: String?
    @Option(name: seedFlag("lr"), help: "Learning rate.") var lr: Double?
    @Option(name: seedFlag("lr_schedule"), help: "constant, step or cosine.") var lr_schedule: String?
    @Option(name: seedFlag("lr_step"), help: "step schedule: steps between decays.") var lr_step: Int?
    @Option(name: seedFlag("lr_decay"), help: "step schedule: factor per decay.") var lr_decay: Double?
    @Option(name: seedFlag("lr_min"), help: "cosine schedule: final rate.") var lr_min: Double?
    @Option(name: seedFlag("clip"), help: "Global gradient-norm clip.") var clip: Double?
    @Option(name: seedFlag("batch_size"), help: "Global batch size (split across MPI processes).") var batch_size: Int?
    @Option(name: seedFlag("per_rank_batch_size"), help: "Batch per MPI process instead (global = this × processes).") var per_rank_batch_size: Int?
    @Option(name: seedFlag("iterations"), help: "Training steps.") var iterations: Int?
    @Option(name: seedFlag("seed"), help: "Random seed (data, weights, dropout).") var seed: UInt64?
    @Option(name: seedFlag("summarize_freq"), help: "Steps between summaries (and debug dumps).") var summarize_freq: Int?
    @Option(name: seedFlag("check_freq"), help: "Steps between checkpoints.") var check_freq: Int?
    @Option(name: seedFlag("keep_checkpoints"), help: "Checkpoints kept.") var keep_checkpoints: Int?
    @Option(name: seedFlag("eval_lengths"), help: "Comma-separated generalisation lengths evaluated at the end.") var eval_lengths: String?
    @Option(name: seedFlag("eval_batches"), help: "Batches per evaluated length.") var eval_batches: Int?
    @Option(name: seedFlag("eval_freq"), help: "Also evaluate every this many steps (0: only at the end).") var eval_freq: Int?
    @Option(name: seedFlag("max_bad_steps"), help: "Consecutive non-finite steps tolerated.") var max_bad_steps: Int?
    @Option(name: seedFlag("cuda"), help: "GPU id of the seed; this build runs on the CPU.") var cuda: Int?
    @Flag(name: seedFlag("visdom"), help: "The seed's live plots: here, debug tensors to HDF5 (same as --debug).") var visdom = false
    @Flag(name: seedFlag("debug"), help: "Write the memory's debug tensors every summarize_freq steps.") var debug = false
    @Option(name: seedFlag("debug_memory_window"), help: "SAM/SDNC debug memory: 0 = the rows each step wrote (default), w = the first w rows.") var debug_memory_window: Int?

    /// Task defaults (or, resuming, the run's own configuration), then the configuration file,
    /// then the flags given.
    func resolve(task: String, base: TrainingConfiguration? = nil) throws -> TrainingConfiguration {
        var c: TrainingConfiguration
        if let base {
            if base.task != task { throw ValidationError("the run to resume is a '\(base.task)' run, not '\(task)'") }
            c = base
        } else if let config {
            c = try TrainingConfiguration.load(from: config)
            if c.task != task { throw ValidationError("configuration file '\(config)' is for task '\(c.task)', not '\(task)'") }
        } else {
            c = TrainingConfiguration.defaults(task: task)
        }
        func set<V>(_ value: V?, _ path: WritableKeyPath<TrainingConfiguration, V>) { if let value { c[keyPath: path] = value } }
        set(input_size, \.input_size); set(sequence_max_length, \.sequence_max_length)
        set(curriculum_increment, \.curriculum_increment); set(curriculum_freq, \.curriculum_freq)
        set(memory_type, \.memory_type); set(rnn_type, \.rnn_type); set(nonlinearity, \.nonlinearity)
        set(nhid, \.nhid); set(nlayer, \.nlayer); set(nhlayer, \.nhlayer); set(dropout, \.dropout)
        set(mem_slot, \.mem_slot); set(mem_size, \.mem_size); set(read_heads, \.read_heads)
        set(sparse_reads, \.sparse_reads); set(index, \.index); set(temporal_reads, \.temporal_reads)
        set(independent_linears, \.independent_linears); set(share_memory, \.share_memory)
        set(controller_clip, \.controller_clip); set(preset, \.preset)
        set(optim, \.optim); set(lr, \.lr); set(lr_schedule, \.lr_schedule); set(lr_step, \.lr_step)
        set(lr_decay, \.lr_decay); set(lr_min, \.lr_min); set(clip, \.clip); set(batch_size, \.batch_size); set(per_rank_batch_size, \.per_rank_batch_size)
        set(iterations, \.iterations); set(seed, \.seed); set(summarize_freq, \.summarize_freq)
        set(check_freq, \.check_freq); set(keep_checkpoints, \.keep_checkpoints); set(eval_batches, \.eval_batches); set(eval_freq, \.eval_freq)
        set(max_bad_steps, \.max_bad_steps); set(cuda, \.cuda); set(debug_memory_window, \.debug_memory_window)
        if let eval_lengths { c.eval_lengths = try Self.lengths(eval_lengths, flag: "eval_lengths") }
        if visdom || debug { c.debug = true }
        if let problem = c.validationError() { throw ValidationError(problem) }
        return c
    }

    /// "10,20,50" → [10, 20, 50], with a one-line error for anything else.
    static func lengths(_ text: String, flag: String) throws -> [Int] {
        try text.split(separator: ",").map { part in
            guard let value = Int(part.trimmingCharacters(in: .whitespaces)), value >= 1 else {
                throw ValidationError("--\(flag): '\(part)' is not a positive integer")
            }
            return value
        }
    }
}
