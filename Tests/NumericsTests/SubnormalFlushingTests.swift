import XCTest
@testable import DNCNumerics

/// `SubnormalFlushing`: on, a product that would be subnormal is 0 and a subnormal operand counts
/// as 0; off, IEEE subnormals; the thread's mode is restored after each test.
final class SubnormalFlushingTests: XCTestCase {
    /// Through memory, so that the compiler cannot fold the arithmetic at build time.
    func multiply(_ a: Float, _ b: Float) -> Float {
        var values = [a, b]
        return values.withUnsafeMutableBufferPointer { $0[0] * $0[1] }
    }

    func testFlushingTurnsSubnormalResultsAndOperandsIntoZero() throws {
        #if !(canImport(Glibc) && (arch(x86_64) || arch(arm64)))
        throw XCTSkip("no flush-to-zero mode on this platform")
        #endif
        let before = SubnormalFlushing.set(false)
        defer { SubnormalFlushing.set(before) }
        XCTAssertFalse(SubnormalFlushing.isEnabled)
        let subnormal = multiply(1e-38, 1e-3)
        XCTAssertTrue(subnormal.isSubnormal, "IEEE: \(subnormal)")
        XCTAssertFalse(SubnormalFlushing.set(true), "returns the mode before")
        XCTAssertTrue(SubnormalFlushing.isEnabled)
        XCTAssertEqual(multiply(1e-38, 1e-3), 0, "a subnormal result is 0")
        XCTAssertEqual(multiply(subnormal, 1e10), 0, "a subnormal operand counts as 0")
        XCTAssertEqual(multiply(1e-30, 1e-3), 1e-33, accuracy: 1e-39, "normal numbers are untouched")
        XCTAssertTrue(SubnormalFlushing.set(false))
        XCTAssertTrue(multiply(1e-38, 1e-3).isSubnormal, "off again")
    }

    func testTheVariableTakesFlushOrKeep() {
        XCTAssertEqual(SubnormalFlushing.parse(nil), true)
        XCTAssertEqual(SubnormalFlushing.parse(""), true)
        XCTAssertEqual(SubnormalFlushing.parse(" Flush "), true)
        XCTAssertEqual(SubnormalFlushing.parse("keep"), false)
        XCTAssertNil(SubnormalFlushing.parse("ftz"))
    }
}
