// ARMv8.0 NEON kernels (compiled with -march=armv8-a, every AArch64 CPU has them): int8 GEMM on
// smull + addp + sadalp over raw s8 words (WORD_S8X4), fp32 GEMM on fmla, and the depthwise
// kernel.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "cpu/arm/arm_kernels.h"

namespace qgpu {
namespace cpu {
namespace arm {
namespace {
#include "cpu/arm/kernels_neon.h"

void dw_row(const DwParams& d, const float* in, void* out, int32_t oy) { dw_row_impl<8>(d, in, out, oy); }

const IsaKernels kKernels = {"neon", 4, WORD_S8X4, 2, 24, bcast_gemm_narrow<DotNeon>,
                             bcast_gemm_narrow<DotF32>, dw_row, 1};
}  // namespace

const IsaKernels* neon_kernels() { return &kKernels; }

}  // namespace arm
}  // namespace cpu
}  // namespace qgpu
