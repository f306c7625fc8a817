import XCTest
@testable import DNCNumerics

final class CounterRandomTests: XCTestCase {
    /// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
    func testPhiloxKnownAnswers() {
        let zero = CounterRandom.philox(counter: (0, 0, 0, 0), key: (0, 0))
        XCTAssertEqual([zero.0, zero.1, zero.2, zero.3], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = CounterRandom.philox(counter: (.max, .max, .max, .max), key: (.max, .max))
        XCTAssertEqual([ones.0, ones.1, ones.2, ones.3], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = CounterRandom.philox(counter: (0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344),
                                      key: (0xa409_3822, 0x299f_31d0))
        XCTAssertEqual([pi.0, pi.1, pi.2, pi.3], [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    func testSameKeySameValueWhateverTheOrder() {
        let a = CounterRandom(seed: 42), b = CounterRandom(seed: 42)
        let forward = (0..<1000).map { a.uniform(stream: 3, index: UInt64($0)) }
        let backward = (0..<1000).reversed().map { b.uniform(stream: 3, index: UInt64($0)) }.reversed()
        XCTAssertEqual(forward, Array(backward))
        // Index 123_456_789 without drawing anything before it.
        XCTAssertEqual(a.bits(stream: 9, index: 123_456_789), b.bits(stream: 9, index: 123_456_789))
        var sequence = a.sequence(stream: 3, startingAt: 500)
        XCTAssertEqual(sequence.nextUniform(), forward[500])
    }

    func testStreamsAndSeedsAreIndependent() {
        let random = CounterRandom(seed: 7)
        let n = 20_000
        let s0 = (0..<n).map { random.uniform(stream: 0, index: UInt64($0)) }
        let s1 = (0..<n).map { random.uniform(stream: 1, index: UInt64($0)) }
        let other = (0..<n).map { CounterRandom(seed: 8).uniform(stream: 0, index: UInt64($0)) }
        XCTAssertNotEqual(s0, s1)
        XCTAssertNotEqual(s0, other)
        // Correlation of independent uniforms is ~N(0, 1/n): |r| < 5/√n fails by chance < 1e-6.
        func correlation(_ x: [Double], _ y: [Double]) -> Double {
            let m = x.count
            let mx = x.reduce(0, +) / Double(m), my = y.reduce(0, +) / Double(m)
            var sxy = 0.0, sxx = 0.0, syy = 0.0
            for i in 0..<m { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) * (x[i] - mx); syy += (y[i] - my) * (y[i] - my) }
            return sxy / (sxx * syy).squareRoot()
        }
        XCTAssertLessThan(abs(correlation(s0, s1)), 5 / Double(n).squareRoot())
        XCTAssertLessThan(abs(correlation(s0, other)), 5 / Double(n).squareRoot())
        XCTAssertLessThan(abs(correlation(Array(s0.dropFirst()), Array(s0.dropLast()))), 5 / Double(n).squareRoot())
    }

    func testDistributions() {
        let random = CounterRandom(seed: 1)
        let n = 100_000
        let u = (0..<n).map { random.uniform(stream: 0, index: UInt64($0)) }
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
        XCTAssertEqual(u.reduce(0, +) / Double(n), 0.5, accuracy: 0.005)
        let z = (0..<n).map { random.normal(stream: 1, index: UInt64($0)) }
        let mean = z.reduce(0, +) / Double(n)
        let variance = z.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        XCTAssertEqual(mean, 0, accuracy: 0.02)
        XCTAssertEqual(variance, 1, accuracy: 0.02)
        var counts = [Int](repeating: 0, count: 7)
        for i in 0..<70_000 { counts[random.integer(below: 7, stream: 2, index: UInt64(i))] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 500) }
    }
}
