/// Estimated widths of text in the figures' sans-serif font, for layout only: margins wide
/// enough for the tick labels, legends and titles broken into lines that fit. The browser sets
/// the real glyphs, so the estimate leans wide (DejaVu Sans, the widest of the fonts named in
/// `SVGDrawing.fontFamily`); alignment that must be exact uses `text-anchor` instead.
public enum TextMetrics {
    /// Advance widths in em, by DejaVu Sans rounded up.
    static func advance(_ character: Character) -> Double {
        switch character {
        case "i", "j", "l", ".", ",", ":", ";", "'", "|", "!", "I": return 0.32
        case " ", "f", "t", "r", "(", ")", "[", "]", "-": return 0.42
        case "m", "w", "M", "W", "%", "@", "→", "↓", "×", "—": return 0.98
        case "0"..."9": return 0.64
        case "A"..."Z": return 0.74
        default: return 0.64
        }
    }

    /// The estimated width of `text` at `size` pixels.
    public static func width(_ text: String, size: Double) -> Double {
        text.reduce(0) { $0 + advance($1) } * size
    }

    /// `text` broken at spaces into lines at most `width` wide (a word wider than that stands alone).
    public static func wrap(_ text: String, width: Double, size: Double) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: true).map(String.init) {
            let candidate = current.isEmpty ? word : current + " " + word
            if !current.isEmpty && Self.width(candidate, size: size) > width {
                lines.append(current)
                current = word
            } else {
                current = candidate
            }
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }
}
