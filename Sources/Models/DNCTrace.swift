import DNCNumerics
import DNCMemories

/// Debug tensors of one forward call for one batch element (pytorch-dnc's `debug=True`): one
/// memory record per time step and DNC layer, taken after that layer's memory step.
///
/// Keys and per-step shapes: `memory` (N, W), `link_matrix` (N, N), `precedence` (1, N),
/// `read_weights` (R, N), `write_weights` (1, N), `usage_vector` (1, N), plus
/// `allocation_weights` (1, N), `read_modes` (R, 3) [backward, forward, content],
/// `write_gate` (1, 1) and `free_gates` (1, R).
public struct DNCTrace<T: Real>: Sendable {
    /// Which sample of the batch was recorded.
    public let batchElement: Int
    /// `records[t][ℓ]`: step t, DNC layer ℓ, as the model's memory describes a step
    /// (`MemoryModule.lastStepTrace`). Sparse memory: `memory` (R·K+1, W) the rows written (zero
    /// rows pad; or the `debugMemoryWindow` first rows of the memory), `write_positions` and
    /// `write_weights` (1, R·K+1) (position −1 pads), `visible_memory` (R·K, W),
    /// `read_positions`, `read_weights`, `usage` (R, K), `least_used_mem` (1, 1).
    public internal(set) var records: [[MemoryTraceRecord<T>]]

    init(batchElement: Int, records: [[MemoryTraceRecord<T>]] = []) {
        self.batchElement = batchElement
        self.records = records
    }

    /// Appends the steps of `later`, the trace of the next chunk of the same stream (truncated
    /// BPTT records one trace per chunk; the episode's trace is their concatenation).
    public mutating func append(_ later: DNCTrace<T>) {
        precondition(later.batchElement == batchElement,
                     "a trace of batch element \(later.batchElement) cannot continue one of element \(batchElement)")
        records += later.records
    }

    /// `fieldRecords[t][ℓ]`: (key, tensor) pairs of step t, layer ℓ, whatever the memory.
    public var fieldRecords: [[[(key: String, value: Tensor<T>)]]] { records.map { $0.map(\.fields) } }

    /// The keys this trace recorded, whatever the memory (the dense memory's `denseMemoryKeys`,
    /// or the sparse memories' own); empty for a trace of no steps.
    public var recordedKeys: [String] { fieldRecords.first?.first?.map(\.key) ?? [] }

    /// The keys a trace of the dense DNC memory records, in its order, known before any forward
    /// call. SAM and the SDNC record other keys: ask a trace for its `recordedKeys`.
    public static var denseMemoryKeys: [String] {
        ["memory", "link_matrix", "precedence", "read_weights", "write_weights", "usage_vector",
         "allocation_weights", "read_modes", "write_gate", "free_gates"]
    }

    @available(*, deprecated, renamed: "recordedKeys", message: "the keys this trace recorded")
    public var availableKeys: [String] { recordedKeys }

    @available(*, deprecated, renamed: "denseMemoryKeys", message: "the dense memory's keys only; a trace's own are recordedKeys")
    public static var keys: [String] { denseMemoryKeys }

    /// pytorch-dnc's list form: one tensor per (step, layer), order t0ℓ0, t0ℓ1, …, t1ℓ0, ….
    public func sequence(_ key: String) -> [Tensor<T>] {
        fieldRecords.flatMap { $0 }.map { fields in
            guard let field = fields.first(where: { $0.key == key }) else {
                preconditionFailure("unknown debug key '\(key)'; keys are \(recordedKeys.joined(separator: ", "))")
            }
            return field.value
        }
    }

    /// The form pytorch-dnc's older README documents: one matrix per key, a row per (step, layer) in the same order,
    /// each row the flattened per-step tensor: (T·L_d, size of one record).
    public func stacked(_ key: String) -> Tensor<T> {
        let rows = sequence(key)
        let width = rows.first?.count ?? 0
        return Tensor(shape: [rows.count, width], storage: rows.flatMap(\.storage))
    }
}
