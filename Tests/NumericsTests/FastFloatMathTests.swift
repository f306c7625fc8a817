import XCTest
@testable import DNCNumerics

/// The single-precision kernels against libm in Double over their whole useful range.
final class FastFloatMathTests: XCTestCase {
    /// Dense sweep plus the edges: returns the worst relative error against `reference`.
    func worstRelativeError(range: ClosedRange<Float>, samples: Int = 200_001,
                            _ fast: (Float) -> Float, _ reference: (Double) -> Double) -> (error: Double, at: Float) {
        var worst = (error: 0.0, at: Float(0))
        for i in 0..<samples {
            let x = range.lowerBound + (range.upperBound - range.lowerBound) * Float(i) / Float(samples - 1)
            let exact = reference(Double(x))
            let error = abs(Double(fast(x)) - exact) / max(abs(exact), Double(Float.leastNormalMagnitude))
            if error > worst.error { worst = (error, x) }
        }
        return worst
    }

    func testTanhRelativeError() {
        let worst = worstRelativeError(range: -12...12, { FastFloatMath.tanh($0) }, Foundation.tanh)
        XCTAssertLessThan(worst.error, 1e-6, "worst at \(worst.at)")
        let tiny = worstRelativeError(range: -1e-3...1e-3, { FastFloatMath.tanh($0) }, Foundation.tanh)
        XCTAssertLessThan(tiny.error, 1e-6, "worst at \(tiny.at)")
        XCTAssertEqual(FastFloatMath.tanh(100), 1)
        XCTAssertEqual(FastFloatMath.tanh(-.infinity), -1)
    }

    func testExpRelativeError() {
        let worst = worstRelativeError(range: -87...88, { FastFloatMath.exp($0) }, Foundation.exp)
        XCTAssertLessThan(worst.error, 1e-6, "worst at \(worst.at)")
        XCTAssertEqual(FastFloatMath.exp(0), 1)
        XCTAssertEqual(FastFloatMath.exp(-200), 0)
        XCTAssertEqual(FastFloatMath.exp(200), .infinity)
    }

    func testLogRelativeError() {
        let worst = worstRelativeError(range: 1e-30...1e3, { FastFloatMath.log($0) }, Foundation.log)
        XCTAssertLessThan(worst.error, 1e-6, "worst at \(worst.at)")
        let nearOne = worstRelativeError(range: 0.5...2, { FastFloatMath.log($0) }, Foundation.log)
        // log(x) → 0 at x = 1: judge by absolute error there.
        XCTAssertLessThan(nearOne.error * 1, 2e-6, "worst at \(nearOne.at)")
        XCTAssertEqual(FastFloatMath.log(0), -.infinity)
        XCTAssertTrue(FastFloatMath.log(-1).isNaN)
        let subnormal = Float.leastNormalMagnitude / 1024
        XCTAssertEqual(Double(FastFloatMath.log(subnormal)), Foundation.log(Double(subnormal)), accuracy: 1e-5)
    }

    func testSigmoidKeepsPrecisionInTheTail() {
        var x: [Float] = stride(from: -80, through: 80, by: 0.01).map { Float($0) }
        var y = [Float](repeating: 0, count: x.count)
        Kernels.sigmoid(x, &y, count: x.count)
        for (xi, yi) in zip(x, y) {
            let exact = 1 / (1 + Foundation.exp(-Double(xi)))
            XCTAssertLessThan(abs(Double(yi) - exact) / exact, 2e-6, "sigmoid(\(xi))")
        }
        // In place (input and output alias).
        let copy = y
        Kernels.sigmoid(x, &x, count: x.count)
        XCTAssertEqual(x, copy)
    }

    func testSoftplusMatchesPyTorch() {
        let x: [Double] = [-50, -20, -1, 0, 1, 19.9, 20, 20.5, 100]
        var y = [Double](repeating: 0, count: x.count)
        Kernels.softplus(x, &y, count: x.count)
        for (xi, yi) in zip(x, y) {
            let expected = xi > 20 ? xi : Foundation.log1p(Foundation.exp(xi))
            XCTAssertEqual(yi, expected, accuracy: 1e-15 * max(1, abs(expected)), "softplus(\(xi))")
        }
        XCTAssertEqual(Kernels.softplusDerivative(21.0), 1)
        XCTAssertEqual(Kernels.softplusDerivative(0.0), 0.5)
    }

    func testSoftmaxIsStableAndNormalised() {
        let x: [Float] = [1000, 1001, 1002, -1000, 0, 1]
        var y = [Float](repeating: 0, count: 6)
        Kernels.softmaxRows(x, &y, rows: 2, columns: 3)
        XCTAssertEqual(y[0] + y[1] + y[2], 1, accuracy: 1e-6)
        XCTAssertEqual(y[2], 0.66524096, accuracy: 1e-6)
        XCTAssertEqual(y[3], 0)
        XCTAssertFalse(y.contains { !$0.isFinite })
    }

    func testGemmTransposesAndAccumulates() {
        // A (2×3), B (3×2): C = A·B, then C += Aᵀᵀ·(Bᵀ)ᵀ through the transposed flags.
        let a: [Double] = [1, 2, 3, 4, 5, 6], b: [Double] = [7, 8, 9, 10, 11, 12]
        var c = [Double](repeating: 0, count: 4)
        Kernels.gemm(m: 2, n: 2, k: 3, a: a, b: b, c: &c)
        XCTAssertEqual(c, [58, 64, 139, 154])
        let aT: [Double] = [1, 4, 2, 5, 3, 6], bT: [Double] = [7, 9, 11, 8, 10, 12]
        Kernels.gemm(transA: true, transB: true, m: 2, n: 2, k: 3, a: aT, b: bT, beta: 1, c: &c)
        XCTAssertEqual(c, [116, 128, 278, 308])
    }

    /// Products split into column blocks for OpenBLAS's small kernels equal the naive sum.
    func testSplitProductsEqualTheNaiveProduct() {
        for (m, n, k) in [(16, 1024, 134), (16, 256, 1024), (8, 300, 512), (32, 256, 150), (3, 70, 40)] {
            let a = (0..<(m * k)).map { Double(($0 * 7919) % 23) / 11 - 1 }
            let b = (0..<(k * n)).map { Double(($0 * 104729) % 31) / 15 - 1 }
            var expected = [Double](repeating: 0, count: m * n)
            for i in 0..<m { for j in 0..<n { for p in 0..<k { expected[i * n + j] += a[i * k + p] * b[p * n + j] } } }
            var bT = [Double](repeating: 0, count: k * n)
            for p in 0..<k { for j in 0..<n { bT[j * k + p] = b[p * n + j] } }
            var c = [Double](repeating: 0, count: m * n), cT = c
            Kernels.gemm(m: m, n: n, k: k, a: a, b: b, c: &c)
            Kernels.gemm(transB: true, m: m, n: n, k: k, a: a, b: bT, c: &cT)
            for i in 0..<(m * n) {
                XCTAssertEqual(c[i], expected[i], accuracy: 1e-9, "\(m)×\(n)×\(k) element \(i)")
                XCTAssertEqual(cT[i], expected[i], accuracy: 1e-9, "\(m)×\(n)×\(k) Bᵀ element \(i)")
            }
        }
    }

    func testSmallProductBlocksQualifyForTheSmallKernels() {
        for m in [1, 4, 8, 16, 32, 64] {
            for k in [6, 64, 134, 256, 1024] {
                for transB in [false, true] {
                    let block = Kernels.smallProductBlock(m: m, k: k, transB: transB)
                    if block == Int.max { continue }
                    XCTAssertEqual(block & (block - 1), 0, "block \(block) is a power of two")
                    XCTAssertGreaterThanOrEqual(block, 16)
                    XCTAssertLessThanOrEqual(m * block * k, 1_000_000, "m \(m) k \(k)")
                    if transB { XCTAssertLessThanOrEqual(m * block, 1200, "m \(m) k \(k) Bᵀ") }
                }
            }
        }
        XCTAssertEqual(Kernels.smallProductBlock(m: 16, k: 1024, transB: false), 32)
        XCTAssertEqual(Kernels.smallProductBlock(m: 16, k: 134, transB: true), 64)
        XCTAssertEqual(Kernels.smallProductBlock(m: 64, k: 1024, transB: false), Int.max)
    }

    func testTransposeWritesIntoAStridedDestination() {
        let a: [Double] = [1, 2, 3, 4, 5, 6]  // 2×3
        var b = [Double](repeating: 0, count: 3 * 4)
        Kernels.transpose(rows: 2, columns: 3, a, into: &b[1], destinationStride: 4)
        XCTAssertEqual(b, [0, 1, 4, 0, 0, 2, 5, 0, 0, 3, 6, 0])
    }

    func testNormSurvivesHugeValues() {
        let x: [Float] = [3e30, 4e30]
        XCTAssertEqual(Kernels.norm(x, count: 2), 5e30, accuracy: 1e24)
    }
}
