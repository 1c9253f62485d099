#include <cstring>

#include "core/backend.h"
#include "core/layout.h"

namespace qgpu {

size_t TensorDesc::bytes() const {
    if (dtype == QGPU_DTYPE_INT8)
        return size_t(n) * size_t(h) * size_t(w) * size_t(round_up4(c));
    return count() * sizeof(float);
}

const char* op_kind_name(OpKind kind) {
    switch (kind) {
        case OpKind::MaxPool: return "max pooling";
        case OpKind::AvgPool: return "average pooling";
        case OpKind::Concat: return "concat";
        case OpKind::Softmax: return "softmax";
        case OpKind::Relu: return "relu";
        case OpKind::Quantize: return "quantize";
        case OpKind::Dequantize: return "dequantize";
        case OpKind::Add: return "add";
    }
    return "?";
}

Status Device::create_op(const OpPlan& plan, std::unique_ptr<OpKernel>*) {
    return failf(QGPU_ERROR_UNSUPPORTED, "the %s backend has no %s kernel yet",
                 info().backend == QGPU_BACKEND_VULKAN ? "vulkan"
                 : info().backend == QGPU_BACKEND_OPENCL ? "opencl" : "cpu",
                 op_kind_name(plan.kind));
}

void init_device_info(qgpu_device_info* info, qgpu_backend backend, int32_t index) {
    std::memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    info->backend = backend;
    info->index = index;
}

const BackendDriver* find_backend_driver(qgpu_backend backend) {
    switch (backend) {
        case QGPU_BACKEND_CPU: return &cpu_backend_driver();
        case QGPU_BACKEND_VULKAN:
#ifdef QGPU_WITH_VULKAN
            return &vulkan_backend_driver();
#else
            fail(QGPU_ERROR_UNAVAILABLE, "vulkan: this libqgpu was built without the Vulkan backend");
            return nullptr;
#endif
        case QGPU_BACKEND_OPENCL:
#ifdef QGPU_WITH_OPENCL
            return &opencl_backend_driver();
#else
            fail(QGPU_ERROR_UNAVAILABLE, "opencl: this libqgpu was built without the OpenCL backend");
            return nullptr;
#endif
        default:
            failf(QGPU_ERROR_INVALID_ARGUMENT, "unknown backend %d", int(backend));
            return nullptr;
    }
}

}  // namespace qgpu
