#include "cpu/cpu_features.h"

#include <cstdio>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
#endif

namespace qgpu {
namespace cpu {
namespace {

CpuFeatures detect() {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid_count(1, 0, &a, &b, &c, &d)) {
        const bool osxsave = c & (1u << 27);
        f.fma = c & (1u << 12);
        unsigned xcr0 = 0;
        if (osxsave) {
            unsigned hi;
            __asm__("xgetbv" : "=a"(xcr0), "=d"(hi) : "c"(0));
        }
        const bool ymm_os = (xcr0 & 0x6) == 0x6;
        const bool zmm_os = (xcr0 & 0xe6) == 0xe6;
        if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
            f.avx2 = ymm_os && (b & (1u << 5));
            f.avx512 = zmm_os && (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31));
            f.avx512vnni = f.avx512 && (c & (1u << 11));
        }
        if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avxvnni = ymm_os && (a & (1u << 4));
        f.fma = f.fma && ymm_os;
    }
    char brand[49] = {0};
    if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
        for (unsigned i = 0; i < 3; ++i) {
            __get_cpuid(0x80000002 + i, &a, &b, &c, &d);
            std::memcpy(brand + 16 * i, &a, 4); std::memcpy(brand + 16 * i + 4, &b, 4);
            std::memcpy(brand + 16 * i + 8, &c, 4); std::memcpy(brand + 16 * i + 12, &d, 4);
        }
    }
    f.brand = brand;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
#elif defined(__aarch64__)
    f.neon = true;
#if defined(__linux__)
    const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    f.neon_dot = hw & HWCAP_ASIMDDP;
    f.i8mm = hw2 & HWCAP2_I8MM;
#endif
    f.brand = "AArch64 CPU";
#endif
    if (f.brand.empty()) f.brand = "CPU";
    return f;
}

}  // namespace

std::string CpuFeatures::isa_list() const {
    std::string s;
    auto add = [&](bool on, const char* name) {
        if (!on) return;
        if (!s.empty()) s += ' ';
        s += name;
    };
    add(avx2, "avx2"); add(fma, "fma"); add(avx512, "avx512"); add(avx512vnni, "avx512vnni");
    add(avxvnni, "avxvnni"); add(neon, "neon"); add(neon_dot, "neondot"); add(i8mm, "i8mm");
    return s.empty() ? "scalar" : s;
}

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

}  // namespace cpu
}  // namespace qgpu
