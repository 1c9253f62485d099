// qgpu pooling (OpKind::MaxPool / AvgPool), the semantics of src/cpu/reference/ops_reference.cpp.
// Buffers are read as 32-bit words:
//   mode 0, int8 max:  x, y NHWC4 int8 ([n][h][w][c4], 4 channels per word, low byte first);
//                      one invocation per output word (4 channels of one pixel). Start at -128,
//                      bytewise max over the in-image taps, padding channels = output zero point.
//   mode 1, float max: x, y NCHW float (bit patterns); one invocation per output element;
//                      acc = (acc < v) ? v : acc, i.e. std::max(acc, v), from -inf.
//   mode 2, float avg: same, acc = acc + v in (ky, kx) order, then acc / max(count, 1).
// Taps outside the image are skipped (pads include the ceil-mode extra).
#version 450
layout(local_size_x = 64, local_size_y = 1, local_size_z = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer InBuf { uint x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer OutBuf { uint y[]; };

layout(push_constant) uniform Push {
    ivec4 a;  // c, in_h, in_w, words per pixel (c4 / 4)
    ivec4 b;  // out_h, out_w, kernel_h, kernel_w
    ivec4 d;  // stride_h, stride_w, pad_top, pad_left
    ivec4 e;  // total invocations, mode, output zero point, unused
} pc;

int sbyte(uint w, int lane) { return bitfieldExtract(int(w), 8 * lane, 8); }

void main() {
    const uint idx = (gl_WorkGroupID.z * gl_NumWorkGroups.x + gl_WorkGroupID.x) * 64u + gl_LocalInvocationID.x;
    if (idx >= uint(pc.e.x)) return;
    const int i = int(idx);
    const int c = pc.a.x, ih = pc.a.y, iw = pc.a.z, cw = pc.a.w;
    const int oh = pc.b.x, ow = pc.b.y, kh = pc.b.z, kw = pc.b.w;
    const int mode = pc.e.y;
    if (mode == 0) {
        const int j = i % cw;
        int t = i / cw;
        const int ox = t % ow;
        t /= ow;
        const int oy = t % oh;
        const int n = t / oh;
        ivec4 m = ivec4(-128);
        for (int ky = 0; ky < kh; ++ky) {
            const int iy = oy * pc.d.x - pc.d.z + ky;
            if (iy < 0 || iy >= ih) continue;
            for (int kx = 0; kx < kw; ++kx) {
                const int ix = ox * pc.d.y - pc.d.w + kx;
                if (ix < 0 || ix >= iw) continue;
                const uint w = x[((n * ih + iy) * iw + ix) * cw + j];
                m = max(m, ivec4(sbyte(w, 0), sbyte(w, 1), sbyte(w, 2), sbyte(w, 3)));
            }
        }
        const int c0 = 4 * j;
        if (c0 + 0 >= c) m.x = pc.e.z;
        if (c0 + 1 >= c) m.y = pc.e.z;
        if (c0 + 2 >= c) m.z = pc.e.z;
        if (c0 + 3 >= c) m.w = pc.e.z;
        y[i] = uint(m.x & 0xff) | (uint(m.y & 0xff) << 8) | (uint(m.z & 0xff) << 16) | (uint(m.w & 0xff) << 24);
        return;
    }
    const int ox = i % ow;
    int t = i / ow;
    const int oy = t % oh;
    t /= oh;
    const int plane = t * ih * iw;  // t = n * c + channel
    const bool is_max = mode == 1;
    precise float acc = is_max ? uintBitsToFloat(0xff800000u) : 0.0;
    int count = 0;
    for (int ky = 0; ky < kh; ++ky) {
        const int iy = oy * pc.d.x - pc.d.z + ky;
        if (iy < 0 || iy >= ih) continue;
        for (int kx = 0; kx < kw; ++kx) {
            const int ix = ox * pc.d.y - pc.d.w + kx;
            if (ix < 0 || ix >= iw) continue;
            const float v = uintBitsToFloat(x[plane + iy * iw + ix]);
            if (is_max) acc = (acc < v) ? v : acc;
            else acc = acc + v;
            ++count;
        }
    }
    if (!is_max) acc = acc / float(max(count, 1));
    y[i] = floatBitsToUint(acc);
}
