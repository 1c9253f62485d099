// Host-side passes between the API's NCHW arrays and the device layouts (core/layout.h).
// Quantize + pack is one pass: each float is read once and its int8 lands in place.
#pragma once
#include <cstdint>

#include "core/backend.h"

namespace qgpu {

// NCHW float -> NHWC4 int8 with quantization (padding channels = zero point).
void quantize_pack_nhwc4(const TensorDesc& d, const float* src, int8_t* dst);
// NCHW int8 -> NHWC4 int8.
void pack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst);
// NHWC4 int8 -> NCHW float with dequantization.
void dequantize_unpack_nhwc4(const TensorDesc& d, const int8_t* src, float* dst);
// NHWC4 int8 -> NCHW int8.
void unpack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst);

}  // namespace qgpu
