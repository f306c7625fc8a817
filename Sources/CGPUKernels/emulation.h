/* The CPU emulation of a CUDA launch for the kernels in kernels/ (their rules are in
 * kernels/dnc_kernel_prelude.cuh): blocks run one after the other; inside a block, each
 * barrier-separated DNC_FOR_EACH_THREAD block runs as a loop over the threads, which gives every
 * thread the state a barrier guarantees on the GPU. Shared memory is a plain array per launch.
 * Only x-dimensional blocks and x/y grids, which is what the kernels use.
 */
#ifndef DNC_EMULATION_H
#define DNC_EMULATION_H
#define DNC_KERNEL_EMULATION 1
#include <math.h>
#include <stdlib.h>

typedef struct { unsigned x, y, z; } dnc_dim3;
typedef long long dnc_index;
/* CUDA's built-in variables, per CPU thread so that emulated launches may run concurrently. */
static _Thread_local dnc_dim3 threadIdx, blockIdx, blockDim, gridDim;
static _Thread_local double *dnc_emulated_shared;

#define DNC_KERNEL static void
/* The order the emulation runs a block's threads and a grid's blocks in: 0 ascending, 1 descending
 * (dnc_emulated_set_reversed_order). A kernel without races gives the same bits either way; one
 * whose thread reads what another thread of the same phase writes, or whose block reads another
 * block's output, does not: the tests run both orders and compare (a GPU runs them in any order). */
extern int dnc_emulation_reversed_order;
#define DNC_EMULATED_INDEX(i, n) (dnc_emulation_reversed_order ? (n) - 1 - (i) : (i))
#define DNC_FOR_EACH_THREAD                                                                  \
    for (unsigned dnc_thread = 0; dnc_thread < blockDim.x; dnc_thread++) {                   \
        threadIdx.x = DNC_EMULATED_INDEX(dnc_thread, blockDim.x);
#define DNC_END_FOR_EACH_THREAD }
#define DNC_BARRIER() ((void)0)
#define DNC_SHARED_ARRAY(type, name) type *name = (type *)dnc_emulated_shared

static inline int dnc_is_power_of_two(int n) { return n > 0 && (n & (n - 1)) == 0; }

/* Runs kernel(...) on a grid_x × grid_y grid of blocks of `threads` threads with `shared_bytes`
 * of shared memory. Evaluates to 0, or −1 when the shared memory cannot be allocated. */
#define DNC_EMULATE_LAUNCH(status, kernel, grid_x, grid_y, threads, shared_bytes, ...)                   \
    do {                                                                                                 \
        dnc_emulated_shared = (double *)malloc((size_t)(shared_bytes) + sizeof(double));                \
        if (dnc_emulated_shared == NULL) { (status) = -1; break; }                                       \
        gridDim = (dnc_dim3){(unsigned)(grid_x), (unsigned)(grid_y), 1};                                 \
        blockDim = (dnc_dim3){(unsigned)(threads), 1, 1};                                                \
        for (unsigned dnc_block_y = 0; dnc_block_y < gridDim.y; dnc_block_y++)                           \
            for (unsigned dnc_block_x = 0; dnc_block_x < gridDim.x; dnc_block_x++) {                     \
                blockIdx = (dnc_dim3){DNC_EMULATED_INDEX(dnc_block_x, gridDim.x),                        \
                                      DNC_EMULATED_INDEX(dnc_block_y, gridDim.y), 0};                    \
                threadIdx = (dnc_dim3){0, 0, 0};                                                         \
                kernel(__VA_ARGS__);                                                                     \
            }                                                                                            \
        free(dnc_emulated_shared);                                                                       \
        dnc_emulated_shared = NULL;                                                                      \
        (status) = 0;                                                                                    \
    } while (0)

/* Launching by name, as the GPU does (KernelDevice, EmulatedKernelDevice in Swift): each C file
 * that compiles kernels for the emulation lists them in a table of runners; emulated_launch.c
 * searches the tables. A runner unpacks `arguments` — one pointer per kernel parameter, to the
 * parameter's value, exactly as cuLaunchKernel takes them — and runs the launch loop in the
 * kernel's own file (the built-in variables above are per file). */
typedef int (*dnc_emulated_runner)(unsigned grid_x, unsigned grid_y, unsigned threads, size_t shared_bytes, void **arguments);
typedef struct { const char *name; dnc_emulated_runner run; } dnc_emulated_kernel;
/* Parameter `index` of the launch, of C type `type` (a device pointer is the host pointer here). */
#define DNC_ARG(index, type) (*(type *)arguments[(index)])
/* Defines the runner of `kernel`; the variadic part is its argument list in DNC_ARG terms. */
#define DNC_EMULATED_RUNNER(kernel, ...)                                                                   \
    static int dnc_run_##kernel(unsigned grid_x, unsigned grid_y, unsigned threads, size_t shared_bytes, \
                                void **arguments) {                                                       \
        int status = 0;                                                                                   \
        DNC_EMULATE_LAUNCH(status, kernel, grid_x, grid_y, threads, shared_bytes, __VA_ARGS__);           \
        return status;                                                                                    \
    }
/* A table entry for a runner defined with DNC_EMULATED_RUNNER. */
#define DNC_EMULATED_KERNEL(kernel) {#kernel, dnc_run_##kernel}
#endif
