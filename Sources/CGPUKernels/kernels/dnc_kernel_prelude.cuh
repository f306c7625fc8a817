/* The prelude of every kernel in kernels/: the few macros that let one CUDA C source run both
 * under NVRTC on a GPU and, as plain C, in the CPU emulation of its launch (emulation.h), so
 * that the GPU code is tested against the CPU implementation on machines without a GPU
 * (issue #14).
 *
 * Rules a kernel follows so that both readings agree:
 * - Work between two barriers is one `DNC_FOR_EACH_THREAD … DNC_END_FOR_EACH_THREAD` block.
 *   On the GPU it is the thread's code; on the CPU it runs once per thread, in order.
 * - A value that crosses a barrier lives in shared memory (DNC_SHARED_ARRAY), never in a local:
 *   on the CPU, locals of one block are gone when the next block starts.
 * - Code outside the blocks is the same for every thread of a block (it may use blockIdx,
 *   blockDim and gridDim, never threadIdx), and so are loop conditions around barriers.
 * - Barriers are DNC_BARRIER(), between blocks only (no barrier inside divergent code).
 * The precision is chosen by DNC_DOUBLE (0 or 1) before inclusion; kernels are named with
 * DNC_NAME (…_f32 or …_f64), so that both precisions live in one program or C file.
 */
#ifndef DNC_KERNEL_PRELUDE
#define DNC_KERNEL_PRELUDE
#ifndef DNC_KERNEL_EMULATION
#define DNC_KERNEL extern "C" __global__ void
#define DNC_FOR_EACH_THREAD {
#define DNC_END_FOR_EACH_THREAD }
#define DNC_BARRIER() __syncthreads()
/* Dynamic shared memory (the launch's shared byte count), declared as doubles for alignment. */
#define DNC_SHARED_ARRAY(type, name) extern __shared__ double dnc_shared_words[]; type *name = (type *)dnc_shared_words
typedef long long dnc_index;
#endif

/* Tree reductions over shared memory, blockDim.x a power of two: `lanes` lanes of blockDim.x
 * values each (lane l at values[l·blockDim.x …]), each folded into its first entry by
 * barrier-separated halvings, in the same order on every run. They stand between blocks, never
 * inside one, and every thread reads the results after them. */
#define DNC_BLOCK_REDUCE_LANES(values, lanes, FOLD) \
    for (unsigned dnc_stride = blockDim.x / 2; dnc_stride > 0; dnc_stride /= 2) { \
        DNC_FOR_EACH_THREAD \
            if (threadIdx.x < dnc_stride) \
                for (int dnc_lane = 0; dnc_lane < (lanes); dnc_lane++) \
                    FOLD((values)[dnc_lane * blockDim.x + threadIdx.x], (values)[dnc_lane * blockDim.x + threadIdx.x + dnc_stride]); \
        DNC_END_FOR_EACH_THREAD \
        DNC_BARRIER(); \
    }
#define DNC_FOLD_SUM(into, value) ((into) += (value))
/* The larger value; the kept one on ties and when `value` is NaN. */
#define DNC_FOLD_MAX(into, value) do { if ((value) > (into)) (into) = (value); } while (0)
/* Sums values[0 ..< blockDim.x] into values[0]; per lane with DNC_BLOCK_SUM_LANES. */
#define DNC_BLOCK_SUM(values) DNC_BLOCK_REDUCE_LANES(values, 1, DNC_FOLD_SUM)
#define DNC_BLOCK_SUM_LANES(values, lanes) DNC_BLOCK_REDUCE_LANES(values, lanes, DNC_FOLD_SUM)
/* The maximum of values[0 ..< blockDim.x] into values[0]; per lane with DNC_BLOCK_MAX_LANES. */
#define DNC_BLOCK_MAX(values) DNC_BLOCK_REDUCE_LANES(values, 1, DNC_FOLD_MAX)
#define DNC_BLOCK_MAX_LANES(values, lanes) DNC_BLOCK_REDUCE_LANES(values, lanes, DNC_FOLD_MAX)

/* The fields of the dense memory's raw interface vector ξ (B×S, S = R·W + 3W + 5R + 3; the CPU's
 * InterfaceLayout): offsets of the read keys, read strengths, write key, write strength, erase,
 * write vector, free gates, allocation gate, write gate and read modes, for R heads of width W.
 * Declared where used, by the memory step's forward and backward kernels alike. */
#define DNC_INTERFACE_FIELDS(r, w)                                                                  \
    const int s = (r) * (w) + 3 * (w) + 5 * (r) + 3;                                               \
    const int f_rk = 0, f_rs = (r) * (w), f_wk = f_rs + (r), f_ws = f_wk + (w), f_e = f_ws + 1;    \
    const int f_v = f_e + (w), f_f = f_v + (w), f_ga = f_f + (r), f_gw = f_ga + 1, f_pi = f_gw + 1
#endif

/* The precision: outside the guard, so that a C file can include a kernel once per precision. */
#undef DNC_REAL
#undef DNC_SQRT
#undef DNC_EXP
#undef DNC_REAL_LOWEST
#undef DNC_NAME
#if DNC_DOUBLE
#define DNC_REAL double
#define DNC_SQRT sqrt
#define DNC_EXP exp
#define DNC_REAL_LOWEST (-1.7976931348623157e308)
#define DNC_NAME(base) base##_f64
#else
#define DNC_REAL float
#define DNC_SQRT sqrtf
#define DNC_EXP expf
#define DNC_REAL_LOWEST (-3.402823466e38f)
#define DNC_NAME(base) base##_f32
#endif
