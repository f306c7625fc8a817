import DNCNumerics

/// Layout of the interface vector ξ of a dense memory (docs/dense-memory.md, Interface vector) and its activations.
///
/// ξ has `size = R·W + 3W + 5R + 3` entries in the paper's field order. The interface layer
/// writes the raw values ẑ (B×S) and `activate` maps them, field by field, to ξ (B×S, same
/// layout): keys and write vector (tanh with `squashKeysAndWriteVector`, else identity),
/// strengths (oneplus or softplus), erase vector and gates (σ), read modes (softmax over the 3
/// modes of each head, order [backward, forward, content]).
///
/// DNC-MD's options (`MemoryImprovements`, docs/dense-memory.md, "DNC-MD options") append
/// their fields after the read modes, so the DNC's fields keep their offsets: with masked
/// lookup the read masks (R×W) and the write mask (W), σ; with link sharpness the forward
/// sharpness (R) then the backward sharpness (R), oneplus.
struct InterfaceLayout: Sendable {
    let cellWidth: Int, readHeads: Int
    /// Read keys k^r, R×W head-major, at [0, RW).
    let readKeys: Int
    /// Read strengths β^r, R.
    let readStrengths: Int
    /// Write key k^w, W.
    let writeKey: Int
    /// Write strength β^w, 1.
    let writeStrength: Int
    /// Erase vector e, W.
    let eraseVector: Int
    /// Write vector v, W.
    let writeVector: Int
    /// Free gates f, R.
    let freeGates: Int
    /// Allocation gate g^a, 1.
    let allocationGate: Int
    /// Write gate g^w, 1.
    let writeGate: Int
    /// Read modes π, R×3 head-major.
    let readModes: Int
    /// Read masks m^r, R×W head-major (masked lookup only; else `size`, empty).
    let readMasks: Int
    /// Write mask m^w, W (masked lookup only).
    let writeMask: Int
    /// Sharpness s^f of the forward weightings, R, then s^b of the backward ones, R (link sharpness only).
    let forwardSharpness: Int
    let backwardSharpness: Int
    let masked: Bool, sharpened: Bool
    /// S.
    let size: Int

    init(cellWidth w: Int, readHeads r: Int, improvements: MemoryImprovements = .none) {
        cellWidth = w
        readHeads = r
        readKeys = 0
        readStrengths = r * w
        writeKey = readStrengths + r
        writeStrength = writeKey + w
        eraseVector = writeStrength + 1
        writeVector = eraseVector + w
        freeGates = writeVector + w
        allocationGate = freeGates + r
        writeGate = allocationGate + 1
        readModes = writeGate + 1
        masked = improvements.maskedContentLookup
        sharpened = improvements.linkSharpness
        var end = readModes + 3 * r
        readMasks = end
        if masked { end += r * w }
        writeMask = end
        if masked { end += w }
        forwardSharpness = end
        backwardSharpness = end + (sharpened ? r : 0)
        if sharpened { end += 2 * r }
        size = end
    }

    /// The ten fields as (offset, length), in order, then the options' (read masks, write mask,
    /// link sharpness with both directions in one block); also the column blocks of the
    /// independent linears.
    var fieldBlocks: [(offset: Int, length: Int)] {
        let w = cellWidth, r = readHeads
        var blocks = [(readKeys, r * w), (readStrengths, r), (writeKey, w), (writeStrength, 1), (eraseVector, w),
                      (writeVector, w), (freeGates, r), (allocationGate, 1), (writeGate, 1), (readModes, 3 * r)]
        if masked { blocks += [(readMasks, r * w), (writeMask, w)] }
        if sharpened { blocks.append((forwardSharpness, 2 * r)) }
        return blocks
    }

    /// The independent linears' names (pytorch-dnc's for the ten fields), one per `fieldBlocks` entry.
    var fieldNames: [String] {
        var names = ["read_keys_transform", "read_strengths_transform", "write_key_transform",
                     "write_strength_transform", "erase_vector_transform", "write_vector_transform",
                     "free_gates_transform", "allocation_gate_transform", "write_gate_transform",
                     "read_modes_transform"]
        if masked { names += ["read_masks_transform", "write_mask_transform"] }
        if sharpened { names.append("link_sharpness_transform") }
        return names
    }

    /// ξ = act(ẑ) for one sample; `raw` and `out` hold S values each and must not alias.
    /// (No arrays are built here: this runs once per sample and step.)
    func activate<T: Real>(raw z: UnsafePointer<T>, out xi: UnsafeMutablePointer<T>, options: MemoryOptions) {
        let w = cellWidth, r = readHeads
        // Keys and write vector.
        func keyLike(_ offset: Int, _ length: Int) {
            if options.squashKeysAndWriteVector {
                Kernels.tanh(z + offset, xi + offset, count: length)
            } else {
                (xi + offset).update(from: z + offset, count: length)
            }
        }
        keyLike(readKeys, r * w)
        keyLike(writeKey, w)
        keyLike(writeVector, w)
        // Strengths.
        let shift: T = options.strengthActivation == .oneplus ? 1 : 0
        func strength(_ offset: Int, _ length: Int) {
            Kernels.softplus(z + offset, xi + offset, count: length)
            for i in 0..<length { xi[offset + i] += shift }
        }
        strength(readStrengths, r)
        strength(writeStrength, 1)
        // Erase vector, free gates, allocation gate, write gate: σ.
        Kernels.sigmoid(z + eraseVector, xi + eraseVector, count: w)
        Kernels.sigmoid(z + freeGates, xi + freeGates, count: r + 2)
        // Read modes.
        Kernels.softmaxRows(z + readModes, xi + readModes, rows: r, columns: 3)
        // DNC-MD: masks σ (read masks and write mask are adjacent), sharpness oneplus (the paper's, whatever the strengths use).
        if masked { Kernels.sigmoid(z + readMasks, xi + readMasks, count: r * w + w) }
        if sharpened {
            Kernels.softplus(z + forwardSharpness, xi + forwardSharpness, count: 2 * r)
            for i in forwardSharpness..<(forwardSharpness + 2 * r) { xi[i] += 1 }
        }
    }

    /// In place: turns dℓ/dξ (S values) into dℓ/dẑ, given the raw values and the activations.
    func activationBackward<T: Real>(raw z: UnsafePointer<T>, activated xi: UnsafePointer<T>,
                                     gradient g: UnsafeMutablePointer<T>, options: MemoryOptions) {
        let w = cellWidth, r = readHeads
        if options.squashKeysAndWriteVector {
            for i in readKeys..<(readKeys + r * w) { g[i] *= 1 - xi[i] * xi[i] }
            for i in writeKey..<(writeKey + w) { g[i] *= 1 - xi[i] * xi[i] }
            for i in writeVector..<(writeVector + w) { g[i] *= 1 - xi[i] * xi[i] }
        }
        // oneplus' = softplus' (the shift is a constant).
        for i in readStrengths..<(readStrengths + r) { g[i] *= Kernels.softplusDerivative(z[i]) }
        g[writeStrength] *= Kernels.softplusDerivative(z[writeStrength])
        for i in eraseVector..<(eraseVector + w) { g[i] *= xi[i] * (1 - xi[i]) }
        for i in freeGates..<(freeGates + r + 2) { g[i] *= xi[i] * (1 - xi[i]) }
        Kernels.softmaxRowsBackward(output: xi + readModes, outputGradient: g + readModes,
                                    inputGradient: g + readModes, rows: r, columns: 3)
        if masked { for i in readMasks..<(readMasks + r * w + w) { g[i] *= xi[i] * (1 - xi[i]) } }
        if sharpened {
            for i in forwardSharpness..<(forwardSharpness + 2 * r) { g[i] *= Kernels.softplusDerivative(z[i]) }
        }
    }
}
