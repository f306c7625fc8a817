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

    public var description: String {
        let digits = Array("0123456789abcdef")
        return "#" + String([r, g, b].flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}

/// A raster image, row-major from the top-left corner, three bytes per pixel: the cells of a
/// heatmap and its colour bar, before they are encoded as PNG.
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
}
