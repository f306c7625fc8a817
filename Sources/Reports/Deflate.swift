/// A small DEFLATE compressor (RFC 1951) and its zlib wrapper (RFC 1950): LZ77 over a 32 KiB
/// window with hash chains, coded in one block with the fixed Huffman codes. Figures are large
/// areas of one colour and repeated rows, which this compresses 20–100× with no library.
public enum Deflate {
    /// `bytes` as a zlib stream (header, one fixed-Huffman DEFLATE block, Adler-32).
    public static func zlib(_ bytes: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        writer.bytes.reserveCapacity(bytes.count / 8 + 64)
        writer.bytes.append(contentsOf: [0x78, 0x01])  // 32 KiB window, deflate; (0x7801 % 31 == 0)
        compress(bytes, into: &writer)
        writer.flush()
        let adler = Checksums.adler32(bytes)
        writer.bytes.append(contentsOf: [UInt8(adler >> 24), UInt8((adler >> 16) & 0xFF), UInt8((adler >> 8) & 0xFF), UInt8(adler & 0xFF)])
        return writer.bytes
    }

    /// A raw DEFLATE stream of `bytes`.
    public static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        compress(bytes, into: &writer)
        writer.flush()
        return writer.bytes
    }

    static let windowSize = 32768
    static let minMatch = 3
    static let maxMatch = 258
    static let maxChain = 48
    static let hashBits = 15

    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                                      2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// The fixed literal/length code of each symbol 0…287, bit-reversed for LSB-first output.
    static let literalCodes: [(code: UInt32, length: Int)] = (0..<288).map { symbol in
        let (code, length): (Int, Int)
        switch symbol {
        case 0...143: (code, length) = (0x30 + symbol, 8)
        case 144...255: (code, length) = (0x190 + symbol - 144, 9)
        case 256...279: (code, length) = (symbol - 256, 7)
        default: (code, length) = (0xC0 + symbol - 280, 8)
        }
        return (reversed(UInt32(code), length), length)
    }

    /// For each match length 3…258: (symbol index into lengthBase, extra bits value).
    static let lengthCodes: [(index: Int, extra: Int)] = (0...maxMatch).map { length in
        guard length >= minMatch else { return (0, 0) }
        var index = lengthBase.count - 1
        while lengthBase[index] > length { index -= 1 }
        return (index, length - lengthBase[index])
    }

    static func reversed(_ code: UInt32, _ length: Int) -> UInt32 {
        var result: UInt32 = 0
        for bit in 0..<length where (code >> UInt32(bit)) & 1 != 0 { result |= 1 << UInt32(length - 1 - bit) }
        return result
    }

    static func distanceCode(_ distance: Int) -> Int {
        var index = distanceBase.count - 1
        while distanceBase[index] > distance { index -= 1 }
        return index
    }

    private static func compress(_ input: [UInt8], into writer: inout BitWriter) {
        writer.write(1, 1)  // BFINAL
        writer.write(1, 2)  // BTYPE = 01, fixed Huffman codes
        let n = input.count
        var head = [Int32](repeating: -1, count: 1 << hashBits)
        var previous = [Int32](repeating: -1, count: windowSize)
        let distanceCodes: [UInt32] = (0..<30).map { reversed(UInt32($0), 5) }
        input.withUnsafeBufferPointer { data in
            head.withUnsafeMutableBufferPointer { head in
                previous.withUnsafeMutableBufferPointer { previous in
                    func hash(_ i: Int) -> Int {
                        let h = (UInt32(data[i]) << 16) | (UInt32(data[i + 1]) << 8) | UInt32(data[i + 2])
                        return Int((h &* 2_654_435_761) >> UInt32(32 - hashBits))
                    }
                    func insert(_ i: Int) {
                        guard i + minMatch <= n else { return }
                        let h = hash(i)
                        previous[i & (windowSize - 1)] = head[h]
                        head[h] = Int32(i)
                    }
                    var position = 0
                    while position < n {
                        var bestLength = 0, bestDistance = 0
                        if position + minMatch <= n {
                            var candidate = Int(head[hash(position)])
                            var chain = maxChain
                            let limit = min(maxMatch, n - position)
                            while candidate >= 0, position - candidate <= windowSize - 1, chain > 0 {
                                if data[candidate + bestLength] == data[position + bestLength] || bestLength == 0 {
                                    var length = 0
                                    while length < limit && data[candidate + length] == data[position + length] { length += 1 }
                                    if length > bestLength {
                                        bestLength = length
                                        bestDistance = position - candidate
                                        if length == limit { break }
                                    }
                                }
                                let next = Int(previous[candidate & (windowSize - 1)])
                                if next >= candidate { break }
                                candidate = next
                                chain -= 1
                            }
                        }
                        if bestLength >= minMatch {
                            let (index, extra) = lengthCodes[bestLength]
                            let symbol = literalCodes[257 + index]
                            writer.write(symbol.code, symbol.length)
                            if lengthExtra[index] > 0 { writer.write(UInt32(extra), lengthExtra[index]) }
                            let d = distanceCode(bestDistance)
                            writer.write(distanceCodes[d], 5)
                            if distanceExtra[d] > 0 { writer.write(UInt32(bestDistance - distanceBase[d]), distanceExtra[d]) }
                            for i in position..<(position + bestLength) { insert(i) }
                            position += bestLength
                        } else {
                            let symbol = literalCodes[Int(data[position])]
                            writer.write(symbol.code, symbol.length)
                            insert(position)
                            position += 1
                        }
                    }
                }
            }
        }
        let end = literalCodes[256]
        writer.write(end.code, end.length)
    }

    /// Bits packed least-significant first, as DEFLATE wants.
    struct BitWriter {
        var bytes: [UInt8] = []
        private var buffer: UInt64 = 0
        private var count = 0

        mutating func write(_ value: UInt32, _ bits: Int) {
            buffer |= UInt64(value) << UInt64(count)
            count += bits
            while count >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                count -= 8
            }
        }

        /// Pads the last byte with zero bits.
        mutating func flush() {
            if count > 0 { bytes.append(UInt8(truncatingIfNeeded: buffer)) }
            buffer = 0
            count = 0
        }
    }
}
