// The model kernels compiled as C for the CPU emulation, once per precision, and their runners
// for dnc_emulated_launch (emulated_launch.c).
#include "dnc_gpu_kernels.h"
#include "emulation.h"

const dnc_emulated_kernel dnc_emulated_kernels_model[] = {
    {0, 0},
};
