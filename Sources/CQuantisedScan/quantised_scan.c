// AVX-512 VNNI scoring of four-bit codes (see include/quantised_scan.h and docs/sparse-memory.md,
// "The approximate index"). `vpdpbusd` multiplies unsigned bytes (the codes, unpacked from their
// nibbles) by signed bytes and adds groups of four into 32-bit lanes, with no intermediate
// saturation. The query's 16-bit values do not fit a signed byte, so each is split as
// 256·high + low and a row's sum is 256·Σ u·high + Σ u·low: four `vpdpbusd` per 64 bytes (four
// rows), all in exact integers.
#include "quantised_scan.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

int dnc_scan_has_avx512_vnni(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

void dnc_scan_prefetch(const void *start, int64_t bytes) {
    const char *p = (const char *)start;
    for (int64_t offset = 0; offset < bytes && offset < 512; offset += 64) __builtin_prefetch(p + offset, 0, 3);
}

#if defined(__x86_64__)
#define DNC_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

// Sixteen query bytes in each 128-bit lane: one lane scores one row of sixteen codes.
DNC_VNNI static inline __m512i four_times(const int8_t *bytes) {
    return _mm512_broadcast_i32x4(_mm_loadu_si128((const void *)bytes));
}

struct nibble_query { __m512i low_high, low_low, high_high, high_low, offset; };

// The scores of rows i ..< i + 16 (block = codes + 16·i).
DNC_VNNI static inline __m512 score16(const uint8_t *block, const float *scales, const struct nibble_query *q) {
    // After the reduction below, lane 4k + r holds row 4r + k: put them back in order.
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m512i nibble = _mm512_set1_epi8(15);
    // A list is streamed from memory once per query: ask for the bytes 1 KiB ahead (the
    // hardware prefetcher alone leaves the scan waiting; docs/sparse-memory.md).
    for (int c = 0; c < 4; c++) _mm_prefetch((const char *)(block + 1024 + 64 * c), _MM_HINT_T0);
    __m512i sums[4];
    for (int r = 0; r < 4; r++) {
        const __m512i c = _mm512_loadu_si512((const void *)(block + 64 * r));
        // Codes 0–15 of each row from the low nibbles, 16–31 from the high ones.
        const __m512i first = _mm512_and_si512(c, nibble), second = _mm512_and_si512(_mm512_srli_epi16(c, 4), nibble);
        const __m512i upper = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), first, q->low_high), second, q->high_high);
        sums[r] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_slli_epi32(upper, 8), first, q->low_low), second, q->high_low);
    }
    // Each register holds four rows as 4 partial sums each (one row per 128-bit lane): reduce
    // the four registers together (transpose-and-add within 128-bit lanes).
    const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(sums[0], sums[1]), _mm512_unpackhi_epi32(sums[0], sums[1]));
    const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(sums[2], sums[3]), _mm512_unpackhi_epi32(sums[2], sums[3]));
    const __m512i four = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    const __m512i total = _mm512_sub_epi32(_mm512_permutexvar_epi32(order, four), q->offset);
    return _mm512_mul_ps(_mm512_cvtepi32_ps(total), _mm512_loadu_ps(scales));
}

DNC_VNNI static inline struct nibble_query make_query(const int8_t *high, const int8_t *low, int32_t offset_sum) {
    struct nibble_query q = {
        four_times(high), four_times(low), four_times(high + 16), four_times(low + 16), _mm512_set1_epi32(offset_sum)
    };
    return q;
}

// One row, for the rows after the last whole block of sixteen.
static inline float score1(const uint8_t *row, float scale, const int8_t *high, const int8_t *low, int32_t offset_sum) {
    int32_t sum = 0;
    for (int b = 0; b < 16; b++) {
        const int32_t first = row[b] & 15, second = row[b] >> 4;
        sum += first * (256 * (int32_t)high[b] + (int32_t)low[b]) + second * (256 * (int32_t)high[16 + b] + (int32_t)low[16 + b]);
    }
    return scale * (float)(sum - offset_sum);
}

DNC_VNNI void dnc_scan_score_nibbles32_avx512_vnni(const uint8_t *codes, const float *scales, int64_t rows,
                                                   const int8_t *high, const int8_t *low, int32_t offset_sum, float *out) {
    const struct nibble_query q = make_query(high, low, offset_sum);
    int64_t i = 0;
    for (; i + 16 <= rows; i += 16) _mm512_storeu_ps(out + i, score16(codes + i * 16, scales + i, &q));
    for (; i < rows; i++) out[i] = score1(codes + i * 16, scales[i], high, low, offset_sum);
}

DNC_VNNI int64_t dnc_scan_score_nibbles32_above_avx512_vnni(const uint8_t *codes, const float *scales, int64_t rows,
                                                            const int8_t *high, const int8_t *low, int32_t offset_sum,
                                                            float threshold, float *scores, int32_t *indices) {
    const struct nibble_query q = make_query(high, low, offset_sum);
    const __m512 bar = _mm512_set1_ps(threshold);
    const __m512i sixteen = _mm512_set1_epi32(16);
    __m512i position = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int64_t i = 0, kept = 0;
    for (; i + 16 <= rows; i += 16, position = _mm512_add_epi32(position, sixteen)) {
        const __m512 values = score16(codes + i * 16, scales + i, &q);
        const __mmask16 above = _mm512_cmp_ps_mask(values, bar, _CMP_GE_OQ);
        if (above == 0) continue;
        _mm512_mask_compressstoreu_ps(scores + kept, above, values);
        _mm512_mask_compressstoreu_epi32(indices + kept, above, position);
        kept += __builtin_popcount(above);
    }
    for (; i < rows; i++) {
        const float value = score1(codes + i * 16, scales[i], high, low, offset_sum);
        if (value >= threshold) { scores[kept] = value; indices[kept] = (int32_t)i; kept++; }
    }
    return kept;
}
#else
// dnc_scan_has_avx512_vnni() is 0 here, so callers never come.
void dnc_scan_score_nibbles32_avx512_vnni(const uint8_t *codes, const float *scales, int64_t rows,
                                          const int8_t *high, const int8_t *low, int32_t offset_sum, float *out) {
    (void)codes; (void)scales; (void)rows; (void)high; (void)low; (void)offset_sum; (void)out;
    __builtin_trap();
}

int64_t dnc_scan_score_nibbles32_above_avx512_vnni(const uint8_t *codes, const float *scales, int64_t rows,
                                                   const int8_t *high, const int8_t *low, int32_t offset_sum,
                                                   float threshold, float *scores, int32_t *indices) {
    (void)codes; (void)scales; (void)rows; (void)high; (void)low; (void)offset_sum; (void)threshold;
    (void)scores; (void)indices;
    __builtin_trap();
}
#endif
