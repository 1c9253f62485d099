// What the CPU we run on can do, detected once at run time (cpuid / getauxval).
#pragma once
#include <string>

namespace qgpu {
namespace cpu {

struct CpuFeatures {
    bool avx2 = false, fma = false, avx512 = false /* F+BW+VL */, avx512vnni = false,
         avxvnni = false;
    bool neon = false, neon_dot = false, i8mm = false;
    std::string brand;  // "AMD Ryzen ..." where the CPU says
    std::string isa_list() const;  // "avx2 fma avx512 avx512vnni" ...
};

const CpuFeatures& cpu_features();

}  // namespace cpu
}  // namespace qgpu
