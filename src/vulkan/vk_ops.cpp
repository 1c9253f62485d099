// Vulkan network layers (OpKind in core/backend.h): the semantics of
// src/cpu/reference/ops_reference.cpp as compute shaders (shaders/op_*.comp). Int8 tensors are
// NHWC4, float tensors NCHW (core/layout.h); every shader reads and writes 32-bit words.
// Shapes are fixed at creation: run() accepts exactly the plan's tensors.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/layout.h"
#include "vulkan/vk_device.h"

namespace qgpu {
namespace vulkan {
namespace {

constexpr int64_t kLocalSize = 64;               // local_size_x of every op shader
constexpr int64_t kMaxIndex = int64_t(1) << 31;  // shaders index with int32

// Shader modes (the `mode` push constant).
enum PoolMode { kPoolInt8Max = 0, kPoolFloatMax = 1, kPoolFloatAvg = 2 };
enum ConcatMode { kConcatInt8 = 0, kConcatFloat = 1 };
enum PointwiseMode { kReluInt8 = 0, kReluFloat = 1, kAddFloat = 2, kQuantize = 3, kDequantize = 4 };

bool is_int8(const TensorDesc& d) { return d.dtype == QGPU_DTYPE_INT8; }
bool is_float(const TensorDesc& d) { return d.dtype == QGPU_DTYPE_FLOAT32; }
bool same_shape(const TensorDesc& a, const TensorDesc& b) {
    return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w;
}
bool same_quant(const TensorDesc& a, const TensorDesc& b) {
    return a.quant.scale == b.quant.scale && a.quant.zero_point == b.quant.zero_point;
}
int32_t words_per_pixel(const TensorDesc& d) { return round_up4(d.c) / 4; }
int32_t plane(const TensorDesc& d) { return d.h * d.w; }

// A tensor the shaders can index: positive dims, a known dtype, < 2^31 words and elements.
Status check_tensor(const TensorDesc& d, const char* kind, const char* what) {
    if (d.n <= 0 || d.c <= 0 || d.h <= 0 || d.w <= 0)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: %s shape %dx%dx%dx%d is not positive", kind, what, d.n,
                     d.c, d.h, d.w);
    if (!is_int8(d) && !is_float(d))
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: %s has an unknown dtype %d", kind, what, int(d.dtype));
    if (is_int8(d) && (!(d.quant.scale > 0.0f) || !std::isfinite(d.quant.scale) || d.quant.zero_point < -128 ||
                       d.quant.zero_point > 127))
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: %s has a bad quantization (scale %g, zero point %d)",
                     kind, what, double(d.quant.scale), d.quant.zero_point);
    const int64_t elems = int64_t(d.n) * (is_int8(d) ? round_up4(d.c) : d.c) * int64_t(d.h) * d.w;
    if (elems >= kMaxIndex)
        return failf(QGPU_ERROR_UNSUPPORTED, "vulkan %s: tensors of 2^31 elements or more are not supported", kind);
    return QGPU_OK;
}

Status check_plan(const OpPlan& p) {
    const char* kind = op_kind_name(p.kind);
    const size_t want_inputs = p.kind == OpKind::Add ? 2 : 1;
    if (p.kind == OpKind::Concat ? p.inputs.empty() : p.inputs.size() != want_inputs)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: %zu inputs", kind, p.inputs.size());
    QGPU_TRY(check_tensor(p.output, kind, "the output"));
    for (const TensorDesc& d : p.inputs) QGPU_TRY(check_tensor(d, kind, "an input"));
    const TensorDesc& i = p.inputs[0];
    const TensorDesc& o = p.output;
    switch (p.kind) {
        case OpKind::MaxPool:
        case OpKind::AvgPool: {
            const PoolParams& q = p.pool;
            if (q.kernel_h < 1 || q.kernel_w < 1 || q.stride_h < 1 || q.stride_w < 1 || q.pad_top < 0 ||
                q.pad_left < 0 || q.pad_bottom < 0 || q.pad_right < 0)
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: bad pooling parameters", kind);
            if (p.kind == OpKind::AvgPool ? !is_float(i) : false)
                return failf(QGPU_ERROR_UNSUPPORTED, "vulkan %s: float tensors only", kind);
            if (i.dtype != o.dtype || (is_int8(i) && !same_quant(i, o)))
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: input and output differ in dtype or quantization",
                             kind);
            const int64_t span_h = int64_t(i.h) + q.pad_top + q.pad_bottom - q.kernel_h;
            const int64_t span_w = int64_t(i.w) + q.pad_left + q.pad_right - q.kernel_w;
            if (i.n != o.n || i.c != o.c || span_h < 0 || span_w < 0 || span_h / q.stride_h + 1 != o.h ||
                span_w / q.stride_w + 1 != o.w)
                return failf(QGPU_ERROR_INVALID_ARGUMENT,
                             "vulkan %s: output %dx%dx%dx%d does not match input %dx%dx%dx%d pooled", kind, o.n, o.c,
                             o.h, o.w, i.n, i.c, i.h, i.w);
            return QGPU_OK;
        }
        case OpKind::Concat: {
            int64_t channels = 0;
            for (const TensorDesc& d : p.inputs) {
                if (d.dtype != o.dtype || d.n != o.n || d.h != o.h || d.w != o.w || (is_int8(d) && !same_quant(d, o)))
                    return failf(QGPU_ERROR_INVALID_ARGUMENT,
                                 "vulkan %s: every input needs the output's dtype, quantization, n, h and w", kind);
                channels += d.c;
            }
            if (channels != o.c)
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: inputs have %lld channels, the output %d", kind,
                             static_cast<long long>(channels), o.c);
            return QGPU_OK;
        }
        case OpKind::Softmax:
            if (!is_float(i) || !is_float(o) || !same_shape(i, o))
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: float input and output of one shape", kind);
            return QGPU_OK;
        case OpKind::Relu:
            if (i.dtype != o.dtype || !same_shape(i, o) || (is_int8(i) && !same_quant(i, o)))
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: input and output differ", kind);
            if (is_int8(i) && p.relu_slope != 0.0f)
                return failf(QGPU_ERROR_UNSUPPORTED, "vulkan %s: a leaky relu (slope %g) on int8 tensors", kind,
                             double(p.relu_slope));
            return QGPU_OK;
        case OpKind::Quantize:
            if (!is_float(i) || !is_int8(o) || !same_shape(i, o) || !std::isfinite(1.0f / o.quant.scale))
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: float input, int8 output of one shape", kind);
            return QGPU_OK;
        case OpKind::Dequantize:
            if (!is_int8(i) || !is_float(o) || !same_shape(i, o))
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: int8 input, float output of one shape", kind);
            return QGPU_OK;
        case OpKind::Add:
            for (const TensorDesc& d : p.inputs)
                if (!is_float(d) || !same_shape(d, o))
                    return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: float inputs of the output's shape", kind);
            if (!is_float(o)) return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: float output", kind);
            return QGPU_OK;
    }
    return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan: unknown op %d", int(p.kind));
}

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

// `invocations` threads of 64 as (x, 1, z) workgroups (z only past the device's x limit).
Status set_groups(const VulkanDevice& dev, int64_t invocations, Dispatch* d) {
    const int64_t groups = (invocations + kLocalSize - 1) / kLocalSize;
    const int64_t max_x = dev.limits().maxComputeWorkGroupCount[0];
    const int64_t max_z = dev.limits().maxComputeWorkGroupCount[2];
    int64_t z = (groups + max_x - 1) / max_x;
    if (z < 1) z = 1;
    if (z > max_z) return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: the layer needs too many workgroups");
    d->groups[0] = uint32_t(std::max<int64_t>(1, (groups + z - 1) / z));
    d->groups[1] = 1;
    d->groups[2] = uint32_t(z);
    return QGPU_OK;
}

void push4(Dispatch* d, int block, int32_t v0, int32_t v1, int32_t v2, int32_t v3) {
    d->push[4 * block + 0] = uint32_t(v0);
    d->push[4 * block + 1] = uint32_t(v1);
    d->push[4 * block + 2] = uint32_t(v2);
    d->push[4 * block + 3] = uint32_t(v3);
}

class VulkanOp final : public OpKernel {
public:
    VulkanOp(VulkanDevice* dev, const OpPlan& plan) : dev_(dev), plan_(plan) {}

    Status run(const std::vector<TensorRef>& inputs, const TensorRef& output) override {
        const char* kind = op_kind_name(plan_.kind);
        if (inputs.size() != plan_.inputs.size())
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: %zu inputs, the layer was made for %zu", kind,
                         inputs.size(), plan_.inputs.size());
        std::vector<VkBuffer> in(inputs.size());
        for (size_t k = 0; k < inputs.size(); ++k) QGPU_TRY(check_ref(inputs[k], plan_.inputs[k], kind, &in[k]));
        VkBuffer out = VK_NULL_HANDLE;
        QGPU_TRY(check_ref(output, plan_.output, kind, &out));
        std::vector<Dispatch> ds;
        QGPU_TRY(build(in, out, &ds));
        return dev_->run_dispatches(ds);
    }

private:
    static Status check_ref(const TensorRef& r, const TensorDesc& want, const char* kind, VkBuffer* out) {
        const TensorDesc& d = r.desc;
        if (!r.buffer || d.dtype != want.dtype || !same_shape(d, want) ||
            (is_int8(d) && !same_quant(d, want)))
            return failf(QGPU_ERROR_INVALID_ARGUMENT,
                         "vulkan %s: a tensor %dx%dx%dx%d (dtype %d) differs from the layer's %dx%dx%dx%d (dtype %d)",
                         kind, d.n, d.c, d.h, d.w, int(d.dtype), want.n, want.c, want.h, want.w, int(want.dtype));
        const VulkanBuffer* b = static_cast<const VulkanBuffer*>(r.buffer);
        if (b->size() < want.bytes())
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "vulkan %s: a buffer of %llu bytes for a %zu-byte tensor", kind,
                         static_cast<unsigned long long>(b->size()), want.bytes());
        *out = b->handle();
        return QGPU_OK;
    }

    Dispatch make(Shader shader, VkBuffer in, VkBuffer out, VkBuffer in2 = VK_NULL_HANDLE) const {
        Dispatch d;
        d.shader = shader;
        d.buffers[0] = in;
        d.buffers[1] = out;
        d.buffers[2] = in2 ? in2 : in;
        d.buffers[3] = in;
        return d;
    }

    // The dispatches of one run, in order (push-constant layouts: the shaders' headers).
    Status build(const std::vector<VkBuffer>& in, VkBuffer out, std::vector<Dispatch>* ds) const {
        const TensorDesc& i = plan_.inputs[0];
        const TensorDesc& o = plan_.output;
        switch (plan_.kind) {
            case OpKind::MaxPool:
            case OpKind::AvgPool: {
                const PoolParams& q = plan_.pool;
                Dispatch d = make(Shader::OpPool, in[0], out);
                const int32_t mode =
                    is_int8(i) ? kPoolInt8Max : plan_.kind == OpKind::MaxPool ? kPoolFloatMax : kPoolFloatAvg;
                const int64_t total = int64_t(o.n) * o.h * o.w * (is_int8(i) ? words_per_pixel(o) : o.c);
                push4(&d, 0, i.c, i.h, i.w, words_per_pixel(i));
                push4(&d, 1, o.h, o.w, q.kernel_h, q.kernel_w);
                push4(&d, 2, q.stride_h, q.stride_w, q.pad_top, q.pad_left);
                push4(&d, 3, int32_t(total), mode, o.quant.zero_point, 0);
                QGPU_TRY(set_groups(*dev_, total, &d));
                ds->push_back(d);
                return QGPU_OK;
            }
            case OpKind::Concat: {
                int32_t offset = 0;
                const int64_t pixels = int64_t(o.n) * o.h * o.w;
                for (size_t k = 0; k < in.size(); ++k) {
                    const TensorDesc& s = plan_.inputs[k];
                    Dispatch d = make(Shader::OpConcat, in[k], out);
                    int64_t total;
                    if (is_int8(o)) {
                        // the output words this input touches; the last one also fills the padding
                        const int32_t w0 = offset / 4;
                        const int32_t w1 = k + 1 == in.size() ? words_per_pixel(o) : (offset + s.c + 3) / 4;
                        total = pixels * (w1 - w0);
                        push4(&d, 0, s.c, words_per_pixel(s), o.c, words_per_pixel(o));
                        push4(&d, 1, offset, w0, w1 - w0, o.quant.zero_point);
                        push4(&d, 2, int32_t(total), kConcatInt8, 0, 0);
                    } else {
                        total = int64_t(s.n) * s.c * plane(s);
                        push4(&d, 0, s.c, plane(s), o.c, 0);
                        push4(&d, 1, offset, 0, 0, 0);
                        push4(&d, 2, int32_t(total), kConcatFloat, 0, 0);
                    }
                    QGPU_TRY(set_groups(*dev_, total, &d));
                    ds->push_back(d);
                    offset += s.c;
                }
                return QGPU_OK;
            }
            case OpKind::Softmax: {
                Dispatch d = make(Shader::OpSoftmax, in[0], out);
                const int64_t total = int64_t(i.n) * plane(i);
                push4(&d, 0, i.c, plane(i), 0, 0);
                push4(&d, 1, int32_t(total), 0, 0, 0);
                QGPU_TRY(set_groups(*dev_, total, &d));
                ds->push_back(d);
                return QGPU_OK;
            }
            default: break;
        }
        // the pointwise family: a = (c, plane, words per pixel, zero point), e = (total, mode), g.x
        Dispatch d = make(Shader::OpPointwise, in[0], out, plan_.kind == OpKind::Add ? in[1] : VK_NULL_HANDLE);
        int64_t total = 0;
        int32_t mode = 0, zero_point = 0;
        float g = 0.0f;
        switch (plan_.kind) {
            case OpKind::Relu:
                if (is_int8(i)) {
                    mode = kReluInt8;
                    total = int64_t(i.bytes() / 4);
                    zero_point = i.quant.zero_point;
                } else {
                    mode = kReluFloat;
                    total = int64_t(i.count());
                    g = plan_.relu_slope;
                }
                break;
            case OpKind::Add:
                mode = kAddFloat;
                total = int64_t(o.count());
                break;
            case OpKind::Quantize:
                mode = kQuantize;
                total = int64_t(o.bytes() / 4);
                zero_point = o.quant.zero_point;
                g = 1.0f / o.quant.scale;  // the host pass's inv_scale, one float division
                break;
            case OpKind::Dequantize:
                mode = kDequantize;
                total = int64_t(o.count());
                zero_point = i.quant.zero_point;
                g = i.quant.scale;
                break;
            default: return failf(QGPU_ERROR_INTERNAL, "vulkan: op %d has no kernel", int(plan_.kind));
        }
        push4(&d, 0, i.c, plane(i), words_per_pixel(i), zero_point);
        push4(&d, 1, int32_t(total), mode, 0, 0);
        d.push[8] = bits(g);
        QGPU_TRY(set_groups(*dev_, total, &d));
        ds->push_back(d);
        return QGPU_OK;
    }

    VulkanDevice* dev_;
    OpPlan plan_;
};

}  // namespace

Status create_vulkan_op(VulkanDevice* device, const OpPlan& plan, std::unique_ptr<OpKernel>* out) {
    QGPU_TRY(check_plan(plan));
    auto op = std::make_unique<VulkanOp>(device, plan);
    // build the pipeline now so that a device problem shows at load time, not at the first run
    const Pipeline* p = nullptr;
    const Shader shader = plan.kind == OpKind::MaxPool || plan.kind == OpKind::AvgPool ? Shader::OpPool
                          : plan.kind == OpKind::Concat                                ? Shader::OpConcat
                          : plan.kind == OpKind::Softmax                               ? Shader::OpSoftmax
                                                                                       : Shader::OpPointwise;
    QGPU_TRY(device->pipeline(shader, &p));
    *out = std::move(op);
    return QGPU_OK;
}

}  // namespace vulkan
}  // namespace qgpu
