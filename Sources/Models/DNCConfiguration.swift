import DNCLayers
import DNCMemories

/// Every constructor option of pytorch-dnc's `DNC` (docs/pytorch-dnc.md), with Swift names, plus the
/// one switch that selects the library's behaviour where it differs from the paper.
public struct DNCConfiguration: Hashable, Sendable {
    /// X, the width of each input step (`input_size`).
    public var inputSize: Int
    /// Width of each output step; nil means the input width, as pytorch-dnc always does.
    public var outputSize: Int?
    /// H, the controller's hidden size (`hidden_size`).
    public var hiddenSize: Int
    /// `rnn_type` and `nonlinearity`.
    public var cell: RecurrentCellKind = .lstm
    /// L_d, DNC layers (controller + memory blocks) per time step (`num_layers`).
    public var layerCount = 1
    /// L_h, recurrent layers inside each controller (`num_hidden_layers`).
    public var controllerDepth = 2
    /// Biases in the recurrent layers only (`bias`; interface and output layers always have them).
    public var controllerBias = true
    /// Inter-layer dropout inside each controller, training mode only (`dropout`).
    public var dropout = 0.0
    /// N (`nr_cells`).
    public var cellCount = 5
    /// W (`cell_size`).
    public var cellWidth = 10
    /// R (`read_heads`).
    public var readHeads = 2
    /// Ten separate interface layers instead of one (`independent_linears`).
    public var independentLinears = false
    /// One memory (and one interface layer) used by every DNC layer (`share_memory_between_layers`).
    public var shareMemoryBetweenLayers = true
    /// Clamp of the controller output passed on; 0 turns it off (`clip`).
    public var controllerOutputClip = 20.0
    /// Input layout: (B, T, X) when true, (T, B, X) when false (`batch_first`).
    public var batchFirst = true
    /// The external memory: the DNC's dense one, Sparse Access Memory (SAM) or the SDNC's.
    public var memoryKind: MemoryKind = .dense
    /// `.paper` (default) or `.pytorchCompat`; see `DNCPreset`.
    public var preset: DNCPreset = .paper
    /// Memory options other than the preset's, for experiments (and gradient checks, which need
    /// the gradient through the usage that `.paper` stops).
    public var memoryOptionsOverride: MemoryOptions?
    /// DNC-MD's masked lookup, de-allocation and link sharpness (Csordás & Schmidhuber 2019;
    /// docs/dense-memory.md, "DNC-MD options"), each off by default; dense memory only.
    public var memoryImprovements = MemoryImprovements.none

    public init(inputSize: Int, hiddenSize: Int) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
    }

    public var resolvedOutputSize: Int { outputSize ?? inputSize }
    /// R·W, the width of the flattened read vectors.
    public var readWidth: Int { readHeads * cellWidth }
    public var memoryCount: Int { shareMemoryBetweenLayers ? 1 : layerCount }
    public var memoryOptions: MemoryOptions {
        var options = memoryOptionsOverride ?? (preset == .paper ? .paper : .pytorchCompat)
        options.improvements = options.improvements.union(memoryImprovements)
        return options
    }

    /// The settings `validate(naming:)` checks, each named by the caller's spelling.
    public enum Setting: Sendable, CaseIterable {
        case inputSize, hiddenSize, layerCount, controllerDepth, cellCount, cellWidth, readHeads, outputSize
        case sparseReads, temporalReads, dropout, controllerOutputClip
        case maskedContentLookup, deallocation, linkSharpness

        /// pytorch-dnc's constructor argument (docs/pytorch-dnc.md), the library's own spelling.
        public var constructorName: String {
            switch self {
            case .inputSize: "input_size"
            case .hiddenSize: "hidden_size"
            case .layerCount: "num_layers"
            case .controllerDepth: "num_hidden_layers"
            case .cellCount: "nr_cells"
            case .cellWidth: "cell_size"
            case .readHeads: "read_heads"
            case .outputSize: "output_size"
            case .sparseReads: "sparse_reads"
            case .temporalReads: "temporal_reads"
            case .dropout: "dropout"
            case .controllerOutputClip: "clip"
            case .maskedContentLookup: "masked_lookup"
            case .deallocation: "deallocation"
            case .linkSharpness: "link_sharpness"
            }
        }
    }

    /// The one set of rules for what a DNC, SAM or SDNC can be built with, shared by the model
    /// (`DNC.init` refuses what it throws) and the trainer's command line and configuration
    /// files (which name each setting by its flag through `naming`). Nothing is clamped: a
    /// value outside its range is an error naming the setting, the value and what is accepted.
    public func validate(naming name: (Setting) -> String = \.constructorName) throws(ConfigurationProblem) {
        let positives: [(Setting, Int)] = [(.inputSize, inputSize), (.hiddenSize, hiddenSize), (.layerCount, layerCount),
                                           (.controllerDepth, controllerDepth), (.cellCount, cellCount), (.cellWidth, cellWidth),
                                           (.readHeads, readHeads), (.outputSize, resolvedOutputSize)]
        for (setting, value) in positives where value < 1 {
            throw ConfigurationProblem(key: name(setting), value: "\(value)", accepted: "at least 1")
        }
        func checkSparseReads(_ reads: Int) throws(ConfigurationProblem) {
            if reads < 1 { throw ConfigurationProblem(key: name(.sparseReads), value: "\(reads)", accepted: "at least 1") }
            if reads > cellCount {
                throw ConfigurationProblem(key: name(.sparseReads), value: "\(reads)",
                                           accepted: "at most \(name(.cellCount)) (\(cellCount))")
            }
        }
        if memoryKind.isSparse {
            // DNC-MD changes the dense memory's content lookup, erase and links; SAM and the SDNC have their own.
            let improvements = memoryOptions.improvements
            for (setting, on) in [(Setting.maskedContentLookup, improvements.maskedContentLookup),
                                  (.deallocation, improvements.deallocation), (.linkSharpness, improvements.linkSharpness)] where on {
                throw ConfigurationProblem(key: name(setting), value: "true with a sparse memory (SAM, SDNC)",
                                           accepted: "false unless the memory is the DNC's dense one")
            }
        }
        switch memoryKind {
        case .dense: break
        case .sparse(let reads, _):
            try checkSparseReads(reads)
        case .sparseTemporal(let reads, let temporalReads, _):
            // Each cell links to K_L others: there must be another cell.
            if cellCount < 2 { throw ConfigurationProblem(key: name(.cellCount), value: "\(cellCount)", accepted: "at least 2 for the SDNC") }
            try checkSparseReads(reads)
            if temporalReads < 1 { throw ConfigurationProblem(key: name(.temporalReads), value: "\(temporalReads)", accepted: "at least 1") }
            if temporalReads > cellCount - 1 {
                throw ConfigurationProblem(key: name(.temporalReads), value: "\(temporalReads)",
                                           accepted: "at most \(name(.cellCount)) − 1 (\(cellCount - 1))")
            }
        }
        if !(dropout >= 0 && dropout < 1) { throw ConfigurationProblem(key: name(.dropout), value: "\(dropout)", accepted: "in [0, 1)") }
        if !(controllerOutputClip >= 0) || !controllerOutputClip.isFinite {
            throw ConfigurationProblem(key: name(.controllerOutputClip), value: "\(controllerOutputClip)", accepted: "a finite number ≥ 0")
        }
    }

    /// Why this configuration cannot be built (`validate()`'s problem, in words), or nil.
    public func validationError() -> String? {
        do { try validate() } catch { return "\(error)" }
        return nil
    }
}

/// A setting a configuration cannot have: its name as the caller spells it (a flag, a
/// configuration-file key or a constructor argument), the value given and what is accepted.
public struct ConfigurationProblem: Error, Hashable, Sendable, CustomStringConvertible {
    public let key: String
    public let value: String
    public let accepted: String

    public init(key: String, value: String, accepted: String) {
        self.key = key
        self.value = value
        self.accepted = accepted
    }

    /// "mem_slot must be at least 1, got 0".
    public var description: String { "\(key) must be \(accepted), got \(value)" }
}

/// Which memory each DNC layer reads and writes.
public enum MemoryKind: Hashable, Sendable {
    /// The DNC's dense memory: content, allocation and temporal-link addressing over all N cells.
    case dense
    /// Sparse Access Memory (Rae et al. 2016): `reads` nearest neighbours per read head, writes
    /// to the previously read cells or the least recently accessed one, at a per-step cost that
    /// does not grow with N. `index` finds the neighbours.
    case sparse(reads: Int, index: SparseIndexKind)
    /// The Sparse DNC (Rae et al. 2016, Supp. D): SAM plus sparse temporal links keeping
    /// `temporalReads` (K_L) links per cell, and the DNC's three read modes per head.
    case sparseTemporal(reads: Int, temporalReads: Int, index: SparseIndexKind)

    /// Whether this is one of the sparse memories (SAM or SDNC).
    public var isSparse: Bool { self != .dense }
}

/// Where pytorch-dnc differs from the Nature paper and DeepMind's code (docs/pytorch-dnc.md, docs/dense-memory.md), one value
/// picks a side for all of it.
public enum DNCPreset: String, Hashable, Sendable, CaseIterable {
    /// The paper and DeepMind's code: read vectors of step t−1 fed back to the controller,
    /// zero initial controller state, `oneplus` strengths, linear keys and write vector,
    /// DeepMind's cosine ε, no gradient through the usage's write weights, output in the input's layout.
    case paper
    /// pytorch-dnc 2.0 exactly (so its weights give the same outputs): the read vector passed in is
    /// used at every step of a call, a fresh Xavier-uniform controller state with c₀ = h₀ when
    /// none is given, `softplus` strengths, tanh-squashed keys and write vector, gradient through
    /// the usage, pytorch-dnc's cosine, and a time-major output for batch-first input.
    case pytorchCompat
}
