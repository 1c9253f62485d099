// qgpu concat along channels (OpKind::Concat): one dispatch per input, in input order, with a
// barrier between them (the dispatches of one Concat run are recorded together).
//   mode 0, int8:  x = one input, NHWC4 int8 ([pixel][cin4]); y = output NHWC4 ([pixel][cout4]).
//                  An invocation owns one output word (4 channels of one pixel) among the words
//                  this input touches: bytes of this input's channel range come from x, bytes
//                  at or past out_c get the output zero point (padding), other bytes are kept
//                  (an earlier dispatch wrote them, a later one will).
//   mode 1, float: x = one input NCHW, y = output NCHW, float bits copied unchanged.
#version 450
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer InBuf { uint x[]; };
layout(std430, set = 0, binding = 1) buffer OutBuf { uint y[]; };

layout(push_constant) uniform Push {
    ivec4 a;  // input channels, input words per pixel (int8) | plane h*w (float), out_c, out words per pixel
    ivec4 b;  // channel offset of this input, first output word touched, words touched, zero point
    ivec4 e;  // total invocations, mode, unused, unused
} pc;

void main() {
    const uint idx = (gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x;
    if (idx >= uint(pc.e.x)) return;
    const int i = int(idx);
    const int cin = pc.a.x, out_c = pc.a.z, offset = pc.b.x;
    if (pc.e.y == 1) {
        const int plane = pc.a.y;
        const int p = i % plane;
        const int t = i / plane;
        const int ch = t % cin, n = t / cin;
        y[(n * out_c + offset + ch) * plane + p] = x[i];
        return;
    }
    const int in_words = pc.a.y, out_words = pc.a.w;
    const int pixel = i / pc.b.z;
    const int j = pc.b.y + i % pc.b.z;
    const int o = pixel * out_words + j;
    bool partial = false;
    uint word = 0u;
    for (int lane = 0; lane < 4; ++lane) {
        const int ch = 4 * j + lane;
        uint byte_value;
        if (ch >= offset && ch < offset + cin) {
            const int s = ch - offset;
            byte_value = bitfieldExtract(x[pixel * in_words + s / 4], 8 * (s % 4), 8);
        } else if (ch >= out_c) {
            byte_value = uint(pc.b.w) & 0xffu;
        } else {
            partial = true;
            continue;
        }
        word |= byte_value << (8 * lane);
    }
    if (partial) {
        // keep the bytes of the other inputs
        uint keep = 0u;
        for (int lane = 0; lane < 4; ++lane) {
            const int ch = 4 * j + lane;
            if (!(ch >= offset && ch < offset + cin) && ch < out_c) keep |= 0xffu << (8 * lane);
        }
        word |= y[o] & keep;
    }
    y[o] = word;
}
