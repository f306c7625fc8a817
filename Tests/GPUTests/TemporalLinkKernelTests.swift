import XCTest
import CGPUKernels
import DNCNumerics
@testable import DNCMemories

/// kernels/temporal_link.cu, run by the CPU emulation of its launches, equals the CPU link and
/// precedence updates (TemporalLinkage) for a batch, with blocks smaller and larger than a row.
final class TemporalLinkKernelTests: XCTestCase {
    let shapes = [(batch: 3, cells: 5), (batch: 2, cells: 33), (batch: 1, cells: 1), (batch: 2, cells: 130)]

    /// Link and precedence after one step from random ones: the CPU's, then the emulated kernels'.
    func compare<T: EmulatedKernelReal>(_: T.Type, tolerance: T, threads: [Int], seed: UInt64) {
        for (index, shape) in shapes.enumerated() {
            let (b, n) = shape
            var generator = SplitMix(seed: seed + UInt64(index))
            // Write weights sum to at most 1, as a softmax-gated weighting does.
            let link: [T] = generator.values(b * n * n, as: T.self)
            let writeWeights: [T] = generator.values(b * n, as: T.self).map { $0 / T(n) }
            let precedence: [T] = generator.values(b * n, as: T.self).map { $0 / T(n) }
            var expectedLink = link, expectedPrecedence = precedence
            for s in 0..<b {
                expectedLink.withUnsafeMutableBufferPointer { l in writeWeights.withUnsafeBufferPointer { w in
                    expectedPrecedence.withUnsafeMutableBufferPointer { p in
                        TemporalLinkage.linkForward(link: l.baseAddress! + s * n * n, writeWeights: w.baseAddress! + s * n,
                                                    precedence: p.baseAddress! + s * n, cells: n)
                        TemporalLinkage.precedenceForward(precedence: p.baseAddress! + s * n, writeWeights: w.baseAddress! + s * n, cells: n)
                    }
                }}
            }
            for t in threads {
                var gotLink = link, gotPrecedence = precedence
                let linkStatus = T.linkUpdate(&gotLink, writeWeights, precedence, batch: b, cells: n, threads: t)
                let precedenceStatus = T.precedenceUpdate(&gotPrecedence, writeWeights, batch: b, cells: n, threads: t)
                XCTAssertEqual(linkStatus, 0)
                XCTAssertEqual(precedenceStatus, 0)
                assertClose(gotLink, expectedLink, tolerance, "link \(shape) \(t) threads")
                assertClose(gotPrecedence, expectedPrecedence, tolerance, "precedence \(shape) \(t) threads")
                XCTAssertTrue((0..<b * n).allSatisfy { gotLink[($0 / n) * n * n + ($0 % n) * n + $0 % n] == 0 }, "zero diagonal")
            }
        }
    }

    func testDoubleEqualsTheCPULinkUpdate() { compare(Double.self, tolerance: 1e-9, threads: [1, 8, 64], seed: 1) }
    func testFloatEqualsTheCPULinkUpdate() { compare(Float.self, tolerance: 1e-4, threads: [1, 32, 256], seed: 50) }

    func testBadLaunchesAreRefused() {
        var p = [Double](repeating: 0, count: 2)
        XCTAssertEqual(dnc_emulated_precedence_update_f64(&p, [0.1, 0.2], 1, 2, 6), -1, "6 threads: not a power of two")
        XCTAssertEqual(dnc_emulated_link_update_f64(&p, [0.1, 0.2], [0, 0], 1, 0, 4), -1, "no cells")
    }
}
