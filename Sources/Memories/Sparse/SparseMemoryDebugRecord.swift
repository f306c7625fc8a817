import DNCNumerics

/// One sparse memory step as users see it, for one batch element. Shapes (m = cells written
/// this step ≤ R·K+1; unused read slots hold position −1, weight 0, a zero row):
public struct SparseMemoryDebugRecord<T: Real>: Sendable {
    /// The written rows after the write, (m, W) — the window of memory this step changed; or,
    /// with a memory window w, rows 0 ..< w of the memory after the step, (w, W).
    public var memory: Tensor<T>
    /// Their cells, (1, m).
    public var writePositions: Tensor<T>
    /// w per written cell, (1, m).
    public var writeWeights: Tensor<T>
    /// The rows read, (R·K, W), head-major.
    public var visibleMemory: Tensor<T>
    /// Cells read, (R, K).
    public var readPositions: Tensor<T>
    /// ω, (R, K); each row sums to 1 over its found neighbours.
    public var readWeights: Tensor<T>
    /// Last-access time of the cells read (the paper's usage is step − this), (R, K).
    public var usage: Tensor<T>
    /// The LRA cell after the step (next write's erase target), (1, 1).
    public var leastUsedMemory: Tensor<T>
    /// SDNC only. Read modes π per head [backward, forward, content], (R, 3).
    public var readModes: Tensor<T>? = nil
    /// SDNC only. Links among the visible cells after the step: `[a, b] = L(cell a, cell b)`, the
    /// degree to which read slot a's cell was written right after slot b's, (c, c) with c the
    /// read slots R·(K+2K_L), head-major (an unused slot gives a zero row and column).
    public var linkMatrix: Tensor<T>? = nil
    /// SDNC only. Its transpose, the backward links `[a, b] = L(cell b, cell a)`, (c, c).
    public var reverseLinkMatrix: Tensor<T>? = nil
    /// SDNC only. The precedence after the step, (1, K_L) values largest first, 0 pads.
    public var precedence: Tensor<T>? = nil
    /// SDNC only. Their cells, (1, K_L), −1 pads.
    public var precedencePositions: Tensor<T>? = nil

    /// (key, value): memory, write_positions, write_weights, visible_memory, read_positions,
    /// read_weights, usage, least_used_mem; for the SDNC also read_modes, link_matrix,
    /// rev_link_matrix, precedence, precedence_positions.
    public var fields: [(key: String, value: Tensor<T>)] {
        var fields: [(key: String, value: Tensor<T>)] = [
            ("memory", memory), ("write_positions", writePositions), ("write_weights", writeWeights),
            ("visible_memory", visibleMemory), ("read_positions", readPositions), ("read_weights", readWeights),
            ("usage", usage), ("least_used_mem", leastUsedMemory)]
        let temporal: [(String, Tensor<T>?)] = [("read_modes", readModes), ("link_matrix", linkMatrix),
                                                ("rev_link_matrix", reverseLinkMatrix), ("precedence", precedence),
                                                ("precedence_positions", precedencePositions)]
        for (key, value) in temporal { if let value { fields.append((key, value)) } }
        return fields
    }

    /// The axis names of each key's per-step tensor (debug dumps prepend "time"); one name is
    /// one length across keys. "written": the cells written this step (padded to R·K+1);
    /// "memory_row": the rows of `memory` (those written, or the memory window); "slot": a read
    /// slot of a head (K, or K + 2K_L for the SDNC); "read_slot": all slots, head-major.
    public static var axes: [String: [String]] {
        ["memory": ["memory_row", "word"], "write_positions": ["one", "written"], "write_weights": ["one", "written"],
         "visible_memory": ["read_slot", "word"], "read_positions": ["head", "slot"], "read_weights": ["head", "slot"],
         "usage": ["head", "slot"], "least_used_mem": ["one", "least_used"], "read_modes": ["head", "mode"],
         "link_matrix": ["read_slot_to", "read_slot_from"], "rev_link_matrix": ["read_slot_to", "read_slot_from"],
         "precedence": ["one", "precedence_slot"], "precedence_positions": ["one", "precedence_slot"]]
    }

    /// The keys holding cell indices (−1 for an empty slot), which dumps store as integers.
    public static var positionKeys: Set<String> {
        ["write_positions", "read_positions", "least_used_mem", "precedence_positions"]
    }
}
