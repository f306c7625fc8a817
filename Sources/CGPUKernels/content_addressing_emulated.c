// content_addressing.cu compiled as C for the CPU emulation, once per precision.
#include "dnc_gpu_kernels.h"
#include "emulation.h"

#define DNC_DOUBLE 0
#include "kernels/content_addressing.cu"
#undef DNC_DOUBLE
#define DNC_DOUBLE 1
#include "kernels/content_addressing.cu"

#define DNC_DEFINE_LAUNCH(suffix, real)                                                                              \
    int dnc_emulated_content_addressing_forward_##suffix(const real *memory, const real *keys, const real *strengths,  \
                                                         int batch, int cells, int width, int heads, real norm_shift,   \
                                                         int threads, real *cosine, real *weights) {                   \
        if (batch < 0 || cells < 1 || width < 0 || heads < 0 || !dnc_is_power_of_two(threads)) return -1;            \
        int status = 0;                                                                                                \
        DNC_EMULATE_LAUNCH(status, dnc_content_addressing_forward_##suffix, heads, batch, threads,                     \
                           2 * (size_t)threads * sizeof(real), memory, keys, strengths, cells, width, heads,           \
                           norm_shift, cosine, weights);                                                               \
        return status;                                                                                                 \
    }

DNC_DEFINE_LAUNCH(f32, float)
DNC_DEFINE_LAUNCH(f64, double)
