// qgpu OpenCL kernels: int8 convolution (general + depthwise) with the fused output stages, and
// the fp32 convolution. One source; the host picks the dot-product flavour with -D:
//   QGPU_DOT_KHR=1      dot_4x8packed_ss_int (cl_khr_integer_dot_product, 4x8 packed)
//   QGPU_DOT_ARM=1      arm_dot (cl_arm_integer_dot_product_int8)
//   neither             portable char4 multiply-add
// Layouts (src/core/layout.h): int8 tensors are NHWC4 ([n][h][w][round_up(c,4)] bytes), read
// and written as 32-bit words of 4 channels (lowest channel in the low byte); float tensors NCHW.
// Arithmetic (src/core/requant.h) is reproduced bit for bit: integer-only requantize
// (mul_hi + low product), and the float output stage as two separately rounded operations.
#pragma OPENCL FP_CONTRACT OFF

#if defined(QGPU_DOT_KHR) && QGPU_DOT_KHR
#  if !defined(cl_khr_integer_dot_product) && !defined(__opencl_c_integer_dot_product_input_4x8bit_packed)
#    error "QGPU_DOT_KHR needs cl_khr_integer_dot_product (4x8 packed)"
#  endif
#  define DOT4(acc, a, b) ((acc) + dot_4x8packed_ss_int((a), (b)))
#  define QGPU_VARIANT_NAME khr
#elif defined(QGPU_DOT_ARM) && QGPU_DOT_ARM
#  if !defined(cl_arm_integer_dot_product_int8)
#    error "QGPU_DOT_ARM needs cl_arm_integer_dot_product_int8"
#  endif
#  pragma OPENCL EXTENSION cl_arm_integer_dot_product_int8 : enable
#  define DOT4(acc, a, b) ((acc) + arm_dot(as_char4(a), as_char4(b)))
#  define QGPU_VARIANT_NAME arm
#else
inline int qgpu_dot4_portable(uint a, uint b) {
    const int4 x = convert_int4(as_char4(a));
    const int4 y = convert_int4(as_char4(b));
    const int4 p = x * y;
    return (p.x + p.y) + (p.z + p.w);
}
#  define DOT4(acc, a, b) ((acc) + qgpu_dot4_portable((a), (b)))
#  define QGPU_VARIANT_NAME portable
#endif

// ---- the integer output stage (requant.h, gemmlowp double rounding) -------------------------

// (a * b + 2^30) >> 31 with the 64-bit product from mul_hi + the low product; saturates the
// single overflow case (INT_MIN * INT_MIN).
inline int qgpu_srdhm(int a, int b) {
    if (a == b && a == INT_MIN) return INT_MAX;
    const int hi = mul_hi(a, b);
    const uint lo = (uint)a * (uint)b;
    const uint lo2 = lo + 0x40000000u;
    const uint hi2 = (uint)hi + (lo2 < lo ? 1u : 0u);
    return (int)((hi2 << 1) | (lo2 >> 31));
}

// x / 2^n, nearest, ties away from zero; n in [0, 31].
inline int qgpu_rdivpot(int x, int n) {
    const int mask = (int)((1u << n) - 1u);
    const int rem = x & mask;
    const int thr = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> n) + (rem > thr ? 1 : 0);
}

// x * 2^n saturated to int32; n in [0, 30].
inline int qgpu_sat_shl(int x, int n) {
    if (x > (INT_MAX >> n)) return INT_MAX;
    if (x < (INT_MIN >> n)) return INT_MIN;
    return (int)((uint)x << n);
}

inline int qgpu_requantize(int acc, int m0, int shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return qgpu_rdivpot(qgpu_srdhm(qgpu_sat_shl(acc, left), m0), right);
}

// acc includes bias_q. Leaky uses (m0n, shn) where acc < 0.
inline int qgpu_output_q(int acc, int m0, int sh, int m0n, int shn, int leaky, int zy, int qmin,
                         int qmax) {
    const int v = (leaky && acc < 0) ? qgpu_requantize(acc, m0n, shn) : qgpu_requantize(acc, m0, sh);
    // |v| <= 2^31 - 1 and |zy| <= 128: compute the sum without overflow
    const long y = (long)v + (long)zy;
    return (int)(y < qmin ? (long)qmin : (y > qmax ? (long)qmax : y));
}

// Float activation; kinds as qgpu_activation (0 none, 1 relu, 2 relu6, 3 clamp, 4 leaky).
inline float qgpu_activate(float y, int act, float amin, float amax, float slope) {
    switch (act) {
        case 1: return y < 0.0f ? 0.0f : y;
        case 2: return y < 0.0f ? 0.0f : (y > 6.0f ? 6.0f : y);
        case 3: return y < amin ? amin : (y > amax ? amax : y);
        case 4: return y < 0.0f ? y * slope : y;
        default: return y;
    }
}

// The parameters every int8 kernel shares, packed by the host into an int buffer:
enum {
    P_IN_H, P_IN_W, P_IN_C4W, P_OUT_C, P_OUT_H, P_OUT_W, P_OUT_C4W,
    P_KH, P_KW, P_SH, P_SW, P_DH, P_DW, P_PT, P_PL,
    P_NWORDS, P_GROUPED, P_ZX, P_ZY, P_QMIN, P_QMAX, P_LEAKY, P_OUT_INT8, P_ACT,
    P_COUNT
};

// Writes the 4 output channels of word `ocw` at pixel (n, oy, ox). `acc` is the sum of
// (x - z_x) * w without bias.
inline void qgpu_store(int4 acc, int n, int oy, int ox, int ocw, __constant int* p,
                       __global const int4* bias_q, __global const int4* m0,
                       __global const int4* sh, __global const int4* m0n,
                       __global const int4* shn, __global const float4* dq,
                       __global const float4* bias_f, float amin, float amax, float slope,
                       __global void* out) {
    const int oc_total = p[P_OUT_C], oh = p[P_OUT_H], ow = p[P_OUT_W];
    if (p[P_OUT_INT8]) {
        const int4 a = acc + bias_q[ocw];
        const int4 m = m0[ocw], s = sh[ocw], mn = m0n[ocw], sn = shn[ocw];
        const int zy = p[P_ZY], qmin = p[P_QMIN], qmax = p[P_QMAX], leaky = p[P_LEAKY];
        const int oc = ocw * 4;
        int4 y;
        y.x = oc + 0 < oc_total ? qgpu_output_q(a.x, m.x, s.x, mn.x, sn.x, leaky, zy, qmin, qmax) : zy;
        y.y = oc + 1 < oc_total ? qgpu_output_q(a.y, m.y, s.y, mn.y, sn.y, leaky, zy, qmin, qmax) : zy;
        y.z = oc + 2 < oc_total ? qgpu_output_q(a.z, m.z, s.z, mn.z, sn.z, leaky, zy, qmin, qmax) : zy;
        y.w = oc + 3 < oc_total ? qgpu_output_q(a.w, m.w, s.w, mn.w, sn.w, leaky, zy, qmin, qmax) : zy;
        __global uint* o = (__global uint*)out;
        o[((n * oh + oy) * ow + ox) * p[P_OUT_C4W] + ocw] = as_uint(convert_char4(y));
    } else {
        const float4 d = dq[ocw], b = bias_f[ocw];
        const int act = p[P_ACT];
        __global float* o = (__global float*)out;
        const int oc = ocw * 4;
        const int plane = oh * ow;
        const int base = ((n * oc_total + oc) * oh + oy) * ow + ox;
        // two roundings: the product, then the bias (FP_CONTRACT OFF: no fma)
        float t;
        if (oc + 0 < oc_total) { t = (float)acc.x * d.x; o[base] = qgpu_activate(t + b.x, act, amin, amax, slope); }
        if (oc + 1 < oc_total) { t = (float)acc.y * d.y; o[base + plane] = qgpu_activate(t + b.y, act, amin, amax, slope); }
        if (oc + 2 < oc_total) { t = (float)acc.z * d.z; o[base + 2 * plane] = qgpu_activate(t + b.z, act, amin, amax, slope); }
        if (oc + 3 < oc_total) { t = (float)acc.w * d.w; o[base + 3 * plane] = qgpu_activate(t + b.w, act, amin, amax, slope); }
    }
}

// General int8 conv (any groups). One work item: 4 output channels (one output word) at
// QGPU_PIX consecutive pixels of one output row (each weight word is loaded once for all of
// them). Weights: [oc4][kh][kw][nwords] uint4 (lane j = output channel 4*oc4+j, each uint the 4
// input channels of one input word, zero outside the channel's group); the input word window
// of lane j starts at win[oc4].j. tapsum[oc4][kh][kw] int4 = sum of that tap's weights, for the
// zero-point correction sum((x - z) w) = sum(x w) - z sum(w) over in-bounds taps.
#ifndef QGPU_PIX
#define QGPU_PIX 4
#endif
__kernel void conv_int8(__global const uint* in, __global const uint4* wt,
                        __global const int4* tapsum, __global const int4* win,
                        __constant int* p, __global const int4* bias_q,
                        __global const int4* m0, __global const int4* sh,
                        __global const int4* m0n, __global const int4* shn,
                        __global const float4* dq, __global const float4* bias_f,
                        float amin, float amax, float slope, __global void* out, uint total) {
    const uint gid = get_global_id(0);
    if (gid >= total) return;
    const int ow = p[P_OUT_W], oh = p[P_OUT_H], oc4w = p[P_OUT_C4W];
    const int owb = (ow + QGPU_PIX - 1) / QGPU_PIX;
    const int ox0 = (int)(gid % (uint)owb) * QGPU_PIX;
    uint r = gid / (uint)owb;
    const int oy = (int)(r % (uint)oh);
    r /= (uint)oh;
    const int ocw = (int)(r % (uint)oc4w);
    const int n = (int)(r / (uint)oc4w);

    const int ih = p[P_IN_H], iw = p[P_IN_W], ic4w = p[P_IN_C4W];
    const int kh = p[P_KH], kw = p[P_KW], nw = p[P_NWORDS];
    const int sw = p[P_SW], dh = p[P_DH], dw = p[P_DW];
    const int iy0 = oy * p[P_SH] - p[P_PT], ix0 = ox0 * sw - p[P_PL];
    const int4 start = win[ocw];
    const int grouped = p[P_GROUPED];
    int4 acc[QGPU_PIX], wsum[QGPU_PIX];
    for (int q = 0; q < QGPU_PIX; ++q) { acc[q] = (int4)(0); wsum[q] = (int4)(0); }
    for (int ky = 0; ky < kh; ++ky) {
        const int iy = iy0 + ky * dh;
        if (iy < 0 || iy >= ih) continue;
        __global const uint* row = in + (n * ih + iy) * iw * ic4w;
        for (int kx = 0; kx < kw; ++kx) {
            const int tap = (ocw * kh + ky) * kw + kx;
            __global const uint4* wp = wt + tap * nw;
            const int4 ts = tapsum[tap];
            int xo[QGPU_PIX];
            bool ok[QGPU_PIX];
            for (int q = 0; q < QGPU_PIX; ++q) {
                const int ix = ix0 + q * sw + kx * dw;
                ok[q] = ox0 + q < ow && ix >= 0 && ix < iw;
                xo[q] = ok[q] ? ix * ic4w : 0;
                if (ok[q]) wsum[q] += ts;
            }
            if (!grouped) {
                for (int j = 0; j < nw; ++j) {
                    const uint4 w = wp[j];
                    for (int q = 0; q < QGPU_PIX; ++q) {
                        if (!ok[q]) continue;
                        const uint x = row[xo[q] + j];
                        acc[q].x = DOT4(acc[q].x, x, w.x);
                        acc[q].y = DOT4(acc[q].y, x, w.y);
                        acc[q].z = DOT4(acc[q].z, x, w.z);
                        acc[q].w = DOT4(acc[q].w, x, w.w);
                    }
                }
            } else {
                for (int q = 0; q < QGPU_PIX; ++q) {
                    if (!ok[q]) continue;
                    __global const uint* xp = row + xo[q];
                    for (int j = 0; j < nw; ++j) {
                        const uint4 w = wp[j];
                        acc[q].x = DOT4(acc[q].x, xp[start.x + j], w.x);
                        acc[q].y = DOT4(acc[q].y, xp[start.y + j], w.y);
                        acc[q].z = DOT4(acc[q].z, xp[start.z + j], w.z);
                        acc[q].w = DOT4(acc[q].w, xp[start.w + j], w.w);
                    }
                }
            }
        }
    }
    const int zx = p[P_ZX];
    for (int q = 0; q < QGPU_PIX; ++q) {
        if (ox0 + q >= ow) break;
        qgpu_store(acc[q] - zx * wsum[q], n, oy, ox0 + q, ocw, p, bias_q, m0, sh, m0n, shn, dq,
                   bias_f, amin, amax, slope, out);
    }
}

// Depthwise int8 conv (groups == in_c == out_c): one work item = 4 channels at one pixel; each
// channel multiplies only its own input channel, so (x - z) is formed directly.
// Weights: [c4][kh][kw] uint (4 channels' weights, padding channels zero).
__kernel void conv_int8_dw(__global const uint* in, __global const uint* wt,
                           __constant int* p, __global const int4* bias_q,
                           __global const int4* m0, __global const int4* sh,
                           __global const int4* m0n, __global const int4* shn,
                           __global const float4* dq, __global const float4* bias_f,
                           float amin, float amax, float slope, __global void* out, uint total) {
    const uint gid = get_global_id(0);
    if (gid >= total) return;
    const int ow = p[P_OUT_W], oh = p[P_OUT_H], oc4w = p[P_OUT_C4W];
    const int ox = (int)(gid % (uint)ow);
    uint r = gid / (uint)ow;
    const int oy = (int)(r % (uint)oh);
    r /= (uint)oh;
    const int cw = (int)(r % (uint)oc4w);
    const int n = (int)(r / (uint)oc4w);

    const int ih = p[P_IN_H], iw = p[P_IN_W], ic4w = p[P_IN_C4W];
    const int kh = p[P_KH], kw = p[P_KW];
    const int iy0 = oy * p[P_SH] - p[P_PT], ix0 = ox * p[P_SW] - p[P_PL];
    const int dh = p[P_DH], dw = p[P_DW];
    const int4 zx = (int4)(p[P_ZX]);
    int4 acc = (int4)(0);
    for (int ky = 0; ky < kh; ++ky) {
        const int iy = iy0 + ky * dh;
        if (iy < 0 || iy >= ih) continue;
        for (int kx = 0; kx < kw; ++kx) {
            const int ix = ix0 + kx * dw;
            if (ix < 0 || ix >= iw) continue;
            const int4 x = convert_int4(as_char4(in[((n * ih + iy) * iw + ix) * ic4w + cw])) - zx;
            const int4 w = convert_int4(as_char4(wt[(cw * kh + ky) * kw + kx]));
            acc += x * w;
        }
    }
    qgpu_store(acc, n, oy, ox, cw, p, bias_q, m0, sh, m0n, shn, dq, bias_f, amin, amax, slope, out);
}

// fp32 conv, NCHW in and out, OIHW weights; one work item per output element.
enum {
    F_IN_C, F_IN_H, F_IN_W, F_OUT_C, F_OUT_H, F_OUT_W, F_KH, F_KW, F_SH, F_SW, F_DH, F_DW,
    F_PT, F_PL, F_CIN_G, F_COUT_G, F_ACT, F_COUNT
};
__kernel void conv_f32(__global const float* in, __global const float* wt,
                       __global const float* bias, __constant int* p, float amin, float amax,
                       float slope, __global float* out, uint total) {
    const uint gid = get_global_id(0);
    if (gid >= total) return;
    const int ow = p[F_OUT_W], oh = p[F_OUT_H], oc_total = p[F_OUT_C];
    const int ox = (int)(gid % (uint)ow);
    uint r = gid / (uint)ow;
    const int oy = (int)(r % (uint)oh);
    r /= (uint)oh;
    const int oc = (int)(r % (uint)oc_total);
    const int n = (int)(r / (uint)oc_total);
    const int ic_total = p[F_IN_C], ih = p[F_IN_H], iw = p[F_IN_W];
    const int kh = p[F_KH], kw = p[F_KW], cin_g = p[F_CIN_G];
    const int ic0 = (oc / p[F_COUT_G]) * cin_g;
    const int iy0 = oy * p[F_SH] - p[F_PT], ix0 = ox * p[F_SW] - p[F_PL];
    const int dh = p[F_DH], dw = p[F_DW];
    __global const float* w = wt + oc * cin_g * kh * kw;
    float acc = 0.0f;
    for (int i = 0; i < cin_g; ++i) {
        __global const float* plane = in + ((n * ic_total) + ic0 + i) * ih * iw;
        for (int ky = 0; ky < kh; ++ky) {
            const int iy = iy0 + ky * dh;
            if (iy < 0 || iy >= ih) continue;
            for (int kx = 0; kx < kw; ++kx) {
                const int ix = ix0 + kx * dw;
                if (ix < 0 || ix >= iw) continue;
                acc += plane[iy * iw + ix] * w[(i * kh + ky) * kw + kx];
            }
        }
    }
    out[gid] = qgpu_activate(acc + bias[oc], p[F_ACT], amin, amax, slope);
}
