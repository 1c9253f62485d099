// The interface between the generic fast CPU convolution (src/cpu/fast_conv.cpp: weight packing,
// input repacking, scheduling) and the per-ISA kernels (src/cpu/x86/isa_*.cpp, src/cpu/arm/isa_*.cpp,
// each compiled with its own -m / -march flags and only called after CPUID / getauxval said the
// CPU has them). Plain data only: the ISA files use no standard-library templates, so no
// AVX-512 / dotprod code can leak into generic code through a shared inline instantiation.
#pragma once
#include <cstdint>

namespace qgpu {
namespace cpu {

// How the GEMM kernels see the input and the weights (one 32-bit "word" is what one broadcast
// feeds to one dot-product lane).
enum WordFormat : int32_t {
    WORD_U8X4 = 0,   // 4 channels as u8 (x + 128), weights s8: vpdpbusd. Padding holds z_x + 128;
                     // correction (z_x + 128) * sum(w).
    WORD_I16X2 = 1,  // 2 channels as s16 (x - z_x), weights s16: vpmaddwd. Padding holds 0.
    WORD_F32 = 2,    // 1 channel as float, weights float: FMA (fp32 convolution). Padding 0.0f.
    WORD_S8X4 = 3,   // 4 channels as raw s8 x, weights s8: NEON sdot / smmla / smull. Padding
                     // holds z_x; correction z_x * sum(w).
};

enum OutMode : int32_t {
    OUT_INT8 = 0,      // int32 accumulator -> requantize -> int8 NHWC4
    OUT_F32_DEQ = 1,   // int32 accumulator -> float(sum) * scale + bias, activation -> NCHW
    OUT_F32 = 2,       // float accumulator -> + bias, activation -> NCHW
};

enum FloatAct : int32_t { FACT_NONE = 0, FACT_CLAMP = 1, FACT_LEAKY = 2 };

// How an OUT_INT8 kernel evaluates requant.h (every form gives the same bytes):
enum RequantForm : int32_t {
    RQ_STEPS = 0,      // srdhm, then the rounding divide, then + zp (m0/lshift/rshift/rmask)
    RQ_ONE_SHIFT = 1,  // requantize_one_shift: (acc * m0 + k64) >> s64 in 64-bit lanes, the sign
                       // correction by compare, zp folded into k64 (right shifts 1..23 only)
    RQ_ONE_SHIFT_FOLDED = 2,  // as RQ_ONE_SHIFT on the raw dot sum with `add` folded into k64
                       // too and no sign correction: valid when qmin >= zp, because a negative
                       // accumulator gives requantize <= 0 either way and the clamp makes it qmin
};

// Output-stage parameters. Per-channel arrays are padded to whole vector blocks and indexed by
// (global block) * lanes + lane, where global block = group * blocks_per_group + block.
enum OneShiftKind : int32_t { ONE_SHIFT_NONE = 0, ONE_SHIFT_SIGNED = 1, ONE_SHIFT_UNSIGNED = 2 };

struct OutParams {
    int32_t mode = OUT_INT8;
    const int32_t* add = nullptr;  // int modes: added to the raw dot sum (bias_q - correction,
                                   // or -correction for OUT_F32_DEQ)
    const int32_t* m0 = nullptr;
    const int32_t* lshift = nullptr;
    const int32_t* rshift = nullptr;
    const int32_t* m0n = nullptr;  // LeakyReLU multiplier for negative accumulators
    const int32_t* lshiftn = nullptr;
    const int32_t* rshiftn = nullptr;
    const int32_t* rmask = nullptr;   // (1 << rshift) - 1
    const int32_t* rmaskn = nullptr;
    int32_t any_left = 0;  // some channel has a left shift (multiplier >= 1): saturating path
    int32_t requant_form = RQ_STEPS;
    // RQ_ONE_SHIFT*: per vector block of L lanes, L int64: the even lanes' values, then the odd
    // lanes' (vpmuldq's two halves). k64: 2^30 + 2^(30+n) + zp * 2^(31+n) (+ add * m0 when
    // folded); s64: 31 + n for even lanes, 31 + n - 32 for odd ones (their result is read from
    // the high dword).
    // ONE_SHIFT_UNSIGNED kernels (no 64-bit arithmetic shift: AVX2) shift logically: k64 also
    // holds + 2^63 (wrapping), which moves every sum into [0, 2^64) and the result up by
    // 2^(63 - 31 - n); ybias (int32 per lane, in lane order) is that, taken off afterwards.
    const int64_t* k64 = nullptr;
    const int64_t* s64 = nullptr;
    const int32_t* ybias = nullptr;
    int32_t leaky = 0;
    int32_t zp = 0;
    int32_t lo = 0, hi = 0;  // clamp bounds of requantize() before + zp: qmin - zp, qmax - zp
    const float* scale = nullptr;  // OUT_F32_DEQ
    const float* bias = nullptr;   // OUT_F32_DEQ, OUT_F32
    int32_t fact = FACT_NONE;
    float act_lo = 0, act_hi = 0, slope = 0;
};

struct GemmParams {
    int32_t words = 0;               // words per pixel of one group in the packed input
    int32_t taps = 0;                // taps to run: tap0 .. tap0 + taps - 1
    int32_t tap0 = 0;                // (a border row's valid kernel rows: fast_conv.cpp)
    int32_t taps_packed = 0;         // taps in the packed weights (kernel_h * kernel_w; 0: taps)
    const int64_t* tap_off = nullptr;  // byte offset of each tap from the pixel's origin
    const int64_t* pix_off = nullptr;  // byte offset of each output pixel's origin [M]
    int64_t pix_stride = 0;          // nonzero: pix_off[m] == m * pix_stride for every m
    int64_t M = 0;                   // output pixels per image
    const uint8_t* weights = nullptr;  // packed, see fast_conv.cpp
    int32_t blocks_per_group = 0;
    int32_t cout_g = 0;
    int32_t out_c = 0, out_c4 = 0;
    OutParams out;
};

// Float 1x1 convs with stride 1 and no padding, straight on the NCHW planes with pixels in the
// lanes: out[c][m] = act(bias[c] + sum over i of w[c][i] * in[i][m]) (no repacking: the planes
// are the GEMM's operands as they are).
struct PointF32Params {
    int32_t cin = 0, cout = 0;
    int64_t M = 0;                   // pixels per plane
    const float* weights = nullptr;  // [cout][cin]
    OutParams out;                   // OUT_F32: bias per channel, fact, act_lo / act_hi, slope
};

// Float depthwise convs with horizontal stride 1 on the NCHW planes: pixels in the lanes, each
// tap an unaligned load of the input row (masked at the borders), no padded copy.
struct DwPlaneF32Params {
    int32_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
    int32_t kh = 0, kw = 0, sh = 0, dh = 0, dw = 0, pad_top = 0, pad_left = 0;
    const float* weights = nullptr;  // [channel][kh][kw]
    OutParams out;                   // OUT_F32: bias per channel, activation
};

struct DwParams {
    int32_t C = 0, CL = 0;  // channels, channels padded to whole vectors
    int32_t kh = 0, kw = 0, sh = 0, sw = 0, dh = 0, dw = 0;
    int64_t Wp = 0;         // padded input width (pixels)
    int32_t out_h = 0, out_w = 0, out_c4 = 0;
    const float* weights = nullptr;  // [tap][CL]
    OutParams out;  // per-channel arrays indexed by channel
};

// Int8 depthwise on 4-tap words (dot-product ISAs). A packed input row of channels [c0, c1)
// (multiples of lanes; written by dw_word_pack_row, the caller keeps the rows in use) is
// [(c1 - c0) / lanes][padded column][lanes] 32-bit words; word (x, c) holds bytes i = 0..3:
// x_q[x + i * dw][c] + 128 as u8 (z_x + 128 outside the image), so one vpdpbusd lane sums 4
// horizontal taps of one channel. Weights: [ky][word j][CL] words whose byte i is
// w[c][ky][4 j + i] (0 beyond kw). acc = dot - (z_x + 128) * sum(w) is the reference's sum.
struct DwWordParams {
    int32_t C = 0, CL = 0;     // channels, channels padded to whole vectors
    int32_t kh = 0, nwk = 0;   // kernel rows, words per kernel row (ceil(kw / 4))
    int32_t sh = 0, sw = 0, dh = 0, dw = 0;
    int64_t Wp = 0;            // packed columns: in_w + pad_left + pad_right
    int32_t in_w = 0, in_c4 = 0, pad_left = 0;
    int32_t out_h = 0, out_w = 0, out_c4 = 0;
    const int8_t* pad_pixel = nullptr;  // CL bytes of z_x: what a padding tap reads
    const uint8_t* weights = nullptr;
    OutParams out;             // OUT_INT8 or OUT_F32_DEQ; per-channel arrays indexed by channel
};

struct IsaKernels {
    const char* name;
    int32_t lanes;        // int32/float lanes per vector
    int32_t int8_format;  // WORD_U8X4 or WORD_I16X2
    int32_t max_blocks;   // most vector blocks of output channels one GEMM tile holds
    int32_t tile_quant;   // pixel chunks should be multiples of this (the widest tile of each
                          // block count divides it; a range may choose a narrower one)
    // Output pixels [m_begin, m_end) of group g, blocks [blk0, blk0 + nb), one image.
    // `in` points at the packed input of group g of that image, `out` at the output image.
    void (*gemm_int)(const GemmParams&, const uint8_t* in, void* out, int32_t g, int32_t blk0,
                     int32_t nb, int64_t m_begin, int64_t m_end);
    void (*gemm_f32)(const GemmParams&, const uint8_t* in, void* out, int32_t g, int32_t blk0,
                     int32_t nb, int64_t m_begin, int64_t m_end);
    // Output row oy of a depthwise conv (float-exact products of the padded float input).
    void (*dw_row)(const DwParams&, const float* in, void* out, int32_t oy);
    // Int8 weights are packed in groups of this many consecutive words of one output channel:
    // [tap][ceil(words / g)][block][lane][g words] (1: one word per lane, the broadcast
    // kernels; 2: smmla's 8-byte rows). The fp32 GEMM always uses 1.
    int32_t int8_word_group = 1;
    // Int8 depthwise on 4-tap words (nullptr where the ISA has no u8 x s8 dot product: the
    // float dw_row is used), channels [c0, c1). Pack: one padded row from its NHWC4 input row
    // `src` (nullptr: a padding row). Row: output row oy of one image from the packed input
    // rows rows[ky] = padded row oy * sh + ky * dh.
    void (*dw_word_pack_row)(const DwWordParams&, const int8_t* src, uint8_t* dst, int32_t c0, int32_t c1) = nullptr;
    void (*dw_word_row)(const DwWordParams&, const uint8_t* const* rows, void* out, int32_t oy, int32_t c0,
                        int32_t c1) = nullptr;
    // dst[i] = src[i] ^ 0x80 for i < bytes (the u8 input words of WORD_U8X4) at the ISA's
    // vector width; nullptr: the generic loop
    void (*flip_copy)(const uint8_t* src, uint8_t* dst, int64_t bytes) = nullptr;
    // The kernels take OutParams::requant_form RQ_ONE_SHIFT*: ONE_SHIFT_SIGNED (AVX-512's
    // 64-bit arithmetic shift) or ONE_SHIFT_UNSIGNED (logical shifts, see OutParams::ybias)
    int32_t one_shift_requant = ONE_SHIFT_NONE;
    // Pixel slots gemm_int computes for a range of `pixels` output pixels with nb blocks (its
    // tile widths), for choosing how to group blocks; nullptr: groups of max_blocks.
    int64_t (*tile_slots)(int32_t nb, int64_t pixels) = nullptr;
    // Float 1x1 convs (PointF32Params): pixels [m0, m1) of one image, every output channel;
    // nullptr: the GEMM on a channels-last copy.
    void (*point_f32)(const PointF32Params&, const float* in, float* out, int64_t m0, int64_t m1) = nullptr;
    // Float depthwise (DwPlaneF32Params): channel c's output plane from its input plane.
    void (*dw_plane_f32)(const DwPlaneF32Params&, const float* in, float* out, int32_t c) = nullptr;
    // gemm_int for int8 1x1 convs without padding (WORD_U8X4, groups == 1, any stride) on the
    // NHWC4 input image as it is: `in` holds raw s8 bytes (flipped to u8 in registers), pixel m
    // at in + pix_off[m] (GemmParams::pix_stride set where that is m * stride). nullptr:
    // gemm_int on a flipped copy.
    void (*gemm_int_direct)(const GemmParams&, const uint8_t* in, void* out, int32_t g, int32_t blk0,
                            int32_t nb, int64_t m_begin, int64_t m_end) = nullptr;
};

}  // namespace cpu
}  // namespace qgpu
