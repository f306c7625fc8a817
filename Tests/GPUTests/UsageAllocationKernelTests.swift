import XCTest
import CGPUKernels
import DNCNumerics
@testable import DNCMemories

/// kernels/usage_allocation.cu, run by the CPU emulation of its launch, equals the CPU usage
/// update and sort-based allocation (Allocation.usageForward, .allocationForward): the same
/// free-list order (ties included), and retention, usage, sorted, prefix and allocation.
final class UsageAllocationKernelTests: XCTestCase {
    let shapes = [(batch: 3, cells: 6, heads: 2), (batch: 2, cells: 41, heads: 4), (batch: 1, cells: 1, heads: 1),
                  (batch: 2, cells: 100, heads: 1), (batch: 2, cells: 9, heads: 0)]

    struct Outputs<T: Real> {
        var retention, newUsage, sorted, prefix, allocation: [T]
        var order: [Int]
    }

    func reference<T: Real>(usage: [T], writeWeights: [T], readWeights: [T], freeGates: [T], batch b: Int, cells n: Int, heads r: Int) -> Outputs<T> {
        var out = Outputs<T>(retention: [T](repeating: 0, count: b * n), newUsage: [T](repeating: 0, count: b * n), sorted: [T](repeating: 0, count: b * n),
                             prefix: [T](repeating: 0, count: b * n), allocation: [T](repeating: 0, count: b * n), order: [Int](repeating: 0, count: b * n))
        var integerScratch = [Int](repeating: 0, count: n), scratch = [T](repeating: 0, count: n)
        for s in 0..<b {
            usage.withUnsafeBufferPointer { u in writeWeights.withUnsafeBufferPointer { w in readWeights.withUnsafeBufferPointer { wr in
                freeGates.withUnsafeBufferPointer { f in
                    out.retention.withUnsafeMutableBufferPointer { psi in out.newUsage.withUnsafeMutableBufferPointer { ut in
                        Allocation.usageForward(usage: u.baseAddress! + s * n, writeWeights: w.baseAddress! + s * n,
                                                readWeights: wr.baseAddress! + s * r * n, freeGates: f.baseAddress! + s * r,
                                                cells: n, readHeads: r, retention: psi.baseAddress! + s * n, newUsage: ut.baseAddress! + s * n)
                    }}
                }
            }}}
            let newUsage = Array(out.newUsage[s * n ..< (s + 1) * n])
            var order = [Int](repeating: 0, count: n), sorted = [T](repeating: 0, count: n), prefix = sorted, allocation = sorted
            Allocation.allocationForward(usage: newUsage, cells: n, givenOrder: nil, order: &order, sorted: &sorted, prefix: &prefix,
                                         allocation: &allocation, integerScratch: &integerScratch, scratch: &scratch)
            out.order.replaceSubrange(s * n ..< (s + 1) * n, with: order)
            out.sorted.replaceSubrange(s * n ..< (s + 1) * n, with: sorted)
            out.prefix.replaceSubrange(s * n ..< (s + 1) * n, with: prefix)
            out.allocation.replaceSubrange(s * n ..< (s + 1) * n, with: allocation)
        }
        return out
    }

    func compare<T: EmulatedKernelReal>(_: T.Type, tolerance: T, threads: [Int], seed: UInt64) {
        for (index, shape) in shapes.enumerated() {
            let (b, n, r) = shape
            var generator = SplitMix(seed: seed + UInt64(index))
            var usage: [T] = generator.values(b * n, as: T.self)
            var writeWeights: [T] = generator.values(b * n, as: T.self).map { $0 / T(n) }
            let readWeights: [T] = generator.values(b * r * n, as: T.self).map { $0 / T(n) }
            let freeGates: [T] = generator.values(b * r, as: T.self)
            // Unused cells (usage and write weight 0) tie at x = ε: the order breaks ties by index.
            for c in stride(from: 1, to: b * n, by: 3) { usage[c] = 0; writeWeights[c] = 0 }
            let expected = reference(usage: usage, writeWeights: writeWeights, readWeights: readWeights, freeGates: freeGates, batch: b, cells: n, heads: r)
            if n > 4 { XCTAssertTrue(Set(expected.sorted).count < expected.sorted.count, "the inputs have ties") }
            for t in threads {
                let nan = [T](repeating: .nan, count: b * n)
                var got = Outputs<T>(retention: nan, newUsage: nan, sorted: nan, prefix: nan, allocation: nan, order: [])
                var order = [Int32](repeating: -1, count: b * n)
                XCTAssertEqual(T.usageAllocation(usage: usage, writeWeights: writeWeights, readWeights: readWeights, freeGates: freeGates,
                                                 batch: b, cells: n, readHeads: r, threads: t, retention: &got.retention, newUsage: &got.newUsage,
                                                 order: &order, sorted: &got.sorted, prefix: &got.prefix, allocation: &got.allocation), 0)
                XCTAssertEqual(order.map(Int.init), expected.order, "order \(shape) \(t) threads")
                assertClose(got.retention, expected.retention, tolerance, "retention \(shape) \(t) threads")
                assertClose(got.newUsage, expected.newUsage, tolerance, "usage \(shape) \(t) threads")
                assertClose(got.sorted, expected.sorted, tolerance, "sorted \(shape) \(t) threads")
                assertClose(got.prefix, expected.prefix, tolerance, "prefix \(shape) \(t) threads")
                assertClose(got.allocation, expected.allocation, tolerance, "allocation \(shape) \(t) threads")
            }
        }
    }

    func testDoubleEqualsTheCPUUsageAndAllocation() { compare(Double.self, tolerance: 1e-9, threads: [1, 7, 64], seed: 3) }
    func testFloatEqualsTheCPUUsageAndAllocation() { compare(Float.self, tolerance: 1e-4, threads: [1, 32, 128], seed: 70) }
}
