import DNCNumerics

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Eight-bit codes of unit vectors for the approximate index's first pass: a row is W bytes and a
/// scale instead of W reals, so scanning a list streams a quarter of the bytes (Float) of its unit
/// vectors, and the scan is DRAM-bound (`dnc-bench --only index`, README "The indexes on full
/// memories").
///
/// A row `v` is stored as `u_j = round(v_j / s) + 128` with `s = max_j |v_j| / 127` (so
/// `u_j ∈ 1...255`), padded with 128 to `paddedWidth` (a multiple of 16). A query is rounded to
/// 16-bit integers `q_j`; the approximate score of a row is `s · (Σ_j u_j·q_j − 128·Σ_j q_j)`,
/// proportional to `v·q` up to the rounding of both. The sum is computed in 32-bit integers, which
/// is exact, so every path (the SSE2 one on x86-64, the portable one elsewhere, four rows at a
/// time or one) gives the same bits, and the scores are a function of the stored content alone.
enum QuantisedRows {
    static let offset: Int32 = 128

    /// `x` rounded to the nearest integer, ties to even, for |x| ≤ 2²²: adding and subtracting
    /// 1.5·2²³ leaves no fraction bits. The same result as `x.rounded(.toNearestOrEven)`, which on
    /// baseline x86-64 (no SSE4.1 `roundss`) is a call to libm's `rintf` per value.
    @inline(__always)
    static func roundedToNearestEven(_ x: Float) -> Float { (x + 12_582_912) - 12_582_912 }

    /// Bytes per row: the width rounded up to a multiple of 16 (one SSE register of codes).
    static func paddedWidth(_ width: Int) -> Int { Swift.max(16, (width + 15) / 16 * 16) }

    /// Writes the codes of `v` (W values) into `codes` (`paddedWidth` bytes); returns the scale.
    @inline(__always)
    static func encode<T: Real>(_ v: UnsafePointer<T>, width: Int, paddedWidth: Int, into codes: UnsafeMutablePointer<UInt8>) -> Float {
        var largest: Float = 0
        for j in 0..<width { largest = Swift.max(largest, Float(v[j]).magnitude) }
        guard largest > 0, largest.isFinite else {
            codes.initialize(repeating: UInt8(offset), count: paddedWidth)
            return 0
        }
        let scale = largest / 127, inverse = 127 / largest
        for j in 0..<width {
            let code = roundedToNearestEven(Float(v[j]) * inverse)
            codes[j] = UInt8(Int32(Swift.min(127, Swift.max(-127, code))) + offset)
        }
        for j in width..<paddedWidth { codes[j] = UInt8(offset) }
        return scale
    }

    /// A query rounded to 16-bit integers (`paddedWidth` values, zero past the width) and
    /// `128·Σ q_j`, the part of every row's sum that the codes' offset adds.
    struct Query {
        var values: [Int16]
        var offsetSum: Int32 = 0

        init(paddedWidth: Int) { values = Array(repeating: 0, count: paddedWidth) }

        /// The largest |q_j| keeps `Σ u_j·q_j` within Int32: 255 · q · paddedWidth < 2³¹.
        mutating func set<T: Real>(_ q: UnsafePointer<T>, width: Int) {
            let limit = Float(Swift.min(32_767, Int(Int32.max) / (255 * values.count)))
            var largest: Float = 0
            for j in 0..<width { largest = Swift.max(largest, Float(q[j]).magnitude) }
            let inverse: Float = largest > 0 && largest.isFinite ? limit / largest : 0
            var sum: Int32 = 0
            for j in 0..<width {
                let value = Int16(Swift.min(limit, Swift.max(-limit, QuantisedRows.roundedToNearestEven(Float(q[j]) * inverse))))
                values[j] = value
                sum += Int32(value)
            }
            for j in width..<values.count { values[j] = 0 }
            offsetSum = sum &* QuantisedRows.offset
        }
    }

    /// `out[i] = scales[i] · (Σ_j codes[i][j]·q_j − offsetSum)` for `rows` rows of `paddedWidth` codes.
    static func score(codes: UnsafePointer<UInt8>, scales: UnsafePointer<Float>, rows: Int, paddedWidth: Int,
                      query: UnsafePointer<Int16>, offsetSum: Int32, out: UnsafeMutablePointer<Float>) {
        #if arch(x86_64)
        scoreSSE2(codes: codes, scales: scales, rows: rows, paddedWidth: paddedWidth, query: query, offsetSum: offsetSum, out: out)
        #else
        for i in 0..<rows {
            out[i] = scales[i] * Float(dot(codes + i * paddedWidth, query, paddedWidth) &- offsetSum)
        }
        #endif
    }

    /// Portable `Σ_j codes[j]·q_j` (exact, the reference for the SIMD path).
    @inline(__always)
    static func dot(_ codes: UnsafePointer<UInt8>, _ query: UnsafePointer<Int16>, _ count: Int) -> Int32 {
        var sum: Int32 = 0
        for j in 0..<count { sum &+= Int32(codes[j]) &* Int32(query[j]) }
        return sum
    }

    #if arch(x86_64)
    /// SSE2 (baseline x86-64, no target flags): codes zero-extended to 16 bits, `pmaddwd` with the
    /// query, four rows' sums reduced together.
    @inline(__always)
    private static func rowSums(_ row: UnsafeRawPointer, _ query: UnsafeRawPointer, _ chunks: Int) -> __m128i {
        let zero = _mm_setzero_si128()
        var sum = _mm_setzero_si128()
        for c in 0..<chunks {
            let codes = row.loadUnaligned(fromByteOffset: c * 16, as: __m128i.self)
            let q0 = query.loadUnaligned(fromByteOffset: c * 32, as: __m128i.self)
            let q1 = query.loadUnaligned(fromByteOffset: c * 32 + 16, as: __m128i.self)
            sum = _mm_add_epi32(sum, _mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi8(codes, zero), q0),
                                                   _mm_madd_epi16(_mm_unpackhi_epi8(codes, zero), q1)))
        }
        return sum
    }

    /// Sums of one row of 32 codes with the query held in registers (the generic loop reloads
    /// the query for every row: 5.4 against 2.9 ns per row in cache, measured on this machine).
    @inline(__always)
    private static func rowSums32(_ row: UnsafeRawPointer, _ q: (__m128i, __m128i, __m128i, __m128i)) -> __m128i {
        let zero = _mm_setzero_si128()
        let a = row.loadUnaligned(as: __m128i.self), b = row.loadUnaligned(fromByteOffset: 16, as: __m128i.self)
        return _mm_add_epi32(_mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi8(a, zero), q.0), _mm_madd_epi16(_mm_unpackhi_epi8(a, zero), q.1)),
                             _mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi8(b, zero), q.2), _mm_madd_epi16(_mm_unpackhi_epi8(b, zero), q.3)))
    }

    /// Four rows' lane sums `a`…`d` reduced together (transpose-and-add: lane r of the result is
    /// the sum of row r's four lanes), less `offset`, scaled, stored to `out[0..<4]`.
    @inline(__always)
    private static func storeFour(_ a: __m128i, _ b: __m128i, _ c: __m128i, _ d: __m128i, offset: __m128i,
                                  scales: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let ab = _mm_add_epi32(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b))
        let cd = _mm_add_epi32(_mm_unpacklo_epi32(c, d), _mm_unpackhi_epi32(c, d))
        let sums = _mm_sub_epi32(_mm_add_epi32(_mm_unpacklo_epi64(ab, cd), _mm_unpackhi_epi64(ab, cd)), offset)
        let scaled = _mm_mul_ps(_mm_cvtepi32_ps(sums), UnsafeRawPointer(scales).loadUnaligned(as: __m128.self))
        UnsafeMutableRawPointer(out).storeBytes(of: scaled, as: __m128.self)
    }

    private static func scoreSSE2(codes: UnsafePointer<UInt8>, scales: UnsafePointer<Float>, rows: Int, paddedWidth: Int,
                                  query: UnsafePointer<Int16>, offsetSum: Int32, out: UnsafeMutablePointer<Float>) {
        let chunks = paddedWidth / 16, q = UnsafeRawPointer(query)
        let offset = _mm_set1_epi32(offsetSum)
        var i = 0
        if paddedWidth == 32 {
            let qs = (q.loadUnaligned(as: __m128i.self), q.loadUnaligned(fromByteOffset: 16, as: __m128i.self),
                      q.loadUnaligned(fromByteOffset: 32, as: __m128i.self), q.loadUnaligned(fromByteOffset: 48, as: __m128i.self))
            while i + 4 <= rows {
                let base = UnsafeRawPointer(codes + i * 32)
                storeFour(rowSums32(base, qs), rowSums32(base + 32, qs), rowSums32(base + 64, qs), rowSums32(base + 96, qs),
                          offset: offset, scales: scales + i, out: out + i)
                i += 4
            }
        }
        while i + 4 <= rows {
            let base = UnsafeRawPointer(codes + i * paddedWidth)
            let a = rowSums(base, q, chunks), b = rowSums(base + paddedWidth, q, chunks)
            let c = rowSums(base + 2 * paddedWidth, q, chunks), d = rowSums(base + 3 * paddedWidth, q, chunks)
            storeFour(a, b, c, d, offset: offset, scales: scales + i, out: out + i)
            i += 4
        }
        while i < rows {
            var s = rowSums(UnsafeRawPointer(codes + i * paddedWidth), q, chunks)
            s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s))
            s = _mm_add_epi32(s, _mm_srli_epi64(s, 32))
            out[i] = scales[i] * Float(_mm_cvtsi128_si32(s) &- offsetSum)
            i += 1
        }
    }
    #endif
}
