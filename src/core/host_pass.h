// Host-side passes between the API's NCHW arrays and the device layouts (core/layout.h).
// Quantize + pack is one pass: each float is read once and its int8 lands in place.
// The quantize and dequantize passes are vectorised (AVX2, AVX-512 with run-time CPUID dispatch;
// NEON on AArch64) and give results byte-identical to the scalar definition
// (arith::quantize_value / arith::dequantize_value) on every path. The NHWC4 -> NCHW dequantize
// transposes blocks of 16 pixels x 16 channels in registers (byte unpacks), so wide channel
// counts read whole pixels and write whole runs of each channel plane.
// Large tensors are split into tasks of whole pixel runs (independent of the thread count:
// every element is computed by the same formula whichever task holds it, so the bytes are the
// same with any number of threads) and handed to the caller's HostParallelFor.
#pragma once
#include <cstdint>
#include <functional>

#include "core/backend.h"

namespace qgpu {

enum class HostIsa { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3 };

// Whether this build and this CPU can run `isa`; the best one, chosen once.
bool host_isa_supported(HostIsa isa);
HostIsa best_host_isa();
const char* host_isa_name(HostIsa isa);

// Runs task(i) for every i in [0, count), possibly on several threads, and returns when all
// are done (e.g. the context's ThreadPool::parallel_for). Empty: everything on the caller.
using HostParallelFor = std::function<void(int64_t count, const std::function<void(int64_t)>& task)>;

// NCHW float -> NHWC4 int8 with quantization (padding channels = zero point).
void quantize_pack_nhwc4(const TensorDesc& d, const float* src, int8_t* dst,
                         const HostParallelFor& parallel = HostParallelFor());
// NCHW int8 -> NHWC4 int8.
void pack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst);
// NHWC4 int8 -> NCHW float with dequantization.
void dequantize_unpack_nhwc4(const TensorDesc& d, const int8_t* src, float* dst,
                             const HostParallelFor& parallel = HostParallelFor());
// NHWC4 int8 -> NCHW int8.
void unpack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst);

// The same passes on one given path (tests compare every path with Scalar). An unsupported
// `isa` falls back to Scalar.
void quantize_pack_nhwc4(const TensorDesc& d, const float* src, int8_t* dst, HostIsa isa,
                         const HostParallelFor& parallel = HostParallelFor());
void dequantize_unpack_nhwc4(const TensorDesc& d, const int8_t* src, float* dst, HostIsa isa,
                             const HostParallelFor& parallel = HostParallelFor());
// Tensors below this many elements run as one task on the caller (a job costs microseconds).
constexpr size_t kHostPassParallelMin = size_t(1) << 18;

}  // namespace qgpu
