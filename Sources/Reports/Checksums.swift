/// The two checksums of a PNG file: CRC-32 (ISO 3309, as in PNG chunks and gzip) and Adler-32
/// (the zlib stream trailer, RFC 1950).
public enum Checksums {
    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 of `bytes`, continuing from `crc` (the CRC of the bytes before).
    public static func crc32<C: Collection>(_ bytes: C, continuing crc: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
        var c = ~crc
        crcTable.withUnsafeBufferPointer { table in
            for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    /// Adler-32 of `bytes`.
    public static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        bytes.withUnsafeBufferPointer { p in
            var index = 0
            while index < p.count {
                // 5552 is the most bytes before the sums can overflow 32 bits (zlib's NMAX).
                let end = min(index + 5552, p.count)
                while index < end { a &+= UInt32(p[index]); b &+= a; index += 1 }
                a %= 65521; b %= 65521
            }
        }
        return (b << 16) | a
    }
}
