/// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
///
/// Every draw is a pure function of (seed, stream, index): sample `i` of step `s` is the same
/// whichever process computes it and whatever was drawn before, so data-parallel ranks can
/// generate exactly their share of a global batch.
public struct CounterRandom: Sendable, Hashable {
    public let seed: UInt64

    public init(seed: UInt64) { self.seed = seed }

    /// The raw Philox4x32-10 block for a 128-bit counter and 64-bit key.
    @inlinable
    public static func philox(counter: (UInt32, UInt32, UInt32, UInt32), key: (UInt32, UInt32))
        -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            if round > 0 {
                k0 &+= 0x9E37_79B9
                k1 &+= 0xBB67_AE85
            }
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
        }
        return (c0, c1, c2, c3)
    }

    /// 128 random bits for block `block` of `stream`.
    @inlinable
    public func block(stream: UInt64, block: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        Self.philox(counter: (UInt32(truncatingIfNeeded: block), UInt32(truncatingIfNeeded: block >> 32),
                              UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
                    key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
    }

    /// Draw `index` of `stream` as 64 uniformly random bits (two draws share one Philox block).
    @inlinable
    public func bits(stream: UInt64, index: UInt64) -> UInt64 {
        let b = block(stream: stream, block: index >> 1)
        return (index & 1) == 0 ? UInt64(b.0) << 32 | UInt64(b.1) : UInt64(b.2) << 32 | UInt64(b.3)
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable
    public func uniform(stream: UInt64, index: UInt64) -> Double {
        Double(bits(stream: stream, index: index) >> 11) * 0x1.0p-53
    }

    /// Uniform in [low, high), computed in Double then rounded, so it is the same value (up to
    /// rounding) whether the caller trains in Float or checks in Double.
    @inlinable
    public func uniform<T: Real>(_: T.Type = T.self, stream: UInt64, index: UInt64, low: T, high: T) -> T {
        T(Double(low) + (Double(high) - Double(low)) * uniform(stream: stream, index: index))
    }

    /// Standard normal (Box–Muller over draws 2·index and 2·index+1).
    @inlinable
    public func normal(stream: UInt64, index: UInt64) -> Double {
        let u1 = 1 - uniform(stream: stream, index: 2 &* index)      // (0, 1]
        let u2 = uniform(stream: stream, index: 2 &* index &+ 1)
        return (-2 * Double.exactLog(u1)).squareRoot() * cosine(2 * Double.pi * u2)
    }

    /// A Bernoulli draw that is true with probability `p`.
    @inlinable
    public func bernoulli(stream: UInt64, index: UInt64, probability p: Double) -> Bool {
        uniform(stream: stream, index: index) < p
    }

    /// An integer in 0..<upperBound, unbiased (Lemire's multiply-shift with rejection; the
    /// rejection draws move to further indices of a dedicated sub-sequence so the result is
    /// still a pure function of (seed, stream, index)).
    @inlinable
    public func integer(below upperBound: Int, stream: UInt64, index: UInt64) -> Int {
        precondition(upperBound > 0, "upper bound must be positive, got \(upperBound)")
        let bound = UInt64(upperBound)
        var attempt: UInt64 = 0
        while true {
            let x = attempt == 0 ? bits(stream: stream, index: index)
                                 : bits(stream: stream ^ 0x5bd1_e995_0000_0000, index: index &* 64 &+ attempt)
            let (high, low) = x.multipliedFullWidth(by: bound)
            let threshold = (0 &- bound) % bound
            if low >= threshold { return Int(high) }
            attempt += 1
        }
    }

    /// A sequential generator over one stream, for APIs that want `RandomNumberGenerator`.
    public func sequence(stream: UInt64, startingAt index: UInt64 = 0) -> RandomSequence {
        RandomSequence(source: self, stream: stream, position: index)
    }
}

@usableFromInline
func cosine(_ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.cos(x)
    #else
    return Foundation.cos(x)
    #endif
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// Sequential view of one stream of a `CounterRandom`; its whole state is (seed, stream,
/// position), which is what a checkpoint stores to continue the same sequence.
public struct RandomSequence: RandomNumberGenerator, Sendable, Hashable {
    public let source: CounterRandom
    public let stream: UInt64
    public private(set) var position: UInt64

    public init(source: CounterRandom, stream: UInt64, position: UInt64) {
        self.source = source
        self.stream = stream
        self.position = position
    }

    public mutating func next() -> UInt64 {
        defer { position &+= 1 }
        return source.bits(stream: stream, index: position)
    }

    public mutating func nextUniform() -> Double {
        defer { position &+= 1 }
        return source.uniform(stream: stream, index: position)
    }
}
