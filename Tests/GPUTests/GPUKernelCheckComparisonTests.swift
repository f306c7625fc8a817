import XCTest
import DNCGPU

/// The comparisons behind `dnc-dist gpu-check` and GPUKernelTests, on any machine: they must fail
/// on a difference past the tolerance, on NaN left (an element the kernel never wrote), on a
/// length mismatch and on a different free-list order.
final class GPUKernelCheckComparisonTests: XCTestCase {
    func testCloseOutputsPass() {
        let check = GPUKernelChecks.compare("x", got: [1.0, 2.0], expected: [1.0, 2.0 + 1e-13], tolerance: 1e-12)
        XCTAssertTrue(check.passed, check.line)
        XCTAssertTrue(check.line.hasPrefix("PASS x: max |difference| "), check.line)
    }

    func testADifferencePastTheToleranceFails() {
        let check = GPUKernelChecks.compare("x", got: [Float(1), 2], expected: [1, 2.001], tolerance: 1e-5)
        XCTAssertFalse(check.passed)
        XCTAssertTrue(check.line.hasPrefix("FAIL x: max |difference| ") && check.line.hasSuffix("> 1e-05"), check.line)
    }

    func testNaNLeftFails() {
        let check = GPUKernelChecks.compare("x", got: [1.0, .nan], expected: [1.0, .nan], tolerance: 1)
        XCTAssertFalse(check.passed)
        XCTAssertEqual(check.line, "FAIL x: NaN left at element 1 (never written?)")
    }

    func testLengthsMustAgree() {
        XCTAssertFalse(GPUKernelChecks.compare("x", got: [1.0], expected: [1.0, 2.0], tolerance: 1).passed)
        XCTAssertFalse(GPUKernelChecks.compareExactly("o", got: [0, 1], expected: [0]).passed)
    }

    func testTheOrderMustBeExact() {
        XCTAssertTrue(GPUKernelChecks.compareExactly("o", got: [2, 0, 1], expected: [2, 0, 1]).passed)
        let check = GPUKernelChecks.compareExactly("o", got: [2, 1, 0], expected: [2, 0, 1])
        XCTAssertEqual(check.line, "FAIL o: 2 of 3 elements differ, the first at 1: 1 vs 0")
    }

    /// The inputs are the same on every machine (a failure on a GPU can be replayed anywhere).
    func testTheGeneratorIsSplitMix64() {
        var generator = SplitMix(seed: 0)
        // SplitMix64's first output from seed 0 (Vigna's reference implementation).
        XCTAssertEqual(generator.next(), 0xe220_a839_7b1d_cdaf)
    }
}
