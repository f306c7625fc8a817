import CZlib
import Foundation

/// Writes `RGBImage`s as PNG files (8-bit RGB, no interlace): signature, IHDR, optional tEXt
/// chunks, one IDAT compressed by zlib, IEND; every chunk with zlib's CRC-32.
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
        appendChunk("IDAT", zlibStream(scanlines(image)), to: &png)
        appendChunk("IEND", [], to: &png)
        return png
    }

    /// Encodes and writes atomically.
    public static func write(_ image: RGBImage, to url: URL, text: [(String, String)] = []) throws {
        try Data(encode(image, text: text)).write(to: url, options: .atomic)
    }

    /// The rows, each behind filter type 0 (None): the figures are flat colour blocks, whose
    /// repeats DEFLATE finds by itself, so the per-row filter search would buy little.
    static func scanlines(_ image: RGBImage) -> [UInt8] {
        let stride = image.width * 3
        var out = [UInt8](repeating: 0, count: image.height * (stride + 1))
        for y in 0..<image.height {
            out.replaceSubrange((y * (stride + 1) + 1)...(y * (stride + 1) + stride),
                                with: image.pixels[(y * stride)..<((y + 1) * stride)])
        }
        return out
    }

    /// `bytes` as one zlib stream (RFC 1950), what an IDAT chunk holds.
    static func zlibStream(_ bytes: [UInt8]) -> [UInt8] {
        var capacity = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(capacity))
        let status = out.withUnsafeMutableBufferPointer { target in
            bytes.withUnsafeBufferPointer { source in
                compress2(target.baseAddress, &capacity, source.baseAddress, uLong(source.count), Z_BEST_COMPRESSION)
            }
        }
        // compressBound is an upper bound for any input, so only running out of memory fails.
        precondition(status == Z_OK, "zlib compress2 failed with status \(status)")
        return Array(out.prefix(Int(capacity)))
    }

    /// zlib's CRC-32 (the one PNG chunks use) of `bytes`, continuing from `crc`.
    static func crc(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        // zlib reads a null buffer as "give me the initial value", which an empty array may pass.
        guard !bytes.isEmpty else { return crc }
        return bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(uLong(crc), $0.baseAddress, uInt($0.count))) }
    }

    static func appendChunk(_ type: String, _ data: [UInt8], to png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png += bigEndian(UInt32(data.count))
        png += typeBytes
        png += data
        png += bigEndian(crc(data, continuing: crc(typeBytes)))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    static func latin1(_ string: String) -> [UInt8] {
        string.unicodeScalars.map { $0.value >= 32 && $0.value < 256 && $0.value != 127 ? UInt8($0.value) : UInt8(ascii: "?") }
    }
}
