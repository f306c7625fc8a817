import DNCNumerics

/// Settings of the Sparse DNC's memory beyond its sizes (docs/sparse-temporal-memory.md).
public struct SparseTemporalOptions: Hashable, Sendable {
    /// δ of the usage, as in SAM (`SparseMemoryOptions.accessThreshold`).
    public var accessThreshold: Double
    /// Pass gradients through the link values and the precedence (exact gradient of the whole
    /// step). The paper stops them "for implementation simplicity" (docs/sparse-temporal-memory.md, Gradients through the links); the gradient
    /// through the previous read weights into the forward/backward weightings flows either way.
    public var linkGradients: Bool
    public init(accessThreshold: Double = 0.005, linkGradients: Bool = true) {
        self.accessThreshold = accessThreshold
        self.linkGradients = linkGradients
    }
}

/// Layout of the SDNC interface vector ξ: `S = R·W + R + W + 2 + 3R` (docs/sparse-temporal-memory.md, Interface vector; the paper lists
/// none: SAM's fields plus the DNC's strengths and read modes).
///
/// | field | offsets | activation |
/// |---|---|---|
/// | read queries q_i | [0, RW) | none |
/// | read strengths β_i | [RW, RW+R) | oneplus |
/// | write word a | [RW+R, RW+R+W) | none |
/// | interpolation gate γ | RW+R+W | σ |
/// | write gate α | RW+R+W+1 | σ |
/// | read modes π_i | [RW+R+W+2, +3R), head i = 3 values [backward, forward, content] | softmax per head |
struct SparseTemporalInterfaceLayout: Sendable {
    let cellWidth: Int, readHeads: Int
    var readQueries: Int { 0 }
    var readStrengths: Int { readHeads * cellWidth }
    var writeVector: Int { readStrengths + readHeads }
    var interpolationGate: Int { writeVector + cellWidth }
    var writeGate: Int { interpolationGate + 1 }
    var readModes: Int { writeGate + 1 }
    var size: Int { readModes + 3 * readHeads }

    /// (name, offset, length) of the six fields, the column blocks of the independent linears.
    var fieldBlocks: [(name: String, offset: Int, length: Int)] {
        [("read_query_transform", readQueries, readHeads * cellWidth), ("read_strengths_transform", readStrengths, readHeads),
         ("write_vector_transform", writeVector, cellWidth), ("interpolation_gate_transform", interpolationGate, 1),
         ("write_gate_transform", writeGate, 1), ("read_modes_transform", readModes, 3 * readHeads)]
    }

    func activate<T: Real>(raw z: UnsafePointer<T>, out xi: UnsafeMutablePointer<T>) {
        xi.update(from: z, count: size)
        Kernels.softplus(z + readStrengths, xi + readStrengths, count: readHeads)
        for i in 0..<readHeads { xi[readStrengths + i] += 1 }
        Kernels.sigmoid(z + interpolationGate, xi + interpolationGate, count: 2)
        Kernels.softmaxRows(z + readModes, xi + readModes, rows: readHeads, columns: 3)
    }

    /// In place: dℓ/dξ → dℓ/dẑ.
    func activationBackward<T: Real>(raw z: UnsafePointer<T>, activated xi: UnsafePointer<T>, gradient g: UnsafeMutablePointer<T>) {
        for i in 0..<readHeads { g[readStrengths + i] *= Kernels.softplusDerivative(z[readStrengths + i]) }
        for i in interpolationGate..<readModes { g[i] *= xi[i] * (1 - xi[i]) }
        Kernels.softmaxRowsBackward(output: xi + readModes, outputGradient: g + readModes, inputGradient: g + readModes,
                                    rows: readHeads, columns: 3)
    }
}
