// qgpu OpenCL kernels for the network layers around the convolutions (OpKind in
// src/core/backend.h), host code in src/opencl/cl_ops.cpp. Semantics are those of
// src/cpu/reference/ops_reference.cpp, bit for bit except softmax (exp() rounding).
// Layouts (src/core/layout.h): int8 tensors NHWC4 = [n][h][w][c4] bytes, c4 = round_up(c, 4),
// read as char4 words of 4 channels where whole words suffice; float tensors NCHW.
// Every kernel takes `count` (the number of work items that do work) and returns above it: the
// host rounds the global size up to the work-group size. Indices are 32-bit (the host refuses
// tensors of 2^31 elements or more).
// Float arithmetic: no contraction (a*b+c stays two roundings, like the C++ reference), max as
// `a < b ? b : a` (std::max: NaN and -0.0 handled the same way, unlike fmax), and the average
// pool's division correctly rounded: the host builds with -cl-fp32-correctly-rounded-divide-sqrt
// where the device supports it, else with QGPU_DIV_F64 (fp64 division rounded once to float is
// the correctly rounded float quotient).
#pragma OPENCL FP_CONTRACT OFF

#if (defined(QGPU_HAVE_F64) && QGPU_HAVE_F64) || (defined(QGPU_DIV_F64) && QGPU_DIV_F64)
#  pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

inline float qgpu_op_div(float a, float b) {
#if defined(QGPU_DIV_F64) && QGPU_DIV_F64
    return (float)((double)a / (double)b);
#else
    return a / b;
#endif
}

inline float qgpu_op_max(float acc, float v) { return acc < v ? v : acc; }

// ---- pooling ---------------------------------------------------------------------------------
// One work item per output word (4 channels of one pixel); taps outside the image are skipped.
// Padding channels of the output hold the zero point.
__kernel void op_maxpool_int8(__global const char4* in, __global char4* out, int count,
                              int in_h, int in_w, int c4w, int out_h, int out_w, int kh, int kw,
                              int sh, int sw, int pt, int pl, int channels, int zp) {
    const int gid = (int)get_global_id(0);
    if (gid >= count) return;
    const int cw = gid % c4w;
    int t = gid / c4w;
    const int ox = t % out_w;
    t /= out_w;
    const int oy = t % out_h;
    const int n = t / out_h;
    char4 acc = (char4)(-128);
    for (int ky = 0; ky < kh; ++ky) {
        const int iy = oy * sh - pt + ky;
        if (iy < 0 || iy >= in_h) continue;
        for (int kx = 0; kx < kw; ++kx) {
            const int ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= in_w) continue;
            acc = max(acc, in[((n * in_h + iy) * in_w + ix) * c4w + cw]);
        }
    }
    const int c0 = cw * 4;  // lane 0 is always a real channel
    if (c0 + 1 >= channels) acc.s1 = (char)zp;
    if (c0 + 2 >= channels) acc.s2 = (char)zp;
    if (c0 + 3 >= channels) acc.s3 = (char)zp;
    out[gid] = acc;
}

// One work item per output element (NCHW order). is_max: max of the taps (-inf when none);
// else the sum of the in-image taps in (ky, kx) order divided by their number.
__kernel void op_pool_f32(__global const float* in, __global float* out, int count, int in_h,
                          int in_w, int out_h, int out_w, int kh, int kw, int sh, int sw, int pt,
                          int pl, int is_max) {
    const int gid = (int)get_global_id(0);
    if (gid >= count) return;
    const int ox = gid % out_w;
    int t = gid / out_w;
    const int oy = t % out_h;
    const int plane_index = t / out_h;  // n * channels + c
    __global const float* plane = in + (size_t)plane_index * (size_t)(in_h * in_w);
    float acc = is_max ? -INFINITY : 0.0f;
    int taps = 0;
    for (int ky = 0; ky < kh; ++ky) {
        const int iy = oy * sh - pt + ky;
        if (iy < 0 || iy >= in_h) continue;
        for (int kx = 0; kx < kw; ++kx) {
            const int ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= in_w) continue;
            const float v = plane[iy * in_w + ix];
            acc = is_max ? qgpu_op_max(acc, v) : acc + v;
            ++taps;
        }
    }
    out[gid] = is_max ? acc : qgpu_op_div(acc, (float)max(taps, 1));
}

// ---- concat (one launch per input) -------------------------------------------------------------
// int8: bytes [offset, offset + span) of every output pixel; byte j < in_c is the input's
// channel j, the rest (span > in_c only for the last input) are the output's padding channels.
__kernel void op_concat_int8(__global const char* in, __global char* out, int count, int in_c4,
                             int in_c, int out_c4, int offset, int span, int zp) {
    const int gid = (int)get_global_id(0);
    if (gid >= count) return;
    const int p = gid / span, j = gid % span;
    out[p * out_c4 + offset + j] = j < in_c ? in[p * in_c4 + j] : (char)zp;
}

// float: the input's in_c planes of image n go to planes [offset, offset + in_c) of the output.
__kernel void op_concat_f32(__global const float* in, __global float* out, int count,
                            int per_image, int out_per_image, int offset_elements) {
    const int gid = (int)get_global_id(0);
    if (gid >= count) return;
    const int n = gid / per_image, k = gid % per_image;
    out[n * out_per_image + offset_elements + k] = in[gid];
}

// ---- softmax over channels -----------------------------------------------------------------------
// One work item per (n, pixel). With fp64 the sum and the final division are done in double like
// the reference; otherwise a compensated float sum. exp() may differ from the host's in the last
// bits (the tolerance of tests/test_opencl_ops.cpp).
__kernel void op_softmax_f32(__global const float* in, __global float* out, int count,
                             int channels, int plane) {
    const int gid = (int)get_global_id(0);
    if (gid >= count) return;
    const int n = gid / plane, p = gid % plane;
    const int base = n * channels * plane + p;
    float m = -INFINITY;
    for (int c = 0; c < channels; ++c) m = qgpu_op_max(m, in[base + c * plane]);
#if defined(QGPU_HAVE_F64) && QGPU_HAVE_F64
    double sum = 0.0;
    for (int c = 0; c < channels; ++c) {
        const float e = exp(in[base + c * plane] - m);
        out[base + c * plane] = e;
        sum += (double)e;
    }
    for (int c = 0; c < channels; ++c)
        out[base + c * plane] = (float)((double)out[base + c * plane] / sum);
#else
    float sum = 0.0f, lost = 0.0f;  // Kahan summation
    for (int c = 0; c < channels; ++c) {
        const float e = exp(in[base + c * plane] - m);
        out[base + c * plane] = e;
        const float y = e - lost;
        const float s = sum + y;
        lost = (s - sum) - y;
        sum = s;
    }
    for (int c = 0; c < channels; ++c) out[base + c * plane] = out[base + c * plane] / sum;
#endif
}

// ---- elementwise -------------------------------------------------------------------------------
// int8 relu on whole words, padding included (padding holds the zero point, max keeps it).
__kernel void op_relu_int8(__global const char4* in, __global char4* out, int count, int zp) {
    const int gid = (int)get_global_id(0);
    if (gid >= count) return;
    out[gid] = max(in[gid], (char4)((char)zp));
}

__kernel void op_relu_f32(__global const float* in, __global float* out, int count, float slope) {
    const int gid = (int)get_global_id(0);
    if (gid >= count) return;
    const float v = in[gid];
    out[gid] = v < 0.0f ? v * slope : v;
}

__kernel void op_add_f32(__global const float* a, __global const float* b, __global float* out,
                         int count) {
    const int gid = (int)get_global_id(0);
    if (gid >= count) return;
    out[gid] = a[gid] + b[gid];
}

// ---- quantize / dequantize (arith::quantize_value / dequantize_value of src/core/requant.h) ----
// q = clamp(round_half_even(x * inv_scale) + zp, -128, 127), NaN -> zp; clamping before rint is
// exact because the bounds are integers. rint rounds half to even.
inline char qgpu_op_quantize(float x, float inv_scale, int zp) {
    float v = x * inv_scale;
    if (v != v) return (char)clamp(zp, -128, 127);
    const float lo = (float)(-128 - zp), hi = (float)(127 - zp);
    v = v < lo ? lo : (v > hi ? hi : v);
    return (char)((int)rint(v) + zp);
}

// float NCHW -> int8 NHWC4: one work item per output word (4 channels of one pixel).
__kernel void op_quantize(__global const float* in, __global char4* out, int count, int channels,
                          int plane, int c4w, float inv_scale, int zp) {
    const int gid = (int)get_global_id(0);
    if (gid >= count) return;
    const int cw = gid % c4w;
    const int pixel = gid / c4w;  // n * plane + p
    const int n = pixel / plane, p = pixel % plane;
    const int c0 = cw * 4;
    __global const float* src = in + (n * channels + c0) * plane + p;
    char4 q = (char4)((char)zp);
    q.s0 = qgpu_op_quantize(src[0], inv_scale, zp);
    if (c0 + 1 < channels) q.s1 = qgpu_op_quantize(src[plane], inv_scale, zp);
    if (c0 + 2 < channels) q.s2 = qgpu_op_quantize(src[2 * plane], inv_scale, zp);
    if (c0 + 3 < channels) q.s3 = qgpu_op_quantize(src[3 * plane], inv_scale, zp);
    out[gid] = q;
}

// int8 NHWC4 -> float NCHW: one work item per output element, y = scale * (q - zp).
__kernel void op_dequantize(__global const char* in, __global float* out, int count, int channels,
                            int plane, int c4, float scale, int zp) {
    const int gid = (int)get_global_id(0);
    if (gid >= count) return;
    const int p = gid % plane;
    const int t = gid / plane;
    const int c = t % channels, n = t / channels;
    out[gid] = scale * (float)((int)in[(n * plane + p) * c4 + c] - zp);
}
