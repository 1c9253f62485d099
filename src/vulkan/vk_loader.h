// Run-time loading of Vulkan: the system headers with VK_NO_PROTOTYPES and our own table of
// function pointers (no global symbols, nothing linked). An Instance owns the dlopen handle,
// the VkInstance and, with QGPU_VULKAN_VALIDATION=1, the validation layer's messenger.
#pragma once
#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "core/status.h"

namespace qgpu {
namespace vulkan {

#define QGPU_VK_GLOBAL_FUNCS(X)             \
    X(vkCreateInstance)                     \
    X(vkEnumerateInstanceExtensionProperties) \
    X(vkEnumerateInstanceLayerProperties)

#define QGPU_VK_INSTANCE_FUNCS(X)                  \
    X(vkDestroyInstance)                           \
    X(vkEnumeratePhysicalDevices)                  \
    X(vkGetPhysicalDeviceProperties)               \
    X(vkGetPhysicalDeviceProperties2)              \
    X(vkGetPhysicalDeviceFeatures2)                \
    X(vkGetPhysicalDeviceQueueFamilyProperties)    \
    X(vkGetPhysicalDeviceMemoryProperties)         \
    X(vkEnumerateDeviceExtensionProperties)        \
    X(vkCreateDevice)                              \
    X(vkGetDeviceProcAddr)

#define QGPU_VK_DEVICE_FUNCS(X)           \
    X(vkDestroyDevice)                    \
    X(vkGetDeviceQueue)                   \
    X(vkDeviceWaitIdle)                   \
    X(vkCreateBuffer)                     \
    X(vkDestroyBuffer)                    \
    X(vkGetBufferMemoryRequirements)      \
    X(vkAllocateMemory)                   \
    X(vkFreeMemory)                       \
    X(vkBindBufferMemory)                 \
    X(vkMapMemory)                        \
    X(vkUnmapMemory)                      \
    X(vkFlushMappedMemoryRanges)          \
    X(vkInvalidateMappedMemoryRanges)     \
    X(vkCreateCommandPool)                \
    X(vkDestroyCommandPool)               \
    X(vkAllocateCommandBuffers)           \
    X(vkFreeCommandBuffers)               \
    X(vkBeginCommandBuffer)               \
    X(vkEndCommandBuffer)                 \
    X(vkResetCommandBuffer)               \
    X(vkCmdCopyBuffer)                    \
    X(vkCmdBindPipeline)                  \
    X(vkCmdBindDescriptorSets)            \
    X(vkCmdPushConstants)                 \
    X(vkCmdDispatch)                      \
    X(vkCmdPipelineBarrier)               \
    X(vkQueueSubmit)                      \
    X(vkCreateFence)                      \
    X(vkDestroyFence)                     \
    X(vkWaitForFences)                    \
    X(vkResetFences)                      \
    X(vkCreateShaderModule)               \
    X(vkDestroyShaderModule)              \
    X(vkCreatePipelineCache)              \
    X(vkDestroyPipelineCache)             \
    X(vkGetPipelineCacheData)             \
    X(vkCreateDescriptorSetLayout)        \
    X(vkDestroyDescriptorSetLayout)       \
    X(vkCreatePipelineLayout)             \
    X(vkDestroyPipelineLayout)            \
    X(vkCreateComputePipelines)           \
    X(vkDestroyPipeline)                  \
    X(vkCreateDescriptorPool)             \
    X(vkDestroyDescriptorPool)            \
    X(vkAllocateDescriptorSets)           \
    X(vkUpdateDescriptorSets)

struct Api {
#define QGPU_VK_MEMBER(name) PFN_##name name = nullptr;
    PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
    PFN_vkEnumerateInstanceVersion vkEnumerateInstanceVersion = nullptr;  // 1.1 loaders
    QGPU_VK_GLOBAL_FUNCS(QGPU_VK_MEMBER)
    QGPU_VK_INSTANCE_FUNCS(QGPU_VK_MEMBER)
    PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT = nullptr;
    PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT = nullptr;
    QGPU_VK_DEVICE_FUNCS(QGPU_VK_MEMBER)
#undef QGPU_VK_MEMBER
};

// "VK_ERROR_OUT_OF_DEVICE_MEMORY", ...
const char* result_name(VkResult r);
// VK_SUCCESS -> QGPU_OK; out of memory -> QGPU_ERROR_OUT_OF_MEMORY; device lost ->
// QGPU_ERROR_DEVICE_LOST; anything else QGPU_ERROR_DEVICE. The message names `what` and r.
Status check(VkResult r, const char* what);

class Instance {
public:
    // dlopen + vkCreateInstance (+ validation layer and messenger when `validation`).
    static Status create(bool validation, std::shared_ptr<Instance>* out);
    ~Instance();
    Instance(const Instance&) = delete;
    Instance& operator=(const Instance&) = delete;

    Api api;  // global + instance functions; a Device copies it and adds device functions
    VkInstance instance = VK_NULL_HANDLE;
    uint32_t api_version = VK_API_VERSION_1_0;  // of the instance
    bool validation = false;

    // Validation messages (warnings and errors) received so far, and the first ones' text.
    uint32_t message_count() const { return messages_.load(); }
    std::string messages_text() const;

private:
    Instance() = default;
    static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT types,
                                                     const VkDebugUtilsMessengerCallbackDataEXT* data,
                                                     void* user);
    void* library_ = nullptr;
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    std::atomic<uint32_t> messages_{0};
    mutable std::mutex text_mutex_;
    std::string text_;
};

// Loads the device-level functions of `device` into `api`.
Status load_device_functions(Api* api, VkDevice device);

}  // namespace vulkan
}  // namespace qgpu
