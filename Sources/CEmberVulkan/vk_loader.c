// Loads libvulkan at run time (dlopen), so that Ember has no link-time dependency on Vulkan and a
// machine without it still runs the CPU backend, and a GPU backend reports itself unavailable instead
// of failing to load (docs/ARCHITECTURE.md, "Where to add… A device").
#include "vk_internal.h"
#if EMBER_VK_HAVE_HEADERS
#include <dlfcn.h>
#include <stdlib.h>

EmberVkFns vkf;
static void *library;

int ember_vk_load_library(void) {
    if (library) return 0;
    const char *override = getenv("EMBER_VULKAN_LIBRARY");
#ifdef __APPLE__
    const char *names[] = {override, "libvulkan.1.dylib", "libMoltenVK.dylib"};
#else
    const char *names[] = {override, "libvulkan.so.1", "libvulkan.so"};
#endif
    const char *why = "";
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !library; i++) {
        if (!names[i]) continue;
        library = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!library) {
            const char *e = dlerror();
            why = e ? e : "not found";
        }
        if (override && i == 0 && !library) break; /* an explicit path that fails is the answer */
    }
    if (!library) {
        ember_vk_set_error("the Vulkan loader could not be loaded (%s); install libvulkan1 and a driver "
                           "(for a CPU device: mesa-vulkan-drivers)", why);
        return -1;
    }
    vkf.vkGetInstanceProcAddr = (PFN_vkGetInstanceProcAddr)dlsym(library, "vkGetInstanceProcAddr");
    if (!vkf.vkGetInstanceProcAddr) {
        ember_vk_set_error("the Vulkan loader has no vkGetInstanceProcAddr");
        return -1;
    }
#define EMBER_VK_LOAD_GLOBAL(name) vkf.name = (PFN_##name)vkf.vkGetInstanceProcAddr(NULL, #name);
    EMBER_VK_GLOBAL_FNS(EMBER_VK_LOAD_GLOBAL)
    if (!vkf.vkEnumerateInstanceVersion) {
        ember_vk_set_error("the Vulkan loader is older than 1.1; Ember needs Vulkan 1.2");
        return -1;
    }
    return 0;
}

int ember_vk_load_instance_fns(VkInstance instance) {
#define EMBER_VK_LOAD_INSTANCE(name)                                            \
    vkf.name = (PFN_##name)vkf.vkGetInstanceProcAddr(instance, #name);         \
    if (!vkf.name) {                                                            \
        ember_vk_set_error("the Vulkan instance has no %s", #name);            \
        return -1;                                                              \
    }
    EMBER_VK_INSTANCE_FNS(EMBER_VK_LOAD_INSTANCE)
    /* Optional: only with the debug-utils extension (validation). */
    vkf.vkCreateDebugUtilsMessengerEXT =
        (PFN_vkCreateDebugUtilsMessengerEXT)vkf.vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT");
    return 0;
}

int ember_vk_load_device_fns(VkDevice device) {
#define EMBER_VK_LOAD_DEVICE(name)                                              \
    vkf.name = (PFN_##name)vkf.vkGetDeviceProcAddr(device, #name);             \
    if (!vkf.name) {                                                            \
        ember_vk_set_error("the Vulkan device has no %s", #name);              \
        return -1;                                                              \
    }
    EMBER_VK_DEVICE_FNS(EMBER_VK_LOAD_DEVICE)
    return 0;
}
#endif
