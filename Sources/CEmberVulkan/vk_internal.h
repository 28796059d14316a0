/* Internal state of the Vulkan runtime, shared by its .c files (not part of the public API). */
#ifndef EMBER_VK_INTERNAL_H
#define EMBER_VK_INTERNAL_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "ember_vulkan.h"

/* Errors (vk_error.c, compiled with or without headers). */
void ember_vk_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ember_vk_copy_error(char *err, size_t err_len);

/* EMBER_VK_DISABLE lets a machine that has the headers build the no-headers variant (tests). */
#if defined(__has_include) && !defined(EMBER_VK_DISABLE)
#if __has_include(<vulkan/vulkan.h>)
#define EMBER_VK_HAVE_HEADERS 1
#endif
#endif

#if EMBER_VK_HAVE_HEADERS
#define VK_NO_PROTOTYPES 1
#include <pthread.h>
#include <vulkan/vulkan.h>
#include "vk_kernel_table.h"

/* Entry points resolved at run time (vk_loader.c): loader level, instance level, device level. */
#define EMBER_VK_GLOBAL_FNS(X) \
    X(vkCreateInstance) X(vkEnumerateInstanceLayerProperties) X(vkEnumerateInstanceExtensionProperties) \
    X(vkEnumerateInstanceVersion)
#define EMBER_VK_INSTANCE_FNS(X) \
    X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties) X(vkGetPhysicalDeviceQueueFamilyProperties) \
    X(vkGetPhysicalDeviceMemoryProperties) X(vkGetPhysicalDeviceFeatures2) X(vkCreateDevice) \
    X(vkGetDeviceProcAddr) X(vkEnumerateDeviceExtensionProperties)
#define EMBER_VK_DEVICE_FNS(X) \
    X(vkGetDeviceQueue) X(vkCreateBuffer) X(vkDestroyBuffer) X(vkGetBufferMemoryRequirements) \
    X(vkAllocateMemory) X(vkFreeMemory) X(vkBindBufferMemory) X(vkMapMemory) X(vkCreateCommandPool) \
    X(vkAllocateCommandBuffers) X(vkBeginCommandBuffer) X(vkEndCommandBuffer) X(vkResetCommandBuffer) \
    X(vkCmdCopyBuffer) X(vkCmdFillBuffer) X(vkCmdPipelineBarrier) X(vkCmdBindPipeline) \
    X(vkCmdBindDescriptorSets) X(vkCmdPushConstants) X(vkCmdDispatch) X(vkQueueSubmit) X(vkCreateFence) \
    X(vkWaitForFences) X(vkResetFences) X(vkGetFenceStatus) X(vkCreateShaderModule) X(vkDestroyShaderModule) \
    X(vkCreateDescriptorSetLayout) X(vkCreatePipelineLayout) X(vkCreateComputePipelines) \
    X(vkCreateDescriptorPool) X(vkResetDescriptorPool) X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets)

typedef struct EmberVkFns {
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
    PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT;
#define EMBER_VK_FIELD(name) PFN_##name name;
    EMBER_VK_GLOBAL_FNS(EMBER_VK_FIELD)
    EMBER_VK_INSTANCE_FNS(EMBER_VK_FIELD)
    EMBER_VK_DEVICE_FNS(EMBER_VK_FIELD)
#undef EMBER_VK_FIELD
} EmberVkFns;

extern EmberVkFns vkf;
int ember_vk_load_library(void);                    /* dlopen + global entry points */
int ember_vk_load_instance_fns(VkInstance instance); /* after vkCreateInstance */
int ember_vk_load_device_fns(VkDevice device);      /* after vkCreateDevice */

struct EmberVkBuffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped; /* non-NULL when uploads and downloads may memcpy (idle buffer) */
    size_t size;
    VkDeviceSize alloc_size;
    uint64_t last_use_serial; /* batch that last recorded a use; idle once that batch completed */
    /* Hazard tracking inside the recording batch: the barrier generation of the last write/read. */
    uint64_t write_serial, write_gen, read_serial, read_gen;
};

/* A temporary host-visible allocation (staging arenas, readbacks). */
typedef struct EmberVkHostBlock {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void *mapped;
    VkDeviceSize size, used;
} EmberVkHostBlock;

/* One submission's resources: reused once its fence has signalled. */
typedef struct EmberVkSlot {
    VkCommandBuffer cmd;
    VkFence fence;
    VkDescriptorPool pool;
    uint64_t serial; /* batch serial while recording or in flight */
    int in_flight;
    uint32_t dispatches, commands;
    EmberVkHostBlock *staging;
    int nstaging, staging_cap;
    VkDeviceSize staging_used;
} EmberVkSlot;

#define EMBER_VK_MAX_SLOTS 4
#define EMBER_VK_BATCH_DISPATCHES 256
#define EMBER_VK_BATCH_COMMANDS 1024
#define EMBER_VK_MAX_BINDINGS 8

typedef struct EmberVkContext {
    pthread_mutex_t lock;
    int init_done, init_rc;
    char init_err[512];
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    int ndevices;
    int host_visible_device; /* device memory is the host's (CPU / integrated GPU) */
    int mapped_storage;      /* new buffers are host-visible and mapped */
    char name[256], info[768];
    VkCommandPool cmd_pool;
    EmberVkSlot slots[EMBER_VK_MAX_SLOTS];
    int nslots, recording; /* recording: index of the slot being recorded, or -1 */
    uint64_t next_serial, completed_serial, barrier_gen;
    uint64_t submissions, dispatches;
    EmberVkBuffer **deferred; /* released while in use, freed when their serial completes */
    int ndeferred, deferred_cap;
    VkDescriptorSetLayout set_layouts[EMBER_VK_KERNEL_COUNT];
    VkPipelineLayout pipeline_layouts[EMBER_VK_KERNEL_COUNT];
    VkPipeline pipelines[EMBER_VK_KERNEL_COUNT];
} EmberVkContext;

extern EmberVkContext ember_vk_ctx;

/* Context (vk_context.c). */
int ember_vk_init_locked(void); /* 0 when the context is usable */
int ember_vk_check(VkResult r, const char *what); /* sets the error for r < 0, returns -1 */
int ember_vk_find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred);

/* Memory (vk_memory.c). */
void ember_vk_buffer_free_now(EmberVkBuffer *b);
int ember_vk_host_block_create(VkDeviceSize bytes, EmberVkHostBlock *block);
void ember_vk_host_block_free(EmberVkHostBlock *block);

/* Command stream (vk_stream.c). All called with the lock held. */
EmberVkSlot *ember_vk_begin(void); /* the recording slot, started if needed; NULL on error */
void ember_vk_access(EmberVkBuffer *const *buffers, int n, uint32_t write_mask); /* barrier if needed, then mark */
void ember_vk_after_record(void); /* submits when the batch is large */
int ember_vk_submit(void);        /* submits the recording batch, if any */
int ember_vk_wait_serial(uint64_t serial);
int ember_vk_wait_idle(void);
void ember_vk_poll(void); /* retires slots whose fence signalled */
int ember_vk_staging_alloc(VkDeviceSize bytes, VkBuffer *buffer, VkDeviceSize *offset, void **mapped);
void ember_vk_defer_free(EmberVkBuffer *b);

#endif /* EMBER_VK_HAVE_HEADERS */
#endif
