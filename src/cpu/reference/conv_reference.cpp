// The scalar reference convolution: plain loops that follow docs/quantization.md literally.
// Int8: input NHWC4 int8, acc = sum((x - z_x) * w) over in-bounds taps (padding contributes
// nothing, as if it held z_x), then the output stage of ConvPlan. Float: NCHW, float sums.
#include <cstring>

#include "core/layout.h"
#include "cpu/cpu_kernel.h"

namespace qgpu {
namespace cpu {
namespace {

class ReferenceConvInt8 final : public ConvKernel {
public:
    ReferenceConvInt8(const ConvPlan& plan, ThreadPool* pool) : plan_(plan), pool_(pool) {
        // OIHW -> OHWI so the innermost loop walks channels, like the NHWC4 input
        const ConvShape& s = plan.shape;
        const int32_t cin_g = s.in_c_per_group();
        w_ohwi_.resize(plan.weights_q.size());
        for (int32_t o = 0; o < s.out_c; ++o)
            for (int32_t i = 0; i < cin_g; ++i)
                for (int32_t ky = 0; ky < s.kernel_h; ++ky)
                    for (int32_t kx = 0; kx < s.kernel_w; ++kx)
                        w_ohwi_[size_t(((o * s.kernel_h + ky) * s.kernel_w + kx) * cin_g + i)] =
                            plan.weights_q[size_t(((o * cin_g + i) * s.kernel_h + ky) * s.kernel_w + kx)];
    }

    Status run(const TensorRef& input, const TensorRef& output) override {
        const ConvShape& s = plan_.shape;
        const int8_t* in = static_cast<const int8_t*>(host_data(input));
        void* out = host_data(output);
        const int32_t n = input.desc.n;
        pool_->parallel_for(int64_t(n) * s.out_h, [&](int64_t row) {
            run_row(in, out, int32_t(row / s.out_h), int32_t(row % s.out_h));
        });
        return QGPU_OK;
    }

private:
    int32_t accumulate(const int8_t* in, int32_t n, int32_t oy, int32_t ox, int32_t oc) const {
        const ConvShape& s = plan_.shape;
        const int32_t cin_g = s.in_c_per_group(), c4 = round_up4(s.in_c);
        const int32_t ic0 = (oc / s.out_c_per_group()) * cin_g;
        const int32_t zx = plan_.input_quant.zero_point;
        int32_t acc = 0;
        for (int32_t ky = 0; ky < s.kernel_h; ++ky) {
            const int32_t iy = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
            if (iy < 0 || iy >= s.in_h) continue;
            for (int32_t kx = 0; kx < s.kernel_w; ++kx) {
                const int32_t ix = ox * s.stride_w - s.pad_left + kx * s.dilation_w;
                if (ix < 0 || ix >= s.in_w) continue;
                const int8_t* x = in + nhwc4_offset(s.in_h, s.in_w, c4, n, iy, ix, ic0);
                const int8_t* w = w_ohwi_.data() + size_t(((oc * s.kernel_h + ky) * s.kernel_w + kx) * cin_g);
                for (int32_t i = 0; i < cin_g; ++i) acc += (int32_t(x[i]) - zx) * int32_t(w[i]);
            }
        }
        return acc;
    }

    void run_row(const int8_t* in, void* out, int32_t n, int32_t oy) const {
        const ConvShape& s = plan_.shape;
        if (plan_.output_dtype == QGPU_DTYPE_INT8) {
            const int32_t c4 = round_up4(s.out_c);
            int8_t* o = static_cast<int8_t*>(out);
            for (int32_t ox = 0; ox < s.out_w; ++ox) {
                int8_t* px = o + nhwc4_offset(s.out_h, s.out_w, c4, n, oy, ox, 0);
                for (int32_t oc = 0; oc < s.out_c; ++oc)
                    px[oc] = plan_.requantize(plan_.bias_q[size_t(oc)] + accumulate(in, n, oy, ox, oc), oc);
                for (int32_t oc = s.out_c; oc < c4; ++oc) px[oc] = int8_t(plan_.output_quant.zero_point);
            }
        } else {
            float* o = static_cast<float*>(out);
            for (int32_t oc = 0; oc < s.out_c; ++oc) {
                float* row = o + ((size_t(n) * s.out_c + oc) * s.out_h + oy) * s.out_w;
                for (int32_t ox = 0; ox < s.out_w; ++ox)
                    row[ox] = plan_.dequantize(accumulate(in, n, oy, ox, oc), oc);
            }
        }
    }

    ConvPlan plan_;
    ThreadPool* pool_;
    std::vector<int8_t> w_ohwi_;
};

class ReferenceConvF32 final : public ConvKernel {
public:
    ReferenceConvF32(const ConvPlan& plan, ThreadPool* pool) : plan_(plan), pool_(pool) {}

    Status run(const TensorRef& input, const TensorRef& output) override {
        const ConvShape& s = plan_.shape;
        const float* in = static_cast<const float*>(host_data(input));
        float* out = static_cast<float*>(host_data(output));
        pool_->parallel_for(int64_t(input.desc.n) * s.out_c, [&](int64_t job) {
            run_plane(in, out, int32_t(job / s.out_c), int32_t(job % s.out_c));
        });
        return QGPU_OK;
    }

private:
    void run_plane(const float* in, float* out, int32_t n, int32_t oc) const {
        const ConvShape& s = plan_.shape;
        const int32_t cin_g = s.in_c_per_group();
        const int32_t ic0 = (oc / s.out_c_per_group()) * cin_g;
        const float* w = plan_.weights_f32.data() + size_t(oc) * size_t(s.reduction());
        float* o = out + (size_t(n) * s.out_c + oc) * s.out_h * s.out_w;
        for (int32_t oy = 0; oy < s.out_h; ++oy) {
            for (int32_t ox = 0; ox < s.out_w; ++ox) {
                float acc = 0.0f;
                for (int32_t i = 0; i < cin_g; ++i) {
                    const float* plane = in + (size_t(n) * s.in_c + ic0 + i) * s.in_h * s.in_w;
                    for (int32_t ky = 0; ky < s.kernel_h; ++ky) {
                        const int32_t iy = oy * s.stride_h - s.pad_top + ky * s.dilation_h;
                        if (iy < 0 || iy >= s.in_h) continue;
                        for (int32_t kx = 0; kx < s.kernel_w; ++kx) {
                            const int32_t ix = ox * s.stride_w - s.pad_left + kx * s.dilation_w;
                            if (ix < 0 || ix >= s.in_w) continue;
                            acc += plane[iy * s.in_w + ix] * w[(i * s.kernel_h + ky) * s.kernel_w + kx];
                        }
                    }
                }
                o[oy * s.out_w + ox] = plan_.activate(acc + plan_.bias_f32[size_t(oc)]);
            }
        }
    }

    ConvPlan plan_;
    ThreadPool* pool_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_reference_conv(const ConvPlan& plan, ThreadPool* pool) {
    if (plan.precision == QGPU_PRECISION_FLOAT32)
        return std::make_unique<ReferenceConvF32>(plan, pool);
    return std::make_unique<ReferenceConvInt8>(plan, pool);
}

}  // namespace cpu
}  // namespace qgpu
