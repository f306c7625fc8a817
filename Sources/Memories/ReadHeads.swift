import DNCNumerics

/// The read weighting (a per-head mix of backward, forward and content weights by the read
/// modes) and the read vectors, with their backward passes (docs/dense-memory.md: Read modes and
/// read weights, Read vectors, Backward pass).
/// One sample, R heads.
enum ReadHeads {
    /// `w_i = π_{i,0}·b_i + π_{i,1}·f_i + π_{i,2}·c_i`. modes: R×3; backward, forward, content,
    /// out: R×N.
    static func weightsForward<T: Real>(modes: UnsafePointer<T>, backward b: UnsafePointer<T>,
                                        forward f: UnsafePointer<T>, content c: UnsafePointer<T>,
                                        cells n: Int, readHeads r: Int, out w: UnsafeMutablePointer<T>) {
        for i in 0..<r {
            let p0 = modes[3 * i], p1 = modes[3 * i + 1], p2 = modes[3 * i + 2]
            for k in (i * n)..<((i + 1) * n) { w[k] = p0 * b[k] + p1 * f[k] + p2 * c[k] }
        }
    }

    /// Backward of `weightsForward`: overwrites the three R×N gradients and `modesGradient` (R×3).
    static func weightsBackward<T: Real>(modes: UnsafePointer<T>, backward b: UnsafePointer<T>,
                                         forward f: UnsafePointer<T>, content c: UnsafePointer<T>,
                                         cells n: Int, readHeads r: Int, weightsGradient g: UnsafePointer<T>,
                                         modesGradient dModes: UnsafeMutablePointer<T>,
                                         backwardGradient db: UnsafeMutablePointer<T>,
                                         forwardGradient df: UnsafeMutablePointer<T>,
                                         contentGradient dc: UnsafeMutablePointer<T>) {
        for i in 0..<r {
            let p0 = modes[3 * i], p1 = modes[3 * i + 1], p2 = modes[3 * i + 2]
            let o = i * n
            dModes[3 * i] = RowKernels.dot(g + o, b + o, count: n)
            dModes[3 * i + 1] = RowKernels.dot(g + o, f + o, count: n)
            dModes[3 * i + 2] = RowKernels.dot(g + o, c + o, count: n)
            for k in o..<(o + n) {
                let gk = g[k]
                db[k] = p0 * gk; df[k] = p1 * gk; dc[k] = p2 * gk
            }
        }
    }

    /// `r_i = Mᵀ w_i`: weights R×N, memory N×W, out R×W (head-major).
    static func readVectors<T: Real>(weights: UnsafePointer<T>, memory: UnsafePointer<T>, cells n: Int, width: Int,
                                     readHeads r: Int, out: UnsafeMutablePointer<T>) {
        Kernels.gemm(m: r, n: width, k: n, a: weights, b: memory, beta: 0, c: out)
    }

    /// Backward of `readVectors`: `dW += dR·Mᵀ` (R×N), `dM += Wᵀ·dR` (N×W), accumulated.
    static func readVectorsBackward<T: Real>(weights: UnsafePointer<T>, memory: UnsafePointer<T>, cells n: Int,
                                             width: Int, readHeads r: Int, readVectorsGradient dR: UnsafePointer<T>,
                                             weightsGradient dW: UnsafeMutablePointer<T>,
                                             memoryGradient dM: UnsafeMutablePointer<T>) {
        Kernels.gemm(transB: true, m: r, n: n, k: width, a: dR, b: memory, beta: 1, c: dW)
        Kernels.gemm(transA: true, m: n, n: width, k: r, a: weights, b: dR, beta: 1, c: dM)
    }
}
