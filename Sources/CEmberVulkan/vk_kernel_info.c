// Facts about the generated kernels (available with or without Vulkan headers).
#include "vk_internal.h"
#include "vk_kernel_table.h"

static const EmberVkKernelInfo *info(int kernel) {
    return (kernel >= 0 && kernel < EMBER_VK_KERNEL_COUNT) ? &ember_vk_kernel_table[kernel] : NULL;
}
int ember_vk_kernel_local_size(int kernel) { return info(kernel) ? (int)info(kernel)->local_size : -1; }
int ember_vk_kernel_binding_count(int kernel) { return info(kernel) ? (int)info(kernel)->nbindings : -1; }
int ember_vk_kernel_push_bytes(int kernel) { return info(kernel) ? (int)info(kernel)->push_bytes : -1; }
const char *ember_vk_kernel_name(int kernel) { return info(kernel) ? info(kernel)->name : NULL; }
