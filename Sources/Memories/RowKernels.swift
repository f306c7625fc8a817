import DNCNumerics

/// Reductions over short contiguous rows (N ≤ a few hundred, W ≈ 16–64), the pieces of the
/// per-sample memory loops that the compiler cannot vectorise by itself (a floating-point sum
/// is not reassociated). `Float` takes an explicit `SIMD4` path with independent accumulators;
/// other types (`Double`: gradient checks and fixtures) a plain sequential loop.
///
/// Element-wise updates are plain pointer loops in the callers, which vectorise as they are,
/// except for the hottest row loops (link rows, erase-and-add), which have `SIMD4` Float paths
/// next to them.
enum RowKernels {
    /// Σ a[j]·b[j].
    @inline(__always)
    static func dot<T: Real>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, count n: Int) -> T {
        if T.self == Float.self {
            return unsafeBitCast(floatDot(UnsafeRawPointer(a), UnsafeRawPointer(b), n), to: T.self)
        }
        var s: T = 0
        for j in 0..<n { s += a[j] * b[j] }
        return s
    }

    /// Σ a[j]².
    @inline(__always)
    static func sumOfSquares<T: Real>(_ a: UnsafePointer<T>, count n: Int) -> T {
        dot(a, a, count: n)
    }

    /// Σ a[j]·(b[j] − c[j]) (the difference is taken first, so no cancellation between two sums).
    @inline(__always)
    static func dotDifference<T: Real>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafePointer<T>,
                                       count n: Int) -> T {
        var s: T = 0
        for j in 0..<n { s += a[j] * (b[j] - c[j]) }
        return s
    }

    // MARK: Float

    typealias V = SIMD4<Float>

    @inline(__always)
    static func load(_ p: UnsafeRawPointer, _ j: Int) -> V {
        p.loadUnaligned(fromByteOffset: j &* 4, as: V.self)
    }

    @inline(__always)
    static func floatDot(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Float {
        var s0 = V(), s1 = V(), j = 0
        while j &+ 8 <= n {
            s0 += load(a, j) * load(b, j)
            s1 += load(a, j &+ 4) * load(b, j &+ 4)
            j &+= 8
        }
        if j &+ 4 <= n { s0 += load(a, j) * load(b, j); j &+= 4 }
        var s = (s0 + s1).sum()
        let fa = a.assumingMemoryBound(to: Float.self), fb = b.assumingMemoryBound(to: Float.self)
        while j < n { s += fa[j] * fb[j]; j &+= 1 }
        return s
    }
}
