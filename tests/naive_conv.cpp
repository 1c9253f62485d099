#include "naive_conv.h"

#include <algorithm>
#include <cmath>

namespace naive {

int out_size(int in, int pad_a, int pad_b, int k, int stride, int dilation) {
    const int span = dilation * (k - 1) + 1;
    if (in + pad_a + pad_b < span) return 0;
    return (in + pad_a + pad_b - span) / stride + 1;
}

int quantize(float x, float scale, int zero_point) {
    const float inv = 1.0f / scale;
    const float v = x * inv;
    if (std::isnan(v)) return zero_point;
    const double r = std::nearbyint(double(v));  // default rounding mode: ties to even
    return int(std::min(127.0, std::max(-128.0, r + zero_point)));
}

Quantized quantize_weights(const qgpu_conv_desc& d) {
    Quantized q;
    const size_t per = size_t(d.in_channels / d.groups) * d.kernel_h * d.kernel_w;
    q.weights.resize(per * d.out_channels);
    q.scales.resize(d.out_channels);
    for (int o = 0; o < d.out_channels; ++o) {
        if (d.weights_int8) {
            std::copy(d.weights_int8 + o * per, d.weights_int8 + (o + 1) * per, q.weights.begin() + o * per);
            q.scales[o] = d.weight_scales[o];
            continue;
        }
        float m = 0;
        for (size_t i = 0; i < per; ++i) m = std::max(m, std::fabs(d.weights[o * per + i]));
        const float s = m > 0 ? m / 127.0f : 1.0f;
        q.scales[o] = s;
        const float inv = 1.0f / s;
        for (size_t i = 0; i < per; ++i) {
            double r = std::nearbyint(double(d.weights[o * per + i] * inv));
            q.weights[o * per + i] = int8_t(std::min(127.0, std::max(-127.0, r)));
        }
    }
    return q;
}

int32_t requantize(int64_t acc, double multiplier) {
    if (multiplier == 0.0) return 0;
    int e = 0;
    const double frac = std::frexp(multiplier, &e);
    long double m0 = std::round((long double)frac * 2147483648.0L);
    if (m0 == 2147483648.0L) { m0 /= 2; ++e; }
    if (e < -31) return 0;
    long double x = (long double)acc;
    if (e > 0) x = std::min(2147483647.0L, std::max(-2147483648.0L, x * std::ldexp(1.0L, e)));
    const long double high = std::floor(x * m0 / 2147483648.0L + 0.5L);  // ties toward +inf
    const int right = e > 0 ? 0 : -e;
    return int32_t(std::round(high / std::ldexp(1.0L, right)));       // ties away from zero
}

namespace {

// Visits every in-bounds tap of output (n, o, y, x): f(input index, weight index).
template <typename F>
void taps(const qgpu_conv_desc& d, int n, int o, int y, int x, F f) {
    const int cin_g = d.in_channels / d.groups, cout_g = d.out_channels / d.groups;
    const int g = o / cout_g;
    for (int i = 0; i < cin_g; ++i)
        for (int ky = 0; ky < d.kernel_h; ++ky)
            for (int kx = 0; kx < d.kernel_w; ++kx) {
                const int iy = y * d.stride_h - d.pad_top + ky * d.dilation_h;
                const int ix = x * d.stride_w - d.pad_left + kx * d.dilation_w;
                if (iy < 0 || iy >= d.in_h || ix < 0 || ix >= d.in_w) continue;
                const size_t in = ((size_t(n) * d.in_channels + g * cin_g + i) * d.in_h + iy) * d.in_w + ix;
                const size_t w = ((size_t(o) * cin_g + i) * d.kernel_h + ky) * d.kernel_w + kx;
                f(in, w);
            }
}

float activate(const qgpu_conv_desc& d, float y) {
    switch (d.activation) {
        case QGPU_ACTIVATION_RELU: return std::max(y, 0.0f);
        case QGPU_ACTIVATION_RELU6: return std::min(std::max(y, 0.0f), 6.0f);
        case QGPU_ACTIVATION_CLAMP: return std::min(std::max(y, d.activation_min), d.activation_max);
        case QGPU_ACTIVATION_LEAKY_RELU: return y < 0 ? y * d.leaky_slope : y;
        default: return y;
    }
}

}  // namespace

void conv_int8(const qgpu_conv_desc& d, int n, const std::vector<int8_t>& input,
               std::vector<int8_t>* q_out, std::vector<float>* f_out) {
    const Quantized q = quantize_weights(d);
    const int oh = out_size(d.in_h, d.pad_top, d.pad_bottom, d.kernel_h, d.stride_h, d.dilation_h);
    const int ow = out_size(d.in_w, d.pad_left, d.pad_right, d.kernel_w, d.stride_w, d.dilation_w);
    const size_t total = size_t(n) * d.out_channels * oh * ow;
    const int zx = d.input_quant.zero_point, zy = d.output_quant.zero_point;
    const float sx = d.input_quant.scale, sy = d.output_quant.scale;
    int lo = -128, hi = 127;
    if (d.activation == QGPU_ACTIVATION_RELU || d.activation == QGPU_ACTIVATION_RELU6) lo = quantize(0, sy, zy);
    if (d.activation == QGPU_ACTIVATION_RELU6) hi = quantize(6, sy, zy);
    if (d.activation == QGPU_ACTIVATION_CLAMP) {
        lo = quantize(d.activation_min, sy, zy);
        hi = quantize(d.activation_max, sy, zy);
    }
    if (q_out) q_out->assign(total, 0);
    if (f_out) f_out->assign(total, 0.0f);
    size_t idx = 0;
    for (int b = 0; b < n; ++b)
        for (int o = 0; o < d.out_channels; ++o)
            for (int y = 0; y < oh; ++y)
                for (int x = 0; x < ow; ++x, ++idx) {
                    int64_t acc = 0;
                    taps(d, b, o, y, x, [&](size_t i, size_t w) {
                        acc += int64_t(input[i] - zx) * q.weights[w];
                    });
                    const double sw = q.scales[o];
                    const float bias = d.bias ? d.bias[o] : 0.0f;
                    if (d.output_dtype == QGPU_DTYPE_FLOAT32) {
                        const float prod = float(acc) * float(double(sx) * sw);
                        (*f_out)[idx] = activate(d, prod + bias);
                        continue;
                    }
                    long double bq = std::round((long double)bias / ((long double)sx * sw));
                    bq = std::min(1073741824.0L, std::max(-1073741824.0L, bq));
                    const int64_t total_acc = acc + int64_t(bq);
                    double m = double(sx) * sw / double(sy);
                    if (d.activation == QGPU_ACTIVATION_LEAKY_RELU && total_acc < 0) m *= d.leaky_slope;
                    const int64_t v = int64_t(requantize(total_acc, m)) + zy;
                    (*q_out)[idx] = int8_t(std::min<int64_t>(hi, std::max<int64_t>(lo, v)));
                }
}

void conv_f32(const qgpu_conv_desc& d, int n, const std::vector<float>& input,
              std::vector<double>* out, std::vector<double>* magnitude) {
    const int oh = out_size(d.in_h, d.pad_top, d.pad_bottom, d.kernel_h, d.stride_h, d.dilation_h);
    const int ow = out_size(d.in_w, d.pad_left, d.pad_right, d.kernel_w, d.stride_w, d.dilation_w);
    out->assign(size_t(n) * d.out_channels * oh * ow, 0.0);
    magnitude->assign(out->size(), 0.0);
    size_t idx = 0;
    for (int b = 0; b < n; ++b)
        for (int o = 0; o < d.out_channels; ++o)
            for (int y = 0; y < oh; ++y)
                for (int x = 0; x < ow; ++x, ++idx) {
                    double acc = d.bias ? d.bias[o] : 0.0, mag = std::fabs(acc);
                    taps(d, b, o, y, x, [&](size_t i, size_t w) {
                        acc += double(input[i]) * d.weights[w];
                        mag += std::fabs(double(input[i]) * d.weights[w]);
                    });
                    (*out)[idx] = double(activate(d, float(acc)));
                    (*magnitude)[idx] = mag;
                }
}

}  // namespace naive
