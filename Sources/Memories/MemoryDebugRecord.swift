import DNCNumerics

/// What users look at after one memory step, for one batch element (docs/dense-memory.md, Debug
/// record: pytorch-dnc's debug keys plus the allocation, read modes and gates). Shapes are
/// pytorch-dnc's 2-D debug shapes.
public struct MemoryDebugRecord<T: Real>: Sendable {
    /// M_t, (N, W).
    public var memory: Tensor<T>
    /// L_t, (N, N).
    public var linkMatrix: Tensor<T>
    /// p_t, (1, N).
    public var precedence: Tensor<T>
    /// w^r_t, (R, N).
    public var readWeights: Tensor<T>
    /// w^w_t, (1, N).
    public var writeWeights: Tensor<T>
    /// u_t, (1, N).
    public var usageVector: Tensor<T>
    /// a_t, (1, N).
    public var allocationWeights: Tensor<T>
    /// π_t, (R, 3): [backward, forward, content] per head.
    public var readModes: Tensor<T>
    /// g^w_t, (1, 1).
    public var writeGate: Tensor<T>
    /// f_t, (1, R).
    public var freeGates: Tensor<T>

    public init(memory: Tensor<T>, linkMatrix: Tensor<T>, precedence: Tensor<T>, readWeights: Tensor<T>,
                writeWeights: Tensor<T>, usageVector: Tensor<T>, allocationWeights: Tensor<T>,
                readModes: Tensor<T>, writeGate: Tensor<T>, freeGates: Tensor<T>) {
        self.memory = memory
        self.linkMatrix = linkMatrix
        self.precedence = precedence
        self.readWeights = readWeights
        self.writeWeights = writeWeights
        self.usageVector = usageVector
        self.allocationWeights = allocationWeights
        self.readModes = readModes
        self.writeGate = writeGate
        self.freeGates = freeGates
    }

    /// (pytorch-dnc's debug key, value) in this order: memory, link_matrix, precedence, read_weights,
    /// write_weights, usage_vector, allocation_weights, read_modes, write_gate, free_gates.
    public var fields: [(key: String, value: Tensor<T>)] {
        [("memory", memory), ("link_matrix", linkMatrix), ("precedence", precedence),
         ("read_weights", readWeights), ("write_weights", writeWeights), ("usage_vector", usageVector),
         ("allocation_weights", allocationWeights), ("read_modes", readModes), ("write_gate", writeGate),
         ("free_gates", freeGates)]
    }

    /// The axis names of each key's per-step tensor (debug dumps prepend "time"). Names are
    /// distinct within a key and one name is one length across keys, so that netCDF readers can
    /// share them as dimensions; "one" is the singleton of pytorch-dnc's 2-D shapes.
    public static var axes: [String: [String]] {
        ["memory": ["cell", "word"], "link_matrix": ["cell_to", "cell_from"], "precedence": ["one", "cell"],
         "read_weights": ["head", "cell"], "write_weights": ["one", "cell"], "usage_vector": ["one", "cell"],
         "allocation_weights": ["one", "cell"], "read_modes": ["head", "mode"], "write_gate": ["one", "gate"],
         "free_gates": ["one", "head"]]
    }
}
