/// One figure of a report: its SVG drawing and where it belongs (training curve,
/// generalisation curve, or a debug tensor of one rank, step and layer).
public struct ReportFigure: Sendable {
    public enum Kind: String, Sendable { case training, generalisation, debug }

    /// File-name-safe identifier, also the figure file's name without extension
    /// (`training-loss`, `generalisation-masked_bit_accuracy`, `rank0-step00000100-layer0-memory`).
    public let id: String
    public let kind: Kind
    /// The metric or debug key.
    public let key: String
    public let title: String
    public let rank: Int?
    public let step: Int?
    public let layer: Int?
    /// The caption under the figure on the page (the title when nil).
    public let caption: String?
    public let drawing: SVGDrawing

    public init(id: String, kind: Kind, key: String, title: String, rank: Int? = nil, step: Int? = nil, layer: Int? = nil,
                caption: String? = nil, drawing: SVGDrawing) {
        self.id = id
        self.kind = kind
        self.key = key
        self.title = title
        self.rank = rank
        self.step = step
        self.layer = layer
        self.caption = caption
        var titled = drawing
        titled.title = title
        self.drawing = titled
    }

    public var width: Int { drawing.width }
    public var height: Int { drawing.height }
    public var fileName: String { id + ".svg" }

    /// The `<figure>` element: the drawing inline and the caption; `data-*` attributes name what
    /// it shows. The page holds exactly this text, so that `dnc-dist serve` can swap one figure.
    public func html() -> String {
        var attributes = "id=\"fig-\(HTMLPage.escape(id))\" data-figure=\"\(kind.rawValue)\" data-key=\"\(HTMLPage.escape(key))\""
        if let rank { attributes += " data-rank=\"\(rank)\"" }
        if let step { attributes += " data-step=\"\(step)\"" }
        if let layer { attributes += " data-layer=\"\(layer)\"" }
        return "<figure \(attributes)>\n\(drawing.inline)\n"
            + "<figcaption>\(HTMLPage.escape(caption ?? title)) · <code>\(HTMLPage.escape(fileName))</code></figcaption></figure>"
    }
}
