// The memory kernels compiled as C for the CPU emulation, once per precision, and their runners
// for dnc_emulated_launch (emulated_launch.c).
#include "dnc_gpu_kernels.h"
#include "emulation.h"

#define DNC_DOUBLE 0
#include "kernels/memory_step.cu"
#include "kernels/memory_step_backward.cu"
#undef DNC_DOUBLE
#define DNC_DOUBLE 1
#include "kernels/memory_step.cu"
#include "kernels/memory_step_backward.cu"

#define DNC_MEMORY_RUNNERS(suffix, real)                                                                               \
    DNC_EMULATED_RUNNER(dnc_memory_step_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, real *), DNC_ARG(2, real *),    \
                        DNC_ARG(3, real *), DNC_ARG(4, real *), DNC_ARG(5, real *), DNC_ARG(6, real *),                \
                        DNC_ARG(7, const int *), DNC_ARG(8, const int *), DNC_ARG(9, real *), DNC_ARG(10, int *),      \
                        DNC_ARG(11, int), DNC_ARG(12, int), DNC_ARG(13, int), DNC_ARG(14, int), DNC_ARG(15, real),      \
                        DNC_ARG(16, int), DNC_ARG(17, real), DNC_ARG(18, real *),      \
                        DNC_ARG(19, int), DNC_ARG(20, int))                                       \
    DNC_EMULATED_RUNNER(dnc_memory_step_backward_##suffix, DNC_ARG(0, const real *), DNC_ARG(1, const int *),          \
                        DNC_ARG(2, const int *), DNC_ARG(3, const real *), DNC_ARG(4, real *), DNC_ARG(5, real *),     \
                        DNC_ARG(6, real *), DNC_ARG(7, real *), DNC_ARG(8, real *), DNC_ARG(9, real *),                \
                        DNC_ARG(10, real *), DNC_ARG(11, real *), DNC_ARG(12, int), DNC_ARG(13, int), DNC_ARG(14, int), \
                        DNC_ARG(15, int), DNC_ARG(16, int), DNC_ARG(17, int), DNC_ARG(18, int),      \
                        DNC_ARG(19, int), DNC_ARG(20, int))

DNC_MEMORY_RUNNERS(f32, float)
DNC_MEMORY_RUNNERS(f64, double)

const dnc_emulated_kernel dnc_emulated_kernels_memory[] = {
    DNC_EMULATED_KERNEL(dnc_memory_step_f32),
    DNC_EMULATED_KERNEL(dnc_memory_step_f64),
    DNC_EMULATED_KERNEL(dnc_memory_step_backward_f32),
    DNC_EMULATED_KERNEL(dnc_memory_step_backward_f64),
    {0, 0},
};
