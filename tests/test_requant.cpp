// The exact arithmetic: fixed-point requantization against long double, quantize/dequantize.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>
#include <algorithm>

#include "core/requant.h"
#include "naive_conv.h"

using namespace qgpu::arith;

namespace {

// Independent long-double model of requantize(acc, m0, shift), gemmlowp double rounding.
int32_t model(int32_t acc, int32_t m0, int32_t shift) {
    long double x = acc;
    if (shift > 0) x = std::min(2147483647.0L, std::max(-2147483648.0L, x * std::ldexp(1.0L, shift)));
    long double high = std::floor(x * m0 / 2147483648.0L + 0.5L);  // ties toward +inf
    if (x == -2147483648.0L && m0 == std::numeric_limits<int32_t>::min()) high = 2147483647.0L;
    const int right = shift > 0 ? 0 : -shift;
    return int32_t(std::round(high / std::ldexp(1.0L, right)));
}

}  // namespace

TEST_CASE("rounding helpers follow gemmlowp", "[arith]") {
    CHECK(srdhm(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::min()) ==
          std::numeric_limits<int32_t>::max());
    // ties of the doubling high multiply go toward +inf: -0.5 -> 0, 0.5 -> 1, -1.5 -> -1
    CHECK(srdhm(-1, 1 << 30) == 0);
    CHECK(srdhm(1, 1 << 30) == 1);
    CHECK(srdhm(-3, 1 << 30) == -1);
    // power-of-two division: ties away from zero
    CHECK(rounding_divide_by_pot(5, 1) == 3);
    CHECK(rounding_divide_by_pot(-5, 1) == -3);
    CHECK(rounding_divide_by_pot(-2, 2) == -1);
    CHECK(rounding_divide_by_pot(-1, 2) == 0);
    CHECK(rounding_divide_by_pot(7, 0) == 7);
    CHECK(rounding_divide_by_pot(std::numeric_limits<int32_t>::min(), 31) == -1);
    CHECK(rounding_divide_by_pot(std::numeric_limits<int32_t>::max(), 31) == 1);
    CHECK(saturating_shift_left(1 << 30, 2) == std::numeric_limits<int32_t>::max());
    CHECK(saturating_shift_left(-(1 << 30), 2) == std::numeric_limits<int32_t>::min());
}

TEST_CASE("requantize equals the long double model on millions of random pairs", "[arith]") {
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int32_t> any(std::numeric_limits<int32_t>::min(),
                                               std::numeric_limits<int32_t>::max());
    std::uniform_int_distribution<int32_t> m0_dist(1 << 30, std::numeric_limits<int32_t>::max());
    std::uniform_int_distribution<int32_t> shift_dist(-31, 4);
    std::uniform_int_distribution<int32_t> small(-70000, 70000);
    size_t mismatches = 0;
    const int n = 3000000;
    for (int i = 0; i < n; ++i) {
        const int32_t acc = (i % 3 == 0) ? small(rng) : any(rng);
        const int32_t m0 = m0_dist(rng);
        const int32_t shift = shift_dist(rng);
        if (requantize(acc, m0, shift) != model(acc, m0, shift)) ++mismatches;
    }
    CHECK(mismatches == 0);
}

TEST_CASE("requantize saturation and tie edges", "[arith]") {
    const int32_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
    const int32_t accs[] = {lo, lo + 1, -65536, -3, -2, -1, 0, 1, 2, 3, 65535, hi - 1, hi};
    const int32_t m0s[] = {1 << 30, (1 << 30) + 1, hi - 1, hi};
    for (int32_t acc : accs)
        for (int32_t m0 : m0s)
            for (int32_t shift = -31; shift <= 30; ++shift) {
                INFO("acc " << acc << " m0 " << m0 << " shift " << shift);
                REQUIRE(requantize(acc, m0, shift) == model(acc, m0, shift));
            }
    // exact ties: acc * 0.5 with right shift 1 -> ties away from zero after the high multiply
    CHECK(requantize(3, 1 << 30, 0) == 2);   // 1.5 -> 2
    CHECK(requantize(-3, 1 << 30, 0) == -1); // -1.5 -> -1 (first rounding ties toward +inf)
}

TEST_CASE("requantize as one 64-bit rounding shift equals the double rounding", "[arith]") {
    // the SIMD output stage's form (requant.h): every right shift, multipliers at the edges of
    // [2^30, 2^31) and 0, accumulators at the extremes, random, and on the tie points of both
    // roundings (acc * m0 = k * 2^30 and k * 2^(30 + n) +- 1)
    std::mt19937 rng(4242);
    std::uniform_int_distribution<int32_t> any_acc(std::numeric_limits<int32_t>::min(),
                                                   std::numeric_limits<int32_t>::max());
    std::uniform_int_distribution<int32_t> any_m0(1 << 30, std::numeric_limits<int32_t>::max());
    std::uniform_int_distribution<int32_t> small(-4096, 4096);
    int64_t checked = 0;
    for (int32_t shift = -31; shift <= -1; ++shift) {
        std::vector<int32_t> m0s = {0, 1 << 30, (1 << 30) + 1, (3 << 29), std::numeric_limits<int32_t>::max()};
        for (int i = 0; i < 20; ++i) m0s.push_back(any_m0(rng));
        for (int32_t m0 : m0s) {
            std::vector<int32_t> accs = {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(),
                                         -1, 0, 1};
            for (int i = 0; i < 200; ++i) accs.push_back(any_acc(rng));
            for (int i = 0; i < 200; ++i) accs.push_back(small(rng));
            if (m0 == (1 << 30) || m0 == (3 << 29)) {  // exact ties: acc a multiple of a power of 2
                for (int k = -40; k <= 40; ++k)
                    for (int d = -1; d <= 1; ++d) {
                        const int64_t a = int64_t(k) * (int64_t(1) << std::min(-shift, 24));
                        accs.push_back(int32_t(a + d));
                        accs.push_back(int32_t(a / 2 + d));
                    }
            }
            for (int32_t acc : accs) {
                INFO("acc " << acc << " m0 " << m0 << " shift " << shift);
                REQUIRE(requantize_one_shift(acc, m0, shift) == requantize(acc, m0, shift));
                ++checked;
            }
        }
    }
    CHECK(checked > 300000);
}

TEST_CASE("quantize_multiplier represents M within half an ulp of Q31", "[arith]") {
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> expo(-40.0, 29.0);
    for (int i = 0; i < 100000; ++i) {
        const double m = std::pow(2.0, expo(rng));
        int32_t m0 = 0, shift = 0;
        REQUIRE(quantize_multiplier(m, &m0, &shift));
        if (m0 == 0) {
            REQUIRE(m < std::ldexp(1.0, -31));
            continue;
        }
        REQUIRE(m0 >= (1 << 30));
        REQUIRE(shift >= -31);
        REQUIRE(shift <= 30);
        const double back = std::ldexp(double(m0), shift - 31);
        REQUIRE(std::fabs(back - m) <= std::ldexp(1.0, shift - 32) * 1.0000001);
    }
    int32_t m0, shift;
    CHECK_FALSE(quantize_multiplier(-1.0, &m0, &shift));
    CHECK_FALSE(quantize_multiplier(std::nan(""), &m0, &shift));
    CHECK_FALSE(quantize_multiplier(INFINITY, &m0, &shift));
    CHECK_FALSE(quantize_multiplier(std::ldexp(1.0, 31), &m0, &shift));
    REQUIRE(quantize_multiplier(0.0, &m0, &shift));
    CHECK(m0 == 0);
    // a value that rounds up to 2^31 renormalises
    REQUIRE(quantize_multiplier(std::nextafter(1.0, 0.0), &m0, &shift));
    CHECK(m0 == (1 << 30));
    CHECK(shift == 1);
}

TEST_CASE("the exported C arithmetic is the same as the internal one", "[arith][api]") {
    std::mt19937 rng(9);
    std::uniform_real_distribution<double> mult(1e-6, 4.0);
    std::uniform_int_distribution<int32_t> acc(-(1 << 28), 1 << 28);
    for (int i = 0; i < 10000; ++i) {
        const double m = mult(rng);
        int32_t m0a, sa, m0b, sb;
        REQUIRE(qgpu_quantize_multiplier(m, &m0a, &sa) == QGPU_OK);
        REQUIRE(quantize_multiplier(m, &m0b, &sb));
        REQUIRE(m0a == m0b);
        REQUIRE(sa == sb);
        const int32_t a = acc(rng);
        REQUIRE(qgpu_requantize(a, m0a, sa) == naive::requantize(a, m));
    }
    int32_t m0, s;
    CHECK(qgpu_quantize_multiplier(-1.0, &m0, &s) == QGPU_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(qgpu_last_error()).find("multiplier") != std::string::npos);
    CHECK(qgpu_quantize_multiplier(1.0, nullptr, &s) == QGPU_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("quantize rounds half to even, saturates, maps NaN to the zero point", "[arith]") {
    CHECK(quantize_value(0.5f, 1.0f, 0) == 0);
    CHECK(quantize_value(1.5f, 1.0f, 0) == 2);
    CHECK(quantize_value(2.5f, 1.0f, 0) == 2);
    CHECK(quantize_value(-0.5f, 1.0f, 0) == 0);
    CHECK(quantize_value(-1.5f, 1.0f, 0) == -2);
    CHECK(quantize_value(-2.5f, 1.0f, 0) == -2);
    CHECK(quantize_value(1000.0f, 1.0f, 0) == 127);
    CHECK(quantize_value(-1000.0f, 1.0f, 0) == -128);
    CHECK(quantize_value(INFINITY, 1.0f, 5) == 127);
    CHECK(quantize_value(-INFINITY, 1.0f, 5) == -128);
    CHECK(quantize_value(std::nanf(""), 1.0f, 7) == 7);
    CHECK(quantize_value(10.0f, 1.0f, 120) == 127);
    CHECK(quantize_value(-10.0f, 1.0f, -120) == -128);
    CHECK(quantize_value(3.0f, 1.0f, -2) == 1);
    // agrees with nearbyint (ties to even under the default rounding mode) everywhere
    std::mt19937 rng(4);
    std::uniform_real_distribution<float> x(-300.0f, 300.0f);
    for (int i = 0; i < 1000000; ++i) {
        float v = x(rng);
        if (i % 4 == 0) v = std::round(v * 2.0f) / 2.0f;  // many exact ties
        REQUIRE(quantize_value(v, 1.0f, 0) == naive::quantize(v, 1.0f, 0));
    }
}

TEST_CASE("quantize -> dequantize round trip is within half a step", "[arith][api]") {
    std::mt19937 rng(8);
    std::uniform_real_distribution<float> scale_dist(1e-4f, 10.0f);
    std::uniform_int_distribution<int> zp_dist(-128, 127);
    for (int t = 0; t < 200; ++t) {
        const qgpu_quant q{scale_dist(rng), zp_dist(rng)};
        const float lo = q.scale * float(-128 - q.zero_point), hi = q.scale * float(127 - q.zero_point);
        std::uniform_real_distribution<float> x(lo, hi);
        std::vector<float> xs(1000), back(1000);
        for (float& v : xs) v = x(rng);
        std::vector<int8_t> qs(1000);
        REQUIRE(qgpu_quantize(xs.data(), xs.size(), q, qs.data()) == QGPU_OK);
        REQUIRE(qgpu_dequantize(qs.data(), qs.size(), q, back.data()) == QGPU_OK);
        for (size_t i = 0; i < xs.size(); ++i)
            REQUIRE(std::fabs(back[i] - xs[i]) <= 0.5f * q.scale * 1.0001f + 1e-6f * std::fabs(xs[i]));
        // int8 -> float -> int8 is the identity
        std::vector<int8_t> again(1000);
        REQUIRE(qgpu_quantize(back.data(), back.size(), q, again.data()) == QGPU_OK);
        REQUIRE(again == qs);
    }
    const qgpu_quant bad{0.0f, 0};
    float f = 1;
    int8_t i8;
    CHECK(qgpu_quantize(&f, 1, bad, &i8) == QGPU_ERROR_INVALID_ARGUMENT);
    CHECK(qgpu_dequantize(&i8, 1, qgpu_quant{1.0f, 300}, &f) == QGPU_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("bias quantization rounds half away from zero and saturates", "[arith]") {
    CHECK(quantize_bias(2.5f, 1.0f, 1.0f) == 3);
    CHECK(quantize_bias(-2.5f, 1.0f, 1.0f) == -3);
    CHECK(quantize_bias(1e30f, 1.0f, 1.0f) == kBiasLimit);
    CHECK(quantize_bias(-1e30f, 1.0f, 1.0f) == -kBiasLimit);
}
