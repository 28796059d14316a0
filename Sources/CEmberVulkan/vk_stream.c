// The command stream: work is recorded into the current batch's command buffer and submitted at
// sync points or when the batch is large, with one fence per submission. Up to EMBER_VK_MAX_SLOTS
// batches are in flight; a slot's resources (command buffer, descriptor pool, staging memory,
// deferred frees) are reused once its fence has signalled.
#include "vk_internal.h"
#if EMBER_VK_HAVE_HEADERS
#include <stdlib.h>
#include <string.h>

#define C ember_vk_ctx
#define STAGING_CHUNK ((VkDeviceSize)4 << 20)
#define STAGING_SUBMIT ((VkDeviceSize)64 << 20) /* submit a batch early once it stages this much */

static const VkAccessFlags ALL_ACCESS = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                        VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
static const VkPipelineStageFlags WORK_STAGES = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;

/* A full memory barrier between compute/transfer work recorded before and after it. */
static void barrier(VkCommandBuffer cmd) {
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = ALL_ACCESS, .dstAccessMask = ALL_ACCESS};
    vkf.vkCmdPipelineBarrier(cmd, WORK_STAGES, WORK_STAGES, 0, 1, &b, 0, NULL, 0, NULL);
    C.barrier_gen++;
}

static void retire(EmberVkSlot *s) {
    s->in_flight = 0;
    if (s->serial > C.completed_serial) C.completed_serial = s->serial;
    /* Oversized staging chunks are returned; default-size ones are kept for the next batch. */
    int kept = 0;
    for (int i = 0; i < s->nstaging; i++) {
        if (s->staging[i].size > STAGING_CHUNK || kept >= 2) ember_vk_host_block_free(&s->staging[i]);
        else {
            s->staging[i].used = 0;
            s->staging[kept++] = s->staging[i];
        }
    }
    s->nstaging = kept;
    s->staging_used = 0;
    int k = 0;
    for (int i = 0; i < C.ndeferred; i++) {
        if (C.deferred[i]->last_use_serial <= C.completed_serial) ember_vk_buffer_free_now(C.deferred[i]);
        else C.deferred[k++] = C.deferred[i];
    }
    C.ndeferred = k;
}

void ember_vk_poll(void) {
    for (int i = 0; i < C.nslots; i++)
        if (C.slots[i].in_flight && vkf.vkGetFenceStatus(C.device, C.slots[i].fence) == VK_SUCCESS) retire(&C.slots[i]);
}

static int wait_slot(EmberVkSlot *s) {
    VkResult r = vkf.vkWaitForFences(C.device, 1, &s->fence, VK_TRUE, UINT64_MAX);
    if (ember_vk_check(r, "vkWaitForFences")) return -1;
    retire(s);
    return 0;
}

static int create_slot(EmberVkSlot *s) {
    memset(s, 0, sizeof *s);
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = C.cmd_pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
    if (ember_vk_check(vkf.vkAllocateCommandBuffers(C.device, &ai, &s->cmd), "vkAllocateCommandBuffers")) return -1;
    VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if (ember_vk_check(vkf.vkCreateFence(C.device, &fi, NULL, &s->fence), "vkCreateFence")) return -1;
    /* Enough descriptor sets for a full batch of dispatches. */
    VkDescriptorPoolSize size = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, EMBER_VK_BATCH_DISPATCHES * EMBER_VK_MAX_BINDINGS};
    VkDescriptorPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                     .maxSets = EMBER_VK_BATCH_DISPATCHES, .poolSizeCount = 1, .pPoolSizes = &size};
    return ember_vk_check(vkf.vkCreateDescriptorPool(C.device, &pi, NULL, &s->pool), "vkCreateDescriptorPool");
}

EmberVkSlot *ember_vk_begin(void) {
    if (C.recording >= 0) return &C.slots[C.recording];
    ember_vk_poll();
    int pick = -1;
    for (int i = 0; i < C.nslots && pick < 0; i++)
        if (!C.slots[i].in_flight) pick = i;
    if (pick < 0 && C.nslots < EMBER_VK_MAX_SLOTS) {
        if (create_slot(&C.slots[C.nslots])) return NULL;
        pick = C.nslots++;
    }
    if (pick < 0) { /* all in flight: wait for the oldest */
        pick = 0;
        for (int i = 1; i < C.nslots; i++)
            if (C.slots[i].serial < C.slots[pick].serial) pick = i;
        if (wait_slot(&C.slots[pick])) return NULL;
    }
    EmberVkSlot *s = &C.slots[pick];
    if (ember_vk_check(vkf.vkResetDescriptorPool(C.device, s->pool, 0), "vkResetDescriptorPool")) return NULL;
    if (ember_vk_check(vkf.vkResetCommandBuffer(s->cmd, 0), "vkResetCommandBuffer")) return NULL;
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    if (ember_vk_check(vkf.vkBeginCommandBuffer(s->cmd, &bi), "vkBeginCommandBuffer")) return NULL;
    s->serial = C.next_serial;
    s->dispatches = s->commands = 0;
    C.recording = pick;
    /* Orders this batch after the work of earlier submissions that may still be running. */
    barrier(s->cmd);
    return s;
}

void ember_vk_access(EmberVkBuffer *const *buffers, int n, uint32_t write_mask) {
    EmberVkSlot *s = &C.slots[C.recording];
    uint64_t serial = s->serial, gen = C.barrier_gen;
    int hazard = 0;
    for (int i = 0; i < n && !hazard; i++) {
        const EmberVkBuffer *b = buffers[i];
        int written_since_barrier = b->write_serial == serial && b->write_gen == gen;
        int read_since_barrier = b->read_serial == serial && b->read_gen == gen;
        /* read-after-write and write-after-write; write-after-read */
        hazard = written_since_barrier || ((write_mask >> i & 1) && read_since_barrier);
    }
    if (hazard) barrier(s->cmd);
    for (int i = 0; i < n; i++) {
        EmberVkBuffer *b = buffers[i];
        b->last_use_serial = serial;
        if (write_mask >> i & 1) {
            b->write_serial = serial;
            b->write_gen = C.barrier_gen;
        } else {
            b->read_serial = serial;
            b->read_gen = C.barrier_gen;
        }
    }
    s->commands++;
}

int ember_vk_submit(void) {
    if (C.recording < 0) return 0;
    EmberVkSlot *s = &C.slots[C.recording];
    C.recording = -1;
    /* Makes the batch's writes visible to host reads after the fence wait. */
    VkMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                         .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                         .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkf.vkCmdPipelineBarrier(s->cmd, WORK_STAGES, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &b, 0, NULL, 0, NULL);
    C.next_serial++;
    if (ember_vk_check(vkf.vkEndCommandBuffer(s->cmd), "vkEndCommandBuffer")) return -1;
    if (ember_vk_check(vkf.vkResetFences(C.device, 1, &s->fence), "vkResetFences")) return -1;
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &s->cmd};
    if (ember_vk_check(vkf.vkQueueSubmit(C.queue, 1, &si, s->fence), "vkQueueSubmit")) return -1;
    s->in_flight = 1;
    C.submissions++;
    return 0;
}

void ember_vk_after_record(void) {
    EmberVkSlot *s = &C.slots[C.recording];
    if (s->dispatches >= EMBER_VK_BATCH_DISPATCHES || s->commands >= EMBER_VK_BATCH_COMMANDS ||
        s->staging_used >= STAGING_SUBMIT)
        ember_vk_submit(); /* an error here resurfaces at the next sync point's wait */
}

int ember_vk_wait_serial(uint64_t serial) {
    if (serial <= C.completed_serial) return 0;
    if (C.recording >= 0 && C.slots[C.recording].serial <= serial && ember_vk_submit()) return -1;
    for (int i = 0; i < C.nslots; i++)
        if (C.slots[i].in_flight && C.slots[i].serial <= serial && wait_slot(&C.slots[i])) return -1;
    return 0;
}

int ember_vk_wait_idle(void) {
    if (ember_vk_submit()) return -1;
    for (int i = 0; i < C.nslots; i++)
        if (C.slots[i].in_flight && wait_slot(&C.slots[i])) return -1;
    return 0;
}

int ember_vk_staging_alloc(VkDeviceSize bytes, VkBuffer *buffer, VkDeviceSize *offset, void **mapped) {
    EmberVkSlot *s = &C.slots[C.recording];
    bytes = (bytes + 15) & ~(VkDeviceSize)15;
    EmberVkHostBlock *chunk = NULL;
    for (int i = 0; i < s->nstaging && !chunk; i++)
        if (s->staging[i].size - s->staging[i].used >= bytes) chunk = &s->staging[i];
    if (!chunk) {
        if (s->nstaging == s->staging_cap) {
            int cap = s->staging_cap ? 2 * s->staging_cap : 4;
            EmberVkHostBlock *grown = realloc(s->staging, (size_t)cap * sizeof *grown);
            if (!grown) {
                ember_vk_set_error("out of host memory for staging bookkeeping");
                return -1;
            }
            s->staging = grown;
            s->staging_cap = cap;
        }
        chunk = &s->staging[s->nstaging];
        if (ember_vk_host_block_create(bytes > STAGING_CHUNK ? bytes : STAGING_CHUNK, chunk)) return -1;
        s->nstaging++;
    }
    *buffer = chunk->buffer;
    *offset = chunk->used;
    *mapped = (char *)chunk->mapped + chunk->used;
    chunk->used += bytes;
    s->staging_used += bytes;
    return 0;
}

void ember_vk_defer_free(EmberVkBuffer *b) {
    if (C.ndeferred == C.deferred_cap) {
        int cap = C.deferred_cap ? 2 * C.deferred_cap : 64;
        EmberVkBuffer **grown = realloc(C.deferred, (size_t)cap * sizeof *grown);
        if (!grown) { /* cannot record it: wait, then free at once */
            if (ember_vk_wait_idle() == 0) ember_vk_buffer_free_now(b);
            return;
        }
        C.deferred = grown;
        C.deferred_cap = cap;
    }
    C.deferred[C.ndeferred++] = b;
}

int ember_vk_synchronize(void) {
    pthread_mutex_lock(&C.lock);
    int rc = ember_vk_init_locked();
    if (!rc) rc = ember_vk_wait_idle();
    pthread_mutex_unlock(&C.lock);
    return rc;
}
#endif
