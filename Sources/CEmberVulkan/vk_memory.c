// Device buffers and the transfers between host and device: memcpy into idle host-visible
// storages, staging copies recorded into the command stream otherwise.
#include "vk_internal.h"
#if EMBER_VK_HAVE_HEADERS
#include <stdlib.h>
#include <string.h>

#define C ember_vk_ctx

static const VkBufferUsageFlags USAGE =
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

/* A buffer with its own memory of the first type that has `required` (and `preferred` if any). */
static int allocate(VkDeviceSize bytes, VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred, int map,
                    VkBuffer *buffer, VkDeviceMemory *memory, void **mapped) {
    *buffer = VK_NULL_HANDLE;
    *memory = VK_NULL_HANDLE;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = bytes, .usage = USAGE,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    if (ember_vk_check(vkf.vkCreateBuffer(C.device, &bi, NULL, buffer), "vkCreateBuffer")) return -1;
    VkMemoryRequirements req;
    vkf.vkGetBufferMemoryRequirements(C.device, *buffer, &req);
    int type = ember_vk_find_memory_type(req.memoryTypeBits, required, preferred);
    VkResult r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    if (type < 0) ember_vk_set_error("no Vulkan memory type with the properties 0x%x", (unsigned)required);
    else {
        VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
                                   .memoryTypeIndex = (uint32_t)type};
        r = vkf.vkAllocateMemory(C.device, &ai, NULL, memory);
        if (!ember_vk_check(r, "vkAllocateMemory")) {
            r = vkf.vkBindBufferMemory(C.device, *buffer, *memory, 0);
            if (!ember_vk_check(r, "vkBindBufferMemory") && map)
                ember_vk_check(r = vkf.vkMapMemory(C.device, *memory, 0, VK_WHOLE_SIZE, 0, mapped), "vkMapMemory");
        }
    }
    if (type < 0 || r < 0) {
        if (*memory) vkf.vkFreeMemory(C.device, *memory, NULL);
        vkf.vkDestroyBuffer(C.device, *buffer, NULL);
        *buffer = VK_NULL_HANDLE;
        *memory = VK_NULL_HANDLE;
        return -1;
    }
    return 0;
}

int ember_vk_host_block_create(VkDeviceSize bytes, EmberVkHostBlock *block) {
    memset(block, 0, sizeof *block);
    block->size = bytes;
    return allocate(bytes, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                    VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 1, &block->buffer, &block->memory, &block->mapped);
}

void ember_vk_host_block_free(EmberVkHostBlock *block) {
    if (block->memory) vkf.vkFreeMemory(C.device, block->memory, NULL); /* also unmaps */
    if (block->buffer) vkf.vkDestroyBuffer(C.device, block->buffer, NULL);
    memset(block, 0, sizeof *block);
}

void ember_vk_buffer_free_now(EmberVkBuffer *b) {
    vkf.vkFreeMemory(C.device, b->memory, NULL);
    vkf.vkDestroyBuffer(C.device, b->buffer, NULL);
    free(b);
}

static int idle(const EmberVkBuffer *b) { return b->last_use_serial <= C.completed_serial; }

static int check_range(const EmberVkBuffer *b, size_t offset, size_t bytes, const char *what) {
    if (!b) {
        ember_vk_set_error("%s: NULL buffer", what);
        return -1;
    }
    if (offset > b->size || bytes > b->size - offset) {
        ember_vk_set_error("%s: bytes %zu..<%zu+%zu are outside the %zu-byte buffer", what, offset, offset, bytes, b->size);
        return -1;
    }
    return 0;
}

EmberVkBuffer *ember_vk_buffer_create(size_t bytes, int zeroed, char *err, size_t err_len) {
    pthread_mutex_lock(&C.lock);
    EmberVkBuffer *b = NULL;
    if (ember_vk_init_locked()) goto done;
    /* Vulkan has no empty buffers; a 0-byte storage still gets a small allocation it can bind. */
    VkDeviceSize alloc = ((VkDeviceSize)bytes + 15) & ~(VkDeviceSize)15;
    if (bytes > (size_t)1 << 62) {
        ember_vk_set_error("buffer of %zu bytes is too large", bytes);
        goto done;
    }
    if (alloc == 0) alloc = 16;
    b = calloc(1, sizeof *b);
    if (!b) {
        ember_vk_set_error("out of host memory");
        goto done;
    }
    b->size = bytes;
    b->alloc_size = alloc;
    VkMemoryPropertyFlags required = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    if (C.mapped_storage) required |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    if (allocate(alloc, required, 0, C.mapped_storage, &b->buffer, &b->memory, &b->mapped)) {
        free(b);
        b = NULL;
        goto done;
    }
    if (zeroed) {
        if (b->mapped) memset(b->mapped, 0, (size_t)alloc);
        else {
            EmberVkSlot *s = ember_vk_begin();
            if (!s) {
                ember_vk_buffer_free_now(b);
                b = NULL;
                goto done;
            }
            ember_vk_access(&b, 1, 1);
            vkf.vkCmdFillBuffer(s->cmd, b->buffer, 0, VK_WHOLE_SIZE, 0);
            ember_vk_after_record();
        }
    }
done:
    pthread_mutex_unlock(&C.lock);
    if (!b) ember_vk_copy_error(err, err_len);
    return b;
}

void ember_vk_buffer_release(EmberVkBuffer *b) {
    if (!b) return;
    pthread_mutex_lock(&C.lock);
    ember_vk_poll();
    if (idle(b)) ember_vk_buffer_free_now(b);
    else ember_vk_defer_free(b);
    pthread_mutex_unlock(&C.lock);
}

size_t ember_vk_buffer_size(const EmberVkBuffer *b) { return b ? b->size : 0; }

static int write_locked(EmberVkBuffer *dst, size_t offset, const void *src, size_t bytes) {
    if (check_range(dst, offset, bytes, "ember_vk_write")) return -1;
    if (bytes == 0) return 0;
    if (!src) {
        ember_vk_set_error("ember_vk_write: NULL source");
        return -1;
    }
    if (dst->mapped && idle(dst)) {
        memcpy((char *)dst->mapped + offset, src, bytes);
        return 0;
    }
    /* In use by recorded or running work (or not host-visible): stage and record the copy, so it
     * lands after the work recorded before this call and before the work recorded after it. */
    EmberVkSlot *s = ember_vk_begin();
    if (!s) return -1;
    VkBuffer staging;
    VkDeviceSize at;
    void *p;
    if (ember_vk_staging_alloc(bytes, &staging, &at, &p)) return -1;
    memcpy(p, src, bytes);
    ember_vk_access(&dst, 1, 1);
    VkBufferCopy region = {at, offset, bytes};
    vkf.vkCmdCopyBuffer(s->cmd, staging, dst->buffer, 1, &region);
    ember_vk_after_record();
    return 0;
}

int ember_vk_write(EmberVkBuffer *dst, size_t offset, const void *src, size_t bytes) {
    pthread_mutex_lock(&C.lock);
    int rc = ember_vk_init_locked();
    if (!rc) rc = write_locked(dst, offset, src, bytes);
    pthread_mutex_unlock(&C.lock);
    return rc;
}

static int read_locked(EmberVkBuffer *src, size_t offset, void *dst, size_t bytes) {
    if (check_range(src, offset, bytes, "ember_vk_read")) return -1;
    if (bytes == 0) return 0;
    if (!dst) {
        ember_vk_set_error("ember_vk_read: NULL destination");
        return -1;
    }
    if (src->mapped) {
        if (ember_vk_wait_serial(src->last_use_serial)) return -1;
        memcpy(dst, (const char *)src->mapped + offset, bytes);
        return 0;
    }
    /* A dedicated readback block: staging arenas are recycled when the wait retires the batch. */
    EmberVkHostBlock block;
    if (ember_vk_host_block_create(bytes, &block)) return -1;
    EmberVkSlot *s = ember_vk_begin();
    int rc = -1;
    if (s) {
        ember_vk_access(&src, 1, 0);
        VkBufferCopy region = {offset, 0, bytes};
        vkf.vkCmdCopyBuffer(s->cmd, src->buffer, block.buffer, 1, &region);
        uint64_t serial = s->serial;
        rc = ember_vk_wait_serial(serial);
        if (!rc) memcpy(dst, block.mapped, bytes);
    }
    if (rc) ember_vk_wait_idle(); /* the block may be in a submitted batch: let it finish first */
    ember_vk_host_block_free(&block);
    return rc;
}

int ember_vk_read(EmberVkBuffer *src, size_t offset, void *dst, size_t bytes) {
    pthread_mutex_lock(&C.lock);
    int rc = ember_vk_init_locked();
    if (!rc) rc = read_locked(src, offset, dst, bytes);
    pthread_mutex_unlock(&C.lock);
    return rc;
}

static int copy_locked(EmberVkBuffer *src, size_t so, EmberVkBuffer *dst, size_t d_o, size_t bytes) {
    if (check_range(src, so, bytes, "ember_vk_copy (source)") || check_range(dst, d_o, bytes, "ember_vk_copy (destination)"))
        return -1;
    if (bytes == 0) return 0;
    if (src == dst && so < d_o + bytes && d_o < so + bytes) {
        ember_vk_set_error("ember_vk_copy: source and destination ranges overlap");
        return -1;
    }
    EmberVkSlot *s = ember_vk_begin();
    if (!s) return -1;
    EmberVkBuffer *pair[2] = {src, dst};
    ember_vk_access(pair, 2, 2);
    VkBufferCopy region = {so, d_o, bytes};
    vkf.vkCmdCopyBuffer(s->cmd, src->buffer, dst->buffer, 1, &region);
    ember_vk_after_record();
    return 0;
}

int ember_vk_copy(EmberVkBuffer *src, size_t src_offset, EmberVkBuffer *dst, size_t dst_offset, size_t bytes) {
    pthread_mutex_lock(&C.lock);
    int rc = ember_vk_init_locked();
    if (!rc) rc = copy_locked(src, src_offset, dst, dst_offset, bytes);
    pthread_mutex_unlock(&C.lock);
    return rc;
}

static int fill_locked(EmberVkBuffer *dst, size_t offset, size_t bytes, uint32_t pattern) {
    if (check_range(dst, offset, bytes, "ember_vk_fill_u32")) return -1;
    if (offset % 4 || bytes % 4) {
        ember_vk_set_error("ember_vk_fill_u32: offset %zu and size %zu must be multiples of 4", offset, bytes);
        return -1;
    }
    if (bytes == 0) return 0;
    EmberVkSlot *s = ember_vk_begin();
    if (!s) return -1;
    ember_vk_access(&dst, 1, 1);
    vkf.vkCmdFillBuffer(s->cmd, dst->buffer, offset, bytes, pattern);
    ember_vk_after_record();
    return 0;
}

int ember_vk_fill_u32(EmberVkBuffer *dst, size_t offset, size_t bytes, uint32_t pattern) {
    pthread_mutex_lock(&C.lock);
    int rc = ember_vk_init_locked();
    if (!rc) rc = fill_locked(dst, offset, bytes, pattern);
    pthread_mutex_unlock(&C.lock);
    return rc;
}
#endif
