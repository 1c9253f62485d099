// Devices and contexts.
#include <cstring>

#include "api/objects.h"

using namespace qgpu;

namespace qgpu {

Status check_context(const qgpu_context_t* ctx) {
    if (!ctx) return fail(QGPU_ERROR_INVALID_ARGUMENT, "context is NULL");
    if (ctx->magic != kContextMagic)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "context handle is invalid or destroyed");
    return QGPU_OK;
}

}  // namespace qgpu

namespace {

// Copies `src` into the caller's struct, no more than the caller's struct_size allows.
Status copy_device_info(const qgpu_device_info& src, qgpu_device_info* dst) {
    if (!dst) return fail(QGPU_ERROR_INVALID_ARGUMENT, "info is NULL");
    const uint32_t size = dst->struct_size;
    if (size < offsetof(qgpu_device_info, name))
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "qgpu_device_info.struct_size is %u: call qgpu_device_info_init()", size);
    std::memcpy(dst, &src, std::min<size_t>(size, sizeof src));
    dst->struct_size = size;
    return QGPU_OK;
}

Status list_devices(qgpu_backend backend, std::vector<qgpu_device_info>* devices) {
    if (backend == QGPU_BACKEND_AUTO)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "name a backend; AUTO lists no devices");
    const BackendDriver* driver = find_backend_driver(backend);
    if (!driver) return backend == QGPU_BACKEND_VULKAN || backend == QGPU_BACKEND_OPENCL
                            ? QGPU_ERROR_UNAVAILABLE : QGPU_ERROR_INVALID_ARGUMENT;
    return driver->list_devices(devices);
}

bool is_real_gpu(const qgpu_device_info& d) {
    return d.type == QGPU_DEVICE_TYPE_DISCRETE_GPU || d.type == QGPU_DEVICE_TYPE_INTEGRATED_GPU ||
           d.type == QGPU_DEVICE_TYPE_VIRTUAL_GPU;
}

// AUTO: a discrete GPU first, then any other real GPU (Vulkan before OpenCL), else the CPU.
// Software GPU devices (lavapipe, PoCL) never win over the native CPU backend.
Status open_auto(const qgpu_context_desc& desc, std::unique_ptr<Device>* out) {
    for (qgpu_device_type wanted : {QGPU_DEVICE_TYPE_DISCRETE_GPU, QGPU_DEVICE_TYPE_OTHER}) {
        for (qgpu_backend b : {QGPU_BACKEND_VULKAN, QGPU_BACKEND_OPENCL}) {
            std::vector<qgpu_device_info> devices;
            if (list_devices(b, &devices) != QGPU_OK) continue;
            const BackendDriver* driver = find_backend_driver(b);
            for (const qgpu_device_info& d : devices) {
                if (!is_real_gpu(d)) continue;
                if (wanted == QGPU_DEVICE_TYPE_DISCRETE_GPU && d.type != wanted) continue;
                if (driver->open(d.index, desc, out) == QGPU_OK) return QGPU_OK;
            }
        }
    }
    return cpu_backend_driver().open(desc.device_index, desc, out);
}

}  // namespace

extern "C" {

void qgpu_device_info_init(qgpu_device_info* info) {
    if (!info) return;
    std::memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
}

qgpu_status qgpu_device_count(qgpu_backend backend, int32_t* count) {
    return guarded([&] {
        if (!count) return fail(QGPU_ERROR_INVALID_ARGUMENT, "count is NULL");
        *count = 0;
        std::vector<qgpu_device_info> devices;
        QGPU_TRY(list_devices(backend, &devices));
        *count = int32_t(devices.size());
        return QGPU_OK;
    });
}

qgpu_status qgpu_device_get_info(qgpu_backend backend, int32_t index, qgpu_device_info* info) {
    return guarded([&] {
        if (!info) return fail(QGPU_ERROR_INVALID_ARGUMENT, "info is NULL");
        std::vector<qgpu_device_info> devices;
        QGPU_TRY(list_devices(backend, &devices));
        if (index < 0 || size_t(index) >= devices.size())
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "device index %d out of range (%zu devices)",
                         index, devices.size());
        return copy_device_info(devices[size_t(index)], info);
    });
}

void qgpu_context_desc_init(qgpu_context_desc* desc) {
    if (!desc) return;
    std::memset(desc, 0, sizeof *desc);
    desc->struct_size = sizeof *desc;
    desc->backend = QGPU_BACKEND_AUTO;
}

qgpu_status qgpu_context_create(const qgpu_context_desc* desc_in, qgpu_context* out) {
    return guarded([&] {
        if (!out) return fail(QGPU_ERROR_INVALID_ARGUMENT, "out is NULL");
        *out = nullptr;
        qgpu_context_desc desc;
        qgpu_context_desc_init(&desc);
        if (desc_in) {
            if (desc_in->struct_size < offsetof(qgpu_context_desc, cache_dir) ||
                desc_in->struct_size > sizeof desc)
                return failf(QGPU_ERROR_INVALID_ARGUMENT,
                             "qgpu_context_desc.struct_size is %u: call qgpu_context_desc_init()",
                             desc_in->struct_size);
            std::memcpy(&desc, desc_in, desc_in->struct_size);
        }
        if (desc.num_threads < 0)
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "num_threads must be >= 0 (got %d)",
                         desc.num_threads);
        if (desc.device_index < 0)
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "device_index must be >= 0 (got %d)",
                         desc.device_index);
        std::unique_ptr<Device> device;
        if (desc.backend == QGPU_BACKEND_AUTO) {
            QGPU_TRY(open_auto(desc, &device));
        } else {
            const BackendDriver* driver = find_backend_driver(desc.backend);
            if (!driver) return desc.backend == QGPU_BACKEND_VULKAN || desc.backend == QGPU_BACKEND_OPENCL
                                    ? QGPU_ERROR_UNAVAILABLE : QGPU_ERROR_INVALID_ARGUMENT;
            QGPU_TRY(driver->open(desc.device_index, desc, &device));
        }
        auto ctx = std::make_unique<qgpu_context_t>();
        ctx->device = std::move(device);
        *out = ctx.release();
        return QGPU_OK;
    });
}

void qgpu_context_destroy(qgpu_context ctx) {
    if (!ctx || ctx->magic != kContextMagic) return;
    ctx->magic = kDeadMagic;
    delete ctx;
}

qgpu_status qgpu_context_get_device_info(qgpu_context ctx, qgpu_device_info* info) {
    return guarded([&] {
        QGPU_TRY(check_context(ctx));
        return copy_device_info(ctx->device->info(), info);
    });
}

const char* qgpu_context_kernel_variant(qgpu_context ctx) {
    if (check_context(ctx) != QGPU_OK) return "";
    return ctx->device->kernel_variant();
}

qgpu_status qgpu_context_set_num_threads(qgpu_context ctx, int32_t num_threads) {
    return guarded([&] {
        QGPU_TRY(check_context(ctx));
        if (num_threads < 0)
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "num_threads must be >= 0 (got %d)",
                         num_threads);
        return ctx->device->set_num_threads(num_threads);
    });
}

}  // extern "C"
