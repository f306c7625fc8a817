#include "dnc_kernel_prelude.cuh"

/* The temporal link matrix update for a whole batch (docs/dense-memory.md, Temporal link matrix
 * and precedence; the CPU version is TemporalLinkage.linkForward in Sources/Memories):
 *   L[b, i, j] ← (1 − w_i − w_j)·L[b, i, j] + w_i·p_j  for i ≠ j,  L[b, i, i] = 0,
 * with w the new write weights w^w_t and p the old precedence p_{t−1}. link is B×N×N (in place),
 * write_weights and precedence B×N.
 *
 * Launch: one block per (row i, sample b), grid (N, B); any blockDim.x; no shared memory.
 * Threads stride over the row's columns, so a warp reads consecutive elements.
 */
DNC_KERNEL DNC_NAME(dnc_link_update)(DNC_REAL *link, const DNC_REAL *write_weights, const DNC_REAL *precedence, int cells) {
    const int row = blockIdx.x, sample = blockIdx.y;
    DNC_REAL *l = link + ((dnc_index)sample * cells + row) * cells;
    const DNC_REAL *w = write_weights + (dnc_index)sample * cells;
    const DNC_REAL *p = precedence + (dnc_index)sample * cells;
    const DNC_REAL wi = w[row];
    DNC_FOR_EACH_THREAD
        for (int j = threadIdx.x; j < cells; j += blockDim.x) l[j] = j == row ? (DNC_REAL)0 : (1 - wi - w[j]) * l[j] + wi * p[j];
    DNC_END_FOR_EACH_THREAD
}

/* The precedence update after the link update (TemporalLinkage.precedenceForward):
 *   p[b, :] ← (1 − Σ_i w[b, i])·p[b, :] + w[b, :].
 * Launch: one block per sample, grid (B); blockDim.x a power of two; blockDim.x reals of
 * dynamic shared memory for the sum.
 */
DNC_KERNEL DNC_NAME(dnc_precedence_update)(DNC_REAL *precedence, const DNC_REAL *write_weights, int cells) {
    DNC_SHARED_ARRAY(DNC_REAL, sums);
    const int sample = blockIdx.x;
    DNC_REAL *p = precedence + (dnc_index)sample * cells;
    const DNC_REAL *w = write_weights + (dnc_index)sample * cells;
    DNC_FOR_EACH_THREAD
        DNC_REAL sum = 0;
        for (int c = threadIdx.x; c < cells; c += blockDim.x) sum += w[c];
        sums[threadIdx.x] = sum;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM(sums);
    DNC_FOR_EACH_THREAD
        const DNC_REAL keep = 1 - sums[0];
        for (int c = threadIdx.x; c < cells; c += blockDim.x) p[c] = keep * p[c] + w[c];
    DNC_END_FOR_EACH_THREAD
}
