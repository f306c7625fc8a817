// usage_allocation.cu compiled as C for the CPU emulation, once per precision.
#include "dnc_gpu_kernels.h"
#include "emulation.h"

#define DNC_DOUBLE 0
#include "kernels/usage_allocation.cu"
#undef DNC_DOUBLE
#define DNC_DOUBLE 1
#include "kernels/usage_allocation.cu"

#define DNC_DEFINE_LAUNCH(suffix, real)                                                                                 \
    int dnc_emulated_usage_allocation_##suffix(const real *usage, const real *write_weights, const real *read_weights,  \
                                               const real *free_gates, int batch, int cells, int read_heads,            \
                                               int threads, real *retention, real *new_usage, int *order,               \
                                               real *sorted, real *prefix, real *allocation) {                         \
        if (batch < 0 || cells < 1 || read_heads < 0 || threads < 1) return -1;                                        \
        int status = 0;                                                                                                \
        DNC_EMULATE_LAUNCH(status, dnc_usage_allocation_##suffix, batch, 1, threads, 0, usage, write_weights,           \
                           read_weights, free_gates, cells, read_heads, retention, new_usage, order, sorted, prefix,    \
                           allocation);                                                                                \
        return status;                                                                                                 \
    }

DNC_DEFINE_LAUNCH(f32, float)
DNC_DEFINE_LAUNCH(f64, double)
