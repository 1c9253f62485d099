// The structs behind the C API's opaque handles. Children (tensors, convs) share ownership of
// their context's Device, so destroying a context early never leaves them dangling.
#pragma once
#include <memory>
#include <new>
#include <string>

#include "core/backend.h"

namespace qgpu {
constexpr uint32_t kContextMagic = 0x51435458;  // "QCTX"
constexpr uint32_t kTensorMagic = 0x5154454e;   // "QTEN"
constexpr uint32_t kConvMagic = 0x51434f4e;     // "QCON"
constexpr uint32_t kDeadMagic = 0xdeadbeef;

// Runs `body` and turns escaping C++ exceptions into status codes: nothing crosses the C ABI.
template <typename Body>
Status guarded(Body body) {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return fail(QGPU_ERROR_OUT_OF_MEMORY, "out of host memory");
    } catch (const std::exception& e) {
        return fail(QGPU_ERROR_INTERNAL, std::string("internal error: ") + e.what());
    } catch (...) {
        return fail(QGPU_ERROR_INTERNAL, "internal error: unknown exception");
    }
}
}  // namespace qgpu

struct qgpu_context_t {
    uint32_t magic = qgpu::kContextMagic;
    std::shared_ptr<qgpu::Device> device;
};

struct qgpu_tensor_t {
    uint32_t magic = qgpu::kTensorMagic;
    std::shared_ptr<qgpu::Device> device;
    qgpu::TensorDesc desc;
    std::unique_ptr<qgpu::Buffer> buffer;
};

struct qgpu_conv_t {
    uint32_t magic = qgpu::kConvMagic;
    std::shared_ptr<qgpu::Device> device;
    qgpu::ConvShape shape;
    qgpu_precision precision;
    qgpu_quant input_quant, output_quant;
    qgpu_dtype output_dtype;
    std::vector<float> weight_scales;
    std::unique_ptr<qgpu::ConvKernel> kernel;
    // run_host's device tensors, kept between calls with the same batch size
    struct HostScratch {
        int32_t n = 0;
        qgpu_tensor_t* input = nullptr;
        qgpu_tensor_t* output = nullptr;
    } scratch;
};

namespace qgpu {
// Handle checks: null or destroyed handles are INVALID_ARGUMENT with a message.
Status check_context(const qgpu_context_t* ctx);
Status check_tensor(const qgpu_tensor_t* t, const char* what);
Status check_conv(const qgpu_conv_t* conv);
// Creates a tensor on `device` (shared by qgpu_tensor_create and run_host's scratch).
Status create_tensor(const std::shared_ptr<Device>& device, const TensorDesc& desc,
                     qgpu_tensor_t** out);
void destroy_tensor(qgpu_tensor_t* t);
}  // namespace qgpu
