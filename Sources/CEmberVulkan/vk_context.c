// The process-wide Vulkan context: instance (+ validation), device choice, features, queue, and
// the choice between host-visible storages and staging.
#include "vk_internal.h"
#if EMBER_VK_HAVE_HEADERS
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

EmberVkContext ember_vk_ctx = {.lock = PTHREAD_MUTEX_INITIALIZER, .recording = -1};
#define C ember_vk_ctx

/* Validation messages arrive on any thread, possibly while ember_vk_ctx.lock is held by the caller
 * that triggered them, so they have their own lock. */
static pthread_mutex_t message_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t message_count;
static char last_message[2048];

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT types,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
    (void)types; (void)user;
    if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) return VK_FALSE;
    atomic_fetch_add(&message_count, 1);
    pthread_mutex_lock(&message_lock);
    snprintf(last_message, sizeof last_message, "%s", data && data->pMessage ? data->pMessage : "(no text)");
    pthread_mutex_unlock(&message_lock);
    if (getenv("EMBER_VULKAN_VALIDATION_PRINT")) fprintf(stderr, "[vulkan validation] %s\n", last_message);
    return VK_FALSE;
}

uint64_t ember_vk_validation_message_count(void) { return atomic_load(&message_count); }
const char *ember_vk_last_validation_message(void) { return last_message; }

int ember_vk_check(VkResult r, const char *what) {
    if (r >= 0) return 0;
    const char *name = r == VK_ERROR_OUT_OF_HOST_MEMORY     ? "out of host memory"
                       : r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "out of device memory"
                       : r == VK_ERROR_DEVICE_LOST          ? "device lost"
                       : r == VK_ERROR_INITIALIZATION_FAILED ? "initialization failed"
                       : r == VK_ERROR_LAYER_NOT_PRESENT     ? "layer not present"
                       : r == VK_ERROR_EXTENSION_NOT_PRESENT ? "extension not present"
                       : r == VK_ERROR_INCOMPATIBLE_DRIVER   ? "incompatible driver (no Vulkan driver installed?)"
                       : r == VK_ERROR_FEATURE_NOT_PRESENT   ? "feature not present"
                                                             : "error";
    ember_vk_set_error("%s failed: %s (VkResult %d)", what, name, (int)r);
    return -1;
}

int ember_vk_find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred) {
    int fallback = -1;
    for (uint32_t i = 0; i < C.mem.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = C.mem.memoryTypes[i].propertyFlags;
        if (!(type_bits & (1u << i)) || (f & required) != required) continue;
        if ((f & preferred) == preferred) return (int)i;
        if (fallback < 0) fallback = (int)i;
    }
    return fallback;
}

static int env_flag(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static int has_layer(const char *name) {
    uint32_t n = 0;
    if (vkf.vkEnumerateInstanceLayerProperties(&n, NULL) < 0 || n == 0) return 0;
    VkLayerProperties *p = calloc(n, sizeof *p);
    if (!p) return 0;
    int found = 0;
    if (vkf.vkEnumerateInstanceLayerProperties(&n, p) >= 0)
        for (uint32_t i = 0; i < n; i++) found |= strcmp(p[i].layerName, name) == 0;
    free(p);
    return found;
}

static int create_instance(int validation) {
    uint32_t version = 0;
    vkf.vkEnumerateInstanceVersion(&version);
    if (version < VK_API_VERSION_1_2) {
        ember_vk_set_error("the Vulkan loader supports %u.%u; Ember's kernels need Vulkan 1.2",
                           VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version));
        return -1;
    }
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .pApplicationName = "Ember",
                             .pEngineName = "Ember", .apiVersion = VK_API_VERSION_1_2};
    const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
    const char *extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME};
    /* Synchronization validation checks the barriers Ember records, not only API usage. */
    VkValidationFeatureEnableEXT enables[] = {VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                        .enabledValidationFeatureCount = 1, .pEnabledValidationFeatures = enables};
    VkDebugUtilsMessengerCreateInfoEXT messenger = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .pNext = &features,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message};
    if (validation && !has_layer(layers[0])) {
        ember_vk_set_error("EMBER_VULKAN_VALIDATION is set but VK_LAYER_KHRONOS_validation is not installed "
                           "(apt-get install vulkan-validationlayers)");
        return -1;
    }
    VkInstanceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    if (validation) {
        info.pNext = &messenger; /* also catches messages from vkCreateInstance itself */
        info.enabledLayerCount = 1;
        info.ppEnabledLayerNames = layers;
        info.enabledExtensionCount = 2;
        info.ppEnabledExtensionNames = extensions;
    }
    VkResult r = vkf.vkCreateInstance(&info, NULL, &C.instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER) {
        ember_vk_set_error("no Vulkan driver found (vkCreateInstance: incompatible driver); install one "
                           "(for a CPU device: mesa-vulkan-drivers)");
        return -1;
    }
    if (ember_vk_check(r, "vkCreateInstance")) return -1;
    if (ember_vk_load_instance_fns(C.instance)) return -1;
    if (validation) {
        messenger.pNext = NULL;
        if (!vkf.vkCreateDebugUtilsMessengerEXT) {
            ember_vk_set_error("validation requested but vkCreateDebugUtilsMessengerEXT is missing");
            return -1;
        }
        if (ember_vk_check(vkf.vkCreateDebugUtilsMessengerEXT(C.instance, &messenger, NULL, &C.messenger),
                           "vkCreateDebugUtilsMessengerEXT"))
            return -1;
    }
    return 0;
}

static int compute_family(VkPhysicalDevice d, uint32_t *family) {
    uint32_t n = 0;
    vkf.vkGetPhysicalDeviceQueueFamilyProperties(d, &n, NULL);
    VkQueueFamilyProperties q[32];
    if (n > 32) n = 32;
    vkf.vkGetPhysicalDeviceQueueFamilyProperties(d, &n, q);
    for (uint32_t i = 0; i < n; i++)
        if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && q[i].queueCount > 0) {
            *family = i;
            return 1;
        }
    return 0;
}

static int pick_device(void) {
    uint32_t n = 0;
    if (ember_vk_check(vkf.vkEnumeratePhysicalDevices(C.instance, &n, NULL), "vkEnumeratePhysicalDevices")) return -1;
    VkPhysicalDevice all[16];
    if (n > 16) n = 16;
    if (n && ember_vk_check(vkf.vkEnumeratePhysicalDevices(C.instance, &n, all), "vkEnumeratePhysicalDevices"))
        return -1;
    VkPhysicalDevice usable[16];
    uint32_t families[16];
    int count = 0;
    for (uint32_t i = 0; i < n; i++)
        if (compute_family(all[i], &families[count])) usable[count++] = all[i];
    C.ndevices = count;
    if (count == 0) {
        ember_vk_set_error("no Vulkan device with a compute queue (found %u devices); install a driver "
                           "(for a CPU device: mesa-vulkan-drivers)", n);
        return -1;
    }
    int pick = 0;
    const char *env = getenv("EMBER_VULKAN_DEVICE");
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end || v < 0 || v >= count) {
            ember_vk_set_error("EMBER_VULKAN_DEVICE=%s, but there are %d Vulkan device(s) with a compute queue "
                               "(valid: 0..%d)", env, count, count - 1);
            return -1;
        }
        pick = (int)v;
    }
    C.phys = usable[pick];
    C.queue_family = families[pick];
    vkf.vkGetPhysicalDeviceProperties(C.phys, &C.props);
    vkf.vkGetPhysicalDeviceMemoryProperties(C.phys, &C.mem);
    snprintf(C.name, sizeof C.name, "%s", C.props.deviceName);
    if (C.props.apiVersion < VK_API_VERSION_1_2) {
        ember_vk_set_error("Vulkan device '%s' supports Vulkan %u.%u; Ember's kernels need 1.2", C.name,
                           VK_API_VERSION_MAJOR(C.props.apiVersion), VK_API_VERSION_MINOR(C.props.apiVersion));
        return -1;
    }
    return 0;
}

/* The kernels read 8/16/64-bit data as 32-bit words, so no optional feature is required; the ones
 * present are enabled for future kernels and reported in ember_vk_device_info(). */
static int create_device(char *features, size_t features_len) {
    VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f12};
    VkPhysicalDeviceFeatures2 have = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f11};
    vkf.vkGetPhysicalDeviceFeatures2(C.phys, &have);
    VkPhysicalDeviceVulkan12Features e12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
                                            .storageBuffer8BitAccess = f12.storageBuffer8BitAccess,
                                            .shaderFloat16 = f12.shaderFloat16,
                                            .shaderInt8 = f12.shaderInt8};
    VkPhysicalDeviceVulkan11Features e11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
                                            .pNext = &e12,
                                            .storageBuffer16BitAccess = f11.storageBuffer16BitAccess};
    VkPhysicalDeviceFeatures2 want = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &e11};
    want.features.shaderInt64 = have.features.shaderInt64;
    snprintf(features, features_len, "%s%s%s%s%s", f12.storageBuffer8BitAccess ? " storage8" : "",
             f11.storageBuffer16BitAccess ? " storage16" : "", f12.shaderFloat16 ? " float16" : "",
             f12.shaderInt8 ? " int8" : "", have.features.shaderInt64 ? " int64" : "");
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                     .queueFamilyIndex = C.queue_family, .queueCount = 1, .pQueuePriorities = &priority};
    VkDeviceCreateInfo info = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &want,
                               .queueCreateInfoCount = 1, .pQueueCreateInfos = &queue};
    if (ember_vk_check(vkf.vkCreateDevice(C.phys, &info, NULL, &C.device), "vkCreateDevice")) return -1;
    if (ember_vk_load_device_fns(C.device)) return -1;
    vkf.vkGetDeviceQueue(C.device, C.queue_family, 0, &C.queue);
    VkCommandPoolCreateInfo pool = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                    .queueFamilyIndex = C.queue_family};
    return ember_vk_check(vkf.vkCreateCommandPool(C.device, &pool, NULL, &C.cmd_pool), "vkCreateCommandPool");
}

/* Storages are mapped and written by memcpy only on devices whose memory is the host's (CPU and
 * integrated GPUs with a device-local + host-visible + coherent type). On discrete GPUs the
 * host-visible device-local type is a small BAR window, so storages are device-local only and
 * uploads/downloads use staging, as EMBER_VULKAN_FORCE_STAGING=1 forces anywhere. */
static void choose_memory_model(void) {
    VkMemoryPropertyFlags uma = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int shared = C.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ||
                 C.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU;
    C.host_visible_device = shared && ember_vk_find_memory_type(~0u, uma, 0) >= 0;
    C.mapped_storage = C.host_visible_device && !env_flag("EMBER_VULKAN_FORCE_STAGING");
}

int ember_vk_init_locked(void) {
    if (C.init_done) {
        if (C.init_rc) ember_vk_set_error("%s", C.init_err);
        return C.init_rc;
    }
    C.init_done = 1;
    int validation = env_flag("EMBER_VULKAN_VALIDATION");
    char features[128] = "";
    int rc = ember_vk_load_library();
    if (!rc) rc = create_instance(validation);
    if (!rc) rc = pick_device();
    if (!rc) rc = create_device(features, sizeof features);
    if (rc) {
        snprintf(C.init_err, sizeof C.init_err, "Vulkan unavailable: %s", ember_vk_last_error());
        ember_vk_set_error("%s", C.init_err);
        C.init_rc = -1;
        return -1;
    }
    choose_memory_model();
    C.next_serial = 1;
    const VkPhysicalDeviceLimits *l = &C.props.limits;
    snprintf(C.info, sizeof C.info,
             "%s: Vulkan %u.%u.%u, %s memory, features:%s; maxStorageBufferRange %u, "
             "minStorageBufferOffsetAlignment %llu, maxComputeSharedMemorySize %u%s",
             C.name, VK_API_VERSION_MAJOR(C.props.apiVersion), VK_API_VERSION_MINOR(C.props.apiVersion),
             VK_API_VERSION_PATCH(C.props.apiVersion), C.mapped_storage ? "host-visible" : "device-local + staging",
             features[0] ? features : " none", l->maxStorageBufferRange,
             (unsigned long long)l->minStorageBufferOffsetAlignment, l->maxComputeSharedMemorySize,
             validation ? ", validation on" : "");
    C.init_rc = 0;
    return 0;
}

int ember_vk_init(char *err, size_t err_len) {
    pthread_mutex_lock(&C.lock);
    int rc = ember_vk_init_locked();
    pthread_mutex_unlock(&C.lock);
    if (rc) ember_vk_copy_error(err, err_len);
    else if (err && err_len) err[0] = 0;
    return rc;
}

int ember_vk_device_count(void) {
    pthread_mutex_lock(&C.lock);
    int rc = ember_vk_init_locked();
    int n = C.ndevices; /* known even when a later init step failed */
    pthread_mutex_unlock(&C.lock);
    return rc && !C.phys ? 0 : n;
}

/* Getters take the lock so that a caller racing the first init sees either nothing or the result. */
static int ready(void) {
    pthread_mutex_lock(&C.lock);
    int ok = C.init_done && !C.init_rc;
    pthread_mutex_unlock(&C.lock);
    return ok;
}
const char *ember_vk_device_name(void) { return ready() ? C.name : ""; }
const char *ember_vk_device_info(void) { return ready() ? C.info : ""; }
uint64_t ember_vk_max_binding_bytes(void) { return ready() ? C.props.limits.maxStorageBufferRange : 0; }
uint64_t ember_vk_binding_offset_alignment(void) { return ready() ? C.props.limits.minStorageBufferOffsetAlignment : 0; }
int ember_vk_uses_staging(void) {
    pthread_mutex_lock(&C.lock);
    int staging = C.init_done && !C.init_rc && !C.mapped_storage;
    pthread_mutex_unlock(&C.lock);
    return staging;
}

int ember_vk_set_force_staging(int on) {
    pthread_mutex_lock(&C.lock);
    int rc = ember_vk_init_locked();
    if (!rc) C.mapped_storage = C.host_visible_device && !on;
    pthread_mutex_unlock(&C.lock);
    return rc;
}
uint64_t ember_vk_submission_count(void) {
    pthread_mutex_lock(&C.lock);
    uint64_t n = C.submissions;
    pthread_mutex_unlock(&C.lock);
    return n;
}
uint64_t ember_vk_dispatch_count(void) {
    pthread_mutex_lock(&C.lock);
    uint64_t n = C.dispatches;
    pthread_mutex_unlock(&C.lock);
    return n;
}
#endif
