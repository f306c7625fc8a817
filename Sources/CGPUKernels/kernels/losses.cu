#include "dnc_kernel_prelude.cuh"

/* The tasks' losses, d loss / d logits and metrics on the device (GPUTaskLoss in
 * Sources/GPUTraining; the CPU versions are each task's `evaluate` in Sources/Training/Tasks).
 * Logits and their gradient are time-major (T, B, Y) as the model produces them; a "row" is one
 * (t, b), row r = t·B + b, its Y outputs contiguous.
 *
 * The tasks score in Double on the CPU (Float logits, Double terms, Float gradients), so these
 * kernels do too whatever DNC_REAL is; the sums that come back (loss, error counts) are doubles,
 * reduced in two deterministic passes: per-block (or per-row, per-sample) partials, then one
 * block (dnc_loss_sum) folds them in a fixed order. Every element of `gradient` is written (0
 * where the loss does not look), so the caller need not clear it.
 */

#ifndef DNC_LOSS_HELPERS
#define DNC_LOSS_HELPERS
/* The bit a logit predicts (TaskSupport.predictedBit): 1 when z > 0. */
#define DNC_LOSS_BIT(z) ((z) > 0 ? 1 : 0)
#endif
#undef DNC_LOSS_LOG
#if DNC_DOUBLE
#define DNC_LOSS_LOG log
#else
#define DNC_LOSS_LOG logf
#endif

/* Binary cross-entropy with logits for copy, repeat-copy and associative recall
 * (TaskSupport.bce): ℓ = max(z, 0) − z·y + ln(1 + e^{−|z|}), dℓ/dz = σ(z) − y, in double.
 * Row r's loss weight is row_weights[2r] / row_weights[2r + 1] (numerator 0: the row is not in
 * the loss), applied to its columns j < loss_columns: loss Σ ℓ·num/den, gradient
 * float(slope·num/den), the CPU's expressions (copy: slope·scale with den = 1; repeat-copy:
 * m·slope / normaliser). The metrics judge rows with metric_rows[r] ≠ 0 at columns
 * j < metric_columns (wrong bits and judged bits), and with count_all_correct every element's
 * right bits (copy's unmasked accuracy); logits no one looks at are never read.
 *
 * Launch: grid (blocks), blockDim.x a power of two, 4·blockDim.x doubles of shared memory.
 * Threads stride over the rows·columns elements by the grid's thread count; block k writes
 * partials[4k ..< 4k + 4] = (loss, wrong judged bits, judged bits, right bits).
 */
DNC_KERNEL DNC_NAME(dnc_loss_bce)(const DNC_REAL *logits, const DNC_REAL *targets, const double *row_weights,
                                  int loss_columns, const int *metric_rows, int metric_columns, int count_all_correct,
                                  int rows, int columns, DNC_REAL *gradient, double *partials) {
    DNC_SHARED_ARRAY(double, folded);
    const dnc_index elements = (dnc_index)rows * columns;
    DNC_FOR_EACH_THREAD
        double loss = 0, wrong = 0, judged = 0, right = 0;
        for (dnc_index i = (dnc_index)blockIdx.x * blockDim.x + threadIdx.x; i < elements; i += (dnc_index)gridDim.x * blockDim.x) {
            const dnc_index r = i / columns;
            const int j = (int)(i - r * columns);
            const double numerator = row_weights[2 * r];
            const int in_loss = numerator != 0 && j < loss_columns;
            const int in_metric = metric_rows[r] != 0 && j < metric_columns;
            DNC_REAL g = 0;
            if (in_loss || in_metric || count_all_correct) {
                const DNC_REAL zr = logits[i], yr = targets[i];
                if (in_loss) {
                    const double z = (double)zr, y = (double)yr;
                    const double e = exp(-fabs(z));
                    const double term = (0 >= z ? 0.0 : z) - z * y + log1p(e);
                    const double sigmoid = z >= 0 ? 1 / (1 + e) : e / (1 + e);
                    const double denominator = row_weights[2 * r + 1];
                    loss += term * numerator / denominator;
                    g = (DNC_REAL)((sigmoid - y) * numerator / denominator);
                }
                const int is_wrong = (DNC_REAL)DNC_LOSS_BIT(zr) != yr;
                if (in_metric) {
                    judged += 1;
                    wrong += is_wrong;
                }
                if (count_all_correct && !is_wrong) right += 1;
            }
            gradient[i] = g;
        }
        folded[threadIdx.x] = loss;
        folded[blockDim.x + threadIdx.x] = wrong;
        folded[2 * blockDim.x + threadIdx.x] = judged;
        folded[3 * blockDim.x + threadIdx.x] = right;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM_LANES(folded, 4);
    DNC_FOR_EACH_THREAD
        if (threadIdx.x < 4) partials[4 * (dnc_index)blockIdx.x + threadIdx.x] = folded[threadIdx.x * blockDim.x];
    DNC_END_FOR_EACH_THREAD
}

/* The adding task (AddingTask.evaluate): sample b's prediction ŷ = Σ_t Σ_k z[t, b, k], the
 * difference δ = ŷ − S_b, every gradient element of the sample float(2δ / G).
 * per_sample[3b ..< 3b + 3] = (δ², |δ|, |δ| < ½).
 * Launch: grid (B), blockDim.x a power of two, blockDim.x doubles of shared memory. */
DNC_KERNEL DNC_NAME(dnc_loss_adding)(const DNC_REAL *logits, const DNC_REAL *targets, int steps, int count, int outputs,
                                     int global_batch, DNC_REAL *gradient, double *per_sample) {
    DNC_SHARED_ARRAY(double, folded);
    const int b = blockIdx.x;
    const int elements = steps * outputs;
    DNC_FOR_EACH_THREAD
        double s = 0;
        for (int e = threadIdx.x; e < elements; e += blockDim.x) {
            const int t = e / outputs, k = e - t * outputs;
            s += (double)logits[((dnc_index)t * count + b) * outputs + k];
        }
        folded[threadIdx.x] = s;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM(folded);
    DNC_FOR_EACH_THREAD
        const double difference = folded[0] - (double)targets[b];
        const DNC_REAL slope = (DNC_REAL)(2 * difference / (double)global_batch);
        for (int e = threadIdx.x; e < elements; e += blockDim.x) {
            const int t = e / outputs, k = e - t * outputs;
            gradient[((dnc_index)t * count + b) * outputs + k] = slope;
        }
        if (threadIdx.x == 0) {
            const double absolute = fabs(difference);
            per_sample[3 * b] = difference * difference;
            per_sample[3 * b + 1] = absolute;
            per_sample[3 * b + 2] = absolute < 0.5 ? 1 : 0;
        }
    DNC_END_FOR_EACH_THREAD
}

/* The argmax task (ArgmaxTask.evaluate): at each regressed step t ≥ first_regressed of sample b,
 * δ_t = Σ_k z[t, b, k] − target_b (summed over k in order, as the CPU does) and the row's
 * gradient float(2δ_t·scale), scale = 1 / (G·(T − first_regressed)); other rows 0.
 * per_sample[3b ..< 3b + 3] = (Σ_t δ_t², |δ_{T−1}|, |δ_{T−1}| < ½): the metrics judge the last
 * step. Launch: grid (B), blockDim.x a power of two, blockDim.x doubles of shared memory. */
DNC_KERNEL DNC_NAME(dnc_loss_argmax)(const DNC_REAL *logits, const DNC_REAL *targets, int steps, int count, int outputs,
                                     int first_regressed, int global_batch, DNC_REAL *gradient, double *per_sample) {
    DNC_SHARED_ARRAY(double, folded);
    const int b = blockIdx.x;
    const double scale = 1 / ((double)global_batch * (double)(steps - first_regressed));
    DNC_FOR_EACH_THREAD
        const double target = (double)targets[b];
        double squares = 0;
        for (int t = threadIdx.x; t < steps; t += blockDim.x) {
            const DNC_REAL *z = logits + ((dnc_index)t * count + b) * outputs;
            DNC_REAL *g = gradient + ((dnc_index)t * count + b) * outputs;
            if (t < first_regressed) {
                for (int k = 0; k < outputs; k++) g[k] = 0;
                continue;
            }
            double sum = 0;
            for (int k = 0; k < outputs; k++) sum += (double)z[k];
            const double difference = sum - target;
            squares += difference * difference;
            const DNC_REAL slope = (DNC_REAL)(2 * difference * scale);
            for (int k = 0; k < outputs; k++) g[k] = slope;
            if (t == steps - 1) {
                const double absolute = fabs(difference);
                per_sample[3 * b + 1] = absolute;
                per_sample[3 * b + 2] = absolute < 0.5 ? 1 : 0;
            }
        }
        folded[threadIdx.x] = squares;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM(folded);
    DNC_FOR_EACH_THREAD
        if (threadIdx.x == 0) per_sample[3 * b] = folded[0];
    DNC_END_FOR_EACH_THREAD
}

/* Softmax cross-entropy with class targets at the answer rows of bAbI (BabiTask.evaluate through
 * Losses.softmaxCrossEntropy), in the precision as the CPU computes it: block a takes row
 * r = answer_rows[a] with class c = classes[a]; m = max_j z_j, e_j = exp(z_j − m), s = Σ e_j,
 * ℓ = m + ln s − z_c; gradient ((k·e_j)·(1/s) − [j = c]·k)·rescale, k = 1 / answer words and
 * rescale = answer words / G as the CPU rounds them. row_loss[a] = ℓ, row_wrong[a] = 1 when the
 * first largest logit is not c (for the question error the host groups these by question).
 * Rows that are not answers are not touched: the caller zeroes the gradient first.
 * Launch: grid (answer rows), blockDim.x a power of two, 3·blockDim.x doubles of shared memory
 * (the largest value, its index, and the sum, per thread). */
DNC_KERNEL DNC_NAME(dnc_loss_softmax_rows)(const DNC_REAL *logits, int columns, const int *answer_rows, const int *classes,
                                           DNC_REAL k, DNC_REAL rescale, DNC_REAL *gradient, double *row_loss,
                                           int *row_wrong) {
    DNC_SHARED_ARRAY(double, shared);
    DNC_REAL *largest = (DNC_REAL *)shared;
    int *position = (int *)(shared + blockDim.x);
    DNC_REAL *sums = (DNC_REAL *)(shared + 2 * blockDim.x);
    const int a = blockIdx.x;
    const DNC_REAL *z = logits + (dnc_index)answer_rows[a] * columns;
    DNC_REAL *g = gradient + (dnc_index)answer_rows[a] * columns;
    DNC_FOR_EACH_THREAD
        /* The first largest of this thread's columns (index `columns`: none yet). */
        DNC_REAL best = 0;
        int at = columns;
        for (int j = threadIdx.x; j < columns; j += blockDim.x)
            if (at == columns || z[j] > best) { best = z[j]; at = j; }
        largest[threadIdx.x] = best;
        position[threadIdx.x] = at;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
        DNC_FOR_EACH_THREAD
            if (threadIdx.x < stride) {
                const DNC_REAL v = largest[threadIdx.x + stride];
                const int i = position[threadIdx.x + stride], mine = position[threadIdx.x];
                /* The larger value; of equal values the lower index: the first maximum. */
                if (i < columns && (mine == columns || v > largest[threadIdx.x] || (v == largest[threadIdx.x] && i < mine))) {
                    largest[threadIdx.x] = v;
                    position[threadIdx.x] = i;
                }
            }
        DNC_END_FOR_EACH_THREAD
        DNC_BARRIER();
    }
    DNC_FOR_EACH_THREAD
        const DNC_REAL m = largest[0];
        DNC_REAL s = 0;
        for (int j = threadIdx.x; j < columns; j += blockDim.x) {
            const DNC_REAL e = DNC_EXP(z[j] - m);
            g[j] = e;
            s += e;
        }
        sums[threadIdx.x] = s;
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM(sums);
    DNC_FOR_EACH_THREAD
        const int c = classes[a];
        const DNC_REAL inverse = 1 / sums[0];
        for (int j = threadIdx.x; j < columns; j += blockDim.x) {
            DNC_REAL v = k * g[j] * inverse;
            if (j == c) v = v - k;
            g[j] = v * rescale;
        }
        if (threadIdx.x == 0) {
            const DNC_REAL log_sum_exp = largest[0] + DNC_LOSS_LOG(sums[0]);
            row_loss[a] = (double)(log_sum_exp - z[c]);
            row_wrong[a] = position[0] != c;
        }
    DNC_END_FOR_EACH_THREAD
}

/* Pass 2 of every loss reduction: sums[c] = Σ_r values[r·columns + c] for c < columns (≤ 4), each
 * thread folding rows t, t + blockDim.x, … in order, then a tree.
 * Launch: grid (1), blockDim.x a power of two, columns·blockDim.x doubles of shared memory. */
DNC_KERNEL DNC_NAME(dnc_loss_sum)(const double *values, int rows, int columns, double *sums) {
    DNC_SHARED_ARRAY(double, folded);
    DNC_FOR_EACH_THREAD
        for (int c = 0; c < columns; c++) {
            double s = 0;
            for (int r = threadIdx.x; r < rows; r += blockDim.x) s += values[(dnc_index)r * columns + c];
            folded[c * blockDim.x + threadIdx.x] = s;
        }
    DNC_END_FOR_EACH_THREAD
    DNC_BARRIER();
    DNC_BLOCK_SUM_LANES(folded, columns);
    DNC_FOR_EACH_THREAD
        if ((int)threadIdx.x < columns) sums[threadIdx.x] = folded[threadIdx.x * blockDim.x];
    DNC_END_FOR_EACH_THREAD
}
