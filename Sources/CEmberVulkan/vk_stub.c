// Entry points for a build without Vulkan headers: Ember still builds and links, and every call
// reports why the device is unavailable.
#include "vk_internal.h"
#if !EMBER_VK_HAVE_HEADERS

#define NO_HEADERS "Ember was built without Vulkan headers (install libvulkan-dev and rebuild)"

static int fail(void) {
    ember_vk_set_error("%s", NO_HEADERS);
    return -1;
}

int ember_vk_init(char *err, size_t err_len) {
    fail();
    ember_vk_copy_error(err, err_len);
    return -1;
}
int ember_vk_device_count(void) { return 0; }
const char *ember_vk_device_name(void) { return ""; }
const char *ember_vk_device_info(void) { return ""; }
uint64_t ember_vk_max_binding_bytes(void) { return 0; }
uint64_t ember_vk_binding_offset_alignment(void) { return 0; }
int ember_vk_uses_staging(void) { return 0; }
int ember_vk_set_force_staging(int on) {
    (void)on;
    return fail();
}
EmberVkBuffer *ember_vk_buffer_create(size_t bytes, int zeroed, char *err, size_t err_len) {
    (void)bytes; (void)zeroed;
    fail();
    ember_vk_copy_error(err, err_len);
    return NULL;
}
void ember_vk_buffer_release(EmberVkBuffer *buffer) { (void)buffer; }
size_t ember_vk_buffer_size(const EmberVkBuffer *buffer) { (void)buffer; return 0; }
int ember_vk_write(EmberVkBuffer *dst, size_t offset, const void *src, size_t bytes) {
    (void)dst; (void)offset; (void)src; (void)bytes;
    return fail();
}
int ember_vk_read(EmberVkBuffer *src, size_t offset, void *dst, size_t bytes) {
    (void)src; (void)offset; (void)dst; (void)bytes;
    return fail();
}
int ember_vk_copy(EmberVkBuffer *src, size_t src_offset, EmberVkBuffer *dst, size_t dst_offset, size_t bytes) {
    (void)src; (void)src_offset; (void)dst; (void)dst_offset; (void)bytes;
    return fail();
}
int ember_vk_fill_u32(EmberVkBuffer *dst, size_t offset, size_t bytes, uint32_t pattern) {
    (void)dst; (void)offset; (void)bytes; (void)pattern;
    return fail();
}
int ember_vk_dispatch(int kernel, EmberVkBuffer *const *buffers, const uint64_t *byte_offsets, int nbuffers,
                      const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
    (void)kernel; (void)buffers; (void)byte_offsets; (void)nbuffers; (void)push; (void)push_bytes;
    (void)gx; (void)gy; (void)gz;
    return fail();
}
int ember_vk_dispatch_ranges(int kernel, EmberVkBuffer *const *buffers, const uint64_t *byte_offsets,
                             const uint64_t *byte_ranges, int nbuffers, const void *push, uint32_t push_bytes,
                             uint32_t gx, uint32_t gy, uint32_t gz) {
    (void)kernel; (void)buffers; (void)byte_offsets; (void)byte_ranges; (void)nbuffers; (void)push;
    (void)push_bytes; (void)gx; (void)gy; (void)gz;
    return fail();
}
int ember_vk_dispatch_linear(int kernel, EmberVkBuffer *const *buffers, const uint64_t *byte_offsets, int nbuffers,
                             const void *push, uint32_t push_bytes, uint64_t groups) {
    (void)kernel; (void)buffers; (void)byte_offsets; (void)nbuffers; (void)push; (void)push_bytes; (void)groups;
    return fail();
}
int ember_vk_synchronize(void) { return fail(); }
uint64_t ember_vk_submission_count(void) { return 0; }
uint64_t ember_vk_dispatch_count(void) { return 0; }
uint64_t ember_vk_validation_message_count(void) { return 0; }
const char *ember_vk_last_validation_message(void) { return ""; }

#endif
