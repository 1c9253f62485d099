// OpenCL network layers (OpKind of core/backend.h) on the kernels of kernels/ops.cl, with the
// semantics of src/cpu/reference/ops_reference.cpp. Plans are validated at creation and the
// tensors of every run against the plan (status + message, never a crash). Runs only enqueue
// inside a batch (Device::begin_batch); outside one they wait, like the convolutions.
#include <algorithm>
#include <cstring>
#include <string>

#include "core/layout.h"
#include "opencl/cl_internal.h"

namespace qgpu {
namespace opencl {
namespace {

const char* dtype_name(qgpu_dtype t) { return t == QGPU_DTYPE_INT8 ? "int8" : "float32"; }

std::string describe(const TensorDesc& d) {
    char s[96];
    std::snprintf(s, sizeof s, "%s %dx%dx%dx%d", dtype_name(d.dtype), d.n, d.c, d.h, d.w);
    return s;
}

bool same_quant(const TensorDesc& a, const TensorDesc& b) {
    return a.quant.scale == b.quant.scale && a.quant.zero_point == b.quant.zero_point;
}

bool same_shape(const TensorDesc& a, const TensorDesc& b) {
    return a.n == b.n && a.c == b.c && a.h == b.h && a.w == b.w;
}

Status bad_plan(OpKind kind, const std::string& why) {
    return failf(QGPU_ERROR_INVALID_ARGUMENT, "opencl: %s: %s", op_kind_name(kind), why.c_str());
}

// The checks every kind shares, then the kind's own.
Status validate(const OpPlan& p) {
    const TensorDesc& o = p.output;
    const size_t want_inputs = p.kind == OpKind::Add ? 2 : 1;
    if (p.kind == OpKind::Concat ? p.inputs.empty() : p.inputs.size() != want_inputs)
        return bad_plan(p.kind, "takes " + std::string(p.kind == OpKind::Concat ? "at least 1" : std::to_string(want_inputs)) +
                                    " input(s), got " + std::to_string(p.inputs.size()));
    std::vector<const TensorDesc*> all{&o};
    for (const TensorDesc& d : p.inputs) all.push_back(&d);
    for (const TensorDesc* d : all) {
        if (d->n <= 0 || d->c <= 0 || d->h <= 0 || d->w <= 0)
            return bad_plan(p.kind, "tensor dims must be > 0 (" + describe(*d) + ")");
        if (d->dtype != QGPU_DTYPE_INT8 && d->dtype != QGPU_DTYPE_FLOAT32)
            return bad_plan(p.kind, "unknown dtype " + std::to_string(int(d->dtype)));
        // 32-bit kernel indexing: elements (float) or bytes (int8) below 2^31
        const uint64_t c = d->dtype == QGPU_DTYPE_INT8 ? uint64_t(round_up4(d->c)) : uint64_t(d->c);
        if (uint64_t(d->n) * c * uint64_t(d->h) * uint64_t(d->w) >= (uint64_t(1) << 31))
            return failf(QGPU_ERROR_UNSUPPORTED, "opencl: %s: %s is too large for 32-bit kernel indexing",
                         op_kind_name(p.kind), describe(*d).c_str());
        if (d->n != o.n) return bad_plan(p.kind, "batch sizes differ (" + describe(*d) + " vs " + describe(o) + ")");
    }
    const TensorDesc& i = p.inputs[0];
    switch (p.kind) {
        case OpKind::MaxPool:
        case OpKind::AvgPool: {
            const PoolParams& q = p.pool;
            if (q.kernel_h <= 0 || q.kernel_w <= 0 || q.stride_h <= 0 || q.stride_w <= 0 || q.pad_top < 0 ||
                q.pad_left < 0 || q.pad_bottom < 0 || q.pad_right < 0)
                return bad_plan(p.kind, "kernel and stride must be > 0, pads >= 0");
            if (i.dtype != o.dtype) return bad_plan(p.kind, "input and output dtypes differ");
            if (p.kind == OpKind::AvgPool && i.dtype != QGPU_DTYPE_FLOAT32)
                return failf(QGPU_ERROR_UNSUPPORTED, "opencl: average pooling runs on float tensors only");
            if (i.dtype == QGPU_DTYPE_INT8 && !same_quant(i, o))
                return bad_plan(p.kind, "int8 max pooling needs the same quantization in and out");
            const int64_t oh = (int64_t(i.h) + q.pad_top + q.pad_bottom - q.kernel_h) / q.stride_h + 1;
            const int64_t ow = (int64_t(i.w) + q.pad_left + q.pad_right - q.kernel_w) / q.stride_w + 1;
            if (i.c != o.c || oh != o.h || ow != o.w)
                return bad_plan(p.kind, "output " + describe(o) + " does not follow from input " + describe(i) +
                                            " and the window (expected " + std::to_string(oh) + "x" +
                                            std::to_string(ow) + ")");
            return QGPU_OK;
        }
        case OpKind::Concat: {
            int64_t channels = 0;
            for (const TensorDesc& d : p.inputs) {
                if (d.dtype != o.dtype) return bad_plan(p.kind, "input and output dtypes differ");
                if (d.h != o.h || d.w != o.w)
                    return bad_plan(p.kind, "input " + describe(d) + " differs from the output " + describe(o) +
                                                " in height or width");
                if (d.dtype == QGPU_DTYPE_INT8 && !same_quant(d, o))
                    return bad_plan(p.kind, "int8 inputs must share the output's quantization");
                channels += d.c;
            }
            if (channels != o.c)
                return bad_plan(p.kind, "input channels add up to " + std::to_string(channels) + ", output has " +
                                            std::to_string(o.c));
            return QGPU_OK;
        }
        case OpKind::Softmax:
        case OpKind::Add:
            for (const TensorDesc& d : p.inputs)
                if (d.dtype != QGPU_DTYPE_FLOAT32 || !same_shape(d, o) || o.dtype != QGPU_DTYPE_FLOAT32)
                    return bad_plan(p.kind, "needs float tensors of one shape (input " + describe(d) + ", output " +
                                                describe(o) + ")");
            return QGPU_OK;
        case OpKind::Relu:
            if (i.dtype != o.dtype || !same_shape(i, o))
                return bad_plan(p.kind, "input " + describe(i) + " and output " + describe(o) + " differ");
            if (i.dtype == QGPU_DTYPE_INT8 && !same_quant(i, o))
                return bad_plan(p.kind, "int8 relu needs the same quantization in and out");
            // int8 relu is max(x, zero point); a leaky one needs a requantize (the conv's job)
            if (i.dtype == QGPU_DTYPE_INT8 && p.relu_slope != 0.0f)
                return failf(QGPU_ERROR_UNSUPPORTED, "opencl: int8 leaky ReLU is not an op (fuse it into the conv)");
            return QGPU_OK;
        case OpKind::Quantize:
        case OpKind::Dequantize: {
            const bool q = p.kind == OpKind::Quantize;
            if (i.dtype != (q ? QGPU_DTYPE_FLOAT32 : QGPU_DTYPE_INT8) ||
                o.dtype != (q ? QGPU_DTYPE_INT8 : QGPU_DTYPE_FLOAT32) || !same_shape(i, o))
                return bad_plan(p.kind, std::string("needs ") + (q ? "float -> int8" : "int8 -> float") +
                                            " of one shape (input " + describe(i) + ", output " + describe(o) + ")");
            const TensorDesc& qd = q ? o : i;
            if (!(qd.quant.scale > 0.0f) || qd.quant.scale == INFINITY || qd.quant.zero_point < -128 ||
                qd.quant.zero_point > 127)
                return bad_plan(p.kind, "scale must be finite and > 0, zero point in [-128, 127]");
            return QGPU_OK;
        }
    }
    return failf(QGPU_ERROR_INVALID_ARGUMENT, "opencl: unknown op kind %d", int(p.kind));
}

cl_mem mem_of(const TensorRef& t) { return static_cast<ClBuffer*>(t.buffer)->mem(); }

class ClOp final : public OpKernel {
public:
    ClOp(std::shared_ptr<ClContext> ctx, const OpPlan& plan) : ctx_(std::move(ctx)), plan_(plan) {}
    ~ClOp() override {
        if (kernel_) ctx_->api->clReleaseKernel(kernel_);
    }

    Status init() {
        static const char* const kInt8Names[] = {"op_maxpool_int8", nullptr, "op_concat_int8", nullptr,
                                                 "op_relu_int8", "op_quantize", "op_dequantize", nullptr};
        static const char* const kF32Names[] = {"op_pool_f32", "op_pool_f32", "op_concat_f32", "op_softmax_f32",
                                                "op_relu_f32", "op_quantize", "op_dequantize", "op_add_f32"};
        const size_t k = size_t(plan_.kind);
        const bool int8 = plan_.output.dtype == QGPU_DTYPE_INT8 && plan_.inputs[0].dtype == QGPU_DTYPE_INT8;
        const char* name = int8 ? kInt8Names[k] : kF32Names[k];
        if (!name) return failf(QGPU_ERROR_INTERNAL, "opencl: no kernel for %s", op_kind_name(plan_.kind));
        cl_program program = nullptr;
        QGPU_TRY(ctx_->program(&program));
        cl_int err = CL_SUCCESS;
        kernel_ = ctx_->api->clCreateKernel(program, name, &err);
        if (err != CL_SUCCESS || !kernel_) {
            kernel_ = nullptr;
            Status s = cl_fail(err, "clCreateKernel");
            return failf(s, "%s (%s)", last_error_message(), name);
        }
        size_t wg = 0;
        if (ctx_->api->clGetKernelWorkGroupInfo(kernel_, ctx_->entry.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg,
                                                &wg, nullptr) == CL_SUCCESS &&
            wg > 0)
            local_ = std::min<size_t>(64, wg);
        return QGPU_OK;
    }

    Status run(const std::vector<TensorRef>& inputs, const TensorRef& output) override {
        QGPU_TRY(check_run(inputs, output));
        const TensorDesc& i = inputs[0].desc;
        const TensorDesc& o = output.desc;
        const cl_mem in = mem_of(inputs[0]), out = mem_of(output);
        const int32_t plane_in = i.h * i.w, plane_out = o.h * o.w;
        const PoolParams& q = plan_.pool;
        switch (plan_.kind) {
            case OpKind::MaxPool:
            case OpKind::AvgPool:
                if (i.dtype == QGPU_DTYPE_INT8) {
                    const int32_t c4w = round_up4(i.c) / 4;
                    return launch(int64_t(o.n) * plane_out * c4w, in, out, i.h, i.w, c4w, o.h, o.w, q.kernel_h,
                                  q.kernel_w, q.stride_h, q.stride_w, q.pad_top, q.pad_left, i.c,
                                  o.quant.zero_point);
                }
                return launch(int64_t(o.n) * o.c * plane_out, in, out, i.h, i.w, o.h, o.w, q.kernel_h, q.kernel_w,
                              q.stride_h, q.stride_w, q.pad_top, q.pad_left,
                              int32_t(plan_.kind == OpKind::MaxPool));
            case OpKind::Concat: {
                int32_t channel = 0;
                for (size_t k = 0; k < inputs.size(); ++k) {
                    const TensorDesc& d = inputs[k].desc;
                    const cl_mem src = mem_of(inputs[k]);
                    if (o.dtype == QGPU_DTYPE_INT8) {
                        const bool last = k + 1 == inputs.size();
                        const int32_t span = d.c + (last ? round_up4(o.c) - o.c : 0);
                        QGPU_TRY(launch(int64_t(o.n) * plane_out * span, src, out, round_up4(d.c), d.c,
                                        round_up4(o.c), channel, span, o.quant.zero_point));
                    } else {
                        const int32_t per_image = d.c * plane_out;
                        QGPU_TRY(launch(int64_t(o.n) * per_image, src, out, per_image, o.c * plane_out,
                                        channel * plane_out));
                    }
                    channel += d.c;
                }
                return QGPU_OK;
            }
            case OpKind::Softmax:
                return launch(int64_t(i.n) * plane_in, in, out, i.c, plane_in);
            case OpKind::Relu:
                if (i.dtype == QGPU_DTYPE_INT8)
                    return launch(int64_t(i.n) * plane_in * (round_up4(i.c) / 4), in, out, i.quant.zero_point);
                return launch(int64_t(i.count()), in, out, plan_.relu_slope);
            case OpKind::Quantize: {
                const int32_t c4w = round_up4(o.c) / 4;
                return launch(int64_t(o.n) * plane_out * c4w, in, out, o.c, plane_out, c4w,
                              1.0f / o.quant.scale, o.quant.zero_point);
            }
            case OpKind::Dequantize:
                return launch(int64_t(o.count()), in, out, i.c, plane_in, round_up4(i.c), i.quant.scale,
                              i.quant.zero_point);
            case OpKind::Add:
                return launch(int64_t(o.count()), in, mem_of(inputs[1]), out);
        }
        return failf(QGPU_ERROR_INTERNAL, "opencl: unknown op kind %d", int(plan_.kind));
    }

private:
    // The run's tensors must be the plan's (batch size aside, which may differ from the plan's as
    // long as all tensors agree) on buffers of this backend.
    Status check_run(const std::vector<TensorRef>& inputs, const TensorRef& output) const {
        if (inputs.size() != plan_.inputs.size())
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "opencl: %s: created for %zu inputs, run with %zu",
                         op_kind_name(plan_.kind), plan_.inputs.size(), inputs.size());
        auto matches = [&](const TensorRef& t, const TensorDesc& want, const char* what) -> Status {
            const TensorDesc& d = t.desc;
            if (!t.buffer) return failf(QGPU_ERROR_INVALID_ARGUMENT, "opencl: %s: %s has no buffer",
                                        op_kind_name(plan_.kind), what);
            if (d.dtype != want.dtype || d.c != want.c || d.h != want.h || d.w != want.w || d.n != output.desc.n ||
                d.n <= 0 || (d.dtype == QGPU_DTYPE_INT8 && !same_quant(d, want)))
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "opencl: %s: %s is %s, the op was created for %s",
                             op_kind_name(plan_.kind), what, describe(d).c_str(), describe(want).c_str());
            return QGPU_OK;
        };
        QGPU_TRY(matches(output, plan_.output, "the output"));
        for (size_t k = 0; k < inputs.size(); ++k) QGPU_TRY(matches(inputs[k], plan_.inputs[k], "an input"));
        // 32-bit kernel indexing for the run's batch size (validate() checked the plan's)
        auto too_large = [](const TensorDesc& d) {
            return (d.dtype == QGPU_DTYPE_INT8 ? d.bytes() : d.count()) >= (size_t(1) << 31);
        };
        bool large = too_large(output.desc);
        for (const TensorRef& t : inputs) large = large || too_large(t.desc);
        if (large)
            return failf(QGPU_ERROR_UNSUPPORTED, "opencl: %s: batch %d is too large for 32-bit kernel indexing",
                         op_kind_name(plan_.kind), output.desc.n);
        return QGPU_OK;
    }

    Status set_args(cl_uint) { return QGPU_OK; }
    template <typename T, typename... Rest>
    Status set_args(cl_uint index, const T& value, const Rest&... rest) {
        static_assert(sizeof(T) == 4 || sizeof(T) == sizeof(cl_mem), "kernel arguments are int, float or cl_mem");
        QGPU_CL_CHECK(ctx_->api, clSetKernelArg, (kernel_, index, sizeof(T), &value));
        return set_args(index + 1, rest...);
    }

    // Arguments: the buffers, then the work-item count, then the rest (the order of ops.cl). A
    // kernel's arguments are captured at enqueue, so the next run may set them again at once.
    template <typename... Scalars>
    Status launch(int64_t items, cl_mem a, cl_mem b, Scalars... scalars) {
        return enqueue(items, [&](cl_int count) { return set_args(0, a, b, count, scalars...); });
    }
    Status launch(int64_t items, cl_mem a, cl_mem b, cl_mem c) {
        return enqueue(items, [&](cl_int count) { return set_args(0, a, b, c, count); });
    }

    template <typename SetArgs>
    Status enqueue(int64_t items, SetArgs set) {
        if (items <= 0) return QGPU_OK;
        if (items >= (int64_t(1) << 31))
            return failf(QGPU_ERROR_UNSUPPORTED, "opencl: %s: %lld work items exceed 32-bit indexing",
                         op_kind_name(plan_.kind), (long long)items);
        QGPU_TRY(set(cl_int(items)));
        const size_t global = (size_t(items) + local_ - 1) / local_ * local_;
        QGPU_CL_CHECK(ctx_->api, clEnqueueNDRangeKernel,
                      (ctx_->queue, kernel_, 1, nullptr, &global, &local_, 0, nullptr, nullptr));
        return ctx_->finish_unless_batching();
    }

    std::shared_ptr<ClContext> ctx_;
    OpPlan plan_;
    cl_kernel kernel_ = nullptr;
    size_t local_ = 1;
};

}  // namespace

Status make_op(std::shared_ptr<ClContext> ctx, const OpPlan& plan, std::unique_ptr<OpKernel>* out) {
    QGPU_TRY(validate(plan));
    auto op = std::make_unique<ClOp>(std::move(ctx), plan);
    QGPU_TRY(op->init());
    *out = std::move(op);
    return QGPU_OK;
}

}  // namespace opencl
}  // namespace qgpu
