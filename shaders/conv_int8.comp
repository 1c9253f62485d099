// qgpu int8 convolution, NHWC4 int8 input (4 channels per 32-bit word) -> NHWC4 int8 output
// (fused requantize) or NCHW float output (fused dequantize). One source, compiled at build
// time into:
//   QGPU_MODE 0 "dense":     groups == 1 (or aligned groups): 8 output channels x TP pixels per
//                             invocation, 4 input channels per packed word.
//   QGPU_MODE 1 "generic":   any grouping: 4 output channels (one output word) x TP pixels,
//                             each channel gathers its group's input bytes.
//   QGPU_MODE 2 "depthwise": groups == in_c == out_c: 4 channels x TP pixels, bytewise.
//   QGPU_MODE 3 "tiled":     groups == 1, wide layers: a workgroup computes 64 pixels x 32
//                             output channels; input words and weights are staged through
//                             shared memory 8 words (32 input channels) at a time with
//                             coalesced loads; each invocation keeps 4 pixels x 8 channels.
//   QGPU_MODE 4 "lanes":     the dense computation for devices that emulate a subgroup of 8
//                             with one SIMD vector (lavapipe): each subgroup computes 8 x LP
//                             pixels x 8 output channels, every lane loads one weight word and
//                             subgroup broadcasts hand the 8 words to all lanes.
// and QGPU_IDOT 1 (OpSDot on 4x8-bit packed words) / 0 (unpack + int32 multiply-add).
// acc = bias_q + sum over taps of (x - z_x) * w is computed as sum(x * w) - z_x * sum(w): taps
// outside the image read a word of four z_x bytes, so they add z_x * w and cancel exactly;
// padding channels carry zero weights. int32 arithmetic wraps, so the order does not matter.
#version 450
#extension GL_EXT_control_flow_attributes : require
#if QGPU_MODE == 4
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_ballot : require
#endif
#if QGPU_IDOT
#extension GL_EXT_spirv_intrinsics : require
// OpSDot (4450) with PackedVectorFormat4x8Bit (0); capabilities DotProduct (6019) and
// DotProductInput4x8BitPacked (6018).
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int qgpu_sdot4x8(uint a, uint b, spirv_literal int fmt);
int dot4(uint a, uint b) { return qgpu_sdot4x8(a, b, 0); }
#else
// bytes sign-extended with shift pairs (compilers see an int8 -> int32 extension)
ivec4 unpack4(uint a) {
    int v = int(a);
    return ivec4((v << 24) >> 24, (v << 16) >> 24, (v << 8) >> 24, v >> 24);
}
int dot4(uint a, uint b) {
    ivec4 x = unpack4(a), y = unpack4(b);
    return x.x * y.x + x.y * y.y + x.z * y.z + x.w * y.w;
}
#endif
#include "requant.glsl"

#define TP 4  // output pixels per invocation
#ifndef LP
#define LP 8  // output pixels per invocation of mode 4 (lanes)
#endif
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer InBuf { uint x_words[]; };
layout(std430, set = 0, binding = 1) writeonly buffer OutBuf { uint y_words[]; };
#if QGPU_MODE == 0 || QGPU_MODE == 3
layout(std430, set = 0, binding = 2) readonly buffer WBuf { uvec4 w_vec[]; };
#elif QGPU_MODE == 4
layout(std430, set = 0, binding = 2) readonly buffer WBuf { uint w_words[]; };
#else
layout(std430, set = 0, binding = 2) readonly buffer WBuf { uint w_words[]; };
#endif
// per output channel c: [2c] = (m0, shift, m0_neg, shift_neg), [2c+1] = (bias_q, weight_sum,
// bits(dequant_scale), bits(bias_f32))
layout(std430, set = 0, binding = 3) readonly buffer PBuf { ivec4 params[]; };

layout(push_constant) uniform Push {
    ivec4 a;  // in_h, in_w, in_c4w (words per input pixel), out_c
    ivec4 b;  // out_h, out_w, out_c4w, cin_g
    ivec4 c;  // kernel_h, kernel_w, stride_h, stride_w
    ivec4 d;  // dilation_h, dilation_w, pad_top, pad_left
    ivec4 e;  // cout_g, kwords (ceil(cin_g / 4)), total output pixels, z_x
    ivec4 f;  // z_y, qmin, qmax, flags: bit0 int8 output, bit1 leaky, bits 4..7 activation
    vec4 g;   // act_min, act_max, leaky_slope, unused
} pc;

// one channel's final value as the stored 32-bit pattern (int8 output: the low byte)
int out_int8(int acc, ivec4 q) {
    int v = ((pc.f.w & 2) != 0 && acc < 0) ? qgpu_requantize(acc, q.z, q.w)
                                           : qgpu_requantize(acc, q.x, q.y);
    // the reference adds in int64 then clamps to [qmin, qmax] (inside [-128, 127]); limiting v
    // to [-512, 512] first gives the same result without int32 overflow
    v = clamp(v, -512, 512);
    return clamp(v + pc.f.x, pc.f.y, pc.f.z);
}

float out_float(int sum, int oc) {
    ivec4 q = params[2 * oc + 1];
    precise float prod = float(sum) * intBitsToFloat(q.z);
    precise float y = prod + intBitsToFloat(q.w);
    int act = (pc.f.w >> 4) & 15;
    if (act == 1) y = y < 0.0 ? 0.0 : y;
    else if (act == 2) y = y < 0.0 ? 0.0 : (y > 6.0 ? 6.0 : y);
    else if (act == 3) y = y < pc.g.x ? pc.g.x : (y > pc.g.y ? pc.g.y : y);
    else if (act == 4) { precise float t = y * pc.g.z; y = y < 0.0 ? t : y; }
    return y;
}

// stores channel oc of pixel p (acc = raw sum - z_x * weight_sum, without bias)
void store_float(int p, int oc, int sum) {
    int ohw = pc.b.x * pc.b.y;
    int n = p / ohw;
    y_words[(n * pc.a.w + oc) * ohw + (p - n * ohw)] = floatBitsToUint(out_float(sum, oc));
}

// The int8 output stage parameters of 4 channels: (m0, shift, m0_neg, shift_neg) and bias_q.
// Loaded once per invocation, not per pixel (lavapipe runs every load as a loop over the lanes).
struct OutQuad {
    ivec4 q[4];
    ivec4 bias;
};

OutQuad load_out_quad(int oc0) {
    OutQuad o;
    [[unroll]] for (int i = 0; i < 4; ++i) {
        int oc = min(oc0 + i, pc.a.w - 1);  // channels >= out_c are never stored
        o.q[i] = params[2 * oc];
        o.bias[i] = params[2 * oc + 1].x;
    }
    return o;
}

// a 4-channel output word of pixel p from 4 sums (channels oc0..oc0+3; those >= out_c hold z_y)
void store_word(int p, int oc0, ivec4 sums, OutQuad o) {
    uint word = 0u;
    [[unroll]] for (int i = 0; i < 4; ++i) {
        int y = pc.f.x;
        if (oc0 + i < pc.a.w) y = out_int8(sums[i] + o.bias[i], o.q[i]);
        word |= (uint(y) & 0xffu) << (8 * i);
    }
    y_words[p * pc.b.z + (oc0 >> 2)] = word;
}

#if QGPU_MODE == 4
// Every subgroup (exactly 8 invocations, checked by the host) computes one work unit: 8 x LP
// pixels x one block of 8 output channels. Units are numbered block-fastest, so the subgroups
// of a workgroup share their input pixels, and no subgroup idles except in the last workgroup
// (an idle subgroup still costs lavapipe about a third of a busy one).
// Why it is faster on lavapipe: llvmpipe runs the 8 lanes as one AVX vector but executes a
// buffer load whose address depends on the workgroup or a loop as a loop over the lanes; in
// the dense path the 8 weight words per input word (workgroup-uniform, still loaded lane by
// lane) cost about as much as the input loads (measured). Here each lane loads one weight
// word, and a broadcast is one vector extract + splat. Weights: the dense layout
// [oc/8][tap][kwords][8 channels], one uint per lane.
void main() {
    const int blocks = (pc.a.w + 7) >> 3;
    const int unit = int(gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 8 + int(gl_SubgroupID);
    const int blk = unit % blocks;
    const int total = pc.e.z;
    const int lane = int(gl_SubgroupInvocationID);
    const int pg0 = (unit / blocks) * (8 * LP);
    if (pg0 >= total) return;  // uniform over the subgroup
    const int p0 = pg0 + lane * LP;
    const int in_h = pc.a.x, in_w = pc.a.y, in_c4w = pc.a.z;
    const int out_h = pc.b.x, out_w = pc.b.y;
    const int kh = pc.c.x, kw = pc.c.y;
    const int kwords = pc.e.y;
    const int zx = pc.e.w;
    const uint zx_word = (uint(zx) & 0xffu) * 0x01010101u;
    // lanes past the last pixel compute it again (every lane must stay active for the
    // broadcasts) and store nothing
    int pbase[LP], piy[LP], pix[LP];
    [[unroll]] for (int j = 0; j < LP; ++j) {
        int p = min(p0 + j, total - 1);
        int ox = p % out_w;
        int t = p / out_w;
        int oy = t % out_h;
        pbase[j] = (t / out_h) * in_h;
        piy[j] = oy * pc.c.z - pc.d.z;
        pix[j] = ox * pc.c.w - pc.d.w;
    }
    const int oc0 = blk * 8;
    const int ic0w = ((oc0 / pc.e.x) * pc.b.w) >> 2;
    ivec4 acc0[LP], acc1[LP];
    [[unroll]] for (int j = 0; j < LP; ++j) { acc0[j] = ivec4(0); acc1[j] = ivec4(0); }
    // lane c reads the word of channel oc0 + c; the broadcasts hand it to every lane
    int widx = blk * kh * kw * kwords * 8 + lane;
    for (int ky = 0; ky < kh; ++ky) {
        for (int kx = 0; kx < kw; ++kx) {
            int base[LP];
            bool inside[LP];
            [[unroll]] for (int j = 0; j < LP; ++j) {
                int iy = piy[j] + ky * pc.d.x, ix = pix[j] + kx * pc.d.y;
                inside[j] = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
                base[j] = inside[j] ? ((pbase[j] + iy) * in_w + ix) * in_c4w + ic0w : 0;
            }
            for (int k = 0; k < kwords; ++k) {
                uint wl = w_words[widx];
                widx += 8;
                uvec4 wa = uvec4(subgroupBroadcast(wl, 0), subgroupBroadcast(wl, 1),
                                 subgroupBroadcast(wl, 2), subgroupBroadcast(wl, 3));
                uvec4 wb = uvec4(subgroupBroadcast(wl, 4), subgroupBroadcast(wl, 5),
                                 subgroupBroadcast(wl, 6), subgroupBroadcast(wl, 7));
                [[unroll]] for (int j = 0; j < LP; ++j) {
                    uint xv = x_words[base[j] + k];  // unconditional load: no branch per tap
                    xv = inside[j] ? xv : zx_word;
                    acc0[j] += ivec4(dot4(xv, wa.x), dot4(xv, wa.y), dot4(xv, wa.z), dot4(xv, wa.w));
                    acc1[j] += ivec4(dot4(xv, wb.x), dot4(xv, wb.y), dot4(xv, wb.z), dot4(xv, wb.w));
                }
            }
        }
    }
    // output stage parameters the same way: lane c loads those of channel oc0 + c (params are
    // padded to 32 channels, so this stays in bounds), broadcasts hand all 8 to every lane
    const ivec4 my_q = params[2 * (oc0 + lane)];
    const ivec4 my_b = params[2 * (oc0 + lane) + 1];  // bias_q, weight_sum
    OutQuad o0, o1;
    ivec4 wsum0, wsum1;
#define QGPU_TAKE_CHANNEL(c, o, i, wsum) \
    o.q[i] = subgroupBroadcast(my_q, c); o.bias[i] = subgroupBroadcast(my_b.x, c); wsum[i] = subgroupBroadcast(my_b.y, c);
    QGPU_TAKE_CHANNEL(0, o0, 0, wsum0) QGPU_TAKE_CHANNEL(1, o0, 1, wsum0)
    QGPU_TAKE_CHANNEL(2, o0, 2, wsum0) QGPU_TAKE_CHANNEL(3, o0, 3, wsum0)
    QGPU_TAKE_CHANNEL(4, o1, 0, wsum1) QGPU_TAKE_CHANNEL(5, o1, 1, wsum1)
    QGPU_TAKE_CHANNEL(6, o1, 2, wsum1) QGPU_TAKE_CHANNEL(7, o1, 3, wsum1)
#undef QGPU_TAKE_CHANNEL
    const ivec4 zs0 = wsum0 * zx, zs1 = wsum1 * zx;
    [[unroll]] for (int j = 0; j < LP; ++j) {
        int p = p0 + j;
        if (p >= total) break;
        ivec4 s0 = acc0[j] - zs0, s1 = acc1[j] - zs1;
        if ((pc.f.w & 1) != 0) {
            store_word(p, oc0, s0, o0);
            if (((oc0 + 4) >> 2) < pc.b.z) store_word(p, oc0 + 4, s1, o1);
        } else {
            [[unroll]] for (int i = 0; i < 4; ++i) {
                if (oc0 + i < pc.a.w) store_float(p, oc0 + i, s0[i]);
                if (oc0 + 4 + i < pc.a.w) store_float(p, oc0 + 4 + i, s1[i]);
            }
        }
    }
}
#elif QGPU_MODE == 3
#define KC 8  // input words per shared-memory stage
shared uint xs[64 * (KC + 1)];  // [pixel][word], padded row against bank conflicts
shared uvec4 ws[KC * 8];        // [word][channel quad]: 32 output channels

void main() {
    const int total = pc.e.z;
    const int lid = int(gl_LocalInvocationID.x);
    const int pt0 = int(gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64;
    if (pt0 >= total) return;  // uniform over the workgroup
    const int blk = int(gl_WorkGroupID.y);
    const int oc0 = blk * 32;
    const int in_h = pc.a.x, in_w = pc.a.y, in_c4w = pc.a.z;
    const int out_h = pc.b.x, out_w = pc.b.y;
    const int kh = pc.c.x, kw = pc.c.y;
    const int kwords = pc.e.y, kwp = (kwords + KC - 1) / KC * KC;
    const int zx = pc.e.w;
    const uint zx_word = (uint(zx) & 0xffu) * 0x01010101u;
    // compute role: pixels tx + 16j, channels oc0 + 8ty .. + 7
    const int tx = lid & 15, ty = lid >> 4;
    // load role: word lk of pixels lp + 8i
    const int lk = lid & (KC - 1), lp = lid / KC;
    int pbase[8], piy[8], pix[8];
    [[unroll]] for (int i = 0; i < 8; ++i) {
        int p = min(pt0 + lp + 8 * i, total - 1);
        int ox = p % out_w;
        int t = p / out_w;
        int oy = t % out_h;
        pbase[i] = (t / out_h) * in_h;
        piy[i] = oy * pc.c.z - pc.d.z;
        pix[i] = ox * pc.c.w - pc.d.w;
    }
    ivec4 acc0[TP], acc1[TP];
    [[unroll]] for (int j = 0; j < TP; ++j) { acc0[j] = ivec4(0); acc1[j] = ivec4(0); }
    int tap = 0;
    for (int ky = 0; ky < kh; ++ky) {
        for (int kx = 0; kx < kw; ++kx, ++tap) {
            int base[8];
            [[unroll]] for (int i = 0; i < 8; ++i) {
                int iy = piy[i] + ky * pc.d.x, ix = pix[i] + kx * pc.d.y;
                bool inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
                base[i] = inside ? ((pbase[i] + iy) * in_w + ix) * in_c4w : -1;
            }
            const int wtap = (blk * kh * kw + tap) * kwp;
            for (int k0 = 0; k0 < kwords; k0 += KC) {
                const int k = k0 + lk;
                [[unroll]] for (int i = 0; i < 8; ++i) {
                    uint v = zx_word;  // outside the image: cancels against z_x * sum(w)
                    if (base[i] >= 0) v = k < kwords ? x_words[base[i] + k] : 0u;
                    xs[(lp + 8 * i) * (KC + 1) + lk] = v;
                }
                ws[lid] = w_vec[(wtap + k0 + (lid >> 3)) * 8 + (lid & 7)];
                barrier();
                [[unroll]] for (int kk = 0; kk < KC; ++kk) {
                    uvec4 wa = ws[kk * 8 + ty * 2], wb = ws[kk * 8 + ty * 2 + 1];
                    [[unroll]] for (int j = 0; j < TP; ++j) {
                        uint xv = xs[(tx + 16 * j) * (KC + 1) + kk];
                        acc0[j] += ivec4(dot4(xv, wa.x), dot4(xv, wa.y), dot4(xv, wa.z), dot4(xv, wa.w));
                        acc1[j] += ivec4(dot4(xv, wb.x), dot4(xv, wb.y), dot4(xv, wb.z), dot4(xv, wb.w));
                    }
                }
                barrier();
            }
        }
    }
    const int c0 = oc0 + ty * 8;
    ivec4 zs0 = ivec4(params[2 * c0 + 1].y, params[2 * c0 + 3].y, params[2 * c0 + 5].y,
                      params[2 * c0 + 7].y) * zx;
    ivec4 zs1 = ivec4(params[2 * c0 + 9].y, params[2 * c0 + 11].y, params[2 * c0 + 13].y,
                      params[2 * c0 + 15].y) * zx;
    const OutQuad o0 = load_out_quad(c0), o1 = load_out_quad(c0 + 4);
    [[unroll]] for (int j = 0; j < TP; ++j) {
        int p = pt0 + tx + 16 * j;
        if (p >= total) break;
        ivec4 s0 = acc0[j] - zs0, s1 = acc1[j] - zs1;
        if ((pc.f.w & 1) != 0) {
            if ((c0 >> 2) < pc.b.z) store_word(p, c0, s0, o0);
            if (((c0 + 4) >> 2) < pc.b.z) store_word(p, c0 + 4, s1, o1);
        } else {
            [[unroll]] for (int i = 0; i < 4; ++i) {
                if (c0 + i < pc.a.w) store_float(p, c0 + i, s0[i]);
                if (c0 + 4 + i < pc.a.w) store_float(p, c0 + 4 + i, s1[i]);
            }
        }
    }
}
#else
void main() {
    const int total = pc.e.z;
    const int tile = int(gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64 +
                     int(gl_LocalInvocationID.x);
    const int p0 = tile * TP;
    if (p0 >= total) return;
    const int blk = int(gl_WorkGroupID.y);
    const int in_h = pc.a.x, in_w = pc.a.y, in_c4w = pc.a.z;
    const int out_h = pc.b.x, out_w = pc.b.y;
    const int kh = pc.c.x, kw = pc.c.y;
    const int kwords = pc.e.y;
    const int zx = pc.e.w;
    const uint zx_word = (uint(zx) & 0xffu) * 0x01010101u;

    // per pixel: image base word, top-left input coordinate
    int pbase[TP], piy[TP], pix[TP];
    [[unroll]] for (int j = 0; j < TP; ++j) {
        int p = min(p0 + j, total - 1);
        int ox = p % out_w;
        int t = p / out_w;
        int oy = t % out_h;
        int n = t / out_h;
        pbase[j] = n * in_h;
        piy[j] = oy * pc.c.z - pc.d.z;
        pix[j] = ox * pc.c.w - pc.d.w;
    }

#if QGPU_MODE == 0
    // ---- dense: 8 output channels (two output words) of one group --------------------------
    const int oc0 = blk * 8;
    const int ic0w = ((oc0 / pc.e.x) * pc.b.w) >> 2;  // first input word of the group
    ivec4 acc0[TP], acc1[TP];
    [[unroll]] for (int j = 0; j < TP; ++j) { acc0[j] = ivec4(0); acc1[j] = ivec4(0); }
    int widx = blk * kh * kw * kwords * 2;
    for (int ky = 0; ky < kh; ++ky) {
        for (int kx = 0; kx < kw; ++kx) {
            int base[TP];
            [[unroll]] for (int j = 0; j < TP; ++j) {
                int iy = piy[j] + ky * pc.d.x, ix = pix[j] + kx * pc.d.y;
                bool inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
                base[j] = inside ? ((pbase[j] + iy) * in_w + ix) * in_c4w + ic0w : -1;
            }
            for (int k = 0; k < kwords; ++k) {
                uvec4 wa = w_vec[widx], wb = w_vec[widx + 1];
                widx += 2;
                [[unroll]] for (int j = 0; j < TP; ++j) {
                    uint xv = base[j] >= 0 ? x_words[base[j] + k] : zx_word;
                    acc0[j] += ivec4(dot4(xv, wa.x), dot4(xv, wa.y), dot4(xv, wa.z), dot4(xv, wa.w));
                    acc1[j] += ivec4(dot4(xv, wb.x), dot4(xv, wb.y), dot4(xv, wb.z), dot4(xv, wb.w));
                }
            }
        }
    }
    ivec4 zs0 = ivec4(params[2 * oc0 + 1].y, params[2 * oc0 + 3].y, params[2 * oc0 + 5].y,
                      params[2 * oc0 + 7].y) * zx;
    ivec4 zs1 = ivec4(params[2 * oc0 + 9].y, params[2 * oc0 + 11].y, params[2 * oc0 + 13].y,
                      params[2 * oc0 + 15].y) * zx;
    const OutQuad o0 = load_out_quad(oc0), o1 = load_out_quad(oc0 + 4);
    [[unroll]] for (int j = 0; j < TP; ++j) {
        int p = p0 + j;
        if (p >= total) break;
        ivec4 s0 = acc0[j] - zs0, s1 = acc1[j] - zs1;
        if ((pc.f.w & 1) != 0) {
            store_word(p, oc0, s0, o0);
            if (((oc0 + 4) >> 2) < pc.b.z) store_word(p, oc0 + 4, s1, o1);
        } else {
            [[unroll]] for (int i = 0; i < 4; ++i) {
                if (oc0 + i < pc.a.w) store_float(p, oc0 + i, s0[i]);
                if (oc0 + 4 + i < pc.a.w) store_float(p, oc0 + 4 + i, s1[i]);
            }
        }
    }
#elif QGPU_MODE == 1
    // ---- generic: one output word, each channel reading its own group's input bytes --------
    const int oc0 = blk * 4;
    ivec4 acc[TP];
    [[unroll]] for (int j = 0; j < TP; ++j) acc[j] = ivec4(0);
    const int taps = kh * kw;
    for (int i = 0; i < 4; ++i) {
        int oc = oc0 + i;
        if (oc >= pc.a.w) break;
        int ic0 = (oc / pc.e.x) * pc.b.w;  // first input channel (byte) of the group
        int sh = (ic0 & 3) * 8;
        int widx = oc * taps * kwords;
        for (int ky = 0; ky < kh; ++ky) {
            for (int kx = 0; kx < kw; ++kx) {
                int base[TP];
                [[unroll]] for (int j = 0; j < TP; ++j) {
                    int iy = piy[j] + ky * pc.d.x, ix = pix[j] + kx * pc.d.y;
                    bool inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
                    base[j] = inside ? ((pbase[j] + iy) * in_w + ix) * in_c4w : -1;
                }
                for (int k = 0; k < kwords; ++k) {
                    uint wv = w_words[widx++];
                    int word = (ic0 >> 2) + k;  // word of the pixel holding byte ic0 + 4k
                    [[unroll]] for (int j = 0; j < TP; ++j) {
                        uint xv = zx_word;
                        if (base[j] >= 0) {
                            uint lo = x_words[base[j] + word];
                            uint hi = (sh != 0 && word + 1 < in_c4w) ? x_words[base[j] + word + 1] : 0u;
                            // bytes past the group's channels meet zero weights
                            xv = sh == 0 ? lo : ((lo >> uint(sh)) | (hi << uint(32 - sh)));
                        }
                        acc[j][i] += dot4(xv, wv);
                    }
                }
            }
        }
    }
#else
    // ---- depthwise: channel c reads channel c; four channels per packed word ---------------
    const int oc0 = blk * 4;
    ivec4 acc[TP];
    [[unroll]] for (int j = 0; j < TP; ++j) acc[j] = ivec4(0);
    int widx = blk * kh * kw;
    for (int ky = 0; ky < kh; ++ky) {
        for (int kx = 0; kx < kw; ++kx) {
            uint wv = w_words[widx++];
            ivec4 wi = ivec4(bitfieldExtract(int(wv), 0, 8), bitfieldExtract(int(wv), 8, 8),
                             bitfieldExtract(int(wv), 16, 8), bitfieldExtract(int(wv), 24, 8));
            [[unroll]] for (int j = 0; j < TP; ++j) {
                int iy = piy[j] + ky * pc.d.x, ix = pix[j] + kx * pc.d.y;
                bool inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
                uint xv = inside ? x_words[((pbase[j] + iy) * in_w + ix) * in_c4w + blk] : zx_word;
                ivec4 xi = ivec4(bitfieldExtract(int(xv), 0, 8), bitfieldExtract(int(xv), 8, 8),
                                 bitfieldExtract(int(xv), 16, 8), bitfieldExtract(int(xv), 24, 8));
                acc[j] += xi * wi;
            }
        }
    }
#endif

#if QGPU_MODE != 0
    ivec4 zs = ivec4(0);
    [[unroll]] for (int i = 0; i < 4; ++i)
        if (oc0 + i < pc.a.w) zs[i] = params[2 * (oc0 + i) + 1].y * zx;
    const OutQuad o = load_out_quad(oc0);
    [[unroll]] for (int j = 0; j < TP; ++j) {
        int p = p0 + j;
        if (p >= total) break;
        ivec4 s = acc[j] - zs;
        if ((pc.f.w & 1) != 0) {
            store_word(p, oc0, s, o);
        } else {
            [[unroll]] for (int i = 0; i < 4; ++i)
                if (oc0 + i < pc.a.w) store_float(p, oc0 + i, s[i]);
        }
    }
#endif
}
#endif  // QGPU_MODE == 3
