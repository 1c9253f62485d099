// The x86 kernel getters (src/cpu/x86/isa_*.cpp). The kernel interface itself is
// arch-neutral: src/cpu/isa_kernels.h; the names are re-exported here for the x86 files.
#pragma once
#include "cpu/isa_kernels.h"

namespace qgpu {
namespace cpu {
namespace x86 {

using cpu::DwParams;
using cpu::DwWordParams;
using cpu::FloatAct;
using cpu::GemmParams;
using cpu::IsaKernels;
using cpu::OutMode;
using cpu::OutParams;
using cpu::WordFormat;
using cpu::FACT_CLAMP;
using cpu::FACT_LEAKY;
using cpu::FACT_NONE;
using cpu::OUT_F32;
using cpu::OUT_F32_DEQ;
using cpu::OUT_INT8;
using cpu::WORD_F32;
using cpu::WORD_I16X2;
using cpu::WORD_S8X4;
using cpu::WORD_U8X4;

const IsaKernels* avx512vnni_kernels();
const IsaKernels* avxvnni_kernels();
const IsaKernels* avx2_kernels();

}  // namespace x86
}  // namespace cpu
}  // namespace qgpu
