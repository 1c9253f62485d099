#include "core/host_pass.h"

#include <cstring>

#include "core/layout.h"
#include "core/requant.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "cpu/cpu_features.h"
#define QGPU_HOST_X86 1
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#define QGPU_HOST_NEON 1
#endif

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

// Geometry of one image shared by the vector paths.
struct Geometry {
    int32_t c, c4;
    size_t plane;
    explicit Geometry(const TensorDesc& d)
        : c(d.c), c4(round_up4(d.c)), plane(size_t(d.h) * size_t(d.w)) {}
};

// The scalar definition for pixels [p0, p1) of one image (the vector paths' tails).
void quantize_pixels(const Geometry& g, const float* src, int8_t* dst, size_t p0, size_t p1,
                     float inv, int32_t z) {
    for (size_t p = p0; p < p1; ++p) {
        int8_t* o = dst + p * size_t(g.c4);
        for (int32_t c = 0; c < g.c; ++c)
            o[c] = int8_t(arith::quantize_value(src[size_t(c) * g.plane + p], inv, z));
        for (int32_t c = g.c; c < g.c4; ++c) o[c] = int8_t(z);
    }
}

void dequantize_pixels(const Geometry& g, const int8_t* src, float* dst, size_t p0, size_t p1,
                       float s, int32_t z) {
    for (size_t p = p0; p < p1; ++p) {
        const int8_t* in = src + p * size_t(g.c4);
        for (int32_t c = 0; c < g.c; ++c)
            dst[size_t(c) * g.plane + p] = arith::dequantize_value(in[c], s, z);
    }
}

void quantize_pack_scalar(const TensorDesc& d, const float* src, int8_t* dst) {
    const float inv = 1.0f / d.quant.scale;
    const int32_t z = d.quant.zero_point;
    for_each_nhwc4(
        d, [&](size_t i, size_t o) { dst[o] = int8_t(arith::quantize_value(src[i], inv, z)); },
        [&](size_t o) { dst[o] = int8_t(z); });
}

void dequantize_unpack_scalar(const TensorDesc& d, const int8_t* src, float* dst) {
    const float s = d.quant.scale;
    const int32_t z = d.quant.zero_point;
    for_each_nhwc4(
        d, [&](size_t i, size_t o) { dst[i] = arith::dequantize_value(src[o], s, z); },
        [](size_t) {});
}

#ifdef QGPU_HOST_X86
// ---- AVX2: 8 pixels per step -------------------------------------------------------------------
// quantize_value lane-wise: multiply, clamp to [lo - z, hi - z], round half to even (explicit
// rounding mode, so MXCSR does not matter), add z; NaN lanes -> z.
__attribute__((target("avx2"))) inline __m256i quantize8(__m256 x, __m256 inv, __m256 flo,
                                                         __m256 fhi, __m256i z) {
    __m256 v = _mm256_mul_ps(x, inv);
    const __m256 nan = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
    v = _mm256_min_ps(_mm256_max_ps(v, flo), fhi);
    v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i q = _mm256_add_epi32(_mm256_cvttps_epi32(v), z);
    return _mm256_blendv_epi8(q, z, _mm256_castps_si256(nan));
}

__attribute__((target("avx2"))) void quantize_pack_avx2(const TensorDesc& d, const float* src,
                                                        int8_t* dst) {
    const Geometry g(d);
    const float inv = 1.0f / d.quant.scale;
    const int32_t z = d.quant.zero_point;
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256 flo = _mm256_set1_ps(float(arith::kInt8Min - z));
    const __m256 fhi = _mm256_set1_ps(float(arith::kInt8Max - z));
    const __m256i vz = _mm256_set1_epi32(z), low = _mm256_set1_epi32(0xff);
    const int32_t groups = g.c4 / 4;
    for (int32_t n = 0; n < d.n; ++n) {
        const float* s = src + size_t(n) * size_t(g.c) * g.plane;
        int8_t* o = dst + size_t(n) * g.plane * size_t(g.c4);
        size_t p = 0;
        for (; p + 8 <= g.plane; p += 8) {
            for (int32_t gr = 0; gr < groups; ++gr) {
                __m256i q[4];
                for (int k = 0; k < 4; ++k) {
                    const int32_t c = gr * 4 + k;
                    q[k] = c < g.c ? quantize8(_mm256_loadu_ps(s + size_t(c) * g.plane + p), vinv,
                                               flo, fhi, vz)
                                   : vz;
                }
                const __m256i word = _mm256_or_si256(
                    _mm256_or_si256(_mm256_and_si256(q[0], low),
                                    _mm256_slli_epi32(_mm256_and_si256(q[1], low), 8)),
                    _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(q[2], low), 16),
                                    _mm256_slli_epi32(q[3], 24)));
                if (g.c4 == 4) {
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + p * 4), word);
                } else {
                    alignas(32) uint32_t tmp[8];
                    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), word);
                    for (int j = 0; j < 8; ++j)
                        std::memcpy(o + (p + size_t(j)) * size_t(g.c4) + size_t(gr) * 4, &tmp[j], 4);
                }
            }
        }
        quantize_pixels(g, s, o, p, g.plane, inv, z);
    }
}

__attribute__((target("avx2"))) void dequantize_unpack_avx2(const TensorDesc& d, const int8_t* src,
                                                            float* dst) {
    const Geometry g(d);
    const float scale = d.quant.scale;
    const int32_t z = d.quant.zero_point;
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256i vz = _mm256_set1_epi32(z);
    const int32_t groups = g.c4 / 4;
    for (int32_t n = 0; n < d.n; ++n) {
        const int8_t* in = src + size_t(n) * g.plane * size_t(g.c4);
        float* o = dst + size_t(n) * size_t(g.c) * g.plane;
        size_t p = 0;
        for (; p + 8 <= g.plane; p += 8) {
            for (int32_t gr = 0; gr < groups; ++gr) {
                __m256i word;
                if (g.c4 == 4) {
                    word = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + p * 4));
                } else {
                    alignas(32) uint32_t tmp[8];
                    for (int j = 0; j < 8; ++j)
                        std::memcpy(&tmp[j], in + (p + size_t(j)) * size_t(g.c4) + size_t(gr) * 4, 4);
                    word = _mm256_load_si256(reinterpret_cast<const __m256i*>(tmp));
                }
                for (int k = 0; k < 4; ++k) {
                    const int32_t c = gr * 4 + k;
                    if (c >= g.c) break;
                    __m256i q;
                    switch (k) {  // sign-extend byte k of each word (shift counts are immediates)
                        case 0: q = _mm256_srai_epi32(_mm256_slli_epi32(word, 24), 24); break;
                        case 1: q = _mm256_srai_epi32(_mm256_slli_epi32(word, 16), 24); break;
                        case 2: q = _mm256_srai_epi32(_mm256_slli_epi32(word, 8), 24); break;
                        default: q = _mm256_srai_epi32(word, 24); break;
                    }
                    const __m256 f = _mm256_mul_ps(vs, _mm256_cvtepi32_ps(_mm256_sub_epi32(q, vz)));
                    _mm256_storeu_ps(o + size_t(c) * g.plane + p, f);
                }
            }
        }
        dequantize_pixels(g, in, o, p, g.plane, scale, z);
    }
}

// ---- AVX-512: 16 pixels per step ----------------------------------------------------------------
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 false positive inside avx512fintrin.h (the self-initialised _mm512_undefined_*)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) inline __m512i quantize16(__m512 x, __m512 inv, __m512 flo,
                                                             __m512 fhi, __m512i z) {
    __m512 v = _mm512_mul_ps(x, inv);
    const __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    v = _mm512_min_ps(_mm512_max_ps(v, flo), fhi);
    v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512i q = _mm512_add_epi32(_mm512_cvttps_epi32(v), z);
    return _mm512_mask_blend_epi32(nan, q, z);
}

__attribute__((target("avx512f"))) void quantize_pack_avx512(const TensorDesc& d, const float* src,
                                                             int8_t* dst) {
    const Geometry g(d);
    const float inv = 1.0f / d.quant.scale;
    const int32_t z = d.quant.zero_point;
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512 flo = _mm512_set1_ps(float(arith::kInt8Min - z));
    const __m512 fhi = _mm512_set1_ps(float(arith::kInt8Max - z));
    const __m512i vz = _mm512_set1_epi32(z), low = _mm512_set1_epi32(0xff);
    const int32_t groups = g.c4 / 4;
    for (int32_t n = 0; n < d.n; ++n) {
        const float* s = src + size_t(n) * size_t(g.c) * g.plane;
        int8_t* o = dst + size_t(n) * g.plane * size_t(g.c4);
        size_t p = 0;
        for (; p + 16 <= g.plane; p += 16) {
            for (int32_t gr = 0; gr < groups; ++gr) {
                __m512i q[4];
                for (int k = 0; k < 4; ++k) {
                    const int32_t c = gr * 4 + k;
                    q[k] = c < g.c ? quantize16(_mm512_loadu_ps(s + size_t(c) * g.plane + p), vinv,
                                                flo, fhi, vz)
                                   : vz;
                }
                const __m512i word = _mm512_or_si512(
                    _mm512_or_si512(_mm512_and_si512(q[0], low),
                                    _mm512_slli_epi32(_mm512_and_si512(q[1], low), 8)),
                    _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(q[2], low), 16),
                                    _mm512_slli_epi32(q[3], 24)));
                if (g.c4 == 4) {
                    _mm512_storeu_si512(o + p * 4, word);
                } else {
                    alignas(64) uint32_t tmp[16];
                    _mm512_store_si512(tmp, word);
                    for (int j = 0; j < 16; ++j)
                        std::memcpy(o + (p + size_t(j)) * size_t(g.c4) + size_t(gr) * 4, &tmp[j], 4);
                }
            }
        }
        quantize_pixels(g, s, o, p, g.plane, inv, z);
    }
}

__attribute__((target("avx512f"))) void dequantize_unpack_avx512(const TensorDesc& d,
                                                                 const int8_t* src, float* dst) {
    const Geometry g(d);
    const float scale = d.quant.scale;
    const int32_t z = d.quant.zero_point;
    const __m512 vs = _mm512_set1_ps(scale);
    const __m512i vz = _mm512_set1_epi32(z);
    const int32_t groups = g.c4 / 4;
    for (int32_t n = 0; n < d.n; ++n) {
        const int8_t* in = src + size_t(n) * g.plane * size_t(g.c4);
        float* o = dst + size_t(n) * size_t(g.c) * g.plane;
        size_t p = 0;
        for (; p + 16 <= g.plane; p += 16) {
            for (int32_t gr = 0; gr < groups; ++gr) {
                __m512i word;
                if (g.c4 == 4) {
                    word = _mm512_loadu_si512(in + p * 4);
                } else {
                    alignas(64) uint32_t tmp[16];
                    for (int j = 0; j < 16; ++j)
                        std::memcpy(&tmp[j], in + (p + size_t(j)) * size_t(g.c4) + size_t(gr) * 4, 4);
                    word = _mm512_load_si512(tmp);
                }
                for (int k = 0; k < 4; ++k) {
                    const int32_t c = gr * 4 + k;
                    if (c >= g.c) break;
                    __m512i q;
                    switch (k) {
                        case 0: q = _mm512_srai_epi32(_mm512_slli_epi32(word, 24), 24); break;
                        case 1: q = _mm512_srai_epi32(_mm512_slli_epi32(word, 16), 24); break;
                        case 2: q = _mm512_srai_epi32(_mm512_slli_epi32(word, 8), 24); break;
                        default: q = _mm512_srai_epi32(word, 24); break;
                    }
                    const __m512 f = _mm512_mul_ps(vs, _mm512_cvtepi32_ps(_mm512_sub_epi32(q, vz)));
                    _mm512_storeu_ps(o + size_t(c) * g.plane + p, f);
                }
            }
        }
        dequantize_pixels(g, in, o, p, g.plane, scale, z);
    }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // QGPU_HOST_X86

#ifdef QGPU_HOST_NEON
// ---- NEON: 4 pixels per step (fcvtns rounds half to even whatever FPCR says) -----------------
inline int32x4_t quantize4(float32x4_t x, float32x4_t inv, float32x4_t flo, float32x4_t fhi,
                           int32x4_t z) {
    float32x4_t v = vmulq_f32(x, inv);
    const uint32x4_t ok = vceqq_f32(v, v);  // false on NaN
    v = vminq_f32(vmaxq_f32(v, flo), fhi);
    const int32x4_t q = vaddq_s32(vcvtnq_s32_f32(v), z);
    return vbslq_s32(ok, q, z);
}

void quantize_pack_neon(const TensorDesc& d, const float* src, int8_t* dst) {
    const Geometry g(d);
    const float inv = 1.0f / d.quant.scale;
    const int32_t z = d.quant.zero_point;
    const float32x4_t vinv = vdupq_n_f32(inv);
    const float32x4_t flo = vdupq_n_f32(float(arith::kInt8Min - z));
    const float32x4_t fhi = vdupq_n_f32(float(arith::kInt8Max - z));
    const int32x4_t vz = vdupq_n_s32(z), low = vdupq_n_s32(0xff);
    const int32_t groups = g.c4 / 4;
    for (int32_t n = 0; n < d.n; ++n) {
        const float* s = src + size_t(n) * size_t(g.c) * g.plane;
        int8_t* o = dst + size_t(n) * g.plane * size_t(g.c4);
        size_t p = 0;
        for (; p + 4 <= g.plane; p += 4) {
            for (int32_t gr = 0; gr < groups; ++gr) {
                int32x4_t q[4];
                for (int k = 0; k < 4; ++k) {
                    const int32_t c = gr * 4 + k;
                    q[k] = c < g.c ? quantize4(vld1q_f32(s + size_t(c) * g.plane + p), vinv, flo, fhi, vz)
                                   : vz;
                }
                const int32x4_t word = vorrq_s32(
                    vorrq_s32(vandq_s32(q[0], low), vshlq_n_s32(vandq_s32(q[1], low), 8)),
                    vorrq_s32(vshlq_n_s32(vandq_s32(q[2], low), 16), vshlq_n_s32(q[3], 24)));
                if (g.c4 == 4) {
                    vst1q_s32(reinterpret_cast<int32_t*>(o + p * 4), word);
                } else {
                    int32_t tmp[4];
                    vst1q_s32(tmp, word);
                    for (int j = 0; j < 4; ++j)
                        std::memcpy(o + (p + size_t(j)) * size_t(g.c4) + size_t(gr) * 4, &tmp[j], 4);
                }
            }
        }
        quantize_pixels(g, s, o, p, g.plane, inv, z);
    }
}

void dequantize_unpack_neon(const TensorDesc& d, const int8_t* src, float* dst) {
    const Geometry g(d);
    const float scale = d.quant.scale;
    const int32_t z = d.quant.zero_point;
    const float32x4_t vs = vdupq_n_f32(scale);
    const int32x4_t vz = vdupq_n_s32(z);
    const int32_t groups = g.c4 / 4;
    for (int32_t n = 0; n < d.n; ++n) {
        const int8_t* in = src + size_t(n) * g.plane * size_t(g.c4);
        float* o = dst + size_t(n) * size_t(g.c) * g.plane;
        size_t p = 0;
        for (; p + 4 <= g.plane; p += 4) {
            for (int32_t gr = 0; gr < groups; ++gr) {
                int32_t tmp[4];
                for (int j = 0; j < 4; ++j)
                    std::memcpy(&tmp[j], in + (p + size_t(j)) * size_t(g.c4) + size_t(gr) * 4, 4);
                const int32x4_t word = vld1q_s32(tmp);
                for (int k = 0; k < 4; ++k) {
                    const int32_t c = gr * 4 + k;
                    if (c >= g.c) break;
                    int32x4_t q;
                    switch (k) {
                        case 0: q = vshrq_n_s32(vshlq_n_s32(word, 24), 24); break;
                        case 1: q = vshrq_n_s32(vshlq_n_s32(word, 16), 24); break;
                        case 2: q = vshrq_n_s32(vshlq_n_s32(word, 8), 24); break;
                        default: q = vshrq_n_s32(word, 24); break;
                    }
                    vst1q_f32(o + size_t(c) * g.plane + p, vmulq_f32(vs, vcvtq_f32_s32(vsubq_s32(q, vz))));
                }
            }
        }
        dequantize_pixels(g, in, o, p, g.plane, scale, z);
    }
}
#endif  // QGPU_HOST_NEON

}  // namespace

bool host_isa_supported(HostIsa isa) {
    switch (isa) {
        case HostIsa::Scalar: return true;
#ifdef QGPU_HOST_X86
        case HostIsa::Avx2: return cpu::cpu_features().avx2;
        case HostIsa::Avx512: return cpu::cpu_features().avx512;
#endif
#ifdef QGPU_HOST_NEON
        case HostIsa::Neon: return true;
#endif
        default: return false;
    }
}

HostIsa best_host_isa() {
    static const HostIsa best = [] {
        for (HostIsa isa : {HostIsa::Avx512, HostIsa::Avx2, HostIsa::Neon})
            if (host_isa_supported(isa)) return isa;
        return HostIsa::Scalar;
    }();
    return best;
}

const char* host_isa_name(HostIsa isa) {
    switch (isa) {
        case HostIsa::Scalar: return "scalar";
        case HostIsa::Avx2: return "avx2";
        case HostIsa::Avx512: return "avx512";
        case HostIsa::Neon: return "neon";
    }
    return "?";
}

void quantize_pack_nhwc4(const TensorDesc& d, const float* src, int8_t* dst, HostIsa isa) {
    if (!host_isa_supported(isa)) isa = HostIsa::Scalar;
    switch (isa) {
#ifdef QGPU_HOST_X86
        case HostIsa::Avx2: return quantize_pack_avx2(d, src, dst);
        case HostIsa::Avx512: return quantize_pack_avx512(d, src, dst);
#endif
#ifdef QGPU_HOST_NEON
        case HostIsa::Neon: return quantize_pack_neon(d, src, dst);
#endif
        default: return quantize_pack_scalar(d, src, dst);
    }
}

void dequantize_unpack_nhwc4(const TensorDesc& d, const int8_t* src, float* dst, HostIsa isa) {
    if (!host_isa_supported(isa)) isa = HostIsa::Scalar;
    switch (isa) {
#ifdef QGPU_HOST_X86
        case HostIsa::Avx2: return dequantize_unpack_avx2(d, src, dst);
        case HostIsa::Avx512: return dequantize_unpack_avx512(d, src, dst);
#endif
#ifdef QGPU_HOST_NEON
        case HostIsa::Neon: return dequantize_unpack_neon(d, src, dst);
#endif
        default: return dequantize_unpack_scalar(d, src, dst);
    }
}

void quantize_pack_nhwc4(const TensorDesc& d, const float* src, int8_t* dst) {
    quantize_pack_nhwc4(d, src, dst, best_host_isa());
}

void dequantize_unpack_nhwc4(const TensorDesc& d, const int8_t* src, float* dst) {
    dequantize_unpack_nhwc4(d, src, dst, best_host_isa());
}

void pack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst) {
    const int8_t z = int8_t(d.quant.zero_point);
    for_each_nhwc4(d, [&](size_t i, size_t o) { dst[o] = src[i]; }, [&](size_t o) { dst[o] = z; });
}

void unpack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst) {
    for_each_nhwc4(d, [&](size_t i, size_t o) { dst[i] = src[o]; }, [](size_t) {});
}

}  // namespace qgpu
