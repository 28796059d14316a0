// Kernel dispatch: pipelines built lazily from the embedded SPIR-V and cached, one descriptor set
// per dispatch from the batch's pool, barriers from the buffers' hazard state.
#include "vk_internal.h"
#if EMBER_VK_HAVE_HEADERS
#include <string.h>

#define C ember_vk_ctx

static int ensure_pipeline(int kernel) {
    if (C.pipelines[kernel]) return 0;
    const EmberVkKernelInfo *k = &ember_vk_kernel_table[kernel];
    if (!C.set_layouts[kernel]) {
        VkDescriptorSetLayoutBinding bindings[EMBER_VK_MAX_BINDINGS];
        for (uint32_t b = 0; b < k->nbindings; b++)
            bindings[b] = (VkDescriptorSetLayoutBinding){.binding = b, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                                         .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
        VkDescriptorSetLayoutCreateInfo li = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                              .bindingCount = k->nbindings, .pBindings = bindings};
        if (ember_vk_check(vkf.vkCreateDescriptorSetLayout(C.device, &li, NULL, &C.set_layouts[kernel]),
                           "vkCreateDescriptorSetLayout"))
            return -1;
    }
    if (!C.pipeline_layouts[kernel]) {
        VkPushConstantRange range = {VK_SHADER_STAGE_COMPUTE_BIT, 0, k->push_bytes};
        VkPipelineLayoutCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO, .setLayoutCount = 1,
                                         .pSetLayouts = &C.set_layouts[kernel],
                                         .pushConstantRangeCount = k->push_bytes ? 1 : 0, .pPushConstantRanges = &range};
        if (ember_vk_check(vkf.vkCreatePipelineLayout(C.device, &pi, NULL, &C.pipeline_layouts[kernel]),
                           "vkCreatePipelineLayout"))
            return -1;
    }
    VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                   .codeSize = (size_t)k->words * 4, .pCode = k->code};
    VkShaderModule module;
    if (ember_vk_check(vkf.vkCreateShaderModule(C.device, &mi, NULL, &module), "vkCreateShaderModule")) return -1;
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = module, .pName = "main"},
        .layout = C.pipeline_layouts[kernel]};
    VkResult r = vkf.vkCreateComputePipelines(C.device, VK_NULL_HANDLE, 1, &ci, NULL, &C.pipelines[kernel]);
    vkf.vkDestroyShaderModule(C.device, module, NULL);
    if (r < 0) C.pipelines[kernel] = VK_NULL_HANDLE;
    return ember_vk_check(r, k->name);
}

static int dispatch_locked(int kernel, EmberVkBuffer *const *buffers, const uint64_t *offsets, const uint64_t *ranges,
                           int n, const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
    if (kernel < 0 || kernel >= EMBER_VK_KERNEL_COUNT) {
        ember_vk_set_error("ember_vk_dispatch: unknown kernel %d", kernel);
        return -1;
    }
    const EmberVkKernelInfo *k = &ember_vk_kernel_table[kernel];
    if (n != (int)k->nbindings || !buffers) {
        ember_vk_set_error("%s: takes %u buffers, got %d", k->name, k->nbindings, buffers ? n : 0);
        return -1;
    }
    if (push_bytes != k->push_bytes || (push_bytes && !push)) {
        ember_vk_set_error("%s: push constants are %u bytes (its EmberVk*Push struct), got %u%s", k->name,
                           k->push_bytes, push_bytes, push ? "" : " and NULL");
        return -1;
    }
    const VkPhysicalDeviceLimits *lim = &C.props.limits;
    VkDescriptorBufferInfo infos[EMBER_VK_MAX_BINDINGS];
    for (int b = 0; b < n; b++) {
        const EmberVkBuffer *buf = buffers[b];
        uint64_t off = offsets ? offsets[b] : 0;
        if (!buf) {
            ember_vk_set_error("%s: binding %d is NULL", k->name, b);
            return -1;
        }
        if (off % lim->minStorageBufferOffsetAlignment || off > buf->size) {
            ember_vk_set_error("%s: binding %d offset %llu is %s (alignment %llu, buffer %zu bytes)", k->name, b,
                               (unsigned long long)off, off > buf->size ? "past the end" : "misaligned",
                               (unsigned long long)lim->minStorageBufferOffsetAlignment, buf->size);
            return -1;
        }
        uint64_t range;
        if (ranges) {
            range = ranges[b];
            if (range == 0 || off + range > buf->alloc_size) {
                ember_vk_set_error("%s: binding %d range %llu at offset %llu does not fit the %zu-byte buffer", k->name,
                                   b, (unsigned long long)range, (unsigned long long)off, buf->size);
                return -1;
            }
        } else if (buf->size - off > lim->maxStorageBufferRange) {
            range = buf->size - off; /* reported below */
        } else {
            /* To the end of the allocation (16-byte padded): kernels reading bytes or halves as
             * 32-bit words touch the whole last word, and an empty view still has a range. */
            range = buf->alloc_size - off;
            if (range > lim->maxStorageBufferRange) range = lim->maxStorageBufferRange & ~(uint64_t)3;
        }
        if (range > lim->maxStorageBufferRange) {
            ember_vk_set_error("%s: binding %d spans %llu bytes, more than this device's maxStorageBufferRange (%u); "
                               "bind a window with ember_vk_dispatch_ranges", k->name, b, (unsigned long long)range,
                               lim->maxStorageBufferRange);
            return -1;
        }
        infos[b] = (VkDescriptorBufferInfo){buf->buffer, off, range};
    }
    if (gx == 0 || gy == 0 || gz == 0) return 0;
    if (gx > lim->maxComputeWorkGroupCount[0] || gy > lim->maxComputeWorkGroupCount[1] ||
        gz > lim->maxComputeWorkGroupCount[2]) {
        ember_vk_set_error("%s: %u×%u×%u workgroups exceed the device limit %u×%u×%u", k->name, gx, gy, gz,
                           lim->maxComputeWorkGroupCount[0], lim->maxComputeWorkGroupCount[1],
                           lim->maxComputeWorkGroupCount[2]);
        return -1;
    }
    if (ensure_pipeline(kernel)) return -1;
    EmberVkSlot *s = ember_vk_begin();
    if (!s) return -1;
    VkDescriptorSet set;
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO, .descriptorPool = s->pool,
                                      .descriptorSetCount = 1, .pSetLayouts = &C.set_layouts[kernel]};
    if (ember_vk_check(vkf.vkAllocateDescriptorSets(C.device, &ai, &set), "vkAllocateDescriptorSets")) return -1;
    VkWriteDescriptorSet writes[EMBER_VK_MAX_BINDINGS];
    for (int b = 0; b < n; b++)
        writes[b] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstSet = set,
                                           .dstBinding = (uint32_t)b, .descriptorCount = 1,
                                           .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &infos[b]};
    vkf.vkUpdateDescriptorSets(C.device, (uint32_t)n, writes, 0, NULL);
    ember_vk_access(buffers, n, k->write_mask);
    vkf.vkCmdBindPipeline(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, C.pipelines[kernel]);
    vkf.vkCmdBindDescriptorSets(s->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, C.pipeline_layouts[kernel], 0, 1, &set, 0, NULL);
    if (push_bytes)
        vkf.vkCmdPushConstants(s->cmd, C.pipeline_layouts[kernel], VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
    vkf.vkCmdDispatch(s->cmd, gx, gy, gz);
    s->dispatches++;
    C.dispatches++;
    ember_vk_after_record();
    return 0;
}

int ember_vk_dispatch_ranges(int kernel, EmberVkBuffer *const *buffers, const uint64_t *byte_offsets,
                             const uint64_t *byte_ranges, int nbuffers, const void *push, uint32_t push_bytes,
                             uint32_t gx, uint32_t gy, uint32_t gz) {
    pthread_mutex_lock(&C.lock);
    int rc = ember_vk_init_locked();
    if (!rc) rc = dispatch_locked(kernel, buffers, byte_offsets, byte_ranges, nbuffers, push, push_bytes, gx, gy, gz);
    pthread_mutex_unlock(&C.lock);
    return rc;
}

int ember_vk_dispatch(int kernel, EmberVkBuffer *const *buffers, const uint64_t *byte_offsets, int nbuffers,
                      const void *push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
    return ember_vk_dispatch_ranges(kernel, buffers, byte_offsets, NULL, nbuffers, push, push_bytes, gx, gy, gz);
}

int ember_vk_dispatch_linear(int kernel, EmberVkBuffer *const *buffers, const uint64_t *byte_offsets, int nbuffers,
                             const void *push, uint32_t push_bytes, uint64_t groups) {
    pthread_mutex_lock(&C.lock);
    int rc = ember_vk_init_locked();
    if (!rc) {
        /* group_linear() = x + y * gridX in the shaders; surplus groups exit on their bounds check. */
        uint64_t max_x = C.props.limits.maxComputeWorkGroupCount[0];
        uint64_t gx = groups < max_x ? groups : max_x;
        uint64_t gy = gx ? (groups + gx - 1) / gx : 0;
        if (gy > C.props.limits.maxComputeWorkGroupCount[1] || groups > UINT32_MAX) {
            ember_vk_set_error("%s: %llu workgroups are more than one dispatch can address",
                               ember_vk_kernel_name(kernel) ? ember_vk_kernel_name(kernel) : "kernel",
                               (unsigned long long)groups);
            rc = -1;
        } else
            rc = dispatch_locked(kernel, buffers, byte_offsets, NULL, nbuffers, push, push_bytes, (uint32_t)gx,
                                 (uint32_t)gy, 1);
    }
    pthread_mutex_unlock(&C.lock);
    return rc;
}
#endif
