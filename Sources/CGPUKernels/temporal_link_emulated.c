// temporal_link.cu compiled as C for the CPU emulation, once per precision.
#include "dnc_gpu_kernels.h"
#include "emulation.h"

#define DNC_DOUBLE 0
#include "kernels/temporal_link.cu"
#undef DNC_DOUBLE
#define DNC_DOUBLE 1
#include "kernels/temporal_link.cu"

#define DNC_DEFINE_LAUNCHES(suffix, real)                                                                               \
    int dnc_emulated_link_update_##suffix(real *link, const real *write_weights, const real *precedence, int batch,      \
                                          int cells, int threads) {                                                    \
        if (batch < 0 || cells < 1 || threads < 1) return -1;                                                          \
        int status = 0;                                                                                                \
        DNC_EMULATE_LAUNCH(status, dnc_link_update_##suffix, cells, batch, threads, 0, link, write_weights, precedence,  \
                           cells);                                                                                     \
        return status;                                                                                                 \
    }                                                                                                                  \
    int dnc_emulated_precedence_update_##suffix(real *precedence, const real *write_weights, int batch, int cells,      \
                                                int threads) {                                                         \
        if (batch < 0 || cells < 1 || !dnc_is_power_of_two(threads)) return -1;                                       \
        int status = 0;                                                                                                \
        DNC_EMULATE_LAUNCH(status, dnc_precedence_update_##suffix, batch, 1, threads, (size_t)threads * sizeof(real),   \
                           precedence, write_weights, cells);                                                          \
        return status;                                                                                                 \
    }

DNC_DEFINE_LAUNCHES(f32, float)
DNC_DEFINE_LAUNCHES(f64, double)
