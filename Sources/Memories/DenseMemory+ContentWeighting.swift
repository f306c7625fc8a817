import DNCNumerics

/// The dense memory's content weightings of one sample, forward and backward (docs/dense-memory.md,
/// "Content addressing"): the write head's on M_{t−1}, the read heads' on M_t, either the DNC's
/// (all heads in one product) or DNC-MD's masked lookup (per head, "Masked content lookup").
/// Recorded on the step's record: the key norms, the cosines and the weights; the unmasked row
/// norms too (the masked ones are rebuilt).
extension DenseMemory {
    /// c^w from M_{t−1} (`memory`) into the record.
    func writeContentForward(_ b: Int, frame: StepFrame, memory: UnsafePointer<T>) {
        let n = cellCount, w = cellWidth, l = frame.layout, rec = frame.rec, xi = rec + l.interface + b * layout.size
        let keyNorm = rec + l.writeKeyNorm + b, cosine = rec + l.writeCosine + b * n, weights = rec + l.writeContent + b * n
        if layout.masked {
            MaskedContentAddressing.forward(memory: memory, mask: xi + layout.writeMask, key: xi + layout.writeKey,
                                            strength: xi + layout.writeStrength, cells: n, width: w,
                                            style: options.cosineStyle, keyNorm: keyNorm, cosine: cosine, weights: weights,
                                            scratch: scratch + n)
        } else {
            ContentAddressing.norms(xi + layout.writeKey, rows: 1, width: w, style: options.cosineStyle, out: keyNorm)
            ContentAddressing.forward(memory: memory, memoryNorms: rec + l.writeNorms + b * n, keys: xi + layout.writeKey,
                                      keyNorms: keyNorm, strengths: xi + layout.writeStrength, cells: n, width: w,
                                      keyCount: 1, cosine: cosine, weights: weights)
        }
    }

    /// c^r of every head from M_t (`memory`) into the record.
    func readContentForward(_ b: Int, frame: StepFrame, memory: UnsafePointer<T>) {
        let n = cellCount, w = cellWidth, r = readHeads, l = frame.layout, rec = frame.rec
        let xi = rec + l.interface + b * layout.size
        let keyNorms = rec + l.readKeyNorms + b * r, cosine = rec + l.readCosine + b * r * n
        let weights = rec + l.readContent + b * r * n
        if layout.masked {
            for i in 0..<r {
                MaskedContentAddressing.forward(memory: memory, mask: xi + layout.readMasks + i * w,
                                                key: xi + layout.readKeys + i * w, strength: xi + layout.readStrengths + i,
                                                cells: n, width: w, style: options.cosineStyle, keyNorm: keyNorms + i,
                                                cosine: cosine + i * n, weights: weights + i * n, scratch: scratch + n)
            }
        } else {
            let norms = rec + l.readNorms + b * n
            ContentAddressing.norms(memory, rows: n, width: w, style: options.cosineStyle, out: norms)
            ContentAddressing.norms(xi + layout.readKeys, rows: r, width: w, style: options.cosineStyle, out: keyNorms)
            ContentAddressing.forward(memory: memory, memoryNorms: norms, keys: xi + layout.readKeys, keyNorms: keyNorms,
                                      strengths: xi + layout.readStrengths, cells: n, width: w, keyCount: r,
                                      cosine: cosine, weights: weights)
        }
    }

    /// Backward of `writeContentForward`: consumes `scratch.dWriteContent`; accumulates into
    /// `memoryGradient` (dℓ/dM_{t−1}, N×W) and the key's, strength's (and mask's) rows of `interfaceGradient`.
    func writeContentBackward(_ b: Int, frame: StepFrame, memory: UnsafePointer<T>, memoryGradient gM: UnsafeMutablePointer<T>,
                              interfaceGradient dRow: UnsafeMutablePointer<T>, scratch k: BackwardScratch) {
        let n = cellCount, w = cellWidth, l = frame.layout, rec = frame.rec, xi = rec + l.interface + b * layout.size
        let cosine = rec + l.writeCosine + b * n, weights = rec + l.writeContent + b * n
        if layout.masked {
            MaskedContentAddressing.backward(memory: memory, mask: xi + layout.writeMask, key: xi + layout.writeKey,
                                             strength: xi + layout.writeStrength, cosine: cosine, weights: weights,
                                             cells: n, width: w, style: options.cosineStyle,
                                             weightsGradient: k.dWriteContent, memoryGradient: gM,
                                             keyGradient: dRow + layout.writeKey, maskGradient: dRow + layout.writeMask,
                                             strengthGradient: dRow + layout.writeStrength, scratch: k.maskScratch)
        } else {
            ContentAddressing.backward(memory: memory, memoryNorms: rec + l.writeNorms + b * n, keys: xi + layout.writeKey,
                                       keyNorms: rec + l.writeKeyNorm + b, strengths: xi + layout.writeStrength,
                                       cosine: cosine, weights: weights, cells: n, width: w, keyCount: 1,
                                       weightsGradient: k.dWriteContent, memoryGradient: gM,
                                       keysGradient: dRow + layout.writeKey, strengthsGradient: dRow + layout.writeStrength,
                                       scratch: k.contentScratch)
        }
    }

    /// Backward of `readContentForward`: consumes `scratch.dReadContent`; accumulates into
    /// `memoryGradient` (dℓ/dM_t, N×W) and the keys', strengths' (and masks') rows of `interfaceGradient`.
    func readContentBackward(_ b: Int, frame: StepFrame, memory: UnsafePointer<T>, memoryGradient gM: UnsafeMutablePointer<T>,
                             interfaceGradient dRow: UnsafeMutablePointer<T>, scratch k: BackwardScratch) {
        let n = cellCount, w = cellWidth, r = readHeads, l = frame.layout, rec = frame.rec
        let xi = rec + l.interface + b * layout.size
        let cosine = rec + l.readCosine + b * r * n, weights = rec + l.readContent + b * r * n
        if layout.masked {
            for i in 0..<r {
                MaskedContentAddressing.backward(memory: memory, mask: xi + layout.readMasks + i * w,
                                                 key: xi + layout.readKeys + i * w, strength: xi + layout.readStrengths + i,
                                                 cosine: cosine + i * n, weights: weights + i * n,
                                                 cells: n, width: w, style: options.cosineStyle,
                                                 weightsGradient: k.dReadContent + i * n, memoryGradient: gM,
                                                 keyGradient: dRow + layout.readKeys + i * w,
                                                 maskGradient: dRow + layout.readMasks + i * w,
                                                 strengthGradient: dRow + layout.readStrengths + i, scratch: k.maskScratch)
            }
        } else {
            ContentAddressing.backward(memory: memory, memoryNorms: rec + l.readNorms + b * n, keys: xi + layout.readKeys,
                                       keyNorms: rec + l.readKeyNorms + b * r, strengths: xi + layout.readStrengths,
                                       cosine: cosine, weights: weights, cells: n, width: w, keyCount: r,
                                       weightsGradient: k.dReadContent, memoryGradient: gM,
                                       keysGradient: dRow + layout.readKeys, strengthsGradient: dRow + layout.readStrengths,
                                       scratch: k.contentScratch)
        }
    }
}
