#include "dnc_kernel_prelude.cuh"

/* The element-wise halves of the controller's recurrent cells (GPURecurrentStack in
 * Sources/GPUTraining; the CPU versions are LSTMCell.swift, GRUCell.swift, RNNCell.swift and
 * RecurrentStack.swift in Sources/Layers). The products x·W_ihᵀ, h·W_hhᵀ and their backward
 * are gemm.cu launches; each kernel here fuses everything element-wise around them for one
 * layer and one step: both biases, the gate nonlinearities, the new state written in place
 * (after saving the old one on the tape), the top layer's output, and the next layer's input
 * with its inter-layer dropout mask drawn on the device from the same Philox4x32-10 stream as
 * RecurrentStack.step draws it on the CPU (CounterRandom.swift), so the masks are identical.
 *
 * Layouts are the CPU's: B rows of H (or G = gates·H) values; gate blocks in PyTorch's order
 * (LSTM i, f, g, o; GRU r, z, n). A pointer argument that is null is skipped (no tape when not
 * recording, no output below the top layer, no mask without dropout).
 *
 * Launch (every kernel): grid (⌈H / blockDim.x⌉, B) × any blockDim.x; thread (x, y) handles
 * unit j = blockIdx.x·blockDim.x + threadIdx.x of sample b = blockIdx.y. No shared memory.
 */

#ifndef DNC_CELL_HELPERS
#define DNC_CELL_HELPERS
#ifdef DNC_KERNEL_EMULATION
#define DNC_CELL_DEVICE static inline
#else
#define DNC_CELL_DEVICE static __device__ __forceinline__
#endif

/* Draw `index` of `stream` as 64 bits: CounterRandom.bits(stream:index:), Philox4x32-10 with
 * the 128-bit counter (block lo, block hi, stream lo, stream hi), block = index / 2, and key
 * (seed lo, seed hi); an even index takes words 0–1 of the block, an odd one words 2–3. */
DNC_CELL_DEVICE unsigned long long dnc_philox_bits(unsigned long long seed, unsigned long long stream,
                                                   unsigned long long index) {
    const unsigned long long block = index >> 1;
    unsigned int c0 = (unsigned int)block, c1 = (unsigned int)(block >> 32);
    unsigned int c2 = (unsigned int)stream, c3 = (unsigned int)(stream >> 32);
    unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const unsigned long long p0 = 0xD2511F53ull * c0, p1 = 0xCD9E8D57ull * c2;
        const unsigned int hi0 = (unsigned int)(p0 >> 32), lo0 = (unsigned int)p0;
        const unsigned int hi1 = (unsigned int)(p1 >> 32), lo1 = (unsigned int)p1;
        const unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
    }
    return (index & 1) == 0 ? ((unsigned long long)c0 << 32 | c1) : ((unsigned long long)c2 << 32 | c3);
}
#endif

#undef DNC_CELL_TANH
#undef DNC_CELL_ABS
#if DNC_DOUBLE
#define DNC_CELL_TANH tanh
#define DNC_CELL_ABS fabs
#else
#define DNC_CELL_TANH tanhf
#define DNC_CELL_ABS fabsf
#endif

/* σ(x) as Kernels.sigmoid computes it: e^{−|x|} / (1 + e^{−|x|}) for negative x, 1 / (1 + e^{−|x|}) otherwise. */
DNC_CELL_DEVICE DNC_REAL DNC_NAME(dnc_sigmoid)(DNC_REAL x) {
    const DNC_REAL e = DNC_EXP(-DNC_CELL_ABS(x));
    const DNC_REAL s = 1 / (1 + e);
    return x < 0 ? e * s : s;
}

/* A layer's new h at element i (of the B×H block) to where it goes besides the state: the
 * stack's output (top layer) or the next layer's input. With `dropout` the next input is
 * h·mask, mask = keep_scale when draw position + i of the stream is ≥ the dropout probability
 * (as an integer: the draw's 53 bits ≥ threshold = ⌈p·2^53⌉, which is exactly the CPU's Double
 * comparison u ≥ p), else 0; the mask goes to the tape when next_mask is given. */
DNC_CELL_DEVICE void DNC_NAME(dnc_cell_emit)(dnc_index i, DNC_REAL h, DNC_REAL *output, DNC_REAL *next_input,
                                             DNC_REAL *next_mask, int dropout, long long seed, long long stream,
                                             long long position, long long threshold, DNC_REAL keep_scale) {
    if (output) output[i] = h;
    if (!next_input) return;
    if (dropout) {
        const unsigned long long bits =
            dnc_philox_bits((unsigned long long)seed, (unsigned long long)stream, (unsigned long long)position + (unsigned long long)i);
        const DNC_REAL mask = (long long)(bits >> 11) >= threshold ? keep_scale : (DNC_REAL)0;
        if (next_mask) next_mask[i] = mask;
        next_input[i] = h * mask;
    } else {
        next_input[i] = h;
    }
}

/* The gradient reaching a layer's h' (LSTMCell/GRUCell/RNNCell backward, RecurrentStack.backwardStep):
 * from above (the output, or the layer above's input gradient times its dropout mask) plus
 * from the next step (the state gradient). */
DNC_CELL_DEVICE DNC_REAL DNC_NAME(dnc_cell_hidden_gradient)(dnc_index i, const DNC_REAL *d_above, const DNC_REAL *mask_above,
                                                            const DNC_REAL *d_hidden) {
    const DNC_REAL above = mask_above ? d_above[i] * mask_above[i] : d_above[i];
    return above + d_hidden[i];
}

/* LSTM step (LSTMCell.swift): gates (B×4H) holds x·W_ihᵀ + h·W_hhᵀ and becomes the activated
 * gates σ(i), σ(f), tanh(g), σ(o); c' = σ(f)⊙c + σ(i)⊙tanh(g), h' = σ(o)⊙tanh(c'). hidden and
 * cell (B×H, this layer's state) are read and replaced by h', c'; cell_cache and tanh_cache
 * (B×H) receive c' and tanh(c'); hidden_previous / cell_previous, the old h and c. */
DNC_KERNEL DNC_NAME(dnc_lstm_forward)(DNC_REAL *gates, const DNC_REAL *bias_ih, const DNC_REAL *bias_hh, DNC_REAL *hidden,
                                      DNC_REAL *cell, DNC_REAL *cell_cache, DNC_REAL *tanh_cache, DNC_REAL *hidden_previous,
                                      DNC_REAL *cell_previous, DNC_REAL *output, DNC_REAL *next_input, DNC_REAL *next_mask,
                                      int hidden_size, int dropout, long long seed, long long stream, long long position,
                                      long long threshold, DNC_REAL keep_scale) {
    const int h = hidden_size, sample = blockIdx.y;
    DNC_FOR_EACH_THREAD
        const int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
        if (j < h) {
            const dnc_index i = (dnc_index)sample * h + j;
            DNC_REAL *row = gates + (dnc_index)sample * 4 * h;
            DNC_REAL z[4];
            for (int gate = 0; gate < 4; gate++) {
                DNC_REAL v = row[gate * h + j];
                if (bias_ih) v += bias_ih[gate * h + j];
                if (bias_hh) v += bias_hh[gate * h + j];
                z[gate] = v;
            }
            const DNC_REAL in = DNC_NAME(dnc_sigmoid)(z[0]), forget = DNC_NAME(dnc_sigmoid)(z[1]);
            const DNC_REAL candidate = DNC_CELL_TANH(z[2]), out = DNC_NAME(dnc_sigmoid)(z[3]);
            row[j] = in;
            row[h + j] = forget;
            row[2 * h + j] = candidate;
            row[3 * h + j] = out;
            const DNC_REAL hp = hidden[i], cp = cell[i];
            if (hidden_previous) hidden_previous[i] = hp;
            if (cell_previous) cell_previous[i] = cp;
            const DNC_REAL c = forget * cp + in * candidate;
            const DNC_REAL tc = DNC_CELL_TANH(c);
            const DNC_REAL hn = out * tc;
            if (cell_cache) cell_cache[i] = c;
            if (tanh_cache) tanh_cache[i] = tc;
            cell[i] = c;
            hidden[i] = hn;
            DNC_NAME(dnc_cell_emit)(i, hn, output, next_input, next_mask, dropout, seed, stream, position, threshold, keep_scale);
        }
    DNC_END_FOR_EACH_THREAD
}

/* LSTM gate gradients (RecurrentLayer.gateGradients): from the activated gates (B×4H), tanh(c')
 * and c (B×H), and dh' (d_above·mask_above + d_hidden), dc' (d_cell, replaced by dc), writes
 * d_gates (B×4H). dh_prev = d_gates·W_hh and dx = d_gates·W_ih follow as products. */
DNC_KERNEL DNC_NAME(dnc_lstm_backward)(const DNC_REAL *gates, const DNC_REAL *tanh_cache, const DNC_REAL *cell_previous,
                                       const DNC_REAL *d_above, const DNC_REAL *mask_above, const DNC_REAL *d_hidden,
                                       DNC_REAL *d_cell, DNC_REAL *d_gates, int hidden_size) {
    const int h = hidden_size, sample = blockIdx.y;
    DNC_FOR_EACH_THREAD
        const int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
        if (j < h) {
            const dnc_index i = (dnc_index)sample * h + j;
            const DNC_REAL *a = gates + (dnc_index)sample * 4 * h;
            DNC_REAL *dz = d_gates + (dnc_index)sample * 4 * h;
            const DNC_REAL in = a[j], forget = a[h + j], candidate = a[2 * h + j], out = a[3 * h + j];
            const DNC_REAL dh = DNC_NAME(dnc_cell_hidden_gradient)(i, d_above, mask_above, d_hidden);
            const DNC_REAL tc = tanh_cache[i];
            const DNC_REAL dc = d_cell[i] + dh * out * (1 - tc * tc);
            dz[j] = dc * candidate * in * (1 - in);
            dz[h + j] = dc * cell_previous[i] * forget * (1 - forget);
            dz[2 * h + j] = dc * in * (1 - candidate * candidate);
            dz[3 * h + j] = dh * tc * out * (1 - out);
            d_cell[i] = dc * forget;
        }
    DNC_END_FOR_EACH_THREAD
}

/* GRU step (GRUCell.swift): gates (B×3H) holds x·W_ihᵀ and becomes r, z, n; hidden_gates
 * (B×3H) holds h·W_hhᵀ. r = σ(x_r + b_ir + h_r + b_hr), z likewise, hn = h_n + b_hn (to
 * hidden_n, B×H), n = tanh(x_n + b_in + r⊙hn), h' = (1 − z)⊙n + z⊙h. */
DNC_KERNEL DNC_NAME(dnc_gru_forward)(DNC_REAL *gates, const DNC_REAL *hidden_gates, const DNC_REAL *bias_ih,
                                     const DNC_REAL *bias_hh, DNC_REAL *hidden_n, DNC_REAL *hidden, DNC_REAL *hidden_previous,
                                     DNC_REAL *output, DNC_REAL *next_input, DNC_REAL *next_mask, int hidden_size, int dropout,
                                     long long seed, long long stream, long long position, long long threshold,
                                     DNC_REAL keep_scale) {
    const int h = hidden_size, sample = blockIdx.y;
    DNC_FOR_EACH_THREAD
        const int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
        if (j < h) {
            const dnc_index i = (dnc_index)sample * h + j;
            DNC_REAL *gi = gates + (dnc_index)sample * 3 * h;
            const DNC_REAL *gh = hidden_gates + (dnc_index)sample * 3 * h;
            DNC_REAL x[3], hh[3];
            for (int gate = 0; gate < 3; gate++) {
                x[gate] = gi[gate * h + j];
                hh[gate] = gh[gate * h + j];
                if (bias_ih) x[gate] += bias_ih[gate * h + j];
                if (bias_hh) hh[gate] += bias_hh[gate * h + j];
            }
            const DNC_REAL r = DNC_NAME(dnc_sigmoid)(x[0] + hh[0]), z = DNC_NAME(dnc_sigmoid)(x[1] + hh[1]);
            const DNC_REAL n = DNC_CELL_TANH(x[2] + r * hh[2]);
            const DNC_REAL hp = hidden[i];
            if (hidden_previous) hidden_previous[i] = hp;
            if (hidden_n) hidden_n[i] = hh[2];
            gi[j] = r;
            gi[h + j] = z;
            gi[2 * h + j] = n;
            const DNC_REAL hn = (1 - z) * n + z * hp;
            hidden[i] = hn;
            DNC_NAME(dnc_cell_emit)(i, hn, output, next_input, next_mask, dropout, seed, stream, position, threshold, keep_scale);
        }
    DNC_END_FOR_EACH_THREAD
}

/* GRU gate gradients (GRUCell.gruBackward): from r, z, n (B×3H), hn (B×H), the old h, and dh'
 * (d_above·mask_above + d_hidden), writes d_gates_input (dr, dz, dn) and d_gates_hidden
 * (dr, dz, dn⊙r), and replaces d_hidden by the direct path dh'⊙z, to which the product
 * d_gates_hidden·W_hh is then added (beta 1). */
DNC_KERNEL DNC_NAME(dnc_gru_backward)(const DNC_REAL *gates, const DNC_REAL *hidden_n, const DNC_REAL *hidden_previous,
                                      const DNC_REAL *d_above, const DNC_REAL *mask_above, DNC_REAL *d_hidden,
                                      DNC_REAL *d_gates_input, DNC_REAL *d_gates_hidden, int hidden_size) {
    const int h = hidden_size, sample = blockIdx.y;
    DNC_FOR_EACH_THREAD
        const int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
        if (j < h) {
            const dnc_index i = (dnc_index)sample * h + j;
            const DNC_REAL *a = gates + (dnc_index)sample * 3 * h;
            DNC_REAL *di = d_gates_input + (dnc_index)sample * 3 * h, *dg = d_gates_hidden + (dnc_index)sample * 3 * h;
            const DNC_REAL r = a[j], z = a[h + j], n = a[2 * h + j];
            const DNC_REAL dh = DNC_NAME(dnc_cell_hidden_gradient)(i, d_above, mask_above, d_hidden);
            const DNC_REAL dn = dh * (1 - z) * (1 - n * n);
            const DNC_REAL dr = dn * hidden_n[i] * r * (1 - r);
            const DNC_REAL dz = dh * (hidden_previous[i] - n) * z * (1 - z);
            di[j] = dr;
            di[h + j] = dz;
            di[2 * h + j] = dn;
            dg[j] = dr;
            dg[h + j] = dz;
            dg[2 * h + j] = dn * r;
            d_hidden[i] = dh * z;
        }
    DNC_END_FOR_EACH_THREAD
}

/* Vanilla RNN step (RNNCell.swift): cache (B×H) holds x·W_ihᵀ + h·W_hhᵀ and becomes
 * h' = act(· + b_ih + b_hh), act tanh (relu = 0) or relu (relu = 1). */
DNC_KERNEL DNC_NAME(dnc_rnn_forward)(DNC_REAL *cache, const DNC_REAL *bias_ih, const DNC_REAL *bias_hh, int relu,
                                     DNC_REAL *hidden, DNC_REAL *hidden_previous, DNC_REAL *output, DNC_REAL *next_input,
                                     DNC_REAL *next_mask, int hidden_size, int dropout, long long seed, long long stream,
                                     long long position, long long threshold, DNC_REAL keep_scale) {
    const int h = hidden_size, sample = blockIdx.y;
    DNC_FOR_EACH_THREAD
        const int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
        if (j < h) {
            const dnc_index i = (dnc_index)sample * h + j;
            DNC_REAL v = cache[i];
            if (bias_ih) v += bias_ih[j];
            if (bias_hh) v += bias_hh[j];
            const DNC_REAL hn = relu ? (v > 0 ? v : (DNC_REAL)0) : DNC_CELL_TANH(v);
            if (hidden_previous) hidden_previous[i] = hidden[i];
            cache[i] = hn;
            hidden[i] = hn;
            DNC_NAME(dnc_cell_emit)(i, hn, output, next_input, next_mask, dropout, seed, stream, position, threshold, keep_scale);
        }
    DNC_END_FOR_EACH_THREAD
}

/* RNN pre-activation gradient (RNNCell.rnnBackward): d_gates = dh'·(1 − h'²) (tanh) or
 * dh'·[h' > 0] (relu), dh' = d_above·mask_above + d_hidden. */
DNC_KERNEL DNC_NAME(dnc_rnn_backward)(const DNC_REAL *cache, const DNC_REAL *d_above, const DNC_REAL *mask_above,
                                      const DNC_REAL *d_hidden, DNC_REAL *d_gates, int relu, int hidden_size) {
    const int h = hidden_size, sample = blockIdx.y;
    DNC_FOR_EACH_THREAD
        const int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
        if (j < h) {
            const dnc_index i = (dnc_index)sample * h + j;
            const DNC_REAL dh = DNC_NAME(dnc_cell_hidden_gradient)(i, d_above, mask_above, d_hidden);
            const DNC_REAL y = cache[i];
            d_gates[i] = relu ? (y > 0 ? dh : (DNC_REAL)0) : dh * (1 - y * y);
        }
    DNC_END_FOR_EACH_THREAD
}
