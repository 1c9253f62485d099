// ARMv8.6 i8mm kernels (compiled with -march=armv8.2-a+dotprod+i8mm, called only where getauxval
// reports HWCAP2_I8MM and HWCAP_ASIMDDP): int8 GEMM on smmla over raw s8 word pairs
// (WORD_S8X4, weights in 8-byte rows: int8_word_group 2), fp32 GEMM on fmla, and the depthwise
// kernel.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "cpu/arm/arm_kernels.h"

namespace qgpu {
namespace cpu {
namespace arm {
namespace {
#define QGPU_ARM_DOTPROD 1
#define QGPU_ARM_I8MM 1
#include "cpu/arm/kernels_neon.h"

void dw_row(const DwParams& d, const float* in, void* out, int32_t oy) { dw_row_impl<8>(d, in, out, oy); }

const IsaKernels kKernels = {"i8mm", 4, WORD_S8X4, 3, 24, mmla_gemm, bcast_gemm<DotF32>, dw_row, 2};
}  // namespace

const IsaKernels* i8mm_kernels() { return &kKernels; }

}  // namespace arm
}  // namespace cpu
}  // namespace qgpu
