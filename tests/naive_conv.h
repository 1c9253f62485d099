// An independent formulation of qgpu's convolution, for tests: plain NCHW loops over int64
// sums, and the documented requantization evaluated in long double (exact for these ranges)
// instead of the library's int32 fixed-point steps. Shares no code with src/.
#pragma once
#include <cstdint>
#include <vector>

#include "qgpu.h"

namespace naive {

struct Quantized {
    std::vector<int8_t> weights;  // OIHW
    std::vector<float> scales;    // per output channel
};

// Output size of one spatial dimension.
int out_size(int in, int pad_a, int pad_b, int k, int stride, int dilation);

// Symmetric per-output-channel quantization as docs/quantization.md defines it.
Quantized quantize_weights(const qgpu_conv_desc& d);

// Round to nearest, ties to even, then clamp: the documented activation quantize.
int quantize(float x, float scale, int zero_point);

// int8 conv: input NCHW int8 (n images); returns NCHW int8 (int8 output) in `q_out` or
// NCHW float (float output) in `f_out`.
void conv_int8(const qgpu_conv_desc& d, int n, const std::vector<int8_t>& input,
               std::vector<int8_t>* q_out, std::vector<float>* f_out);

// fp32 conv in double precision; also returns, per output, the sum of |terms| (for tolerances).
void conv_f32(const qgpu_conv_desc& d, int n, const std::vector<float>& input,
              std::vector<double>* out, std::vector<double>* magnitude);

// The documented requantization, in long double: ties toward +inf after the Q31 product,
// then ties away from zero for the power-of-two division.
int32_t requantize(int64_t acc, double multiplier);

}  // namespace naive
