// The kernel sources as text, embedded at build time with C23's #embed (clang accepts it in
// earlier modes as an extension), so that the binary carries them: no resource bundle to ship
// next to a relocated executable, and no second copy of the source to drift from the one the
// CPU emulation compiles.
#include "dnc_gpu_kernels.h"

#pragma clang diagnostic ignored "-Wc23-extensions"

static const char prelude[] = {
#embed "kernels/dnc_kernel_prelude.cuh"
    , 0};
static const char content_addressing[] = {
#embed "kernels/content_addressing.cu"
    , 0};
static const char temporal_link[] = {
#embed "kernels/temporal_link.cu"
    , 0};
static const char usage_allocation[] = {
#embed "kernels/usage_allocation.cu"
    , 0};

static const char gemm[] = {
#embed "kernels/gemm.cu"
    , 0};
static const char recurrent_cells[] = {
#embed "kernels/recurrent_cells.cu"
    , 0};
static const char memory_step[] = {
#embed "kernels/memory_step.cu"
    , 0};
static const char memory_step_backward[] = {
#embed "kernels/memory_step_backward.cu"
    , 0};
static const char model_glue[] = {
#embed "kernels/model_glue.cu"
    , 0};
static const char losses[] = {
#embed "kernels/losses.cu"
    , 0};
static const char optimisers[] = {
#embed "kernels/optimisers.cu"
    , 0};

static const struct { const char *name, *text; } sources[] = {
    {"content_addressing.cu", content_addressing},
    {"temporal_link.cu", temporal_link},
    {"usage_allocation.cu", usage_allocation},
    {"gemm.cu", gemm},
    {"recurrent_cells.cu", recurrent_cells},
    {"memory_step.cu", memory_step},
    {"memory_step_backward.cu", memory_step_backward},
    {"model_glue.cu", model_glue},
    {"losses.cu", losses},
    {"optimisers.cu", optimisers},
};

int dnc_kernel_source_count(void) { return (int)(sizeof sources / sizeof sources[0]); }

const char *dnc_kernel_source_name(int index) {
    return index >= 0 && index < dnc_kernel_source_count() ? sources[index].name : 0;
}

const char *dnc_kernel_source_text(int index) {
    return index >= 0 && index < dnc_kernel_source_count() ? sources[index].text : 0;
}

const char *dnc_kernel_prelude_name(void) { return "dnc_kernel_prelude.cuh"; }
const char *dnc_kernel_prelude_text(void) { return prelude; }
