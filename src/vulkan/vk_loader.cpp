// dlopen of libvulkan, instance creation, the function table and VkResult names.
#include "vulkan/vk_loader.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace qgpu {
namespace vulkan {

const char* result_name(VkResult r) {
    switch (r) {
#define QGPU_VK_CASE(x) case x: return #x;
        QGPU_VK_CASE(VK_SUCCESS)
        QGPU_VK_CASE(VK_NOT_READY)
        QGPU_VK_CASE(VK_TIMEOUT)
        QGPU_VK_CASE(VK_EVENT_SET)
        QGPU_VK_CASE(VK_EVENT_RESET)
        QGPU_VK_CASE(VK_INCOMPLETE)
        QGPU_VK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
        QGPU_VK_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        QGPU_VK_CASE(VK_ERROR_INITIALIZATION_FAILED)
        QGPU_VK_CASE(VK_ERROR_DEVICE_LOST)
        QGPU_VK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
        QGPU_VK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
        QGPU_VK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
        QGPU_VK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
        QGPU_VK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
        QGPU_VK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
        QGPU_VK_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
        QGPU_VK_CASE(VK_ERROR_FRAGMENTED_POOL)
        QGPU_VK_CASE(VK_ERROR_UNKNOWN)
        QGPU_VK_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
        QGPU_VK_CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
        QGPU_VK_CASE(VK_ERROR_FRAGMENTATION)
        QGPU_VK_CASE(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
        QGPU_VK_CASE(VK_PIPELINE_COMPILE_REQUIRED)
        QGPU_VK_CASE(VK_ERROR_VALIDATION_FAILED_EXT)
#undef QGPU_VK_CASE
        default: return "VK_RESULT_UNKNOWN";
    }
}

Status check(VkResult r, const char* what) {
    if (r == VK_SUCCESS) return QGPU_OK;
    Status s = QGPU_ERROR_DEVICE;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY ||
        r == VK_ERROR_OUT_OF_POOL_MEMORY)
        s = QGPU_ERROR_OUT_OF_MEMORY;
    else if (r == VK_ERROR_DEVICE_LOST)
        s = QGPU_ERROR_DEVICE_LOST;
    return failf(s, "vulkan: %s failed: %s (%d)", what, result_name(r), int(r));
}

namespace {

Status open_library(void** out) {
    std::string errors;
    std::vector<std::string> names;
    if (const char* env = std::getenv("QGPU_VULKAN_LIBRARY"))
        if (*env) names.emplace_back(env);
    names.emplace_back("libvulkan.so.1");
    names.emplace_back("libvulkan.so");
    for (const std::string& name : names) {
        dlerror();
        if (void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) {
            *out = lib;
            return QGPU_OK;
        }
        const char* why = dlerror();
        errors += std::string(errors.empty() ? "" : "; ") + (why ? why : name + ": unknown dlopen error");
    }
    return fail(QGPU_ERROR_UNAVAILABLE, "vulkan: cannot load the Vulkan loader: " + errors);
}

bool has_layer(const Api& api, const char* name) {
    uint32_t n = 0;
    if (api.vkEnumerateInstanceLayerProperties(&n, nullptr) != VK_SUCCESS) return false;
    std::vector<VkLayerProperties> layers(n);
    if (api.vkEnumerateInstanceLayerProperties(&n, layers.data()) != VK_SUCCESS) return false;
    for (uint32_t i = 0; i < n; ++i)
        if (std::strcmp(layers[i].layerName, name) == 0) return true;
    return false;
}

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

}  // namespace

VKAPI_ATTR VkBool32 VKAPI_CALL Instance::on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                    VkDebugUtilsMessageTypeFlagsEXT,
                                                    const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                    void* user) {
    if (!(severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)))
        return VK_FALSE;
    Instance* self = static_cast<Instance*>(user);
    const char* msg = data && data->pMessage ? data->pMessage : "(no message)";
    std::fprintf(stderr, "qgpu vulkan validation: %s\n", msg);
    {
        std::lock_guard<std::mutex> lock(self->text_mutex_);
        if (self->text_.size() < 2000) self->text_ += std::string(self->text_.empty() ? "" : " | ") + msg;
    }
    self->messages_.fetch_add(1);
    return VK_FALSE;
}

std::string Instance::messages_text() const {
    std::lock_guard<std::mutex> lock(text_mutex_);
    return text_;
}

Status Instance::create(bool validation, std::shared_ptr<Instance>* out) {
    std::shared_ptr<Instance> inst(new Instance());
    QGPU_TRY(open_library(&inst->library_));
    Api& api = inst->api;
    api.vkGetInstanceProcAddr =
        reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(inst->library_, "vkGetInstanceProcAddr"));
    if (!api.vkGetInstanceProcAddr)
        return fail(QGPU_ERROR_UNAVAILABLE, "vulkan: the loader has no vkGetInstanceProcAddr");
#define QGPU_VK_LOAD_GLOBAL(name)                                                              \
    api.name = reinterpret_cast<PFN_##name>(api.vkGetInstanceProcAddr(VK_NULL_HANDLE, #name)); \
    if (!api.name) return fail(QGPU_ERROR_UNAVAILABLE, "vulkan: the loader lacks " #name);
    QGPU_VK_GLOBAL_FUNCS(QGPU_VK_LOAD_GLOBAL)
#undef QGPU_VK_LOAD_GLOBAL
    api.vkEnumerateInstanceVersion = reinterpret_cast<PFN_vkEnumerateInstanceVersion>(
        api.vkGetInstanceProcAddr(VK_NULL_HANDLE, "vkEnumerateInstanceVersion"));
    uint32_t loader_version = VK_API_VERSION_1_0;
    if (api.vkEnumerateInstanceVersion) api.vkEnumerateInstanceVersion(&loader_version);
    if (loader_version < VK_API_VERSION_1_1)
        return failf(QGPU_ERROR_UNAVAILABLE, "vulkan: the loader supports Vulkan %u.%u; qgpu needs 1.1",
                     VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version));
    inst->api_version = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : loader_version;

    std::vector<const char*> layers, extensions;
    if (validation) {
        if (!has_layer(api, kValidationLayer))
            return fail(QGPU_ERROR_UNAVAILABLE,
                        "vulkan: QGPU_VULKAN_VALIDATION=1 but the VK_LAYER_KHRONOS_validation layer is "
                        "not installed (Debian: vulkan-validationlayers)");
        layers.push_back(kValidationLayer);
        extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
        inst->validation = true;
    }
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "qgpu";
    app.pEngineName = "qgpu";
    app.apiVersion = inst->api_version;
    VkDebugUtilsMessengerCreateInfoEXT mci{};
    mci.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
    mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mci.pfnUserCallback = &Instance::on_message;
    mci.pUserData = inst.get();
    VkInstanceCreateInfo ci{};
    ci.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    ci.pNext = validation ? &mci : nullptr;  // also covers vkCreateInstance/vkDestroyInstance
    ci.pApplicationInfo = &app;
    ci.enabledLayerCount = uint32_t(layers.size());
    ci.ppEnabledLayerNames = layers.data();
    ci.enabledExtensionCount = uint32_t(extensions.size());
    ci.ppEnabledExtensionNames = extensions.data();
    VkResult r = api.vkCreateInstance(&ci, nullptr, &inst->instance);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED)
        return failf(QGPU_ERROR_UNAVAILABLE, "vulkan: vkCreateInstance failed: %s (no usable driver)",
                     result_name(r));
    QGPU_TRY(check(r, "vkCreateInstance"));
#define QGPU_VK_LOAD_INSTANCE(name)                                                             \
    api.name = reinterpret_cast<PFN_##name>(api.vkGetInstanceProcAddr(inst->instance, #name)); \
    if (!api.name) return fail(QGPU_ERROR_UNAVAILABLE, "vulkan: the instance lacks " #name);
    QGPU_VK_INSTANCE_FUNCS(QGPU_VK_LOAD_INSTANCE)
#undef QGPU_VK_LOAD_INSTANCE
    if (validation) {
        api.vkCreateDebugUtilsMessengerEXT = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
            api.vkGetInstanceProcAddr(inst->instance, "vkCreateDebugUtilsMessengerEXT"));
        api.vkDestroyDebugUtilsMessengerEXT = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
            api.vkGetInstanceProcAddr(inst->instance, "vkDestroyDebugUtilsMessengerEXT"));
        if (!api.vkCreateDebugUtilsMessengerEXT || !api.vkDestroyDebugUtilsMessengerEXT)
            return fail(QGPU_ERROR_UNAVAILABLE, "vulkan: VK_EXT_debug_utils functions missing");
        QGPU_TRY(check(api.vkCreateDebugUtilsMessengerEXT(inst->instance, &mci, nullptr, &inst->messenger_),
                       "vkCreateDebugUtilsMessengerEXT"));
    }
    *out = std::move(inst);
    return QGPU_OK;
}

Instance::~Instance() {
    if (instance) {
        if (messenger_) api.vkDestroyDebugUtilsMessengerEXT(instance, messenger_, nullptr);
        api.vkDestroyInstance(instance, nullptr);
    }
    if (library_) dlclose(library_);
}

Status load_device_functions(Api* api, VkDevice device) {
#define QGPU_VK_LOAD_DEVICE(name)                                                 \
    api->name = reinterpret_cast<PFN_##name>(api->vkGetDeviceProcAddr(device, #name)); \
    if (!api->name) return fail(QGPU_ERROR_UNAVAILABLE, "vulkan: the device lacks " #name);
    QGPU_VK_DEVICE_FUNCS(QGPU_VK_LOAD_DEVICE)
#undef QGPU_VK_LOAD_DEVICE
    return QGPU_OK;
}

}  // namespace vulkan
}  // namespace qgpu
