import DNCNumerics

/// Content weighting `C(M, k, β) = softmax_N(β · cos(M, k))` for K keys against one memory
/// (docs/dense-memory.md, Content addressing) and its backward (Backward pass: softmax, cosine).
///
/// `cos[i, m] = (M_m · k_i) / (n_m κ_i + ε)` with ε = 1e-6, where the norms depend on the style:
/// `.pytorchDNC` uses plain Euclidean norms (gradient 0 at the zero vector, as PyTorch defines
/// it); `.deepMind` uses `sqrt(Σx² + ε)`, which is never 0. The norms are kept on the tape so the
/// backward never divides by a norm that can be 0.
enum ContentAddressing {
    /// ε of the cosine (pytorch-dnc's δ).
    @inlinable static func epsilon<T: Real>(_: T.Type) -> T { T(1e-6) }

    /// Norms of `rows` vectors of length `width` (rows×width → rows), in the given style.
    static func norms<T: Real>(_ x: UnsafePointer<T>, rows: Int, width: Int, style: MemoryOptions.CosineStyle,
                               out norms: UnsafeMutablePointer<T>) {
        let shift: T = style == .deepMind ? epsilon(T.self) : 0
        for r in 0..<rows {
            norms[r] = (RowKernels.sumOfSquares(x + r * width, count: width) + shift).squareRoot()
        }
    }

    /// Forward for K keys.
    /// - memory: N×W, memoryNorms: N (from `norms`), keys: K×W, keyNorms: K, strengths: K.
    /// - cosine: K×N (written), weights: K×N (written), each row sums to 1.
    static func forward<T: Real>(memory: UnsafePointer<T>, memoryNorms: UnsafePointer<T>, keys: UnsafePointer<T>,
                                 keyNorms: UnsafePointer<T>, strengths: UnsafePointer<T>,
                                 cells n: Int, width w: Int, keyCount k: Int,
                                 cosine: UnsafeMutablePointer<T>, weights: UnsafeMutablePointer<T>) {
        let eps = epsilon(T.self)
        // Dot products keys · Mᵀ (K×N), one gemm for all heads.
        Kernels.gemm(transB: true, m: k, n: n, k: w, a: keys, b: memory, beta: 0, c: cosine)
        for i in 0..<k {
            let row = cosine + i * n, z = weights + i * n
            let kappa = keyNorms[i], beta = strengths[i]
            for m in 0..<n { row[m] /= memoryNorms[m] * kappa + eps }
            for m in 0..<n { z[m] = beta * row[m] }
        }
        Kernels.softmaxRows(weights, weights, rows: k, columns: n)
    }

    /// Backward for K keys. `weightsGradient` (K×N) is consumed (used as scratch).
    /// Accumulates into `memoryGradient` (N×W), `keysGradient` (K×W) and `strengthsGradient` (K).
    /// `scratch` holds K·N + N + K values.
    static func backward<T: Real>(memory: UnsafePointer<T>, memoryNorms: UnsafePointer<T>, keys: UnsafePointer<T>,
                                  keyNorms: UnsafePointer<T>, strengths: UnsafePointer<T>,
                                  cosine: UnsafePointer<T>, weights: UnsafePointer<T>,
                                  cells n: Int, width w: Int, keyCount k: Int,
                                  weightsGradient dWeights: UnsafeMutablePointer<T>,
                                  memoryGradient dM: UnsafeMutablePointer<T>, keysGradient dK: UnsafeMutablePointer<T>,
                                  strengthsGradient dBeta: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>) {
        let eps = epsilon(T.self)
        let a = scratch, memoryScale = scratch + k * n, keyScale = memoryScale + n
        // dz = softmax backward, in place.
        Kernels.softmaxRowsBackward(output: weights, outputGradient: dWeights, inputGradient: dWeights, rows: k, columns: n)
        Kernels.fill(memoryScale, count: n, with: 0)
        for i in 0..<k {
            let dz = dWeights + i * n, cos = cosine + i * n, ai = a + i * n
            let kappa = keyNorms[i], beta = strengths[i]
            dBeta[i] += RowKernels.dot(dz, cos, count: n)
            // ∂cos/∂M_m = k/D − (cos κ/D)·M̂_m,  ∂cos/∂k = M_m/D − (cos n_m/D)·k̂  (d/D = cos).
            // a = dℓ/dcos / D; dz is reused for dℓ/dcos · cos / D.
            for m in 0..<n {
                let inverseD = 1 / (memoryNorms[m] * kappa + eps)
                ai[m] = beta * dz[m] * inverseD
                dz[m] = ai[m] * cos[m]
            }
            for m in 0..<n { memoryScale[m] += dz[m] * kappa }
            keyScale[i] = RowKernels.dot(dz, memoryNorms, count: n)
        }
        // dM += Aᵀ·K (N×W), dK += A·M (K×W).
        Kernels.gemm(transA: true, m: n, n: w, k: k, a: a, b: keys, beta: 1, c: dM)
        Kernels.gemm(m: k, n: w, k: n, a: a, b: memory, beta: 1, c: dK)
        // Norm terms: M̂ = M/n, k̂ = k/κ, both 0 where the norm is 0 (PyTorch's convention).
        for m in 0..<n where memoryNorms[m] > 0 && memoryScale[m] != 0 {
            let s = memoryScale[m] / memoryNorms[m]
            let row = memory + m * w, dRow = dM + m * w
            for j in 0..<w { dRow[j] -= s * row[j] }
        }
        for i in 0..<k where keyNorms[i] > 0 && keyScale[i] != 0 {
            let s = keyScale[i] / keyNorms[i]
            let key = keys + i * w, dKey = dK + i * w
            for j in 0..<w { dKey[j] -= s * key[j] }
        }
    }
}
