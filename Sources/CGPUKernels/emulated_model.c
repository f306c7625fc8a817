// model_glue.cu compiled as C for the CPU emulation, once per precision, and its runners for
// dnc_emulated_launch (emulated_launch.c).
#include "dnc_gpu_kernels.h"
#include "emulation.h"

#define DNC_DOUBLE 0
#include "kernels/model_glue.cu"
#undef DNC_DOUBLE
#define DNC_DOUBLE 1
#include "kernels/model_glue.cu"

#define DNC_GLUE_RUNNERS(suffix, real)                                                                                   \
    DNC_EMULATED_RUNNER(dnc_model_copy_rows_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, int), DNC_ARG(2, real *),            \
                        DNC_ARG(3, int), DNC_ARG(4, int), DNC_ARG(5, const int *), DNC_ARG(6, int))                      \
    DNC_EMULATED_RUNNER(dnc_model_add_rows_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, int), DNC_ARG(2, real *),             \
                        DNC_ARG(3, int), DNC_ARG(4, int))                                                                \
    DNC_EMULATED_RUNNER(dnc_model_move_active_rows_##suffix, DNC_ARG(0, real *), DNC_ARG(1, int), DNC_ARG(2, real *),           \
                        DNC_ARG(3, int), DNC_ARG(4, int), DNC_ARG(5, const int *), DNC_ARG(6, int))                      \
    DNC_EMULATED_RUNNER(dnc_model_restore_inactive_rows_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, int), DNC_ARG(2, real *), \
                        DNC_ARG(3, int), DNC_ARG(4, int), DNC_ARG(5, const int *), DNC_ARG(6, int))                      \
    DNC_EMULATED_RUNNER(dnc_model_zero_inactive_rows_##suffix, DNC_ARG(0, real *), DNC_ARG(1, int), DNC_ARG(2, int),            \
                        DNC_ARG(3, const int *), DNC_ARG(4, int))                                                        \
    DNC_EMULATED_RUNNER(dnc_model_clamp_rows_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, int), DNC_ARG(2, real *),           \
                        DNC_ARG(3, int), DNC_ARG(4, int), DNC_ARG(5, real))                                              \
    DNC_EMULATED_RUNNER(dnc_model_clamp_rows_backward_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, int), DNC_ARG(2, real *),  \
                        DNC_ARG(3, int), DNC_ARG(4, int), DNC_ARG(5, real))

DNC_GLUE_RUNNERS(f32, float)
DNC_GLUE_RUNNERS(f64, double)

#define DNC_GLUE_ENTRIES(suffix)                                                                                         \
    DNC_EMULATED_KERNEL(dnc_model_copy_rows_##suffix), DNC_EMULATED_KERNEL(dnc_model_add_rows_##suffix),                             \
        DNC_EMULATED_KERNEL(dnc_model_move_active_rows_##suffix), DNC_EMULATED_KERNEL(dnc_model_restore_inactive_rows_##suffix),     \
        DNC_EMULATED_KERNEL(dnc_model_zero_inactive_rows_##suffix), DNC_EMULATED_KERNEL(dnc_model_clamp_rows_##suffix),              \
        DNC_EMULATED_KERNEL(dnc_model_clamp_rows_backward_##suffix)

const dnc_emulated_kernel dnc_emulated_kernels_model[] = {
    DNC_GLUE_ENTRIES(f32),
    DNC_GLUE_ENTRIES(f64),
    {0, 0},
};
