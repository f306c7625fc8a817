import XCTest
import CGPUKernels
import DNCNumerics
import DNCGPU

/// The kernel checks' generator (DNCGPU.SplitMix), for inputs of either precision.
typealias SplitMix = DNCGPU.SplitMix

extension SplitMix {
    mutating func values<T: Real>(_ count: Int, in range: ClosedRange<Double> = 0...1, as: T.Type) -> [T] {
        doubles(count, in: range).map { T($0) }
    }
}

/// Fails unless every element is within `tolerance` of the reference and none is NaN (the
/// outputs start as NaN, so an element the kernel never wrote fails).
func assertClose<T: Real>(_ a: [T], _ b: [T], _ tolerance: T, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    XCTAssertTrue(worst <= tolerance, "\(what): max |difference| \(worst) > \(tolerance)", file: file, line: line)
    XCTAssertFalse(a.contains { $0.isNaN }, "\(what): NaN left", file: file, line: line)
}

/// The emulated launches of the kernels for one element type, so that a test is written once
/// for Float and Double (the C functions have a name per precision).
protocol EmulatedKernelReal: Real {
    static func linkUpdate(_ link: inout [Self], _ writeWeights: [Self], _ precedence: [Self], batch: Int, cells: Int, threads: Int) -> Int32
    static func precedenceUpdate(_ precedence: inout [Self], _ writeWeights: [Self], batch: Int, cells: Int, threads: Int) -> Int32
    static func usageAllocation(usage: [Self], writeWeights: [Self], readWeights: [Self], freeGates: [Self], batch: Int, cells: Int,
                                readHeads: Int, threads: Int, retention: inout [Self], newUsage: inout [Self], order: inout [Int32],
                                sorted: inout [Self], prefix: inout [Self], allocation: inout [Self]) -> Int32
}

extension Double: EmulatedKernelReal {
    static func linkUpdate(_ link: inout [Double], _ writeWeights: [Double], _ precedence: [Double], batch: Int, cells: Int, threads: Int) -> Int32 {
        dnc_emulated_link_update_f64(&link, writeWeights, precedence, Int32(batch), Int32(cells), Int32(threads))
    }
    static func precedenceUpdate(_ precedence: inout [Double], _ writeWeights: [Double], batch: Int, cells: Int, threads: Int) -> Int32 {
        dnc_emulated_precedence_update_f64(&precedence, writeWeights, Int32(batch), Int32(cells), Int32(threads))
    }
    static func usageAllocation(usage: [Double], writeWeights: [Double], readWeights: [Double], freeGates: [Double], batch: Int, cells: Int,
                                readHeads: Int, threads: Int, retention: inout [Double], newUsage: inout [Double], order: inout [Int32],
                                sorted: inout [Double], prefix: inout [Double], allocation: inout [Double]) -> Int32 {
        dnc_emulated_usage_allocation_f64(usage, writeWeights, readWeights, freeGates, Int32(batch), Int32(cells), Int32(readHeads), Int32(threads),
                                          &retention, &newUsage, &order, &sorted, &prefix, &allocation)
    }
}

extension Float: EmulatedKernelReal {
    static func linkUpdate(_ link: inout [Float], _ writeWeights: [Float], _ precedence: [Float], batch: Int, cells: Int, threads: Int) -> Int32 {
        dnc_emulated_link_update_f32(&link, writeWeights, precedence, Int32(batch), Int32(cells), Int32(threads))
    }
    static func precedenceUpdate(_ precedence: inout [Float], _ writeWeights: [Float], batch: Int, cells: Int, threads: Int) -> Int32 {
        dnc_emulated_precedence_update_f32(&precedence, writeWeights, Int32(batch), Int32(cells), Int32(threads))
    }
    static func usageAllocation(usage: [Float], writeWeights: [Float], readWeights: [Float], freeGates: [Float], batch: Int, cells: Int,
                                readHeads: Int, threads: Int, retention: inout [Float], newUsage: inout [Float], order: inout [Int32],
                                sorted: inout [Float], prefix: inout [Float], allocation: inout [Float]) -> Int32 {
        dnc_emulated_usage_allocation_f32(usage, writeWeights, readWeights, freeGates, Int32(batch), Int32(cells), Int32(readHeads), Int32(threads),
                                          &retention, &newUsage, &order, &sorted, &prefix, &allocation)
    }
}
