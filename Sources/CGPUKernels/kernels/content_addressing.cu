#include "dnc_kernel_prelude.cuh"

/* Content addressing forward for a whole batch (docs/dense-memory.md, Content addressing; the
 * CPU version is Sources/Memories/ContentAddressing.swift):
 *   cosine[b, h, m]  = M[b, m]·k[b, h] / (n_m κ + ε),  n_m = sqrt(Σ M[b, m]² + shift), κ likewise,
 *   weights[b, h, :] = softmax_m(β[b, h] · cosine[b, h, :]),
 * with ε = 1e-6 and shift 0 (pytorch-dnc's plain norms) or ε (DeepMind's). memory is B×N×W,
 * keys B×H×W, strengths B×H, cosine and weights B×H×N, all row-major.
 *
 * Launch: one block per (head, sample), grid (H, B); blockDim.x a power of two (the reductions
 * halve it); 2·blockDim.x reals of dynamic shared memory. Threads stride over the N rows. The
 * softmax subtracts the row's maximum before exponentiating, as the CPU softmax does.
 */
DNC_KERNEL DNC_NAME(dnc_content_addressing_forward)(const DNC_REAL *memory, const DNC_REAL *keys, const DNC_REAL *strengths,
                                                    int cells, int width, int heads, DNC_REAL norm_shift,
                                                    DNC_REAL *cosine, DNC_REAL *weights) {
    DNC_SHARED_ARRAY(DNC_REAL, shared);
    DNC_REAL *maxima = shared, *sums = shared + blockDim.x;
    const DNC_REAL epsilon = (DNC_REAL)1e-6;
    const int head = blockIdx.x, sample = blockIdx.y;
    const DNC_REAL *rows = memory + (dnc_index)sample * cells * width;
    const DNC_REAL *key = keys + ((dnc_index)sample * heads + head) * width;
    const DNC_REAL strength = strengths[sample * heads + head];
    DNC_REAL *cosine_row = cosine + ((dnc_index)sample * heads + head) * cells;
    DNC_REAL *weight_row = weights + ((dnc_index)sample * heads + head) * cells;

    /* Cosines and β·cos (in weight_row); each thread's largest β·cos in maxima. */
    DNC_FOR_EACH_THREAD
        DNC_REAL key_squares = 0;
        for (int j = 0; j < width; j++) key_squares += key[j] * key[j];
        const DNC_REAL key_norm = DNC_SQRT(key_squares + norm_shift);
        DNC_REAL largest = DNC_REAL_LOWEST;
        for (int m = threadIdx.x; m < cells; m += blockDim.x) {
            const DNC_REAL *row = rows + (dnc_index)m * width;
            DNC_REAL dot = 0, squares = 0;
            for (int j = 0; j < width; j++) {
                dot += row[j] * key[j];
                squares += row[j] * row[j];
            }
            const DNC_REAL c = dot / (DNC_SQRT(squares + norm_shift) * key_norm + epsilon);
            const DNC_REAL z = strength * c;
            cosine_row[m] = c;
            weight_row[m] = z;
            if (z > largest) largest = z;
        }
        maxima[threadIdx.x] = largest;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    /* The row's maximum into maxima[0] (tree reduction). */
    DNC_BLOCK_MAX(maxima);
    /* exp(z − max), and each thread's partial sum in sums. */
    DNC_FOR_EACH_THREAD
        const DNC_REAL top = maxima[0];
        DNC_REAL sum = 0;
        for (int m = threadIdx.x; m < cells; m += blockDim.x) {
            const DNC_REAL e = DNC_EXP(weight_row[m] - top);
            weight_row[m] = e;
            sum += e;
        }
        sums[threadIdx.x] = sum;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM(sums);
    DNC_FOR_EACH_THREAD
        const DNC_REAL total = sums[0];
        for (int m = threadIdx.x; m < cells; m += blockDim.x) weight_row[m] /= total;
    DNC_END_FOR_EACH_THREAD
}
