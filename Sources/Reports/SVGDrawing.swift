import Foundation

/// An SVG drawing built element by element: the report's figures, so that their words are
/// real text (selectable, searchable, crisp at any zoom) and their lines are vectors. Pixel
/// data (heatmap cells) goes in as embedded PNG `<image>`s.
///
/// The same drawing is written two ways: `inline`, an `<svg>` element for the HTML page (the
/// HTML parser gives it the SVG namespace, so the page names no URL), and `document`, a
/// standalone `.svg` file with its XML declaration and namespace.
public struct SVGDrawing: Sendable {
    public enum Anchor: String, Sendable { case start, middle, end }

    public let width: Int
    public let height: Int
    /// What the figure shows, for screen readers (`<title>`).
    public var title: String
    private(set) var elements: [String] = []

    public static let fontFamily = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif"

    public init(width: Int, height: Int, title: String) {
        self.width = width
        self.height = height
        self.title = title
    }

    /// One line of text; `y` is its baseline.
    public mutating func text(_ string: String, x: Double, y: Double, size: Double, colour: RGB = .text,
                              anchor: Anchor = .start, bold: Bool = false, role: String? = nil) {
        var attributes = "x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" font-size=\"\(Self.number(size))\" fill=\"\(colour)\""
        if anchor != .start { attributes += " text-anchor=\"\(anchor.rawValue)\"" }
        if bold { attributes += " font-weight=\"bold\"" }
        if let role { attributes += " class=\"\(Self.escape(role))\"" }
        elements.append("<text \(attributes)>\(Self.escape(string))</text>")
    }

    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, colour: RGB, width: Double = 1) {
        elements.append("<line x1=\"\(Self.number(x0))\" y1=\"\(Self.number(y0))\" x2=\"\(Self.number(x1))\" y2=\"\(Self.number(y1))\" "
                        + "stroke=\"\(colour)\" stroke-width=\"\(Self.number(width))\"/>")
    }

    /// A rectangle, filled and/or outlined.
    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: RGB? = nil, stroke: RGB? = nil) {
        elements.append("<rect x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" width=\"\(Self.number(width))\" "
                        + "height=\"\(Self.number(height))\" fill=\"\(fill.map(\.description) ?? "none")\""
                        + (stroke.map { " stroke=\"\($0)\" stroke-width=\"1\"" } ?? "") + "/>")
    }

    /// A connected line through `points` (at least two).
    public mutating func polyline(_ points: [(x: Double, y: Double)], colour: RGB, width: Double, opacity: Double = 1) {
        guard points.count >= 2 else { return }
        let list = points.map { "\(Self.number($0.x)),\(Self.number($0.y))" }.joined(separator: " ")
        elements.append("<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"\(Self.number(width))\" "
                        + "stroke-linejoin=\"round\" stroke-linecap=\"round\""
                        + (opacity < 1 ? " stroke-opacity=\"\(Self.number(opacity))\"" : "") + "/>")
    }

    public mutating func circle(x: Double, y: Double, radius: Double, fill: RGB) {
        elements.append("<circle cx=\"\(Self.number(x))\" cy=\"\(Self.number(y))\" r=\"\(Self.number(radius))\" fill=\"\(fill)\"/>")
    }

    /// A raster image at its own pixel size, as a PNG `data:` URI (so the figure stays one file).
    public mutating func image(_ image: RGBImage, x: Double, y: Double, role: String? = nil) {
        let png = PNGEncoder.encode(image)
        elements.append("<image x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" width=\"\(image.width)\" height=\"\(image.height)\" "
                        + "preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\""
                        + (role.map { " class=\"\(Self.escape($0))\"" } ?? "")
                        + " href=\"data:image/png;base64,\(Data(png).base64EncodedString())\"/>")
    }

    /// The `<svg>` element for an HTML page.
    public var inline: String { element(namespace: false) }

    /// A standalone SVG file.
    public var document: String { "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element(namespace: true) + "\n" }

    private func element(namespace: Bool) -> String {
        var root = "<svg"
        if namespace { root += " xmlns=\"http://www.w3.org/2000/svg\"" }
        root += " width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" role=\"img\""
            + " font-family=\"\(Self.escape(Self.fontFamily))\">"
        return root + "\n<title>\(Self.escape(title))</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
            + elements.joined(separator: "\n") + "\n</svg>"
    }

    /// Coordinates to at most two decimals, without a trailing ".0" (smaller files, stable text).
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(format: "%.2f", rounded).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
    }

    /// Text escaped for XML content and attribute values (the same rules serve HTML), with the
    /// control characters XML 1.0 forbids replaced by '?' so that any key still gives a
    /// well-formed file.
    static func escape(_ text: String) -> String {
        let allowed = String(String.UnicodeScalarView(text.unicodeScalars.map {
            $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" ? "?" : $0
        }))
        return HTMLPage.escape(allowed)
    }
}
