import Foundation
import DNCLayers
import DNCModels
import DNCMemories

/// Everything a training run is made of: the task, the model, the optimisation and the run's
/// bookkeeping. Field names are pytorch-dnc's task-script flag names (docs/tasks.md,
/// "Command-line flags and defaults"), so a configuration file (JSON, `experiments/*.json`) reads
/// like the command line it replaces. Settings chosen from a list are enums whose raw values are
/// those flags' spellings: a configuration, stored as JSON in run directories and checkpoints,
/// has the same bytes as when they were strings.
public struct TrainingConfiguration: Codable, Hashable, Sendable {
    // Task
    public var task = "copy"
    /// X, the task's input width (copy: X−1 data bits and a marker; adding/argmax: one-hot digits).
    public var input_size = 6
    public var sequence_max_length = 4
    public var curriculum_increment = 0
    public var curriculum_freq = 1000

    // Model
    public var memory_type = MemoryType.dnc
    public var rnn_type = RNNType.lstm
    /// The activation of `rnn_type rnn` (no effect on the LSTM and GRU).
    public var nonlinearity = Nonlinearity.tanh
    public var nhid = 64
    public var nlayer = 1
    public var nhlayer = 2
    public var dropout = 0.0
    public var mem_slot = 16
    public var mem_size = 20
    public var read_heads = 4
    public var sparse_reads = 10
    /// SAM's and the SDNC's nearest-neighbour index.
    public var index = IndexChoice.auto
    /// Lists the approximate index probes per query (0: its default, 32); more probes, more
    /// recall and more time (docs/sparse-memory.md, Nearest-neighbour index).
    public var index_probes = 0
    public var temporal_reads = 2
    public var independent_linears = false
    public var share_memory = true
    /// Controller-output clamp of the model (pytorch-dnc's `clip` constructor argument).
    public var controller_clip = 20.0
    /// The paper's behaviour or pytorch-dnc's where they differ (docs/pytorch-dnc.md).
    public var preset = Preset.paper
    /// DNC-MD (Csordás & Schmidhuber 2019; docs/dense-memory.md, "DNC-MD options"), dense memory
    /// only: masked content lookup, de-allocation of freed cells, link distribution sharpness.
    public var masked_lookup = false
    public var deallocation = false
    public var link_sharpness = false

    // Optimisation
    public var optim = OptimiserName.adam
    public var lr = 1e-4
    public var lr_schedule = LearningRateScheduleKind.constant
    public var lr_step = 1000
    public var lr_decay = 0.5
    public var lr_min = 0.0
    /// Global gradient-norm clip.
    public var clip = 50.0
    /// Truncated backpropagation through time: a sequence is trained as an episode in chunks of
    /// this many steps, the model state carried from chunk to chunk and one update per chunk
    /// (0: the whole sequence at once; docs/tasks.md, Long episodes).
    public var tbptt = 0
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
    /// Record the memory's debug tensors every summarize_freq steps (pytorch-dnc's -visdom plotted them).
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
    /// The GPU id, as in pytorch-dnc; this build runs on the CPU and says so.
    public var cuda = -1

    // bAbI (docs/tasks.md, bAbI)
    /// The folder holding the bAbI v1.2 sets `en/` and `en-10k/` (`--data`).
    public var babi_data = ""
    /// `en` (1k stories per task) or `en-10k`.
    public var babi_set = "en"
    /// The bAbI tasks trained (1…20; empty: all 20).
    public var babi_tasks: [Int] = []
    /// The fraction of each task's training stories held out for validation (the last ones).
    public var babi_validation = 0.1
    /// The run's vocabulary, set when the run starts so that evaluation and resumed runs index
    /// words as training did.
    public var babi_vocabulary: [String] = []

    public init() {}

    /// pytorch-dnc's README defaults for each task script (docs/tasks.md, "Command-line flags and defaults").
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
            // DeepMind's train.py defaults (docs/tasks.md, Repeat copy): 4 bits plus the two flag channels.
            c.input_size = 6
            c.sequence_max_length = 2
            c.mem_slot = 16
            c.mem_size = 16
            c.read_heads = 4
            c.nhlayer = 1
            c.batch_size = 16
            c.optim = .rmsprop
            c.controller_clip = 20
        case "babi":
            // The DNC paper's bAbI setting (Methods; Extended Data Table 1): LSTM 256, memory
            // 256 × 64, 4 read heads, RMSProp 1e-4, batch 1, controller outputs clipped to ±10.
            c.nhid = 256
            c.nhlayer = 1
            c.mem_slot = 256
            c.mem_size = 64
            c.read_heads = 4
            c.optim = .rmsprop
            c.lr = 1e-4
            c.batch_size = 1
            c.controller_clip = 10
            c.summarize_freq = 1000
            c.check_freq = 1000
        default: break
        }
        return c
    }

    public static let tasks = ["copy", "adding", "argmax", "repeat-copy", "associative-recall", "babi"]

    /// The bAbI sets `babi_set` accepts.
    public static let babiSets = ["en", "en-10k"]

    /// The configuration-file key (and flag) of each setting the model's rules check.
    public static func key(of setting: DNCConfiguration.Setting) -> String {
        switch setting {
        case .inputSize, .outputSize: "input_size"
        case .hiddenSize: "nhid"
        case .layerCount: "nlayer"
        case .controllerDepth: "nhlayer"
        case .cellCount: "mem_slot"
        case .cellWidth: "mem_size"
        case .readHeads: "read_heads"
        case .sparseReads: "sparse_reads"
        case .temporalReads: "temporal_reads"
        case .dropout: "dropout"
        case .controllerOutputClip: "controller_clip"
        case .maskedContentLookup: "masked_lookup"
        case .deallocation: "deallocation"
        case .linkSharpness: "link_sharpness"
        }
    }

    /// The largest learning rate accepted: beyond it a single update moves parameters by more
    /// than their scale, and a rate like 1e39 makes them infinite at the first step.
    public static let maximumLearningRate = 1.0

    /// Checks everything a run needs, throwing the first problem, named by its key (= flag).
    /// The model's own rules (sizes, SAM's K ≤ N, the SDNC's N ≥ 2 and K_L ≤ N − 1, dropout,
    /// the controller clip) are `DNCConfiguration.validate`'s, the same the library applies.
    public func validate() throws(ConfigurationProblem) {
        func problem(_ key: String, _ value: Any, _ accepted: String) -> ConfigurationProblem {
            ConfigurationProblem(key: key, value: "\(value)", accepted: accepted)
        }
        if !Self.tasks.contains(task) { throw problem("task", "'\(task)'", "one of \(Self.tasks.joined(separator: ", "))") }
        let positive: [(String, Int)] = [("input_size", input_size), ("sequence_max_length", sequence_max_length),
                                         ("batch_size", batch_size), ("iterations", iterations),
                                         ("summarize_freq", summarize_freq), ("check_freq", check_freq),
                                         ("keep_checkpoints", keep_checkpoints), ("curriculum_freq", curriculum_freq),
                                         ("lr_step", lr_step), ("eval_batches", eval_batches), ("max_bad_steps", max_bad_steps)]
        for (name, value) in positive where value < 1 { throw problem(name, value, "at least 1") }
        let nonNegative: [(String, Int)] = [("eval_freq", eval_freq), ("debug_memory_window", debug_memory_window),
                                            ("per_rank_batch_size", per_rank_batch_size),
                                            ("curriculum_increment", curriculum_increment), ("tbptt", tbptt),
                                            ("index_probes", index_probes)]
        for (name, value) in nonNegative where value < 0 { throw problem(name, value, "≥ 0") }
        if tbptt > 0 && task == "adding" {
            throw problem("tbptt", tbptt, "0 for the adding task (its prediction is the sum of the outputs over the whole sequence, so no chunk's gradient is known before the last chunk)")
        }
        if tbptt > 0 && memory_type == .controllerOnly {
            throw problem("tbptt", tbptt, "0 with memory_type none (the controller-only baseline starts every sequence from a zero state)")
        }
        try dncConfiguration(inputSize: input_size, outputSize: input_size).validate(naming: Self.key(of:))
        if memory_type == .controllerOnly, let key = [("masked_lookup", masked_lookup), ("deallocation", deallocation),
                                                      ("link_sharpness", link_sharpness)].first(where: \.1)?.0 {
            throw problem(key, "true with memory_type none", "false unless the memory is the DNC's dense one")
        }
        if !(lr.isFinite && lr > 0 && lr <= Self.maximumLearningRate) {
            throw problem("lr", lr, "in (0, \(Self.maximumLearningRate.formatted)]")
        }
        if !(clip.isFinite && clip > 0) { throw problem("clip", clip, "a positive number") }
        if !(lr_decay.isFinite && lr_decay > 0) { throw problem("lr_decay", lr_decay, "a positive number") }
        if !(lr_min.isFinite && lr_min >= 0 && lr_min <= lr) { throw problem("lr_min", lr_min, "in [0, lr] = [0, \(lr)]") }
        if let bad = eval_lengths.first(where: { $0 < 1 }) { throw problem("eval_lengths", bad, "lengths of at least 1") }
        if task == "babi" {
            if babi_data.isEmpty { throw problem("data", "''", "the folder holding the bAbI sets en/ and en-10k/") }
            if !Self.babiSets.contains(babi_set) { throw problem("babi_set", "'\(babi_set)'", "one of \(Self.babiSets.joined(separator: ", "))") }
            if let bad = babi_tasks.first(where: { !(1...20).contains($0) }) { throw problem("tasks", bad, "task numbers from 1 to 20") }
            if Set(babi_tasks).count != babi_tasks.count { throw problem("tasks", babi_tasks.map(String.init).joined(separator: ","), "distinct task numbers") }
            if !(babi_validation >= 0 && babi_validation < 1) { throw problem("babi_validation", babi_validation, "a fraction in [0, 1)") }
        }
    }

    /// The bAbI tasks of this run (all 20 when `babi_tasks` is empty).
    public var babiTasks: [Int] { babi_tasks.isEmpty ? Array(1...20) : babi_tasks.sorted() }

    /// Why this configuration cannot run, as one line naming the key, the value and what is
    /// accepted; nil when it can.
    public func validationError() -> String? {
        do { try validate() } catch { return "\(error)" }
        return nil
    }

    /// The DNC this configuration describes, for a task with these input and output widths.
    public func dncConfiguration(inputSize: Int, outputSize: Int) -> DNCConfiguration {
        var c = DNCConfiguration(inputSize: inputSize, hiddenSize: nhid)
        c.outputSize = outputSize
        c.cell = controllerCell
        c.layerCount = nlayer
        c.controllerDepth = nhlayer
        c.dropout = dropout
        c.cellCount = mem_slot
        c.cellWidth = mem_size
        c.readHeads = read_heads
        c.independentLinears = independent_linears
        c.shareMemoryBetweenLayers = share_memory
        c.controllerOutputClip = controller_clip
        c.memoryImprovements = MemoryImprovements(maskedContentLookup: masked_lookup, deallocation: deallocation,
                                                  linkSharpness: link_sharpness)
        let approximate = index == .approximate || (index == .auto && mem_slot >= 10_000)
        let indexKind: SparseIndexKind = approximate
            ? .approximate(index_probes > 0 ? ApproximateIndexOptions(probes: index_probes) : ApproximateIndexOptions()) : .exact
        switch memory_type {
        case .sam: c.memoryKind = .sparse(reads: sparse_reads, index: indexKind)
        case .sdnc: c.memoryKind = .sparseTemporal(reads: sparse_reads, temporalReads: temporal_reads, index: indexKind)
        case .dnc, .controllerOnly: break
        }
        // The trainer feeds time-major sequences.
        c.batchFirst = preset == .pytorch
        c.preset = preset == .pytorch ? .pytorchCompat : .paper
        return c
    }

    /// The controller's recurrent cell (`rnn_type`, with `nonlinearity` for `rnn`).
    public var controllerCell: RecurrentCellKind {
        switch rnn_type {
        case .lstm: .lstm
        case .gru: .gru
        case .rnn: .rnn(nonlinearity == .relu ? .relu : .tanh)
        }
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
        } catch is DecodingError {
            // The key whose value does not decode, tried one at a time (the decoder does not
            // always say: a number that is not an integer comes without a coding path).
            let task = object["task"].map { ["task": $0] } ?? [:]
            let key = object.keys.sorted().first { key in
                (try? merged(task.merging([key: object[key]!]) { $1 })) == nil
            } ?? "?"
            let value = object[key].map(jsonText) ?? "?"
            throw ConfigurationError("configuration file '\(path)': '\(key)' is \(value), expected \(acceptedValues(key: key))")
        }
    }

    /// A JSON value as the file spells it (strings quoted).
    static func jsonText(_ value: Any) -> String {
        if let data = try? JSONSerialization.data(withJSONObject: [value], options: [.fragmentsAllowed]),
           let text = String(data: data, encoding: .utf8) {
            return String(text.dropFirst().dropLast())
        }
        return "\(value)"
    }

    /// What a configuration key accepts, in words, from its type.
    static func acceptedValues(key: String) -> String {
        guard let value = Mirror(reflecting: TrainingConfiguration()).children.first(where: { $0.label == key })?.value else {
            return "a known key"
        }
        switch value {
        case let choice as any ConfigurationChoice: return "one of \(type(of: choice).acceptedList)"
        case is Bool: return "true or false"
        case is UInt64: return "a non-negative integer"
        case is Int: return "an integer"
        case is Double: return "a number"
        case is [Int]: return "a list of integers"
        default: return "a string"
        }
    }

    /// The keys a JSON configuration file sets (none if it cannot be read).
    public static func keys(inFile path: String) -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [] }
        return Set(object.keys)
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

/// A setting chosen from a fixed list, spelt as its raw value on the command line and in JSON.
/// Decoding an unknown spelling fails naming it and the accepted ones.
public protocol ConfigurationChoice: RawRepresentable, CaseIterable, Codable, Hashable, Sendable, CustomStringConvertible
where RawValue == String {}

extension ConfigurationChoice {
    public var description: String { rawValue }
    /// "dnc, sam, sdnc, none".
    public static var acceptedList: String { allCases.map(\.rawValue).joined(separator: ", ") }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not one of \(Self.acceptedList)")
        }
        self = value
    }
}

extension Double {
    /// 1.0 → "1", 0.001 → "0.001".
    fileprivate var formatted: String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : "\(self)" }
}

extension TrainingConfiguration {
    /// `memory_type`: the external memory, or none (the controller alone).
    public enum MemoryType: String, ConfigurationChoice {
        case dnc, sam, sdnc
        case controllerOnly = "none"
        /// SAM or the SDNC.
        public var isSparse: Bool { self == .sam || self == .sdnc }
    }

    /// `rnn_type`: the controller's recurrent cell.
    public enum RNNType: String, ConfigurationChoice { case lstm, gru, rnn }

    /// `nonlinearity`: the activation of `rnn_type rnn`.
    public enum Nonlinearity: String, ConfigurationChoice { case tanh, relu }

    /// `index`: SAM's and the SDNC's nearest-neighbour index: `exact` (a scan; best for small
    /// memories), `approximate` (an inverted-file index, sublinear in mem_slot) or `auto` (exact
    /// below 10 000 cells).
    public enum IndexChoice: String, ConfigurationChoice { case auto, exact, approximate }

    /// `preset`: `paper` or `pytorch` (pytorch-dnc's behaviour where it differs).
    public enum Preset: String, ConfigurationChoice { case paper, pytorch }

    /// `optim`: the optimiser (`Optimisers.seed` builds it from this spelling).
    public enum OptimiserName: String, ConfigurationChoice { case adam, adamax, rmsprop, sgd, adagrad, adadelta }

    /// `lr_schedule`: `constant`, `step` (× lr_decay every lr_step steps) or `cosine` (to
    /// lr_min over the run).
    public enum LearningRateScheduleKind: String, ConfigurationChoice { case constant, step, cosine }
}
