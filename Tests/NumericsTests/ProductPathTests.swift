import XCTest
@testable import DNCNumerics

/// Every product path of `Kernels.gemm` against a naive triple loop, for every transpose
/// combination and the model's shapes; repeated calls give the same bits.
final class ProductPathTests: XCTestCase {
    /// (m, n, k): degenerate ones, the per-step products of a batch by a weight matrix, the
    /// per-sample memory products, and weight-gradient shapes over and under the auto threshold.
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (1, 1024, 1), (1, 5, 400), (7, 1, 3), (2, 3, 1), (1, 1, 37),
        (4, 64, 64), (16, 247, 256), (32, 512, 134), (16, 300, 392), (3, 1024, 400),
        (64, 64, 64), (65, 70, 66), (392, 256, 16), (100, 90, 80),
        // The memories' A·Bᵀ products (keys by memory, link) and an output layer's, which take a
        // transposed copy of B to libxsmm.
        (4, 16, 20), (1, 16, 20), (4, 16, 16), (4, 64, 32), (16, 6, 384),
    ]

    /// Deterministic values in [-1, 1) with no pattern the kernels could exploit.
    func values<T: Real>(_ count: Int, seed: Int) -> [T] {
        (0..<count).map { i in T(Double((i &* 2_654_435_761 &+ seed &* 40_503) % 2_001) / 1000 - 1) }
    }

    /// `alpha·op(A)·op(B) + beta·C` in Double, and the scale Σ|a||b| per element for the tolerance.
    func naive<T: Real>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double, a: [T], lda: Int,
                        b: [T], ldb: Int, beta: Double, c: [T], ldc: Int) -> (value: [Double], scale: [Double]) {
        var value = [Double](repeating: 0, count: m * ldc), scale = value
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let x = Double(transA ? a[p * lda + i] : a[i * lda + p])
                    let y = Double(transB ? b[j * ldb + p] : b[p * ldb + j])
                    sum += x * y
                    magnitude += Swift.abs(x * y)
                }
                value[i * ldc + j] = alpha * sum + beta * Double(c[i * ldc + j])
                scale[i * ldc + j] = Swift.abs(alpha) * magnitude + Swift.abs(beta * Double(c[i * ldc + j]))
            }
        }
        return (value, scale)
    }

    func check<T: Real>(_: T.Type, tolerance: Double) {
        for (m, n, k) in Self.shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    // Padded leading dimensions on some shapes: the kernels must honour them.
                    let pad = (m + n + k) % 3
                    let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
                    let a: [T] = values((transA ? k : m) * lda, seed: 1)
                    let b: [T] = values((transB ? n : k) * ldb, seed: 2)
                    let c0: [T] = values(m * ldc, seed: 3)
                    for (alpha, beta) in [(1.0, 0.0), (1.0, 1.0), (0.5, 0.25)] {
                        let expected = naive(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                             a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c0, ldc: ldc)
                        for path in ProductPath.allCases {
                            var first: [T] = []
                            for round in 0..<2 {
                                var c = c0
                                Kernels.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: T(alpha),
                                             a: a, lda: lda, b: b, ldb: ldb, beta: T(beta), c: &c, ldc: ldc, path: path)
                                let label = "\(T.self) \(path) \(transA ? "Aᵀ" : "A")·\(transB ? "Bᵀ" : "B") \(m)×\(n)×\(k) α \(alpha) β \(beta)"
                                if round == 0 {
                                    first = c
                                    var worst = 0.0
                                    for i in 0..<m {
                                        for j in 0..<n {
                                            let index = i * ldc + j
                                            let error = Swift.abs(Double(c[index]) - expected.value[index])
                                            worst = Swift.max(worst, error / Swift.max(expected.scale[index], .leastNormalMagnitude))
                                        }
                                        // The padding between rows is not part of C and must be untouched.
                                        for j in n..<ldc where c[i * ldc + j] != c0[i * ldc + j] {
                                            XCTFail("\(label): wrote padding at row \(i) column \(j)")
                                        }
                                    }
                                    XCTAssertLessThanOrEqual(worst, tolerance, label)
                                } else {
                                    XCTAssertEqual(c.map { Double($0).bitPattern }, first.map { Double($0).bitPattern },
                                                   "\(label): not the same bits on a repeated call")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func testDoubleProductsMatchTheNaiveLoop() { check(Double.self, tolerance: 1e-12) }
    func testFloatProductsMatchTheNaiveLoop() { check(Float.self, tolerance: 1e-5) }

    /// The comparison above would pass if libxsmm silently fell back to OpenBLAS everywhere: the
    /// products it is meant to take must have a JIT kernel on this machine.
    func testLibxsmmGeneratesTheKernelsTheSeamChooses() {
        for (m, n, k) in Self.shapes {
            for transA in [false, true] {
                XCTAssertEqual(ProductPath.choose(transA: transA, transB: false, m: m, n: n, k: k, alphaIsOne: true,
                                                  betaIsZeroOrOne: true, requested: .libxsmm), .libxsmm)
                XCTAssertTrue(ProductPath.libxsmmHasKernel(Float.self, transA: transA, m: m, n: n, k: k, beta: 0),
                              "no Float kernel for \(m)×\(n)×\(k) transA \(transA)")
                XCTAssertTrue(ProductPath.libxsmmHasKernel(Double.self, transA: transA, m: m, n: n, k: k, beta: 1),
                              "no Double kernel for \(m)×\(n)×\(k) transA \(transA)")
            }
        }
    }

    /// The transposed-copy path must really run in libxsmm for the products the seam sends there
    /// (the comparison above would also pass on OpenBLAS), and write exactly the naive result's
    /// rows, leaving padding alone.
    func testTransposedCopyPathRunsInLibxsmmForTheMemoryProducts() {
        XCTAssertEqual(ProductPath.shimTransposedCopyLimit, ProductPath.transposedCopyLimit)
        for (m, n, k) in [(4, 16, 20), (1, 16, 20), (4, 16, 16), (4, 64, 32), (4, 64, 64), (16, 6, 384), (3, 5, 7)] {
            let lda = k + 1, ldb = k + 2, ldc = n + 3
            let a: [Double] = values(m * lda, seed: 4), b: [Double] = values(n * ldb, seed: 5)
            let c0: [Double] = values(m * ldc, seed: 6)
            for beta in [0.0, 1.0] {
                var c = c0
                let taken = a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        c.withUnsafeMutableBufferPointer { pc in
                            Double.xsmmProductTransposedB(m: Int32(m), n: Int32(n), k: Int32(k), a: pa.baseAddress!, lda: Int32(lda),
                                                          b: pb.baseAddress!, ldb: Int32(ldb), beta: beta,
                                                          c: pc.baseAddress!, ldc: Int32(ldc))
                        }
                    }
                }
                XCTAssertTrue(taken, "no libxsmm path for \(m)×\(n)×\(k) A·Bᵀ")
                let expected = naive(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                                     beta: beta, c: c0, ldc: ldc)
                for i in 0..<m {
                    for j in 0..<ldc {
                        let index = i * ldc + j
                        if j < n {
                            XCTAssertEqual(c[index], expected.value[index], accuracy: 1e-12 * Swift.max(expected.scale[index], 1))
                        } else {
                            XCTAssertEqual(c[index], c0[index], "padding written at \(i), \(j)")
                        }
                    }
                }
            }
        }
        // Over the copy's limit nothing is written and the caller falls back to OpenBLAS.
        let n = 65, k = 64
        let a = [Float](repeating: 1, count: k), b = [Float](repeating: 1, count: n * k)
        var c = [Float](repeating: 7, count: n)
        let taken = Float.xsmmProductTransposedB(m: 1, n: Int32(n), k: Int32(k), a: a, lda: Int32(k), b: b, ldb: Int32(k),
                                                 beta: 0, c: &c, ldc: Int32(n))
        XCTAssertFalse(taken)
        XCTAssertEqual(c, [Float](repeating: 7, count: n))
    }

    func testAutoTakesLibxsmmForSmallProductsAndOpenBLASForLargeOnes() {
        func path(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, alpha: Bool = true, beta: Bool = true,
                  _ requested: ProductPath = .auto) -> ProductPath {
            ProductPath.choose(transA: transA, transB: transB, m: m, n: n, k: k, alphaIsOne: alpha,
                               betaIsZeroOrOne: beta, requested: requested)
        }
        XCTAssertEqual(path(false, false, 16, 1024, 392), .libxsmm)   // a batch by a weight matrix
        XCTAssertEqual(path(true, false, 392, 1024, 16), .libxsmm)    // a one-step weight gradient
        XCTAssertEqual(path(true, false, 1024, 1024, 512), .openblas) // a whole sequence's weight gradient
        XCTAssertEqual(path(false, true, 16, 1024, 392), .openblas)   // B too large for a transposed copy
        XCTAssertEqual(path(false, true, 4, 16, 20), .libxsmm)        // dnc-small's keys by memory: copied
        XCTAssertEqual(path(true, true, 4, 16, 20), .openblas)        // both transposed: OpenBLAS only
        XCTAssertEqual(path(false, true, 4, 64, 64, .libxsmm), .libxsmm)
        XCTAssertEqual(path(false, true, 4, 65, 64, .libxsmm), .openblas)
        XCTAssertEqual(path(false, true, 100, 40, 100), .openblas)    // neither m nor k small
        // The copy's reach under auto follows OpenBLAS's kernels: 512 elements of B with its
        // AVX-512 kernels, the copy's whole limit without them.
        let avx512 = (BLASRuntime.tiers[BLASRuntime.coreName.lowercased()] ?? 0) >= 3
        XCTAssertEqual(ProductPath.autoTransposedCopyLimit, avx512 ? 512 : ProductPath.transposedCopyLimit)
        XCTAssertEqual(path(false, true, 4, 64, 32), avx512 ? .openblas : .libxsmm)
        XCTAssertEqual(path(false, false, 16, 64, 64, alpha: false), .openblas)
        XCTAssertEqual(path(false, false, 16, 64, 64, beta: false), .openblas)
        XCTAssertEqual(path(false, false, 16, 64, 64, .openblas), .openblas)
        XCTAssertEqual(path(false, false, 1024, 1024, 512, .libxsmm), .libxsmm)
    }

    func testEnvironmentSwitchParsing() {
        XCTAssertEqual(ProductPath.parse(nil), .auto)
        XCTAssertEqual(ProductPath.parse(""), .auto)
        XCTAssertEqual(ProductPath.parse(" LibXSMM "), .libxsmm)
        XCTAssertEqual(ProductPath.parse("openblas"), .openblas)
        XCTAssertEqual(ProductPath.parse("auto"), .auto)
        XCTAssertNil(ProductPath.parse("mkl"))
    }
}
