// qgpu fp32 convolution, register-tiled: NCHW float in, NCHW float out. Every invocation
// computes LP consecutive output pixels x one block of 8 output channels; 8 invocations (a
// "unit") cover 8 x LP pixels of the same block. Compiled as
//   QGPU_LANES 1 "lanes": a unit is one subgroup of exactly 8 (checked by the host); lane c
//                         loads the weight of channel c and subgroup broadcasts hand the 8
//                         weights to every lane (lavapipe: one load per lane instead of 8);
//   QGPU_LANES 0 "tiled": every invocation loads its 8 weights itself as two vec4.
// Per (input channel, ky, kx) an invocation loads LP inputs and 8 weights (lanes: 1) and does
// 8 x LP multiply-adds; two special cases: 1x1 kernels with every tap inside the input (no
// bounds checks) and the row path (kernel width 3, horizontal stride and dilation 1: LP + 2
// loads per input row instead of 3 x LP, main_row3). Any grouping: a block never straddles a group (blocks of one group are
// ceil(cout_g / 8), the last partial one padded with zero weights and not stored).
// Float semantics of the reference: acc from +0.0, acc += x * w (no FMA contraction:
// `precise`) over input channel, then ky, then kx, skipping taps outside the image; then
// + bias, then the activation. A tap outside the image multiplies 0.0 instead of being skipped:
// acc is never -0.0 (it starts at +0.0), so adding +-0.0 leaves it unchanged as long as every
// weight is finite (the host sends layers with an inf/NaN weight to conv_f32.comp).
#version 450
#extension GL_EXT_control_flow_attributes : require
#if QGPU_LANES
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#endif
#ifndef LP
#define LP 8  // output pixels per invocation
#endif
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer InBuf { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer OutBuf { float y[]; };
// [block][cin_g][kh][kw][8 channels]
#if QGPU_LANES
layout(std430, set = 0, binding = 2) readonly buffer WBuf { float w[]; };
layout(std430, set = 0, binding = 3) readonly buffer BBuf { float bias[]; };  // [block][8]
#else
layout(std430, set = 0, binding = 2) readonly buffer WBuf { vec4 w4[]; };
layout(std430, set = 0, binding = 3) readonly buffer BBuf { vec4 bias4[]; };  // [block][2]
#endif

layout(push_constant) uniform Push {
    ivec4 a;  // in_c, in_h, in_w, out_c
    ivec4 b;  // out_h, out_w, cin_g, cout_g
    ivec4 c;  // kernel_h, kernel_w, stride_h, stride_w
    ivec4 d;  // dilation_h, dilation_w, pad_top, pad_left
    ivec4 e;  // total output pixels (n * out_h * out_w), activation, blocks, blocks per group
    vec4 g;   // act_min, act_max, leaky_slope, unused
    ivec4 h;  // x: 1 when the kernel is 1x1 and every tap lies inside the input;
              // y: 1 for the row path (see main_row3), z: its rows x chunks, w: chunks per row
} pc;

vec4 activate(vec4 v) {
    const int act = pc.e.y;
    const vec4 zero = vec4(0.0);
    if (act == 1) v = mix(v, zero, lessThan(v, zero));
    else if (act == 2) v = mix(mix(v, vec4(6.0), greaterThan(v, vec4(6.0))), zero, lessThan(v, zero));
    else if (act == 3) v = mix(mix(v, vec4(pc.g.y), greaterThan(v, vec4(pc.g.y))), vec4(pc.g.x), lessThan(v, vec4(pc.g.x)));
    else if (act == 4) { precise vec4 s = v * pc.g.z; v = mix(v, s, lessThan(v, zero)); }
    return v;
}

// weights of one tap for the block's 8 channels: lanes load one each and broadcast
#if QGPU_LANES
#define QGPU_FETCH_WEIGHTS(wa, wb)                                                        \
    {                                                                                     \
        float wl_ = w[widx];                                                              \
        widx += 8;                                                                        \
        wa = vec4(subgroupBroadcast(wl_, 0), subgroupBroadcast(wl_, 1),                   \
                  subgroupBroadcast(wl_, 2), subgroupBroadcast(wl_, 3));                  \
        wb = vec4(subgroupBroadcast(wl_, 4), subgroupBroadcast(wl_, 5),                   \
                  subgroupBroadcast(wl_, 6), subgroupBroadcast(wl_, 7));                  \
    }
#else
#define QGPU_FETCH_WEIGHTS(wa, wb) { wa = w4[widx]; wb = w4[widx + 1]; widx += 2; }
#endif

// The row path: kernel width 3, horizontal stride and dilation 1. A lane's LP pixels are LP
// consecutive pixels of one output row (a "chunk"; lanes of a unit take consecutive chunks), so
// per (input channel, ky) it loads the LP + 2 inputs its three taps share instead of 3 x LP.
// Pixels past the row's end are computed and not stored. Same summation order per output.
void main_row3(const int unit, const int lane, const int blk) {
    const int qtotal = pc.h.z, chunks = pc.h.w;
    const int qg0 = (unit / pc.e.z) * 8;
    if (qg0 >= qtotal) return;  // uniform over the unit
    const int q = min(qg0 + lane, qtotal - 1);
    const int in_c = pc.a.x, in_h = pc.a.y, in_w = pc.a.z, out_c = pc.a.w;
    const int out_h = pc.b.x, out_w = pc.b.y, cin_g = pc.b.z, cout_g = pc.b.w;
    const int kh = pc.c.x;
    const int grp = blk / pc.e.w;
    const int oc0 = grp * cout_g + (blk - grp * pc.e.w) * 8;
    const int nch = min(8, (grp + 1) * cout_g - oc0);
    const int plane = in_h * in_w;
    const int rowi = q / chunks, ch = q - rowi * chunks;  // rowi = n * out_h + oy
    const int n = rowi / out_h, oy = rowi - n * out_h;
    const int ox0 = ch * LP;
    int pbase = (n * in_c + grp * cin_g) * plane;
    const int iy0 = oy * pc.c.z - pc.d.z, ix0 = ox0 - pc.d.w;
    bool xin[LP + 2];
    [[unroll]] for (int t = 0; t < LP + 2; ++t) xin[t] = ix0 + t >= 0 && ix0 + t < in_w;
    precise vec4 acc0[LP], acc1[LP];
    [[unroll]] for (int j = 0; j < LP; ++j) { acc0[j] = vec4(0.0); acc1[j] = vec4(0.0); }
#if QGPU_LANES
    int widx = blk * cin_g * kh * 3 * 8 + lane;
#else
    int widx = blk * cin_g * kh * 3 * 2;
#endif
    for (int i = 0; i < cin_g; ++i) {
        for (int ky = 0; ky < kh; ++ky) {
            const int iy = iy0 + ky * pc.d.x;
            const bool yin = iy >= 0 && iy < in_h;
            const int row = pbase + iy * in_w + ix0;
            float v[LP + 2];
            [[unroll]] for (int t = 0; t < LP + 2; ++t) {
                bool inside = yin && xin[t];
                float xv = x[inside ? row + t : 0];
                v[t] = inside ? xv : 0.0;
            }
            vec4 wa, wb;
            [[unroll]] for (int kx = 0; kx < 3; ++kx) {
                QGPU_FETCH_WEIGHTS(wa, wb)
                [[unroll]] for (int j = 0; j < LP; ++j) {
                    acc0[j] += v[j + kx] * wa;
                    acc1[j] += v[j + kx] * wb;
                }
            }
        }
        pbase += plane;
    }
#if QGPU_LANES
    const float my_b = bias[blk * 8 + lane];
    const vec4 ba = vec4(subgroupBroadcast(my_b, 0), subgroupBroadcast(my_b, 1),
                         subgroupBroadcast(my_b, 2), subgroupBroadcast(my_b, 3));
    const vec4 bb = vec4(subgroupBroadcast(my_b, 4), subgroupBroadcast(my_b, 5),
                         subgroupBroadcast(my_b, 6), subgroupBroadcast(my_b, 7));
#else
    const vec4 ba = bias4[blk * 2], bb = bias4[blk * 2 + 1];
#endif
    if (qg0 + lane >= qtotal) return;
    const int ohw = out_h * out_w;
    [[unroll]] for (int j = 0; j < LP; ++j) {
        if (ox0 + j >= out_w) break;
        precise vec4 va = acc0[j] + ba;
        precise vec4 vb = acc1[j] + bb;
        va = activate(va);
        vb = activate(vb);
        const int o = (n * out_c + oc0) * ohw + oy * out_w + ox0 + j;
        [[unroll]] for (int c = 0; c < 4; ++c) {
            if (c < nch) y[o + c * ohw] = va[c];
            if (c + 4 < nch) y[o + (c + 4) * ohw] = vb[c];
        }
    }
}

void main() {
    const int blocks = pc.e.z;
    const int wg = int(gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x);
#if QGPU_LANES
    const int unit = wg * 8 + int(gl_SubgroupID);
    const int lane = int(gl_SubgroupInvocationID);
#else
    const int unit = wg * 8 + int(gl_LocalInvocationID.x >> 3);
    const int lane = int(gl_LocalInvocationID.x & 7u);
#endif
    const int blk = unit % blocks;
    if (pc.h.y != 0) {
        main_row3(unit, lane, blk);
        return;
    }
    const int total = pc.e.x;
    const int pg0 = (unit / blocks) * (8 * LP);
    if (pg0 >= total) return;  // uniform over the unit
    const int p0 = pg0 + lane * LP;
    const int in_c = pc.a.x, in_h = pc.a.y, in_w = pc.a.z, out_c = pc.a.w;
    const int out_h = pc.b.x, out_w = pc.b.y, cin_g = pc.b.z, cout_g = pc.b.w;
    const int kh = pc.c.x, kw = pc.c.y;
    const int grp = blk / pc.e.w;
    const int oc0 = grp * cout_g + (blk - grp * pc.e.w) * 8;
    const int nch = min(8, (grp + 1) * cout_g - oc0);  // channels of the block that exist
    const int plane = in_h * in_w;
    const int ohw = out_h * out_w;
    // lanes past the last pixel compute it again (every lane stays active for the broadcasts)
    // and store nothing
    int pbase[LP], piy[LP], pix[LP];
    [[unroll]] for (int j = 0; j < LP; ++j) {
        int p = min(p0 + j, total - 1);
        int n = p / ohw, r = p - n * ohw;
        int oy = r / out_w, ox = r - oy * out_w;
        pbase[j] = (n * in_c + grp * cin_g) * plane;
        piy[j] = oy * pc.c.z - pc.d.z;
        pix[j] = ox * pc.c.w - pc.d.w;
    }
    precise vec4 acc0[LP], acc1[LP];
    [[unroll]] for (int j = 0; j < LP; ++j) { acc0[j] = vec4(0.0); acc1[j] = vec4(0.0); }
#if QGPU_LANES
    int widx = blk * cin_g * kh * kw * 8 + lane;
#else
    int widx = blk * cin_g * kh * kw * 2;
#endif
    if (pc.h.x != 0) {
        // 1x1 kernel, no tap outside the input: one load per pixel and input channel, no
        // bounds checks (same order and values as the general loop below)
        int off[LP];
        [[unroll]] for (int j = 0; j < LP; ++j) off[j] = pbase[j] + piy[j] * in_w + pix[j];
        for (int i = 0; i < cin_g; ++i) {
            vec4 wa, wb;
            QGPU_FETCH_WEIGHTS(wa, wb)
            [[unroll]] for (int j = 0; j < LP; ++j) {
                float xv = x[off[j]];
                acc0[j] += xv * wa;
                acc1[j] += xv * wb;
                off[j] += plane;
            }
        }
    } else {
        for (int i = 0; i < cin_g; ++i) {
            for (int ky = 0; ky < kh; ++ky) {
                int row[LP];
                bool yin[LP];
                [[unroll]] for (int j = 0; j < LP; ++j) {
                    int iy = piy[j] + ky * pc.d.x;
                    yin[j] = iy >= 0 && iy < in_h;
                    row[j] = pbase[j] + iy * in_w;
                }
                for (int kx = 0; kx < kw; ++kx) {
                    vec4 wa, wb;
                    QGPU_FETCH_WEIGHTS(wa, wb)
                    [[unroll]] for (int j = 0; j < LP; ++j) {
                        int ix = pix[j] + kx * pc.d.y;
                        bool inside = yin[j] && ix >= 0 && ix < in_w;
                        float xv = x[inside ? row[j] + ix : 0];  // unconditional load: no branch per tap
                        xv = inside ? xv : 0.0;
                        acc0[j] += xv * wa;
                        acc1[j] += xv * wb;
                    }
                }
            }
            [[unroll]] for (int j = 0; j < LP; ++j) pbase[j] += plane;
        }
    }
#if QGPU_LANES
    const float my_b = bias[blk * 8 + lane];
    const vec4 ba = vec4(subgroupBroadcast(my_b, 0), subgroupBroadcast(my_b, 1),
                         subgroupBroadcast(my_b, 2), subgroupBroadcast(my_b, 3));
    const vec4 bb = vec4(subgroupBroadcast(my_b, 4), subgroupBroadcast(my_b, 5),
                         subgroupBroadcast(my_b, 6), subgroupBroadcast(my_b, 7));
#else
    const vec4 ba = bias4[blk * 2], bb = bias4[blk * 2 + 1];
#endif
    [[unroll]] for (int j = 0; j < LP; ++j) {
        const int p = p0 + j;
        if (p >= total) break;
        const int n = p / ohw, r = p - n * ohw;
        precise vec4 va = acc0[j] + ba;
        precise vec4 vb = acc1[j] + bb;
        va = activate(va);
        vb = activate(vb);
        const int o = (n * out_c + oc0) * ohw + r;
        [[unroll]] for (int c = 0; c < 4; ++c) {
            if (c < nch) y[o + c * ohw] = va[c];
            if (c + 4 < nch) y[o + (c + 4) * ohw] = vb[c];
        }
    }
}
