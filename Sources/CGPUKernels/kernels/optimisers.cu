#include "dnc_kernel_prelude.cuh"

/* The optimisers' updates and global-norm clipping over a ParameterStore's flat buffers on the
 * device (GPUOptimiser, GPUGradientClipping in Sources/GPUTraining; the CPU versions are in
 * Sources/Layers/Optimisers).
 *
 * Each update is one element-wise kernel over the n parameters: element i reads θ_i, g_i and the
 * optimiser's state buffers at i and writes them back, with the CPU's arithmetic in the CPU's
 * order, so the emulation gives the CPU's bits. The per-step scalars (step sizes, bias
 * corrections) are computed on the host in Double as the CPU computes them and passed rounded
 * to the precision, as the CPU rounds them. Buffers a configuration does not use are passed as
 * any valid pointer and never touched (flags say which are used).
 *
 * `initialise` (1 on the step that creates the state, as PyTorch creates state lazily) makes the
 * kernel take the state's initial values instead of reading the buffers, so no separate fill is
 * launched and fresh (uninitialised) buffers are never read.
 *
 * Launch of every update: grid (⌈n / blockDim.x⌉), any blockDim.x, no shared memory; threads
 * stride by the whole grid, so a smaller grid also covers all elements.
 */

/* Comparisons and fallbacks written as Swift writes them (Swift.max(a, b) is b >= a ? b : a). */
#ifndef DNC_OPTIMISER_HELPERS
#define DNC_OPTIMISER_HELPERS
#define DNC_OPT_MAX(a, b) ((b) >= (a) ? (b) : (a))
/* PyTorch's lerp a + w·(b − a), from the other end for w ≥ ½ (Optimiser.swift, lerp). */
#define DNC_OPT_LERP(a, b, w) ((w) < (DNC_REAL)0.5 ? (a) + (w) * ((b) - (a)) : (b) - ((b) - (a)) * (1 - (w)))
#define DNC_OPT_FOR_EACH_ELEMENT(i, n) \
    for (dnc_index i = (dnc_index)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (dnc_index)gridDim.x * blockDim.x)
#endif
#undef DNC_OPT_ABS
#if DNC_DOUBLE
#define DNC_OPT_ABS fabs
#else
#define DNC_OPT_ABS fabsf
#endif

/* SGD (SGD.swift): d = g + λθ; with momentum b ← d at the first step, else μb + (1 − τ)d, and
 * θ ← θ − lr·(nesterov ? d + μb : b); without, θ ← θ − lr·d. `keep` = 1 − τ. */
DNC_KERNEL DNC_NAME(dnc_optimiser_sgd)(DNC_REAL *values, const DNC_REAL *gradients, DNC_REAL *momentum_buffer, int count,
                                       DNC_REAL lr, DNC_REAL lambda, int decays, int has_momentum, DNC_REAL mu,
                                       DNC_REAL keep, int nesterov, int first) {
    DNC_FOR_EACH_THREAD
        DNC_OPT_FOR_EACH_ELEMENT(i, count) {
            const DNC_REAL d = decays ? gradients[i] + lambda * values[i] : gradients[i];
            if (!has_momentum) {
                values[i] = values[i] - lr * d;
            } else {
                const DNC_REAL b = first ? d : mu * momentum_buffer[i] + keep * d;
                momentum_buffer[i] = b;
                values[i] = values[i] - lr * (nesterov ? d + mu * b : b);
            }
        }
    DNC_END_FOR_EACH_THREAD
}

/* Adam (Adam.swift): d = g + λθ, m ← lerp(m, d, w1), v ← v·β₂ + w2·d², v̂ ← max(v̂, v) with AMSGrad
 * (else v̂ = v), θ ← θ − step_size·m / (√v̂ / correction2_root + ε). State m, v (, v̂) start at 0. */
DNC_KERNEL DNC_NAME(dnc_optimiser_adam)(DNC_REAL *values, const DNC_REAL *gradients, DNC_REAL *exp_avg, DNC_REAL *exp_avg_sq,
                                        DNC_REAL *max_exp_avg_sq, int count, DNC_REAL step_size, DNC_REAL correction2_root,
                                        DNC_REAL w1, DNC_REAL b2, DNC_REAL w2, DNC_REAL eps, DNC_REAL lambda, int decays,
                                        int amsgrad, int initialise) {
    DNC_FOR_EACH_THREAD
        DNC_OPT_FOR_EACH_ELEMENT(i, count) {
            const DNC_REAL d = decays ? gradients[i] + lambda * values[i] : gradients[i];
            const DNC_REAL m_old = initialise ? (DNC_REAL)0 : exp_avg[i];
            const DNC_REAL v_old = initialise ? (DNC_REAL)0 : exp_avg_sq[i];
            const DNC_REAL m = DNC_OPT_LERP(m_old, d, w1);
            const DNC_REAL v = v_old * b2 + w2 * d * d;
            exp_avg[i] = m;
            exp_avg_sq[i] = v;
            DNC_REAL v_hat = v;
            if (amsgrad) {
                const DNC_REAL previous = initialise ? (DNC_REAL)0 : max_exp_avg_sq[i];
                v_hat = DNC_OPT_MAX(previous, v);
                max_exp_avg_sq[i] = v_hat;
            }
            values[i] = values[i] - step_size * m / (DNC_SQRT(v_hat) / correction2_root + eps);
        }
    DNC_END_FOR_EACH_THREAD
}

/* Adamax (Adam.swift): d = g + λθ, m ← lerp(m, d, w1), u ← max(u·β₂, |d| + ε),
 * θ ← θ − step_size·m / u. State m, u start at 0. */
DNC_KERNEL DNC_NAME(dnc_optimiser_adamax)(DNC_REAL *values, const DNC_REAL *gradients, DNC_REAL *exp_avg, DNC_REAL *exp_inf,
                                          int count, DNC_REAL step_size, DNC_REAL w1, DNC_REAL b2, DNC_REAL eps,
                                          DNC_REAL lambda, int decays, int initialise) {
    DNC_FOR_EACH_THREAD
        DNC_OPT_FOR_EACH_ELEMENT(i, count) {
            const DNC_REAL d = decays ? gradients[i] + lambda * values[i] : gradients[i];
            const DNC_REAL m_old = initialise ? (DNC_REAL)0 : exp_avg[i];
            const DNC_REAL u_old = initialise ? (DNC_REAL)0 : exp_inf[i];
            const DNC_REAL m = DNC_OPT_LERP(m_old, d, w1);
            const DNC_REAL u = DNC_OPT_MAX(u_old * b2, DNC_OPT_ABS(d) + eps);
            exp_avg[i] = m;
            exp_inf[i] = u;
            values[i] = values[i] - step_size * m / u;
        }
    DNC_END_FOR_EACH_THREAD
}

/* RMSprop (RMSprop.swift): d = g + λθ, s ← s·α + w·d²; centred a ← lerp(a, d, w) and
 * r = √max(s − a², 0) + ε, else r = √s + ε; with momentum b ← b·μ + d/r, θ ← θ − lr·b, without
 * θ ← θ − lr·d/r. `w` = 1 − α. State s, b, a start at 0. */
DNC_KERNEL DNC_NAME(dnc_optimiser_rmsprop)(DNC_REAL *values, const DNC_REAL *gradients, DNC_REAL *square_avg,
                                           DNC_REAL *momentum_buffer, DNC_REAL *grad_avg, int count, DNC_REAL lr,
                                           DNC_REAL alpha, DNC_REAL w, DNC_REAL eps, DNC_REAL mu, DNC_REAL lambda,
                                           int decays, int has_momentum, int centered, int initialise) {
    DNC_FOR_EACH_THREAD
        DNC_OPT_FOR_EACH_ELEMENT(i, count) {
            const DNC_REAL d = decays ? gradients[i] + lambda * values[i] : gradients[i];
            const DNC_REAL s_old = initialise ? (DNC_REAL)0 : square_avg[i];
            const DNC_REAL s = s_old * alpha + w * d * d;
            square_avg[i] = s;
            DNC_REAL r;
            if (centered) {
                const DNC_REAL a_old = initialise ? (DNC_REAL)0 : grad_avg[i];
                const DNC_REAL a = DNC_OPT_LERP(a_old, d, w);
                grad_avg[i] = a;
                r = DNC_SQRT(DNC_OPT_MAX(s - a * a, (DNC_REAL)0));
            } else {
                r = DNC_SQRT(s);
            }
            r = r + eps;
            if (has_momentum) {
                const DNC_REAL b_old = initialise ? (DNC_REAL)0 : momentum_buffer[i];
                const DNC_REAL b = b_old * mu + d / r;
                momentum_buffer[i] = b;
                values[i] = values[i] - lr * b;
            } else {
                values[i] = values[i] - lr * d / r;
            }
        }
    DNC_END_FOR_EACH_THREAD
}

/* Adagrad (Adagrad.swift): d = g + λθ, S ← S + d², θ ← θ − step_size·d / (√S + ε), S
 * starting at `initial_sum` (initial_accumulator_value). */
DNC_KERNEL DNC_NAME(dnc_optimiser_adagrad)(DNC_REAL *values, const DNC_REAL *gradients, DNC_REAL *sum, int count,
                                           DNC_REAL step_size, DNC_REAL eps, DNC_REAL lambda, int decays,
                                           DNC_REAL initial_sum, int initialise) {
    DNC_FOR_EACH_THREAD
        DNC_OPT_FOR_EACH_ELEMENT(i, count) {
            const DNC_REAL d = decays ? gradients[i] + lambda * values[i] : gradients[i];
            const DNC_REAL s = (initialise ? initial_sum : sum[i]) + d * d;
            sum[i] = s;
            values[i] = values[i] - step_size * d / (DNC_SQRT(s) + eps);
        }
    DNC_END_FOR_EACH_THREAD
}

/* Adadelta (Adagrad.swift): d = g + λθ, s ← s·ρ + w·d², Δ = √(a + ε)/√(s + ε)·d,
 * a ← a·ρ + w·Δ², θ ← θ − lr·Δ. `w` = 1 − ρ. State s, a start at 0. */
DNC_KERNEL DNC_NAME(dnc_optimiser_adadelta)(DNC_REAL *values, const DNC_REAL *gradients, DNC_REAL *square_avg,
                                            DNC_REAL *acc_delta, int count, DNC_REAL lr, DNC_REAL rho, DNC_REAL w,
                                            DNC_REAL eps, DNC_REAL lambda, int decays, int initialise) {
    DNC_FOR_EACH_THREAD
        DNC_OPT_FOR_EACH_ELEMENT(i, count) {
            const DNC_REAL d = decays ? gradients[i] + lambda * values[i] : gradients[i];
            const DNC_REAL s_old = initialise ? (DNC_REAL)0 : square_avg[i];
            const DNC_REAL a_old = initialise ? (DNC_REAL)0 : acc_delta[i];
            const DNC_REAL s = s_old * rho + w * d * d;
            const DNC_REAL delta = DNC_SQRT(a_old + eps) / DNC_SQRT(s + eps) * d;
            square_avg[i] = s;
            acc_delta[i] = a_old * rho + w * delta * delta;
            values[i] = values[i] - lr * delta;
        }
    DNC_END_FOR_EACH_THREAD
}

/* Folds folded[0 ..< blockDim.x] into folded[0]: the maximum (mode 1) or the sum (modes 0 and 2);
 * like DNC_BLOCK_SUM it stands between thread blocks, never inside one. */
#define DNC_NORM_FOLD(folded, mode) \
    if ((mode) == 1) {              \
        DNC_BLOCK_MAX(folded);      \
    } else {                        \
        DNC_BLOCK_SUM(folded);      \
    }

/* Global-norm clipping (GradientClipping.swift, clipGlobalNorm), pass 1 of a deterministic
 * two-pass reduction: block k folds the elements k·blockDim.x + t (+ multiples of the grid's
 * thread count) into one value per thread, in index order, then a tree over the block; the
 * partial of block k goes to partials[k]. Accumulated in double whatever the precision, as the
 * CPU sums the squares in Double (a float sum over millions of gradients would lose digits);
 * partials are therefore doubles in both precisions.
 *   mode 0: Σ g²;  mode 1: max |g|;  mode 2: Σ (g / divisor)², the square computed in the
 *   precision as Kernels.norm does (the rescaled norm for sums that overflow).
 * Launch: grid (blocks), blockDim.x a power of two, blockDim.x doubles of shared memory. The
 * grid is a function of n only (GPUGradientClipping), so the order, and the result, are fixed.
 */
DNC_KERNEL DNC_NAME(dnc_norm_partials)(const DNC_REAL *gradients, int count, double *partials, int mode, DNC_REAL divisor) {
    DNC_SHARED_ARRAY(double, folded);
    DNC_FOR_EACH_THREAD
        double s = 0;
        DNC_OPT_FOR_EACH_ELEMENT(i, count) {
            if (mode == 0) {
                const double g = (double)gradients[i];
                s += g * g;
            } else if (mode == 1) {
                const double g = (double)DNC_OPT_ABS(gradients[i]);
                s = DNC_OPT_MAX(s, g);
            } else {
                const DNC_REAL v = gradients[i] / divisor;
                s += (double)(v * v);
            }
        }
        folded[threadIdx.x] = s;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_NORM_FOLD(folded, mode);
    DNC_FOR_EACH_THREAD
        if (threadIdx.x == 0) partials[blockIdx.x] = folded[0];
    DNC_END_FOR_EACH_THREAD
}

/* Pass 2: one block folds partials[0 ..< blocks] (each thread the indices t, t + blockDim.x, …
 * in order, then a tree) into result[0]: the sum (modes 0 and 2) or the maximum (mode 1).
 * Launch: grid (1), blockDim.x a power of two, blockDim.x doubles of shared memory. */
DNC_KERNEL DNC_NAME(dnc_norm_finish)(const double *partials, int blocks, double *result, int mode) {
    DNC_SHARED_ARRAY(double, folded);
    DNC_FOR_EACH_THREAD
        double s = 0;
        for (int k = threadIdx.x; k < blocks; k += blockDim.x) s = mode == 1 ? DNC_OPT_MAX(s, partials[k]) : s + partials[k];
        folded[threadIdx.x] = s;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_NORM_FOLD(folded, mode);
    DNC_FOR_EACH_THREAD
        if (threadIdx.x == 0) result[0] = folded[0];
    DNC_END_FOR_EACH_THREAD
}

/* The clipping itself: g ← g·factor (Kernels.scale), factor = maxNorm / (norm + 1e-6) rounded to
 * the precision on the host. Launch as the updates. */
DNC_KERNEL DNC_NAME(dnc_norm_scale)(DNC_REAL *gradients, int count, DNC_REAL factor) {
    DNC_FOR_EACH_THREAD
        DNC_OPT_FOR_EACH_ELEMENT(i, count) gradients[i] = gradients[i] * factor;
    DNC_END_FOR_EACH_THREAD
}
