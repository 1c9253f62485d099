// qgpu fp32 convolution (QGPU_PRECISION_FLOAT32): NCHW float in, NCHW float out, float
// accumulation in the reference's order (input channel, ky, kx), then bias and activation.
// One output element per invocation; results are tolerance-checked, not bit-exact. The
// fallback of conv_f32_tiled.comp (the register-tiled kernel): layers with an inf/NaN weight,
// depthwise-like layers on GPUs, QGPU_VULKAN_F32=naive (see F32Conv in vk_conv.cpp).
#version 450
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer InBuf { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer OutBuf { float y[]; };
layout(std430, set = 0, binding = 2) readonly buffer WBuf { float w[]; };     // OIHW
layout(std430, set = 0, binding = 3) readonly buffer BBuf { float bias[]; };  // [out_c]

layout(push_constant) uniform Push {
    ivec4 a;  // in_c, in_h, in_w, out_c
    ivec4 b;  // out_h, out_w, cin_g, cout_g
    ivec4 c;  // kernel_h, kernel_w, stride_h, stride_w
    ivec4 d;  // dilation_h, dilation_w, pad_top, pad_left
    ivec4 e;  // total outputs (n * out_c * out_h * out_w), activation, unused, unused
    vec4 g;   // act_min, act_max, leaky_slope, unused
} pc;

void main() {
    const int idx = int(gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64 +
                    int(gl_LocalInvocationID.x);
    if (idx >= pc.e.x) return;
    const int in_c = pc.a.x, in_h = pc.a.y, in_w = pc.a.z, out_c = pc.a.w;
    const int out_h = pc.b.x, out_w = pc.b.y, cin_g = pc.b.z;
    const int kh = pc.c.x, kw = pc.c.y;
    int ox = idx % out_w;
    int t = idx / out_w;
    int oy = t % out_h;
    t /= out_h;
    int oc = t % out_c;
    int n = t / out_c;
    int ic0 = (oc / pc.b.w) * cin_g;
    int iy0 = oy * pc.c.z - pc.d.z, ix0 = ox * pc.c.w - pc.d.w;
    precise float acc = 0.0;
    int wbase = oc * cin_g * kh * kw;
    for (int i = 0; i < cin_g; ++i) {
        int plane = (n * in_c + ic0 + i) * in_h;
        for (int ky = 0; ky < kh; ++ky) {
            int iy = iy0 + ky * pc.d.x;
            if (iy < 0 || iy >= in_h) continue;
            for (int kx = 0; kx < kw; ++kx) {
                int ix = ix0 + kx * pc.d.y;
                if (ix < 0 || ix >= in_w) continue;
                acc += x[(plane + iy) * in_w + ix] * w[wbase + (i * kh + ky) * kw + kx];
            }
        }
    }
    precise float v = acc + bias[oc];
    int act = pc.e.y;
    if (act == 1) v = v < 0.0 ? 0.0 : v;
    else if (act == 2) v = v < 0.0 ? 0.0 : (v > 6.0 ? 6.0 : v);
    else if (act == 3) v = v < pc.g.x ? pc.g.x : (v > pc.g.y ? pc.g.y : v);
    else if (act == 4) { precise float s = v * pc.g.z; v = v < 0.0 ? s : v; }
    y[idx] = v;
}
