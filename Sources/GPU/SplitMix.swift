/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA
/// 2014): the reproducible inputs of the kernel checks, the same on every machine, so that a
/// check that fails on a GPU can be replayed through the CPU emulation anywhere.
public struct SplitMix: Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// `count` values uniform in `range`.
    public mutating func doubles(_ count: Int, in range: ClosedRange<Double> = 0...1) -> [Double] {
        (0..<count).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * uniform() }
    }
}
