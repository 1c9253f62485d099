// OpenCL convolutions: packs a ConvPlan for kernels/conv.cl and runs it.
//  - int8, depthwise (groups == in_c == out_c): conv_int8_dw, 4 channels per work item;
//  - int8, everything else: conv_int8, 4 output channels per work item, dot products over
//    32-bit words of 4 input channels (the DOT4 of the variant);
//  - fp32: conv_f32, one output per work item.
#include <algorithm>
#include <cstring>

#include "core/layout.h"
#include "opencl/cl_internal.h"

namespace qgpu {
namespace opencl {
namespace {

// Must match the enums of kernels/conv.cl.
enum {
    P_IN_H, P_IN_W, P_IN_C4W, P_OUT_C, P_OUT_H, P_OUT_W, P_OUT_C4W,
    P_KH, P_KW, P_SH, P_SW, P_DH, P_DW, P_PT, P_PL,
    P_NWORDS, P_GROUPED, P_ZX, P_ZY, P_QMIN, P_QMAX, P_LEAKY, P_OUT_INT8, P_ACT,
    P_COUNT
};
enum {
    F_IN_C, F_IN_H, F_IN_W, F_OUT_C, F_OUT_H, F_OUT_W, F_KH, F_KW, F_SH, F_SW, F_DH, F_DW,
    F_PT, F_PL, F_CIN_G, F_COUT_G, F_ACT, F_COUNT
};

constexpr int kPix = 4;  // QGPU_PIX of kernels/conv.cl

cl_mem mem_of(const TensorRef& t) { return static_cast<ClBuffer*>(t.buffer)->mem(); }

class ClConv final : public ConvKernel {
public:
    explicit ClConv(std::shared_ptr<ClContext> ctx) : ctx_(std::move(ctx)) {}
    ~ClConv() override {
        for (cl_mem m : mems_) ctx_->api->clReleaseMemObject(m);
        if (kernel_) ctx_->api->clReleaseKernel(kernel_);
    }

    // Creates the kernel `name` and its constant arguments (buffers first, in order).
    Status init(const char* name) {
        cl_program program = nullptr;
        QGPU_TRY(ctx_->program(&program));
        cl_int err = CL_SUCCESS;
        kernel_ = ctx_->api->clCreateKernel(program, name, &err);
        if (err != CL_SUCCESS || !kernel_) { kernel_ = nullptr; return cl_fail(err, "clCreateKernel"); }
        size_t wg = 0;
        if (ctx_->api->clGetKernelWorkGroupInfo(kernel_, ctx_->entry.device, CL_KERNEL_WORK_GROUP_SIZE,
                                                sizeof wg, &wg, nullptr) == CL_SUCCESS && wg > 0)
            local_ = std::min<size_t>(64, wg);
        return QGPU_OK;
    }
    Status add_buffer(const void* data, size_t bytes) {
        cl_mem m = nullptr;
        QGPU_TRY(upload(*ctx_, data, bytes, &m));
        mems_.push_back(m);
        return set_arg(sizeof m, &m);
    }
    template <typename T>
    Status add_buffer(const std::vector<T>& v) { return add_buffer(v.data(), v.size() * sizeof(T)); }
    Status add_float(float f) { return set_arg(sizeof f, &f); }
    // The output buffer, then the work-item count, are set at run time after the fixed ones.
    void set_items_per_image(uint64_t items) { per_image_ = items; }

    Status run(const TensorRef& input, const TensorRef& output) override {
        const Api* api = ctx_->api;
        const uint64_t total = per_image_ * uint64_t(input.desc.n);
        if (total >= (uint64_t(1) << 31) || input.desc.bytes() >= (size_t(1) << 33) ||
            output.desc.bytes() >= (size_t(1) << 33))
            return failf(QGPU_ERROR_UNSUPPORTED,
                         "opencl: tensors too large for 32-bit kernel indexing (%llu work items)",
                         (unsigned long long)total);
        cl_mem in = mem_of(input), out = mem_of(output);
        const cl_uint count = cl_uint(total);
        QGPU_CL_CHECK(api, clSetKernelArg, (kernel_, 0, sizeof in, &in));
        QGPU_CL_CHECK(api, clSetKernelArg, (kernel_, fixed_args_, sizeof out, &out));
        QGPU_CL_CHECK(api, clSetKernelArg, (kernel_, fixed_args_ + 1, sizeof count, &count));
        const size_t global = (size_t(total) + local_ - 1) / local_ * local_;
        QGPU_CL_CHECK(api, clEnqueueNDRangeKernel,
                      (ctx_->queue, kernel_, 1, nullptr, &global, &local_, 0, nullptr, nullptr));
        // run() returns when the result is in memory: errors surface here, and timings of
        // qgpu_conv_run measure the work
        // (inside a network batch it only enqueues: Device::end_batch waits once)
        return ctx_->finish_unless_batching();
    }

private:
    Status set_arg(size_t size, const void* value) {
        QGPU_CL_CHECK(ctx_->api, clSetKernelArg, (kernel_, fixed_args_, size, value));
        ++fixed_args_;
        return QGPU_OK;
    }

    std::shared_ptr<ClContext> ctx_;
    cl_kernel kernel_ = nullptr;
    std::vector<cl_mem> mems_;
    cl_uint fixed_args_ = 1;  // argument 0 is the input
    size_t local_ = 1;
    uint64_t per_image_ = 0;
};

template <typename T>
T at_or(const std::vector<T>& v, int32_t i, T fallback) {
    return size_t(i) < v.size() ? v[size_t(i)] : fallback;
}

Status make_int8(std::shared_ptr<ClContext> ctx, const ConvPlan& plan, std::unique_ptr<ConvKernel>* out) {
    const ConvShape& s = plan.shape;
    const int32_t oc4w = round_up4(s.out_c) / 4, ic4w = round_up4(s.in_c) / 4;
    const int32_t cin_g = s.in_c_per_group(), cout_g = s.out_c_per_group();
    const int32_t kh = s.kernel_h, kw = s.kernel_w, taps = kh * kw;
    const bool depthwise = s.is_depthwise();

    std::vector<int32_t> p(P_COUNT, 0);
    p[P_IN_H] = s.in_h; p[P_IN_W] = s.in_w; p[P_IN_C4W] = ic4w;
    p[P_OUT_C] = s.out_c; p[P_OUT_H] = s.out_h; p[P_OUT_W] = s.out_w; p[P_OUT_C4W] = oc4w;
    p[P_KH] = kh; p[P_KW] = kw; p[P_SH] = s.stride_h; p[P_SW] = s.stride_w;
    p[P_DH] = s.dilation_h; p[P_DW] = s.dilation_w; p[P_PT] = s.pad_top; p[P_PL] = s.pad_left;
    p[P_ZX] = plan.input_quant.zero_point; p[P_ZY] = plan.output_quant.zero_point;
    p[P_QMIN] = plan.qmin; p[P_QMAX] = plan.qmax; p[P_LEAKY] = plan.leaky() ? 1 : 0;
    p[P_OUT_INT8] = plan.output_dtype == QGPU_DTYPE_INT8 ? 1 : 0;
    p[P_ACT] = int32_t(plan.activation);

    // per-channel tables, padded to whole words of 4 channels
    const size_t padded = size_t(oc4w) * 4;
    std::vector<int32_t> bias_q(padded, 0), m0(padded, 0), sh(padded, 0), m0n(padded, 0), shn(padded, 0);
    std::vector<float> dq(padded, 0.0f), bias_f(padded, 0.0f);
    for (int32_t c = 0; c < s.out_c; ++c) {
        bias_q[size_t(c)] = at_or(plan.bias_q, c, 0);
        m0[size_t(c)] = at_or(plan.m0, c, 0);
        sh[size_t(c)] = at_or(plan.shift, c, 0);
        m0n[size_t(c)] = at_or(plan.m0_neg, c, 0);
        shn[size_t(c)] = at_or(plan.shift_neg, c, 0);
        dq[size_t(c)] = at_or(plan.dequant_scale, c, 0.0f);
        bias_f[size_t(c)] = at_or(plan.bias_f32, c, 0.0f);
    }
    auto w_at = [&](int32_t oc, int32_t i, int32_t ky, int32_t kx) -> uint32_t {
        return uint8_t(plan.weights_q[size_t(((oc * cin_g + i) * kh + ky) * kw + kx)]);
    };

    auto conv = std::make_unique<ClConv>(ctx);
    if (depthwise) {
        // [c4][kh][kw] words: byte l = weight of channel 4*c4 + l
        std::vector<uint32_t> wt(size_t(oc4w) * taps, 0);
        for (int32_t c = 0; c < s.out_c; ++c)
            for (int32_t ky = 0; ky < kh; ++ky)
                for (int32_t kx = 0; kx < kw; ++kx)
                    wt[size_t(((c / 4) * kh + ky) * kw + kx)] |= w_at(c, 0, ky, kx) << (8 * (c % 4));
        QGPU_TRY(conv->init("conv_int8_dw"));
        QGPU_TRY(conv->add_buffer(wt));
    } else {
        // the input-word window of each output channel: the words holding its group's channels
        int32_t nwords = 0;
        for (int32_t oc = 0; oc < s.out_c; ++oc) {
            const int32_t ic0 = (oc / cout_g) * cin_g;
            nwords = std::max(nwords, (ic0 + cin_g - 1) / 4 - ic0 / 4 + 1);
        }
        std::vector<int32_t> start(padded, 0);
        bool grouped = false;
        for (int32_t oc = 0; oc < s.out_c; ++oc) {
            const int32_t ic0 = (oc / cout_g) * cin_g;
            // keep the window inside the pixel (it still covers the group: see docs/opencl.md)
            start[size_t(oc)] = std::min(ic0 / 4, ic4w - nwords);
            if (start[size_t(oc)] != 0) grouped = true;
        }
        p[P_NWORDS] = nwords;
        p[P_GROUPED] = grouped ? 1 : 0;
        std::vector<uint32_t> wt(size_t(oc4w) * taps * nwords * 4, 0);
        std::vector<int32_t> tapsum(size_t(oc4w) * taps * 4, 0);
        for (int32_t oc = 0; oc < s.out_c; ++oc) {
            const int32_t ic0 = (oc / cout_g) * cin_g, ocw = oc / 4, lane = oc % 4;
            for (int32_t ky = 0; ky < kh; ++ky)
                for (int32_t kx = 0; kx < kw; ++kx) {
                    const size_t tap = size_t((ocw * kh + ky) * kw + kx);
                    int32_t sum = 0;
                    for (int32_t i = 0; i < cin_g; ++i) {
                        const int32_t word = (ic0 + i) / 4 - start[size_t(oc)];
                        const int32_t byte = (ic0 + i) % 4;
                        wt[(tap * nwords + size_t(word)) * 4 + size_t(lane)] |= w_at(oc, i, ky, kx) << (8 * byte);
                        sum += plan.weights_q[size_t(((oc * cin_g + i) * kh + ky) * kw + kx)];
                    }
                    tapsum[tap * 4 + size_t(lane)] = sum;
                }
        }
        QGPU_TRY(conv->init("conv_int8"));
        QGPU_TRY(conv->add_buffer(wt));
        QGPU_TRY(conv->add_buffer(tapsum));
        QGPU_TRY(conv->add_buffer(start));
    }
    QGPU_TRY(conv->add_buffer(p));
    QGPU_TRY(conv->add_buffer(bias_q));
    QGPU_TRY(conv->add_buffer(m0));
    QGPU_TRY(conv->add_buffer(sh));
    QGPU_TRY(conv->add_buffer(m0n));
    QGPU_TRY(conv->add_buffer(shn));
    QGPU_TRY(conv->add_buffer(dq));
    QGPU_TRY(conv->add_buffer(bias_f));
    QGPU_TRY(conv->add_float(plan.act_min));
    QGPU_TRY(conv->add_float(plan.act_max));
    QGPU_TRY(conv->add_float(plan.leaky_slope));
    // conv_int8 covers kPix output pixels of a row per work item (QGPU_PIX in conv.cl)
    const uint64_t width_items = depthwise ? uint64_t(s.out_w) : (uint64_t(s.out_w) + kPix - 1) / kPix;
    conv->set_items_per_image(uint64_t(oc4w) * uint64_t(s.out_h) * width_items);
    *out = std::move(conv);
    return QGPU_OK;
}

Status make_f32(std::shared_ptr<ClContext> ctx, const ConvPlan& plan, std::unique_ptr<ConvKernel>* out) {
    const ConvShape& s = plan.shape;
    std::vector<int32_t> p(F_COUNT, 0);
    p[F_IN_C] = s.in_c; p[F_IN_H] = s.in_h; p[F_IN_W] = s.in_w;
    p[F_OUT_C] = s.out_c; p[F_OUT_H] = s.out_h; p[F_OUT_W] = s.out_w;
    p[F_KH] = s.kernel_h; p[F_KW] = s.kernel_w; p[F_SH] = s.stride_h; p[F_SW] = s.stride_w;
    p[F_DH] = s.dilation_h; p[F_DW] = s.dilation_w; p[F_PT] = s.pad_top; p[F_PL] = s.pad_left;
    p[F_CIN_G] = s.in_c_per_group(); p[F_COUT_G] = s.out_c_per_group();
    p[F_ACT] = int32_t(plan.activation);
    std::vector<float> bias(size_t(s.out_c), 0.0f);
    for (int32_t c = 0; c < s.out_c; ++c) bias[size_t(c)] = at_or(plan.bias_f32, c, 0.0f);
    auto conv = std::make_unique<ClConv>(ctx);
    QGPU_TRY(conv->init("conv_f32"));
    QGPU_TRY(conv->add_buffer(plan.weights_f32));
    QGPU_TRY(conv->add_buffer(bias));
    QGPU_TRY(conv->add_buffer(p));
    QGPU_TRY(conv->add_float(plan.act_min));
    QGPU_TRY(conv->add_float(plan.act_max));
    QGPU_TRY(conv->add_float(plan.leaky_slope));
    conv->set_items_per_image(uint64_t(s.out_c) * uint64_t(s.out_h) * uint64_t(s.out_w));
    *out = std::move(conv);
    return QGPU_OK;
}

}  // namespace

Status make_conv(std::shared_ptr<ClContext> ctx, const ConvPlan& plan, std::unique_ptr<ConvKernel>* out) {
    if (plan.precision == QGPU_PRECISION_FLOAT32) return make_f32(std::move(ctx), plan, out);
    return make_int8(std::move(ctx), plan, out);
}

}  // namespace opencl
}  // namespace qgpu
