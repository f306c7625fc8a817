/// What one heatmap figure shows: a title, notes (shapes, downsampling, selections), and one or
/// more panels sharing a colour scale. `HeatmapRenderer` draws it.
public struct HeatmapFigure: Sendable {
    /// One axis of a panel, in the indices of the tensor before any downsampling.
    public struct Axis: Sendable {
        /// The axis name as in the dataset's `axes` attribute ("time", "cell", "word").
        public var name: String
        /// Indices along the axis before downsampling (the matrix may have fewer rows/columns).
        public var count: Int
        /// Names of the indices (e.g. read modes), shown instead of numbers when they fit.
        public var names: [String]?

        public init(name: String, count: Int, names: [String]? = nil) {
            self.name = name
            self.count = count
            self.names = names
        }
    }

    public struct Panel: Sendable {
        public var title: String
        /// Rows run down the y axis, columns along the x axis.
        public var matrix: Matrix
        public var x: Axis
        public var y: Axis
        /// Pixels per matrix cell.
        public var cellWidth: Int
        public var cellHeight: Int

        public init(title: String, matrix: Matrix, x: Axis, y: Axis, cellWidth: Int, cellHeight: Int) {
            self.title = title
            self.matrix = matrix
            self.x = x
            self.y = y
            self.cellWidth = max(cellWidth, 1)
            self.cellHeight = max(cellHeight, 1)
        }
    }

    public var title: String
    public var notes: [String]
    public var panels: [Panel]
    /// The quantity the colours stand for, shown over the colour bar.
    public var scaleLabel: String
    /// The colour scale; nil: the finite minimum and maximum over all panels.
    public var range: (low: Double, high: Double)?
    public var colourMap: ColourMap
    /// Panels wrap onto new rows beyond this width (pixels).
    public var maxWidth: Int

    public init(title: String, notes: [String] = [], panels: [Panel], scaleLabel: String = "value",
                range: (low: Double, high: Double)? = nil, colourMap: ColourMap = .viridis, maxWidth: Int = 1180) {
        self.title = title
        self.notes = notes
        self.panels = panels
        self.scaleLabel = scaleLabel
        self.range = range
        self.colourMap = colourMap
        self.maxWidth = maxWidth
    }

    /// The colour scale used: `range`, or the finite extremes of the panels (0…1 when none).
    public var effectiveRange: (low: Double, high: Double) {
        if let range { return range }
        var low = Double.infinity, high = -Double.infinity
        for panel in panels {
            if let r = panel.matrix.finiteRange { low = min(low, r.low); high = max(high, r.high) }
        }
        return low <= high ? (low, high) : (0, 1)
    }
}
