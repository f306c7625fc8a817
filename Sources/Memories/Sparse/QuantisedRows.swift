import CQuantisedScan
import DNCNumerics
import Foundation

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Four-bit codes of unit vectors for the approximate index's first pass: a row is W/2 bytes and a
/// scale instead of W reals, so scanning a list streams an eighth of the bytes (Float) of its unit
/// vectors. The scan of a large memory is bound by how fast bytes arrive from memory (`dnc-bench
/// --only index`, README "The indexes on full memories"): four bits a code scan lists streamed
/// from memory in about 0.6 of the time of eight bits (2.7 against 4.7 ns per row in a stand-alone
/// loop, README, the SAM steps on full memories), and the shortlist's exact re-ranking makes up for
/// the coarser first pass (recall@4 unchanged at 1 M Gaussian rows, docs/sparse-memory.md).
///
/// A row `v` is stored as `u_j = round(v_j / s) + 8` with `s = max_j |v_j| / 7` (so
/// `u_j ∈ 1...15`), padded with 8 to `paddedWidth` codes (a multiple of 32), two codes a byte:
/// in each group of 32 codes (16 bytes), byte b holds `u_b` in its low four bits and `u_{16+b}` in
/// its high four bits, so that one mask and one shift give sixteen consecutive codes. A query is
/// rounded to 16-bit integers `q_j`; the approximate score of a row is
/// `s · (Σ_j u_j·q_j − 8·Σ_j q_j)`, proportional to `v·q` up to the rounding of both. The sum is
/// computed in 32-bit integers, which is exact, so every path (AVX-512 VNNI where the CPU has it,
/// SSE2 on other x86-64, the portable one elsewhere; sixteen, four rows at a time or one) gives
/// the same bits, and the scores are a function of the stored content alone, whatever machine
/// computed them.
enum QuantisedRows {
    static let offset: Int32 = 8
    /// The largest code magnitude before the offset: codes are -7...7, stored as 1...15.
    static let levels: Float = 7

    /// The ways to compute the scores, all giving the same bits.
    enum Kernel: String, CaseIterable, Sendable {
        /// Plain Swift, one product at a time: the reference.
        case portable
        /// x86-64's baseline: codes unpacked and widened to 16 bits, `pmaddwd` with the query, four
        /// rows at a time.
        case sse2
        /// Rows of 32 codes (W ≤ 32), sixteen at a time, `vpdpbusd` on the query split into bytes
        /// (C, Sources/CQuantisedScan).
        case avx512VNNI = "avx512-vnni"

        /// Whether this machine runs it.
        var isAvailable: Bool {
            switch self {
            case .portable: true
            #if arch(x86_64)
            case .sse2: true
            case .avx512VNNI: QuantisedRows.cpuHasAVX512VNNI
            #else
            case .sse2, .avx512VNNI: false
            #endif
            }
        }
    }

    static let cpuHasAVX512VNNI = dnc_scan_has_avx512_vnni() != 0

    /// The fastest kernel this machine runs for rows of `paddedWidth` codes.
    static func bestKernel(paddedWidth: Int) -> Kernel {
        if paddedWidth == 32 && Kernel.avx512VNNI.isAvailable { return .avx512VNNI }
        return Kernel.sse2.isAvailable ? .sse2 : .portable
    }

    /// `DNC_INDEX_SCAN=auto|avx512-vnni|sse2|portable` (read once per process; nil for auto):
    /// a kernel to use instead of the fastest, to compare them side by side in one sitting. The
    /// scores are the same bits whichever it is. A value that names no kernel, or one this
    /// machine lacks, is reported once and ignored.
    static let requestedKernel: Kernel? = {
        let value = (ProcessInfo.processInfo.environment["DNC_INDEX_SCAN"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        guard !value.isEmpty, value != "auto" else { return nil }
        guard let kernel = Kernel(rawValue: value), kernel.isAvailable else {
            let known = Kernel(rawValue: value) == nil ? "is not auto, \(Kernel.allCases.map(\.rawValue).joined(separator: ", "))"
                                                        : "is not available on this CPU"
            FileHandle.standardError.write(Data("warning: DNC_INDEX_SCAN=\(value) \(known); using auto\n".utf8))
            return nil
        }
        return kernel
    }()

    /// The kernel an index with rows of `paddedWidth` codes uses: `DNC_INDEX_SCAN`'s where it
    /// serves that width, else the fastest.
    static func kernel(paddedWidth: Int) -> Kernel {
        if let requested = requestedKernel, requested != .avx512VNNI || paddedWidth == 32 { return requested }
        return bestKernel(paddedWidth: paddedWidth)
    }

    /// For `dnc-dist diagnostics`: the kernel rows of up to 32 codes are scored with here.
    static var summary: String {
        let chosen = kernel(paddedWidth: 32)
        return requestedKernel == nil ? "\(chosen.rawValue) (fastest here)" : "\(chosen.rawValue) (DNC_INDEX_SCAN)"
    }

    /// `x` rounded to the nearest integer, ties to even, for |x| ≤ 2²²: adding and subtracting
    /// 1.5·2²³ leaves no fraction bits. The same result as `x.rounded(.toNearestOrEven)`, which on
    /// baseline x86-64 (no SSE4.1 `roundss`) is a call to libm's `rintf` per value.
    @inline(__always)
    static func roundedToNearestEven(_ x: Float) -> Float { (x + 12_582_912) - 12_582_912 }

    /// Codes per row: the width rounded up to a multiple of 32 (one SSE register of bytes, two
    /// codes a byte).
    static func paddedWidth(_ width: Int) -> Int { Swift.max(32, (width + 31) / 32 * 32) }

    /// Bytes per row of `paddedWidth` codes.
    static func bytes(paddedWidth: Int) -> Int { paddedWidth / 2 }

    /// Code `j` of a row (0...15, the stored value; `paddedWidth` codes in `bytes(paddedWidth:)`).
    @inline(__always)
    static func code(_ row: UnsafePointer<UInt8>, _ j: Int) -> Int32 {
        let byte = Int32(row[j / 32 * 16 + j % 16])
        return j % 32 < 16 ? byte & 15 : byte >> 4
    }

    /// Writes the codes of `v` (W values) into `codes` (`bytes(paddedWidth:)` bytes); returns the scale.
    @inline(__always)
    static func encode<T: Real>(_ v: UnsafePointer<T>, width: Int, paddedWidth: Int, into codes: UnsafeMutablePointer<UInt8>) -> Float {
        var largest: Float = 0
        for j in 0..<width { largest = Swift.max(largest, Float(v[j]).magnitude) }
        let empty = UInt8(offset | offset << 4)
        guard largest > 0, largest.isFinite else {
            codes.initialize(repeating: empty, count: bytes(paddedWidth: paddedWidth))
            return 0
        }
        let scale = largest / levels, inverse = levels / largest
        @inline(__always) func code(_ j: Int) -> UInt8 {
            guard j < width else { return UInt8(offset) }
            return UInt8(Int32(Swift.min(levels, Swift.max(-levels, roundedToNearestEven(Float(v[j]) * inverse)))) + offset)
        }
        for g in 0..<(paddedWidth / 32) {
            for b in 0..<16 { codes[g * 16 + b] = code(g * 32 + b) | code(g * 32 + 16 + b) << 4 }
        }
        return scale
    }

    /// A query rounded to 16-bit integers (`paddedWidth` values, zero past the width) and
    /// `8·Σ q_j`, the part of every row's sum that the codes' offset adds; also each value as
    /// two signed bytes, `q_j = 256·high_j + low_j`, for the VNNI kernel (bytes by bytes).
    struct Query {
        var values: [Int16]
        var high: [Int8]
        var low: [Int8]
        var offsetSum: Int32 = 0

        init(paddedWidth: Int) {
            values = Array(repeating: 0, count: paddedWidth)
            high = Array(repeating: 0, count: paddedWidth)
            low = Array(repeating: 0, count: paddedWidth)
        }

        /// The largest |q_j| keeps `Σ u_j·q_j` within Int32 (15 · q · paddedWidth < 2³¹) and
        /// the split within bytes: 32 639 = 256·127 + 127.
        mutating func set<T: Real>(_ q: UnsafePointer<T>, width: Int) {
            let limit = Float(Swift.min(32_639, Int(Int32.max) / (15 * values.count)))
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
            for j in values.indices {
                // low in -128...127, the rest a multiple of 256 whose quotient is in -127...127.
                let value = Int32(values[j]), low = ((value + 128) & 255) - 128
                self.low[j] = Int8(low)
                self.high[j] = Int8((value - low) / 256)
            }
        }
    }

    /// `out[i] = scales[i] · (Σ_j u_ij·q_j − offsetSum)` for `rows` rows of `paddedWidth` codes
    /// (`bytes(paddedWidth:)` bytes each), with `kernel` (which must be available, and `.avx512VNNI` only for 32 codes a row).
    static func score(codes: UnsafePointer<UInt8>, scales: UnsafePointer<Float>, rows: Int, paddedWidth: Int,
                      query: borrowing Query, kernel: Kernel, out: UnsafeMutablePointer<Float>) {
        switch kernel {
        case .avx512VNNI:
            withVNNIQuery(query, paddedWidth: paddedWidth) { h, l in
                dnc_scan_score_nibbles32_avx512_vnni(codes, scales, Int64(rows), h, l, query.offsetSum, out)
            }
        case .sse2:
            #if arch(x86_64)
            query.values.withUnsafeBufferPointer { q in
                scoreSSE2(codes: codes, scales: scales, rows: rows, paddedWidth: paddedWidth, query: q.baseAddress!,
                          offsetSum: query.offsetSum, out: out)
            }
            #else
            preconditionFailure("no SSE2 scan on this architecture")
            #endif
        case .portable:
            query.values.withUnsafeBufferPointer { q in
                let rowBytes = bytes(paddedWidth: paddedWidth)
                for i in 0..<rows {
                    out[i] = scales[i] * Float(dot(codes + i * rowBytes, q.baseAddress!, paddedWidth) &- query.offsetSum)
                }
            }
        }
    }

    /// The scores of `score` that are ≥ `threshold`, with their row numbers: for each such row i,
    /// in increasing i, `scores[c]` and `indices[c] = i`; returns how many. `scores` and
    /// `indices` hold `rows` values. The VNNI kernel compares sixteen scores at once and stores
    /// only those that pass; the others score every row into `scores` and compact them in place.
    static func scoreAbove(codes: UnsafePointer<UInt8>, scales: UnsafePointer<Float>, rows: Int, paddedWidth: Int,
                           query: borrowing Query, kernel: Kernel, threshold: Float,
                           scores: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int32>) -> Int {
        if kernel == .avx512VNNI {
            return withVNNIQuery(query, paddedWidth: paddedWidth) { h, l in
                Int(dnc_scan_score_nibbles32_above_avx512_vnni(codes, scales, Int64(rows), h, l, query.offsetSum, threshold, scores, indices))
            }
        }
        score(codes: codes, scales: scales, rows: rows, paddedWidth: paddedWidth, query: query, kernel: kernel, out: scores)
        var kept = 0
        for i in 0..<rows where scores[i] >= threshold {
            scores[kept] = scores[i]
            indices[kept] = Int32(i)
            kept += 1
        }
        return kept
    }

    /// The query's two byte halves for the VNNI kernels, after checking that they may run.
    private static func withVNNIQuery<R>(_ query: borrowing Query, paddedWidth: Int,
                                         _ body: (UnsafePointer<Int8>, UnsafePointer<Int8>) -> R) -> R {
        precondition(paddedWidth == 32 && Kernel.avx512VNNI.isAvailable, "the VNNI scan takes 32 codes a row, on a CPU with AVX-512 VNNI")
        return query.high.withUnsafeBufferPointer { h in
            query.low.withUnsafeBufferPointer { l in body(h.baseAddress!, l.baseAddress!) }
        }
    }

    /// Portable `Σ_j u_j·q_j` over a row's `count` codes (exact, the reference for the SIMD paths).
    @inline(__always)
    static func dot(_ codes: UnsafePointer<UInt8>, _ query: UnsafePointer<Int16>, _ count: Int) -> Int32 {
        var sum: Int32 = 0
        for j in 0..<count { sum &+= code(codes, j) &* Int32(query[j]) }
        return sum
    }

    #if arch(x86_64)
    /// SSE2 (baseline x86-64, no target flags): a group of 32 codes (16 bytes) split into its low
    /// and high nibbles (codes 0–15 and 16–31 of the group), zero-extended to 16 bits, `pmaddwd`
    /// with the query's four registers for that group.
    @inline(__always)
    private static func groupSums(_ bytes: UnsafeRawPointer, _ q: (__m128i, __m128i, __m128i, __m128i)) -> __m128i {
        let zero = _mm_setzero_si128(), nibble = _mm_set1_epi8(15)
        let packed = bytes.loadUnaligned(as: __m128i.self)
        let first = _mm_and_si128(packed, nibble), second = _mm_and_si128(_mm_srli_epi16(packed, 4), nibble)
        return _mm_add_epi32(_mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi8(first, zero), q.0), _mm_madd_epi16(_mm_unpackhi_epi8(first, zero), q.1)),
                             _mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi8(second, zero), q.2), _mm_madd_epi16(_mm_unpackhi_epi8(second, zero), q.3)))
    }

    /// The query's 16-bit values for group `g` (codes 32g ..< 32g + 32), four registers.
    @inline(__always)
    private static func queryGroup(_ query: UnsafeRawPointer, _ g: Int) -> (__m128i, __m128i, __m128i, __m128i) {
        (query.loadUnaligned(fromByteOffset: g * 64, as: __m128i.self), query.loadUnaligned(fromByteOffset: g * 64 + 16, as: __m128i.self),
         query.loadUnaligned(fromByteOffset: g * 64 + 32, as: __m128i.self), query.loadUnaligned(fromByteOffset: g * 64 + 48, as: __m128i.self))
    }

    /// A row's lane sums over all its groups (the query reloaded per group).
    @inline(__always)
    private static func rowSums(_ row: UnsafeRawPointer, _ query: UnsafeRawPointer, _ groups: Int) -> __m128i {
        var sum = _mm_setzero_si128()
        for g in 0..<groups { sum = _mm_add_epi32(sum, groupSums(row + g * 16, queryGroup(query, g))) }
        return sum
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
        let groups = paddedWidth / 32, rowBytes = bytes(paddedWidth: paddedWidth), q = UnsafeRawPointer(query)
        let offset = _mm_set1_epi32(offsetSum)
        var i = 0
        if groups == 1 {
            // One group a row: the query stays in registers (reloading it for every row costs
            // about twice the time per row in cache).
            let qs = queryGroup(q, 0)
            while i + 4 <= rows {
                let base = UnsafeRawPointer(codes + i * 16)
                storeFour(groupSums(base, qs), groupSums(base + 16, qs), groupSums(base + 32, qs), groupSums(base + 48, qs),
                          offset: offset, scales: scales + i, out: out + i)
                i += 4
            }
        }
        while i + 4 <= rows {
            let base = UnsafeRawPointer(codes + i * rowBytes)
            let a = rowSums(base, q, groups), b = rowSums(base + rowBytes, q, groups)
            let c = rowSums(base + 2 * rowBytes, q, groups), d = rowSums(base + 3 * rowBytes, q, groups)
            storeFour(a, b, c, d, offset: offset, scales: scales + i, out: out + i)
            i += 4
        }
        while i < rows {
            var s = rowSums(UnsafeRawPointer(codes + i * rowBytes), q, groups)
            s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s))
            s = _mm_add_epi32(s, _mm_srli_epi64(s, 32))
            out[i] = scales[i] * Float(_mm_cvtsi128_si32(s) &- offsetSum)
            i += 1
        }
    }
    #endif
}

/// The approximate index's scan as tools report it (`dnc-dist diagnostics`).
public enum ApproximateIndexScan {
    /// The kernel that scores rows of up to 32 codes in this process, and why.
    public static var summary: String { QuantisedRows.summary }
}
