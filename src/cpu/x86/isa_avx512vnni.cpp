// AVX-512 VNNI kernels (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mfma):
// int8 GEMM on vpdpbusd (zmm, 16 output channels per register), fp32 GEMM and the depthwise
// kernel on zmm FMA. Called only when CPUID reports these extensions.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 false positives in avx512fintrin.h
#pragma GCC diagnostic ignored "-Wuninitialized"       // (its _mm512_undefined_epi32)
#include <immintrin.h>

#include <cstdint>

#include "cpu/x86/x86_kernels.h"

namespace qgpu {
namespace cpu {
namespace x86 {
namespace {
#define QGPU_X86_WIDTH 512
#include "cpu/x86/kernels_impl.h"

// Tiles of P pixels, or of Q where that wastes fewer pixel slots on the range (a 7 x 7 late
// layer: 49 pixels in tiles of 6 computed 54, 10 % for nothing).
template <class W, int OB, int P, int Q>
void gemm_tiles(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int64_t m_begin,
                int64_t m_end) {
    const int64_t r = m_end - m_begin;
    if ((r + Q - 1) / Q * Q < (r + P - 1) / P * P) gemm_range<W, OB, Q>(gp, in, out, g, blk0, m_begin, m_end);
    else gemm_range<W, OB, P>(gp, in, out, g, blk0, m_begin, m_end);
}

template <class W>
void gemm(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int32_t nb,
          int64_t m_begin, int64_t m_end) {
    switch (nb) {
        case 1: gemm_tiles<W, 1, 12, 7>(gp, in, out, g, blk0, m_begin, m_end); break;
        case 2: gemm_tiles<W, 2, 12, 7>(gp, in, out, g, blk0, m_begin, m_end); break;
        case 3: gemm_tiles<W, 3, 8, 7>(gp, in, out, g, blk0, m_begin, m_end); break;
        default: gemm_tiles<W, 4, 6, 5>(gp, in, out, g, blk0, m_begin, m_end); break;
    }
}

void dw_row(const DwParams& d, const float* in, void* out, int32_t oy) { dw_row_impl<8>(d, in, out, oy); }

void dw_word_row(const DwWordParams& d, const uint8_t* const* rows, void* out, int32_t oy, int32_t c0, int32_t c1) {
    dw_word_row_impl<12>(d, rows, out, oy, c0, c1);
}

const IsaKernels kKernels = {"avx512vnni", 16, WORD_U8X4, 4, 24, gemm<WordU8>, gemm<WordF32>, dw_row, 1, dw_word_pack_row_impl, dw_word_row, flip_copy_impl, ONE_SHIFT_SIGNED};
}  // namespace

const IsaKernels* avx512vnni_kernels() { return &kKernels; }

}  // namespace x86
}  // namespace cpu
}  // namespace qgpu
