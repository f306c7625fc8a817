// libxsmm's kernel types are variadic function pointers (`void (*)(const float*, const float*,
// float*, ...)`), which Swift cannot call, and its dispatch takes every argument by pointer.
// These wrappers give Swift a kernel as an opaque pointer and call it with the three operands.
#include <libxsmm.h>

#include <stdint.h>
#include <string.h>

// libxsmm's dispatch finds a generated kernel again by hashing its descriptor and looking it up in
// a registry shared by all threads: about 45 ns a call here (C loop over six shapes, one thread),
// as long as the 4×16×20 product it then runs (50 ns). The memories of the small configurations
// call a few dozen shapes thousands of times a step, so each thread remembers what dispatch gave
// it in a small table of its own (thread-local: no lock, no sharing). Kernels live as long as the
// process (libxsmm frees them only at exit), so a remembered pointer stays valid.
/// What names a kernel: its kind and every argument of its dispatch (beta by its bits).
typedef struct {
    int kind, m, n, k, lda, ldb, ldc, flags;
    uint64_t beta_bits;
} dnc_xsmm_memo_key;

typedef struct {
    int used;
    dnc_xsmm_memo_key key;
    const void *kernel;  // NULL when libxsmm has none for the key (remembered too)
} dnc_xsmm_memo;

enum { dnc_xsmm_memo_slots = 256 };
enum { dnc_xsmm_kind_sgemm = 1, dnc_xsmm_kind_dgemm = 2, dnc_xsmm_kind_transpose = 3 };

/// This thread's table. A static inside a function, not at file scope: Swift's importer emits the
/// functions of a header it calls, and a file-scope static they use was left undefined.
static inline dnc_xsmm_memo *dnc_xsmm_memo_table(void) {
    static _Thread_local dnc_xsmm_memo memos[dnc_xsmm_memo_slots];
    return memos;
}

/// The slot `key` maps to (direct-mapped: a colliding key replaces the entry), and whether it
/// holds `key` now.
static inline dnc_xsmm_memo *dnc_xsmm_memo_find(const dnc_xsmm_memo_key *key, int *found) {
    const uint64_t parts[9] = {(uint32_t)key->kind, (uint32_t)key->m, (uint32_t)key->n, (uint32_t)key->k,
                               (uint32_t)key->lda, (uint32_t)key->ldb, (uint32_t)key->ldc, (uint32_t)key->flags,
                               key->beta_bits};
    uint64_t h = 0;
    for (int i = 0; i < 9; i++) h = (h ^ parts[i]) * 0x9E3779B97F4A7C15ull;
    dnc_xsmm_memo *memo = &dnc_xsmm_memo_table()[(h >> 32) % dnc_xsmm_memo_slots];
    const dnc_xsmm_memo_key *held = &memo->key;
    *found = memo->used && held->kind == key->kind && held->m == key->m && held->n == key->n && held->k == key->k
        && held->lda == key->lda && held->ldb == key->ldb && held->ldc == key->ldc && held->flags == key->flags
        && held->beta_bits == key->beta_bits;
    return memo;
}

/// A column-major kernel C = op(A)·op(B) (alpha 1, beta 0 or 1), no prefetch, or NULL when
/// libxsmm cannot generate one for this shape and these flags (remembered too).
static inline const void *dnc_xsmm_sdispatch(int m, int n, int k, int lda, int ldb, int ldc,
                                             float beta, int flags) {
    uint32_t bits;
    memcpy(&bits, &beta, sizeof bits);
    const dnc_xsmm_memo_key key = {dnc_xsmm_kind_sgemm, m, n, k, lda, ldb, ldc, flags, bits};
    int found;
    dnc_xsmm_memo *memo = dnc_xsmm_memo_find(&key, &found);
    if (found) return memo->kernel;
    libxsmm_blasint M = m, N = n, K = k, LDA = lda, LDB = ldb, LDC = ldc;
    float alpha = 1;
    int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;  // kernels called with three operands only
    const void *kernel = (const void *)libxsmm_smmdispatch(M, N, K, &LDA, &LDB, &LDC, &alpha, &beta, &flags, &prefetch);
    const dnc_xsmm_memo entry = {1, key, kernel};
    *memo = entry;
    return kernel;
}

static inline const void *dnc_xsmm_ddispatch(int m, int n, int k, int lda, int ldb, int ldc,
                                             double beta, int flags) {
    uint64_t bits;
    memcpy(&bits, &beta, sizeof bits);
    const dnc_xsmm_memo_key key = {dnc_xsmm_kind_dgemm, m, n, k, lda, ldb, ldc, flags, bits};
    int found;
    dnc_xsmm_memo *memo = dnc_xsmm_memo_find(&key, &found);
    if (found) return memo->kernel;
    libxsmm_blasint M = m, N = n, K = k, LDA = lda, LDB = ldb, LDC = ldc;
    double alpha = 1;
    int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
    const void *kernel = (const void *)libxsmm_dmmdispatch(M, N, K, &LDA, &LDB, &LDC, &alpha, &beta, &flags, &prefetch);
    const dnc_xsmm_memo entry = {1, key, kernel};
    *memo = entry;
    return kernel;
}

/// A JIT transpose of a column-major rows×columns matrix of `typesize`-byte elements into a
/// columns×rows one with leading dimension `ldo` (the input's leading dimension is given at the
/// call), or NULL when libxsmm generates none.
static inline const void *dnc_xsmm_transpose_dispatch(unsigned typesize, unsigned rows, unsigned columns, unsigned ldo) {
    const dnc_xsmm_memo_key key = {dnc_xsmm_kind_transpose, (int)rows, (int)columns, 0, 0, 0, (int)ldo, 0, typesize};
    int found;
    dnc_xsmm_memo *memo = dnc_xsmm_memo_find(&key, &found);
    if (found) return memo->kernel;
    libxsmm_descriptor_blob blob;
    const libxsmm_trans_descriptor *descriptor = libxsmm_trans_descriptor_init(&blob, typesize, rows, columns, ldo);
    const void *kernel = descriptor ? (const void *)libxsmm_dispatch_trans(descriptor) : NULL;
    const dnc_xsmm_memo entry = {1, key, kernel};
    *memo = entry;
    return kernel;
}

/// The most elements of B that `dnc_xsmm_*gemm_transposed_b` copies (to its stack: 16 KiB of
/// Float, 32 KiB of Double).
enum { dnc_xsmm_transposed_b_limit = 4096 };

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

// libxsmm 1.17 generates no kernel with a transposed A (its own A, our B in the row-major
// product), so the row-major C = A·Bᵀ cannot go to it directly. For a small B a transposed copy
// is cheaper than OpenBLAS's call: at the memory's 4×16×20 (keys by a dnc-small memory) a JIT
// transpose of B and the A·B kernel took 84 ns against 250 for OpenBLAS's A·Bᵀ (C loop,
// kernels dispatched once; see ProductPath for the sizes where the copy stops paying).

/// Row-major C = A·Bᵀ + beta·C (A m×k, B n×k, beta 0 or 1) through a JIT transpose of B into a
/// stack buffer and the A·B kernel. Returns 0, having written nothing, when B has more than
/// `dnc_xsmm_transposed_b_limit` elements or libxsmm has no kernel for the shape.
static inline int dnc_xsmm_sgemm_transposed_b(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                                              float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0 || k <= 0 || (long)n * k > dnc_xsmm_transposed_b_limit) return 0;
    // B row-major n×k is column-major k×n (leading dimension ldb); its transpose, column-major
    // n×k with leading dimension n, is Bᵀ row-major k×n with rows of n.
    const void *transpose = dnc_xsmm_transpose_dispatch(sizeof(float), (unsigned)k, (unsigned)n, (unsigned)n);
    // Row-major C = A·Bᵀ is column-major Cᵀ = (Bᵀ)ᵀ·Aᵀ: libxsmm's A is the copy, its B is our A.
    const void *product = dnc_xsmm_sdispatch(n, m, k, n, lda, ldc, beta, 0);
    if (!transpose || !product) return 0;
    float copy[dnc_xsmm_transposed_b_limit];
    unsigned ldi = (unsigned)ldb, ldo = (unsigned)n;
    ((libxsmm_xtransfunction)transpose)(b, &ldi, copy, &ldo);
    ((libxsmm_smmfunction)product)(copy, a, c);
    dnc_xsmm_clear_upper();
    return 1;
}

static inline int dnc_xsmm_dgemm_transposed_b(int m, int n, int k, const double *a, int lda, const double *b, int ldb,
                                              double beta, double *c, int ldc) {
    if (m <= 0 || n <= 0 || k <= 0 || (long)n * k > dnc_xsmm_transposed_b_limit) return 0;
    const void *transpose = dnc_xsmm_transpose_dispatch(sizeof(double), (unsigned)k, (unsigned)n, (unsigned)n);
    const void *product = dnc_xsmm_ddispatch(n, m, k, n, lda, ldc, beta, 0);
    if (!transpose || !product) return 0;
    double copy[dnc_xsmm_transposed_b_limit];
    unsigned ldi = (unsigned)ldb, ldo = (unsigned)n;
    ((libxsmm_xtransfunction)transpose)(b, &ldi, copy, &ldo);
    ((libxsmm_dmmfunction)product)(copy, a, c);
    dnc_xsmm_clear_upper();
    return 1;
}

static inline int dnc_xsmm_flag_trans_a(void) { return LIBXSMM_GEMM_FLAG_TRANS_A; }
static inline int dnc_xsmm_flag_trans_b(void) { return LIBXSMM_GEMM_FLAG_TRANS_B; }
static inline const char *dnc_xsmm_version(void) { return LIBXSMM_CONFIG_VERSION; }
static inline int dnc_xsmm_transposed_b_max_elements(void) { return dnc_xsmm_transposed_b_limit; }
