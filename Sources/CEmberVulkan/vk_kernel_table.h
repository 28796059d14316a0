/* The table of compiled kernels that the generated spirv_kernels.c defines (internal). */
#ifndef EMBER_VK_KERNEL_TABLE_H
#define EMBER_VK_KERNEL_TABLE_H
#include <stdint.h>
#include "ember_vulkan_kernels.h"

typedef struct EmberVkKernelInfo {
    const char *name;
    const uint32_t *code; /* SPIR-V words */
    uint32_t words;
    uint32_t nbindings;  /* storage buffers at bindings 0..nbindings-1 */
    uint32_t write_mask; /* bit b set: binding b is written (not declared readonly) */
    uint32_t push_bytes; /* size of the kernel's push-constant struct */
    uint32_t local_size; /* workgroup size x */
} EmberVkKernelInfo;

extern const EmberVkKernelInfo ember_vk_kernel_table[EMBER_VK_KERNEL_COUNT];

#endif
