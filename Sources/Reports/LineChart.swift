/// A line chart: one or more series of (x, y) points against a shared x axis (training curves
/// against the step, generalisation against the sequence length). `LineChartRenderer` draws it.
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// When above 1: the raw points are drawn faintly and a centred moving mean over this
        /// many points (finite values only) on top.
        public var smoothing: Int
        public init(name: String, points: [(x: Double, y: Double)], smoothing: Int = 1) {
            self.name = name
            self.points = points
            self.smoothing = smoothing
        }

        /// The centred moving mean over `smoothing` points (the points themselves when ≤ 1).
        public var smoothed: [(x: Double, y: Double)] {
            guard smoothing > 1 else { return points }
            let half = smoothing / 2
            return points.indices.map { i in
                let window = points[max(0, i - half)...min(points.count - 1, i + half)].map(\.y).filter(\.isFinite)
                return (points[i].x, window.isEmpty ? .nan : window.reduce(0, +) / Double(window.count))
            }
        }
    }

    public enum YScale: Sendable { case linear, logarithmic, automatic }

    public var title: String
    public var notes: [String]
    public var xLabel: String
    public var series: [Series]
    public var yScale: YScale
    public var width: Int
    public var height: Int

    public init(title: String, notes: [String] = [], xLabel: String, series: [Series], yScale: YScale = .automatic,
                width: Int = 520, height: Int = 320) {
        self.title = title
        self.notes = notes
        self.xLabel = xLabel
        self.series = series
        self.yScale = yScale
        self.width = width
        self.height = height
    }

    /// Distinct colours for series, in order.
    public static let palette: [RGB] = [0x2B6CB0, 0xDD6B20, 0x2F855A, 0xC53030, 0x6B46C1, 0x975A16, 0xD53F8C, 0x4A5568]
        .map { RGB(hex: $0) }

    /// Whether the y axis is logarithmic: asked for, or automatic with all values positive
    /// and spanning at least a factor of 30.
    public var usesLogarithmicY: Bool {
        switch yScale {
        case .linear: return false
        case .logarithmic: return finiteYs.allSatisfy { $0 > 0 } && !finiteYs.isEmpty
        case .automatic:
            let ys = finiteYs
            guard let low = ys.min(), let high = ys.max(), low > 0 else { return false }
            return high / low >= 30
        }
    }

    var finiteYs: [Double] { series.flatMap { $0.points.map(\.y) }.filter(\.isFinite) }
}
