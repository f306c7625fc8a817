// The controller kernels (gemm.cu, recurrent_cells.cu) compiled as C for the CPU emulation, once
// per precision, and their runners for dnc_emulated_launch (emulated_launch.c).
#include "dnc_gpu_kernels.h"
#include "emulation.h"

#define DNC_DOUBLE 0
#include "kernels/gemm.cu"
#undef DNC_DOUBLE
#define DNC_DOUBLE 1
#include "kernels/gemm.cu"
#undef DNC_DOUBLE
#define DNC_DOUBLE 0
#include "kernels/recurrent_cells.cu"
#undef DNC_DOUBLE
#define DNC_DOUBLE 1
#include "kernels/recurrent_cells.cu"
#undef DNC_DOUBLE

// The runners, per precision: the argument lists in the kernels' parameter order.
#define DNC_GEMM_RUNNER(kernel, real)                                                                                  \
    DNC_EMULATED_RUNNER(kernel, DNC_ARG(0, int), DNC_ARG(1, int), DNC_ARG(2, int), DNC_ARG(3, int), DNC_ARG(4, int),  \
                        DNC_ARG(5, real), DNC_ARG(6, const real *), DNC_ARG(7, int), DNC_ARG(8, int),                  \
                        DNC_ARG(9, const real *), DNC_ARG(10, int), DNC_ARG(11, int), DNC_ARG(12, real),               \
                        DNC_ARG(13, real *), DNC_ARG(14, int), DNC_ARG(15, int), DNC_ARG(16, const real *),          \
                        DNC_ARG(17, int), DNC_ARG(18, const real *), DNC_ARG(19, int), DNC_ARG(20, const real *),      \
                        DNC_ARG(21, int))
#define DNC_PRODUCT_RUNNERS(suffix, real)                                                                              \
    DNC_GEMM_RUNNER(dnc_gemm_##suffix, real)                                                                           \
    DNC_GEMM_RUNNER(dnc_gemm_rows16_##suffix, real)                                                                    \
    DNC_EMULATED_RUNNER(dnc_add_row_vector_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, real *), DNC_ARG(2, int),    \
                        DNC_ARG(3, int))                                                                               \
    DNC_EMULATED_RUNNER(dnc_accumulate_column_sums_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, int),                \
                        DNC_ARG(2, int), DNC_ARG(3, int), DNC_ARG(4, real *))                                          \
    DNC_EMULATED_RUNNER(dnc_copy_rows_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, int), DNC_ARG(2, real *),         \
                        DNC_ARG(3, int), DNC_ARG(4, int))

DNC_PRODUCT_RUNNERS(f32, float)
DNC_PRODUCT_RUNNERS(f64, double)

// The trailing dropout parameters of the forward cell kernels, from argument `first` on.
#define DNC_DROPOUT_ARGS(first, real)                                                                                  \
    DNC_ARG(first, int), DNC_ARG(first + 1, long long), DNC_ARG(first + 2, long long), DNC_ARG(first + 3, long long),  \
        DNC_ARG(first + 4, long long), DNC_ARG(first + 5, real)
#define DNC_CELL_RUNNERS(suffix, real)                                                                                 \
    DNC_EMULATED_RUNNER(dnc_lstm_forward_##suffix, DNC_ARG(0, real *), DNC_ARG(1, const real *), DNC_ARG(2, const real *), \
                        DNC_ARG(3, real *), DNC_ARG(4, real *), DNC_ARG(5, real *), DNC_ARG(6, real *), DNC_ARG(7, real *), \
                        DNC_ARG(8, real *), DNC_ARG(9, real *), DNC_ARG(10, real *), DNC_ARG(11, real *), DNC_ARG(12, int), \
                        DNC_DROPOUT_ARGS(13, real))                                                                    \
    DNC_EMULATED_RUNNER(dnc_lstm_backward_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, const real *),                \
                        DNC_ARG(2, const real *), DNC_ARG(3, const real *), DNC_ARG(4, const real *),                  \
                        DNC_ARG(5, const real *), DNC_ARG(6, real *), DNC_ARG(7, real *), DNC_ARG(8, int))             \
    DNC_EMULATED_RUNNER(dnc_gru_forward_##suffix, DNC_ARG(0, real *), DNC_ARG(1, const real *), DNC_ARG(2, const real *), \
                        DNC_ARG(3, const real *), DNC_ARG(4, real *), DNC_ARG(5, real *), DNC_ARG(6, real *),          \
                        DNC_ARG(7, real *), DNC_ARG(8, real *), DNC_ARG(9, real *), DNC_ARG(10, int),                  \
                        DNC_DROPOUT_ARGS(11, real))                                                                    \
    DNC_EMULATED_RUNNER(dnc_gru_backward_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, const real *),                 \
                        DNC_ARG(2, const real *), DNC_ARG(3, const real *), DNC_ARG(4, const real *), DNC_ARG(5, real *), \
                        DNC_ARG(6, real *), DNC_ARG(7, real *), DNC_ARG(8, int))                                       \
    DNC_EMULATED_RUNNER(dnc_rnn_forward_##suffix, DNC_ARG(0, real *), DNC_ARG(1, const real *), DNC_ARG(2, const real *), \
                        DNC_ARG(3, int), DNC_ARG(4, real *), DNC_ARG(5, real *), DNC_ARG(6, real *), DNC_ARG(7, real *), \
                        DNC_ARG(8, real *), DNC_ARG(9, int), DNC_DROPOUT_ARGS(10, real))                               \
    DNC_EMULATED_RUNNER(dnc_rnn_backward_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, const real *),                 \
                        DNC_ARG(2, const real *), DNC_ARG(3, const real *), DNC_ARG(4, real *), DNC_ARG(5, int),       \
                        DNC_ARG(6, int))

DNC_CELL_RUNNERS(f32, float)
DNC_CELL_RUNNERS(f64, double)

#define DNC_CELL_ENTRIES(suffix)                                                                                       \
    DNC_EMULATED_KERNEL(dnc_lstm_forward_##suffix), DNC_EMULATED_KERNEL(dnc_lstm_backward_##suffix),                   \
        DNC_EMULATED_KERNEL(dnc_gru_forward_##suffix), DNC_EMULATED_KERNEL(dnc_gru_backward_##suffix),                 \
        DNC_EMULATED_KERNEL(dnc_rnn_forward_##suffix), DNC_EMULATED_KERNEL(dnc_rnn_backward_##suffix)

#define DNC_PRODUCT_ENTRIES(suffix)                                                                                    \
    DNC_EMULATED_KERNEL(dnc_gemm_##suffix), DNC_EMULATED_KERNEL(dnc_gemm_rows16_##suffix),                             \
        DNC_EMULATED_KERNEL(dnc_add_row_vector_##suffix), DNC_EMULATED_KERNEL(dnc_accumulate_column_sums_##suffix),    \
        DNC_EMULATED_KERNEL(dnc_copy_rows_##suffix)

const dnc_emulated_kernel dnc_emulated_kernels_controller[] = {
    DNC_PRODUCT_ENTRIES(f32),
    DNC_PRODUCT_ENTRIES(f64),
    DNC_CELL_ENTRIES(f32),
    DNC_CELL_ENTRIES(f64),
    {0, 0},
};
