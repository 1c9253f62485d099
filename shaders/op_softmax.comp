// qgpu softmax over channels (OpKind::Softmax), float NCHW in and out; one invocation per
// (image, pixel). m = max over channels (std::max order), e_c = exp(x_c - m) written out, then
// divided by their sum. The reference sums in double and uses the host exp(); this shader sums
// in float and uses the device exp(), so results agree within a tolerance, not bit for bit.
#version 450
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer InBuf { float x[]; };
layout(std430, set = 0, binding = 1) buffer OutBuf { float y[]; };

layout(push_constant) uniform Push {
    ivec4 a;  // channels, plane (h*w), unused, unused
    ivec4 e;  // total invocations (n * plane), unused...
} pc;

void main() {
    const uint idx = (gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x;
    if (idx >= uint(pc.e.x)) return;
    const int c = pc.a.x, plane = pc.a.y;
    const int p = int(idx) % plane, n = int(idx) / plane;
    const int base = n * c * plane + p;
    float m = uintBitsToFloat(0xff800000u);
    for (int k = 0; k < c; ++k) {
        const float v = x[base + k * plane];
        m = (m < v) ? v : m;
    }
    precise float sum = 0.0;
    for (int k = 0; k < c; ++k) {
        const float e = exp(x[base + k * plane] - m);
        y[base + k * plane] = e;
        sum = sum + e;
    }
    for (int k = 0; k < c; ++k) y[base + k * plane] = y[base + k * plane] / sum;
}
