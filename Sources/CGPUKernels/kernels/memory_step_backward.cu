#include "dnc_kernel_prelude.cuh"

/* Backward of one recorded dense memory step (memory_step.cu) for a whole batch, fused into one
 * launch (docs/dense-memory.md, "Backward pass"; the CPU version is DenseMemory.backwardStep and
 * DenseMemory.sampleBackward in Sources/Memories), the forward's mechanisms in reverse order:
 * read vectors, read weights, precedence, directional weightings and link (L_t recomputed from
 * the recorded L_{t−1}), read content, erase and add, write weights, write content, allocation
 * (through the recorded order), usage, and the interface activations: dℓ/dξ → dℓ/dẑ.
 *
 * Shapes: record, record_ints and layout as memory_step.cu writes them (this step's record);
 * read_vectors_gradient B×R·W; the state gradient (memory B×N×W, link B×N×N, precedence,
 * write_weights, usage B×N, read_weights B×R×N) holds dℓ/d(state after) and becomes
 * dℓ/d(state before), in place; interface_gradient B×S is written (dℓ/dẑ). Their rows are
 * read_gradient_stride and interface_gradient_stride apart (≥ R·W, ≥ S). scratch:
 * scratch_size ≥ 5·R·N + 7·N reals per sample. stop_gradient: DeepMind's stop of the gradient of
 * w^w_{t−1} through the usage. An inactive sample (its recorded flag) passes its state gradient
 * through unchanged and gets a zero interface gradient.
 *
 * Launch: grid (B); blockDim.x a power of two; shared memory 2·(3R + 2)·blockDim.x reals (two
 * reduction areas of 3R + 2 lanes, used in turn so that one is read while the other fills).
 */

/* Sections of a sample's record (memory_step.cu; the offsets come from Swift in `layout`). */
#define DNC_B_RAW 0
#define DNC_B_XI 1
#define DNC_B_M_PREV 2
#define DNC_B_L_PREV 3
#define DNC_B_P_PREV 4
#define DNC_B_WR_PREV 5
#define DNC_B_WW_PREV 6
#define DNC_B_U_PREV 7
#define DNC_B_RETENTION 8
#define DNC_B_WRITE_NORMS 10
#define DNC_B_WRITE_KEY_NORM 11
#define DNC_B_WRITE_COSINE 12
#define DNC_B_WRITE_CONTENT 13
#define DNC_B_SORTED 14
#define DNC_B_PREFIX 15
#define DNC_B_ALLOCATION 16
#define DNC_B_WW_NEW 17
#define DNC_B_M_NEW 18
#define DNC_B_FORWARD 19
#define DNC_B_BACKWARD 20
#define DNC_B_READ_NORMS 21
#define DNC_B_READ_KEY_NORMS 22
#define DNC_B_READ_COSINE 23
#define DNC_B_READ_CONTENT 24
#define DNC_B_WR_NEW 25


DNC_KERNEL DNC_NAME(dnc_memory_step_backward)(const DNC_REAL *record, const int *record_ints, const int *layout,
                                              const DNC_REAL *read_vectors_gradient, DNC_REAL *memory_gradient,
                                              DNC_REAL *link_gradient, DNC_REAL *precedence_gradient,
                                              DNC_REAL *read_weights_gradient, DNC_REAL *write_weights_gradient,
                                              DNC_REAL *usage_gradient, DNC_REAL *interface_gradient, DNC_REAL *scratch,
                                              int cells, int width, int read_heads, int record_size, int scratch_size,
                                              int squash, int stop_gradient, int read_gradient_stride,
                                              int interface_gradient_stride) {
    DNC_SHARED_ARRAY(DNC_REAL, shared);
    const DNC_REAL epsilon = (DNC_REAL)1e-6;
    const int n = cells, w = width, r = read_heads;
    DNC_INTERFACE_FIELDS(r, w);
    const int b = blockIdx.x;
    const int threads = (int)blockDim.x;
    const int lanes = 3 * r + 2;
    DNC_REAL *first = shared, *second = shared + (dnc_index)threads * lanes;

    const DNC_REAL *rec = record + (dnc_index)b * record_size;
    const int *order = record_ints + (dnc_index)b * (n + 1);
    const DNC_REAL *raw = rec + layout[DNC_B_RAW], *xi = rec + layout[DNC_B_XI];
    const DNC_REAL *m_prev = rec + layout[DNC_B_M_PREV], *l_prev = rec + layout[DNC_B_L_PREV];
    const DNC_REAL *p_prev = rec + layout[DNC_B_P_PREV], *wr_prev = rec + layout[DNC_B_WR_PREV];
    const DNC_REAL *ww_prev = rec + layout[DNC_B_WW_PREV], *u_prev = rec + layout[DNC_B_U_PREV];
    const DNC_REAL *retention = rec + layout[DNC_B_RETENTION];
    const DNC_REAL *write_norms = rec + layout[DNC_B_WRITE_NORMS], *write_key_norm = rec + layout[DNC_B_WRITE_KEY_NORM];
    const DNC_REAL *write_cosine = rec + layout[DNC_B_WRITE_COSINE], *write_content = rec + layout[DNC_B_WRITE_CONTENT];
    const DNC_REAL *sorted = rec + layout[DNC_B_SORTED], *prefix = rec + layout[DNC_B_PREFIX];
    const DNC_REAL *allocation = rec + layout[DNC_B_ALLOCATION], *ww_new = rec + layout[DNC_B_WW_NEW];
    const DNC_REAL *m_new = rec + layout[DNC_B_M_NEW], *forward = rec + layout[DNC_B_FORWARD];
    const DNC_REAL *backward = rec + layout[DNC_B_BACKWARD], *read_norms = rec + layout[DNC_B_READ_NORMS];
    const DNC_REAL *read_key_norms = rec + layout[DNC_B_READ_KEY_NORMS], *read_cosine = rec + layout[DNC_B_READ_COSINE];
    const DNC_REAL *read_content = rec + layout[DNC_B_READ_CONTENT], *wr_new = rec + layout[DNC_B_WR_NEW];

    DNC_REAL *gm = memory_gradient + (dnc_index)b * n * w, *gl = link_gradient + (dnc_index)b * n * n;
    DNC_REAL *gp = precedence_gradient + (dnc_index)b * n, *gr = read_weights_gradient + (dnc_index)b * r * n;
    DNC_REAL *gw_state = write_weights_gradient + (dnc_index)b * n, *gu = usage_gradient + (dnc_index)b * n;
    DNC_REAL *dxi = interface_gradient + (dnc_index)b * interface_gradient_stride;
    const DNC_REAL *dr = read_vectors_gradient + (dnc_index)b * read_gradient_stride;
    /* Scratch: dℓ/dw^r_t, dℓ/dF, dℓ/dB, dℓ/dc^r (then the cosine part), a^r (R×N each);
     * dℓ/dw^w_t, dℓ/dp_t, dℓ/du_t, dℓ/dc^w (then the cosine part), dℓ/da, a^w (N each). */
    DNC_REAL *k_scratch = scratch + (dnc_index)b * scratch_size;
    DNC_REAL *dwr_new = k_scratch, *d_forward = dwr_new + r * n, *d_backward = d_forward + r * n;
    DNC_REAL *d_read_content = d_backward + r * n, *a_read = d_read_content + r * n;
    DNC_REAL *dww = a_read + r * n, *dp_new = dww + n, *du = dp_new + n, *d_write_content = du + n;
    DNC_REAL *d_allocation = d_write_content + n, *a_write = d_allocation + n;
    const int is_active = order[n] != 0;

    /* Take the gradients of the state after the step (p, w^r are then zeroed to collect the
     * state before's); read vectors: dℓ/dw^r_t += dR·M_tᵀ, dℓ/dM_t += w^r_tᵀ·dR. */
    DNC_FOR_EACH_THREAD
        for (int k = threadIdx.x; k < s; k += threads) dxi[k] = 0;
        if (is_active) {
            for (int k = threadIdx.x; k < r * n; k += threads) {
                const int i = k / n, m = k % n;
                DNC_REAL sum = gr[k];
                for (int j = 0; j < w; j++) sum += dr[i * w + j] * m_new[(dnc_index)m * w + j];
                dwr_new[k] = sum;
                gr[k] = 0;
            }
            for (int c = threadIdx.x; c < n; c += threads) {
                dp_new[c] = gp[c];
                gp[c] = 0;
                dww[c] = gw_state[c];
                du[c] = gu[c];
            }
            for (dnc_index k = threadIdx.x; k < (dnc_index)n * w; k += threads) {
                const int m = (int)(k / w), j = (int)(k % w);
                DNC_REAL sum = 0;
                for (int i = 0; i < r; i++) sum += wr_new[i * n + m] * dr[i * w + j];
                gm[k] += sum;
            }
        }
    DNC_END_FOR_EACH_THREAD
    if (!is_active) return;
    DNC_BARRIER();
    /* Read weights → modes (3R lane partials), dℓ/dB, dℓ/dF, dℓ/dc^r; Σ w^w_t and ⟨dℓ/dp_t, p_{t−1}⟩ for the precedence. */
    DNC_FOR_EACH_THREAD
        for (int l = 0; l < lanes; l++) first[l * threads + threadIdx.x] = 0;
        for (int k = threadIdx.x; k < r * n; k += threads) {
            const int i = k / n;
            const DNC_REAL g = dwr_new[k];
            first[(3 * i) * threads + threadIdx.x] += g * backward[k];
            first[(3 * i + 1) * threads + threadIdx.x] += g * forward[k];
            first[(3 * i + 2) * threads + threadIdx.x] += g * read_content[k];
            d_backward[k] = xi[f_pi + 3 * i] * g;
            d_forward[k] = xi[f_pi + 3 * i + 1] * g;
            d_read_content[k] = xi[f_pi + 3 * i + 2] * g;
        }
        for (int c = threadIdx.x; c < n; c += threads) {
            first[(3 * r) * threads + threadIdx.x] += ww_new[c];
            first[(3 * r + 1) * threads + threadIdx.x] += dp_new[c] * p_prev[c];
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM_LANES(first, lanes);
    /* Modes; precedence backward; Ĝ = dℓ/dL_t + dFᵀ·W + Wᵀ·dB with a zero diagonal (in the link
     * gradient); per-head ⟨dℓ/dc^r, c^r⟩ for the read content's softmax. */
    DNC_FOR_EACH_THREAD
        for (int k = threadIdx.x; k < 3 * r; k += threads) dxi[f_pi + k] += first[k * threads];
        const DNC_REAL keep = 1 - first[(3 * r) * threads], inner = first[(3 * r + 1) * threads];
        for (int c = threadIdx.x; c < n; c += threads) {
            gp[c] += keep * dp_new[c];
            dww[c] += dp_new[c] - inner;
        }
        for (dnc_index k = threadIdx.x; k < (dnc_index)n * n; k += threads) {
            const int i = (int)(k / n), j = (int)(k % n);
            DNC_REAL sum = gl[k];
            for (int h = 0; h < r; h++) sum += d_forward[h * n + i] * wr_prev[h * n + j] + wr_prev[h * n + i] * d_backward[h * n + j];
            gl[k] = i == j ? 0 : sum;
        }
        for (int i = 0; i < r; i++) second[i * threads + threadIdx.x] = 0;
        for (int k = threadIdx.x; k < r * n; k += threads) second[(k / n) * threads + threadIdx.x] += d_read_content[k] * read_content[k];
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM_LANES(second, r);
    /* Link rows and columns into dℓ/dw^w_t and dℓ/dp_{t−1}; dℓ/dw^r_{t−1} += dF·L_t + dB·L_tᵀ (L_t
     * recomputed); the read content: dz = c ⊙ (dc − ⟨dc, c⟩), a = β·dz/D, dz·cos/D; lane
     * partials of dℓ/dβ_i and the key-norm scales. */
    DNC_FOR_EACH_THREAD
        for (int c = threadIdx.x; c < n; c += threads) {
            DNC_REAL row = 0, column = 0, precedence_sum = 0;
            for (int j = 0; j < n; j++) row += gl[(dnc_index)c * n + j] * (p_prev[j] - l_prev[(dnc_index)c * n + j]);
            for (int i = 0; i < n; i++) {
                const DNC_REAL g = gl[(dnc_index)i * n + c];
                column += g * l_prev[(dnc_index)i * n + c];
                precedence_sum += g * ww_new[i];
            }
            dww[c] += row - column;
            gp[c] += precedence_sum;
        }
        for (int k = threadIdx.x; k < r * n; k += threads) {
            const int h = k / n, m = k % n;
            DNC_REAL sum = 0;
            for (int q = 0; q < n; q++) {
                const DNC_REAL wq = ww_new[q], wm = ww_new[m];
                const DNC_REAL l_qm = q == m ? 0 : (1 - wq - wm) * l_prev[(dnc_index)q * n + m] + wq * p_prev[m];
                const DNC_REAL l_mq = q == m ? 0 : (1 - wm - wq) * l_prev[(dnc_index)m * n + q] + wm * p_prev[q];
                sum += d_forward[h * n + q] * l_qm + d_backward[h * n + q] * l_mq;
            }
            gr[k] += sum;
        }
        for (int l = 0; l < 2 * r; l++) first[l * threads + threadIdx.x] = 0;
        for (int k = threadIdx.x; k < r * n; k += threads) {
            const int i = k / n, m = k % n;
            const DNC_REAL dz = read_content[k] * (d_read_content[k] - second[i * threads]);
            const DNC_REAL cosine = read_cosine[k];
            first[i * threads + threadIdx.x] += dz * cosine;
            const DNC_REAL inverse = 1 / (read_norms[m] * read_key_norms[i] + epsilon);
            const DNC_REAL a = xi[f_rs + i] * dz * inverse;
            a_read[k] = a;
            d_read_content[k] = a * cosine;
            first[(r + i) * threads + threadIdx.x] += a * cosine * read_norms[m];
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM_LANES(first, 2 * r);
    /* Scale the link gradient into dℓ/dL_{t−1}; the read content into dℓ/dM_t, the read keys and strengths. */
    DNC_FOR_EACH_THREAD
        for (dnc_index k = threadIdx.x; k < (dnc_index)n * n; k += threads) {
            const int i = (int)(k / n), j = (int)(k % n);
            gl[k] *= 1 - ww_new[i] - ww_new[j];
        }
        for (int i = threadIdx.x; i < r; i += threads) dxi[f_rs + i] += first[i * threads];
        for (dnc_index k = threadIdx.x; k < (dnc_index)n * w; k += threads) {
            const int m = (int)(k / w), j = (int)(k % w);
            DNC_REAL sum = 0, scale = 0;
            for (int i = 0; i < r; i++) {
                sum += a_read[i * n + m] * xi[f_rk + i * w + j];
                scale += d_read_content[i * n + m] * read_key_norms[i];
            }
            const DNC_REAL norm = read_norms[m];
            if (norm > 0 && scale != 0) sum -= scale / norm * m_new[k];
            gm[k] += sum;
        }
        for (int k = threadIdx.x; k < r * w; k += threads) {
            const int i = k / w, j = k % w;
            DNC_REAL sum = 0;
            for (int m = 0; m < n; m++) sum += a_read[i * n + m] * m_new[(dnc_index)m * w + j];
            const DNC_REAL norm = read_key_norms[i], scale = first[(r + i) * threads];
            if (norm > 0 && scale != 0) sum -= scale / norm * xi[f_rk + k];
            dxi[f_rk + k] += sum;
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    /* Erase and add: dℓ/dw^w_t, dℓ/de, dℓ/dv from dℓ/dM_t. */
    DNC_FOR_EACH_THREAD
        for (int c = threadIdx.x; c < n; c += threads) {
            DNC_REAL sum = 0;
            for (int j = 0; j < w; j++)
                sum += gm[(dnc_index)c * w + j] * (xi[f_v + j] - m_prev[(dnc_index)c * w + j] * xi[f_e + j]);
            dww[c] += sum;
        }
        for (int j = threadIdx.x; j < w; j += threads) {
            DNC_REAL erase = 0, add = 0;
            for (int c = 0; c < n; c++) {
                const DNC_REAL g = gm[(dnc_index)c * w + j];
                erase += g * m_prev[(dnc_index)c * w + j] * ww_new[c];
                add += g * ww_new[c];
            }
            dxi[f_e + j] -= erase;
            dxi[f_v + j] += add;
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    /* dℓ/dM_{t−1} through the erase; write weights → gates (lane partials), dℓ/da, dℓ/dc^w and ⟨dℓ/dc^w, c^w⟩. */
    DNC_FOR_EACH_THREAD
        for (dnc_index k = threadIdx.x; k < (dnc_index)n * w; k += threads) {
            const int c = (int)(k / w), j = (int)(k % w);
            gm[k] *= 1 - ww_new[c] * xi[f_e + j];
        }
        const DNC_REAL ga = xi[f_ga], gate = xi[f_gw];
        DNC_REAL d_gate = 0, d_allocation_gate = 0, inner = 0;
        for (int c = threadIdx.x; c < n; c += threads) {
            const DNC_REAL g = dww[c];
            d_gate += g * (ga * allocation[c] + (1 - ga) * write_content[c]);
            d_allocation_gate += g * (allocation[c] - write_content[c]);
            d_allocation[c] = gate * ga * g;
            const DNC_REAL dc = gate * (1 - ga) * g;
            d_write_content[c] = dc;
            inner += dc * write_content[c];
        }
        second[threadIdx.x] = d_gate;
        second[threads + threadIdx.x] = d_allocation_gate;
        second[2 * threads + threadIdx.x] = inner;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM_LANES(second, 3);
    /* Gates; the write content (dz, a^w, the cosine part; lane partials of dℓ/dβ^w and the key
     * norm's scale); the allocation through the sort on one thread, in the CPU's order. */
    DNC_FOR_EACH_THREAD
        if (threadIdx.x == 0) {
            dxi[f_ga] += xi[f_gw] * second[threads];
            dxi[f_gw] += second[0];
        }
        const DNC_REAL kappa = write_key_norm[0], beta = xi[f_ws], inner = second[2 * threads];
        DNC_REAL d_beta = 0, key_scale = 0;
        for (int c = threadIdx.x; c < n; c += threads) {
            const DNC_REAL dz = write_content[c] * (d_write_content[c] - inner);
            const DNC_REAL cosine = write_cosine[c];
            d_beta += dz * cosine;
            const DNC_REAL a = beta * dz * (1 / (write_norms[c] * kappa + epsilon));
            a_write[c] = a;
            d_write_content[c] = a * cosine;
            key_scale += a * cosine * write_norms[c];
        }
        first[threadIdx.x] = d_beta;
        first[threads + threadIdx.x] = key_scale;
        if (threadIdx.x == 0) {
            const DNC_REAL scale = 1 - epsilon;
            DNC_REAL q = 0;
            for (int k = n - 1; k >= 0; k--) {
                const DNC_REAL g = d_allocation[order[k]];
                du[order[k]] += scale * prefix[k] * (q - g);
                q = g * (1 - sorted[k]) + sorted[k] * q;
            }
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM_LANES(first, 2);
    /* Write content into dℓ/dM_{t−1}, the write key and strength; usage backward (per cell the
     * products over the other heads, prefix then suffix as Allocation.usageBackward; lane
     * partials of the free gates' gradients). */
    DNC_FOR_EACH_THREAD
        const DNC_REAL kappa = write_key_norm[0];
        if (threadIdx.x == 0) dxi[f_ws] += first[0];
        for (dnc_index k = threadIdx.x; k < (dnc_index)n * w; k += threads) {
            const int c = (int)(k / w), j = (int)(k % w);
            DNC_REAL sum = a_write[c] * xi[f_wk + j];
            const DNC_REAL norm = write_norms[c], scale = d_write_content[c] * kappa;
            if (norm > 0 && scale != 0) sum -= scale / norm * m_prev[k];
            gm[k] += sum;
        }
        for (int j = threadIdx.x; j < w; j += threads) {
            DNC_REAL sum = 0;
            for (int c = 0; c < n; c++) sum += a_write[c] * m_prev[(dnc_index)c * w + j];
            const DNC_REAL scale = first[threads];
            if (kappa > 0 && scale != 0) sum -= scale / kappa * xi[f_wk + j];
            dxi[f_wk + j] += sum;
        }
        for (int i = 0; i < r; i++) second[i * threads + threadIdx.x] = 0;
        for (int c = threadIdx.x; c < n; c += threads) {
            const DNC_REAL g = du[c], u = u_prev[c], weight = ww_prev[c], psi = retention[c];
            gu[c] = g * psi * (1 - weight);
            const DNC_REAL d_psi = g * (u + (1 - u) * weight);
            gw_state[c] = stop_gradient ? 0 : g * psi * (1 - u);
            DNC_REAL suffix = 1;
            for (int i = r - 1; i >= 0; i--) {
                DNC_REAL product = 1;
                for (int j = 0; j < i; j++) product *= 1 - xi[f_f + j] * wr_prev[j * n + c];
                const DNC_REAL f = xi[f_f + i], weight_read = wr_prev[i * n + c];
                const DNC_REAL dq = -d_psi * product * suffix;
                gr[i * n + c] += dq * f;
                second[i * threads + threadIdx.x] += dq * weight_read;
                suffix *= 1 - f * weight_read;
            }
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM_LANES(second, r);
    DNC_FOR_EACH_THREAD
        for (int i = threadIdx.x; i < r; i += threads) dxi[f_f + i] += second[i * threads];
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    /* The activations: dℓ/dξ → dℓ/dẑ (InterfaceLayout.activationBackward). */
    DNC_FOR_EACH_THREAD
        for (int k = threadIdx.x; k < f_pi; k += threads) {
            const DNC_REAL x = xi[k];
            if (k < f_rs || (k >= f_wk && k < f_ws) || (k >= f_v && k < f_f)) {
                if (squash) dxi[k] *= 1 - x * x;
            } else if (k < f_wk || k == f_ws) {
                const DNC_REAL z = raw[k];
                dxi[k] *= z > 20 ? 1 : (z < 0 ? DNC_EXP(z) / (1 + DNC_EXP(z)) : 1 / (1 + DNC_EXP(-z)));
            } else {
                dxi[k] *= x * (1 - x);
            }
        }
        for (int i = threadIdx.x; i < r; i += threads) {
            const DNC_REAL *y = xi + f_pi + 3 * i;
            DNC_REAL *g = dxi + f_pi + 3 * i;
            const DNC_REAL inner = g[0] * y[0] + g[1] * y[1] + g[2] * y[2];
            g[0] = y[0] * (g[0] - inner);
            g[1] = y[1] * (g[1] - inner);
            g[2] = y[2] * (g[2] - inner);
        }
    DNC_END_FOR_EACH_THREAD
}
