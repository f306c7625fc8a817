import DNCLayers
import DNCMemories

/// Every constructor option of pytorch-dnc's `DNC` (api.md §1.1), with Swift names, plus the
/// one switch that selects the library's behaviour where it differs from the paper.
public struct DNCConfiguration: Hashable, Sendable {
    /// X, the width of each input step (`input_size`).
    public var inputSize: Int
    /// Width of each output step; nil means the input width, as pytorch-dnc always does (Q4).
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

    public init(inputSize: Int, hiddenSize: Int) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
    }

    public var resolvedOutputSize: Int { outputSize ?? inputSize }
    /// R·W, the width of the flattened read vectors.
    public var readWidth: Int { readHeads * cellWidth }
    public var memoryCount: Int { shareMemoryBetweenLayers ? 1 : layerCount }
    public var memoryOptions: MemoryOptions { memoryOptionsOverride ?? (preset == .paper ? .paper : .pytorchCompat) }

    /// Why this configuration cannot be built, or nil.
    public func validationError() -> String? {
        let positives: [(String, Int)] = [("input_size", inputSize), ("hidden_size", hiddenSize), ("num_layers", layerCount),
                                         ("num_hidden_layers", controllerDepth), ("nr_cells", cellCount),
                                         ("cell_size", cellWidth), ("read_heads", readHeads), ("output_size", resolvedOutputSize)]
        for (name, value) in positives where value < 1 { return "\(name) must be at least 1, got \(value)" }
        switch memoryKind {
        case .dense: break
        case .sparse(let reads, _):
            if reads < 1 { return "sparse_reads must be at least 1, got \(reads)" }
        case .sparseTemporal(let reads, let temporalReads, _):
            if reads < 1 { return "sparse_reads must be at least 1, got \(reads)" }
            if temporalReads < 1 { return "temporal_reads must be at least 1, got \(temporalReads)" }
            if cellCount < 2 { return "nr_cells must be at least 2 for the SDNC, got \(cellCount)" }
        }
        if !(dropout >= 0 && dropout < 1) { return "dropout must be in [0, 1), got \(dropout)" }
        if !(controllerOutputClip >= 0) || !controllerOutputClip.isFinite { return "clip must be a finite number ≥ 0, got \(controllerOutputClip)" }
        return nil
    }
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

/// Where pytorch-dnc differs from the Nature paper and DeepMind's code (quirks.md), one value
/// picks a side for all of it.
public enum DNCPreset: String, Hashable, Sendable, CaseIterable {
    /// The paper and DeepMind's code: read vectors of step t−1 fed back to the controller,
    /// zero initial controller state, `oneplus` strengths, linear keys and write vector,
    /// DeepMind's cosine ε, no gradient through the usage's write weights, output in the input's layout.
    case paper
    /// pytorch-dnc 2.0 exactly (so its weights give the same outputs): the read vector passed in is
    /// used at every step of a call (Q1), a fresh Xavier-uniform controller state with c₀ = h₀ when
    /// none is given (Q5), `softplus` strengths (Q8), tanh-squashed keys and write vector (Q9),
    /// gradient through the usage (Q11), the library's cosine (Q12), and a time-major output for
    /// batch-first input (Q2).
    case pytorchCompat
}
