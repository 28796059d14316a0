/* Ember's Vulkan compute runtime: device memory, uploads/downloads, batched command recording and
 * the kernels of ember_vulkan_kernels.h. libvulkan.so.1 is loaded with dlopen at run time, so Ember
 * builds and runs without it; without Vulkan headers at build time every entry point fails with
 * "Ember was built without Vulkan headers (install libvulkan-dev and rebuild)".
 *
 * Model: one device, one compute queue, one process-wide context behind one mutex (every function
 * is thread-safe). Work is recorded into a command buffer and submitted in batches, one fence per
 * submission, only at a sync point (ember_vk_read, ember_vk_synchronize) or when a batch gets large.
 * Functions returning int give 0 on success and -1 on failure; the reason is then in
 * ember_vk_last_error() (per thread) and, where the function takes one, in `err`.
 *
 * Environment: EMBER_VULKAN_DEVICE=i picks physical device i (default: the first with a compute
 * queue); EMBER_VULKAN_VALIDATION=1 enables VK_LAYER_KHRONOS_validation with a debug messenger that
 * counts warnings and errors; EMBER_VULKAN_FORCE_STAGING=1 treats device memory as not host-visible
 * so uploads and downloads go through staging buffers as on discrete GPUs; EMBER_VULKAN_LIBRARY
 * overrides the loader's path. They are read once, by the first ember_vk_init. */
#ifndef EMBER_VULKAN_H
#define EMBER_VULKAN_H
#include <stddef.h>
#include <stdint.h>
#include "ember_vulkan_kernels.h"
#include "ember_vulkan_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Context */

/** Creates the process-wide context (idempotent: later calls return the first result). 0 = ok;
 *  otherwise a reason is written to err (NUL-terminated, truncated to err_len). */
int ember_vk_init(char *err, size_t err_len);
/** Physical devices that have a compute queue (initialises; 0 when Vulkan is unavailable). */
int ember_vk_device_count(void);
/** Name of the device in use ("" before a successful init). */
const char *ember_vk_device_name(void);
/** One line on the device in use: API version, memory model (host-visible or staging), the
 *  optional features enabled, limits that matter to the caller. "" before a successful init. */
const char *ember_vk_device_info(void);
/** Largest byte range one kernel binding may cover (VkPhysicalDeviceLimits.maxStorageBufferRange;
 *  128 MiB on lavapipe). 0 before init. */
uint64_t ember_vk_max_binding_bytes(void);
/** Byte offsets of bindings must be multiples of this (minStorageBufferOffsetAlignment). */
uint64_t ember_vk_binding_offset_alignment(void);
/** Whether buffers created now use device-local memory with staging uploads/downloads (1) or
 *  host-visible storages written by memcpy when idle (0). */
int ember_vk_uses_staging(void);
/** Forces (1) or stops forcing (0) the staging path for buffers created afterwards, as
 *  EMBER_VULKAN_FORCE_STAGING=1 does at init; lets one test process cover both paths. A device
 *  without host-visible device memory always stages. Returns -1 before a successful init. */
int ember_vk_set_force_staging(int on);

/* Buffers */

typedef struct EmberVkBuffer EmberVkBuffer;

/** A device-local buffer of `bytes` (0 allowed); contents are zero when `zeroed`, else undefined.
 *  NULL on failure (reason in err). */
EmberVkBuffer *ember_vk_buffer_create(size_t bytes, int zeroed, char *err, size_t err_len);
/** Releases a buffer. Safe while recorded or running work still uses it: the memory is freed once
 *  the last submission using it has completed. NULL is ignored. */
void ember_vk_buffer_release(EmberVkBuffer *buffer);
/** Size in bytes as requested at creation. */
size_t ember_vk_buffer_size(const EmberVkBuffer *buffer);

/** Host → device. Ordered after all work recorded so far and before work recorded later: when
 *  the buffer is idle and host-visible the bytes are copied at once, otherwise through a staging
 *  copy recorded into the command stream (the host memory may be reused on return). */
int ember_vk_write(EmberVkBuffer *dst, size_t offset, const void *src, size_t bytes);
/** Device → host: submits pending work that uses the buffer, waits for it, copies out. */
int ember_vk_read(EmberVkBuffer *src, size_t offset, void *dst, size_t bytes);
/** Recorded device copy (not submitted). Overlapping ranges of one buffer are an error. */
int ember_vk_copy(EmberVkBuffer *src, size_t src_offset, EmberVkBuffer *dst, size_t dst_offset, size_t bytes);
/** Recorded fill of `bytes` with a repeated 32-bit pattern; offset and bytes multiples of 4. */
int ember_vk_fill_u32(EmberVkBuffer *dst, size_t offset, size_t bytes, uint32_t pattern);

/* Kernels */

/** Records one dispatch of `kernel` (EMBER_VK_KERNEL_*), with the barriers it needs after earlier
 *  recorded work. `buffers[b]` is bound to storage binding b (nbuffers must equal the kernel's
 *  binding count; a buffer may appear more than once), from byte_offsets[b] (NULL = all 0; each
 *  a multiple of ember_vk_binding_offset_alignment()) to the end of the buffer, which must not
 *  exceed ember_vk_max_binding_bytes(). `push` is the kernel's EmberVk*Push struct and push_bytes
 *  its exact size. A zero group count records nothing. Not submitted until a sync point or until
 *  the batch holds 256 dispatches. */
int ember_vk_dispatch(int kernel, EmberVkBuffer *const *buffers, const uint64_t *byte_offsets, int nbuffers,
                      const void *push, uint32_t push_bytes, uint32_t groups_x, uint32_t groups_y, uint32_t groups_z);
/** As ember_vk_dispatch, binding byte_ranges[b] bytes from each offset (NULL = to the end): the way
 *  to pass a window of a buffer larger than ember_vk_max_binding_bytes(). */
int ember_vk_dispatch_ranges(int kernel, EmberVkBuffer *const *buffers, const uint64_t *byte_offsets,
                             const uint64_t *byte_ranges, int nbuffers, const void *push, uint32_t push_bytes,
                             uint32_t groups_x, uint32_t groups_y, uint32_t groups_z);
/** ember_vk_dispatch for kernels that index by group_linear()/linear_id() (all but the gemms):
 *  `groups` workgroups, split over x and y when above the device's per-dimension limit. Elementwise
 *  kernels need ceil(n / ember_vk_kernel_local_size(kernel)) groups; row kernels one per row. */
int ember_vk_dispatch_linear(int kernel, EmberVkBuffer *const *buffers, const uint64_t *byte_offsets, int nbuffers,
                             const void *push, uint32_t push_bytes, uint64_t groups);
/** Kernel facts from the generated table; -1 / NULL for an unknown kernel. */
int ember_vk_kernel_local_size(int kernel);
int ember_vk_kernel_binding_count(int kernel);
int ember_vk_kernel_push_bytes(int kernel);
const char *ember_vk_kernel_name(int kernel);

/* Synchronisation and diagnostics */

/** Submits recorded work and waits until the device is idle (frees deferred releases). */
int ember_vk_synchronize(void);
/** Submissions (fences) and dispatches since init, for tests of batching. */
uint64_t ember_vk_submission_count(void);
uint64_t ember_vk_dispatch_count(void);
/** Validation warnings and errors seen since init (0 unless EMBER_VULKAN_VALIDATION=1). */
uint64_t ember_vk_validation_message_count(void);
/** The last such message ("" if none). The pointer stays valid; the text may change when another
 *  message arrives. */
const char *ember_vk_last_validation_message(void);
/** The calling thread's last error ("" if none). */
const char *ember_vk_last_error(void);

#ifdef __cplusplus
}
#endif
#endif
