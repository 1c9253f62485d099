#include "core/host_pass.h"

#include <algorithm>
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

// A run of pixels [p0, p1) of one image: `src`/`dst` point at the image's first element.
struct Run {
    size_t p0, p1;
};

#if defined(QGPU_HOST_X86) || defined(QGPU_HOST_NEON)
// Row k of a 16x16 transpose block is loaded from pixel kBitReverse[k]: the four unpack/zip
// rounds below deliver the columns with their elements in bit-reversed row order, so loading in
// that order makes column j hold pixels 0..15 of channel j in order.
constexpr int kBitReverse[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
#endif
// Runs `statement` (which uses the column index j_ and the column col_ = cols[j_]) for the
// block's first `channels` columns. A whole block is unrolled with constant indices; a partial
// one indexes a copy, so the 16 transposed registers themselves never go through the stack.
#define QGPU_EMIT_CHANNELS(channels, Col, cols, statement)                            \
    do {                                                                           \
        const int qgpu_channels_ = (channels);                                     \
        if (qgpu_channels_ == 16) {                                                \
            _Pragma("GCC unroll 16") for (int j_ = 0; j_ < 16; ++j_) {             \
                const auto col_ = (cols)[j_];                                      \
                statement;                                                         \
            }                                                                      \
        } else {                                                                   \
            Col spill_[16];                                                        \
            _Pragma("GCC unroll 16") for (int k_ = 0; k_ < 16; ++k_) spill_[k_] = (cols)[k_]; \
            for (int j_ = 0; j_ < qgpu_channels_; ++j_) {                          \
                const auto col_ = spill_[j_];                                      \
                statement;                                                         \
            }                                                                      \
        }                                                                          \
    } while (0)

// kChannelMajor: the wide-channel unpacks walk 16-channel blocks outermost and the run's pixels
// inside, so only 16 output planes are written at a time, each sequentially (the run's input,
// at most kTaskElements bytes, stays in cache for the next block). Pixel-major order writes all
// c planes at once: with 64 planes of 200 KB (1x64x224x224) every store missed to DRAM without
// prefetch and the pass ran at 0.02x memcpy.

#ifdef QGPU_HOST_X86
// 16x16 bytes: on return v[j] holds byte j of every input row (see kBitReverse).
__attribute__((always_inline)) inline void transpose16x16_epi8(__m128i v[16]) {
    __m128i t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm_unpacklo_epi8(v[i], v[i + 8]);
        t[2 * i + 1] = _mm_unpackhi_epi8(v[i], v[i + 8]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        v[2 * i] = _mm_unpacklo_epi16(t[i], t[i + 8]);
        v[2 * i + 1] = _mm_unpackhi_epi16(t[i], t[i + 8]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm_unpacklo_epi32(v[i], v[i + 8]);
        t[2 * i + 1] = _mm_unpackhi_epi32(v[i], v[i + 8]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        v[2 * i] = _mm_unpacklo_epi64(t[i], t[i + 8]);
        v[2 * i + 1] = _mm_unpackhi_epi64(t[i], t[i + 8]);
    }
}

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

__attribute__((target("avx2"))) void quantize_run_avx2(const Geometry& g, const float* s, int8_t* o,
                                                       Run r, float inv, int32_t z) {
    const __m256 vinv = _mm256_set1_ps(inv);
    const __m256 flo = _mm256_set1_ps(float(arith::kInt8Min - z));
    const __m256 fhi = _mm256_set1_ps(float(arith::kInt8Max - z));
    const __m256i vz = _mm256_set1_epi32(z), low = _mm256_set1_epi32(0xff);
    const int32_t groups = g.c4 / 4;
    size_t p = r.p0;
    for (; p + 8 <= r.p1; p += 8) {
        for (int32_t gr = 0; gr < groups; ++gr) {
            __m256i q[4];
            for (int k = 0; k < 4; ++k) {
                const int32_t c = gr * 4 + k;
                q[k] = c < g.c ? quantize8(_mm256_loadu_ps(s + size_t(c) * g.plane + p), vinv, flo, fhi, vz) : vz;
            }
            const __m256i word = _mm256_or_si256(
                _mm256_or_si256(_mm256_and_si256(q[0], low), _mm256_slli_epi32(_mm256_and_si256(q[1], low), 8)),
                _mm256_or_si256(_mm256_slli_epi32(_mm256_and_si256(q[2], low), 16), _mm256_slli_epi32(q[3], 24)));
            if (g.c4 == 4) {
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + p * 4), word);
            } else {
                alignas(32) uint32_t tmp[8];
                _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), word);
                for (int j = 0; j < 8; ++j) std::memcpy(o + (p + size_t(j)) * size_t(g.c4) + size_t(gr) * 4, &tmp[j], 4);
            }
        }
    }
    quantize_pixels(g, s, o, p, r.p1, inv, z);
}

// 16 int8 -> scale * float(q - z), two stores of 8.
__attribute__((target("avx2"))) inline void store_dequantized16_avx2(float* dst, __m128i q, __m256 vs, __m256i vz) {
    const __m256i lo = _mm256_cvtepi8_epi32(q), hi = _mm256_cvtepi8_epi32(_mm_unpackhi_epi64(q, q));
    _mm256_storeu_ps(dst, _mm256_mul_ps(vs, _mm256_cvtepi32_ps(_mm256_sub_epi32(lo, vz))));
    _mm256_storeu_ps(dst + 8, _mm256_mul_ps(vs, _mm256_cvtepi32_ps(_mm256_sub_epi32(hi, vz))));
}

__attribute__((target("avx2"))) void dequantize_run_avx2(const Geometry& g, const int8_t* in, float* o,
                                                         Run r, float scale, int32_t z) {
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256i vz = _mm256_set1_epi32(z);
    size_t p = r.p0;
    if (g.c4 == 4) {  // one word per pixel: 8 pixels are one contiguous load
        for (; p + 8 <= r.p1; p += 8) {
            const __m256i word = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + p * 4));
            for (int k = 0; k < 4 && k < g.c; ++k) {
                __m256i q;
                switch (k) {  // sign-extend byte k of each word (shift counts are immediates)
                    case 0: q = _mm256_srai_epi32(_mm256_slli_epi32(word, 24), 24); break;
                    case 1: q = _mm256_srai_epi32(_mm256_slli_epi32(word, 16), 24); break;
                    case 2: q = _mm256_srai_epi32(_mm256_slli_epi32(word, 8), 24); break;
                    default: q = _mm256_srai_epi32(word, 24); break;
                }
                _mm256_storeu_ps(o + size_t(k) * g.plane + p,
                                 _mm256_mul_ps(vs, _mm256_cvtepi32_ps(_mm256_sub_epi32(q, vz))));
            }
        }
    } else {  // 16 pixels x 16 channels transposed in registers; see kChannelMajor
        const size_t end = r.p0 + (r.p1 - r.p0) / 16 * 16;
        // locals: the float stores could alias `g` as far as the compiler knows
        const size_t c4 = size_t(g.c4), plane = g.plane;
        const int32_t channels = g.c;
        for (int32_t c0 = 0; c0 < channels; c0 += 16) {
            for (p = r.p0; p < end; p += 16) {
                const int32_t words = std::min<int32_t>(16, int32_t(c4) - c0) / 4;  // never read past the pixel
                const __m128i mask = _mm_cmpgt_epi32(_mm_set1_epi32(words), _mm_setr_epi32(0, 1, 2, 3));
                __m128i v[16];
                for (int k = 0; k < 16; ++k)
                    v[k] = _mm_maskload_epi32(
                        reinterpret_cast<const int*>(in + (p + size_t(kBitReverse[k])) * c4 + size_t(c0)), mask);
                transpose16x16_epi8(v);
                QGPU_EMIT_CHANNELS(std::min(16, channels - c0), __m128i, v,
                                   store_dequantized16_avx2(o + size_t(c0 + j_) * plane + p, col_, vs, vz));
            }
        }
    }
    dequantize_pixels(g, in, o, p, r.p1, scale, z);
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

__attribute__((target("avx512f"))) void quantize_run_avx512(const Geometry& g, const float* s, int8_t* o,
                                                            Run r, float inv, int32_t z) {
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512 flo = _mm512_set1_ps(float(arith::kInt8Min - z));
    const __m512 fhi = _mm512_set1_ps(float(arith::kInt8Max - z));
    const __m512i vz = _mm512_set1_epi32(z), low = _mm512_set1_epi32(0xff);
    const int32_t groups = g.c4 / 4;
    size_t p = r.p0;
    for (; p + 16 <= r.p1; p += 16) {
        for (int32_t gr = 0; gr < groups; ++gr) {
            __m512i q[4];
            for (int k = 0; k < 4; ++k) {
                const int32_t c = gr * 4 + k;
                q[k] = c < g.c ? quantize16(_mm512_loadu_ps(s + size_t(c) * g.plane + p), vinv, flo, fhi, vz) : vz;
            }
            const __m512i word = _mm512_or_si512(
                _mm512_or_si512(_mm512_and_si512(q[0], low), _mm512_slli_epi32(_mm512_and_si512(q[1], low), 8)),
                _mm512_or_si512(_mm512_slli_epi32(_mm512_and_si512(q[2], low), 16), _mm512_slli_epi32(q[3], 24)));
            if (g.c4 == 4) {
                _mm512_storeu_si512(o + p * 4, word);
            } else {
                alignas(64) uint32_t tmp[16];
                _mm512_store_si512(tmp, word);
                for (int j = 0; j < 16; ++j) std::memcpy(o + (p + size_t(j)) * size_t(g.c4) + size_t(gr) * 4, &tmp[j], 4);
            }
        }
    }
    quantize_pixels(g, s, o, p, r.p1, inv, z);
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void dequantize_run_avx512(
    const Geometry& g, const int8_t* in, float* o, Run r, float scale, int32_t z) {
    const __m512 vs = _mm512_set1_ps(scale);
    const __m512i vz = _mm512_set1_epi32(z);
    size_t p = r.p0;
    if (g.c4 == 4) {  // one word per pixel: 16 pixels are one contiguous load
        for (; p + 16 <= r.p1; p += 16) {
            const __m512i word = _mm512_loadu_si512(in + p * 4);
            for (int k = 0; k < 4 && k < g.c; ++k) {
                __m512i q;
                switch (k) {
                    case 0: q = _mm512_srai_epi32(_mm512_slli_epi32(word, 24), 24); break;
                    case 1: q = _mm512_srai_epi32(_mm512_slli_epi32(word, 16), 24); break;
                    case 2: q = _mm512_srai_epi32(_mm512_slli_epi32(word, 8), 24); break;
                    default: q = _mm512_srai_epi32(word, 24); break;
                }
                _mm512_storeu_ps(o + size_t(k) * g.plane + p,
                                 _mm512_mul_ps(vs, _mm512_cvtepi32_ps(_mm512_sub_epi32(q, vz))));
            }
        }
    } else {  // 16 pixels x 16 channels transposed in registers; see kChannelMajor
        const size_t end = r.p0 + (r.p1 - r.p0) / 16 * 16;
        // locals: the float stores could alias `g` as far as the compiler knows
        const size_t c4 = size_t(g.c4), plane = g.plane;
        const int32_t channels = g.c;
        for (int32_t c0 = 0; c0 < channels; c0 += 16) {
            for (p = r.p0; p < end; p += 16) {
                const int32_t bytes = std::min<int32_t>(16, int32_t(c4) - c0);  // never read past the pixel
                const __mmask16 mask = __mmask16((1u << bytes) - 1u);
                __m128i v[16];
                for (int k = 0; k < 16; ++k)
                    v[k] = _mm_maskz_loadu_epi8(mask, in + (p + size_t(kBitReverse[k])) * c4 + size_t(c0));
                transpose16x16_epi8(v);
                QGPU_EMIT_CHANNELS(std::min(16, channels - c0), __m128i, v,
                                   _mm512_storeu_ps(o + size_t(c0 + j_) * plane + p,
                                                    _mm512_mul_ps(vs, _mm512_cvtepi32_ps(_mm512_sub_epi32(
                                                                          _mm512_cvtepi8_epi32(col_), vz)))));
            }
        }
    }
    dequantize_pixels(g, in, o, p, r.p1, scale, z);
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

void quantize_run_neon(const Geometry& g, const float* s, int8_t* o, Run r, float inv, int32_t z) {
    const float32x4_t vinv = vdupq_n_f32(inv);
    const float32x4_t flo = vdupq_n_f32(float(arith::kInt8Min - z));
    const float32x4_t fhi = vdupq_n_f32(float(arith::kInt8Max - z));
    const int32x4_t vz = vdupq_n_s32(z), low = vdupq_n_s32(0xff);
    const int32_t groups = g.c4 / 4;
    size_t p = r.p0;
    for (; p + 4 <= r.p1; p += 4) {
        for (int32_t gr = 0; gr < groups; ++gr) {
            int32x4_t q[4];
            for (int k = 0; k < 4; ++k) {
                const int32_t c = gr * 4 + k;
                q[k] = c < g.c ? quantize4(vld1q_f32(s + size_t(c) * g.plane + p), vinv, flo, fhi, vz) : vz;
            }
            const int32x4_t word = vorrq_s32(vorrq_s32(vandq_s32(q[0], low), vshlq_n_s32(vandq_s32(q[1], low), 8)),
                                             vorrq_s32(vshlq_n_s32(vandq_s32(q[2], low), 16), vshlq_n_s32(q[3], 24)));
            if (g.c4 == 4) {
                vst1q_s32(reinterpret_cast<int32_t*>(o + p * 4), word);
            } else {
                int32_t tmp[4];
                vst1q_s32(tmp, word);
                for (int j = 0; j < 4; ++j) std::memcpy(o + (p + size_t(j)) * size_t(g.c4) + size_t(gr) * 4, &tmp[j], 4);
            }
        }
    }
    quantize_pixels(g, s, o, p, r.p1, inv, z);
}

// 16x16 bytes with zips (zip1 = the low-half interleave, like SSE unpacklo): see kBitReverse.
inline void transpose16x16_u8(uint8x16_t v[16]) {
    uint8x16_t t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = vzip1q_u8(v[i], v[i + 8]);
        t[2 * i + 1] = vzip2q_u8(v[i], v[i + 8]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        v[2 * i] = vreinterpretq_u8_u16(vzip1q_u16(vreinterpretq_u16_u8(t[i]), vreinterpretq_u16_u8(t[i + 8])));
        v[2 * i + 1] = vreinterpretq_u8_u16(vzip2q_u16(vreinterpretq_u16_u8(t[i]), vreinterpretq_u16_u8(t[i + 8])));
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = vreinterpretq_u8_u32(vzip1q_u32(vreinterpretq_u32_u8(v[i]), vreinterpretq_u32_u8(v[i + 8])));
        t[2 * i + 1] = vreinterpretq_u8_u32(vzip2q_u32(vreinterpretq_u32_u8(v[i]), vreinterpretq_u32_u8(v[i + 8])));
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        v[2 * i] = vreinterpretq_u8_u64(vzip1q_u64(vreinterpretq_u64_u8(t[i]), vreinterpretq_u64_u8(t[i + 8])));
        v[2 * i + 1] = vreinterpretq_u8_u64(vzip2q_u64(vreinterpretq_u64_u8(t[i]), vreinterpretq_u64_u8(t[i + 8])));
    }
}

inline void store_dequantized16(float* dst, int8x16_t q, float32x4_t vs, int32x4_t vz) {
    const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_s8(vget_high_s8(q));
    const int32x4_t w[4] = {vmovl_s16(vget_low_s16(lo)), vmovl_s16(vget_high_s16(lo)),
                            vmovl_s16(vget_low_s16(hi)), vmovl_s16(vget_high_s16(hi))};
    for (int k = 0; k < 4; ++k) vst1q_f32(dst + 4 * k, vmulq_f32(vs, vcvtq_f32_s32(vsubq_s32(w[k], vz))));
}

void dequantize_run_neon(const Geometry& g, const int8_t* in, float* o, Run r, float scale, int32_t z) {
    const float32x4_t vs = vdupq_n_f32(scale);
    const int32x4_t vz = vdupq_n_s32(z);
    size_t p = r.p0;
    if (g.c4 == 4) {  // one word per pixel: 4 pixels per load
        for (; p + 4 <= r.p1; p += 4) {
            const int32x4_t word = vld1q_s32(reinterpret_cast<const int32_t*>(in + p * 4));
            for (int k = 0; k < 4 && k < g.c; ++k) {
                int32x4_t q;
                switch (k) {
                    case 0: q = vshrq_n_s32(vshlq_n_s32(word, 24), 24); break;
                    case 1: q = vshrq_n_s32(vshlq_n_s32(word, 16), 24); break;
                    case 2: q = vshrq_n_s32(vshlq_n_s32(word, 8), 24); break;
                    default: q = vshrq_n_s32(word, 24); break;
                }
                vst1q_f32(o + size_t(k) * g.plane + p, vmulq_f32(vs, vcvtq_f32_s32(vsubq_s32(q, vz))));
            }
        }
    } else {  // 16 pixels x 16 channels transposed in registers; see kChannelMajor
        const size_t end = r.p0 + (r.p1 - r.p0) / 16 * 16;
        // locals: the float stores could alias `g` as far as the compiler knows
        const size_t c4 = size_t(g.c4), plane = g.plane;
        const int32_t channels = g.c;
        for (int32_t c0 = 0; c0 < channels; c0 += 16) {
            for (p = r.p0; p < end; p += 16) {
                const int32_t bytes = std::min<int32_t>(16, int32_t(c4) - c0);  // never read past the pixel
                uint8x16_t v[16];
                for (int k = 0; k < 16; ++k) {
                    const int8_t* row = in + (p + size_t(kBitReverse[k])) * c4 + size_t(c0);
                    if (bytes == 16) {
                        v[k] = vld1q_u8(reinterpret_cast<const uint8_t*>(row));
                    } else {
                        uint8_t tmp[16] = {0};
                        std::memcpy(tmp, row, size_t(bytes));
                        v[k] = vld1q_u8(tmp);
                    }
                }
                transpose16x16_u8(v);
                QGPU_EMIT_CHANNELS(std::min(16, channels - c0), uint8x16_t, v,
                                   store_dequantized16(o + size_t(c0 + j_) * plane + p, vreinterpretq_s8_u8(col_), vs, vz));
            }
        }
    }
    dequantize_pixels(g, in, o, p, r.p1, scale, z);
}
#endif  // QGPU_HOST_NEON

// Splits the tensor into runs of whole pixels (a multiple of 64 pixels, about kTaskElements
// elements each, never across images) and calls body(image, run) for each, through `parallel`
// when the tensor is large. The split depends only on the shape.
constexpr size_t kTaskElements = size_t(1) << 16;

template <typename Body>
void for_each_run(const TensorDesc& d, const HostParallelFor& parallel, Body body) {
    const size_t plane = size_t(d.h) * size_t(d.w);
    if (plane == 0 || d.n <= 0 || d.c <= 0) return;
    const size_t per_pixel = size_t(round_up4(d.c));
    size_t run = std::max<size_t>(64, (kTaskElements / per_pixel + 63) / 64 * 64);
    if (run > plane) run = plane;
    const size_t runs_per_image = (plane + run - 1) / run;
    const int64_t tasks = int64_t(d.n) * int64_t(runs_per_image);
    auto task = [&](int64_t t) {
        const int32_t n = int32_t(t / int64_t(runs_per_image));
        const size_t p0 = size_t(t % int64_t(runs_per_image)) * run;
        body(n, Run{p0, std::min(plane, p0 + run)});
    };
    if (parallel && tasks > 1 && d.count() >= kHostPassParallelMin) {
        parallel(tasks, task);
    } else {
        for (int64_t t = 0; t < tasks; ++t) task(t);
    }
}

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

void quantize_pack_nhwc4(const TensorDesc& d, const float* src, int8_t* dst, HostIsa isa,
                         const HostParallelFor& parallel) {
    if (!host_isa_supported(isa)) isa = HostIsa::Scalar;
    if (isa == HostIsa::Scalar) return quantize_pack_scalar(d, src, dst);  // the definition
    const Geometry g(d);
    const float inv = 1.0f / d.quant.scale;
    const int32_t z = d.quant.zero_point;
    for_each_run(d, parallel, [&](int32_t n, Run r) {
        const float* s = src + size_t(n) * size_t(g.c) * g.plane;
        int8_t* o = dst + size_t(n) * g.plane * size_t(g.c4);
        switch (isa) {
#ifdef QGPU_HOST_X86
            case HostIsa::Avx2: return quantize_run_avx2(g, s, o, r, inv, z);
            case HostIsa::Avx512: return quantize_run_avx512(g, s, o, r, inv, z);
#endif
#ifdef QGPU_HOST_NEON
            case HostIsa::Neon: return quantize_run_neon(g, s, o, r, inv, z);
#endif
            default: return quantize_pixels(g, s, o, r.p0, r.p1, inv, z);
        }
    });
}

void dequantize_unpack_nhwc4(const TensorDesc& d, const int8_t* src, float* dst, HostIsa isa,
                             const HostParallelFor& parallel) {
    if (!host_isa_supported(isa)) isa = HostIsa::Scalar;
    if (isa == HostIsa::Scalar) return dequantize_unpack_scalar(d, src, dst);  // the definition
    const Geometry g(d);
    const float scale = d.quant.scale;
    const int32_t z = d.quant.zero_point;
    for_each_run(d, parallel, [&](int32_t n, Run r) {
        const int8_t* in = src + size_t(n) * g.plane * size_t(g.c4);
        float* o = dst + size_t(n) * size_t(g.c) * g.plane;
        switch (isa) {
#ifdef QGPU_HOST_X86
            case HostIsa::Avx2: return dequantize_run_avx2(g, in, o, r, scale, z);
            case HostIsa::Avx512: return dequantize_run_avx512(g, in, o, r, scale, z);
#endif
#ifdef QGPU_HOST_NEON
            case HostIsa::Neon: return dequantize_run_neon(g, in, o, r, scale, z);
#endif
            default: return dequantize_pixels(g, in, o, r.p0, r.p1, scale, z);
        }
    });
}

void quantize_pack_nhwc4(const TensorDesc& d, const float* src, int8_t* dst, const HostParallelFor& parallel) {
    quantize_pack_nhwc4(d, src, dst, best_host_isa(), parallel);
}

void dequantize_unpack_nhwc4(const TensorDesc& d, const int8_t* src, float* dst, const HostParallelFor& parallel) {
    dequantize_unpack_nhwc4(d, src, dst, best_host_isa(), parallel);
}

void pack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst) {
    const int8_t z = int8_t(d.quant.zero_point);
    for_each_nhwc4(d, [&](size_t i, size_t o) { dst[o] = src[i]; }, [&](size_t o) { dst[o] = z; });
}

void unpack_nhwc4(const TensorDesc& d, const int8_t* src, int8_t* dst) {
    for_each_nhwc4(d, [&](size_t i, size_t o) { dst[i] = src[o]; }, [](size_t) {});
}

}  // namespace qgpu
