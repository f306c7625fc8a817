/// Colour maps from a value in [0, 1] to a colour, by linear interpolation between evenly
/// spaced anchor colours.
public struct ColourMap: Sendable {
    public let name: String
    public let anchors: [RGB]

    public init(name: String, anchors: [RGB]) {
        precondition(anchors.count >= 2, "a colour map needs at least two anchors")
        self.name = name
        self.anchors = anchors
    }

    /// Viridis (perceptually uniform, readable in grey and by colour-blind readers), through
    /// its ten evenly spaced reference colours, from dark purple (0) to yellow (1).
    public static let viridis = ColourMap(name: "viridis", anchors: [
        0x440154, 0x482878, 0x3E4989, 0x31688E, 0x26828E, 0x1F9E89, 0x35B779, 0x6DCD59, 0xB4DE2C, 0xFDE725,
    ].map { RGB(hex: $0) })

    /// The colour of `fraction` (clamped to [0, 1]); NaN gives `RGB.missing`.
    public func colour(_ fraction: Double) -> RGB {
        guard !fraction.isNaN else { return .missing }
        let position = min(max(fraction, 0), 1) * Double(anchors.count - 1)
        let lower = min(Int(position.rounded(.down)), anchors.count - 2)
        let t = position - Double(lower)
        let a = anchors[lower], b = anchors[lower + 1]
        func mix(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8((Double(x) + (Double(y) - Double(x)) * t).rounded()) }
        return RGB(mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b))
    }

    /// The colour of `value` on the scale `low…high` (a constant scale maps to the middle).
    public func colour(_ value: Double, low: Double, high: Double) -> RGB {
        guard value.isFinite else { return .missing }
        guard high > low else { return colour(0.5) }
        return colour((value - low) / (high - low))
    }

    /// A precomputed table of `count` colours, for fast lookups.
    public func table(_ count: Int = 256) -> [RGB] {
        (0..<count).map { colour(Double($0) / Double(count - 1)) }
    }
}
