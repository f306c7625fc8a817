// libxsmm's kernel types are variadic function pointers (`void (*)(const float*, const float*,
// float*, ...)`), which Swift cannot call, and its dispatch takes every argument by pointer.
// These wrappers give Swift a kernel as an opaque pointer and call it with the three operands.
#include <libxsmm.h>

/// A column-major kernel C = op(A)·op(B) (alpha 1, beta 0 or 1), no prefetch, or NULL when
/// libxsmm cannot generate one for this shape and these flags.
static inline const void *dnc_xsmm_sdispatch(int m, int n, int k, int lda, int ldb, int ldc,
                                             float beta, int flags) {
    libxsmm_blasint M = m, N = n, K = k, LDA = lda, LDB = ldb, LDC = ldc;
    float alpha = 1;
    int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;  // kernels called with three operands only
    return (const void *)libxsmm_smmdispatch(M, N, K, &LDA, &LDB, &LDC, &alpha, &beta, &flags, &prefetch);
}

static inline const void *dnc_xsmm_ddispatch(int m, int n, int k, int lda, int ldb, int ldc,
                                             double beta, int flags) {
    libxsmm_blasint M = m, N = n, K = k, LDA = lda, LDB = ldb, LDC = ldc;
    double alpha = 1;
    int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
    return (const void *)libxsmm_dmmdispatch(M, N, K, &LDA, &LDB, &LDC, &alpha, &beta, &flags, &prefetch);
}

// libxsmm 1.17's JIT kernels return with the upper halves of the vector registers dirty (no
// vzeroupper). The Swift code of a portable build is SSE (non-VEX), and on this CPU every SSE
// instruction after that pays for the dirty state: in a C test (gcc -O2 -mno-avx), an SSE loop
// run after each 64×4×64 kernel call took 89 µs instead of 29, and dnc-paper's element-wise
// memory code ran about 2× slower (perf sample counts). Clearing the upper state after each call costs one
// instruction.
static inline void dnc_xsmm_clear_upper(void) {
#if defined(__x86_64__)
    __asm__ volatile("vzeroupper" ::: "memory");
#endif
}

static inline void dnc_xsmm_scall(const void *kernel, const float *a, const float *b, float *c) {
    ((libxsmm_smmfunction)kernel)(a, b, c);
    dnc_xsmm_clear_upper();
}

static inline void dnc_xsmm_dcall(const void *kernel, const double *a, const double *b, double *c) {
    ((libxsmm_dmmfunction)kernel)(a, b, c);
    dnc_xsmm_clear_upper();
}

static inline int dnc_xsmm_flag_trans_a(void) { return LIBXSMM_GEMM_FLAG_TRANS_A; }
static inline int dnc_xsmm_flag_trans_b(void) { return LIBXSMM_GEMM_FLAG_TRANS_B; }
static inline const char *dnc_xsmm_version(void) { return LIBXSMM_CONFIG_VERSION; }
