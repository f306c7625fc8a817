import XCTest
import CGPUKernels
import DNCNumerics
@testable import DNCMemories

/// kernels/content_addressing.cu, run by the CPU emulation of its launch, equals the CPU content
/// addressing (Sources/Memories/ContentAddressing.swift) for a batch of memories and keys, in both
/// cosine styles, with blocks smaller and larger than the number of rows.
final class ContentAddressingKernelTests: XCTestCase {
    struct Case { let batch, cells, width, heads: Int }
    let cases = [Case(batch: 3, cells: 7, width: 5, heads: 2), Case(batch: 2, cells: 37, width: 9, heads: 4),
                 Case(batch: 1, cells: 1, width: 3, heads: 1), Case(batch: 2, cells: 130, width: 16, heads: 3)]

    /// The CPU reference, one sample at a time (cosine, weights: B×H×N).
    func reference<T: Real>(memory: [T], keys: [T], strengths: [T], _ c: Case, style: MemoryOptions.CosineStyle) -> (cosine: [T], weights: [T]) {
        var cosine = [T](repeating: 0, count: c.batch * c.heads * c.cells), weights = cosine
        var memoryNorms = [T](repeating: 0, count: c.cells), keyNorms = [T](repeating: 0, count: c.heads)
        for b in 0..<c.batch {
            memory.withUnsafeBufferPointer { m in keys.withUnsafeBufferPointer { k in strengths.withUnsafeBufferPointer { s in
                cosine.withUnsafeMutableBufferPointer { cos in weights.withUnsafeMutableBufferPointer { w in
                    let sampleMemory = m.baseAddress! + b * c.cells * c.width, sampleKeys = k.baseAddress! + b * c.heads * c.width
                    ContentAddressing.norms(sampleMemory, rows: c.cells, width: c.width, style: style, out: &memoryNorms)
                    ContentAddressing.norms(sampleKeys, rows: c.heads, width: c.width, style: style, out: &keyNorms)
                    ContentAddressing.forward(memory: sampleMemory, memoryNorms: memoryNorms, keys: sampleKeys, keyNorms: keyNorms,
                                              strengths: s.baseAddress! + b * c.heads, cells: c.cells, width: c.width, keyCount: c.heads,
                                              cosine: cos.baseAddress! + b * c.heads * c.cells, weights: w.baseAddress! + b * c.heads * c.cells)
                }}
            }}}
        }
        return (cosine, weights)
    }

    func inputs<T: Real>(_ c: Case, seed: UInt64, as: T.Type) -> (memory: [T], keys: [T], strengths: [T]) {
        var generator = SplitMix(seed: seed)
        let memory = (0..<c.batch * c.cells * c.width).map { _ in T(generator.uniform() * 2 - 1) }
        var keys = (0..<c.batch * c.heads * c.width).map { _ in T(generator.uniform() * 2 - 1) }
        // A zero key and (below) a zero row: the norms' edge, where the styles differ.
        for j in 0..<c.width { keys[j] = 0 }
        let strengths = (0..<c.batch * c.heads).map { _ in T(1 + 9 * generator.uniform()) }
        var zeroed = memory
        if c.cells > 2 { for j in 0..<c.width { zeroed[2 * c.width + j] = 0 } }
        return (zeroed, keys, strengths)
    }

    func testDoubleEqualsTheCPUContentAddressing() {
        for (index, c) in cases.enumerated() {
            let (memory, keys, strengths) = inputs(c, seed: UInt64(index + 1), as: Double.self)
            for style in [MemoryOptions.CosineStyle.pytorchDNC, .deepMind] {
                let expected = reference(memory: memory, keys: keys, strengths: strengths, c, style: style)
                let shift = style == .deepMind ? 1e-6 : 0
                for threads in [1, 4, 32, 128] {
                    var cosine = [Double](repeating: .nan, count: expected.cosine.count), weights = cosine
                    XCTAssertEqual(dnc_emulated_content_addressing_forward_f64(memory, keys, strengths, Int32(c.batch), Int32(c.cells), Int32(c.width),
                                                                               Int32(c.heads), shift, Int32(threads), &cosine, &weights), 0)
                    assertClose(cosine, expected.cosine, 1e-9, "cosine \(c) \(style) \(threads) threads")
                    assertClose(weights, expected.weights, 1e-9, "weights \(c) \(style) \(threads) threads")
                }
            }
        }
    }

    func testFloatEqualsTheCPUContentAddressing() {
        for (index, c) in cases.enumerated() {
            let (memory, keys, strengths) = inputs(c, seed: UInt64(100 + index), as: Float.self)
            for style in [MemoryOptions.CosineStyle.pytorchDNC, .deepMind] {
                let expected = reference(memory: memory, keys: keys, strengths: strengths, c, style: style)
                for threads in [1, 32, 64] {
                    var cosine = [Float](repeating: .nan, count: expected.cosine.count), weights = cosine
                    XCTAssertEqual(dnc_emulated_content_addressing_forward_f32(memory, keys, strengths, Int32(c.batch), Int32(c.cells), Int32(c.width),
                                                                               Int32(c.heads), style == .deepMind ? 1e-6 : 0, Int32(threads),
                                                                               &cosine, &weights), 0)
                    assertClose(cosine, expected.cosine, 1e-4, "cosine \(c) \(style) \(threads) threads")
                    assertClose(weights, expected.weights, 1e-4, "weights \(c) \(style) \(threads) threads")
                }
            }
        }
    }

    func testBadLaunchesAreRefused() {
        var out = [Double](repeating: 0, count: 4), out2 = out
        XCTAssertEqual(dnc_emulated_content_addressing_forward_f64([1, 2], [1, 2], [1], 1, 1, 2, 1, 0, 3, &out, &out2), -1, "3 threads: not a power of two")
        XCTAssertEqual(dnc_emulated_content_addressing_forward_f64([1, 2], [1, 2], [1], 1, 0, 2, 1, 0, 4, &out, &out2), -1, "no rows")
    }
}
