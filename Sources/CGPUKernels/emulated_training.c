// The training kernels (kernels/losses.cu, kernels/optimisers.cu) compiled as C for the CPU
// emulation, once per precision, and their runners for dnc_emulated_launch (emulated_launch.c).
#include "dnc_gpu_kernels.h"
#include "emulation.h"

#define DNC_DOUBLE 0
#include "kernels/optimisers.cu"
#include "kernels/losses.cu"
#undef DNC_DOUBLE
#define DNC_DOUBLE 1
#include "kernels/optimisers.cu"
#include "kernels/losses.cu"

// One runner per kernel and precision; the argument lists follow the kernels' signatures.
#define DNC_TRAINING_RUNNERS(suffix, real)                                                                              \
    DNC_EMULATED_RUNNER(dnc_optimiser_sgd_##suffix, DNC_ARG(0, real *), DNC_ARG(1, const real *), DNC_ARG(2, real *),     \
                        DNC_ARG(3, int), DNC_ARG(4, real), DNC_ARG(5, real), DNC_ARG(6, int), DNC_ARG(7, int),            \
                        DNC_ARG(8, real), DNC_ARG(9, real), DNC_ARG(10, int), DNC_ARG(11, int))                           \
    DNC_EMULATED_RUNNER(dnc_optimiser_adam_##suffix, DNC_ARG(0, real *), DNC_ARG(1, const real *), DNC_ARG(2, real *),    \
                        DNC_ARG(3, real *), DNC_ARG(4, real *), DNC_ARG(5, int), DNC_ARG(6, real), DNC_ARG(7, real),      \
                        DNC_ARG(8, real), DNC_ARG(9, real), DNC_ARG(10, real), DNC_ARG(11, real), DNC_ARG(12, real),      \
                        DNC_ARG(13, int), DNC_ARG(14, int), DNC_ARG(15, int))                                             \
    DNC_EMULATED_RUNNER(dnc_optimiser_adamax_##suffix, DNC_ARG(0, real *), DNC_ARG(1, const real *), DNC_ARG(2, real *),  \
                        DNC_ARG(3, real *), DNC_ARG(4, int), DNC_ARG(5, real), DNC_ARG(6, real), DNC_ARG(7, real),        \
                        DNC_ARG(8, real), DNC_ARG(9, real), DNC_ARG(10, int), DNC_ARG(11, int))                           \
    DNC_EMULATED_RUNNER(dnc_optimiser_rmsprop_##suffix, DNC_ARG(0, real *), DNC_ARG(1, const real *), DNC_ARG(2, real *), \
                        DNC_ARG(3, real *), DNC_ARG(4, real *), DNC_ARG(5, int), DNC_ARG(6, real), DNC_ARG(7, real),      \
                        DNC_ARG(8, real), DNC_ARG(9, real), DNC_ARG(10, real), DNC_ARG(11, real), DNC_ARG(12, int),       \
                        DNC_ARG(13, int), DNC_ARG(14, int), DNC_ARG(15, int))                                             \
    DNC_EMULATED_RUNNER(dnc_optimiser_adagrad_##suffix, DNC_ARG(0, real *), DNC_ARG(1, const real *), DNC_ARG(2, real *), \
                        DNC_ARG(3, int), DNC_ARG(4, real), DNC_ARG(5, real), DNC_ARG(6, real), DNC_ARG(7, int),           \
                        DNC_ARG(8, real), DNC_ARG(9, int))                                                                \
    DNC_EMULATED_RUNNER(dnc_optimiser_adadelta_##suffix, DNC_ARG(0, real *), DNC_ARG(1, const real *),                    \
                        DNC_ARG(2, real *), DNC_ARG(3, real *), DNC_ARG(4, int), DNC_ARG(5, real), DNC_ARG(6, real),      \
                        DNC_ARG(7, real), DNC_ARG(8, real), DNC_ARG(9, real), DNC_ARG(10, int), DNC_ARG(11, int))         \
    DNC_EMULATED_RUNNER(dnc_norm_partials_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, int), DNC_ARG(2, double *),      \
                        DNC_ARG(3, int), DNC_ARG(4, real))                                                                \
    DNC_EMULATED_RUNNER(dnc_norm_finish_##suffix, DNC_ARG(0, const double *), DNC_ARG(1, int), DNC_ARG(2, double *),      \
                        DNC_ARG(3, int))                                                                                  \
    DNC_EMULATED_RUNNER(dnc_norm_scale_##suffix, DNC_ARG(0, real *), DNC_ARG(1, int), DNC_ARG(2, real))                   \
    DNC_EMULATED_RUNNER(dnc_loss_bce_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, const real *),                        \
                        DNC_ARG(2, const double *), DNC_ARG(3, int), DNC_ARG(4, const int *), DNC_ARG(5, int),            \
                        DNC_ARG(6, int), DNC_ARG(7, int), DNC_ARG(8, int), DNC_ARG(9, real *), DNC_ARG(10, double *))     \
    DNC_EMULATED_RUNNER(dnc_loss_adding_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, const real *), DNC_ARG(2, int),    \
                        DNC_ARG(3, int), DNC_ARG(4, int), DNC_ARG(5, int), DNC_ARG(6, real *), DNC_ARG(7, double *))      \
    DNC_EMULATED_RUNNER(dnc_loss_argmax_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, const real *), DNC_ARG(2, int),    \
                        DNC_ARG(3, int), DNC_ARG(4, int), DNC_ARG(5, int), DNC_ARG(6, int), DNC_ARG(7, real *),           \
                        DNC_ARG(8, double *))                                                                             \
    DNC_EMULATED_RUNNER(dnc_loss_softmax_rows_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, int),                        \
                        DNC_ARG(2, const int *), DNC_ARG(3, const int *), DNC_ARG(4, real), DNC_ARG(5, real),             \
                        DNC_ARG(6, real *), DNC_ARG(7, double *), DNC_ARG(8, int *))                                      \
    DNC_EMULATED_RUNNER(dnc_loss_sum_##suffix, DNC_ARG(0, const double *), DNC_ARG(1, int), DNC_ARG(2, int),              \
                        DNC_ARG(3, double *))

DNC_TRAINING_RUNNERS(f32, float)
DNC_TRAINING_RUNNERS(f64, double)

#define DNC_TRAINING_ENTRIES(suffix)                                                                                    \
    DNC_EMULATED_KERNEL(dnc_optimiser_sgd_##suffix), DNC_EMULATED_KERNEL(dnc_optimiser_adam_##suffix),                  \
        DNC_EMULATED_KERNEL(dnc_optimiser_adamax_##suffix), DNC_EMULATED_KERNEL(dnc_optimiser_rmsprop_##suffix),        \
        DNC_EMULATED_KERNEL(dnc_optimiser_adagrad_##suffix), DNC_EMULATED_KERNEL(dnc_optimiser_adadelta_##suffix),      \
        DNC_EMULATED_KERNEL(dnc_norm_partials_##suffix), DNC_EMULATED_KERNEL(dnc_norm_finish_##suffix),                 \
        DNC_EMULATED_KERNEL(dnc_norm_scale_##suffix), DNC_EMULATED_KERNEL(dnc_loss_bce_##suffix),                       \
        DNC_EMULATED_KERNEL(dnc_loss_adding_##suffix), DNC_EMULATED_KERNEL(dnc_loss_argmax_##suffix),                   \
        DNC_EMULATED_KERNEL(dnc_loss_softmax_rows_##suffix), DNC_EMULATED_KERNEL(dnc_loss_sum_##suffix)

const dnc_emulated_kernel dnc_emulated_kernels_training[] = {
    DNC_TRAINING_ENTRIES(f32),
    DNC_TRAINING_ENTRIES(f64),
    {0, 0},
};
