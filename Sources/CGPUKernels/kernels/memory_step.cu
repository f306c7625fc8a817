#include "dnc_kernel_prelude.cuh"

/* One write-then-read step of the dense DNC memory for a whole batch, fused into one launch
 * (docs/dense-memory.md, "One memory step"; the CPU version is DenseMemory.step and
 * DenseMemory.sampleForward in Sources/Memories). The interface projection is the model's
 * gemm: this kernel starts from the raw interface vector ẑ.
 *
 * Per sample b (one block): ξ = act(ẑ) (InterfaceLayout.activate); usage u_t and retention ψ;
 * the write content weighting on M_{t−1}; the allocation through the stable ascending order of
 * û = ε + (1 − ε)·u_t (a rank computation, as usage_allocation.cu); the write weights; erase
 * and add; the link L_t; the directional weightings F = L_t w^r_{t−1}, B = L_tᵀ w^r_{t−1}; the
 * precedence; the read content weighting on M_t; the read weights; the read vectors.
 *
 * Shapes (row-major, batch first): interface B×S (S = R·W + 3W + 5R + 3, the paper's field
 * order); state memory B×N×W, link B×N×N, precedence, write_weights, usage B×N, read_weights
 * B×R×N (all updated in place); read_vectors B×R·W (head-major). Rows of interface and
 * read_vectors are interface_stride and read_stride apart (≥ S, ≥ R·W: rows of wider matrices,
 * such as a layer's [controller output, read vectors]). active: B flags or NULL (all
 * active); an inactive sample keeps its state and reads zeros.
 *
 * The record (what the backward needs, GPUDenseMemoryTape.swift): record_size reals per sample,
 * B of them; `layout` holds the offsets of its 26 sections within a sample's record, in the
 * order of the DNC_R_* names below (one definition, in Swift). record_ints: N + 1 ints per
 * sample, the free-list order φ then the active flag.
 *
 * Options: strength_shift 1 (oneplus) or 0 (softplus); squash 1 for tanh on the keys and the
 * write vector; norm_shift ε (DeepMind's cosine) or 0 (pytorch-dnc's).
 *
 * Launch: grid (B); blockDim.x a power of two; shared memory 2·R·blockDim.x reals (two
 * reduction areas of R lanes each, so that one can be read while the other is filled).
 * Threads stride over the cells, the (head, cell) pairs or the N² link entries. Values that
 * cross a barrier live in the record (global memory) or in the reduction areas.
 */
#undef DNC_LOG1P
#undef DNC_TANH
#if DNC_DOUBLE
#define DNC_LOG1P log1p
#define DNC_TANH tanh
#else
#define DNC_LOG1P log1pf
#define DNC_TANH tanhf
#endif

/* Sections of a sample's record, indices into `layout`. */
#define DNC_R_RAW 0
#define DNC_R_XI 1
#define DNC_R_M_PREV 2
#define DNC_R_L_PREV 3
#define DNC_R_P_PREV 4
#define DNC_R_WR_PREV 5
#define DNC_R_WW_PREV 6
#define DNC_R_U_PREV 7
#define DNC_R_RETENTION 8
#define DNC_R_U_NEW 9
#define DNC_R_WRITE_NORMS 10
#define DNC_R_WRITE_KEY_NORM 11
#define DNC_R_WRITE_COSINE 12
#define DNC_R_WRITE_CONTENT 13
#define DNC_R_SORTED 14
#define DNC_R_PREFIX 15
#define DNC_R_ALLOCATION 16
#define DNC_R_WW_NEW 17
#define DNC_R_M_NEW 18
#define DNC_R_FORWARD 19
#define DNC_R_BACKWARD 20
#define DNC_R_READ_NORMS 21
#define DNC_R_READ_KEY_NORMS 22
#define DNC_R_READ_COSINE 23
#define DNC_R_READ_CONTENT 24
#define DNC_R_WR_NEW 25

DNC_KERNEL DNC_NAME(dnc_memory_step)(const DNC_REAL *interface, DNC_REAL *memory, DNC_REAL *link, DNC_REAL *precedence,
                                     DNC_REAL *read_weights, DNC_REAL *write_weights, DNC_REAL *usage,
                                     const int *active, const int *layout, DNC_REAL *record, int *record_ints,
                                     int cells, int width, int read_heads, int record_size,
                                     DNC_REAL strength_shift, int squash, DNC_REAL norm_shift, DNC_REAL *read_vectors,
                                     int interface_stride, int read_stride) {
    DNC_SHARED_ARRAY(DNC_REAL, shared);
    const DNC_REAL epsilon = (DNC_REAL)1e-6;
    const int n = cells, w = width, r = read_heads;
    DNC_INTERFACE_FIELDS(r, w);
    const int b = blockIdx.x;
    const int threads = (int)blockDim.x;
    DNC_REAL *maxima = shared, *sums = shared + (dnc_index)threads * r;

    DNC_REAL *rec = record + (dnc_index)b * record_size;
    int *order = record_ints + (dnc_index)b * (n + 1);
    DNC_REAL *raw = rec + layout[DNC_R_RAW], *xi = rec + layout[DNC_R_XI];
    DNC_REAL *m_prev = rec + layout[DNC_R_M_PREV], *l_prev = rec + layout[DNC_R_L_PREV];
    DNC_REAL *p_prev = rec + layout[DNC_R_P_PREV], *wr_prev = rec + layout[DNC_R_WR_PREV];
    DNC_REAL *ww_prev = rec + layout[DNC_R_WW_PREV], *u_prev = rec + layout[DNC_R_U_PREV];
    DNC_REAL *retention = rec + layout[DNC_R_RETENTION], *u_new = rec + layout[DNC_R_U_NEW];
    DNC_REAL *write_norms = rec + layout[DNC_R_WRITE_NORMS], *write_key_norm = rec + layout[DNC_R_WRITE_KEY_NORM];
    DNC_REAL *write_cosine = rec + layout[DNC_R_WRITE_COSINE], *write_content = rec + layout[DNC_R_WRITE_CONTENT];
    DNC_REAL *sorted = rec + layout[DNC_R_SORTED], *prefix = rec + layout[DNC_R_PREFIX];
    DNC_REAL *allocation = rec + layout[DNC_R_ALLOCATION], *ww_new = rec + layout[DNC_R_WW_NEW];
    DNC_REAL *m_new = rec + layout[DNC_R_M_NEW], *forward = rec + layout[DNC_R_FORWARD];
    DNC_REAL *backward = rec + layout[DNC_R_BACKWARD], *read_norms = rec + layout[DNC_R_READ_NORMS];
    DNC_REAL *read_key_norms = rec + layout[DNC_R_READ_KEY_NORMS], *read_cosine = rec + layout[DNC_R_READ_COSINE];
    DNC_REAL *read_content = rec + layout[DNC_R_READ_CONTENT], *wr_new = rec + layout[DNC_R_WR_NEW];

    DNC_REAL *mem = memory + (dnc_index)b * n * w, *lnk = link + (dnc_index)b * n * n;
    DNC_REAL *prec = precedence + (dnc_index)b * n, *wr = read_weights + (dnc_index)b * r * n;
    DNC_REAL *ww = write_weights + (dnc_index)b * n, *use = usage + (dnc_index)b * n;
    DNC_REAL *out = read_vectors + (dnc_index)b * read_stride;
    const int is_active = active == 0 ? 1 : active[b] != 0;

    /* ξ = act(ẑ) and the state before the step into the record (the rest reads the record's copy). */
    DNC_FOR_EACH_THREAD
        if (threadIdx.x == 0) order[n] = is_active;
        if (!is_active) {
            for (int k = threadIdx.x; k < r * w; k += threads) out[k] = 0;
        } else {
            const DNC_REAL *z = interface + (dnc_index)b * interface_stride;
            for (int k = threadIdx.x; k < s; k += threads) {
                const DNC_REAL x = z[k];
                raw[k] = x;
                if (k < f_rs || (k >= f_wk && k < f_ws) || (k >= f_v && k < f_f)) {
                    xi[k] = squash ? DNC_TANH(x) : x;
                } else if (k < f_wk || k == f_ws) {
                    /* (1 +) softplus, PyTorch's threshold 20. */
                    const DNC_REAL a = x < 0 ? -x : x;
                    xi[k] = (x > 20 ? x : (x > 0 ? x : 0) + DNC_LOG1P(DNC_EXP(-a))) + strength_shift;
                } else if (k < f_pi) {
                    /* σ of the erase vector and the gates, as Kernels.sigmoid. */
                    const DNC_REAL a = x < 0 ? -x : x, e = DNC_EXP(-a), q = 1 / (1 + e);
                    xi[k] = x < 0 ? e * q : q;
                }
            }
            for (int i = threadIdx.x; i < r; i += threads) {
                const DNC_REAL *zi = z + f_pi + 3 * i;
                DNC_REAL top = zi[0];
                if (zi[1] > top) top = zi[1];
                if (zi[2] > top) top = zi[2];
                const DNC_REAL e0 = DNC_EXP(zi[0] - top), e1 = DNC_EXP(zi[1] - top), e2 = DNC_EXP(zi[2] - top);
                const DNC_REAL inverse = 1 / (e0 + e1 + e2);
                xi[f_pi + 3 * i] = e0 * inverse;
                xi[f_pi + 3 * i + 1] = e1 * inverse;
                xi[f_pi + 3 * i + 2] = e2 * inverse;
            }
            for (dnc_index k = threadIdx.x; k < (dnc_index)n * w; k += threads) m_prev[k] = mem[k];
            for (dnc_index k = threadIdx.x; k < (dnc_index)n * n; k += threads) l_prev[k] = lnk[k];
            for (int k = threadIdx.x; k < r * n; k += threads) wr_prev[k] = wr[k];
            for (int c = threadIdx.x; c < n; c += threads) {
                p_prev[c] = prec[c];
                ww_prev[c] = ww[c];
                u_prev[c] = use[c];
            }
        }
    DNC_END_FOR_EACH_THREAD
    if (!is_active) return;
    DNC_BARRIER();

    /* Usage and retention (Allocation.usageForward); û kept in `prefix` until the scan; the write
     * content's cosines and β·cos (in write_content), each thread's largest in maxima. */
    DNC_FOR_EACH_THREAD
        DNC_REAL key_squares = 0;
        for (int j = 0; j < w; j++) key_squares += xi[f_wk + j] * xi[f_wk + j];
        const DNC_REAL kappa = DNC_SQRT(key_squares + norm_shift), beta = xi[f_ws];
        if (threadIdx.x == 0) write_key_norm[0] = kappa;
        DNC_REAL largest = DNC_REAL_LOWEST;
        for (int c = threadIdx.x; c < n; c += threads) {
            DNC_REAL psi = 1;
            for (int i = 0; i < r; i++) psi *= 1 - xi[f_f + i] * wr_prev[i * n + c];
            const DNC_REAL u = u_prev[c];
            const DNC_REAL updated = (u + (1 - u) * ww_prev[c]) * psi;
            retention[c] = psi;
            u_new[c] = updated;
            use[c] = updated;
            prefix[c] = epsilon + (1 - epsilon) * updated;
            const DNC_REAL *row = m_prev + (dnc_index)c * w;
            DNC_REAL dot = 0, squares = 0;
            for (int j = 0; j < w; j++) {
                dot += row[j] * xi[f_wk + j];
                squares += row[j] * row[j];
            }
            const DNC_REAL norm = DNC_SQRT(squares + norm_shift);
            const DNC_REAL cosine = dot / (norm * kappa + epsilon);
            write_norms[c] = norm;
            write_cosine[c] = cosine;
            write_content[c] = beta * cosine;
            if (beta * cosine > largest) largest = beta * cosine;
        }
        maxima[threadIdx.x] = largest;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_MAX(maxima);
    /* exp(z − max) with partial sums; the stable ascending order of û by ranks. */
    DNC_FOR_EACH_THREAD
        const DNC_REAL top = maxima[0];
        DNC_REAL sum = 0;
        for (int c = threadIdx.x; c < n; c += threads) {
            const DNC_REAL e = DNC_EXP(write_content[c] - top);
            write_content[c] = e;
            sum += e;
            const DNC_REAL value = prefix[c];
            int rank = 0;
            for (int d = 0; d < n; d++) rank += (prefix[d] < value) | ((prefix[d] == value) & (d < c));
            order[rank] = c;
            sorted[rank] = value;
        }
        sums[threadIdx.x] = sum;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM(sums);
    /* Normalise the write content; the allocation's prefix products on one thread, in the CPU's order. */
    DNC_FOR_EACH_THREAD
        const DNC_REAL inverse = 1 / sums[0];
        for (int c = threadIdx.x; c < n; c += threads) write_content[c] *= inverse;
        if (threadIdx.x == 0) {
            DNC_REAL running = 1;
            for (int j = 0; j < n; j++) {
                const DNC_REAL x = sorted[j];
                prefix[j] = running;
                allocation[order[j]] = (1 - x) * running;
                running *= x;
            }
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    /* Write weights, erase and add (row c by the thread of cell c), the norms of M_t's rows and
     * of the read keys; partial sums of w^w for the precedence. */
    DNC_FOR_EACH_THREAD
        const DNC_REAL ga = xi[f_ga], gw = xi[f_gw];
        DNC_REAL sum = 0;
        for (int c = threadIdx.x; c < n; c += threads) {
            const DNC_REAL weight = gw * (ga * allocation[c] + (1 - ga) * write_content[c]);
            ww_new[c] = weight;
            ww[c] = weight;
            sum += weight;
            DNC_REAL squares = 0;
            for (int j = 0; j < w; j++) {
                const DNC_REAL value = m_prev[(dnc_index)c * w + j] * (1 - weight * xi[f_e + j]) + weight * xi[f_v + j];
                m_new[(dnc_index)c * w + j] = value;
                mem[(dnc_index)c * w + j] = value;
                squares += value * value;
            }
            read_norms[c] = DNC_SQRT(squares + norm_shift);
        }
        for (int i = threadIdx.x; i < r; i += threads) {
            DNC_REAL squares = 0;
            for (int j = 0; j < w; j++) squares += xi[f_rk + i * w + j] * xi[f_rk + i * w + j];
            read_key_norms[i] = DNC_SQRT(squares + norm_shift);
        }
        sums[threadIdx.x] = sum;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM(sums);
    /* The link (old precedence), the precedence, the read content's β·cos and per-head maxima. */
    DNC_FOR_EACH_THREAD
        for (dnc_index k = threadIdx.x; k < (dnc_index)n * n; k += threads) {
            const int i = (int)(k / n), j = (int)(k % n);
            const DNC_REAL wi = ww_new[i];
            lnk[k] = i == j ? 0 : (1 - wi - ww_new[j]) * l_prev[k] + wi * p_prev[j];
        }
        const DNC_REAL keep = 1 - sums[0];
        for (int c = threadIdx.x; c < n; c += threads) prec[c] = keep * p_prev[c] + ww_new[c];
        for (int i = 0; i < r; i++) maxima[i * threads + threadIdx.x] = DNC_REAL_LOWEST;
        for (int k = threadIdx.x; k < r * n; k += threads) {
            const int i = k / n, m = k % n;
            const DNC_REAL *row = m_new + (dnc_index)m * w, *key = xi + f_rk + i * w;
            DNC_REAL dot = 0;
            for (int j = 0; j < w; j++) dot += row[j] * key[j];
            const DNC_REAL cosine = dot / (read_norms[m] * read_key_norms[i] + epsilon);
            const DNC_REAL z = xi[f_rs + i] * cosine;
            read_cosine[k] = cosine;
            read_content[k] = z;
            if (z > maxima[i * threads + threadIdx.x]) maxima[i * threads + threadIdx.x] = z;
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_MAX_LANES(maxima, r);
    /* Directional weightings on L_t; exp(z − max) of the read content with per-head partial sums. */
    DNC_FOR_EACH_THREAD
        for (int k = threadIdx.x; k < r * n; k += threads) {
            const int i = k / n, c = k % n;
            const DNC_REAL *weights = wr_prev + i * n;
            DNC_REAL f = 0, g = 0;
            for (int j = 0; j < n; j++) {
                f += lnk[(dnc_index)c * n + j] * weights[j];
                g += lnk[(dnc_index)j * n + c] * weights[j];
            }
            forward[k] = f;
            backward[k] = g;
        }
        for (int i = 0; i < r; i++) sums[i * threads + threadIdx.x] = 0;
        for (int k = threadIdx.x; k < r * n; k += threads) {
            const int i = k / n;
            const DNC_REAL e = DNC_EXP(read_content[k] - maxima[i * threads]);
            read_content[k] = e;
            sums[i * threads + threadIdx.x] += e;
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM_LANES(sums, r);
    /* Read content normalised; read weights w^r_t = π₀·b + π₁·f + π₂·c. */
    DNC_FOR_EACH_THREAD
        for (int k = threadIdx.x; k < r * n; k += threads) {
            const int i = k / n;
            const DNC_REAL content = read_content[k] * (1 / sums[i * threads]);
            read_content[k] = content;
            const DNC_REAL weight = xi[f_pi + 3 * i] * backward[k] + xi[f_pi + 3 * i + 1] * forward[k] + xi[f_pi + 3 * i + 2] * content;
            wr_new[k] = weight;
            wr[k] = weight;
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    /* Read vectors r_i = M_tᵀ w^r_{t,i}. */
    DNC_FOR_EACH_THREAD
        for (int k = threadIdx.x; k < r * w; k += threads) {
            const int i = k / w, j = k % w;
            DNC_REAL sum = 0;
            for (int m = 0; m < n; m++) sum += wr_new[i * n + m] * m_new[(dnc_index)m * w + j];
            out[k] = sum;
        }
    DNC_END_FOR_EACH_THREAD
}
