/* The model's own small kernels (issue #14): the row copies, masks and clamps that join the
 * controller, the memory and the output layer of a DNC step on the GPU (GPUDNC in
 * Sources/GPUTraining). Every kernel treats its operands as `rows` rows of `columns` values with
 * row strides (ld), so that a column block of a wider matrix (the read part of [o ; r], one step
 * of a batch-first sequence) is used in place, without a copy.
 *
 * Launch: grid (⌈columns / threads⌉, rows), one thread per element. `active` (optional, NULL for
 * all active) holds one int flag per sample; row r belongs to sample r mod `batch`, so that a
 * depth × B state is masked by the B flags.
 */
#include "dnc_kernel_prelude.cuh"

#define DNC_GLUE_ELEMENT                                            \
    const int row = (int)blockIdx.y;                                \
    const int column = (int)(blockIdx.x * blockDim.x + threadIdx.x);

/* dst = src, or 0 in the rows of inactive samples. */
DNC_KERNEL DNC_NAME(dnc_model_copy_rows)(const DNC_REAL *src, int ld_src, DNC_REAL *dst, int ld_dst, int columns,
                                   const int *active, int batch) {
    DNC_FOR_EACH_THREAD
        DNC_GLUE_ELEMENT
        if (column < columns) {
            const int on = active == 0 || active[row % batch] != 0;
            dst[(dnc_index)row * ld_dst + column] = on ? src[(dnc_index)row * ld_src + column] : (DNC_REAL)0;
        }
    DNC_END_FOR_EACH_THREAD
}

/* dst += src. */
DNC_KERNEL DNC_NAME(dnc_model_add_rows)(const DNC_REAL *src, int ld_src, DNC_REAL *dst, int ld_dst, int columns) {
    DNC_FOR_EACH_THREAD
        DNC_GLUE_ELEMENT
        if (column < columns) dst[(dnc_index)row * ld_dst + column] += src[(dnc_index)row * ld_src + column];
    DNC_END_FOR_EACH_THREAD
}

/* In the rows of active samples: dst += src, then src = 0 (hands a carried gradient over once). */
DNC_KERNEL DNC_NAME(dnc_model_move_active_rows)(DNC_REAL *src, int ld_src, DNC_REAL *dst, int ld_dst, int columns,
                                          const int *active, int batch) {
    DNC_FOR_EACH_THREAD
        DNC_GLUE_ELEMENT
        if (column < columns && (active == 0 || active[row % batch] != 0)) {
            dst[(dnc_index)row * ld_dst + column] += src[(dnc_index)row * ld_src + column];
            src[(dnc_index)row * ld_src + column] = 0;
        }
    DNC_END_FOR_EACH_THREAD
}

/* In the rows of inactive samples: dst = saved (a frozen sample keeps its state). */
DNC_KERNEL DNC_NAME(dnc_model_restore_inactive_rows)(const DNC_REAL *saved, int ld_saved, DNC_REAL *dst, int ld_dst, int columns,
                                               const int *active, int batch) {
    DNC_FOR_EACH_THREAD
        DNC_GLUE_ELEMENT
        if (column < columns && active != 0 && active[row % batch] == 0)
            dst[(dnc_index)row * ld_dst + column] = saved[(dnc_index)row * ld_saved + column];
    DNC_END_FOR_EACH_THREAD
}

/* In the rows of inactive samples: dst = 0. */
DNC_KERNEL DNC_NAME(dnc_model_zero_inactive_rows)(DNC_REAL *dst, int ld_dst, int columns, const int *active, int batch) {
    DNC_FOR_EACH_THREAD
        DNC_GLUE_ELEMENT
        if (column < columns && active != 0 && active[row % batch] == 0) dst[(dnc_index)row * ld_dst + column] = 0;
    DNC_END_FOR_EACH_THREAD
}

/* dst = clamp(src, −limit, limit), or src when limit ≤ 0 (the controller output's clip). */
DNC_KERNEL DNC_NAME(dnc_model_clamp_rows)(const DNC_REAL *src, int ld_src, DNC_REAL *dst, int ld_dst, int columns, DNC_REAL limit) {
    DNC_FOR_EACH_THREAD
        DNC_GLUE_ELEMENT
        if (column < columns) {
            DNC_REAL value = src[(dnc_index)row * ld_src + column];
            if (limit > 0) value = value < -limit ? -limit : (value > limit ? limit : value);
            dst[(dnc_index)row * ld_dst + column] = value;
        }
    DNC_END_FOR_EACH_THREAD
}

/* Backward of dnc_model_clamp_rows: the gradient passes where −limit ≤ h ≤ limit (all of it when limit ≤ 0). */
DNC_KERNEL DNC_NAME(dnc_model_clamp_rows_backward)(const DNC_REAL *hidden, int ld_hidden, DNC_REAL *gradient, int ld_gradient,
                                             int columns, DNC_REAL limit) {
    DNC_FOR_EACH_THREAD
        DNC_GLUE_ELEMENT
        if (column < columns && limit > 0) {
            const DNC_REAL h = hidden[(dnc_index)row * ld_hidden + column];
            if (h < -limit || h > limit) gradient[(dnc_index)row * ld_gradient + column] = 0;
        }
    DNC_END_FOR_EACH_THREAD
}
