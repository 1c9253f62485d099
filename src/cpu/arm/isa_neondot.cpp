// ARMv8.2 dotprod kernels (compiled with -march=armv8.2-a+dotprod, called only where getauxval
// reports HWCAP_ASIMDDP): int8 GEMM on sdot by element over raw s8 words (WORD_S8X4), fp32 GEMM
// on fmla, and the depthwise kernel.
#include <arm_neon.h>

#include <cstddef>
#include <cstdint>

#include "cpu/arm/arm_kernels.h"

namespace qgpu {
namespace cpu {
namespace arm {
namespace {
#define QGPU_ARM_DOTPROD 1
#include "cpu/arm/kernels_neon.h"

void dw_row(const DwParams& d, const float* in, void* out, int32_t oy) { dw_row_impl<8>(d, in, out, oy); }

const IsaKernels kKernels = {"neondot", 4, WORD_S8X4, 3, 24, bcast_gemm<DotSdot>, bcast_gemm<DotF32>,
                             dw_row, 1};
}  // namespace

const IsaKernels* neondot_kernels() { return &kKernels; }

}  // namespace arm
}  // namespace cpu
}  // namespace qgpu
