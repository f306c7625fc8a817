#include "dnc_kernel_prelude.cuh"

/* Usage update and the sort-based allocation weighting for a whole batch (docs/dense-memory.md,
 * Usage and retention, Allocation; the CPU version is Allocation.usageForward and
 * Allocation.allocationForward in Sources/Memories):
 *   ψ_c = Π_i (1 − f_i·w^r_{i,c}),  u_t = (u + (1 − u)∘w^w_{t−1})∘ψ,  x = ε + (1 − ε)·u_t (ε = 1e-6),
 *   φ = the stable ascending order of x (ties: lower index first),
 *   a[φ_j] = (1 − x[φ_j])·P_j,  P_j = Π_{i<j} x[φ_i].
 * usage, write_weights B×N; read_weights B×R×N; free_gates B×R. Writes retention ψ, new_usage
 * u_t, order φ, sorted x[φ], prefix P and allocation a, each B×N (what the backward needs).
 *
 * Launch: one block per sample, grid (B); any blockDim.x; no shared memory. The sort is a rank
 * computation (each thread counts, for its cells, the keys (x, index) below its own: O(N²) work,
 * N-fold parallel, no data-dependent branches), which gives exactly the CPU's unique stable
 * order. The prefix product runs on one thread, in the CPU's order: it is N multiplications
 * against the rank's N², and so the allocation equals the CPU's to the last bit.
 */
DNC_KERNEL DNC_NAME(dnc_usage_allocation)(const DNC_REAL *usage, const DNC_REAL *write_weights, const DNC_REAL *read_weights,
                                          const DNC_REAL *free_gates, int cells, int read_heads,
                                          DNC_REAL *retention, DNC_REAL *new_usage, int *order, DNC_REAL *sorted,
                                          DNC_REAL *prefix, DNC_REAL *allocation) {
    const DNC_REAL epsilon = (DNC_REAL)1e-6;
    const int sample = blockIdx.x;
    const dnc_index offset = (dnc_index)sample * cells;
    const DNC_REAL *wr = read_weights + offset * read_heads;
    const DNC_REAL *f = free_gates + (dnc_index)sample * read_heads;
    /* Usage; x = ε + (1 − ε)·u_t kept in `prefix` until the scan overwrites it. */
    DNC_FOR_EACH_THREAD
        for (int c = threadIdx.x; c < cells; c += blockDim.x) {
            DNC_REAL psi = 1;
            for (int i = 0; i < read_heads; i++) psi *= 1 - f[i] * wr[(dnc_index)i * cells + c];
            const DNC_REAL u = usage[offset + c];
            const DNC_REAL updated = (u + (1 - u) * write_weights[offset + c]) * psi;
            retention[offset + c] = psi;
            new_usage[offset + c] = updated;
            prefix[offset + c] = epsilon + (1 - epsilon) * updated;
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    /* The rank of each cell's key (x_c, c): its place in the stable ascending order. */
    DNC_FOR_EACH_THREAD
        const DNC_REAL *x = prefix + offset;
        for (int c = threadIdx.x; c < cells; c += blockDim.x) {
            const DNC_REAL value = x[c];
            int rank = 0;
            for (int d = 0; d < cells; d++) rank += (x[d] < value) | ((x[d] == value) & (d < c));
            order[offset + rank] = c;
            sorted[offset + rank] = value;
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_FOR_EACH_THREAD
        if (threadIdx.x == 0) {
            DNC_REAL running = 1;
            for (int j = 0; j < cells; j++) {
                const DNC_REAL x = sorted[offset + j];
                prefix[offset + j] = running;
                allocation[offset + order[offset + j]] = (1 - x) * running;
                running *= x;
            }
        }
    DNC_END_FOR_EACH_THREAD
}
