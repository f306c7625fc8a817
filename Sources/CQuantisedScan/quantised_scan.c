// AVX-512 VNNI scoring of eight-bit codes (see include/quantised_scan.h and docs/sparse-memory.md,
// "The approximate index"). `vpdpbusd` multiplies unsigned bytes (the codes) by signed bytes and
// adds groups of four into 32-bit lanes, with no intermediate saturation. The query's 16-bit
// values do not fit a signed byte, so each is split as 256·high + low and a row's sum is
// 256·Σ codes·high + Σ codes·low: two `vpdpbusd` per 64 bytes (two rows), all in exact integers.
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

// The 32 query bytes twice, so that one register scores two rows.
DNC_VNNI static inline __m512i twice(const int8_t *bytes) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const void *)bytes));
}

// The scores of rows i ..< i + 16 (block = codes + 32·i).
DNC_VNNI static inline __m512 score16(const uint8_t *block, const float *scales, __m512i h, __m512i l, __m512i offset) {
    // After the reduction below, lanes hold rows 0 2 4 6 1 3 5 7 | 8 10 12 14 9 11 13 15: put
    // them back in order.
    const __m512i order = _mm512_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15);
    // A list is streamed from memory once per query: ask for the bytes 1 KiB ahead (the
    // hardware prefetcher alone leaves the scan waiting; docs/sparse-memory.md).
    for (int c = 0; c < 8; c++) _mm_prefetch((const char *)(block + 1024 + 64 * c), _MM_HINT_T0);
    __m512i sums[8];
    for (int r = 0; r < 8; r++) {
        const __m512i c = _mm512_loadu_si512((const void *)(block + 64 * r));
        const __m512i upper = _mm512_dpbusd_epi32(_mm512_setzero_si512(), c, h);
        sums[r] = _mm512_dpbusd_epi32(_mm512_slli_epi32(upper, 8), c, l);
    }
    // Each register holds two rows as 8 partial sums each; reduce four registers at a time
    // (transpose-and-add within 128-bit lanes), then the two halves of each row.
    __m512i four[2];
    for (int g = 0; g < 2; g++) {
        const __m512i a = sums[4 * g], b = sums[4 * g + 1], c = sums[4 * g + 2], d = sums[4 * g + 3];
        const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
        const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
        four[g] = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    }
    const __m512i even = _mm512_shuffle_i32x4(four[0], four[1], _MM_SHUFFLE(2, 0, 2, 0));
    const __m512i odd = _mm512_shuffle_i32x4(four[0], four[1], _MM_SHUFFLE(3, 1, 3, 1));
    const __m512i total = _mm512_sub_epi32(_mm512_permutexvar_epi32(order, _mm512_add_epi32(even, odd)), offset);
    return _mm512_mul_ps(_mm512_cvtepi32_ps(total), _mm512_loadu_ps(scales));
}

// One row, for the rows after the last whole block of sixteen.
static inline float score1(const uint8_t *row, float scale, const int8_t *high, const int8_t *low, int32_t offset_sum) {
    int32_t sum = 0;
    for (int j = 0; j < 32; j++) sum += (int32_t)row[j] * (256 * (int32_t)high[j] + (int32_t)low[j]);
    return scale * (float)(sum - offset_sum);
}

DNC_VNNI void dnc_scan_score32_avx512_vnni(const uint8_t *codes, const float *scales, int64_t rows,
                                           const int8_t *high, const int8_t *low, int32_t offset_sum, float *out) {
    const __m512i h = twice(high), l = twice(low), offset = _mm512_set1_epi32(offset_sum);
    int64_t i = 0;
    for (; i + 16 <= rows; i += 16) _mm512_storeu_ps(out + i, score16(codes + i * 32, scales + i, h, l, offset));
    for (; i < rows; i++) out[i] = score1(codes + i * 32, scales[i], high, low, offset_sum);
}

DNC_VNNI int64_t dnc_scan_score32_above_avx512_vnni(const uint8_t *codes, const float *scales, int64_t rows,
                                                    const int8_t *high, const int8_t *low, int32_t offset_sum,
                                                    float threshold, float *scores, int32_t *indices) {
    const __m512i h = twice(high), l = twice(low), offset = _mm512_set1_epi32(offset_sum);
    const __m512 bar = _mm512_set1_ps(threshold);
    const __m512i sixteen = _mm512_set1_epi32(16);
    __m512i position = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int64_t i = 0, kept = 0;
    for (; i + 16 <= rows; i += 16, position = _mm512_add_epi32(position, sixteen)) {
        const __m512 values = score16(codes + i * 32, scales + i, h, l, offset);
        const __mmask16 above = _mm512_cmp_ps_mask(values, bar, _CMP_GE_OQ);
        if (above == 0) continue;
        _mm512_mask_compressstoreu_ps(scores + kept, above, values);
        _mm512_mask_compressstoreu_epi32(indices + kept, above, position);
        kept += __builtin_popcount(above);
    }
    for (; i < rows; i++) {
        const float value = score1(codes + i * 32, scales[i], high, low, offset_sum);
        if (value >= threshold) { scores[kept] = value; indices[kept] = (int32_t)i; kept++; }
    }
    return kept;
}
#else
// dnc_scan_has_avx512_vnni() is 0 here, so callers never come.
void dnc_scan_score32_avx512_vnni(const uint8_t *codes, const float *scales, int64_t rows,
                                  const int8_t *high, const int8_t *low, int32_t offset_sum, float *out) {
    (void)codes; (void)scales; (void)rows; (void)high; (void)low; (void)offset_sum; (void)out;
    __builtin_trap();
}

int64_t dnc_scan_score32_above_avx512_vnni(const uint8_t *codes, const float *scales, int64_t rows,
                                           const int8_t *high, const int8_t *low, int32_t offset_sum,
                                           float threshold, float *scores, int32_t *indices) {
    (void)codes; (void)scales; (void)rows; (void)high; (void)low; (void)offset_sum; (void)threshold;
    (void)scores; (void)indices;
    __builtin_trap();
}
#endif
