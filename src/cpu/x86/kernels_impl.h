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
    static VI load64(const int64_t* p) { return _mm512_loadu_si512(p); }
    static VF loadf(const float* p) { return _mm512_loadu_ps(p); }
    static VI set1i(int32_t v) { return _mm512_set1_epi32(v); }
    static VF set1f(float v) { return _mm512_set1_ps(v); }
    static VI addi(VI a, VI b) { return _mm512_add_epi32(a, b); }
    static VF addf(VF a, VF b) { return _mm512_add_ps(a, b); }
    static VF mulf(VF a, VF b) { return _mm512_mul_ps(a, b); }
    static VF i2f(VI a) { return _mm512_cvtepi32_ps(a); }
    static VI f2i(VF a) { return _mm512_cvtps_epi32(a); }  // exact: values are integers
    static M ltzi(VI a) { return _mm512_cmplt_epi32_mask(a, _mm512_setzero_si512()); }
    static VI blendi(M m, VI a, VI b) { return _mm512_mask_blend_epi32(m, a, b); }  // m ? b : a
    static M ltf(VF a, VF b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
    static VF blendf(M m, VF a, VF b) { return _mm512_mask_blend_ps(m, a, b); }
    static VI mini(VI a, VI b) { return _mm512_min_epi32(a, b); }
    static VI maxi(VI a, VI b) { return _mm512_max_epi32(a, b); }
    // m0 of the odd lanes moved into the even lanes (vpmuldq reads the low dword of each qword)
    static VI odd_lanes(VI m0) { return _mm512_shuffle_epi32(m0, _MM_PERM_DDBB); }
    static VI srli_half(VI mask) { return _mm512_srli_epi32(mask, 1); }
    // requant.h requantize(x, m0, shift) with left = max(shift, 0), right = max(-shift, 0),
    // mask = (1 << right) - 1, m0odd = odd_lanes(m0), half = mask >> 1 (block invariants,
    // computed once); kLeft = false when no channel shifts left
    template <bool kLeft>
    static VI requant_pre(VI x, VI m0, VI m0odd, VI left, VI right, VI mask, VI half) {
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
        const VI po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(s, 32), m0odd), nudge);
        // bits 31..62 of each 64-bit product: even lanes by >> 31, odd lanes (upper dword) by << 1
        const VI high = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 31), _mm512_slli_epi64(po, 1));
        const VI rem = _mm512_and_si512(high, mask);
        const VI thr = _mm512_add_epi32(half, _mm512_srli_epi32(high, 31));
        const VI q = _mm512_srav_epi32(high, right);
        return _mm512_mask_add_epi32(q, _mm512_cmpgt_epi32_mask(rem, thr), q, _mm512_set1_epi32(1));
    }
    // requant.h requantize_one_shift(x) + zp with OutParams' k64 (addend, zp folded in) and s64
    // (shifts) of the even and odd lanes; kSign: the 2^31-less sign term (dropped when folded).
    // About 12 operations per 16 outputs with the clamp and store, against ~21 above.
    template <bool kSign>
    static VI requant_one_shift(VI x, VI m0, VI m0odd, VI ke, VI ko, VI se, VI so, VI /*yb*/) {
        VI pe = _mm512_mul_epi32(x, m0);
        VI po = _mm512_mul_epi32(_mm512_srli_epi64(x, 32), m0odd);
        if (kSign) {  // 2^31 less where x < 0 (the sign of the product)
            const VI h = _mm512_set1_epi64(int64_t(1) << 31), z = _mm512_setzero_si512();
            pe = _mm512_mask_sub_epi64(pe, _mm512_cmplt_epi64_mask(pe, z), pe, h);
            po = _mm512_mask_sub_epi64(po, _mm512_cmplt_epi64_mask(po, z), po, h);
        }
        pe = _mm512_srav_epi64(_mm512_add_epi64(pe, ke), se);  // result in the low dword
        po = _mm512_srav_epi64(_mm512_add_epi64(po, ko), so);  // result in the high dword
        return _mm512_mask_blend_epi32(0xAAAA, pe, po);
    }
    // the first n of 16 bytes; b comes from a register-form vpmov*db (the masked memory form
    // is microcoded on AMD, hence the empty asm that keeps the narrowing in a register)
    static void store_bytes(int8_t* dst, __m128i b, int n) {
        __asm__("" : "+x"(b));
        if (n == 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), b);
        else _mm_mask_storeu_epi8(dst, __mmask16((1u << n) - 1u), b);
    }
    // clamped to [-128, 127] (vpmovsdb)
    static void store_i8_sat(int8_t* dst, VI v, int n) { store_bytes(dst, _mm512_cvtsepi32_epi8(v), n); }
    static void store_i8(int8_t* dst, VI v, int n) { store_bytes(dst, _mm512_cvtepi32_epi8(v), n); }
    static void storef(float* dst, VF v) { _mm512_storeu_ps(dst, v); }
    static VF fmaf(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
    // the first n (0..16) floats; no access past them
    static VF loadf_n(const float* p, int n) { return _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1u), p); }
    static void storef_n(float* p, VF v, int n) { _mm512_mask_storeu_ps(p, __mmask16((1u << n) - 1u), v); }
    // lanes [lo, hi) from p (0 elsewhere); the others are not accessed
    static VF loadf_range(const float* p, int lo, int hi) {
        return _mm512_maskz_loadu_ps(__mmask16(((1u << hi) - 1u) & ~((1u << lo) - 1u)), p);
    }
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
    static VI load64(const int64_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
    static VF loadf(const float* p) { return _mm256_loadu_ps(p); }
    static VI set1i(int32_t v) { return _mm256_set1_epi32(v); }
    static VF set1f(float v) { return _mm256_set1_ps(v); }
    static VI addi(VI a, VI b) { return _mm256_add_epi32(a, b); }
    static VF addf(VF a, VF b) { return _mm256_add_ps(a, b); }
    static VF mulf(VF a, VF b) { return _mm256_mul_ps(a, b); }
    static VF i2f(VI a) { return _mm256_cvtepi32_ps(a); }
    static VI f2i(VF a) { return _mm256_cvtps_epi32(a); }
    static M ltzi(VI a) { return _mm256_cmpgt_epi32(_mm256_setzero_si256(), a); }
    static VI blendi(M m, VI a, VI b) { return _mm256_blendv_epi8(a, b, m); }
    static M ltf(VF a, VF b) { return _mm256_castps_si256(_mm256_cmp_ps(a, b, _CMP_LT_OQ)); }
    static VF blendf(M m, VF a, VF b) { return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(m)); }
    static VI mini(VI a, VI b) { return _mm256_min_epi32(a, b); }
    static VI maxi(VI a, VI b) { return _mm256_max_epi32(a, b); }
    static VI odd_lanes(VI m0) { return _mm256_srli_epi64(m0, 32); }
    static VI srli_half(VI mask) { return _mm256_srli_epi32(mask, 1); }
    template <bool kLeft>
    static VI requant_pre(VI x, VI m0, VI m0odd, VI left, VI right, VI mask, VI half) {
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
        const VI po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(s, 32), m0odd), nudge);
        const VI high = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
        const VI rem = _mm256_and_si256(high, mask);
        const VI thr = _mm256_add_epi32(half, _mm256_srli_epi32(high, 31));
        const VI q = _mm256_srav_epi32(high, right);
        return _mm256_sub_epi32(q, _mm256_cmpgt_epi32(rem, thr));  // cmpgt is -1 where true
    }
    // The one-shift form with logical shifts (no 64-bit arithmetic shift before AVX-512): the
    // addend carries + 2^63, so every sum is in [0, 2^64), and the shifted result is yb too
    // high (wrapping 32-bit arithmetic undoes it).
    template <bool kSign>
    static VI requant_one_shift(VI x, VI m0, VI m0odd, VI ke, VI ko, VI se, VI so, VI yb) {
        VI pe = _mm256_mul_epi32(x, m0);
        VI po = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), m0odd);
        if (kSign) {  // 2^31 less where x < 0 (the sign of the product)
            const VI h = _mm256_set1_epi64x(int64_t(1) << 31), z = _mm256_setzero_si256();
            pe = _mm256_sub_epi64(pe, _mm256_and_si256(_mm256_cmpgt_epi64(z, pe), h));
            po = _mm256_sub_epi64(po, _mm256_and_si256(_mm256_cmpgt_epi64(z, po), h));
        }
        pe = _mm256_srlv_epi64(_mm256_add_epi64(pe, ke), se);  // result in the low dword
        po = _mm256_srlv_epi64(_mm256_add_epi64(po, ko), so);  // result in the high dword
        return _mm256_sub_epi32(_mm256_blend_epi32(pe, po, 0xAA), yb);
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
    static VF fmaf(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
    static VI first_n(int n) { return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)); }
    static VF loadf_n(const float* p, int n) { return _mm256_maskload_ps(p, first_n(n)); }
    static void storef_n(float* p, VF v, int n) { _mm256_maskstore_ps(p, first_n(n), v); }
    static VF loadf_range(const float* p, int lo, int hi) {
        return _mm256_maskload_ps(p, _mm256_andnot_si256(first_n(lo), first_n(hi)));
    }
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

// Output stages (OutParams): bit 0: some channel shifts left; bit 1: LeakyReLU; the one-shift
// forms of requant.h are kOneShift / kOneShiftFolded (RequantForm in isa_kernels.h; zmm:
// arithmetic 64-bit shifts, ymm: logical ones on sums offset by 2^63). kOneShiftSat (zmm):
// kOneShiftFolded where the clamp is [-128, 127] (ReLU with z_y = -128, or no activation with
// a folded bias): the saturating vpmovsdb is the clamp, two operations fewer per vector.
constexpr int kOneShift = 4, kOneShiftFolded = 5, kOneShiftSat = 6;
template <int S>
struct StageTag { static constexpr int value = S; };
inline int stage_of(const OutParams& op) {
    if (op.requant_form == RQ_ONE_SHIFT) return kOneShift;
#if QGPU_X86_WIDTH == 512
    if (op.requant_form == RQ_ONE_SHIFT_FOLDED && op.lo + op.zp == -128 && op.hi + op.zp == 127) return kOneShiftSat;
#endif
    if (op.requant_form == RQ_ONE_SHIFT_FOLDED) return kOneShiftFolded;
    return (op.any_left ? 1 : 0) | (op.leaky ? 2 : 0);
}
// f(StageTag<stage>()): the output stage becomes a compile-time constant of the kernel
template <class F>
inline void with_stage(const OutParams& op, F&& f) {
    switch (stage_of(op)) {
        case 0: f(StageTag<0>()); break;
        case 1: f(StageTag<1>()); break;
        case 2: f(StageTag<2>()); break;
        case 3: f(StageTag<3>()); break;
        case kOneShift: f(StageTag<kOneShift>()); break;
        case kOneShiftFolded: f(StageTag<kOneShiftFolded>()); break;
#if QGPU_X86_WIDTH == 512
        case kOneShiftSat: f(StageTag<kOneShiftSat>()); break;
#endif
        default: break;
    }
}

// The per-channel requantize parameters of one vector block, loaded once and kept in registers
// while the block's pixels are written (re-reading them per pixel costs loads that the
// compiler cannot hoist: an int8 store may alias anything).
struct ChanQ {
    VI add, m0, m0odd, l, r, mask, half, m0n, ln, rn, maskn, halfn, lo, hi, zp;
    VI ke, ko, se, so;  // one-shift forms: 64-bit addends and shifts, even / odd lanes
    VI yb;              // ymm one-shift forms: the offset taken off the result (OutParams::ybias)
};
template <int kStage>
__attribute__((always_inline)) inline ChanQ load_chanq(const OutParams& op, size_t pidx) {
    constexpr bool kLeft = kStage < kOneShift && (kStage & 1), kLeaky = kStage < kOneShift && (kStage & 2);
    ChanQ q;
    q.add = Ops::loadi(op.add + pidx);
    q.m0 = Ops::loadi(op.m0 + pidx);
    q.m0odd = Ops::odd_lanes(q.m0);
    q.lo = Ops::set1i(op.lo);
    q.hi = Ops::set1i(op.hi);
    q.zp = Ops::set1i(op.zp);
    q.ke = q.ko = q.se = q.so = q.yb = q.m0;
    if (kStage >= kOneShift) {
        q.ke = Ops::load64(op.k64 + pidx);
        q.ko = Ops::load64(op.k64 + pidx + L / 2);
        q.se = Ops::load64(op.s64 + pidx);
        q.so = Ops::load64(op.s64 + pidx + L / 2);
#if QGPU_X86_WIDTH != 512
        q.yb = Ops::loadi(op.ybias + pidx);
#endif
        q.lo = Ops::set1i(op.lo + op.zp);  // zp is folded into the addend: clamp to [qmin, qmax]
        q.hi = Ops::set1i(op.hi + op.zp);
        q.r = q.mask = q.l = q.half = q.m0n = q.rn = q.maskn = q.ln = q.halfn = q.m0;
        return q;
    }
    q.r = Ops::loadi(op.rshift + pidx);
    q.mask = Ops::loadi(op.rmask + pidx);
    q.l = kLeft ? Ops::loadi(op.lshift + pidx) : q.m0;
    q.half = Ops::srli_half(q.mask);
    if (kLeaky) {
        q.m0n = Ops::loadi(op.m0n + pidx);
        q.rn = Ops::loadi(op.rshiftn + pidx);
        q.maskn = Ops::loadi(op.rmaskn + pidx);
        q.ln = kLeft ? Ops::loadi(op.lshiftn + pidx) : q.m0n;
        q.halfn = Ops::srli_half(q.maskn);
    } else {
        q.m0n = q.rn = q.maskn = q.ln = q.halfn = q.m0;
    }
    return q;
}
// int8 output: dst[0..n) = clamp(requantize(acc + add) + zp) with the block's parameters q
template <int kStage>
__attribute__((always_inline)) inline void out_int8_q(const ChanQ& q, VI acc, int8_t* dst, int n) {
    if constexpr (kStage >= kOneShift) {
        const VI x = kStage == kOneShift ? Ops::addi(acc, q.add) : acc;
        const VI y = Ops::requant_one_shift<kStage == kOneShift>(x, q.m0, q.m0odd, q.ke, q.ko, q.se, q.so, q.yb);
#if QGPU_X86_WIDTH == 512
        if constexpr (kStage == kOneShiftSat) {
            Ops::store_i8_sat(dst, y, n);
            return;
        }
#endif
        Ops::store_i8(dst, Ops::maxi(Ops::mini(y, q.hi), q.lo), n);
        return;
    }
    constexpr bool kLeft = kStage & 1, kLeaky = kStage & 2;
    const VI x = Ops::addi(acc, q.add);
    VI m0 = q.m0, m0odd = q.m0odd, r = q.r, mask = q.mask, half = q.half, l = q.l;
    if (kLeaky) {
        const Ops::M neg = Ops::ltzi(x);
        m0 = Ops::blendi(neg, m0, q.m0n);
        m0odd = Ops::odd_lanes(m0);  // (lane i of m0odd serves lane i + 1: blend first)
        r = Ops::blendi(neg, r, q.rn);
        mask = Ops::blendi(neg, mask, q.maskn);
        half = Ops::blendi(neg, half, q.halfn);
        if (kLeft) l = Ops::blendi(neg, l, q.ln);
    }
    const VI v = Ops::requant_pre<kLeft>(x, m0, m0odd, l, r, mask, half);
    // requant.h: y = v + zp < qmin ? qmin : (y > qmax ? qmax : y), done before adding zp; equal
    // to max(min(v, hi), lo) because qmin <= qmax (conv_plan validates the activation range)
    const VI c = Ops::maxi(Ops::mini(v, q.hi), q.lo);
    Ops::store_i8(dst, Ops::addi(c, q.zp), n);
}
inline void out_int8(const OutParams& op, VI acc, size_t pidx, int8_t* dst, int n) {
    with_stage(op, [&](auto stage) {
        constexpr int S = decltype(stage)::value;
        out_int8_q<S>(load_chanq<S>(op, pidx), acc, dst, n);
    });
}

// float activation of OutParams (fact, act_lo / act_hi, slope)
inline VF act_f32(const OutParams& op, VF y) {
    if (op.fact == FACT_CLAMP) {
        const VF lo = Ops::set1f(op.act_lo), hi = Ops::set1f(op.act_hi);
        y = Ops::blendf(Ops::ltf(y, lo), y, lo);  // y < lo ? lo : y
        y = Ops::blendf(Ops::ltf(hi, y), y, hi);  // y > hi ? hi : y
    } else if (op.fact == FACT_LEAKY) {
        y = Ops::blendf(Ops::ltf(y, Ops::set1f(0.0f)), y, Ops::mulf(y, Ops::set1f(op.slope)));
    }
    return y;
}

// float output: y is the sum (OUT_F32_DEQ: exact integer as float; OUT_F32: float accumulation);
// lane i goes to dst[i * stride] for i < n.
inline void out_float(const OutParams& op, VF y, size_t pidx, float* dst, int64_t stride, int n) {
    if (op.mode == OUT_F32_DEQ) y = Ops::mulf(y, Ops::loadf(op.scale + pidx));
    y = act_f32(op, Ops::addf(y, Ops::loadf(op.bias + pidx)));
    alignas(64) float tmp[L];
    Ops::storef(tmp, y);
    for (int i = 0; i < n; ++i) dst[i * stride] = tmp[i];
}

// int8 output of a GEMM tile: block by block, the block's requantize parameters in registers.
template <int kStage, int OB, int P>
__attribute__((always_inline)) inline void store_tile_int8(const GemmParams& gp, const VI (&acc)[OB][P], int8_t* out, int32_t g, int32_t blk0,
                            int64_t m, int np) {
#pragma GCC unroll 8
    for (int ob = 0; ob < OB; ++ob) {
        const int32_t blk = blk0 + ob;
        const size_t pidx = size_t(int64_t(g) * gp.blocks_per_group + blk) * L;
        const int n = imin32(L, gp.cout_g - blk * L);
        const int64_t oc0 = int64_t(g) * gp.cout_g + int64_t(blk) * L;
        const ChanQ q = load_chanq<kStage>(gp.out, pidx);
        int8_t* dst = out + m * gp.out_c4 + oc0;
        // compile-time bounds and a guard, so acc[][] stays in registers; whole tiles of whole
        // blocks (nearly all) without the per-pixel guard and the partial-store test
        if (np == P && n == L) {
#pragma GCC unroll 16
            for (int p = 0; p < P; ++p) out_int8_q<kStage>(q, acc[ob][p], dst + p * gp.out_c4, L);
        } else {
#pragma GCC unroll 16
            for (int p = 0; p < P; ++p)
                if (p < np) out_int8_q<kStage>(q, acc[ob][p], dst + p * gp.out_c4, n);
        }
    }
}

// One GEMM tile: P output pixels [m, m + P) (clamped to m_end) x OB blocks of L channels.
// Packed weights of the block group: [tap][word][OB][L lanes x 4 bytes]. kStage: the int8
// output stage (with_stage), or -1 for the float outputs; fixed per range so that the tile's
// output stage is inlined and the accumulators never leave the registers (behind a per-tile
// dispatch they went through the stack: 24 zmm stores and loads per tile).
template <class W, int OB, int P, int kStage>
__attribute__((always_inline)) inline void gemm_tile(const GemmParams& gp, const uint8_t* in, void* out,
                                                     int32_t g, int32_t blk0, int64_t m, int64_t m_end) {
    const uint8_t* base[P];
    for (int p = 0; p < P; ++p) base[p] = in + gp.pix_off[m + p < m_end ? m + p : m_end - 1];
    typename W::VA acc[OB][P];
    for (int ob = 0; ob < OB; ++ob)
        for (int p = 0; p < P; ++p) acc[ob][p] = W::zero();
    const int32_t words = gp.words;
    const int64_t K = int64_t(gp.taps_packed ? gp.taps_packed : gp.taps) * words;
    const uint8_t* w = gp.weights + ((int64_t(g) * gp.blocks_per_group + blk0) * K + int64_t(gp.tap0) * words * OB) * W::VB;
    for (int32_t t = gp.tap0; t < gp.tap0 + gp.taps; ++t) {
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
    if constexpr (kStage >= 0) {
        store_tile_int8<kStage, OB, P>(gp, acc, static_cast<int8_t*>(out), g, blk0, m, np);
        return;
    }
    for (int ob = 0; ob < OB; ++ob) {
        const int32_t blk = blk0 + ob;
        const size_t pidx = size_t(int64_t(g) * gp.blocks_per_group + blk) * L;
        const int n = imin32(L, gp.cout_g - blk * L);
        const int64_t oc0 = int64_t(g) * gp.cout_g + int64_t(blk) * L;
        for (int p = 0; p < np; ++p) {
            if constexpr (W::kFloat) {
                out_float(gp.out, acc[ob][p], pidx, static_cast<float*>(out) + oc0 * gp.M + m + p, gp.M, n);
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
    if constexpr (!W::kFloat) {
        if (gp.out.mode == OUT_INT8) {
            with_stage(gp.out, [&](auto stage) {
                constexpr int S = decltype(stage)::value;
                for (int64_t m = m_begin; m < m_end; m += P) gemm_tile<W, OB, P, S>(gp, in, out, g, blk0, m, m_end);
            });
            return;
        }
    }
    for (int64_t m = m_begin; m < m_end; m += P) gemm_tile<W, OB, P, -1>(gp, in, out, g, blk0, m, m_end);
}

#if QGPU_X86_WIDTH == 512 || defined(QGPU_X86_AVXVNNI)
// WordU8 on the raw s8 bytes of the NHWC4 input (IsaKernels::gemm_int_direct): each broadcast
// word is flipped to u8 (x + 128) in its register, an xor on an ALU pipe the dot products leave
// free, instead of a flipped copy of the input
struct WordS8Flip : WordU8 {
#if QGPU_X86_WIDTH == 512
    static VA bcast(const uint8_t* p) { return _mm512_xor_si512(WordU8::bcast(p), _mm512_set1_epi8(char(0x80))); }
#else
    static VA bcast(const uint8_t* p) { return _mm256_xor_si256(WordU8::bcast(p), _mm256_set1_epi8(char(0x80))); }
#endif
};
#endif

#if QGPU_X86_WIDTH == 512
// ---- int8 1x1 convs on a uniform pixel stride (GemmParams::pix_stride, raw s8 input) --------
// The K loop of a tile in asm. In C, GCC keeps a pointer per pixel of the tile, spills them
// and adds moves around the tied accumulators: a microbenchmark of sq_squeeze's one-block loop
// took 22.3 us in C and 14.9 us as this asm. AsmTile<OB, P>::run computes the tile's OB x P
// accumulators from zero, a[ob * P + p]: pixel p is at base (p / 6) + (p % 6) * s (base 0
// is b0, base 1 is b0 + 6s), addressed as base + index * scale from the registers s, 3s and 5s;
// its word is broadcast and flipped to u8 (x + 128) in one vpxord with a broadcast memory
// operand. Weights: [word][OB][64 bytes], as gemm_tile packs a block group. The asm says
// "memory" since it reads the input and the weights.
// Shared by the tiles: accumulators a0.. zeroed, the flip constant in zmm31, 3s in r8, 5s in
// r9, base 0 in r10, base 1 (b0 + 6s) in r11, the weights in rdx, the word count in eax; the
// broadcasts alternate zmm27 / zmm28, the weights of blocks 0, 1, 2 are in zmm29, zmm30, zmm26.
#define QGPU_Z(i) "vpxord %[a" #i "], %[a" #i "], %[a" #i "]\n\t"
#define QGPU_Z12 QGPU_Z(0) QGPU_Z(1) QGPU_Z(2) QGPU_Z(3) QGPU_Z(4) QGPU_Z(5) QGPU_Z(6) QGPU_Z(7) QGPU_Z(8) QGPU_Z(9) QGPU_Z(10) QGPU_Z(11)
#define QGPU_Z24 QGPU_Z12 QGPU_Z(12) QGPU_Z(13) QGPU_Z(14) QGPU_Z(15) QGPU_Z(16) QGPU_Z(17) QGPU_Z(18) QGPU_Z(19) QGPU_Z(20) QGPU_Z(21) QGPU_Z(22) QGPU_Z(23)
#define QGPU_TILE_SETUP                                                                      \
    "movl $0x80808080, %%eax\n\t vpbroadcastd %%eax, %%zmm31\n\t"                            \
    "lea (%[s],%[s],2), %%r8\n\t lea (%[s],%[s],4), %%r9\n\t"                                \
    "mov %[b0], %%r10\n\t lea (%[b0],%%r8,2), %%r11\n\t mov %[w], %%rdx\n\t mov %[n], %%eax\n" \
    "1:\n\t"
// the address of pixel p's word (p = 0..11)
#define QGPU_PX0 "(%%r10)"
#define QGPU_PX1 "(%%r10,%[s],1)"
#define QGPU_PX2 "(%%r10,%[s],2)"
#define QGPU_PX3 "(%%r10,%%r8,1)"
#define QGPU_PX4 "(%%r10,%[s],4)"
#define QGPU_PX5 "(%%r10,%%r9,1)"
#define QGPU_PX6 "(%%r11)"
#define QGPU_PX7 "(%%r11,%[s],1)"
#define QGPU_PX8 "(%%r11,%[s],2)"
#define QGPU_PX9 "(%%r11,%%r8,1)"
#define QGPU_PX10 "(%%r11,%[s],4)"
#define QGPU_PX11 "(%%r11,%%r9,1)"
#define QGPU_BCAST(ADDR, X) "vpxord " ADDR "%{1to16%}, %%zmm31, " X "\n\t"
#define QGPU_DOT(W, X, A) "vpdpbusd " W ", " X ", %[a" #A "]\n\t"
#define QGPU_NEXT(WBYTES) "add $" #WBYTES ", %%rdx\n\t add $4, %%r10\n\t add $4, %%r11\n\t dec %%eax\n\t jnz 1b"
#define QGPU_O(i) [a##i] "=&v"(a[i])
#define QGPU_OUT12 QGPU_O(0), QGPU_O(1), QGPU_O(2), QGPU_O(3), QGPU_O(4), QGPU_O(5), QGPU_O(6), QGPU_O(7), QGPU_O(8), QGPU_O(9), QGPU_O(10), QGPU_O(11)
#define QGPU_OUT24 QGPU_OUT12, QGPU_O(12), QGPU_O(13), QGPU_O(14), QGPU_O(15), QGPU_O(16), QGPU_O(17), QGPU_O(18), QGPU_O(19), QGPU_O(20), QGPU_O(21), QGPU_O(22), QGPU_O(23)
#define QGPU_TILE_IN [w] "r"(w), [b0] "r"(b0), [s] "r"(s), [n] "r"(words)
#define QGPU_TILE_CLOBBERS "rax", "rdx", "r8", "r9", "r10", "r11", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc", "memory"

template <int OB, int P>
struct AsmTile;
template <>
struct AsmTile<1, 12> {
    __attribute__((always_inline)) static void run(const uint8_t* w, const uint8_t* b0, int64_t s, int32_t words, VI (&a)[12]) {
        __asm__(QGPU_Z12 QGPU_TILE_SETUP
                "vmovdqu64 0(%%rdx), %%zmm29\n\t"
                QGPU_BCAST(QGPU_PX0, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 0)
                QGPU_BCAST(QGPU_PX1, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 1)
                QGPU_BCAST(QGPU_PX2, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 2)
                QGPU_BCAST(QGPU_PX3, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 3)
                QGPU_BCAST(QGPU_PX4, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 4)
                QGPU_BCAST(QGPU_PX5, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 5)
                QGPU_BCAST(QGPU_PX6, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 6)
                QGPU_BCAST(QGPU_PX7, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 7)
                QGPU_BCAST(QGPU_PX8, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 8)
                QGPU_BCAST(QGPU_PX9, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 9)
                QGPU_BCAST(QGPU_PX10, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 10)
                QGPU_BCAST(QGPU_PX11, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 11)
                QGPU_NEXT(64)
                : QGPU_OUT12
                : QGPU_TILE_IN
                : QGPU_TILE_CLOBBERS);
    }
};
template <>
struct AsmTile<2, 12> {
    __attribute__((always_inline)) static void run(const uint8_t* w, const uint8_t* b0, int64_t s, int32_t words, VI (&a)[24]) {
        __asm__(QGPU_Z24 QGPU_TILE_SETUP
                "vmovdqu64 0(%%rdx), %%zmm29\n\t vmovdqu64 64(%%rdx), %%zmm30\n\t"
                QGPU_BCAST(QGPU_PX0, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 0) QGPU_DOT("%%zmm30", "%%zmm27", 12)
                QGPU_BCAST(QGPU_PX1, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 1) QGPU_DOT("%%zmm30", "%%zmm28", 13)
                QGPU_BCAST(QGPU_PX2, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 2) QGPU_DOT("%%zmm30", "%%zmm27", 14)
                QGPU_BCAST(QGPU_PX3, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 3) QGPU_DOT("%%zmm30", "%%zmm28", 15)
                QGPU_BCAST(QGPU_PX4, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 4) QGPU_DOT("%%zmm30", "%%zmm27", 16)
                QGPU_BCAST(QGPU_PX5, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 5) QGPU_DOT("%%zmm30", "%%zmm28", 17)
                QGPU_BCAST(QGPU_PX6, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 6) QGPU_DOT("%%zmm30", "%%zmm27", 18)
                QGPU_BCAST(QGPU_PX7, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 7) QGPU_DOT("%%zmm30", "%%zmm28", 19)
                QGPU_BCAST(QGPU_PX8, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 8) QGPU_DOT("%%zmm30", "%%zmm27", 20)
                QGPU_BCAST(QGPU_PX9, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 9) QGPU_DOT("%%zmm30", "%%zmm28", 21)
                QGPU_BCAST(QGPU_PX10, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 10) QGPU_DOT("%%zmm30", "%%zmm27", 22)
                QGPU_BCAST(QGPU_PX11, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 11) QGPU_DOT("%%zmm30", "%%zmm28", 23)
                QGPU_NEXT(128)
                : QGPU_OUT24
                : QGPU_TILE_IN
                : QGPU_TILE_CLOBBERS);
    }
};
template <>
struct AsmTile<3, 8> {
    __attribute__((always_inline)) static void run(const uint8_t* w, const uint8_t* b0, int64_t s, int32_t words, VI (&a)[24]) {
        __asm__(QGPU_Z24 QGPU_TILE_SETUP
                "vmovdqu64 0(%%rdx), %%zmm29\n\t vmovdqu64 64(%%rdx), %%zmm30\n\t vmovdqu64 128(%%rdx), %%zmm26\n\t"
                QGPU_BCAST(QGPU_PX0, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 0) QGPU_DOT("%%zmm30", "%%zmm27", 8) QGPU_DOT("%%zmm26", "%%zmm27", 16)
                QGPU_BCAST(QGPU_PX1, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 1) QGPU_DOT("%%zmm30", "%%zmm28", 9) QGPU_DOT("%%zmm26", "%%zmm28", 17)
                QGPU_BCAST(QGPU_PX2, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 2) QGPU_DOT("%%zmm30", "%%zmm27", 10) QGPU_DOT("%%zmm26", "%%zmm27", 18)
                QGPU_BCAST(QGPU_PX3, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 3) QGPU_DOT("%%zmm30", "%%zmm28", 11) QGPU_DOT("%%zmm26", "%%zmm28", 19)
                QGPU_BCAST(QGPU_PX4, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 4) QGPU_DOT("%%zmm30", "%%zmm27", 12) QGPU_DOT("%%zmm26", "%%zmm27", 20)
                QGPU_BCAST(QGPU_PX5, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 5) QGPU_DOT("%%zmm30", "%%zmm28", 13) QGPU_DOT("%%zmm26", "%%zmm28", 21)
                QGPU_BCAST(QGPU_PX6, "%%zmm27") QGPU_DOT("%%zmm29", "%%zmm27", 6) QGPU_DOT("%%zmm30", "%%zmm27", 14) QGPU_DOT("%%zmm26", "%%zmm27", 22)
                QGPU_BCAST(QGPU_PX7, "%%zmm28") QGPU_DOT("%%zmm29", "%%zmm28", 7) QGPU_DOT("%%zmm30", "%%zmm28", 15) QGPU_DOT("%%zmm26", "%%zmm28", 23)
                QGPU_NEXT(192)
                : QGPU_OUT24
                : QGPU_TILE_IN
                : QGPU_TILE_CLOBBERS);
    }
};

// Output pixels [m_begin, m_end) in tiles of P, the last one moved back to end at m_end (it
// recomputes a few pixels of its neighbour and rewrites the same bytes). Shorter ranges and
// float outputs take the generic tiles.
template <int OB, int P>
void gemm_range_stride(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int64_t m_begin,
                       int64_t m_end) {
    if (m_end - m_begin < P || gp.out.mode != OUT_INT8 || gp.words < 1)
        return gemm_range<WordS8Flip, OB, P>(gp, in, out, g, blk0, m_begin, m_end);
    const uint8_t* w = gp.weights + (int64_t(g) * gp.blocks_per_group + blk0) * gp.words * 64;
    with_stage(gp.out, [&](auto stage) {
        constexpr int S = decltype(stage)::value;
        for (int64_t m = m_begin; m < m_end; m += P) {
            const int64_t t = m + P <= m_end ? m : m_end - P;
            VI a[OB * P];
            AsmTile<OB, P>::run(w, in + t * gp.pix_stride, gp.pix_stride, gp.words, a);
            VI acc[OB][P];
#pragma GCC unroll 4
            for (int ob = 0; ob < OB; ++ob)
#pragma GCC unroll 12
                for (int p = 0; p < P; ++p) acc[ob][p] = a[ob * P + p];
            store_tile_int8<S, OB, P>(gp, acc, static_cast<int8_t*>(out), g, blk0, t, P);
        }
    });
}
#undef QGPU_Z
#undef QGPU_Z12
#undef QGPU_Z24
#undef QGPU_TILE_SETUP
#undef QGPU_PX0
#undef QGPU_PX1
#undef QGPU_PX2
#undef QGPU_PX3
#undef QGPU_PX4
#undef QGPU_PX5
#undef QGPU_PX6
#undef QGPU_PX7
#undef QGPU_PX8
#undef QGPU_PX9
#undef QGPU_PX10
#undef QGPU_PX11
#undef QGPU_BCAST
#undef QGPU_DOT
#undef QGPU_NEXT
#undef QGPU_O
#undef QGPU_OUT12
#undef QGPU_OUT24
#undef QGPU_TILE_IN
#undef QGPU_TILE_CLOBBERS
#endif

// dst[i] = src[i] ^ 0x80 (IsaKernels::flip_copy), one vector at a time
void flip_copy_impl(const uint8_t* src, uint8_t* dst, int64_t bytes) {
    int64_t i = 0;
#if QGPU_X86_WIDTH == 512
    const __m512i f = _mm512_set1_epi8(char(0x80));
    for (; i + 64 <= bytes; i += 64)
        _mm512_storeu_si512(dst + i, _mm512_xor_si512(_mm512_loadu_si512(src + i), f));
#else
    const __m256i f = _mm256_set1_epi8(char(0x80));
    for (; i + 32 <= bytes; i += 32)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                            _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)), f));
#endif
    for (; i < bytes; ++i) dst[i] = uint8_t(src[i] ^ 0x80u);
}


// ---- float 1x1 convs on NCHW planes (PointF32Params) -----------------------------------------
// A tile: CO output channels x PV vectors of pixels [m, m + PV * L) (the last tile of a range
// masked), the input vectors of each input channel loaded once and broadcast weights.
template <int CO, int PV, bool kFull>
__attribute__((always_inline)) inline void point_tile(const PointF32Params& p, const float* in, float* out,
                                                      int32_t c0, int64_t m, int64_t m1) {
    const int rem = kFull ? PV * L : int(m1 - m);
    const int nco = imin32(CO, p.cout - c0);
    const float* wr[CO];
    for (int c = 0; c < CO; ++c) wr[c] = p.weights + int64_t(c0 + (c < nco ? c : nco - 1)) * p.cin;
    VF acc[CO][PV];
    for (int c = 0; c < CO; ++c)
        for (int v = 0; v < PV; ++v) acc[c][v] = Ops::set1f(0.0f);
    const float* x0 = in + m;
    for (int32_t i = 0; i < p.cin; ++i, x0 += p.M) {
        VF x[PV];
        for (int v = 0; v < PV; ++v) {
            if (kFull) x[v] = Ops::loadf(x0 + v * L);
            else x[v] = Ops::loadf_n(x0 + v * L, imin32(L, rem - v * L > 0 ? rem - v * L : 0));
        }
        for (int c = 0; c < CO; ++c) {
            const VF w = Ops::set1f(wr[c][i]);
            for (int v = 0; v < PV; ++v) acc[c][v] = Ops::fmaf(x[v], w, acc[c][v]);
        }
    }
    const OutParams& op = p.out;
    for (int c = 0; c < CO; ++c) {
        if (c >= nco) break;
        const VF b = Ops::set1f(op.bias[c0 + c]);
        float* dst = out + int64_t(c0 + c) * p.M + m;
        for (int v = 0; v < PV; ++v) {
            const VF y = act_f32(op, Ops::addf(acc[c][v], b));
            if (kFull) Ops::storef(dst + v * L, y);
            else if (rem > v * L) Ops::storef_n(dst + v * L, y, imin32(L, rem - v * L));
        }
    }
}

// Pixel blocks outermost: the block's input (cin x PV * L floats) stays in L1 while every
// output channel block reads it.
template <int CO, int PV>
void point_f32_impl(const PointF32Params& p, const float* in, float* out, int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; m += PV * L) {
        const bool full = m + PV * L <= m1;
        for (int32_t c0 = 0; c0 < p.cout; c0 += CO) {
            if (full) point_tile<CO, PV, true>(p, in, out, c0, m, m1);
            else point_tile<CO, PV, false>(p, in, out, c0, m, m1);
        }
    }
}

// ---- float depthwise on NCHW planes (DwPlaneF32Params) -----------------------------------------
// Output plane of channel c, row by row. The columns whose taps all read image pixels run in
// vectors of L pixels, P at a time (P accumulators: the taps of one vector are a chain of
// dependent FMAs), each tap an unaligned load of its input row; a last vector overlapping the
// previous one recomputes a few pixels instead of masking. The columns at the left and right
// padding run one pixel at a time. Rows in the top or bottom padding are skipped (they add 0).
// KH x KW: the kernel at compile time (0: at run time).
template <int KH, int KW, int P>
void dw_plane_f32_t(const DwPlaneF32Params& d, const float* in, float* out, int32_t c) {
    // (locals: the vector stores may alias anything, so fields of d would be reloaded)
    const int32_t in_h = d.in_h, in_w = d.in_w, out_h = d.out_h, out_w = d.out_w;
    const int32_t kh = KH ? KH : d.kh, kw = KW ? KW : d.kw, sh = d.sh, dh = d.dh, dw = d.dw;
    const int32_t pt = d.pad_top, pl = d.pad_left, taps = kh * kw;
    const float* wc = d.weights + int64_t(c) * taps;
    const OutParams op = d.out;
    const float bias = op.bias[c];
    // columns [xa, xb) read only image pixels
    const int32_t xa = pl, xb = in_w + pl - (kw - 1) * dw;
    const bool vec = xb - xa >= L;
    auto scalar_px = [&](int32_t oy, int32_t x) {
        float acc = 0.0f;
        for (int32_t ky = 0; ky < kh; ++ky) {
            const int32_t iy = oy * sh - pt + ky * dh;
            if (iy < 0 || iy >= in_h) continue;
            for (int32_t kx = 0; kx < kw; ++kx) {
                const int32_t ix = x - pl + kx * dw;
                if (ix >= 0 && ix < in_w) acc = __builtin_fmaf(in[int64_t(iy) * in_w + ix], wc[ky * kw + kx], acc);
            }
        }
        // act_f32's operations on one float (a masked store of its lane 0 stalled every pixel)
        float y = acc + bias;
        if (op.fact == FACT_CLAMP) {
            y = y < op.act_lo ? op.act_lo : y;
            y = op.act_hi < y ? op.act_hi : y;
        } else if (op.fact == FACT_LEAKY) {
            y = y < 0.0f ? y * op.slope : y;
        }
        out[int64_t(oy) * out_w + x] = y;
    };
    const VF b = Ops::set1f(bias);
    for (int32_t oy = 0; oy < out_h; ++oy) {
        if (!vec) {
            for (int32_t x = 0; x < out_w; ++x) scalar_px(oy, x);
            continue;
        }
        for (int32_t x = 0; x < xa && x < out_w; ++x) scalar_px(oy, x);
        for (int32_t x = xb > xa ? xb : xa; x < out_w; ++x) scalar_px(oy, x);
        const int32_t xend = xb < out_w ? xb : out_w;
        for (int32_t x0 = xa; x0 < xend; x0 += P * L) {
            int32_t xs[P];  // vector starts: the last one ends at xend at the latest
            for (int v = 0; v < P; ++v) xs[v] = x0 + v * L + L <= xend ? x0 + v * L : xend - L;
            VF acc[P];
            for (int v = 0; v < P; ++v) acc[v] = Ops::set1f(0.0f);
            for (int32_t ky = 0; ky < kh; ++ky) {
                const int32_t iy = oy * sh - pt + ky * dh;
                if (iy < 0 || iy >= in_h) continue;
                const float* irow = in + int64_t(iy) * in_w - pl;
                for (int32_t kx = 0; kx < kw; ++kx) {
                    const VF wt = Ops::set1f(wc[ky * kw + kx]);
                    for (int v = 0; v < P; ++v) acc[v] = Ops::fmaf(Ops::loadf(irow + xs[v] + kx * dw), wt, acc[v]);
                }
            }
            float* orow = out + int64_t(oy) * out_w;
            for (int v = 0; v < P; ++v) {
                if (v > 0 && xs[v] == xs[v - 1]) break;  // past the end (repeats of the last vector)
                Ops::storef(orow + xs[v], act_f32(op, Ops::addf(acc[v], b)));
            }
        }
    }
}

void dw_plane_f32_impl(const DwPlaneF32Params& d, const float* in, float* out, int32_t c) {
    if (d.kh == 3 && d.kw == 3) dw_plane_f32_t<3, 3, 4>(d, in, out, c);
    else dw_plane_f32_t<0, 0, 4>(d, in, out, c);
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

#if QGPU_X86_WIDTH == 512 || defined(QGPU_X86_AVXVNNI)
// ---- int8 depthwise on 4-tap words (layout: DwWordParams in isa_kernels.h) -------------------

#if QGPU_X86_WIDTH == 512
// n (<= 16) bytes at p, zero-extended to 32-bit lanes; n < 16 never reads past p + n
inline VI load_zext_bytes(const int8_t* p, int n) {
    if (n >= L) return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(__mmask16((1u << n) - 1u), p));
}
// (a | b | c | d) ^ flip
inline VI or4_xor(VI a, VI b, VI c, VI d, VI flip) {
    return _mm512_ternarylogic_epi32(_mm512_ternarylogic_epi32(a, b, c, 0xFE), d, flip, 0x56);
}
inline VI slli(VI a, int n) { return _mm512_slli_epi32(a, n); }
// (w >> 8) | ((z << 24) ^ top): shift the word down one byte, the new (sign-flipped) byte on top
inline VI or_shift_in(VI w, VI z, VI top) {
    return _mm512_ternarylogic_epi32(_mm512_srli_epi32(w, 8), _mm512_slli_epi32(z, 24), top, 0xF6);
}
inline void storei(uint8_t* p, VI v) { _mm512_storeu_si512(p, v); }
#else
inline VI load_zext_bytes(const int8_t* p, int n) {
    int64_t v = 0;
    __builtin_memcpy(&v, p, size_t(n >= L ? L : n));
    return _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(v));
}
inline VI or4_xor(VI a, VI b, VI c, VI d, VI flip) {
    return _mm256_xor_si256(_mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d)), flip);
}
inline VI slli(VI a, int n) { return _mm256_slli_epi32(a, n); }
inline VI or_shift_in(VI w, VI z, VI top) {
    return _mm256_or_si256(_mm256_srli_epi32(w, 8), _mm256_xor_si256(_mm256_slli_epi32(z, 24), top));
}
inline void storei(uint8_t* p, VI v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
#endif

// dw_word_pack_row_impl's sliding window (dw == 1) for NB channel blocks from cb on at once:
// each block's words are a dependent chain (shift, insert), so interleaving the blocks' chains
// keeps the vector units busy (one block at a time, packing was 44 % of mv2_dw).
template <int NB>
inline void dw_pack_slide(const DwWordParams& d, const int8_t* src, uint8_t* dst, int32_t c0, int32_t cb, int64_t x0,
                          int64_t xe) {
    const VI flip = Ops::set1i(int32_t(0x80808080u)), top = Ops::set1i(int32_t(0x80000000u));
    const int64_t VB = int64_t(L) * 4;
    VI w[NB], padz[NB];
    uint8_t* out[NB];
    int nb[NB];
    bool full = true;
    for (int j = 0; j < NB; ++j) {
        const int32_t c = cb + j * L;
        nb[j] = c < d.in_c4 ? d.in_c4 - c : 0;
        full = full && nb[j] >= L;
        padz[j] = load_zext_bytes(d.pad_pixel + c, L);
        out[j] = dst + int64_t((c - c0) / L) * d.Wp * VB;
    }
    auto pixel = [&](int j, int64_t x) {  // zero-extended bytes of padded column x
        const int64_t ix = x - d.pad_left;
        return (ix >= 0 && ix < d.in_w) ? load_zext_bytes(src + ix * d.in_c4 + cb + j * L, nb[j]) : padz[j];
    };
    for (int j = 0; j < NB; ++j) {
        w[j] = or4_xor(pixel(j, 0), slli(pixel(j, 1), 8), slli(pixel(j, 2), 16), slli(pixel(j, 3), 24), flip);
        storei(out[j], w[j]);
    }
    int64_t x = 1;
    for (; x < x0 && x < d.Wp; ++x)
        for (int j = 0; j < NB; ++j) {
            w[j] = or_shift_in(w[j], pixel(j, x + 3), top);
            storei(out[j] + x * VB, w[j]);
        }
    if (full && x < xe) {
        const int8_t* sp = src + (x + 3 - d.pad_left) * d.in_c4 + cb;
        for (; x < xe; ++x, sp += d.in_c4)
            for (int j = 0; j < NB; ++j) {
                w[j] = or_shift_in(w[j], load_zext_bytes(sp + j * L, L), top);
                storei(out[j] + x * VB, w[j]);
            }
    }
    for (; x < d.Wp; ++x)
        for (int j = 0; j < NB; ++j) {
            w[j] = or_shift_in(w[j], pixel(j, x + 3), top);
            storei(out[j] + x * VB, w[j]);
        }
}

// One padded row, channel-block major: word (x, c) at ((c / L) * Wp + x) * L + c % L holds bytes
// x_q[x + i * dw][c] ^ 0x80 for i = 0..3 (padding taps read pad_pixel, which holds z_x). Lanes
// c >= C hold whatever (their weights are 0).
void dw_word_pack_row_impl(const DwWordParams& d, const int8_t* src, uint8_t* dst, int32_t c0, int32_t c1) {
    const VI flip = Ops::set1i(int32_t(0x80808080u));
    const int64_t VB = int64_t(L) * 4, pstride = int64_t(c1 - c0) * 4;
    if (!src) {
        const VI padw = or4_xor(load_zext_bytes(d.pad_pixel, L), slli(load_zext_bytes(d.pad_pixel, L), 8),
                                slli(load_zext_bytes(d.pad_pixel, L), 16), slli(load_zext_bytes(d.pad_pixel, L), 24),
                                flip);
        // every lane of the pad pixel holds z_x, so one vector fills the whole row
        for (int64_t i = 0; i < d.Wp * pstride; i += 4 * L) storei(dst + i, padw);
        return;
    }
    if (d.dw == 1) {
        // sliding window: word(x + 1) = word(x) >> 8 | byte(x + 4) << 24, one new pixel per word.
        // Column x + 3 is an image pixel for x in [x0, x1), padding elsewhere. Each block's
        // words form one dependent chain, so up to 4 blocks run side by side.
        const int64_t x0 = d.pad_left - 3 > 1 ? d.pad_left - 3 : 1;
        const int64_t x1 = d.pad_left + d.in_w - 3 > x0 ? d.pad_left + d.in_w - 3 : x0;
        const int64_t xe = x1 < d.Wp ? x1 : d.Wp;
        int32_t cb = c0;
        for (; cb + 4 * L <= c1; cb += 4 * L) dw_pack_slide<4>(d, src, dst, c0, cb, x0, xe);
        for (; cb + 2 * L <= c1; cb += 2 * L) dw_pack_slide<2>(d, src, dst, c0, cb, x0, xe);
        for (; cb < c1; cb += L) dw_pack_slide<1>(d, src, dst, c0, cb, x0, xe);
        return;
    }
    for (int64_t x = 0; x < d.Wp; ++x) {
        const int8_t* px[4];
        for (int i = 0; i < 4; ++i) {
            const int64_t ix = x + int64_t(i) * d.dw - d.pad_left;
            px[i] = (ix >= 0 && ix < d.in_w) ? src + ix * d.in_c4 : nullptr;
        }
        for (int32_t cb = c0; cb < c1; cb += L) {
            VI z[4];
            for (int i = 0; i < 4; ++i) {
                // the NHWC4 pixel has in_c4 bytes: never read past them (the last pixel of the
                // tensor ends the buffer)
                if (px[i]) z[i] = load_zext_bytes(px[i] + cb, cb < d.in_c4 ? d.in_c4 - cb : 0);
                else z[i] = load_zext_bytes(d.pad_pixel + cb, L);
            }
            storei(dst + (int64_t((cb - c0) / L) * d.Wp + x) * VB,
                   or4_xor(z[0], slli(z[1], 8), slli(z[2], 16), slli(z[3], 24), flip));
        }
    }
}

// Output row oy from its kh packed input rows rows[ky]: per channel block (its requantize
// parameters in registers),
// P output pixels at a time, kh * nwk vpdpbusd per pixel.
// K: kh * nwk when known at compile time (3: every 3x3), else 0
template <int kStage, bool kStride1, int P, int K>
void dw_word_row_t(const DwWordParams& d, const uint8_t* const* rows, void* out, int32_t oy, int32_t c0, int32_t c1) {
    constexpr int64_t VB = int64_t(L) * 4;
    const int64_t step = kStride1 ? VB : int64_t(d.sw) * VB;  // between output pixels
    const int64_t M = int64_t(d.out_h) * d.out_w, oc4 = d.out_c4;
    const bool int8_out = d.out.mode == OUT_INT8;
    const int nk = K ? K : d.kh * d.nwk;
    for (int32_t cb = c0; cb < c1; cb += L) {
        const int n = imin32(L, d.C - cb);
        const ChanQ q = load_chanq<kStage>(d.out, size_t(cb));
        const int64_t blk_off = int64_t((cb - c0) / L) * d.Wp * VB;
        for (int32_t ox0 = 0; ox0 < d.out_w; ox0 += P) {
            // a last partial group recomputes the row's last P pixels (out_w >= P: never reads
            // past the row) and stores them all: the ones the previous group wrote get the same
            // bytes again (storing only the new ones kept acc[] in memory for that case)
            const int32_t ox = ox0 + P <= d.out_w ? ox0 : d.out_w - P;
            VI acc[P];
#pragma GCC unroll 16
            for (int p = 0; p < P; ++p) acc[p] = WordU8::zero();
            for (int k = 0; k < nk; ++k) {
                const int32_t ky = K ? k : k / d.nwk, j = K ? 0 : k % d.nwk;
                const uint8_t* r = rows[ky] + blk_off + (int64_t(4 * j) * d.dw + int64_t(ox) * (kStride1 ? 1 : d.sw)) * VB;
                const VI w = WordU8::loadw(d.weights + (int64_t(k) * d.CL + cb) * 4);
#pragma GCC unroll 16
                for (int p = 0; p < P; ++p) acc[p] = WordU8::dot(acc[p], WordU8::loadw(r + p * step), w);
            }
            const int64_t opix = int64_t(oy) * d.out_w + ox;
            if (int8_out) {
                int8_t* dst = static_cast<int8_t*>(out) + opix * oc4 + cb;
                // compile-time bounds in both branches, so acc[] stays in registers; whole
                // blocks (all but a last partial one) without the partial-store test
                if (n == L) {
#pragma GCC unroll 16
                    for (int p = 0; p < P; ++p) out_int8_q<kStage>(q, acc[p], dst + p * oc4, L);
                } else {
#pragma GCC unroll 16
                    for (int p = 0; p < P; ++p) out_int8_q<kStage>(q, acc[p], dst + p * oc4, n);
                }
            } else {
#pragma GCC unroll 16
                for (int p = 0; p < P; ++p) {
                    const VF y = Ops::i2f(Ops::addi(acc[p], q.add));
                    out_float(d.out, y, size_t(cb), static_cast<float*>(out) + cb * M + opix + p, M, n);
                }
            }
        }
    }
}

// P pixels per group where the row has them, else 4 or 1 (narrow late layers)
template <int kStage, int P>
void dw_word_row_s(const DwWordParams& d, const uint8_t* const* rows, void* out, int32_t oy, int32_t c0, int32_t c1) {
    const bool k3 = d.kh == 3 && d.nwk == 1;
    if (d.out_w >= P) {
        if (d.sw == 1) {
            if (k3) dw_word_row_t<kStage, true, P, 3>(d, rows, out, oy, c0, c1);
            else dw_word_row_t<kStage, true, P, 0>(d, rows, out, oy, c0, c1);
        } else {
            if (k3) dw_word_row_t<kStage, false, P, 3>(d, rows, out, oy, c0, c1);
            else dw_word_row_t<kStage, false, P, 0>(d, rows, out, oy, c0, c1);
        }
    } else if (d.out_w >= 4) {
        dw_word_row_t<kStage, false, 4, 0>(d, rows, out, oy, c0, c1);
    } else {
        dw_word_row_t<kStage, false, 1, 0>(d, rows, out, oy, c0, c1);
    }
}

template <int P>
void dw_word_row_impl(const DwWordParams& d, const uint8_t* const* rows, void* out, int32_t oy, int32_t c0, int32_t c1) {
    with_stage(d.out, [&](auto stage) { dw_word_row_s<decltype(stage)::value, P>(d, rows, out, oy, c0, c1); });
}
#endif
