#ifndef DNC_QUANTISED_SCAN_H
#define DNC_QUANTISED_SCAN_H
// The approximate index's first pass (DNCMemories' QuantisedRows) compiled for AVX-512 VNNI.
// Written in C because Swift cannot compile one function for an instruction set beyond the
// build's baseline (x86-64 SSE2) without target flags for the whole module, which would break
// the binary on older CPUs; C's `target` attribute does it per function, and the caller asks
// the CPU at run time whether the function may be called.
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU and operating system run AVX-512 F, BW and VNNI code, else 0.
int dnc_scan_has_avx512_vnni(void);

/// Scores `rows` rows of 32 four-bit codes against a query given as two signed bytes per
/// position, q_j = 256·high[j] + low[j]. Row i is the 16 bytes at codes + 16·i; byte b holds
/// code u_b in its low four bits and u_{16+b} in its high four bits:
///   out[i] = scales[i] · (float)(Σ_j u_j·q_j − offset_sum).
/// The sums are exact 32-bit integers, so the result equals, bit for bit, any other way of
/// computing the same formula. Only call it when dnc_scan_has_avx512_vnni() returned 1.
void dnc_scan_score_nibbles32_avx512_vnni(const uint8_t *codes, const float *scales, int64_t rows,
                                          const int8_t *high, const int8_t *low, int32_t offset_sum, float *out);

/// The same scores, but only those ≥ `threshold` are kept: for each such row i, in increasing i,
/// scores[c] = its score and indices[c] = i; returns how many (c runs from 0). The index's
/// first pass wants only the rows that can enter its shortlist, and most cannot.
int64_t dnc_scan_score_nibbles32_above_avx512_vnni(const uint8_t *codes, const float *scales, int64_t rows,
                                                   const int8_t *high, const int8_t *low, int32_t offset_sum,
                                                   float threshold, float *scores, int32_t *indices);

/// Asks for the first `bytes` bytes at `start` (at most 512) to be brought into the caches
/// (`prefetcht0` per 64-byte line): the index calls it for the next list it will scan. Swift
/// cannot name `_mm_prefetch`, a C macro.
void dnc_scan_prefetch(const void *start, int64_t bytes);

#ifdef __cplusplus
}
#endif
#endif
