// Kernel templates shared by the x86 ISA files. Each isa_*.cpp includes <immintrin.h>, defines
// QGPU_X86_WIDTH (512 or 256) and then includes this file INSIDE an anonymous namespace, so
// every instantiation has internal linkage and carries that file's -m flags only.
//
// Exactness: the int8 paths produce the scalar reference's bytes. The accumulator is the exact
// integer sum; the output stage below is requant.h evaluated lane-wise with the same integer
// operations (64-bit products, arithmetic rounding shifts), and the float output stage is
// float(sum) * scale followed by a separate + bias (two roundings, as in ConvPlan::dequantize).

inline int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int32_t imin32(int32_t a, int32_t b) { return a < b ? a : b; }
inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
inline float load_f32(const uint8_t* p) {
    float v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

#if QGPU_X86_WIDTH == 512
struct Ops {
    static constexpr int L = 16;
    using VI = __m512i;
    using VF = __m512;
    using M = __mmask16;
    static VI loadi(const int32_t* p) { return _mm512_loadu_si512(p); }
    static VF loadf(const float* p) { return _mm512_loadu_ps(p); }
    static VI set1i(int32_t v) { return _mm512_set1_epi32(v); }
    static VF set1f(float v) { return _mm512_set1_ps(v); }
    static VI addi(VI a, VI b) { return _mm512_add_epi32(a, b); }
    static VF addf(VF a, VF b) { return _mm512_add_ps(a, b); }
    static VF mulf(VF a, VF b) { return _mm512_mul_ps(a, b); }
    static VF i2f(VI a) { return _mm512_cvtepi32_ps(a); }
    static VI f2i(VF a) { return _mm512_cvtps_epi32(a); }  // exact: values are integers
    static M ltzi(VI a) { return _mm512_cmplt_epi32_mask(a, _mm512_setzero_si512()); }
    static M lti(VI a, VI b) { return _mm512_cmplt_epi32_mask(a, b); }
    static VI blendi(M m, VI a, VI b) { return _mm512_mask_blend_epi32(m, a, b); }  // m ? b : a
    static M ltf(VF a, VF b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
    static VF blendf(M m, VF a, VF b) { return _mm512_mask_blend_ps(m, a, b); }
    static VI mini(VI a, VI b) { return _mm512_min_epi32(a, b); }
    // requant.h requantize(x, m0, shift) with left = max(shift, 0), right = max(-shift, 0),
    // mask = (1 << right) - 1; kLeft = false when no channel shifts left
    template <bool kLeft>
    static VI requant(VI x, VI m0, VI left, VI right, VI mask) {
        VI s = x;
        if (kLeft) {
            s = _mm512_sllv_epi32(x, left);
            const M ovf = _mm512_cmpneq_epi32_mask(_mm512_srav_epi32(s, left), x);
            const VI sat = _mm512_mask_blend_epi32(ltzi(x), _mm512_set1_epi32(0x7fffffff),
                                                   _mm512_set1_epi32(int32_t(0x80000000u)));
            s = _mm512_mask_blend_epi32(ovf, s, sat);
        }
        const VI nudge = _mm512_set1_epi64(int64_t(1) << 30);
        const VI pe = _mm512_add_epi64(_mm512_mul_epi32(s, m0), nudge);
        // vpmuldq reads the low dword of each qword: the odd lanes of m0 are shifted down by the
        // (port-cheap) dword shuffle instead of a second 64-bit shift
        const VI po = _mm512_add_epi64(
            _mm512_mul_epi32(_mm512_srli_epi64(s, 32), _mm512_shuffle_epi32(m0, _MM_PERM_DDBB)), nudge);
        // bits 31..62 of each 64-bit product: even lanes by >> 31, odd lanes (upper dword) by << 1
        const VI high = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 31), _mm512_slli_epi64(po, 1));
        const VI rem = _mm512_and_si512(high, mask);
        const VI thr = _mm512_add_epi32(_mm512_srli_epi32(mask, 1), _mm512_srli_epi32(high, 31));
        const VI q = _mm512_srav_epi32(high, right);
        return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, _mm512_set1_epi32(1));
    }
    static void store_i8(int8_t* dst, VI v, int n) {
        __m128i b = _mm512_cvtepi32_epi8(v);
        // keep vpmovdb in its register form: the masked memory form is microcoded on AMD
        __asm__("" : "+x"(b));
        if (n == 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), b);
        else _mm_mask_storeu_epi8(dst, __mmask16((1u << n) - 1u), b);
    }
    static void storef(float* dst, VF v) { _mm512_storeu_ps(dst, v); }
};

struct WordU8 {  // vpdpbusd: u8 input words x s8 weights
    static constexpr bool kFloat = false;
    static constexpr int VB = 64;
    using VA = __m512i;
    static VA zero() { return _mm512_setzero_si512(); }
    static VA loadw(const uint8_t* p) { return _mm512_loadu_si512(p); }
    static VA bcast(const uint8_t* p) { return _mm512_set1_epi32(int32_t(load_u32(p))); }
    static VA dot(VA acc, VA x, VA w) { return _mm512_dpbusd_epi32(acc, x, w); }
};
struct WordF32 {
    static constexpr bool kFloat = true;
    static constexpr int VB = 64;
    using VA = __m512;
    static VA zero() { return _mm512_setzero_ps(); }
    static VA loadw(const uint8_t* p) { return _mm512_loadu_ps(reinterpret_cast<const float*>(p)); }
    static VA bcast(const uint8_t* p) { return _mm512_set1_ps(load_f32(p)); }
    static VA dot(VA acc, VA x, VA w) { return _mm512_fmadd_ps(x, w, acc); }
};
#else  // 256
struct Ops {
    static constexpr int L = 8;
    using VI = __m256i;
    using VF = __m256;
    using M = __m256i;
    static VI loadi(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
    static VF loadf(const float* p) { return _mm256_loadu_ps(p); }
    static VI set1i(int32_t v) { return _mm256_set1_epi32(v); }
    static VF set1f(float v) { return _mm256_set1_ps(v); }
    static VI addi(VI a, VI b) { return _mm256_add_epi32(a, b); }
    static VF addf(VF a, VF b) { return _mm256_add_ps(a, b); }
    static VF mulf(VF a, VF b) { return _mm256_mul_ps(a, b); }
    static VF i2f(VI a) { return _mm256_cvtepi32_ps(a); }
    static VI f2i(VF a) { return _mm256_cvtps_epi32(a); }
    static M ltzi(VI a) { return _mm256_cmpgt_epi32(_mm256_setzero_si256(), a); }
    static M lti(VI a, VI b) { return _mm256_cmpgt_epi32(b, a); }
    static VI blendi(M m, VI a, VI b) { return _mm256_blendv_epi8(a, b, m); }
    static M ltf(VF a, VF b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
    static VF blendf(M m, VF a, VF b) { return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(m)); }
    static VI mini(VI a, VI b) { return _mm256_min_epi32(a, b); }
    template <bool kLeft>
    static VI requant(VI x, VI m0, VI left, VI right, VI mask) {
        VI s = x;
        if (kLeft) {
            s = _mm256_sllv_epi32(x, left);
            const VI ovf = _mm256_xor_si256(_mm256_cmpeq_epi32(_mm256_srav_epi32(s, left), x),
                                            _mm256_set1_epi32(-1));
            const VI sat = _mm256_blendv_epi8(_mm256_set1_epi32(0x7fffffff),
                                              _mm256_set1_epi32(int32_t(0x80000000u)), ltzi(x));
            s = _mm256_blendv_epi8(s, sat, ovf);
        }
        const VI nudge = _mm256_set1_epi64x(int64_t(1) << 30);
        const VI pe = _mm256_add_epi64(_mm256_mul_epi32(s, m0), nudge);
        const VI po = _mm256_add_epi64(
            _mm256_mul_epi32(_mm256_srli_epi64(s, 32), _mm256_srli_epi64(m0, 32)), nudge);
        const VI high = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
        const VI rem = _mm256_and_si256(high, mask);
        const VI thr = _mm256_add_epi32(_mm256_srli_epi32(mask, 1), _mm256_srli_epi32(high, 31));
        const VI q = _mm256_srav_epi32(high, right);
        return _mm256_sub_epi32(q, _mm256_cmpgt_epi32(rem, thr));  // cmpgt is -1 where true
    }
    static void store_i8(int8_t* dst, VI v, int n) {
        const VI ctrl = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                         0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
        const VI b = _mm256_shuffle_epi8(v, ctrl);
        const uint32_t lo = uint32_t(_mm_cvtsi128_si32(_mm256_castsi256_si128(b)));
        const uint32_t hi = uint32_t(_mm_cvtsi128_si32(_mm256_extracti128_si256(b, 1)));
        if (n == 8) {
            const uint64_t both = uint64_t(lo) | (uint64_t(hi) << 32);
            __builtin_memcpy(dst, &both, 8);
            return;
        }
        uint8_t bytes[8];
        __builtin_memcpy(bytes, &lo, 4);
        __builtin_memcpy(bytes + 4, &hi, 4);
        for (int i = 0; i < n; ++i) dst[i] = int8_t(bytes[i]);
    }
    static void storef(float* dst, VF v) { _mm256_storeu_ps(dst, v); }
};

#if defined(QGPU_X86_AVXVNNI)
struct WordU8 {  // VEX vpdpbusd on ymm
    static constexpr bool kFloat = false;
    static constexpr int VB = 32;
    using VA = __m256i;
    static VA zero() { return _mm256_setzero_si256(); }
    static VA loadw(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
    static VA bcast(const uint8_t* p) { return _mm256_set1_epi32(int32_t(load_u32(p))); }
    static VA dot(VA acc, VA x, VA w) { return _mm256_dpbusd_avx_epi32(acc, x, w); }
};
#endif
struct WordI16 {  // vpmaddwd: s16 pairs (x - z_x) x s16 weights, exact (|pair sum| <= 64770)
    static constexpr bool kFloat = false;
    static constexpr int VB = 32;
    using VA = __m256i;
    static VA zero() { return _mm256_setzero_si256(); }
    static VA loadw(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
    static VA bcast(const uint8_t* p) { return _mm256_set1_epi32(int32_t(load_u32(p))); }
    static VA dot(VA acc, VA x, VA w) { return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w)); }
};
struct WordF32 {
    static constexpr bool kFloat = true;
    static constexpr int VB = 32;
    using VA = __m256;
    static VA zero() { return _mm256_setzero_ps(); }
    static VA loadw(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
    static VA bcast(const uint8_t* p) { return _mm256_set1_ps(load_f32(p)); }
    static VA dot(VA acc, VA x, VA w) { return _mm256_fmadd_ps(x, w, acc); }
};
#endif

using VI = Ops::VI;
using VF = Ops::VF;
constexpr int L = Ops::L;

// int8 output: dst[0..n) = clamp(requantize(acc + add) + zp) for the channels at param index pidx
template <bool kLeft>
inline void out_int8_t(const OutParams& op, VI acc, size_t pidx, int8_t* dst, int n) {
    const VI x = Ops::addi(acc, Ops::loadi(op.add + pidx));
    VI m0 = Ops::loadi(op.m0 + pidx), r = Ops::loadi(op.rshift + pidx), mask = Ops::loadi(op.rmask + pidx);
    VI l = m0;
    if (kLeft) l = Ops::loadi(op.lshift + pidx);
    if (op.leaky) {
        const Ops::M neg = Ops::ltzi(x);
        m0 = Ops::blendi(neg, m0, Ops::loadi(op.m0n + pidx));
        r = Ops::blendi(neg, r, Ops::loadi(op.rshiftn + pidx));
        mask = Ops::blendi(neg, mask, Ops::loadi(op.rmaskn + pidx));
        if (kLeft) l = Ops::blendi(neg, l, Ops::loadi(op.lshiftn + pidx));
    }
    const VI v = Ops::requant<kLeft>(x, m0, l, r, mask);
    // requant.h: y = v + zp < qmin ? qmin : (y > qmax ? qmax : y), done before adding zp
    const VI lo = Ops::set1i(op.lo);
    const VI c = Ops::blendi(Ops::lti(v, lo), Ops::mini(v, Ops::set1i(op.hi)), lo);
    Ops::store_i8(dst, Ops::addi(c, Ops::set1i(op.zp)), n);
}
inline void out_int8(const OutParams& op, VI acc, size_t pidx, int8_t* dst, int n) {
    if (op.any_left) out_int8_t<true>(op, acc, pidx, dst, n);
    else out_int8_t<false>(op, acc, pidx, dst, n);
}

// float output: y is the sum (OUT_F32_DEQ: exact integer as float; OUT_F32: float accumulation);
// lane i goes to dst[i * stride] for i < n.
inline void out_float(const OutParams& op, VF y, size_t pidx, float* dst, int64_t stride, int n) {
    if (op.mode == OUT_F32_DEQ) y = Ops::mulf(y, Ops::loadf(op.scale + pidx));
    y = Ops::addf(y, Ops::loadf(op.bias + pidx));
    if (op.fact == FACT_CLAMP) {
        const VF lo = Ops::set1f(op.act_lo), hi = Ops::set1f(op.act_hi);
        y = Ops::blendf(Ops::ltf(y, lo), y, lo);  // y < lo ? lo : y
        y = Ops::blendf(Ops::ltf(hi, y), y, hi);  // y > hi ? hi : y
    } else if (op.fact == FACT_LEAKY) {
        y = Ops::blendf(Ops::ltf(y, Ops::set1f(0.0f)), y, Ops::mulf(y, Ops::set1f(op.slope)));
    }
    alignas(64) float tmp[L];
    Ops::storef(tmp, y);
    for (int i = 0; i < n; ++i) dst[i * stride] = tmp[i];
}

// One GEMM tile: P output pixels [m, m + P) (clamped to m_end) x OB blocks of L channels.
// Packed weights of the block group: [tap][word][OB][L lanes x 4 bytes].
template <class W, int OB, int P>
inline void gemm_tile(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0,
                      int64_t m, int64_t m_end) {
    const uint8_t* base[P];
    for (int p = 0; p < P; ++p) base[p] = in + gp.pix_off[m + p < m_end ? m + p : m_end - 1];
    typename W::VA acc[OB][P];
    for (int ob = 0; ob < OB; ++ob)
        for (int p = 0; p < P; ++p) acc[ob][p] = W::zero();
    const int32_t words = gp.words;
    const int64_t K = int64_t(gp.taps) * words;
    const uint8_t* w = gp.weights + (int64_t(g) * gp.blocks_per_group + blk0) * K * W::VB;
    for (int32_t t = 0; t < gp.taps; ++t) {
        const int64_t off = gp.tap_off[t];
        const uint8_t* a[P];
        for (int p = 0; p < P; ++p) a[p] = base[p] + off;
        for (int32_t i = 0; i < words; ++i) {
            typename W::VA wv[OB];
            for (int ob = 0; ob < OB; ++ob) wv[ob] = W::loadw(w + ob * W::VB);
            w += OB * W::VB;
            for (int p = 0; p < P; ++p) {
                const typename W::VA x = W::bcast(a[p] + 4 * int64_t(i));
                for (int ob = 0; ob < OB; ++ob) acc[ob][p] = W::dot(acc[ob][p], x, wv[ob]);
            }
        }
    }
    const int np = int(imin64(P, m_end - m));
    for (int ob = 0; ob < OB; ++ob) {
        const int32_t blk = blk0 + ob;
        const size_t pidx = size_t(int64_t(g) * gp.blocks_per_group + blk) * L;
        const int n = imin32(L, gp.cout_g - blk * L);
        const int64_t oc0 = int64_t(g) * gp.cout_g + int64_t(blk) * L;
        for (int p = 0; p < np; ++p) {
            if constexpr (W::kFloat) {
                out_float(gp.out, acc[ob][p], pidx, static_cast<float*>(out) + oc0 * gp.M + m + p, gp.M, n);
            } else if (gp.out.mode == OUT_INT8) {
                out_int8(gp.out, acc[ob][p], pidx, static_cast<int8_t*>(out) + (m + p) * gp.out_c4 + oc0, n);
            } else {
                const VF y = Ops::i2f(Ops::addi(acc[ob][p], Ops::loadi(gp.out.add + pidx)));
                out_float(gp.out, y, pidx, static_cast<float*>(out) + oc0 * gp.M + m + p, gp.M, n);
            }
        }
    }
}

template <class W, int OB, int P>
void gemm_range(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0,
                int64_t m_begin, int64_t m_end) {
    for (int64_t m = m_begin; m < m_end; m += P) gemm_tile<W, OB, P>(gp, in, out, g, blk0, m, m_end);
}

// Depthwise output row: P pixels x L channels at a time, float FMA on the padded float input.
// For int8 convs the products and sums are integers below 2^24 (kernel <= 518 taps), so float
// arithmetic is exact.
template <int P>
void dw_row_impl(const DwParams& d, const float* in, void* out, int32_t oy) {
    const int64_t rowstride = d.Wp * d.CL;
    const int64_t M = int64_t(d.out_h) * d.out_w;
    for (int32_t ox0 = 0; ox0 < d.out_w; ox0 += P) {
        const int np = imin32(P, d.out_w - ox0);
        int64_t xoff[P];
        for (int p = 0; p < P; ++p) xoff[p] = int64_t(ox0 + (p < np ? p : np - 1)) * d.sw * d.CL;
        for (int32_t cb = 0; cb < d.CL; cb += L) {
            VF acc[P];
            for (int p = 0; p < P; ++p) acc[p] = Ops::set1f(0.0f);
            for (int32_t ky = 0; ky < d.kh; ++ky) {
                const float* r = in + int64_t(oy * d.sh + ky * d.dh) * rowstride + cb;
                const float* wr = d.weights + int64_t(ky) * d.kw * d.CL + cb;
                for (int32_t kx = 0; kx < d.kw; ++kx) {
                    const VF w = Ops::loadf(wr + int64_t(kx) * d.CL);
                    const float* rk = r + int64_t(kx) * d.dw * d.CL;
#if QGPU_X86_WIDTH == 512
                    for (int p = 0; p < P; ++p) acc[p] = _mm512_fmadd_ps(Ops::loadf(rk + xoff[p]), w, acc[p]);
#else
                    for (int p = 0; p < P; ++p) acc[p] = _mm256_fmadd_ps(Ops::loadf(rk + xoff[p]), w, acc[p]);
#endif
                }
            }
            const int n = imin32(L, d.C - cb);
            for (int p = 0; p < np; ++p) {
                const int64_t opix = int64_t(oy) * d.out_w + ox0 + p;
                if (d.out.mode == OUT_INT8)
                    out_int8(d.out, Ops::f2i(acc[p]), size_t(cb),
                             static_cast<int8_t*>(out) + opix * d.out_c4 + cb, n);
                else
                    out_float(d.out, acc[p], size_t(cb), static_cast<float*>(out) + cb * M + opix, M, n);
            }
        }
    }
}
