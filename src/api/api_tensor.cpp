// Tensors: creation, shape queries, and host <-> device transfers through the host passes.
#include <cmath>
#include <cstring>

#include "api/objects.h"
#include "core/host_pass.h"
#include "core/layout.h"

using namespace qgpu;

namespace qgpu {

Status check_tensor(const qgpu_tensor_t* t, const char* what) {
    if (!t) return failf(QGPU_ERROR_INVALID_ARGUMENT, "%s tensor is NULL", what);
    if (t->magic != kTensorMagic)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "%s tensor handle is invalid or destroyed", what);
    return QGPU_OK;
}

Status create_tensor(const std::shared_ptr<Device>& device, const TensorDesc& desc,
                     qgpu_tensor_t** out) {
    std::unique_ptr<Buffer> buffer;
    QGPU_TRY(device->create_buffer(desc.bytes(), &buffer));
    auto t = std::make_unique<qgpu_tensor_t>();
    t->device = device;
    t->desc = desc;
    t->buffer = std::move(buffer);
    // defined initial contents: 0.0f, or the zero point in every int8 byte (padding included)
    const size_t bytes = desc.bytes();
    QGPU_TRY(t->buffer->write([&](void* dst) {
        std::memset(dst, desc.dtype == QGPU_DTYPE_INT8 ? desc.quant.zero_point : 0, bytes);
    }));
    *out = t.release();
    return QGPU_OK;
}

void destroy_tensor(qgpu_tensor_t* t) {
    if (!t || t->magic != kTensorMagic) return;
    t->magic = kDeadMagic;
    delete t;
}

}  // namespace qgpu

namespace {

Status check_dims(int32_t n, int32_t c, int32_t h, int32_t w) {
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "tensor dims must be > 0 (got n=%d c=%d h=%d w=%d)", n, c, h, w);
    // n * h * w * round_up4(c) * 4 bytes must fit size_t (and be addressable)
    size_t total = 1;
    for (size_t dim : {size_t(n), (size_t(c) + 3) & ~size_t(3), size_t(h), size_t(w), sizeof(float)}) {
        if (__builtin_mul_overflow(total, dim, &total) || total > (size_t(1) << 48))
            return failf(QGPU_ERROR_INVALID_ARGUMENT,
                         "tensor n=%d c=%d h=%d w=%d is too large (byte size overflows)", n, c, h, w);
    }
    return QGPU_OK;
}

Status check_count(const qgpu_tensor_t* t, const void* data, size_t count) {
    if (!data) return fail(QGPU_ERROR_INVALID_ARGUMENT, "data is NULL");
    if (count != t->desc.count())
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "count %zu does not match the tensor's n*c*h*w = %zu", count, t->desc.count());
    return QGPU_OK;
}

// The host passes run on the threads of the tensor's context (Device::host_parallel_for).
HostParallelFor context_threads(Device* device) {
    return [device](int64_t count, const std::function<void(int64_t)>& task) {
        device->host_parallel_for(count, task);
    };
}

Status check_int8(const qgpu_tensor_t* t) {
    if (t->desc.dtype != QGPU_DTYPE_INT8)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "raw int8 access needs an int8 tensor");
    return QGPU_OK;
}

}  // namespace

extern "C" {

qgpu_status qgpu_tensor_create(qgpu_context ctx, qgpu_dtype dtype, int32_t n, int32_t c,
                               int32_t h, int32_t w, const qgpu_quant* quant, qgpu_tensor* out) {
    return guarded([&] {
        if (!out) return fail(QGPU_ERROR_INVALID_ARGUMENT, "out is NULL");
        *out = nullptr;
        QGPU_TRY(check_context(ctx));
        if (dtype != QGPU_DTYPE_FLOAT32 && dtype != QGPU_DTYPE_INT8)
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "unknown dtype %d", int(dtype));
        QGPU_TRY(check_dims(n, c, h, w));
        TensorDesc desc;
        desc.dtype = dtype;
        desc.n = n; desc.c = c; desc.h = h; desc.w = w;
        if (dtype == QGPU_DTYPE_INT8) {
            if (!quant) return fail(QGPU_ERROR_INVALID_ARGUMENT, "an int8 tensor needs its quant");
            if (!(quant->scale > 0.0f) || !std::isfinite(quant->scale))
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "scale must be finite and > 0 (got %g)",
                             double(quant->scale));
            if (quant->zero_point < -128 || quant->zero_point > 127)
                return failf(QGPU_ERROR_INVALID_ARGUMENT,
                             "zero point must be in [-128, 127] (got %d)", quant->zero_point);
            desc.quant = *quant;
        }
        return create_tensor(ctx->device, desc, out);
    });
}

void qgpu_tensor_destroy(qgpu_tensor tensor) { destroy_tensor(tensor); }

qgpu_status qgpu_tensor_get_shape(qgpu_tensor t, int32_t shape[4]) {
    QGPU_TRY(check_tensor(t, "the"));
    if (!shape) return fail(QGPU_ERROR_INVALID_ARGUMENT, "shape is NULL");
    shape[0] = t->desc.n; shape[1] = t->desc.c; shape[2] = t->desc.h; shape[3] = t->desc.w;
    return QGPU_OK;
}

qgpu_status qgpu_tensor_get_dtype(qgpu_tensor t, qgpu_dtype* dtype) {
    QGPU_TRY(check_tensor(t, "the"));
    if (!dtype) return fail(QGPU_ERROR_INVALID_ARGUMENT, "dtype is NULL");
    *dtype = t->desc.dtype;
    return QGPU_OK;
}

qgpu_status qgpu_tensor_get_quant(qgpu_tensor t, qgpu_quant* quant) {
    QGPU_TRY(check_tensor(t, "the"));
    if (!quant) return fail(QGPU_ERROR_INVALID_ARGUMENT, "quant is NULL");
    if (t->desc.dtype != QGPU_DTYPE_INT8)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "a float tensor has no quantization");
    *quant = t->desc.quant;
    return QGPU_OK;
}

qgpu_status qgpu_tensor_get_count(qgpu_tensor t, size_t* count) {
    QGPU_TRY(check_tensor(t, "the"));
    if (!count) return fail(QGPU_ERROR_INVALID_ARGUMENT, "count is NULL");
    *count = t->desc.count();
    return QGPU_OK;
}

qgpu_status qgpu_tensor_write_f32(qgpu_tensor t, const float* data, size_t count) {
    return guarded([&] {
        QGPU_TRY(check_tensor(t, "the"));
        QGPU_TRY(check_count(t, data, count));
        const TensorDesc& d = t->desc;
        if (d.dtype == QGPU_DTYPE_INT8)
            return t->buffer->write(
                [&](void* dst) { quantize_pack_nhwc4(d, data, static_cast<int8_t*>(dst), context_threads(t->device.get())); });
        return t->buffer->write([&](void* dst) { std::memcpy(dst, data, d.bytes()); });
    });
}

qgpu_status qgpu_tensor_read_f32(qgpu_tensor t, float* data, size_t count) {
    return guarded([&] {
        QGPU_TRY(check_tensor(t, "the"));
        QGPU_TRY(check_count(t, data, count));
        const TensorDesc& d = t->desc;
        if (d.dtype == QGPU_DTYPE_INT8)
            return t->buffer->read([&](const void* src) {
                dequantize_unpack_nhwc4(d, static_cast<const int8_t*>(src), data, context_threads(t->device.get()));
            });
        return t->buffer->read([&](const void* src) { std::memcpy(data, src, d.bytes()); });
    });
}

qgpu_status qgpu_tensor_write_i8(qgpu_tensor t, const int8_t* data, size_t count) {
    return guarded([&] {
        QGPU_TRY(check_tensor(t, "the"));
        QGPU_TRY(check_int8(t));
        QGPU_TRY(check_count(t, data, count));
        return t->buffer->write(
            [&](void* dst) { pack_nhwc4(t->desc, data, static_cast<int8_t*>(dst)); });
    });
}

qgpu_status qgpu_tensor_read_i8(qgpu_tensor t, int8_t* data, size_t count) {
    return guarded([&] {
        QGPU_TRY(check_tensor(t, "the"));
        QGPU_TRY(check_int8(t));
        QGPU_TRY(check_count(t, data, count));
        return t->buffer->read(
            [&](const void* src) { unpack_nhwc4(t->desc, static_cast<const int8_t*>(src), data); });
    });
}

}  // extern "C"
