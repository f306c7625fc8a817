import DNCNumerics

/// DNC-MD's masked content weighting for one key (Csordás & Schmidhuber 2019, §3.1;
/// docs/dense-memory.md, "Masked content lookup"): `C(M, k, β, m) = softmax_N(β · cos(M ⊙ 1mᵀ, k ⊙ m))`,
/// the mask applied to the key and to every memory row (as the authors' code does), with the
/// cosine of `ContentAddressing` in the memory's style. The masked rows are built in scratch
/// and handed to `ContentAddressing`; the backward rebuilds them (O(N·W), as the forward) rather
/// than keeping N·W more values per head and step on the tape, and chains through the product:
/// `dM += dM̃ ⊙ 1mᵀ`, `dk += dk̃ ⊙ m`, `dm += Σ_i dM̃_i ⊙ M_i + dk̃ ⊙ k`.
enum MaskedContentAddressing {
    /// Scratch (reals) of `forward`: M̃ (N×W), its row norms (N), k̃ (W).
    static func forwardScratchSize(cells n: Int, width w: Int) -> Int { n * w + n + w }

    /// Scratch (reals) of `backward`: M̃ and dM̃ (N×W each), norms (N), k̃ and dk̃ (W each) and
    /// `ContentAddressing.backward`'s for one key (2N + 1).
    static func backwardScratchSize(cells n: Int, width w: Int) -> Int { 2 * n * w + 3 * n + 2 * w + 1 }

    /// M̃ = M ⊙ 1mᵀ, k̃ = k ⊙ m and their norms (the key's into `keyNorm`).
    private static func mask<T: Real>(memory: UnsafePointer<T>, mask m: UnsafePointer<T>, key: UnsafePointer<T>,
                                      cells n: Int, width w: Int, style: MemoryOptions.CosineStyle,
                                      maskedMemory: UnsafeMutablePointer<T>, memoryNorms: UnsafeMutablePointer<T>,
                                      maskedKey: UnsafeMutablePointer<T>, keyNorm: UnsafeMutablePointer<T>) {
        for i in 0..<n {
            let row = memory + i * w, out = maskedMemory + i * w
            for j in 0..<w { out[j] = row[j] * m[j] }
        }
        for j in 0..<w { maskedKey[j] = key[j] * m[j] }
        ContentAddressing.norms(maskedMemory, rows: n, width: w, style: style, out: memoryNorms)
        ContentAddressing.norms(maskedKey, rows: 1, width: w, style: style, out: keyNorm)
    }

    /// Forward for one key. memory: N×W; mask, key: W; strength: 1. Writes `keyNorm` (‖k ⊙ m‖,
    /// kept on the tape), `cosine` (N) and `weights` (N).
    static func forward<T: Real>(memory: UnsafePointer<T>, mask m: UnsafePointer<T>, key: UnsafePointer<T>,
                                 strength: UnsafePointer<T>, cells n: Int, width w: Int,
                                 style: MemoryOptions.CosineStyle, keyNorm: UnsafeMutablePointer<T>,
                                 cosine: UnsafeMutablePointer<T>, weights: UnsafeMutablePointer<T>,
                                 scratch: UnsafeMutablePointer<T>) {
        let maskedMemory = scratch, norms = scratch + n * w, maskedKey = norms + n
        mask(memory: memory, mask: m, key: key, cells: n, width: w, style: style, maskedMemory: maskedMemory,
             memoryNorms: norms, maskedKey: maskedKey, keyNorm: keyNorm)
        ContentAddressing.forward(memory: maskedMemory, memoryNorms: norms, keys: maskedKey, keyNorms: keyNorm,
                                  strengths: strength, cells: n, width: w, keyCount: 1, cosine: cosine, weights: weights)
    }

    /// Backward of `forward`. `weightsGradient` (N) is consumed. Accumulates into
    /// `memoryGradient` (N×W), `keyGradient`, `maskGradient` (W) and `strengthGradient` (1).
    static func backward<T: Real>(memory: UnsafePointer<T>, mask m: UnsafePointer<T>, key: UnsafePointer<T>,
                                  strength: UnsafePointer<T>, cosine: UnsafePointer<T>, weights: UnsafePointer<T>,
                                  cells n: Int, width w: Int, style: MemoryOptions.CosineStyle,
                                  weightsGradient: UnsafeMutablePointer<T>, memoryGradient dM: UnsafeMutablePointer<T>,
                                  keyGradient dk: UnsafeMutablePointer<T>, maskGradient dm: UnsafeMutablePointer<T>,
                                  strengthGradient: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>) {
        let maskedMemory = scratch, maskedMemoryGradient = scratch + n * w, norms = maskedMemoryGradient + n * w
        let maskedKey = norms + n, maskedKeyGradient = maskedKey + w, keyNorm = maskedKeyGradient + w
        let contentScratch = keyNorm + 1
        mask(memory: memory, mask: m, key: key, cells: n, width: w, style: style, maskedMemory: maskedMemory,
             memoryNorms: norms, maskedKey: maskedKey, keyNorm: keyNorm)
        Kernels.fill(maskedMemoryGradient, count: n * w, with: 0)
        Kernels.fill(maskedKeyGradient, count: w, with: 0)
        ContentAddressing.backward(memory: maskedMemory, memoryNorms: norms, keys: maskedKey, keyNorms: keyNorm,
                                   strengths: strength, cosine: cosine, weights: weights, cells: n, width: w,
                                   keyCount: 1, weightsGradient: weightsGradient, memoryGradient: maskedMemoryGradient,
                                   keysGradient: maskedKeyGradient, strengthsGradient: strengthGradient,
                                   scratch: contentScratch)
        for i in 0..<n {
            let row = memory + i * w, g = maskedMemoryGradient + i * w, dRow = dM + i * w
            for j in 0..<w {
                dRow[j] += g[j] * m[j]
                dm[j] += g[j] * row[j]
            }
        }
        for j in 0..<w {
            dk[j] += maskedKeyGradient[j] * m[j]
            dm[j] += maskedKeyGradient[j] * key[j]
        }
    }
}
