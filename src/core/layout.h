// Device layouts, written once. Every backend stores tensors this way; shaders and kernels
// index them with exactly these formulas.
//
//  float tensors : NCHW, contiguous, float32 (the API's host layout too).
//  int8 tensors  : "NHWC4": [n][h][w][c4] int8 with c4 = round_up(c, 4); channel c of pixel
//                  (n, y, x) is byte ((n*h + y)*w + x)*c4 + c. Four consecutive channels form
//                  one 32-bit word (little-endian: lowest channel in the low byte), the unit
//                  every dot-product instruction consumes (vpdpbusd, sdot, OpSDot,
//                  dot_4x8packed_ss_int). Padding channels hold the zero point.
#pragma once
#include <cstddef>
#include <cstdint>

namespace qgpu {

inline int32_t round_up4(int32_t c) { return (c + 3) & ~3; }

inline size_t nhwc4_offset(int32_t h, int32_t w, int32_t c4, int32_t n, int32_t y, int32_t x,
                           int32_t c) {
    return ((size_t(n) * size_t(h) + size_t(y)) * size_t(w) + size_t(x)) * size_t(c4) + size_t(c);
}

}  // namespace qgpu
