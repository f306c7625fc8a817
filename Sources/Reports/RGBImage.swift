/// An 8-bit RGB colour.
public struct RGB: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    /// From 0xRRGGBB.
    public init(hex: UInt32) { self.init(UInt8((hex >> 16) & 0xFF), UInt8((hex >> 8) & 0xFF), UInt8(hex & 0xFF)) }

    public static let white = RGB(255, 255, 255)
    public static let black = RGB(0, 0, 0)
    public static let text = RGB(hex: 0x222222)
    public static let axis = RGB(hex: 0x555555)
    public static let grid = RGB(hex: 0xE4E4E4)
    public static let muted = RGB(hex: 0x777777)
    /// Cells with no value (NaN, ±∞).
    public static let missing = RGB(hex: 0xFF00FF)

    /// `self` over `background` with opacity `alpha` (0…1).
    public func blended(over background: RGB, alpha: Double) -> RGB {
        let a = min(max(alpha, 0), 1)
        func mix(_ f: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(f) * a + Double(b) * (1 - a)).rounded()) }
        return RGB(mix(r, background.r), mix(g, background.g), mix(b, background.b))
    }

    public var description: String {
        let digits = Array("0123456789abcdef")
        return "#" + String([r, g, b].flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}

/// A raster image, row-major from the top-left corner, three bytes per pixel: what every
/// figure of a report is drawn into before it is encoded as PNG.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// width × height × 3 bytes, rows top to bottom.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width > 0 && height > 0, "an image needs at least one pixel, got \(width)×\(height)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        if background != .black { fill(x: 0, y: 0, width: width, height: height, background) }
    }

    public subscript(x: Int, y: Int) -> RGB {
        get {
            let i = (y * width + x) * 3
            return RGB(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set { set(x, y, newValue) }
    }

    /// Sets one pixel; pixels outside the image are ignored (drawing clips).
    @inlinable public mutating func set(_ x: Int, _ y: Int, _ colour: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = colour.r; pixels[i + 1] = colour.g; pixels[i + 2] = colour.b
    }

    /// Blends `colour` into one pixel with opacity `alpha`.
    public mutating func blend(_ x: Int, _ y: Int, _ colour: RGB, alpha: Double) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        set(x, y, alpha >= 1 ? colour : colour.blended(over: self[x, y], alpha: alpha))
    }

    /// Fills a rectangle, clipped to the image.
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ colour: RGB) {
        let x0 = max(x, 0), y0 = max(y, 0), x1 = min(x + w, width), y1 = min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        pixels.withUnsafeMutableBufferPointer { p in
            for row in y0..<y1 {
                var i = (row * width + x0) * 3
                for _ in x0..<x1 {
                    p[i] = colour.r; p[i + 1] = colour.g; p[i + 2] = colour.b
                    i += 3
                }
            }
        }
    }

    /// A one-pixel rectangle outline.
    public mutating func stroke(x: Int, y: Int, width w: Int, height h: Int, _ colour: RGB) {
        fill(x: x, y: y, width: w, height: 1, colour)
        fill(x: x, y: y + h - 1, width: w, height: 1, colour)
        fill(x: x, y: y, width: 1, height: h, colour)
        fill(x: x + w - 1, y: y, width: 1, height: h, colour)
    }

    /// An anti-aliased line of `thickness` pixels from (x0, y0) to (x1, y1), pixel centres at
    /// integer + 0.5: each pixel is covered in proportion to its distance from the segment.
    public mutating func line(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double, _ colour: RGB, thickness: Double = 1.5) {
        guard x0.isFinite, y0.isFinite, x1.isFinite, y1.isFinite else { return }
        let half = thickness / 2
        let minX = max(Int((min(x0, x1) - half - 1).rounded(.down)), 0)
        let maxX = min(Int((max(x0, x1) + half + 1).rounded(.up)), width - 1)
        let minY = max(Int((min(y0, y1) - half - 1).rounded(.down)), 0)
        let maxY = min(Int((max(y0, y1) + half + 1).rounded(.up)), height - 1)
        guard minX <= maxX, minY <= maxY else { return }
        let dx = x1 - x0, dy = y1 - y0
        let length2 = dx * dx + dy * dy
        for y in minY...maxY {
            for x in minX...maxX {
                let px = Double(x) + 0.5, py = Double(y) + 0.5
                var t = length2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / length2 : 0
                t = min(max(t, 0), 1)
                let ex = px - (x0 + t * dx), ey = py - (y0 + t * dy)
                let distance = (ex * ex + ey * ey).squareRoot()
                let coverage = half + 0.5 - distance
                if coverage > 0 { blend(x, y, colour, alpha: min(coverage, 1)) }
            }
        }
    }

    /// A filled anti-aliased disc.
    public mutating func disc(_ cx: Double, _ cy: Double, radius: Double, _ colour: RGB) {
        line(cx, cy, cx, cy, colour, thickness: 2 * radius)
    }

    /// Copies `image` with its top-left corner at (x, y), clipped.
    public mutating func draw(_ image: RGBImage, x: Int, y: Int) {
        for row in 0..<image.height where y + row >= 0 && y + row < height {
            for column in 0..<image.width {
                set(x + column, y + row, image[column, row])
            }
        }
    }

    /// Whether every pixel has the same colour.
    public var isUniform: Bool {
        let first = RGB(pixels[0], pixels[1], pixels[2])
        return stride(from: 0, to: pixels.count, by: 3).allSatisfy { RGB(pixels[$0], pixels[$0 + 1], pixels[$0 + 2]) == first }
    }
}
