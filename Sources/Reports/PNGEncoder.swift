import Foundation

/// Writes `RGBImage`s as PNG files (8-bit RGB, no interlace) with the project's own DEFLATE:
/// signature, IHDR, optional tEXt chunks, one IDAT, IEND; every chunk with its CRC-32.
public enum PNGEncoder {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The PNG file of `image`. `text` becomes tEXt chunks (keyword → value; Latin-1, so other
    /// characters are replaced by '?').
    public static func encode(_ image: RGBImage, text: [(String, String)] = []) -> [UInt8] {
        var png = signature
        var header: [UInt8] = []
        header += bigEndian(UInt32(image.width))
        header += bigEndian(UInt32(image.height))
        header += [8, 2, 0, 0, 0]  // bit depth 8, colour type 2 (RGB), deflate, adaptive filters, no interlace
        appendChunk("IHDR", header, to: &png)
        for (keyword, value) in text {
            appendChunk("tEXt", latin1(keyword) + [0] + latin1(value), to: &png)
        }
        appendChunk("IDAT", Deflate.zlib(filtered(image)), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// Encodes and writes atomically.
    public static func write(_ image: RGBImage, to url: URL, text: [(String, String)] = []) throws {
        try Data(encode(image, text: text)).write(to: url, options: .atomic)
    }

    /// The scanlines, each preceded by its filter type: for each row the filter (None, Sub or
    /// Up) with the smallest sum of absolute signed residuals, the usual heuristic.
    static func filtered(_ image: RGBImage) -> [UInt8] {
        let stride = image.width * 3
        var out = [UInt8](repeating: 0, count: image.height * (stride + 1))
        var candidate = [[UInt8]](repeating: [UInt8](repeating: 0, count: stride), count: 3)
        image.pixels.withUnsafeBufferPointer { p in
            for y in 0..<image.height {
                let row = y * stride
                var best = 0, bestScore = Int.max
                for filter in 0..<3 {
                    var score = 0
                    candidate[filter].withUnsafeMutableBufferPointer { c in
                        for x in 0..<stride {
                            let value = p[row + x]
                            let predictor: UInt8
                            switch filter {
                            case 1: predictor = x >= 3 ? p[row + x - 3] : 0
                            case 2: predictor = y > 0 ? p[row - stride + x] : 0
                            default: predictor = 0
                            }
                            let residual = value &- predictor
                            c[x] = residual
                            score += residual < 128 ? Int(residual) : 256 - Int(residual)
                        }
                    }
                    if score < bestScore { bestScore = score; best = filter }
                }
                let start = y * (stride + 1)
                out[start] = UInt8(best)
                out.replaceSubrange((start + 1)...(start + stride), with: candidate[best])
            }
        }
        return out
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png += bigEndian(UInt32(data.count))
        png += typeBytes
        png += data
        png += bigEndian(Checksums.crc32(data, continuing: Checksums.crc32(typeBytes)))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func latin1(_ string: String) -> [UInt8] {
        string.unicodeScalars.map { $0.value >= 32 && $0.value < 256 && $0.value != 127 ? UInt8($0.value) : UInt8(ascii: "?") }
    }
}
