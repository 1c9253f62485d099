// Kernel templates shared by the AArch64 ISA files. Each isa_*.cpp includes <arm_neon.h>, defines
// QGPU_ARM_DOTPROD / QGPU_ARM_I8MM where its -march flags allow them, and then includes this file
// INSIDE an anonymous namespace, so every instantiation has internal linkage and carries that
// file's -march flags only.
//
// Layouts (see fast_conv.cpp and isa_kernels.h): one vector = 4 int32 / float lanes = 4 output
// channels ("block"). The packed input is the zero-point-padded NHWC copy, one 32-bit word =
// 4 channels as raw s8 (WORD_S8X4) or 1 float (WORD_F32). Weights of the broadcast kernels
// (int8_word_group 1): [tap][word][block][4 lanes x 4 bytes]; of smmla (group 2):
// [tap][word pair][block][4 lanes x 8 bytes].
//
// Exactness: the int8 accumulator is the exact integer sum; the output stage is requant.h
// lane-wise: sqshl = saturating_shift_left, sqrdmulh = srdhm (the same rounding and the same
// single saturating case), and rounding_divide_by_pot as gemmlowp does it on NEON: srshl rounds
// half up, so negative values are first lowered by one (ties then go away from zero). The float
// output stage is float(sum) * scale, then + bias (two roundings; -ffp-contract=off keeps the
// compiler from fusing them).

inline int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int32_t imin32(int32_t a, int32_t b) { return a < b ? a : b; }

constexpr int L = 4;  // lanes per vector

// requant.h requantize(x, m0, shift) with left = max(shift, 0), neg_right = min(shift, 0);
// kLeft = false when no channel shifts left.
template <bool kLeft>
inline int32x4_t requant(int32x4_t x, int32x4_t m0, int32x4_t left, int32x4_t neg_right) {
    if (kLeft) x = vqshlq_s32(x, left);
    const int32x4_t h = vqrdmulhq_s32(x, m0);
    // -1 where h < 0 and the shift is non-zero (neg_right has its sign bit set exactly then)
    const int32x4_t fixup = vshrq_n_s32(vandq_s32(h, neg_right), 31);
    return vrshlq_s32(vqaddq_s32(h, fixup), neg_right);
}

// int8 output: dst[0..n) = clamp(requantize(acc + add) + zp) for the channels at param index pidx
template <bool kLeft>
inline void out_int8_t(const OutParams& op, int32x4_t acc, size_t pidx, int8_t* dst, int n) {
    const int32x4_t x = vaddq_s32(acc, vld1q_s32(op.add + pidx));
    int32x4_t m0 = vld1q_s32(op.m0 + pidx);
    int32x4_t r = vld1q_s32(op.rshift + pidx);
    int32x4_t l = kLeft ? vld1q_s32(op.lshift + pidx) : r;
    if (op.leaky) {
        const uint32x4_t neg = vcltzq_s32(x);
        m0 = vbslq_s32(neg, vld1q_s32(op.m0n + pidx), m0);
        r = vbslq_s32(neg, vld1q_s32(op.rshiftn + pidx), r);
        if (kLeft) l = vbslq_s32(neg, vld1q_s32(op.lshiftn + pidx), l);
    }
    const int32x4_t v = requant<kLeft>(x, m0, l, vnegq_s32(r));
    // requant.h: y = v + zp < qmin ? qmin : (y > qmax ? qmax : y), done before adding zp
    const int32x4_t lo = vdupq_n_s32(op.lo);
    const int32x4_t c = vbslq_s32(vcltq_s32(v, lo), lo, vminq_s32(v, vdupq_n_s32(op.hi)));
    const int32x4_t y = vaddq_s32(c, vdupq_n_s32(op.zp));  // in [-128, 127]
    const int16x4_t h = vmovn_s32(y);
    const int8x8_t b = vmovn_s16(vcombine_s16(h, h));
    if (n == 4) {
        const uint32_t word = vget_lane_u32(vreinterpret_u32_s8(b), 0);
        __builtin_memcpy(dst, &word, 4);
        return;
    }
    int8_t bytes[8];
    vst1_s8(bytes, b);
    for (int i = 0; i < n; ++i) dst[i] = bytes[i];
}
inline void out_int8(const OutParams& op, int32x4_t acc, size_t pidx, int8_t* dst, int n) {
    if (op.any_left) out_int8_t<true>(op, acc, pidx, dst, n);
    else out_int8_t<false>(op, acc, pidx, dst, n);
}

// float output: y is the sum (OUT_F32_DEQ: the integer sum as float; OUT_F32: float
// accumulation); lane i goes to dst[i * stride] for i < n.
inline void out_float(const OutParams& op, float32x4_t y, size_t pidx, float* dst, int64_t stride, int n) {
    if (op.mode == OUT_F32_DEQ) y = vmulq_f32(y, vld1q_f32(op.scale + pidx));
    y = vaddq_f32(y, vld1q_f32(op.bias + pidx));
    if (op.fact == FACT_CLAMP) {
        const float32x4_t lo = vdupq_n_f32(op.act_lo), hi = vdupq_n_f32(op.act_hi);
        y = vbslq_f32(vcltq_f32(y, lo), lo, y);  // y < lo ? lo : y
        y = vbslq_f32(vcltq_f32(hi, y), hi, y);  // y > hi ? hi : y
    } else if (op.fact == FACT_LEAKY) {
        y = vbslq_f32(vcltq_f32(y, vdupq_n_f32(0.0f)), vmulq_f32(y, vdupq_n_f32(op.slope)), y);
    }
    float tmp[4];
    vst1q_f32(tmp, y);
    for (int i = 0; i < n; ++i) dst[i * stride] = tmp[i];
}

// One int32 accumulator vector (4 channels of block blk, pixel m) through the output stage.
inline void emit_int(const GemmParams& gp, int32x4_t acc, void* out, int32_t g, int32_t blk, int64_t m) {
    const size_t pidx = size_t(int64_t(g) * gp.blocks_per_group + blk) * L;
    const int n = imin32(L, gp.cout_g - blk * L);
    const int64_t oc0 = int64_t(g) * gp.cout_g + int64_t(blk) * L;
    if (gp.out.mode == OUT_INT8) {
        out_int8(gp.out, acc, pidx, static_cast<int8_t*>(out) + m * gp.out_c4 + oc0, n);
    } else {
        const float32x4_t y = vcvtq_f32_s32(vaddq_s32(acc, vld1q_s32(gp.out.add + pidx)));
        out_float(gp.out, y, pidx, static_cast<float*>(out) + oc0 * gp.M + m, gp.M, n);
    }
}
inline void emit_f32(const GemmParams& gp, float32x4_t acc, void* out, int32_t g, int32_t blk, int64_t m) {
    const size_t pidx = size_t(int64_t(g) * gp.blocks_per_group + blk) * L;
    const int n = imin32(L, gp.cout_g - blk * L);
    const int64_t oc0 = int64_t(g) * gp.cout_g + int64_t(blk) * L;
    out_float(gp.out, acc, pidx, static_cast<float*>(out) + oc0 * gp.M + m, gp.M, n);
}

// ---- broadcast GEMM (int8_word_group 1): acc[block][pixel] += w[block] x word J of pixel ------
// A "Dot" policy: V = a register of 4 input words, A = accumulator, load4 (4 words), load1 (one
// word in every lane), loadw (16 weight bytes), dot<J> (acc += w . word J of x, per lane).

struct DotF32 {  // fp32: fmla by element
    static constexpr bool kFloat = true;
    using V = float32x4_t;
    using A = float32x4_t;
    static A zero() { return vdupq_n_f32(0.0f); }
    static V load4(const uint8_t* p) { return vld1q_f32(reinterpret_cast<const float*>(p)); }
    static V load1(const uint8_t* p) { return vld1q_dup_f32(reinterpret_cast<const float*>(p)); }
    static V loadw(const uint8_t* p) { return vld1q_f32(reinterpret_cast<const float*>(p)); }
    template <int J>
    static A dot(A acc, V w, V x) { return vfmaq_laneq_f32(acc, w, x, J); }
};

// ARMv8.0 int8: 16 products by smull/smull2 (s8 x s8 -> s16), addp sums the two products of
// each pair (|x| <= 128, |w| <= 127: a pair is at most 32512, no int16 overflow) so the 8 s16
// lanes are (ch0: 2 halves, ch1: 2 halves, ...), and sadalp adds those halves into the 4 int32
// lanes of ch0..ch3. 4 instructions (+1 dup per pixel) per 16 MACs.
struct DotNeon {
    static constexpr bool kFloat = false;
    using V = int8x16_t;
    using A = int32x4_t;
    static A zero() { return vdupq_n_s32(0); }
    static V load4(const uint8_t* p) { return vld1q_s8(reinterpret_cast<const int8_t*>(p)); }
    static V load1(const uint8_t* p) {
        return vreinterpretq_s8_s32(vld1q_dup_s32(reinterpret_cast<const int32_t*>(p)));
    }
    static V loadw(const uint8_t* p) { return vld1q_s8(reinterpret_cast<const int8_t*>(p)); }
    template <int J>
    static A dot(A acc, V w, V x) {
        const int8x16_t xb = vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(x), J));
        const int16x8_t p0 = vmull_s8(vget_low_s8(w), vget_low_s8(xb));
        const int16x8_t p1 = vmull_high_s8(w, xb);
        return vpadalq_s16(acc, vpaddq_s16(p0, p1));
    }
};

#if defined(QGPU_ARM_DOTPROD)
struct DotSdot {  // ARMv8.2 dotprod: sdot by element, 16 MACs per instruction
    static constexpr bool kFloat = false;
    using V = int8x16_t;
    using A = int32x4_t;
    static A zero() { return vdupq_n_s32(0); }
    static V load4(const uint8_t* p) { return vld1q_s8(reinterpret_cast<const int8_t*>(p)); }
    static V load1(const uint8_t* p) {
        return vreinterpretq_s8_s32(vld1q_dup_s32(reinterpret_cast<const int32_t*>(p)));
    }
    static V loadw(const uint8_t* p) { return vld1q_s8(reinterpret_cast<const int8_t*>(p)); }
    template <int J>
    static A dot(A acc, V w, V x) { return vdotq_laneq_s32(acc, w, x, J); }
};
#endif

template <class D, int OB, int P, int J>
inline void bcast_step(typename D::A (&acc)[OB][P], const typename D::V (&x)[P], const uint8_t*& w) {
    typename D::V wv[OB];
    for (int ob = 0; ob < OB; ++ob) wv[ob] = D::loadw(w + ob * 16);
    w += OB * 16;
    for (int p = 0; p < P; ++p)
        for (int ob = 0; ob < OB; ++ob) acc[ob][p] = D::template dot<J>(acc[ob][p], wv[ob], x[p]);
}

// One tile: P output pixels [m, m + P) (clamped to m_end) x OB blocks of 4 channels.
template <class D, int OB, int P>
inline void bcast_tile(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0,
                       int64_t m, int64_t m_end) {
    const uint8_t* base[P];
    for (int p = 0; p < P; ++p) base[p] = in + gp.pix_off[m + p < m_end ? m + p : m_end - 1];
    typename D::A acc[OB][P];
    for (int ob = 0; ob < OB; ++ob)
        for (int p = 0; p < P; ++p) acc[ob][p] = D::zero();
    const int32_t words = gp.words, words4 = words & ~3;
    const int64_t K = int64_t(gp.taps_packed ? gp.taps_packed : gp.taps) * words;
    const uint8_t* w = gp.weights + ((int64_t(g) * gp.blocks_per_group + blk0) * K + int64_t(gp.tap0) * words * OB) * 16;
    for (int32_t t = gp.tap0; t < gp.tap0 + gp.taps; ++t) {
        const int64_t off = gp.tap_off[t];
        const uint8_t* a[P];
        for (int p = 0; p < P; ++p) a[p] = base[p] + off;
        int32_t i = 0;
        for (; i < words4; i += 4) {  // 4 words of each pixel in one register, used lane by lane
            typename D::V x[P];
            for (int p = 0; p < P; ++p) x[p] = D::load4(a[p] + 4 * int64_t(i));
            bcast_step<D, OB, P, 0>(acc, x, w);
            bcast_step<D, OB, P, 1>(acc, x, w);
            bcast_step<D, OB, P, 2>(acc, x, w);
            bcast_step<D, OB, P, 3>(acc, x, w);
        }
        for (; i < words; ++i) {  // tail words, one at a time (no read past the pixel)
            typename D::V x[P];
            for (int p = 0; p < P; ++p) x[p] = D::load1(a[p] + 4 * int64_t(i));
            bcast_step<D, OB, P, 0>(acc, x, w);
        }
    }
    const int np = int(imin64(P, m_end - m));
    for (int ob = 0; ob < OB; ++ob)
        for (int p = 0; p < np; ++p) {
            if constexpr (D::kFloat) emit_f32(gp, acc[ob][p], out, g, blk0 + ob, m + p);
            else emit_int(gp, acc[ob][p], out, g, blk0 + ob, m + p);
        }
}

template <class D, int OB, int P>
void bcast_range(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0,
                 int64_t m_begin, int64_t m_end) {
    for (int64_t m = m_begin; m < m_end; m += P) bcast_tile<D, OB, P>(gp, in, out, g, blk0, m, m_end);
}

// Tiles for up to 3 blocks: accumulators + weights + inputs stay within the 32 vector registers
// (3 x 6: 18 + 3 + 6). Every P divides 24 (the tile_quant of the NEON kernels).
template <class D>
void bcast_gemm(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int32_t nb,
                int64_t m_begin, int64_t m_end) {
    if (nb == 1) bcast_range<D, 1, 8>(gp, in, out, g, blk0, m_begin, m_end);
    else if (nb == 2) bcast_range<D, 2, 8>(gp, in, out, g, blk0, m_begin, m_end);
    else bcast_range<D, 3, 6>(gp, in, out, g, blk0, m_begin, m_end);
}
// The ARMv8.0 int8 step needs 4 temporaries, and GCC turns each 4-word input load into 4 word
// loads + dups held for the whole step: 2 x 6 already spilled, 2 x 4 and 1 x 6 do not (much).
template <class D>
void bcast_gemm_narrow(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0,
                       int32_t nb, int64_t m_begin, int64_t m_end) {
    if (nb == 1) bcast_range<D, 1, 6>(gp, in, out, g, blk0, m_begin, m_end);
    else bcast_range<D, 2, 4>(gp, in, out, g, blk0, m_begin, m_end);
}

#if defined(QGPU_ARM_I8MM)
// ---- smmla GEMM (int8_word_group 2) -------------------------------------------------------
// smmla multiplies a 2x8 s8 matrix (2 pixels x 2 words) by the transpose of another (2 channels
// x the same 2 words) into a 2x2 int32 tile [p0c0, p0c1, p1c0, p1c1]. A block of 4 channels is
// two such channel pairs (32 packed weight bytes per word pair); P pixels are P/2 pixel pairs.
inline int8x8_t load_word_lo(const uint8_t* p) {  // one word, upper half zero (odd word count)
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return vreinterpret_s8_u64(vcreate_u64(uint64_t(v)));
}

template <int OB, int P>
inline void mmla_tile(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0,
                      int64_t m, int64_t m_end) {
    constexpr int PP = P / 2;
    const uint8_t* base[P];
    for (int p = 0; p < P; ++p) base[p] = in + gp.pix_off[m + p < m_end ? m + p : m_end - 1];
    int32x4_t acc[OB][2][PP];
    for (int ob = 0; ob < OB; ++ob)
        for (int c = 0; c < 2; ++c)
            for (int pp = 0; pp < PP; ++pp) acc[ob][c][pp] = vdupq_n_s32(0);
    const int32_t words = gp.words, pairs = words / 2;
    const int64_t wpt = (words + 1) / 2 * 2;  // packed words per tap
    const int64_t K = int64_t(gp.taps_packed ? gp.taps_packed : gp.taps) * wpt;
    const int8_t* w = reinterpret_cast<const int8_t*>(gp.weights) +
                      ((int64_t(g) * gp.blocks_per_group + blk0) * K + int64_t(gp.tap0) * wpt * OB) * 16;
    for (int32_t t = gp.tap0; t < gp.tap0 + gp.taps; ++t) {
        const int64_t off = gp.tap_off[t];
        const int8_t* a[P];
        for (int p = 0; p < P; ++p) a[p] = reinterpret_cast<const int8_t*>(base[p] + off);
        for (int32_t i = 0; i < pairs; ++i) {
            int8x16_t wv[OB][2];
            for (int ob = 0; ob < OB; ++ob) {
                wv[ob][0] = vld1q_s8(w + ob * 32);
                wv[ob][1] = vld1q_s8(w + ob * 32 + 16);
            }
            w += OB * 32;
            for (int pp = 0; pp < PP; ++pp) {
                const int8x16_t x = vcombine_s8(vld1_s8(a[2 * pp] + 8 * int64_t(i)), vld1_s8(a[2 * pp + 1] + 8 * int64_t(i)));
                for (int ob = 0; ob < OB; ++ob) {
                    acc[ob][0][pp] = vmmlaq_s32(acc[ob][0][pp], x, wv[ob][0]);
                    acc[ob][1][pp] = vmmlaq_s32(acc[ob][1][pp], x, wv[ob][1]);
                }
            }
        }
        if (words & 1) {  // the last word alone: its pair partner is zero in x and in w
            int8x16_t wv[OB][2];
            for (int ob = 0; ob < OB; ++ob) {
                wv[ob][0] = vld1q_s8(w + ob * 32);
                wv[ob][1] = vld1q_s8(w + ob * 32 + 16);
            }
            w += OB * 32;
            for (int pp = 0; pp < PP; ++pp) {
                const int64_t o = 8 * int64_t(pairs);
                const int8x16_t x = vcombine_s8(load_word_lo(reinterpret_cast<const uint8_t*>(a[2 * pp] + o)),
                                                load_word_lo(reinterpret_cast<const uint8_t*>(a[2 * pp + 1] + o)));
                for (int ob = 0; ob < OB; ++ob) {
                    acc[ob][0][pp] = vmmlaq_s32(acc[ob][0][pp], x, wv[ob][0]);
                    acc[ob][1][pp] = vmmlaq_s32(acc[ob][1][pp], x, wv[ob][1]);
                }
            }
        }
    }
    const int np = int(imin64(P, m_end - m));
    for (int ob = 0; ob < OB; ++ob)
        for (int pp = 0; pp < PP; ++pp) {
            // [p0c0 p0c1 p1c0 p1c1] and [p0c2 p0c3 p1c2 p1c3] -> pixel rows [c0 c1 c2 c3]
            const int64x2_t lo = vreinterpretq_s64_s32(acc[ob][0][pp]);
            const int64x2_t hi = vreinterpretq_s64_s32(acc[ob][1][pp]);
            if (2 * pp < np) emit_int(gp, vreinterpretq_s32_s64(vzip1q_s64(lo, hi)), out, g, blk0 + ob, m + 2 * pp);
            if (2 * pp + 1 < np) emit_int(gp, vreinterpretq_s32_s64(vzip2q_s64(lo, hi)), out, g, blk0 + ob, m + 2 * pp + 1);
        }
}

template <int OB, int P>
void mmla_range(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0,
                int64_t m_begin, int64_t m_end) {
    for (int64_t m = m_begin; m < m_end; m += P) mmla_tile<OB, P>(gp, in, out, g, blk0, m, m_end);
}

// 2 x 8: 16 accumulators + 4 weight + 4 input registers; 3 x 6: 18 + 6 + 3.
inline void mmla_gemm(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int32_t nb,
                      int64_t m_begin, int64_t m_end) {
    if (nb == 1) mmla_range<1, 8>(gp, in, out, g, blk0, m_begin, m_end);
    else if (nb == 2) mmla_range<2, 8>(gp, in, out, g, blk0, m_begin, m_end);
    else mmla_range<3, 6>(gp, in, out, g, blk0, m_begin, m_end);
}
#endif

// ---- depthwise -----------------------------------------------------------------------------
// Output row oy: P pixels x 4 channels at a time, float FMA on the padded float input. For int8
// convs the products and sums are integers below 2^24 (kernel <= 518 taps), so float arithmetic
// is exact and the conversion back (fcvtns) is too.
template <int P>
void dw_row_impl(const DwParams& d, const float* in, void* out, int32_t oy) {
    const int64_t rowstride = d.Wp * d.CL;
    const int64_t M = int64_t(d.out_h) * d.out_w;
    for (int32_t ox0 = 0; ox0 < d.out_w; ox0 += P) {
        const int np = imin32(P, d.out_w - ox0);
        int64_t xoff[P];
        for (int p = 0; p < P; ++p) xoff[p] = int64_t(ox0 + (p < np ? p : np - 1)) * d.sw * d.CL;
        for (int32_t cb = 0; cb < d.CL; cb += L) {
            float32x4_t acc[P];
            for (int p = 0; p < P; ++p) acc[p] = vdupq_n_f32(0.0f);
            for (int32_t ky = 0; ky < d.kh; ++ky) {
                const float* r = in + int64_t(oy * d.sh + ky * d.dh) * rowstride + cb;
                const float* wr = d.weights + int64_t(ky) * d.kw * d.CL + cb;
                for (int32_t kx = 0; kx < d.kw; ++kx) {
                    const float32x4_t w = vld1q_f32(wr + int64_t(kx) * d.CL);
                    const float* rk = r + int64_t(kx) * d.dw * d.CL;
                    for (int p = 0; p < P; ++p) acc[p] = vfmaq_f32(acc[p], vld1q_f32(rk + xoff[p]), w);
                }
            }
            const int n = imin32(L, d.C - cb);
            for (int p = 0; p < np; ++p) {
                const int64_t opix = int64_t(oy) * d.out_w + ox0 + p;
                if (d.out.mode == OUT_INT8)
                    out_int8(d.out, vcvtnq_s32_f32(acc[p]), size_t(cb),
                             static_cast<int8_t*>(out) + opix * d.out_c4 + cb, n);
                else
                    out_float(d.out, acc[p], size_t(cb), static_cast<float*>(out) + cb * M + opix, M, n);
            }
        }
    }
}
