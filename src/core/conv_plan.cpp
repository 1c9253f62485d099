#include "core/conv_plan.h"

#include <cmath>
#include <limits>

namespace qgpu {

int64_t conv_output_size(int64_t in, int64_t pad_a, int64_t pad_b, int64_t kernel,
                         int64_t stride, int64_t dilation) {
    const int64_t span = dilation * (kernel - 1) + 1;
    const int64_t padded = in + pad_a + pad_b;
    if (padded < span) return 0;
    return (padded - span) / stride + 1;
}

namespace {

constexpr int32_t kMaxDim = 1 << 20;  // per-dimension sanity bound (absurd shapes are errors)

bool finite_positive(float v) { return std::isfinite(v) && v > 0.0f; }

Status check_quant(const qgpu_quant& q, const char* what) {
    if (!finite_positive(q.scale))
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "%s scale must be finite and > 0 (got %g)", what,
                     double(q.scale));
    if (q.zero_point < arith::kInt8Min || q.zero_point > arith::kInt8Max)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "%s zero point must be in [-128, 127] (got %d)",
                     what, q.zero_point);
    return QGPU_OK;
}

Status check_shape(const qgpu_conv_desc& d, ConvShape* s) {
    struct Field { const char* name; int32_t value; int32_t min; };
    const Field fields[] = {
        {"in_channels", d.in_channels, 1}, {"in_h", d.in_h, 1}, {"in_w", d.in_w, 1},
        {"out_channels", d.out_channels, 1}, {"kernel_h", d.kernel_h, 1},
        {"kernel_w", d.kernel_w, 1}, {"stride_h", d.stride_h, 1}, {"stride_w", d.stride_w, 1},
        {"dilation_h", d.dilation_h, 1}, {"dilation_w", d.dilation_w, 1},
        {"pad_top", d.pad_top, 0}, {"pad_left", d.pad_left, 0}, {"pad_bottom", d.pad_bottom, 0},
        {"pad_right", d.pad_right, 0}, {"groups", d.groups, 1}};
    for (const Field& f : fields) {
        if (f.value < f.min || f.value > kMaxDim)
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "conv %s = %d is out of range [%d, %d]",
                         f.name, f.value, f.min, kMaxDim);
    }
    if (d.in_channels % d.groups || d.out_channels % d.groups)
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "in_channels (%d) and out_channels (%d) must be multiples of groups (%d)",
                     d.in_channels, d.out_channels, d.groups);
    s->in_c = d.in_channels; s->in_h = d.in_h; s->in_w = d.in_w; s->out_c = d.out_channels;
    s->kernel_h = d.kernel_h; s->kernel_w = d.kernel_w;
    s->stride_h = d.stride_h; s->stride_w = d.stride_w;
    s->dilation_h = d.dilation_h; s->dilation_w = d.dilation_w;
    s->pad_top = d.pad_top; s->pad_left = d.pad_left;
    s->pad_bottom = d.pad_bottom; s->pad_right = d.pad_right;
    s->groups = d.groups;
    const int64_t oh = conv_output_size(d.in_h, d.pad_top, d.pad_bottom, d.kernel_h, d.stride_h,
                                        d.dilation_h);
    const int64_t ow = conv_output_size(d.in_w, d.pad_left, d.pad_right, d.kernel_w, d.stride_w,
                                        d.dilation_w);
    if (oh <= 0 || ow <= 0)
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "the dilated kernel (%dx%d, dilation %dx%d) is larger than the padded input "
                     "(%dx%d)", d.kernel_h, d.kernel_w, d.dilation_h, d.dilation_w,
                     d.in_h + d.pad_top + d.pad_bottom, d.in_w + d.pad_left + d.pad_right);
    s->out_h = int32_t(oh);
    s->out_w = int32_t(ow);
    if (s->reduction() > arith::kMaxReduction)
        return failf(QGPU_ERROR_UNSUPPORTED,
                     "reduction length in_channels/groups*kernel_h*kernel_w = %lld exceeds %lld "
                     "(the int32 accumulator bound)", (long long)s->reduction(),
                     (long long)arith::kMaxReduction);
    // total weight count must fit comfortably in memory arithmetic
    if (int64_t(s->out_c) * s->reduction() > (int64_t(1) << 31))
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "conv has more than 2^31 weights");
    return QGPU_OK;
}

Status check_activation(const qgpu_conv_desc& d) {
    switch (d.activation) {
        case QGPU_ACTIVATION_NONE: case QGPU_ACTIVATION_RELU: case QGPU_ACTIVATION_RELU6:
            return QGPU_OK;
        case QGPU_ACTIVATION_CLAMP:
            if (std::isnan(d.activation_min) || std::isnan(d.activation_max) ||
                d.activation_min > d.activation_max)
                return failf(QGPU_ERROR_INVALID_ARGUMENT,
                             "clamp activation needs activation_min <= activation_max (got %g, %g)",
                             double(d.activation_min), double(d.activation_max));
            return QGPU_OK;
        case QGPU_ACTIVATION_LEAKY_RELU:
            if (!std::isfinite(d.leaky_slope) || d.leaky_slope < 0.0f)
                return failf(QGPU_ERROR_INVALID_ARGUMENT,
                             "leaky_slope must be finite and >= 0 (got %g)", double(d.leaky_slope));
            return QGPU_OK;
        default: break;
    }
    return failf(QGPU_ERROR_INVALID_ARGUMENT, "unknown activation %d", int(d.activation));
}

// Symmetric per-output-channel quantization: s_w[c] = max|W[c]| / 127, q = quantize(W / s_w).
void quantize_weights(const float* w, int32_t out_c, int64_t per_channel, ConvPlan* p) {
    p->weights_q.resize(size_t(out_c) * size_t(per_channel));
    p->weight_scales.resize(size_t(out_c));
    for (int32_t c = 0; c < out_c; ++c) {
        const float* wc = w + int64_t(c) * per_channel;
        float max_abs = 0.0f;
        for (int64_t i = 0; i < per_channel; ++i) max_abs = std::max(max_abs, std::fabs(wc[i]));
        const float scale = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;  // all-zero channel: any
        const float inv = 1.0f / scale;
        for (int64_t i = 0; i < per_channel; ++i)
            p->weights_q[size_t(c * per_channel + i)] =
                int8_t(arith::quantize_value(wc[i], inv, 0, -arith::kWeightMax, arith::kWeightMax));
        p->weight_scales[size_t(c)] = scale;
    }
}

Status finish_int8(const qgpu_conv_desc& d, ConvPlan* p) {
    const int32_t out_c = p->shape.out_c;
    const int64_t per_channel = p->shape.reduction();
    QGPU_TRY(check_quant(d.input_quant, "input"));
    if (d.output_dtype != QGPU_DTYPE_INT8 && d.output_dtype != QGPU_DTYPE_FLOAT32)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "unknown output dtype %d", int(d.output_dtype));
    if (d.output_dtype == QGPU_DTYPE_INT8) QGPU_TRY(check_quant(d.output_quant, "output"));
    p->input_quant = d.input_quant;
    p->output_quant = d.output_dtype == QGPU_DTYPE_INT8 ? d.output_quant : qgpu_quant{1.0f, 0};
    p->output_dtype = d.output_dtype;

    if (d.weights) {
        for (int64_t i = 0; i < int64_t(out_c) * per_channel; ++i)
            if (!std::isfinite(d.weights[i]))
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "weights[%lld] is not finite",
                             (long long)i);
        quantize_weights(d.weights, out_c, per_channel, p);
    } else {
        p->weights_q.assign(d.weights_int8, d.weights_int8 + int64_t(out_c) * per_channel);
        for (size_t i = 0; i < p->weights_q.size(); ++i)
            if (p->weights_q[i] < -arith::kWeightMax)
                return failf(QGPU_ERROR_INVALID_ARGUMENT,
                             "weights_int8[%zu] = -128: quantized weights must be in [-127, 127]",
                             i);
        p->weight_scales.assign(d.weight_scales, d.weight_scales + out_c);
        for (int32_t c = 0; c < out_c; ++c)
            if (!finite_positive(p->weight_scales[size_t(c)]))
                return failf(QGPU_ERROR_INVALID_ARGUMENT,
                             "weight_scales[%d] must be finite and > 0 (got %g)", c,
                             double(p->weight_scales[size_t(c)]));
    }

    const size_t n = size_t(out_c);
    p->weight_sums.assign(n, 0);
    p->bias_q.assign(n, 0);
    p->m0.assign(n, 0); p->shift.assign(n, 0); p->m0_neg.assign(n, 0); p->shift_neg.assign(n, 0);
    p->dequant_scale.assign(n, 0.0f);
    const double s_x = d.input_quant.scale;
    for (int32_t c = 0; c < out_c; ++c) {
        int32_t sum = 0;
        for (int64_t i = 0; i < per_channel; ++i) sum += p->weights_q[size_t(c * per_channel + i)];
        p->weight_sums[size_t(c)] = sum;
        const double s_w = p->weight_scales[size_t(c)];
        p->dequant_scale[size_t(c)] = float(s_x * s_w);
        if (p->output_dtype != QGPU_DTYPE_INT8) continue;
        p->bias_q[size_t(c)] = arith::quantize_bias(p->bias_f32[size_t(c)], d.input_quant.scale,
                                                    p->weight_scales[size_t(c)]);
        const double m = s_x * s_w / double(d.output_quant.scale);
        if (!arith::quantize_multiplier(m, &p->m0[size_t(c)], &p->shift[size_t(c)]))
            return failf(QGPU_ERROR_INVALID_ARGUMENT,
                         "channel %d: requantization multiplier s_x*s_w/s_y = %g is out of range",
                         c, m);
        if (p->leaky() &&
            !arith::quantize_multiplier(m * double(d.leaky_slope), &p->m0_neg[size_t(c)],
                                        &p->shift_neg[size_t(c)]))
            return failf(QGPU_ERROR_INVALID_ARGUMENT,
                         "channel %d: LeakyReLU multiplier %g is out of range", c,
                         m * double(d.leaky_slope));
    }

    // int8 output clamp bounds: the activation's range quantized like any value
    if (p->output_dtype == QGPU_DTYPE_INT8) {
        const float inv = 1.0f / d.output_quant.scale;
        const int32_t z = d.output_quant.zero_point;
        p->qmin = arith::kInt8Min;
        p->qmax = arith::kInt8Max;
        if (d.activation == QGPU_ACTIVATION_RELU || d.activation == QGPU_ACTIVATION_RELU6)
            p->qmin = arith::quantize_value(0.0f, inv, z);
        if (d.activation == QGPU_ACTIVATION_RELU6) p->qmax = arith::quantize_value(6.0f, inv, z);
        if (d.activation == QGPU_ACTIVATION_CLAMP) {
            p->qmin = arith::quantize_value(d.activation_min, inv, z);
            p->qmax = arith::quantize_value(d.activation_max, inv, z);
        }
    }
    return QGPU_OK;
}

}  // namespace

Status build_conv_plan(const qgpu_conv_desc& d, ConvPlan* p) {
    if (d.struct_size < sizeof(qgpu_conv_desc))
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "qgpu_conv_desc.struct_size is %u, expected %zu: call qgpu_conv_desc_init()",
                     d.struct_size, sizeof(qgpu_conv_desc));
    if (d.precision != QGPU_PRECISION_INT8 && d.precision != QGPU_PRECISION_FLOAT32)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "unknown precision %d", int(d.precision));
    QGPU_TRY(check_shape(d, &p->shape));
    QGPU_TRY(check_activation(d));
    p->precision = d.precision;
    p->activation = d.activation;
    p->act_min = d.activation_min;
    p->act_max = d.activation_max;
    p->leaky_slope = d.leaky_slope;

    const bool have_float = d.weights != nullptr;
    const bool have_int8 = d.weights_int8 != nullptr;
    if (have_float == have_int8)
        return fail(QGPU_ERROR_INVALID_ARGUMENT,
                    "give exactly one of weights (float) or weights_int8 (+ weight_scales)");
    if (have_int8 && !d.weight_scales)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "weights_int8 needs weight_scales");
    if (have_int8 && d.precision == QGPU_PRECISION_FLOAT32)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "a FLOAT32 conv needs float weights");

    const int32_t out_c = p->shape.out_c;
    p->bias_f32.assign(size_t(out_c), 0.0f);
    if (d.bias) {
        for (int32_t c = 0; c < out_c; ++c) {
            if (!std::isfinite(d.bias[c]))
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "bias[%d] is not finite", c);
            p->bias_f32[size_t(c)] = d.bias[c];
        }
    }
    if (d.precision == QGPU_PRECISION_FLOAT32) {
        p->output_dtype = QGPU_DTYPE_FLOAT32;
        p->weights_f32.assign(d.weights, d.weights + int64_t(out_c) * p->shape.reduction());
        return QGPU_OK;
    }
    return finish_int8(d, p);
}

}  // namespace qgpu
