// AVX2 kernels (compiled with -mavx2 -mfma): int8 GEMM on vpmaddwd over s16 pairs of (x - z_x)
// (exact: a pair sum is at most 2 * 255 * 127, no saturation, no zero-point correction), fp32
// GEMM on ymm FMA, and the depthwise kernel.
#include <immintrin.h>

#include <cstdint>

#include "cpu/x86/x86_kernels.h"

namespace qgpu {
namespace cpu {
namespace x86 {
namespace {
#define QGPU_X86_WIDTH 256
#include "cpu/x86/kernels_impl.h"

template <class W>
void gemm(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int32_t nb,
          int64_t m_begin, int64_t m_end) {
    if (nb == 1) gemm_range<W, 1, 12>(gp, in, out, g, blk0, m_begin, m_end);
    else gemm_range<W, 2, 6>(gp, in, out, g, blk0, m_begin, m_end);
}

void dw_row(const DwParams& d, const float* in, void* out, int32_t oy) { dw_row_impl<6>(d, in, out, oy); }

const IsaKernels kKernels = {"avx2", 8, WORD_I16X2, 2, 12, gemm<WordI16>, gemm<WordF32>, dw_row, 1, nullptr, nullptr, flip_copy_impl,
                            ONE_SHIFT_NONE, nullptr, point_f32_impl<4, 2>, dw_plane_f32_impl};
}  // namespace

const IsaKernels* avx2_kernels() { return &kKernels; }

}  // namespace x86
}  // namespace cpu
}  // namespace qgpu
