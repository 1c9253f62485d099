// THE arithmetic of qgpu: every backend (scalar, AVX2, VNNI, NEON, Vulkan, OpenCL) computes
// exactly these functions, bit for bit. docs/quantization.md explains each choice; change
// nothing here without changing every kernel and that document.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace qgpu {
namespace arith {

constexpr int32_t kInt8Min = -128;
constexpr int32_t kInt8Max = 127;
constexpr int32_t kWeightMax = 127;  // weights are symmetric: [-127, 127]
// Largest reduction length (in_channels/groups * kernel_h * kernel_w) we accept: with
// |x - z| <= 255 and |w| <= 127 the sum of products stays below 2^30, and bias_q is saturated
// to +-2^30, so the int32 accumulator can never overflow on any backend.
constexpr int64_t kMaxReduction = 32768;
constexpr int32_t kBiasLimit = 1 << 30;

// Round to nearest, ties to even (the IEEE default, and what cvtps2dq / fcvtns / roundEven /
// rint do), independent of the current rounding mode.
inline float round_half_even(float v) {
    float r = std::floor(v);
    float diff = v - r;
    if (diff > 0.5f || (diff == 0.5f && std::fmod(r, 2.0f) != 0.0f)) r += 1.0f;
    return r;
}

// The quantize of qgpu: q = clamp(round_half_even(x * inv_scale) + zp, lo, hi); NaN -> zp.
// inv_scale is computed once as 1.0f / scale (a float division), so vector code multiplies.
inline int32_t quantize_value(float x, float inv_scale, int32_t zero_point,
                              int32_t lo = kInt8Min, int32_t hi = kInt8Max) {
    float v = x * inv_scale;
    if (v != v) return std::min(std::max(zero_point, lo), hi);
    // clamp first (bounds are integers, so clamp and round commute) so the cast is defined
    float flo = float(lo - zero_point), fhi = float(hi - zero_point);
    v = v < flo ? flo : (v > fhi ? fhi : v);
    return int32_t(round_half_even(v)) + zero_point;
}

inline float dequantize_value(int32_t q, float scale, int32_t zero_point) {
    return scale * float(q - zero_point);
}

// gemmlowp SaturatingRoundingDoublingHighMul: (a*b + 2^30) >> 31 with an arithmetic shift
// (nearest, ties toward +infinity); the single overflow case saturates.
inline int32_t srdhm(int32_t a, int32_t b) {
    if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
    int64_t ab = int64_t(a) * int64_t(b);
    return int32_t((ab + (int64_t(1) << 30)) >> 31);
}

// gemmlowp RoundingDivideByPOT: x / 2^n, nearest, ties away from zero. n in [0, 31].
inline int32_t rounding_divide_by_pot(int32_t x, int n) {
    const int32_t mask = int32_t((int64_t(1) << n) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> n) + (remainder > threshold ? 1 : 0);
}

// x * 2^n saturated to int32 (n in [0, 30]); only multipliers >= 1 need it.
inline int32_t saturating_shift_left(int32_t x, int n) {
    int64_t v = int64_t(x) * (int64_t(1) << n);
    if (v > std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
    if (v < std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::min();
    return int32_t(v);
}

// acc * M with M = m0 * 2^(shift - 31): TFLite/gemmlowp "double rounding".
inline int32_t requantize(int32_t acc, int32_t m0, int32_t shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return rounding_divide_by_pot(srdhm(saturating_shift_left(acc, left), m0), right);
}

// requantize() for a right shift n = -shift in [1, 31] as ONE arithmetic shift of a 64-bit
// value (the form the AVX-512 output stage evaluates; equal for every acc and m0 >= 0):
//   requantize = (acc * m0 + K - (acc < 0 ? 2^31 : 0)) >> (31 + n),  K = 2^30 + 2^(30 + n).
// Why: srdhm is x = floor((P + 2^30) / 2^31) with P = acc * m0, and the rounding divide is
// floor((x + 2^(n-1) - [x < 0]) / 2^n); nested floors of integer quotients merge
// (floor((floor(a / b) + c) / d) = floor((a + c b) / (b d))). x < 0 exactly when P < -2^30,
// i.e. acc < 0 (m0 >= 2^30), except acc = -1 with m0 = 2^30 (and m0 = 0), where both forms
// give 0. |acc * m0| < 2^62 and K <= 2^61 + 2^30: no 64-bit overflow.
inline int64_t requantize_one_shift_addend(int32_t shift) {
    return (int64_t(1) << 30) + (int64_t(1) << (30 - shift));
}
inline int32_t requantize_one_shift(int32_t acc, int32_t m0, int32_t shift) {
    const int64_t t = int64_t(acc) * m0 + requantize_one_shift_addend(shift) - (acc < 0 ? (int64_t(1) << 31) : 0);
    return int32_t(t >> (31 - shift));
}

// Real multiplier M >= 0 -> (m0, shift), m0 in [2^30, 2^31) (or 0 for M == 0 or M < 2^-32),
// shift in [-31, 30]. Returns false when M is negative, not finite, or >= 2^30.
inline bool quantize_multiplier(double m, int32_t* m0, int32_t* shift) {
    if (!(m >= 0.0) || !std::isfinite(m)) return false;
    if (m == 0.0) { *m0 = 0; *shift = 0; return true; }
    int e = 0;
    const double q = std::frexp(m, &e);  // m = q * 2^e, q in [0.5, 1)
    int64_t q_fixed = int64_t(std::round(q * double(int64_t(1) << 31)));  // half away from 0
    if (q_fixed == (int64_t(1) << 31)) { q_fixed /= 2; ++e; }
    if (e < -31) { *m0 = 0; *shift = 0; return true; }  // below half an LSB of any acc
    if (e > 30) return false;
    *m0 = int32_t(q_fixed);
    *shift = e;
    return true;
}

// The int8 output stage: y = clamp(z_y + requantize(acc), qmin, qmax). `acc` already holds
// bias_q. LeakyReLU uses the second multiplier (M * slope) where acc < 0.
inline int8_t requantize_output(int32_t acc, int32_t m0, int32_t shift, int32_t m0_neg,
                                int32_t shift_neg, bool leaky, int32_t zero_point,
                                int32_t qmin, int32_t qmax) {
    int32_t v = (leaky && acc < 0) ? requantize(acc, m0_neg, shift_neg) : requantize(acc, m0, shift);
    int64_t y = int64_t(v) + zero_point;
    y = y < qmin ? qmin : (y > qmax ? qmax : y);
    return int8_t(y);
}

// Bias in the accumulator's units: round half away from zero of bias / (s_x * s_w), computed
// in double, saturated to +-2^30.
inline int32_t quantize_bias(float bias, float input_scale, float weight_scale) {
    double v = std::round(double(bias) / (double(input_scale) * double(weight_scale)));
    if (!(v == v)) return 0;
    if (v > kBiasLimit) return kBiasLimit;
    if (v < -kBiasLimit) return -kBiasLimit;
    return int32_t(v);
}

}  // namespace arith
}  // namespace qgpu
