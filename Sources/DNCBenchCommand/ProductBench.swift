import DNCNumerics
import Foundation

/// `--only products`: the step's product shapes through each library of `Kernels.gemm`, µs per
/// call and GFLOP/s, operands cache-resident (the same buffers call after call), next to a
/// 64×64×64 product as the cache-resident peak measured on the spot. The shapes are the issue's
/// and the models': a batch by an LSTM weight matrix, its weight gradient for one step, the
/// memory's per-sample products.
enum ProductBench {
    static let shapes: [(label: String, transA: Bool, transB: Bool, m: Int, n: Int, k: Int)] = [
        ("peak 64³ A·B", false, false, 64, 64, 64),
        ("LSTM 256 step A·B", false, false, 16, 1024, 392),
        ("LSTM 256 step A·Bᵀ", false, true, 16, 1024, 392),
        ("weight grad Aᵀ·B", true, false, 1024, 392, 16),
        // The LSTM's input and hidden-state gradients, dG·W (A·B) or dG·(Wᵀ)ᵀ (A·Bᵀ) from the
        // transposed copy (`RecurrentLayer.gateBackward`): dnc-paper (B 16, in 134, H 256) and
        // dnc-large-mem (B 8, in 134, H 128).
        ("paper input grad A·B", false, false, 16, 134, 1024),
        ("paper input grad A·Bᵀ", false, true, 16, 134, 1024),
        ("paper hidden grad A·B", false, false, 16, 256, 1024),
        ("paper hidden grad A·Bᵀ", false, true, 16, 256, 1024),
        ("large-mem hidden grad A·B", false, false, 8, 128, 512),
        ("large-mem hidden grad A·Bᵀ", false, true, 8, 128, 512),
        ("interface A·B", false, false, 16, 247, 256),
        ("memory read 4×64×32", false, false, 4, 32, 64),
        ("memory 4×64×64", false, false, 4, 64, 64),
        ("dnc-small read 4×20×16", false, false, 4, 20, 16),
        // The memories' A·Bᵀ products, which libxsmm takes through a transposed copy of B:
        // keys by memory (content addressing), the link's forward weights, the write key, and
        // dnc-paper's output layer.
        ("dnc-small keys·Mᵀ A·Bᵀ", false, true, 4, 16, 20),
        ("dnc-small link A·Bᵀ", false, true, 4, 16, 16),
        ("paper keys·Mᵀ A·Bᵀ", false, true, 4, 64, 32),
        ("paper write key A·Bᵀ", false, true, 1, 64, 32),
        ("paper link A·Bᵀ", false, true, 4, 64, 64),
        ("paper output A·Bᵀ", false, true, 16, 6, 384),
    ]

    static func measure(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, path: ProductPath) -> Double {
        let a = (0..<(m * k)).map { Float($0 % 7) * 0.1 }, b = (0..<(k * n)).map { Float($0 % 5) * 0.1 }
        var c = [Float](repeating: 0, count: m * n)
        let flopsPerCall = 2.0 * Double(m * n * k)
        // About 20 ms per sample.
        let calls = Swift.max(1, Int(1e9 / flopsPerCall))
        let times = Timing.samples(repeats: 5) {
            for _ in 0..<calls {
                Kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, b: b, c: &c, path: path)
            }
        }
        return Timing.median(times) / Double(calls)
    }

    static func run(json: Bool) throws {
        if !json {
            print("Products: \(ProductPath.summary)")
            print("BLAS: \(BLASRuntime.summary)")
            print("shape                      m×n×k          OpenBLAS µs  GFLOP/s   libxsmm µs  GFLOP/s   auto takes")
        }
        for s in shapes {
            let flops = 2.0 * Double(s.m * s.n * s.k)
            let blas = measure(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, path: .openblas)
            let xsmm = measure(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, path: .libxsmm)
            let auto = ProductPath.choose(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                                          alphaIsOne: true, betaIsZeroOrOne: true, requested: .auto)
            // An A·Bᵀ whose B is over the transposed copy's limit has no libxsmm path: that
            // column would time OpenBLAS again, so it prints n/a.
            let xsmmTaken = ProductPath.choose(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k,
                                               alphaIsOne: true, betaIsZeroOrOne: true, requested: .libxsmm) == .libxsmm
            if json {
                let r: [String: Any] = ["name": "products", "shape": s.label, "m": s.m, "n": s.n, "k": s.k,
                                        "trans_a": s.transA, "trans_b": s.transB,
                                        "openblas_us": blas * 1e6, "libxsmm_us": xsmm * 1e6, "libxsmm_available": xsmmTaken,
                                        "auto": auto.rawValue]
                print(String(decoding: try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys]), as: UTF8.self))
            } else {
                let dims = "\(s.m)×\(s.n)×\(s.k)"
                print(s.label.padding(toLength: 27, withPad: " ", startingAt: 0) + dims.padding(toLength: 14, withPad: " ", startingAt: 0)
                      + String(format: "%12.2f %8.1f ", blas * 1e6, flops / blas * 1e-9)
                      + (xsmmTaken ? String(format: "%12.2f %8.1f", xsmm * 1e6, flops / xsmm * 1e-9) : "         n/a      n/a")
                      + "   \(auto.rawValue)")
            }
        }
    }
}
