import Foundation
import DNCLayers
import DNCModels
import DNCMemories

/// Everything a training run is made of: the task, the model, the optimisation and the run's
/// bookkeeping. Field names are the seed's flag names (tasks.md §1.4), so a configuration file
/// (JSON, `experiments/*.json`) reads like the command line it replaces.
public struct TrainingConfiguration: Codable, Hashable, Sendable {
    // Task
    public var task = "copy"
    /// X, the task's input width (copy: X−1 data bits and a marker; adding/argmax: one-hot digits).
    public var input_size = 6
    public var sequence_max_length = 4
    public var curriculum_increment = 0
    public var curriculum_freq = 1000

    // Model
    public var memory_type = "dnc"
    public var rnn_type = "lstm"
    public var nonlinearity = "tanh"
    public var nhid = 64
    public var nlayer = 1
    public var nhlayer = 2
    public var dropout = 0.0
    public var mem_slot = 16
    public var mem_size = 20
    public var read_heads = 4
    public var sparse_reads = 10
    /// SAM's nearest-neighbour index: "exact" (a scan; best for small memories), "approximate"
    /// (an inverted-file index, sublinear in mem_slot) or "auto" (exact below 10 000 cells).
    public var index = "auto"
    public var temporal_reads = 2
    public var independent_linears = false
    public var share_memory = true
    /// Controller-output clamp of the model (pytorch-dnc's `clip` constructor argument).
    public var controller_clip = 20.0
    /// "paper" or "pytorch" (pytorch-dnc's behaviour where it differs, quirks.md).
    public var preset = "paper"

    // Optimisation
    public var optim = "adam"
    public var lr = 1e-4
    /// "constant", "step" (× lr_decay every lr_step steps) or "cosine" (to lr_min over the run).
    public var lr_schedule = "constant"
    public var lr_step = 1000
    public var lr_decay = 0.5
    public var lr_min = 0.0
    /// Global gradient-norm clip.
    public var clip = 50.0
    /// The global batch (split across processes, uneven shares allowed).
    public var batch_size = 100
    /// If > 0: the batch per process, the global batch being this × the number of processes
    /// (resolved when the run starts; checkpoints store the global batch).
    public var per_rank_batch_size = 0
    public var iterations = 100_000

    // Run
    public var seed: UInt64 = 1
    public var summarize_freq = 100
    public var check_freq = 100
    public var keep_checkpoints = 3
    /// Record the memory's debug tensors every summarize_freq steps (the seed's -visdom did this).
    public var debug = false
    /// SAM/SDNC debug `memory`: 0 = the rows each step wrote; w > 0 = rows 0 ..< w of the memory.
    public var debug_memory_window = 0
    /// Generalisation lengths evaluated at the end of training (empty: the task's default set).
    public var eval_lengths: [Int] = []
    public var eval_batches = 4
    /// Also evaluate every this many steps (0: only at the end), into eval-<step>.csv/.h5.
    public var eval_freq = 0
    /// Stop after this many consecutive steps with a non-finite loss or gradient (each is skipped).
    public var max_bad_steps = 10
    /// GPU id of the seed; this build runs on the CPU and says so.
    public var cuda = -1

    public init() {}

    /// The seed's per-task defaults (tasks.md §1.4).
    public static func defaults(task: String) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        c.task = task
        switch task {
        case "adding":
            c.sequence_max_length = 1000
            c.iterations = 2000
        case "argmax":
            c.nhid = 100
            c.iterations = 2000
        case "repeat-copy":
            // DeepMind's train.py defaults (tasks.md §5.3): 4 bits plus the two flag channels.
            c.input_size = 6
            c.sequence_max_length = 2
            c.mem_slot = 16
            c.mem_size = 16
            c.read_heads = 4
            c.nhlayer = 1
            c.batch_size = 16
            c.optim = "rmsprop"
            c.controller_clip = 20
        default: break
        }
        return c
    }

    public static let tasks = ["copy", "adding", "argmax", "repeat-copy", "associative-recall"]
    public static let memoryTypes = ["dnc", "sam", "sdnc", "none"]

    /// Why this configuration cannot run, as one line naming the bad value; nil when it can.
    public func validationError() -> String? {
        if !Self.tasks.contains(task) { return "unknown task '\(task)' (expected one of \(Self.tasks.joined(separator: ", ")))" }
        if !Self.memoryTypes.contains(memory_type) {
            return "unknown memory_type '\(memory_type)' (expected one of \(Self.memoryTypes.joined(separator: ", ")))"
        }
        if !["auto", "exact", "approximate"].contains(index) { return "unknown index '\(index)' (auto, exact or approximate)" }
        if RecurrentCellKind(rnnType: rnn_type, nonlinearity: nonlinearity) == nil {
            return "rnn_type '\(rnn_type)' with nonlinearity '\(nonlinearity)' is not one of lstm, gru, rnn (tanh|relu)"
        }
        let positive: [(String, Int)] = [("input_size", input_size), ("sequence_max_length", sequence_max_length),
                                         ("nhid", nhid), ("nlayer", nlayer), ("nhlayer", nhlayer), ("mem_slot", mem_slot),
                                         ("mem_size", mem_size), ("read_heads", read_heads), ("sparse_reads", sparse_reads),
                                         ("temporal_reads", temporal_reads), ("batch_size", batch_size), ("iterations", iterations),
                                         ("summarize_freq", summarize_freq), ("check_freq", check_freq),
                                         ("keep_checkpoints", keep_checkpoints), ("curriculum_freq", curriculum_freq),
                                         ("lr_step", lr_step), ("eval_batches", eval_batches), ("max_bad_steps", max_bad_steps)]
        for (name, value) in positive where value < 1 { return "\(name) must be at least 1, got \(value)" }
        if eval_freq < 0 { return "eval_freq must be ≥ 0, got \(eval_freq)" }
        if debug_memory_window < 0 { return "debug_memory_window must be ≥ 0, got \(debug_memory_window)" }
        if per_rank_batch_size < 0 { return "per_rank_batch_size must be ≥ 0, got \(per_rank_batch_size)" }
        if curriculum_increment < 0 { return "curriculum_increment must be ≥ 0, got \(curriculum_increment)" }
        if ["sam", "sdnc"].contains(memory_type) && sparse_reads > mem_slot {
            return "sparse_reads \(sparse_reads) exceeds mem_slot \(mem_slot)"
        }
        if memory_type == "sdnc" && mem_slot < 2 { return "mem_slot must be at least 2 for the SDNC, got \(mem_slot)" }
        if !(dropout >= 0 && dropout < 1) { return "dropout must be in [0, 1), got \(dropout)" }
        if !(lr.isFinite && lr > 0) { return "lr must be a positive number, got \(lr)" }
        if !(clip.isFinite && clip > 0) { return "clip must be a positive number, got \(clip)" }
        if !(controller_clip.isFinite && controller_clip >= 0) { return "controller_clip must be ≥ 0, got \(controller_clip)" }
        if !Optimisers.names.contains(optim) { return "unknown optim '\(optim)' (expected one of \(Optimisers.names.joined(separator: ", ")))" }
        if !["constant", "step", "cosine"].contains(lr_schedule) { return "unknown lr_schedule '\(lr_schedule)' (constant, step or cosine)" }
        if !(lr_decay.isFinite && lr_decay > 0) { return "lr_decay must be positive, got \(lr_decay)" }
        if !(lr_min.isFinite && lr_min >= 0 && lr_min <= lr) { return "lr_min must be in [0, lr], got \(lr_min)" }
        if !["paper", "pytorch"].contains(preset) { return "unknown preset '\(preset)' (paper or pytorch)" }
        if let bad = eval_lengths.first(where: { $0 < 1 }) { return "eval length \(bad) must be at least 1" }
        return nil
    }

    /// The DNC this configuration describes, for a task with these input and output widths.
    public func dncConfiguration(inputSize: Int, outputSize: Int) -> DNCConfiguration {
        var c = DNCConfiguration(inputSize: inputSize, hiddenSize: nhid)
        c.outputSize = outputSize
        c.cell = RecurrentCellKind(rnnType: rnn_type, nonlinearity: nonlinearity)!
        c.layerCount = nlayer
        c.controllerDepth = nhlayer
        c.dropout = dropout
        c.cellCount = mem_slot
        c.cellWidth = mem_size
        c.readHeads = read_heads
        c.independentLinears = independent_linears
        c.shareMemoryBetweenLayers = share_memory
        c.controllerOutputClip = controller_clip
        let approximate = index == "approximate" || (index == "auto" && mem_slot >= 10_000)
        let indexKind: SparseIndexKind = approximate ? .approximate(ApproximateIndexOptions()) : .exact
        if memory_type == "sam" { c.memoryKind = .sparse(reads: sparse_reads, index: indexKind) }
        if memory_type == "sdnc" { c.memoryKind = .sparseTemporal(reads: sparse_reads, temporalReads: temporal_reads, index: indexKind) }
        // The trainer feeds time-major sequences.
        c.batchFirst = preset == "pytorch"
        c.preset = preset == "pytorch" ? .pytorchCompat : .paper
        return c
    }

    /// Reads a JSON configuration file; unknown keys are an error (a typo must not pass silently).
    public static func load(from path: String) throws -> TrainingConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("cannot read configuration file '\(path)'")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ConfigurationError("configuration file '\(path)' is not a JSON object")
        }
        let known = Set(Mirror(reflecting: TrainingConfiguration()).children.compactMap(\.label))
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) && !$0.hasPrefix("_") }) {
            throw ConfigurationError("configuration file '\(path)': unknown key '\(unknown)'")
        }
        do {
            return try merged(object)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigurationError("configuration file '\(path)': '\(key)' has the wrong type")
        }
    }

    /// The task's defaults with `object`'s keys applied: keys added to the configuration since
    /// a file or checkpoint was written take their defaults.
    static func merged(_ object: [String: Any]) throws -> TrainingConfiguration {
        let task = object["task"] as? String ?? "copy"
        var merged = try JSONSerialization.jsonObject(with: JSONEncoder().encode(defaults(task: task))) as! [String: Any]
        for (key, value) in object where !key.hasPrefix("_") { merged[key] = value }
        return try JSONDecoder().decode(TrainingConfiguration.self, from: JSONSerialization.data(withJSONObject: merged))
    }

    /// A configuration stored as JSON by an earlier run (checkpoints keep it), or nil.
    public static func decode(json: String) -> TrainingConfiguration? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return nil }
        return try? merged(object)
    }

    /// The configuration as flat key/value pairs (checkpoint attributes, logs).
    public var keyValues: [(key: String, value: String)] {
        let data = (try? JSONEncoder().encode(self)) ?? Data()
        let object = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        return object.keys.sorted().map { ($0, "\(object[$0]!)") }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
