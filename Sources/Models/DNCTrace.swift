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
    /// `records[t][ℓ]`: step t, DNC layer ℓ (dense memory).
    public internal(set) var records: [[MemoryDebugRecord<T>]]
    /// The same for a sparse memory (SAM).
    public internal(set) var sparseRecords: [[SparseMemoryDebugRecord<T>]] = []
    /// Rows of a sparse record's variable-size tensors are padded to this many (R·K + 1), so
    /// that every step has the same shape.
    var sparseRows = 0
    /// > 0: a sparse `memory` is this window of rows (already one shape; not padded).
    var sparseMemoryWindow = 0

    init(batchElement: Int, records: [[MemoryDebugRecord<T>]]) {
        self.batchElement = batchElement
        self.records = records
    }

    /// `fieldRecords[t][ℓ]`: (key, tensor) pairs of step t, layer ℓ, whatever the memory.
    /// Sparse memory: `memory` (R·K+1, W) the rows written (zero rows pad; or the
    /// `debugMemoryWindow` first rows of the memory), `write_positions`
    /// and `write_weights` (1, R·K+1) (position −1 pads), `visible_memory` (R·K, W),
    /// `read_positions`, `read_weights`, `usage` (R, K), `least_used_mem` (1, 1).
    public var fieldRecords: [[[(key: String, value: Tensor<T>)]]] {
        if sparseRecords.isEmpty { return records.map { $0.map(\.fields) } }
        return sparseRecords.map { $0.map { record in
            record.fields.map { field in
                switch field.key {
                case "memory": return sparseMemoryWindow > 0 ? field : (field.key, Self.padRows(field.value, to: sparseRows, with: 0))
                case "write_positions": return (field.key, Self.padColumns(field.value, to: sparseRows, with: -1))
                case "write_weights": return (field.key, Self.padColumns(field.value, to: sparseRows, with: 0))
                default: return field
                }
            }
        } }
    }

    static func padRows(_ t: Tensor<T>, to rows: Int, with value: T) -> Tensor<T> {
        guard t.shape[0] < rows else { return t }
        return Tensor(shape: [rows, t.shape[1]], storage: t.storage + Array(repeating: value, count: (rows - t.shape[0]) * t.shape[1]))
    }

    static func padColumns(_ t: Tensor<T>, to columns: Int, with value: T) -> Tensor<T> {
        guard t.shape[1] < columns else { return t }
        return Tensor(shape: [1, columns], storage: t.storage + Array(repeating: value, count: columns - t.shape[1]))
    }

    /// The keys this trace holds.
    public var availableKeys: [String] { fieldRecords.first?.first?.map(\.key) ?? [] }

    public static var keys: [String] {
        ["memory", "link_matrix", "precedence", "read_weights", "write_weights", "usage_vector",
         "allocation_weights", "read_modes", "write_gate", "free_gates"]
    }

    /// pytorch-dnc's list form: one tensor per (step, layer), order t0ℓ0, t0ℓ1, …, t1ℓ0, ….
    public func sequence(_ key: String) -> [Tensor<T>] {
        fieldRecords.flatMap { $0 }.map { fields in
            guard let field = fields.first(where: { $0.key == key }) else {
                preconditionFailure("unknown debug key '\(key)'; keys are \(availableKeys.joined(separator: ", "))")
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
