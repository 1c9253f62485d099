// Host-side passes between the API's NCHW arrays and the device layouts (core/layout.h).
// Quantize + pack is one pass: each float is read once and its int8 lands in place.
// The quantize and dequantize passes are vectorised (AVX2, AVX-512 with run-time CPUID dispatch;
// NEON on AArch64) and give results byte-identical to the scalar definition
// (arith::quantize_value / arith::dequantize_value) on every path.
#pragma once
#include <cstdint>

#include "core/backend.h"

namespace qgpu {

enum class HostIsa { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3 };

// Whether this build and this CPU can run `isa`; the best one, chosen once.
bool host_isa_supported(HostIsa isa);
HostIsa best_host_isa();
const char* host_isa_name(HostIsa isa);

// NCHW float -> NHWC4 int8 with quantization (padding channels = zero point).
void quantize_pack_nhwc4(const TensorDesc& d, const float* src, int8_t* dst);
// NCHW int8 -> NHWC4 int8.
void pack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst);
// NHWC4 int8 -> NCHW float with dequantization.
void dequantize_unpack_nhwc4(const TensorDesc& d, const int8_t* src, float* dst);
// NHWC4 int8 -> NCHW int8.
void unpack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst);

// The same passes on one given path (tests compare every path with Scalar). An unsupported
// `isa` falls back to Scalar.
void quantize_pack_nhwc4(const TensorDesc& d, const float* src, int8_t* dst, HostIsa isa);
void dequantize_unpack_nhwc4(const TensorDesc& d, const int8_t* src, float* dst, HostIsa isa);

}  // namespace qgpu
