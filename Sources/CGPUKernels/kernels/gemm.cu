#include "dnc_kernel_prelude.cuh"

/* Dense matrix products and their small companions for the controller and the output layers
 * (GPUProducts and GPULinear in Sources/GPUTraining; the CPU counterparts are Kernels.gemm,
 * Kernels.addRowVector and Kernels.accumulateColumnSums in Sources/Numerics).
 *
 * Every matrix is row-major with an explicit row stride (ld). Deterministic: each output is
 * summed by one thread in increasing k, each column sum by a fixed partition and a fixed tree,
 * so results are equal from run to run (no atomics).
 */

#ifndef DNC_GEMM_HELPERS
#define DNC_GEMM_HELPERS
/* Threads per block of every product kernel: a 16×16 grid of threads over the C tile. */
#define DNC_GEMM_THREADS 256
/* The depth of the k slices staged in shared memory. */
#define DNC_GEMM_TILE_K 16
/* At most 4×4 outputs per thread (a 64×64 tile). */
#define DNC_GEMM_OUTPUTS 16
#ifdef DNC_KERNEL_EMULATION
#define DNC_GEMM_DEVICE static inline
/* A thread's running sums cross the barriers of the k loop. On the GPU they are the thread's
 * registers; in the emulation a block's locals end with its thread loop, so each emulated
 * thread keeps its sums in its own slice of a per-CPU-thread array instead (the prelude's rule 2
 * asks for shared memory, which would cost the GPU a shared round trip per product term). */
#define DNC_GEMM_ACCUMULATORS(name) static _Thread_local DNC_REAL name##_of_threads[DNC_GEMM_THREADS * DNC_GEMM_OUTPUTS]
#define DNC_GEMM_ACCUMULATOR(name, i) name##_of_threads[threadIdx.x * DNC_GEMM_OUTPUTS + (i)]
#define DNC_GEMM_UNROLL
#else
#define DNC_GEMM_DEVICE static __device__ __forceinline__
#define DNC_GEMM_ACCUMULATORS(name) DNC_REAL name[DNC_GEMM_OUTPUTS]
#define DNC_GEMM_ACCUMULATOR(name, i) name[i]
#define DNC_GEMM_UNROLL _Pragma("unroll")
#endif
#endif

/* One tile_m × tile_n tile of C = alpha·op(A)·op(B) + beta·C (+ bias broadcast over the rows),
 * op(A) m×k, op(B) k×n; the block's tile is blockIdx.x (row-major over the tiles). tile_m and
 * tile_n are multiples of 16 up to 64, constants at every call, so the loops over a thread's
 * outputs unroll and its sums stay in registers. Thread (tr, tc) = (t / 16, t % 16) owns rows
 * tr + 16i and columns tc + 16j of the tile: the 16 threads of a half-warp read 16 consecutive
 * B values and one broadcast A value from shared memory per term.
 * Shared memory: TILE_K × (tile_m + 1) of op(A) then TILE_K × (tile_n + 1) of op(B), k-major,
 * padded by one so that the transposing stores do not all hit one bank. Each slice is loaded
 * in the order that makes consecutive threads read consecutive addresses of A or B as stored.
 * With k2 > 0 the k range continues over a second pair of operands (a2, b2: op(A2) m×k2, op(B2)
 * k2×n, same transposes), C = alpha·(op(A)·op(B) + op(A2)·op(B2)) + beta·C in one pass: a
 * recurrent layer's x·W_ihᵀ + h·W_hhᵀ without concatenating [x | h] or [W_ih | W_hh].
 * (The kernel declares the shared array and passes it: a second extern declaration inside this
 * internal function would conflict with the kernel's under NVRTC.) */
DNC_GEMM_DEVICE void DNC_NAME(dnc_gemm_tile)(DNC_REAL *shared, const int tile_m, const int tile_n, int trans_a,
                                             int trans_b, int m, int n, int k, DNC_REAL alpha, const DNC_REAL *a, int lda,
                                             const DNC_REAL *b, int ldb, DNC_REAL beta, DNC_REAL *c, int ldc,
                                             const DNC_REAL *bias, int k2, const DNC_REAL *a2, int lda2,
                                             const DNC_REAL *b2, int ldb2) {
    const int depth_total = k + k2;
    DNC_REAL *as = shared;
    DNC_REAL *bs = shared + DNC_GEMM_TILE_K * (tile_m + 1);
    const int tiles_n = (n + tile_n - 1) / tile_n;
    const int row0 = (int)(blockIdx.x / tiles_n) * tile_m, column0 = (int)(blockIdx.x % tiles_n) * tile_n;
    const int rows_per_thread = tile_m / 16, columns_per_thread = tile_n / 16;
    DNC_GEMM_ACCUMULATORS(sums);
    DNC_FOR_EACH_THREAD
        DNC_GEMM_UNROLL
        for (int i = 0; i < DNC_GEMM_OUTPUTS; i++) DNC_GEMM_ACCUMULATOR(sums, i) = 0;
    DNC_END_FOR_EACH_THREAD
    for (int k0 = 0; k0 < depth_total; k0 += DNC_GEMM_TILE_K) {
        DNC_FOR_EACH_THREAD
            for (int e = threadIdx.x; e < DNC_GEMM_TILE_K * tile_m; e += blockDim.x) {
                const int r = trans_a ? e % tile_m : e / DNC_GEMM_TILE_K;
                const int kk = trans_a ? e / tile_m : e % DNC_GEMM_TILE_K;
                const int gr = row0 + r, gk = k0 + kk, g2 = gk - k;
                DNC_REAL value = 0;
                if (gr < m && gk < k) value = a[trans_a ? (dnc_index)gk * lda + gr : (dnc_index)gr * lda + gk];
                else if (gr < m && gk < depth_total) value = a2[trans_a ? (dnc_index)g2 * lda2 + gr : (dnc_index)gr * lda2 + g2];
                as[kk * (tile_m + 1) + r] = value;
            }
            for (int e = threadIdx.x; e < DNC_GEMM_TILE_K * tile_n; e += blockDim.x) {
                const int col = trans_b ? e / DNC_GEMM_TILE_K : e % tile_n;
                const int kk = trans_b ? e % DNC_GEMM_TILE_K : e / tile_n;
                const int gc = column0 + col, gk = k0 + kk, g2 = gk - k;
                DNC_REAL value = 0;
                if (gc < n && gk < k) value = b[trans_b ? (dnc_index)gc * ldb + gk : (dnc_index)gk * ldb + gc];
                else if (gc < n && gk < depth_total) value = b2[trans_b ? (dnc_index)gc * ldb2 + g2 : (dnc_index)g2 * ldb2 + gc];
                bs[kk * (tile_n + 1) + col] = value;
            }
        DNC_END_FOR_EACH_THREAD
        DNC_BARRIER();
        DNC_FOR_EACH_THREAD
            const int tr = threadIdx.x / 16, tc = threadIdx.x % 16;
            const int depth = depth_total - k0 < DNC_GEMM_TILE_K ? depth_total - k0 : DNC_GEMM_TILE_K;
            for (int kk = 0; kk < depth; kk++) {
                DNC_GEMM_UNROLL
                for (int i = 0; i < rows_per_thread; i++) {
                    const DNC_REAL left = as[kk * (tile_m + 1) + tr + 16 * i];
                    DNC_GEMM_UNROLL
                    for (int j = 0; j < columns_per_thread; j++)
                        DNC_GEMM_ACCUMULATOR(sums, i * columns_per_thread + j) += left * bs[kk * (tile_n + 1) + tc + 16 * j];
                }
            }
        DNC_END_FOR_EACH_THREAD
        DNC_BARRIER();
    }
    DNC_FOR_EACH_THREAD
        const int tr = threadIdx.x / 16, tc = threadIdx.x % 16;
        DNC_GEMM_UNROLL
        for (int i = 0; i < rows_per_thread; i++) {
            const int r = row0 + tr + 16 * i;
            DNC_GEMM_UNROLL
            for (int j = 0; j < columns_per_thread; j++) {
                const int col = column0 + tc + 16 * j;
                if (r < m && col < n) {
                    DNC_REAL *out = c + (dnc_index)r * ldc + col;
                    DNC_REAL value = alpha * DNC_GEMM_ACCUMULATOR(sums, i * columns_per_thread + j);
                    /* beta 0 never reads C, which may hold garbage (NaN) */
                    if (beta != 0) value += beta * *out;
                    if (bias) value += bias[col];
                    *out = value;
                }
            }
        }
    DNC_END_FOR_EACH_THREAD
}

/* C = alpha·op(A)·op(B) + beta·C (+ bias[j] on every row when bias is not null; + the second
 * product op(A2)·op(B2) when k2 > 0, see dnc_gemm_tile), for gridDim.y
 * independent products: product y reads A + y·stride_a, B + y·stride_b and writes C + y·stride_c.
 * op(A) is m×k (A stored k×m when trans_a), op(B) k×n (B stored n×k when trans_b).
 * Launch: grid (⌈m/64⌉·⌈n/64⌉, batch) × 256 threads; shared 16·(65 + 65) reals.
 */
DNC_KERNEL DNC_NAME(dnc_gemm)(int trans_a, int trans_b, int m, int n, int k, DNC_REAL alpha, const DNC_REAL *a, int lda,
                              int stride_a, const DNC_REAL *b, int ldb, int stride_b, DNC_REAL beta, DNC_REAL *c, int ldc,
                              int stride_c, const DNC_REAL *bias, int k2, const DNC_REAL *a2, int lda2,
                              const DNC_REAL *b2, int ldb2) {
    DNC_SHARED_ARRAY(DNC_REAL, shared);
    const dnc_index y = blockIdx.y;
    DNC_NAME(dnc_gemm_tile)(shared, 64, 64, trans_a, trans_b, m, n, k, alpha, a + y * stride_a, lda, b + y * stride_b, ldb, beta,
                            c + y * stride_c, ldc, bias,
                            k2, a2 + y * stride_a, lda2, b2 + y * stride_b, ldb2);
}

/* The same product with 16×64 tiles, for products of a few rows (a batch of ≤ 16 samples by a
 * weight matrix), where 64-row tiles would leave three quarters of the threads idle and a
 * quarter of the blocks.
 * Launch: grid (⌈m/16⌉·⌈n/64⌉, batch) × 256 threads; shared 16·(17 + 65) reals.
 */
DNC_KERNEL DNC_NAME(dnc_gemm_rows16)(int trans_a, int trans_b, int m, int n, int k, DNC_REAL alpha, const DNC_REAL *a,
                                     int lda, int stride_a, const DNC_REAL *b, int ldb, int stride_b, DNC_REAL beta,
                                     DNC_REAL *c, int ldc, int stride_c, const DNC_REAL *bias, int k2, const DNC_REAL *a2, int lda2,
                              const DNC_REAL *b2, int ldb2) {
    DNC_SHARED_ARRAY(DNC_REAL, shared);
    const dnc_index y = blockIdx.y;
    DNC_NAME(dnc_gemm_tile)(shared, 16, 64, trans_a, trans_b, m, n, k, alpha, a + y * stride_a, lda, b + y * stride_b, ldb, beta,
                            c + y * stride_c, ldc, bias,
                            k2, a2 + y * stride_a, lda2, b2 + y * stride_b, ldb2);
}

/* matrix[r, j] += vector[j] (matrix rows×columns, row stride ld).
 * Launch: grid (rows) × any; threads stride over the columns. */
DNC_KERNEL DNC_NAME(dnc_add_row_vector)(const DNC_REAL *vector, DNC_REAL *matrix, int columns, int ld) {
    DNC_REAL *row = matrix + (dnc_index)blockIdx.x * ld;
    DNC_FOR_EACH_THREAD
        for (int j = threadIdx.x; j < columns; j += blockDim.x) row[j] += vector[j];
    DNC_END_FOR_EACH_THREAD
}

/* into[j] += Σ_r matrix[r, j] (matrix rows×columns, row stride ld): the gradient of a bias
 * broadcast over rows. Block: 32 columns × (blockDim.x / 32) row groups; group g sums rows
 * g, g + groups, … in order (a warp reads 32 consecutive values of a row), then the groups'
 * sums meet in a fixed tree.
 * Launch: grid (⌈columns/32⌉) × 32·2^p threads (p ≥ 0); blockDim.x reals of shared memory. */
DNC_KERNEL DNC_NAME(dnc_accumulate_column_sums)(const DNC_REAL *matrix, int rows, int columns, int ld, DNC_REAL *into) {
    DNC_SHARED_ARRAY(DNC_REAL, partial);
    const int groups = (int)blockDim.x / 32;
    DNC_FOR_EACH_THREAD
        const int column = (int)blockIdx.x * 32 + (int)threadIdx.x % 32, group = (int)threadIdx.x / 32;
        DNC_REAL sum = 0;
        if (column < columns)
            for (int r = group; r < rows; r += groups) sum += matrix[(dnc_index)r * ld + column];
        partial[threadIdx.x] = sum;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    for (int half = groups / 2; half > 0; half /= 2) {
        DNC_FOR_EACH_THREAD
            if ((int)threadIdx.x < half * 32) partial[threadIdx.x] += partial[threadIdx.x + half * 32];
        DNC_END_FOR_EACH_THREAD
        DNC_BARRIER();
    }
    DNC_FOR_EACH_THREAD
        const int column = (int)blockIdx.x * 32 + (int)threadIdx.x;
        if (threadIdx.x < 32 && column < columns) into[column] += partial[threadIdx.x];
    DNC_END_FOR_EACH_THREAD
}

/* destination[r, j] = source[r, j] for a rows×columns block (row strides ld_source and
 * ld_destination): a strided input gathered into a tape's contiguous rows.
 * Launch: grid (rows) × any; threads stride over the columns. */
DNC_KERNEL DNC_NAME(dnc_copy_rows)(const DNC_REAL *source, int ld_source, DNC_REAL *destination, int ld_destination,
                                   int columns) {
    const DNC_REAL *from = source + (dnc_index)blockIdx.x * ld_source;
    DNC_REAL *to = destination + (dnc_index)blockIdx.x * ld_destination;
    DNC_FOR_EACH_THREAD
        for (int j = threadIdx.x; j < columns; j += blockDim.x) to[j] = from[j];
    DNC_END_FOR_EACH_THREAD
}
