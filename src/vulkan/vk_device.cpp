// Vulkan backend: device listing, device/queue creation, buffers, pipelines, pipeline cache.
#include "vulkan/vk_device.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace qgpu {
namespace vulkan {

extern const uint32_t spirv_conv_int8_dense_dot[], spirv_conv_int8_generic_dot[], spirv_conv_int8_dw_dot[];
extern const uint32_t spirv_conv_int8_dense_nodot[], spirv_conv_int8_generic_nodot[], spirv_conv_int8_dw_nodot[];
extern const uint32_t spirv_conv_int8_tiled_dot[], spirv_conv_int8_tiled_nodot[];
extern const size_t spirv_conv_int8_tiled_dot_words, spirv_conv_int8_tiled_nodot_words;
extern const uint32_t spirv_conv_int8_lanes_dot[], spirv_conv_int8_lanes_nodot[];
extern const size_t spirv_conv_int8_lanes_dot_words, spirv_conv_int8_lanes_nodot_words;
extern const uint32_t spirv_conv_f32[];
extern const size_t spirv_conv_int8_dense_dot_words, spirv_conv_int8_generic_dot_words, spirv_conv_int8_dw_dot_words;
extern const size_t spirv_conv_int8_dense_nodot_words, spirv_conv_int8_generic_nodot_words,
    spirv_conv_int8_dw_nodot_words;
extern const size_t spirv_conv_f32_words;
extern const uint32_t spirv_conv_f32_lanes[], spirv_conv_f32_lanes16[], spirv_conv_f32_tiled[];
extern const size_t spirv_conv_f32_lanes_words, spirv_conv_f32_lanes16_words, spirv_conv_f32_tiled_words;
extern const uint32_t spirv_op_pool[], spirv_op_concat[], spirv_op_softmax[], spirv_op_pointwise[];
extern const size_t spirv_op_pool_words, spirv_op_concat_words, spirv_op_softmax_words, spirv_op_pointwise_words;

namespace {

constexpr uint32_t kPushBytes = 112;  // the largest push-constant block of the shaders
constexpr uint64_t kFenceTimeoutNs = 120ull * 1000 * 1000 * 1000;
constexpr uint32_t kTransientSetsPerPool = 64;  // run_dispatches() descriptor sets per pool

// Between two recorded runs: their compute writes and copies before the next reads/writes.
void record_run_barrier(const Api& api, VkCommandBuffer cb) {
    VkMemoryBarrier mb{};
    mb.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                       VK_ACCESS_TRANSFER_WRITE_BIT;
    const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    api.vkCmdPipelineBarrier(cb, stages, stages, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

bool batching_disabled() {
    const char* v = std::getenv("QGPU_VULKAN_BATCH");
    return v && std::strcmp(v, "0") == 0;
}

bool has_extension(const std::vector<VkExtensionProperties>& exts, const char* name) {
    for (const VkExtensionProperties& e : exts)
        if (std::strcmp(e.extensionName, name) == 0) return true;
    return false;
}

// Everything we learn about one physical device.
struct PhysicalInfo {
    VkPhysicalDevice handle = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties props{};
    uint32_t api_version = 0;  // effective: min(instance, device)
    bool dot_feature = false, dot_accelerated = false, dot_via_extension = false;
    bool int8_storage = false;
    uint32_t subgroup_size = 0;
    uint64_t memory_bytes = 0;
    qgpu_device_info info{};
};

std::string driver_version_text(const VkPhysicalDeviceProperties& p) {
    const uint32_t v = p.driverVersion;
    char buf[64];
    if (p.vendorID == 0x10DE)  // NVIDIA: 10.8.8.6 bits
        std::snprintf(buf, sizeof buf, "%u.%u.%u", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff);
    else
        std::snprintf(buf, sizeof buf, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
                      VK_API_VERSION_PATCH(v));
    return buf;
}

Status query_physical(const Instance& inst, VkPhysicalDevice pd, int32_t index, PhysicalInfo* out) {
    const Api& api = inst.api;
    PhysicalInfo& pi = *out;
    pi.handle = pd;
    api.vkGetPhysicalDeviceProperties(pd, &pi.props);
    pi.api_version = pi.props.apiVersion < inst.api_version ? pi.props.apiVersion : inst.api_version;
    uint32_t n = 0;
    QGPU_TRY(check(api.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr),
                   "vkEnumerateDeviceExtensionProperties"));
    std::vector<VkExtensionProperties> exts(n);
    QGPU_TRY(check(api.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data()),
                   "vkEnumerateDeviceExtensionProperties"));
    exts.resize(n);
    const bool v12 = pi.api_version >= VK_API_VERSION_1_2, v13 = pi.api_version >= VK_API_VERSION_1_3;
    const bool dot_ext = has_extension(exts, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    const bool dot_struct = v13 || dot_ext;
    pi.dot_via_extension = !v13 && dot_ext;
    const bool s8_struct = v12 || has_extension(exts, VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
    const bool driver_struct = v12 || has_extension(exts, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);

    VkPhysicalDeviceShaderIntegerDotProductFeatures dotf{};
    dotf.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES;
    VkPhysicalDevice8BitStorageFeatures s8f{};
    s8f.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES;
    VkPhysicalDeviceFeatures2 f2{};
    f2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    void** next = &f2.pNext;
    if (dot_struct) { *next = &dotf; next = &dotf.pNext; }
    if (s8_struct) { *next = &s8f; next = &s8f.pNext; }
    api.vkGetPhysicalDeviceFeatures2(pd, &f2);

    VkPhysicalDeviceShaderIntegerDotProductProperties dotp{};
    dotp.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES;
    VkPhysicalDeviceSubgroupProperties sgp{};
    sgp.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    VkPhysicalDeviceDriverProperties drv{};
    drv.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
    VkPhysicalDeviceProperties2 p2{};
    p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    next = &p2.pNext;
    *next = &sgp; next = &sgp.pNext;
    if (dot_struct) { *next = &dotp; next = &dotp.pNext; }
    if (driver_struct) { *next = &drv; next = &drv.pNext; }
    api.vkGetPhysicalDeviceProperties2(pd, &p2);

    pi.dot_feature = dot_struct && dotf.shaderIntegerDotProduct;
    pi.dot_accelerated = pi.dot_feature && dotp.integerDotProduct4x8BitPackedSignedAccelerated;
    pi.int8_storage = s8_struct && s8f.storageBuffer8BitAccess;
    pi.subgroup_size = sgp.subgroupSize;
    VkPhysicalDeviceMemoryProperties mp{};
    api.vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    for (uint32_t i = 0; i < mp.memoryHeapCount; ++i)
        if (mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) pi.memory_bytes += mp.memoryHeaps[i].size;

    qgpu_device_info& info = pi.info;
    init_device_info(&info, QGPU_BACKEND_VULKAN, index);
    switch (pi.props.deviceType) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: info.type = QGPU_DEVICE_TYPE_DISCRETE_GPU; break;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: info.type = QGPU_DEVICE_TYPE_INTEGRATED_GPU; break;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: info.type = QGPU_DEVICE_TYPE_VIRTUAL_GPU; break;
        case VK_PHYSICAL_DEVICE_TYPE_CPU: info.type = QGPU_DEVICE_TYPE_CPU_SOFTWARE; break;
        default: info.type = QGPU_DEVICE_TYPE_OTHER; break;
    }
    if (pi.dot_feature) info.caps |= QGPU_CAP_INTEGER_DOT;
    if (pi.dot_accelerated) info.caps |= QGPU_CAP_INTEGER_DOT_ACCELERATED;
    if (pi.int8_storage) info.caps |= QGPU_CAP_INT8_STORAGE;
    std::snprintf(info.name, sizeof info.name, "%s", pi.props.deviceName);
    const uint32_t av = pi.props.apiVersion;
    std::string driver = driver_struct ? std::string(drv.driverName) + " " + drv.driverInfo
                                       : driver_version_text(pi.props);
    std::snprintf(info.detail, sizeof info.detail, "Vulkan %u.%u.%u, driver %s (0x%08x), vendor 0x%04x device 0x%04x",
                  VK_API_VERSION_MAJOR(av), VK_API_VERSION_MINOR(av), VK_API_VERSION_PATCH(av),
                  driver.c_str(), pi.props.driverVersion, pi.props.vendorID, pi.props.deviceID);
    std::snprintf(info.kernel_variant, sizeof info.kernel_variant, "%s", pi.dot_accelerated ? "dot" : "nodot");
    info.subgroup_size = pi.subgroup_size;
    info.shared_memory_bytes = pi.props.limits.maxComputeSharedMemorySize;
    info.memory_bytes = pi.memory_bytes;
    info.compute_units = 0;  // Vulkan core has no portable count
    return QGPU_OK;
}

Status enumerate(const Instance& inst, std::vector<PhysicalInfo>* out) {
    uint32_t n = 0;
    QGPU_TRY(check(inst.api.vkEnumeratePhysicalDevices(inst.instance, &n, nullptr), "vkEnumeratePhysicalDevices"));
    std::vector<VkPhysicalDevice> pds(n);
    if (n) QGPU_TRY(check(inst.api.vkEnumeratePhysicalDevices(inst.instance, &n, pds.data()),
                          "vkEnumeratePhysicalDevices"));
    out->clear();
    for (uint32_t i = 0; i < n; ++i) {
        PhysicalInfo pi;
        QGPU_TRY(query_physical(inst, pds[i], int32_t(out->size()), &pi));
        if (pi.props.apiVersion < VK_API_VERSION_1_1) continue;  // we need 1.1 (SPIR-V 1.3)
        out->push_back(pi);
    }
    if (out->empty()) return fail(QGPU_ERROR_UNAVAILABLE, "vulkan: no Vulkan 1.1 device found");
    return QGPU_OK;
}

bool validation_requested() {
    const char* v = std::getenv("QGPU_VULKAN_VALIDATION");
    return v && std::strcmp(v, "1") == 0;
}

Status list_devices(std::vector<qgpu_device_info>* devices) {
    std::shared_ptr<Instance> inst;
    QGPU_TRY(Instance::create(false, &inst));
    std::vector<PhysicalInfo> pds;
    QGPU_TRY(enumerate(*inst, &pds));
    devices->clear();
    for (const PhysicalInfo& pi : pds) devices->push_back(pi.info);
    return QGPU_OK;
}

Status open(int32_t index, const qgpu_context_desc& desc, std::unique_ptr<Device>* out) {
    std::shared_ptr<Instance> inst;
    QGPU_TRY(Instance::create(validation_requested(), &inst));
    std::vector<PhysicalInfo> pds;
    QGPU_TRY(enumerate(*inst, &pds));
    if (index < 0 || size_t(index) >= pds.size())
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan: device index %d out of range (%zu devices)", index,
                     pds.size());
    const PhysicalInfo& pi = pds[size_t(index)];
    const char* requested = desc.kernel_variant;
    const char* source = "the context's kernel_variant";
    if (!requested || !*requested) { requested = std::getenv("QGPU_VULKAN_VARIANT"); source = "QGPU_VULKAN_VARIANT"; }
    bool use_dot = pi.dot_accelerated;
    if (requested && *requested && std::strcmp(requested, "auto") != 0) {
        if (std::strcmp(requested, "dot") == 0) {
            if (!pi.dot_feature)
                return failf(QGPU_ERROR_UNSUPPORTED,
                             "vulkan: variant 'dot' (from %s) needs shaderIntegerDotProduct, which '%s' lacks",
                             source, pi.props.deviceName);
            use_dot = true;
        } else if (std::strcmp(requested, "nodot") == 0) {
            use_dot = false;
        } else {
            return failf(QGPU_ERROR_UNSUPPORTED,
                         "vulkan: unknown kernel variant '%s' (from %s; known: dot, nodot)", requested, source);
        }
    }
    auto dev = std::make_unique<VulkanDevice>();
    QGPU_TRY(dev->init(inst, pi.handle, pi.info, use_dot, desc.cache_dir));
    QGPU_TRY(dev->set_num_threads(desc.num_threads));
    *out = std::move(dev);
    return QGPU_OK;
}

}  // namespace

// ---- VulkanDevice -------------------------------------------------------------------------

Status VulkanDevice::init(std::shared_ptr<Instance> instance, VkPhysicalDevice physical,
                          const qgpu_device_info& info, bool use_dot, const char* cache_dir) {
    instance_ = std::move(instance);
    api_ = instance_->api;
    physical_ = physical;
    info_ = info;
    use_dot_ = use_dot;
    VkPhysicalDeviceProperties props{};
    api_.vkGetPhysicalDeviceProperties(physical, &props);
    limits_ = props.limits;
    api_.vkGetPhysicalDeviceMemoryProperties(physical, &memory_props_);
    for (uint32_t i = 0; i < memory_props_.memoryTypeCount; ++i) {
        const VkMemoryPropertyFlags f = memory_props_.memoryTypes[i].propertyFlags;
        if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
            // only where all device memory is host-visible (software/UMA), not a small BAR window
            const VkDeviceSize heap = memory_props_.memoryHeaps[memory_props_.memoryTypes[i].heapIndex].size;
            if (info.type == QGPU_DEVICE_TYPE_CPU_SOFTWARE || info.type == QGPU_DEVICE_TYPE_INTEGRATED_GPU ||
                heap >= info.memory_bytes)
                host_visible_device_local_ = true;
        }
    }

    // QGPU_VULKAN_STAGING=1 forces the staging path of discrete GPUs (tests run it on lavapipe)
    if (const char* staging = std::getenv("QGPU_VULKAN_STAGING"))
        if (std::strcmp(staging, "1") == 0) host_visible_device_local_ = false;

    uint32_t nq = 0;
    api_.vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, nullptr);
    std::vector<VkQueueFamilyProperties> qf(nq);
    api_.vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, qf.data());
    bool found = false;
    for (uint32_t i = 0; i < nq && !found; ++i)
        if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) { queue_family_ = i; found = true; }
    if (!found) return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: the device has no compute queue");

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci{};
    qci.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    qci.queueFamilyIndex = queue_family_;
    qci.queueCount = 1;
    qci.pQueuePriorities = &priority;
    VkPhysicalDeviceShaderIntegerDotProductFeatures dotf{};
    dotf.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES;
    dotf.shaderIntegerDotProduct = VK_TRUE;
    std::vector<const char*> exts;
    VkDeviceCreateInfo dci{};
    dci.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    if (use_dot_) {
        dci.pNext = &dotf;
        const uint32_t eff = props.apiVersion < instance_->api_version ? props.apiVersion : instance_->api_version;
        if (eff < VK_API_VERSION_1_3) exts.push_back(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
    }
    dci.enabledExtensionCount = uint32_t(exts.size());
    dci.ppEnabledExtensionNames = exts.data();
    QGPU_TRY(check(api_.vkCreateDevice(physical, &dci, nullptr, &device_), "vkCreateDevice"));
    QGPU_TRY(load_device_functions(&api_, device_));
    api_.vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

    VkCommandPoolCreateInfo pci{};
    pci.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pci.queueFamilyIndex = queue_family_;
    QGPU_TRY(check(api_.vkCreateCommandPool(device_, &pci, nullptr, &command_pool_), "vkCreateCommandPool"));
    VkCommandBufferAllocateInfo cai{};
    cai.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
    cai.commandPool = command_pool_;
    cai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    cai.commandBufferCount = 1;
    QGPU_TRY(check(api_.vkAllocateCommandBuffers(device_, &cai, &command_buffer_), "vkAllocateCommandBuffers"));
    VkFenceCreateInfo fci{};
    fci.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    QGPU_TRY(check(api_.vkCreateFence(device_, &fci, nullptr, &fence_), "vkCreateFence"));

    // Test hook: one deliberate invalid usage (a wrong sType) so the tests can prove that a
    // validation message fails the next qgpu call. Only with the layer on; harmless otherwise.
    if (const char* hook = std::getenv("QGPU_VULKAN_TEST_HOOK")) {
        if (instance_->validation && std::strcmp(hook, "invalid-usage") == 0) {
            VkFenceCreateInfo bad{};
            bad.sType = VK_STRUCTURE_TYPE_EVENT_CREATE_INFO;
            VkFence f = VK_NULL_HANDLE;
            if (api_.vkCreateFence(device_, &bad, nullptr, &f) == VK_SUCCESS && f)
                api_.vkDestroyFence(device_, f, nullptr);
        }
    }

    // pipeline cache, persisted per device + driver in cache_dir
    std::vector<char> cache_data;
    if (cache_dir && *cache_dir) {
        char name[160];
        std::snprintf(name, sizeof name, "/qgpu-vulkan-%04x-%04x-%08x-", props.vendorID, props.deviceID,
                      props.driverVersion);
        cache_path_ = std::string(cache_dir) + name;
        for (uint8_t b : props.pipelineCacheUUID) {
            char hex[3];
            std::snprintf(hex, sizeof hex, "%02x", b);
            cache_path_ += hex;
        }
        cache_path_ += ".bin";
        std::ifstream f(cache_path_, std::ios::binary);
        if (f) cache_data.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
        // keep it only if the header names this device (drivers check too; be defensive)
        if (cache_data.size() >= 16 + VK_UUID_SIZE) {
            uint32_t h[4];
            std::memcpy(h, cache_data.data(), sizeof h);
            if (h[0] < 16 + VK_UUID_SIZE || h[1] != VK_PIPELINE_CACHE_HEADER_VERSION_ONE ||
                h[2] != props.vendorID || h[3] != props.deviceID ||
                std::memcmp(cache_data.data() + 16, props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
                cache_data.clear();
        } else {
            cache_data.clear();
        }
    }
    VkPipelineCacheCreateInfo pcci{};
    pcci.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO;
    pcci.initialDataSize = cache_data.size();
    pcci.pInitialData = cache_data.empty() ? nullptr : cache_data.data();
    QGPU_TRY(check(api_.vkCreatePipelineCache(device_, &pcci, nullptr, &pipeline_cache_), "vkCreatePipelineCache"));
    return check_validation();
}

VulkanDevice::~VulkanDevice() {
    if (device_) {
        api_.vkDeviceWaitIdle(device_);
        for (Pipeline& p : pipelines_) {
            if (p.pipeline) api_.vkDestroyPipeline(device_, p.pipeline, nullptr);
            if (p.layout) api_.vkDestroyPipelineLayout(device_, p.layout, nullptr);
            if (p.set_layout) api_.vkDestroyDescriptorSetLayout(device_, p.set_layout, nullptr);
        }
        for (TransientPool& t : transient_pools_) api_.vkDestroyDescriptorPool(device_, t.pool, nullptr);
        if (pipeline_cache_) api_.vkDestroyPipelineCache(device_, pipeline_cache_, nullptr);
        if (fence_) api_.vkDestroyFence(device_, fence_, nullptr);
        if (command_pool_) api_.vkDestroyCommandPool(device_, command_pool_, nullptr);
        api_.vkDestroyDevice(device_, nullptr);
    }
    if (instance_ && instance_->validation && instance_->message_count() > reported_messages_) {
        // no status can be returned from here: a validation message must still fail the run
        std::fprintf(stderr, "qgpu vulkan: %u validation message(s) during teardown: %s\n",
                     instance_->message_count() - reported_messages_, instance_->messages_text().c_str());
        std::abort();
    }
}

Status VulkanDevice::check_validation() {
    if (!instance_->validation) return QGPU_OK;
    const uint32_t n = instance_->message_count();
    if (n == reported_messages_) return QGPU_OK;
    reported_messages_ = n;
    return failf(QGPU_ERROR_DEVICE, "vulkan: the validation layer reported %u message(s): %s", n,
                 instance_->messages_text().c_str());
}

Status VulkanDevice::allocate(VkDeviceSize size, VkBufferUsageFlags usage, VkMemoryPropertyFlags required,
                              VkMemoryPropertyFlags preferred, VkBuffer* buffer, VkDeviceMemory* memory,
                              VkMemoryPropertyFlags* got) {
    VkBufferCreateInfo bci{};
    bci.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    bci.size = size;
    bci.usage = usage;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    QGPU_TRY(check(api_.vkCreateBuffer(device_, &bci, nullptr, buffer), "vkCreateBuffer"));
    VkMemoryRequirements req{};
    api_.vkGetBufferMemoryRequirements(device_, *buffer, &req);
    int32_t type = -1;
    for (int pass = 0; pass < 2 && type < 0; ++pass) {
        const VkMemoryPropertyFlags want = pass == 0 ? (required | preferred) : required;
        for (uint32_t i = 0; i < memory_props_.memoryTypeCount; ++i)
            if ((req.memoryTypeBits & (1u << i)) &&
                (memory_props_.memoryTypes[i].propertyFlags & want) == want) {
                type = int32_t(i);
                break;
            }
    }
    if (type < 0) return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: no memory type fits a storage buffer");
    VkMemoryAllocateInfo mai{};
    mai.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = uint32_t(type);
    QGPU_TRY(check(api_.vkAllocateMemory(device_, &mai, nullptr, memory), "vkAllocateMemory"));
    QGPU_TRY(check(api_.vkBindBufferMemory(device_, *buffer, *memory, 0), "vkBindBufferMemory"));
    *got = memory_props_.memoryTypes[type].propertyFlags;
    return QGPU_OK;
}

Status VulkanDevice::create_buffer(size_t bytes, std::unique_ptr<Buffer>* out) {
    QGPU_TRY(check_validation());
    if (bytes > limits_.maxStorageBufferRange)
        return failf(QGPU_ERROR_UNSUPPORTED, "vulkan: a %zu-byte tensor exceeds the device's storage buffer range (%u)",
                     bytes, limits_.maxStorageBufferRange);
    auto b = std::make_unique<VulkanBuffer>(this, bytes);
    QGPU_TRY(b->init());
    *out = std::move(b);
    return check_validation();
}

Status VulkanDevice::upload(const void* data, size_t bytes, std::unique_ptr<VulkanBuffer>* out) {
    auto b = std::make_unique<VulkanBuffer>(this, bytes);
    QGPU_TRY(b->init());
    QGPU_TRY(b->write([&](void* dst) { std::memcpy(dst, data, bytes); }));
    *out = std::move(b);
    return QGPU_OK;
}

Status VulkanDevice::begin_recording() {
    ++recording_epoch_;
    QGPU_TRY(check(api_.vkResetCommandBuffer(command_buffer_, 0), "vkResetCommandBuffer"));
    VkCommandBufferBeginInfo bi{};
    bi.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    QGPU_TRY(check(api_.vkBeginCommandBuffer(command_buffer_, &bi), "vkBeginCommandBuffer"));
    // order against everything submitted before (earlier copies and dispatches)
    VkMemoryBarrier mb{};
    mb.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    mb.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
    api_.vkCmdPipelineBarrier(command_buffer_, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                              0, 1, &mb, 0, nullptr, 0, nullptr);
    return QGPU_OK;
}

Status VulkanDevice::submit_recorded_and_wait() {
    // make the results visible to the host (readbacks) and to later submissions
    VkMemoryBarrier mb{};
    mb.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    mb.srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_MEMORY_READ_BIT;
    api_.vkCmdPipelineBarrier(command_buffer_, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT,
                              VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &mb, 0, nullptr,
                              0, nullptr);
    QGPU_TRY(check(api_.vkEndCommandBuffer(command_buffer_), "vkEndCommandBuffer"));
    VkSubmitInfo si{};
    si.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    si.commandBufferCount = 1;
    si.pCommandBuffers = &command_buffer_;
    QGPU_TRY(check(api_.vkQueueSubmit(queue_, 1, &si, fence_), "vkQueueSubmit"));
    const VkResult r = api_.vkWaitForFences(device_, 1, &fence_, VK_TRUE, kFenceTimeoutNs);
    if (r == VK_TIMEOUT) {
        api_.vkDeviceWaitIdle(device_);
        api_.vkResetFences(device_, 1, &fence_);
        reset_transient_sets();
        return fail(QGPU_ERROR_DEVICE, "vulkan: vkWaitForFences timed out (VK_TIMEOUT) after 120 s");
    }
    QGPU_TRY(check(r, "vkWaitForFences"));
    QGPU_TRY(check(api_.vkResetFences(device_, 1, &fence_), "vkResetFences"));
    reset_transient_sets();  // the submission that used them is complete
    return check_validation();
}

Status VulkanDevice::submit(const std::function<void(VkCommandBuffer)>& record) {
    if (batching_) {
        if (batch_failed_) return fail(QGPU_ERROR_INTERNAL, "vulkan: the batch already failed");
        if (!batch_recording_) {
            const Status st = begin_recording();
            if (st != QGPU_OK) { batch_failed_ = true; return st; }
            batch_recording_ = true;
        } else {
            record_run_barrier(api_, command_buffer_);
        }
        record(command_buffer_);
        return check_validation();
    }
    QGPU_TRY(begin_recording());
    record(command_buffer_);
    return submit_recorded_and_wait();
}

Status VulkanDevice::begin_batch() {
    QGPU_TRY(check_validation());
    if (batching_) return fail(QGPU_ERROR_INTERNAL, "vulkan: begin_batch inside a batch");
    if (batching_disabled()) return QGPU_OK;
    batching_ = true;
    batch_recording_ = false;
    batch_failed_ = false;
    return QGPU_OK;
}

Status VulkanDevice::end_batch() {
    if (!batching_) return check_validation();
    batching_ = false;
    if (!batch_recording_) {
        reset_transient_sets();
        return check_validation();
    }
    batch_recording_ = false;
    if (batch_failed_) {
        // discard: end the recording and never submit it (the next begin resets the buffer)
        api_.vkEndCommandBuffer(command_buffer_);
        reset_transient_sets();
        return check_validation();
    }
    return submit_recorded_and_wait();
}

Status VulkanDevice::flush_batch() {
    if (!batch_recording() || batch_failed_) return QGPU_OK;
    batch_recording_ = false;
    const Status st = submit_recorded_and_wait();
    if (st != QGPU_OK) batch_failed_ = true;
    return st;
}

Status VulkanDevice::allocate_transient_set(const Pipeline* p, VkDescriptorSet* out) {
    // a fixed number of sets per pool, counted here: never ask a pool for more than it holds
    while (transient_current_ < transient_pools_.size() &&
           transient_pools_[transient_current_].used == kTransientSetsPerPool)
        ++transient_current_;
    if (transient_current_ == transient_pools_.size()) {
        VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 4 * kTransientSetsPerPool};
        VkDescriptorPoolCreateInfo pci{};
        pci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
        pci.maxSets = kTransientSetsPerPool;
        pci.poolSizeCount = 1;
        pci.pPoolSizes = &size;
        TransientPool t;
        QGPU_TRY(check(api_.vkCreateDescriptorPool(device_, &pci, nullptr, &t.pool), "vkCreateDescriptorPool"));
        transient_pools_.push_back(t);
    }
    TransientPool& t = transient_pools_[transient_current_];
    VkDescriptorSetAllocateInfo ai{};
    ai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
    ai.descriptorPool = t.pool;
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &p->set_layout;
    QGPU_TRY(check(api_.vkAllocateDescriptorSets(device_, &ai, out), "vkAllocateDescriptorSets"));
    ++t.used;
    return QGPU_OK;
}

void VulkanDevice::reset_transient_sets() {
    // destroy rather than reset: the loader's table has no vkResetDescriptorPool (vk_loader.h)
    for (TransientPool& t : transient_pools_) api_.vkDestroyDescriptorPool(device_, t.pool, nullptr);
    transient_pools_.clear();
    transient_current_ = 0;
}

Status VulkanDevice::run_dispatches(const std::vector<Dispatch>& dispatches) {
    QGPU_TRY(check_validation());
    std::vector<const Pipeline*> pipelines(dispatches.size());
    std::vector<VkDescriptorSet> sets(dispatches.size());
    for (size_t k = 0; k < dispatches.size(); ++k) {
        const Dispatch& d = dispatches[k];
        Status st = pipeline(d.shader, &pipelines[k]);
        if (st == QGPU_OK) st = allocate_transient_set(pipelines[k], &sets[k]);
        if (st != QGPU_OK) {
            if (batching_) batch_failed_ = true;
            return st;
        }
        VkDescriptorBufferInfo infos[4];
        VkWriteDescriptorSet writes[4]{};
        for (uint32_t i = 0; i < 4; ++i) {
            infos[i] = {d.buffers[i] ? d.buffers[i] : d.buffers[0], 0, VK_WHOLE_SIZE};
            writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
            writes[i].dstSet = sets[k];
            writes[i].dstBinding = i;
            writes[i].descriptorCount = 1;
            writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            writes[i].pBufferInfo = &infos[i];
        }
        api_.vkUpdateDescriptorSets(device_, 4, writes, 0, nullptr);
    }
    return submit([&](VkCommandBuffer cb) {
        for (size_t k = 0; k < dispatches.size(); ++k) {
            const Dispatch& d = dispatches[k];
            if (k) record_run_barrier(api_, cb);
            api_.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipelines[k]->pipeline);
            api_.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipelines[k]->layout, 0, 1, &sets[k], 0,
                                         nullptr);
            api_.vkCmdPushConstants(cb, pipelines[k]->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes, d.push);
            api_.vkCmdDispatch(cb, d.groups[0], d.groups[1], d.groups[2]);
        }
    });
}

Status VulkanDevice::pipeline(Shader shader, const Pipeline** out) {
    Pipeline& p = pipelines_[int(shader)];
    if (p.pipeline) { *out = &p; return QGPU_OK; }
    const uint32_t* code = nullptr;
    size_t words = 0;
    switch (shader) {
        case Shader::Int8Dense:
            code = use_dot_ ? spirv_conv_int8_dense_dot : spirv_conv_int8_dense_nodot;
            words = use_dot_ ? spirv_conv_int8_dense_dot_words : spirv_conv_int8_dense_nodot_words;
            break;
        case Shader::Int8Generic:
            code = use_dot_ ? spirv_conv_int8_generic_dot : spirv_conv_int8_generic_nodot;
            words = use_dot_ ? spirv_conv_int8_generic_dot_words : spirv_conv_int8_generic_nodot_words;
            break;
        case Shader::Int8Depthwise:
            code = use_dot_ ? spirv_conv_int8_dw_dot : spirv_conv_int8_dw_nodot;
            words = use_dot_ ? spirv_conv_int8_dw_dot_words : spirv_conv_int8_dw_nodot_words;
            break;
        case Shader::Int8Tiled:
            code = use_dot_ ? spirv_conv_int8_tiled_dot : spirv_conv_int8_tiled_nodot;
            words = use_dot_ ? spirv_conv_int8_tiled_dot_words : spirv_conv_int8_tiled_nodot_words;
            break;
        case Shader::Int8Lanes:
            code = use_dot_ ? spirv_conv_int8_lanes_dot : spirv_conv_int8_lanes_nodot;
            words = use_dot_ ? spirv_conv_int8_lanes_dot_words : spirv_conv_int8_lanes_nodot_words;
            break;
        case Shader::Float32Lanes: code = spirv_conv_f32_lanes; words = spirv_conv_f32_lanes_words; break;
        case Shader::Float32Lanes16: code = spirv_conv_f32_lanes16; words = spirv_conv_f32_lanes16_words; break;
        case Shader::Float32Tiled: code = spirv_conv_f32_tiled; words = spirv_conv_f32_tiled_words; break;
        case Shader::OpPool: code = spirv_op_pool; words = spirv_op_pool_words; break;
        case Shader::OpConcat: code = spirv_op_concat; words = spirv_op_concat_words; break;
        case Shader::OpSoftmax: code = spirv_op_softmax; words = spirv_op_softmax_words; break;
        case Shader::OpPointwise: code = spirv_op_pointwise; words = spirv_op_pointwise_words; break;
        default:
            code = spirv_conv_f32;
            words = spirv_conv_f32_words;
            break;
    }
    VkDescriptorSetLayoutBinding bindings[4]{};
    for (uint32_t i = 0; i < 4; ++i) {
        bindings[i].binding = i;
        bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        bindings[i].descriptorCount = 1;
        bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
    }
    VkDescriptorSetLayoutCreateInfo dl{};
    dl.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
    dl.bindingCount = 4;
    dl.pBindings = bindings;
    QGPU_TRY(check(api_.vkCreateDescriptorSetLayout(device_, &dl, nullptr, &p.set_layout),
                   "vkCreateDescriptorSetLayout"));
    VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes};
    VkPipelineLayoutCreateInfo pl{};
    pl.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
    pl.setLayoutCount = 1;
    pl.pSetLayouts = &p.set_layout;
    pl.pushConstantRangeCount = 1;
    pl.pPushConstantRanges = &range;
    QGPU_TRY(check(api_.vkCreatePipelineLayout(device_, &pl, nullptr, &p.layout), "vkCreatePipelineLayout"));
    VkShaderModuleCreateInfo sm{};
    sm.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
    sm.codeSize = words * sizeof(uint32_t);
    sm.pCode = code;
    VkShaderModule module = VK_NULL_HANDLE;
    QGPU_TRY(check(api_.vkCreateShaderModule(device_, &sm, nullptr, &module), "vkCreateShaderModule"));
    VkComputePipelineCreateInfo cp{};
    cp.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    cp.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    cp.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    cp.stage.module = module;
    cp.stage.pName = "main";
    cp.layout = p.layout;
    const VkResult r = api_.vkCreateComputePipelines(device_, pipeline_cache_, 1, &cp, nullptr, &p.pipeline);
    api_.vkDestroyShaderModule(device_, module, nullptr);
    if (r != VK_SUCCESS) p.pipeline = VK_NULL_HANDLE;
    QGPU_TRY(check(r, "vkCreateComputePipelines"));
    save_pipeline_cache();
    *out = &p;
    return check_validation();
}

void VulkanDevice::save_pipeline_cache() {
    // best effort: a cache that cannot be written costs compile time, never correctness
    if (cache_path_.empty()) return;
    size_t size = 0;
    if (api_.vkGetPipelineCacheData(device_, pipeline_cache_, &size, nullptr) != VK_SUCCESS || size == 0) return;
    std::vector<char> data(size);
    if (api_.vkGetPipelineCacheData(device_, pipeline_cache_, &size, data.data()) != VK_SUCCESS) return;
    const std::string tmp = cache_path_ + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) return;
        f.write(data.data(), std::streamsize(size));
        if (!f) return;
    }
    std::rename(tmp.c_str(), cache_path_.c_str());
}

namespace {

// The conv kernels (vk_conv.cpp) keep one descriptor set each and update it at every run. In a
// batch, updating a set that the recording command buffer already binds would invalidate that
// command buffer, so a conv run a second time in the same recording first has the batch
// flushed (executed so far). Nets run each conv once per batch and never pay this.
class BatchSafeConv final : public ConvKernel {
public:
    BatchSafeConv(VulkanDevice* dev, std::unique_ptr<ConvKernel> inner) : dev_(dev), inner_(std::move(inner)) {}
    Status run(const TensorRef& input, const TensorRef& output) override {
        if (dev_->batch_recording() && dev_->recording_epoch() == last_epoch_) QGPU_TRY(dev_->flush_batch());
        const Status st = inner_->run(input, output);
        last_epoch_ = dev_->recording_epoch();
        return st;
    }

private:
    VulkanDevice* dev_;
    std::unique_ptr<ConvKernel> inner_;
    uint64_t last_epoch_ = 0;
};

}  // namespace

Status VulkanDevice::create_conv(const ConvPlan& plan, std::unique_ptr<ConvKernel>* out) {
    QGPU_TRY(check_validation());
    std::unique_ptr<ConvKernel> conv;
    if (plan.precision == QGPU_PRECISION_FLOAT32) QGPU_TRY(create_f32_conv(this, plan, &conv));
    else QGPU_TRY(create_int8_conv(this, plan, &conv));
    out->reset(new BatchSafeConv(this, std::move(conv)));
    return QGPU_OK;
}

Status VulkanDevice::create_op(const OpPlan& plan, std::unique_ptr<OpKernel>* out) {
    QGPU_TRY(check_validation());
    return create_vulkan_op(this, plan, out);
}

// ---- VulkanBuffer -------------------------------------------------------------------------

Status VulkanBuffer::init() {
    alloc_size_ = (VkDeviceSize(size_ ? size_ : 4) + 3) & ~VkDeviceSize(3);
    const VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                     VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkMemoryPropertyFlags got = 0;
    QGPU_TRY(device_->allocate(alloc_size_, usage, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, &buffer_, &memory_, &got));
    if (device_->host_visible_device_memory() && (got & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
        QGPU_TRY(check(device_->api().vkMapMemory(device_->device(), memory_, 0, VK_WHOLE_SIZE, 0, &direct_map_),
                       "vkMapMemory"));
        direct_coherent_ = (got & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
    }
    return QGPU_OK;
}

VulkanBuffer::~VulkanBuffer() {
    const Api& api = device_->api();
    VkDevice dev = device_->device();
    if (staging_) api.vkDestroyBuffer(dev, staging_, nullptr);
    if (staging_memory_) api.vkFreeMemory(dev, staging_memory_, nullptr);  // unmaps too
    if (buffer_) api.vkDestroyBuffer(dev, buffer_, nullptr);
    if (memory_) api.vkFreeMemory(dev, memory_, nullptr);
}

Status VulkanBuffer::ensure_staging() {
    if (staging_) return QGPU_OK;
    VkMemoryPropertyFlags got = 0;
    QGPU_TRY(device_->allocate(alloc_size_, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                               VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT,
                               VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, &staging_,
                               &staging_memory_, &got));
    staging_coherent_ = (got & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != 0;
    return check(device_->api().vkMapMemory(device_->device(), staging_memory_, 0, VK_WHOLE_SIZE, 0, &staging_map_),
                 "vkMapMemory");
}

Status VulkanBuffer::write(const std::function<void(void*)>& fill) {
    QGPU_TRY(device_->check_validation());
    if (device_->in_batch())  // the recorded runs have not executed yet (backend.h: never happens)
        return fail(QGPU_ERROR_INTERNAL, "vulkan: a buffer write inside a batch");
    const Api& api = device_->api();
    VkMappedMemoryRange range{};
    range.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
    range.size = VK_WHOLE_SIZE;
    if (direct_map_) {
        // earlier GPU work on this buffer is complete (every submission is waited for)
        fill(direct_map_);
        range.memory = memory_;
        if (!direct_coherent_) QGPU_TRY(check(api.vkFlushMappedMemoryRanges(device_->device(), 1, &range),
                                              "vkFlushMappedMemoryRanges"));
        return device_->check_validation();
    }
    QGPU_TRY(ensure_staging());
    fill(staging_map_);
    range.memory = staging_memory_;
    if (!staging_coherent_)
        QGPU_TRY(check(api.vkFlushMappedMemoryRanges(device_->device(), 1, &range), "vkFlushMappedMemoryRanges"));
    return device_->submit([&](VkCommandBuffer cb) {
        VkBufferCopy copy{0, 0, alloc_size_};
        api.vkCmdCopyBuffer(cb, staging_, buffer_, 1, &copy);
    });
}

Status VulkanBuffer::read(const std::function<void(const void*)>& consume) {
    QGPU_TRY(device_->check_validation());
    if (device_->in_batch()) return fail(QGPU_ERROR_INTERNAL, "vulkan: a buffer read inside a batch");
    const Api& api = device_->api();
    VkMappedMemoryRange range{};
    range.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE;
    range.size = VK_WHOLE_SIZE;
    if (direct_map_) {
        range.memory = memory_;
        if (!direct_coherent_) QGPU_TRY(check(api.vkInvalidateMappedMemoryRanges(device_->device(), 1, &range),
                                              "vkInvalidateMappedMemoryRanges"));
        consume(direct_map_);
        return QGPU_OK;
    }
    QGPU_TRY(ensure_staging());
    QGPU_TRY(device_->submit([&](VkCommandBuffer cb) {
        VkBufferCopy copy{0, 0, alloc_size_};
        api.vkCmdCopyBuffer(cb, buffer_, staging_, 1, &copy);
    }));
    range.memory = staging_memory_;
    if (!staging_coherent_)
        QGPU_TRY(check(api.vkInvalidateMappedMemoryRanges(device_->device(), 1, &range),
                       "vkInvalidateMappedMemoryRanges"));
    consume(staging_map_);
    return QGPU_OK;
}

}  // namespace vulkan

const BackendDriver& vulkan_backend_driver() {
    static const BackendDriver driver{QGPU_BACKEND_VULKAN, "vulkan", vulkan::list_devices, vulkan::open};
    return driver;
}

}  // namespace qgpu
