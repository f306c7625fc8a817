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

    func testAutoTakesLibxsmmForSmallProductsAndOpenBLASForLargeOnes() {
        func path(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, alpha: Bool = true, beta: Bool = true,
                  _ requested: ProductPath = .auto) -> ProductPath {
            ProductPath.choose(transA: transA, transB: transB, m: m, n: n, k: k, alphaIsOne: alpha,
                               betaIsZeroOrOne: beta, requested: requested)
        }
        XCTAssertEqual(path(false, false, 16, 1024, 392), .libxsmm)   // a batch by a weight matrix
        XCTAssertEqual(path(true, false, 392, 1024, 16), .libxsmm)    // a one-step weight gradient
        XCTAssertEqual(path(true, false, 1024, 1024, 512), .openblas) // a whole sequence's weight gradient
        XCTAssertEqual(path(false, true, 16, 1024, 392), .openblas)   // no transposed-A JIT in libxsmm 1.17
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
