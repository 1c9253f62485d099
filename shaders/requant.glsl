// The int8 output stage of qgpu in GLSL: exactly src/core/requant.h (gemmlowp double rounding),
// integer-only, the 64-bit product from imulExtended. Shared by every int8 conv shader.
#ifndef QGPU_REQUANT_GLSL
#define QGPU_REQUANT_GLSL

// x * 2^n saturated to int32, n in [0, 30]
int qgpu_saturating_shift_left(int x, int n) {
    if (n == 0) return x;
    if (x > (0x7fffffff >> n)) return 0x7fffffff;
    if (x < (int(0x80000000u) >> n)) return int(0x80000000u);
    return x << n;
}

// (a*b + 2^30) >> 31 with an arithmetic shift; the single overflow case saturates
int qgpu_srdhm(int a, int b) {
    if (a == b && a == int(0x80000000u)) return 0x7fffffff;
    int hi, lo;
    imulExtended(a, b, hi, lo);
    uint ulo = uint(lo) + 0x40000000u;
    if (ulo < uint(lo)) hi += 1;  // carry into the high word
    // bits 31..62 of the 64-bit sum: the result fits int32 in every other case
    return int((uint(hi) << 1) | (ulo >> 31));
}

// x / 2^n, nearest, ties away from zero; n in [0, 31]
int qgpu_rounding_divide_by_pot(int x, int n) {
    int mask = int((1u << uint(n)) - 1u);
    int remainder = x & mask;
    int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> n) + (remainder > threshold ? 1 : 0);
}

int qgpu_requantize(int acc, int m0, int shift) {
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    return qgpu_rounding_divide_by_pot(qgpu_srdhm(qgpu_saturating_shift_left(acc, left), m0), right);
}

#endif
