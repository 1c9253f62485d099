// AVX-VNNI kernels (compiled with -mavx2 -mfma -mavxvnni): int8 GEMM on the VEX vpdpbusd (ymm,
// 8 output channels per register); fp32 and depthwise as in the AVX2 file.
#include <immintrin.h>

#include <cstdint>

#include "cpu/x86/x86_kernels.h"

namespace qgpu {
namespace cpu {
namespace x86 {
namespace {
#define QGPU_X86_WIDTH 256
#define QGPU_X86_AVXVNNI 1
#include "cpu/x86/kernels_impl.h"

template <class W>
void gemm(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int32_t nb,
          int64_t m_begin, int64_t m_end) {
    if (nb == 1) gemm_range<W, 1, 12>(gp, in, out, g, blk0, m_begin, m_end);
    else gemm_range<W, 2, 6>(gp, in, out, g, blk0, m_begin, m_end);
}

void dw_row(const DwParams& d, const float* in, void* out, int32_t oy) { dw_row_impl<6>(d, in, out, oy); }

void dw_word_row(const DwWordParams& d, const uint8_t* const* rows, void* out, int32_t oy, int32_t c0, int32_t c1) {
    dw_word_row_impl<8>(d, rows, out, oy, c0, c1);
}

const IsaKernels kKernels = {"avxvnni", 8, WORD_U8X4, 2, 12, gemm<WordU8>, gemm<WordF32>, dw_row, 1, dw_word_pack_row_impl, dw_word_row, flip_copy_impl, ONE_SHIFT_UNSIGNED,
                            nullptr, point_f32_impl<4, 2>, dw_plane_f32_impl, gemm<WordS8Flip>};
}  // namespace

const IsaKernels* avxvnni_kernels() { return &kKernels; }

}  // namespace x86
}  // namespace cpu
}  // namespace qgpu
