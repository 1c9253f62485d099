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
// layer: 49 pixels in tiles of 6 computed 54, 10 % for nothing). Widths per block count:
constexpr int kTileP[5] = {0, 12, 12, 8, 6}, kTileQ[5] = {0, 7, 7, 7, 5};
int64_t round_to(int64_t r, int64_t p) { return (r + p - 1) / p * p; }
// (Q only where it saves over 5 %: the narrower tile reads its weights for fewer pixels; on a
// whole 56 x 56 image 7-pixel tiles of 2 blocks ran mv2_project 15 % slower than 12-pixel ones)
bool use_q(int32_t nb, int64_t r) { return round_to(r, kTileQ[nb]) * 21 < round_to(r, kTileP[nb]) * 20; }
int64_t tile_slots(int32_t nb, int64_t pixels) {
    nb = nb > 4 ? 4 : nb;
    return use_q(nb, pixels) ? round_to(pixels, kTileQ[nb]) : round_to(pixels, kTileP[nb]);
}

template <class W, int OB>
void gemm_tiles(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int64_t m_begin,
                int64_t m_end) {
    if (use_q(OB, m_end - m_begin)) gemm_range<W, OB, kTileQ[OB]>(gp, in, out, g, blk0, m_begin, m_end);
    else gemm_range<W, OB, kTileP[OB]>(gp, in, out, g, blk0, m_begin, m_end);
}

template <class W>
void gemm(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int32_t nb,
          int64_t m_begin, int64_t m_end) {
    switch (nb) {
        case 1: gemm_tiles<W, 1>(gp, in, out, g, blk0, m_begin, m_end); break;
        case 2: gemm_tiles<W, 2>(gp, in, out, g, blk0, m_begin, m_end); break;
        case 3: gemm_tiles<W, 3>(gp, in, out, g, blk0, m_begin, m_end); break;
        default: gemm_tiles<W, 4>(gp, in, out, g, blk0, m_begin, m_end); break;
    }
}

// IsaKernels::gemm_int_direct: up to 3 blocks on a uniform pixel stride in the asm tiles (4
// blocks would need 24 + 4 + 3 vector registers), the rest in the generic tiles
template <int OB>
void gemm_direct_tiles(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int64_t m_begin,
                       int64_t m_end) {
    if constexpr (OB <= 3) {
        if (gp.pix_stride) return gemm_range_stride<OB, kTileP[OB]>(gp, in, out, g, blk0, m_begin, m_end);
    }
    gemm_tiles<WordS8Flip, OB>(gp, in, out, g, blk0, m_begin, m_end);
}

void gemm_direct(const GemmParams& gp, const uint8_t* in, void* out, int32_t g, int32_t blk0, int32_t nb,
                 int64_t m_begin, int64_t m_end) {
    switch (nb) {
        case 1: gemm_direct_tiles<1>(gp, in, out, g, blk0, m_begin, m_end); break;
        case 2: gemm_direct_tiles<2>(gp, in, out, g, blk0, m_begin, m_end); break;
        case 3: gemm_direct_tiles<3>(gp, in, out, g, blk0, m_begin, m_end); break;
        default: gemm_direct_tiles<4>(gp, in, out, g, blk0, m_begin, m_end); break;
    }
}

void dw_row(const DwParams& d, const float* in, void* out, int32_t oy) { dw_row_impl<8>(d, in, out, oy); }

void dw_word_row(const DwWordParams& d, const uint8_t* const* rows, void* out, int32_t oy, int32_t c0, int32_t c1) {
    dw_word_row_impl<12>(d, rows, out, oy, c0, c1);
}

const IsaKernels kKernels = {"avx512vnni", 16, WORD_U8X4, 4, 24, gemm<WordU8>, gemm<WordF32>, dw_row, 1, dw_word_pack_row_impl, dw_word_row, flip_copy_impl, ONE_SHIFT_SIGNED,
                            tile_slots, point_f32_impl<6, 4>, dw_plane_f32_impl, gemm_direct};
}  // namespace

const IsaKernels* avx512vnni_kernels() { return &kKernels; }

}  // namespace x86
}  // namespace cpu
}  // namespace qgpu
