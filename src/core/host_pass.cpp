#include "core/host_pass.h"

#include "core/layout.h"
#include "core/requant.h"

namespace qgpu {
namespace {

// Visits every (nchw index, nhwc4 index) pair, pixel-major so the NHWC4 side is written
// sequentially; padding channels get `pad(nhwc4 index)`.
template <typename Element, typename Pad>
void for_each_nhwc4(const TensorDesc& d, Element element, Pad pad) {
    const int32_t c4 = round_up4(d.c);
    const size_t plane = size_t(d.h) * size_t(d.w);
    for (int32_t n = 0; n < d.n; ++n) {
        const size_t nchw_base = size_t(n) * size_t(d.c) * plane;
        for (size_t p = 0; p < plane; ++p) {
            const size_t out = (size_t(n) * plane + p) * size_t(c4);
            for (int32_t c = 0; c < d.c; ++c) element(nchw_base + size_t(c) * plane + p, out + size_t(c));
            for (int32_t c = d.c; c < c4; ++c) pad(out + size_t(c));
        }
    }
}

}  // namespace

void quantize_pack_nhwc4(const TensorDesc& d, const float* src, int8_t* dst) {
    const float inv = 1.0f / d.quant.scale;
    const int32_t z = d.quant.zero_point;
    for_each_nhwc4(
        d, [&](size_t i, size_t o) { dst[o] = int8_t(arith::quantize_value(src[i], inv, z)); },
        [&](size_t o) { dst[o] = int8_t(z); });
}

void pack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst) {
    const int8_t z = int8_t(d.quant.zero_point);
    for_each_nhwc4(d, [&](size_t i, size_t o) { dst[o] = src[i]; }, [&](size_t o) { dst[o] = z; });
}

void dequantize_unpack_nhwc4(const TensorDesc& d, const int8_t* src, float* dst) {
    const float s = d.quant.scale;
    const int32_t z = d.quant.zero_point;
    for_each_nhwc4(
        d, [&](size_t i, size_t o) { dst[i] = arith::dequantize_value(src[o], s, z); },
        [](size_t) {});
}

void unpack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst) {
    for_each_nhwc4(d, [&](size_t i, size_t o) { dst[i] = src[o]; }, [](size_t) {});
}

}  // namespace qgpu
