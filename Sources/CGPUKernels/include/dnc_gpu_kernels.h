#ifndef DNC_GPU_KERNELS_H
#define DNC_GPU_KERNELS_H
#include <stddef.h>
// The CUDA C kernels of kernels/ in two forms (issue #14): their source text, embedded at build
// time for NVRTC to compile at run time, and their launches emulated on the CPU (emulation.h),
// so that the very source the GPU would run is tested against the CPU implementation anywhere.

#ifdef __cplusplus
extern "C" {
#endif

/// The kernel sources (kernels/*.cu), by index from 0 to count − 1: file name and NUL-terminated text.
int dnc_kernel_source_count(void);
const char *dnc_kernel_source_name(int index);
const char *dnc_kernel_source_text(int index);
/// The header every kernel includes ("dnc_kernel_prelude.cuh"), for NVRTC's include list.
const char *dnc_kernel_prelude_name(void);
const char *dnc_kernel_prelude_text(void);

/// content_addressing.cu on the CPU: memory B×N×W, keys B×H×W, strengths B×H → cosine and
/// weights B×H×N, with `threads` (a power of two) threads per block. Returns 0, or −1 for bad
/// sizes or a failed allocation.
int dnc_emulated_content_addressing_forward_f32(const float *memory, const float *keys, const float *strengths,
                                                int batch, int cells, int width, int heads, float norm_shift, int threads,
                                                float *cosine, float *weights);
int dnc_emulated_content_addressing_forward_f64(const double *memory, const double *keys, const double *strengths,
                                                int batch, int cells, int width, int heads, double norm_shift, int threads,
                                                double *cosine, double *weights);

/// temporal_link.cu on the CPU: the link update in place (link B×N×N, write_weights and the old
/// precedence B×N), then the precedence update in place. Returns 0, or −1 for bad sizes.
int dnc_emulated_link_update_f32(float *link, const float *write_weights, const float *precedence, int batch, int cells, int threads);
int dnc_emulated_link_update_f64(double *link, const double *write_weights, const double *precedence, int batch, int cells, int threads);
int dnc_emulated_precedence_update_f32(float *precedence, const float *write_weights, int batch, int cells, int threads);
int dnc_emulated_precedence_update_f64(double *precedence, const double *write_weights, int batch, int cells, int threads);

/// usage_allocation.cu on the CPU (shapes in the kernel's comment). Returns 0, or −1 for bad sizes.
int dnc_emulated_usage_allocation_f32(const float *usage, const float *write_weights, const float *read_weights, const float *free_gates,
                                      int batch, int cells, int read_heads, int threads, float *retention, float *new_usage,
                                      int *order, float *sorted, float *prefix, float *allocation);
int dnc_emulated_usage_allocation_f64(const double *usage, const double *write_weights, const double *read_weights, const double *free_gates,
                                      int batch, int cells, int read_heads, int threads, double *retention, double *new_usage,
                                      int *order, double *sorted, double *prefix, double *allocation);

/// Runs kernel `name` ("dnc_gemm_f64") on the CPU as a launch of grid_x × grid_y blocks of
/// `threads` threads with `shared_bytes` of dynamic shared memory would run it on the GPU.
/// `arguments` is cuLaunchKernel's array: one pointer per kernel parameter, to its value (a
/// device pointer being a host address here). Returns 0, −1 for a bad launch or a failed
/// allocation, −2 for an unknown name.
int dnc_emulated_launch(const char *name, unsigned grid_x, unsigned grid_y, unsigned threads, size_t shared_bytes,
                        void **arguments);
/// Runs the emulation's threads within a block, and the blocks of a grid, in descending order
/// (reversed ≠ 0) or ascending (0, the default): a race-free kernel gives the same bits either way.
void dnc_emulated_set_reversed_order(int reversed);
/// 1 when the emulation has kernel `name`, else 0.
int dnc_emulated_has_kernel(const char *name);

#ifdef __cplusplus
}
#endif
#endif
