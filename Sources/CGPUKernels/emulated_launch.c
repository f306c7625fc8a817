// Launch by name for the CPU emulation: the tables of runners each emulation file exports,
// searched in turn. The Swift side (EmulatedKernelDevice) calls dnc_emulated_launch with the
// same name, grid, block and argument array it would give cuLaunchKernel.
#include <string.h>
#include "dnc_gpu_kernels.h"
#include "emulation.h"

extern const dnc_emulated_kernel dnc_emulated_kernels_controller[];
extern const dnc_emulated_kernel dnc_emulated_kernels_memory[];
extern const dnc_emulated_kernel dnc_emulated_kernels_training[];
extern const dnc_emulated_kernel dnc_emulated_kernels_model[];

int dnc_emulation_reversed_order = 0;

void dnc_emulated_set_reversed_order(int reversed) { dnc_emulation_reversed_order = reversed != 0; }

static const dnc_emulated_kernel *const tables[] = {
    dnc_emulated_kernels_controller,
    dnc_emulated_kernels_memory,
    dnc_emulated_kernels_training,
    dnc_emulated_kernels_model,
};

int dnc_emulated_launch(const char *name, unsigned grid_x, unsigned grid_y, unsigned threads, size_t shared_bytes,
                        void **arguments) {
    if (name == NULL || threads == 0 || grid_x == 0 || grid_y == 0) return -1;
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const dnc_emulated_kernel *entry = tables[t]; entry->name != NULL; entry++)
            if (strcmp(entry->name, name) == 0) return entry->run(grid_x, grid_y, threads, shared_bytes, arguments);
    return -2;
}

int dnc_emulated_has_kernel(const char *name) {
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const dnc_emulated_kernel *entry = tables[t]; entry->name != NULL; entry++)
            if (strcmp(entry->name, name) == 0) return 1;
    return 0;
}
