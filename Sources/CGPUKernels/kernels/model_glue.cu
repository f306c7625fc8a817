#include "dnc_kernel_prelude.cuh"
