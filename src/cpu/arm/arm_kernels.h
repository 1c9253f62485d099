// The AArch64 kernel getters (src/cpu/arm/isa_*.cpp). Each file is compiled with its own -march
// flags and only called after getauxval said the CPU has the instructions (cpu_device.cpp).
#pragma once
#include "cpu/isa_kernels.h"

namespace qgpu {
namespace cpu {
namespace arm {

const IsaKernels* neon_kernels();     // ARMv8.0 NEON: smull + addp + sadalp (int8), fmla (fp32)
const IsaKernels* neondot_kernels();  // ARMv8.2 dotprod: sdot (int8)
const IsaKernels* i8mm_kernels();     // ARMv8.6 i8mm: smmla (int8)

}  // namespace arm
}  // namespace cpu
}  // namespace qgpu
