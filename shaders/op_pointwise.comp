// qgpu elementwise layers, the semantics of src/cpu/reference/ops_reference.cpp and the host
// passes (src/core/host_pass.h, src/core/requant.h). Buffers are 32-bit words; x = binding 0,
// y = binding 1, x2 = binding 2 (second input of add; the first input again otherwise).
//   mode 0 relu int8:  x, y NHWC4 int8, one word per invocation; every byte (padding too, like
//                      the reference) becomes max(byte, zero point).
//   mode 1 relu float: NCHW; y = x < 0 ? x * slope : x.
//   mode 2 add float:  NCHW; y = x + x2.
//   mode 3 quantize:   x NCHW float -> y NHWC4 int8, one output word (4 channels of a pixel) per
//                      invocation: q = clamp(roundEven(x * inv_scale), -128 - z, 127 - z) + z,
//                      NaN -> z; padding channels = z. `precise`: no FMA, no reassociation.
//   mode 4 dequantize: x NHWC4 int8 -> y NCHW float, one output element per invocation:
//                      y = scale * float(q - z).
#version 450
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer InBuf { uint x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer OutBuf { uint y[]; };
layout(std430, set = 0, binding = 2) readonly buffer In2Buf { uint x2[]; };

layout(push_constant) uniform Push {
    ivec4 a;  // channels, plane (h*w), words per pixel (c4 / 4), zero point
    ivec4 e;  // total invocations, mode, unused, unused
    vec4 g;   // relu slope | inv_scale (quantize) | scale (dequantize), unused...
} pc;

int sbyte(uint w, int lane) { return bitfieldExtract(int(w), 8 * lane, 8); }

void main() {
    const uint idx = (gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x;
    if (idx >= uint(pc.e.x)) return;
    const int i = int(idx);
    const int mode = pc.e.y;
    const int z = pc.a.w;
    if (mode == 0) {
        const uint w = x[i];
        uint r = 0u;
        for (int lane = 0; lane < 4; ++lane) r |= uint(max(sbyte(w, lane), z) & 0xff) << (8 * lane);
        y[i] = r;
    } else if (mode == 1) {
        const float v = uintBitsToFloat(x[i]);
        precise float r = v < 0.0 ? v * pc.g.x : v;
        y[i] = floatBitsToUint(r);
    } else if (mode == 2) {
        precise float r = uintBitsToFloat(x[i]) + uintBitsToFloat(x2[i]);
        y[i] = floatBitsToUint(r);
    } else if (mode == 3) {
        const int c = pc.a.x, plane = pc.a.y, cw = pc.a.z;
        const int j = i % cw, pixel = i / cw;
        const int p = pixel % plane, n = pixel / plane;
        const float lo = float(-128 - z), hi = float(127 - z);
        uint r = 0u;
        for (int lane = 0; lane < 4; ++lane) {
            const int ch = 4 * j + lane;
            int q = z;
            if (ch < c) {
                precise float v = uintBitsToFloat(x[(n * c + ch) * plane + p]) * pc.g.x;
                if (!isnan(v)) {
                    v = v < lo ? lo : (v > hi ? hi : v);
                    q = int(roundEven(v)) + z;
                }
            }
            r |= uint(q & 0xff) << (8 * lane);
        }
        y[i] = r;
    } else {
        const int c = pc.a.x, plane = pc.a.y, cw = pc.a.z;
        const int p = i % plane;
        const int t = i / plane;
        const int ch = t % c, n = t / c;
        const uint w = x[(n * plane + p) * cw + ch / 4];
        precise float r = pc.g.x * float(sbyte(w, ch % 4) - z);
        y[i] = floatBitsToUint(r);
    }
}
