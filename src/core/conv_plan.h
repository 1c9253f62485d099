// A validated convolution with everything the kernels need precomputed once at creation:
// quantized weights, per-channel multipliers, quantized bias, activation bounds. Built by the
// core (one definition for all backends); each backend then repacks what it needs.
#pragma once
#include <cstdint>
#include <vector>

#include "core/requant.h"
#include "core/status.h"

namespace qgpu {

struct ConvShape {
    int32_t in_c = 0, in_h = 0, in_w = 0, out_c = 0;
    int32_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
    int32_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
    int32_t groups = 1;
    int32_t out_h = 0, out_w = 0;

    int32_t in_c_per_group() const { return in_c / groups; }
    int32_t out_c_per_group() const { return out_c / groups; }
    // weights per output channel: (in_c/groups) * kernel_h * kernel_w
    int64_t reduction() const { return int64_t(in_c_per_group()) * kernel_h * kernel_w; }
    int64_t macs_per_image() const { return int64_t(out_c) * out_h * out_w * reduction(); }
    bool is_depthwise() const { return groups == in_c && groups == out_c; }
};

struct ConvPlan {
    ConvShape shape;
    qgpu_precision precision = QGPU_PRECISION_INT8;
    qgpu_activation activation = QGPU_ACTIVATION_NONE;
    float act_min = 0, act_max = 0, leaky_slope = 0;  // float-domain activation

    // FLOAT32 precision: the caller's weights (OIHW) and bias (zeros when none).
    std::vector<float> weights_f32;
    std::vector<float> bias_f32;

    // INT8 precision
    qgpu_quant input_quant{1.0f, 0};
    qgpu_quant output_quant{1.0f, 0};
    qgpu_dtype output_dtype = QGPU_DTYPE_FLOAT32;
    std::vector<int8_t> weights_q;       // OIHW, [-127, 127]
    std::vector<float> weight_scales;    // [out_c]
    std::vector<int32_t> weight_sums;    // [out_c] sum of weights_q (for zero-point folding)
    std::vector<int32_t> bias_q;         // [out_c] int8 output: bias / (s_x s_w[c])
    std::vector<int32_t> m0, shift;      // [out_c] requantize multiplier s_x s_w[c] / s_y
    std::vector<int32_t> m0_neg, shift_neg;  // [out_c] LeakyReLU: multiplier * slope
    std::vector<float> dequant_scale;    // [out_c] float output: s_x * s_w[c]
    int32_t qmin = arith::kInt8Min, qmax = arith::kInt8Max;  // int8 output clamp (activation)

    bool leaky() const { return activation == QGPU_ACTIVATION_LEAKY_RELU; }

    // Output stage for int8 output: acc = bias_q[c] + sum((x - z_x) * w).
    int8_t requantize(int32_t acc, int32_t c) const {
        return arith::requantize_output(acc, m0[c], shift[c], m0_neg[c], shift_neg[c], leaky(),
                                        output_quant.zero_point, qmin, qmax);
    }
    // Output stage for float output: sum = sum((x - z_x) * w) without bias.
    // y = float(sum) * dequant_scale[c] + bias_f32[c], two roundings (no fused multiply-add),
    // then the activation in float.
    float dequantize(int32_t sum, int32_t c) const {
        // the project builds with -ffp-contract=off so this stays two rounded operations
        const float product = float(sum) * dequant_scale[c];
        return activate(product + bias_f32[c]);
    }
    float activate(float y) const {
        switch (activation) {
            case QGPU_ACTIVATION_RELU: return y < 0.0f ? 0.0f : y;
            case QGPU_ACTIVATION_RELU6: return y < 0.0f ? 0.0f : (y > 6.0f ? 6.0f : y);
            case QGPU_ACTIVATION_CLAMP: return y < act_min ? act_min : (y > act_max ? act_max : y);
            case QGPU_ACTIVATION_LEAKY_RELU: return y < 0.0f ? y * leaky_slope : y;
            default: return y;
        }
    }
};

// Validates `desc` and fills `plan` (quantizing the weights when given as float).
Status build_conv_plan(const qgpu_conv_desc& desc, ConvPlan* plan);

// out = (in + pad_a + pad_b - dilation*(k-1) - 1) / stride + 1; <= 0 means invalid.
int64_t conv_output_size(int64_t in, int64_t pad_a, int64_t pad_b, int64_t kernel,
                         int64_t stride, int64_t dilation);

}  // namespace qgpu
