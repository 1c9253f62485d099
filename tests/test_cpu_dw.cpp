// The int8 depthwise kernels of the x86 dot-product variants (4-tap vpdpbusd words, packed per
// channel strip into a small ring of rows, bands of rows per thread) against the scalar
// reference: byte-identical int8 and bit-identical float outputs on random depthwise convs that
// reach every path: channel counts around the vector width (tail blocks, NHWC4 padding lanes),
// rows wider and narrower than the pixel group, kernel widths over 4 (two words per kernel
// row), stride and dilation (the sliding and the gathering pack), several channel strips,
// LeakyReLU and multipliers >= 1, batch 2, 1 and 2 threads.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>

#include "conv_cases.h"

namespace {

int uni(std::mt19937& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
float unif(std::mt19937& rng, float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng); }

cases::ConvCase random_depthwise(std::mt19937& rng) {
    cases::ConvCase c;
    qgpu_conv_desc& d = c.desc;
    qgpu_conv_desc_init(&d);
    d.precision = QGPU_PRECISION_INT8;
    const int channel_choices[] = {1, 3, 4, 7, 8, 13, 16, 17, 20, 24, 31, 40, 64, 144};
    const int C = channel_choices[uni(rng, 0, 13)];
    d.in_channels = d.out_channels = d.groups = C;
    d.kernel_h = uni(rng, 1, 5);
    d.kernel_w = uni(rng, 0, 2) == 0 ? uni(rng, 1, 9) : d.kernel_h;  // up to 3 words per row
    d.stride_h = uni(rng, 1, 2);
    d.stride_w = uni(rng, 0, 2) == 0 ? 2 : 1;
    d.dilation_h = uni(rng, 0, 3) == 0 ? 2 : 1;
    d.dilation_w = uni(rng, 0, 3) == 0 ? uni(rng, 2, 3) : 1;
    d.pad_top = uni(rng, 0, 3); d.pad_bottom = uni(rng, 0, 3);
    d.pad_left = uni(rng, 0, 4); d.pad_right = uni(rng, 0, 4);
    const int span_h = d.dilation_h * (d.kernel_h - 1) + 1, span_w = d.dilation_w * (d.kernel_w - 1) + 1;
    d.in_h = std::max(1, span_h - d.pad_top - d.pad_bottom) + uni(rng, 0, 10);
    // narrow rows (fewer pixels than a group), medium, and wide ones (several channel strips)
    const int wide = uni(rng, 0, 3);
    d.in_w = std::max(1, span_w - d.pad_left - d.pad_right) +
             (wide == 0 ? uni(rng, 0, 3) : wide == 3 ? uni(rng, 60, 200) : uni(rng, 4, 40));
    c.batch = uni(rng, 1, 2);
    d.activation = qgpu_activation(uni(rng, 0, 4));
    d.activation_min = unif(rng, -2.0f, 0.5f);
    d.activation_max = d.activation_min + unif(rng, 0.0f, 3.0f);
    d.leaky_slope = unif(rng, 0.0f, 1.0f);
    c.has_bias = uni(rng, 0, 4) != 0;
    d.input_quant.scale = unif(rng, 0.005f, 0.05f);
    d.input_quant.zero_point = uni(rng, 0, 2) == 0 ? 0 : uni(rng, -128, 127);
    const float taps = float(d.kernel_h * d.kernel_w);
    // sometimes a tiny output scale: multipliers >= 1 (the saturating left shift)
    d.output_quant.scale = uni(rng, 0, 4) == 0 ? d.input_quant.scale * unif(rng, 0.002f, 0.01f)
                                               : d.input_quant.scale * unif(rng, 0.2f, 2.0f) * std::sqrt(taps);
    d.output_quant.zero_point = uni(rng, 0, 2) == 0 ? 0 : uni(rng, -100, 100);
    d.output_dtype = uni(rng, 0, 3) == 0 ? QGPU_DTYPE_FLOAT32 : QGPU_DTYPE_INT8;
    c.weights.resize(size_t(C) * d.kernel_h * d.kernel_w);
    for (float& w : c.weights) w = unif(rng, -1.0f, 1.0f);
    if (uni(rng, 0, 5) == 0) std::fill(c.weights.begin(), c.weights.begin() + d.kernel_h * d.kernel_w, 0.0f);
    c.bias.resize(size_t(C));
    for (float& b : c.bias) b = unif(rng, -1.0f, 1.0f);
    c.input_q.resize(size_t(c.batch) * C * d.in_h * d.in_w);
    for (int8_t& x : c.input_q) x = int8_t(uni(rng, -128, 127));
    c.label = "depthwise";
    c.bind();
    return c;
}

struct Ctx {
    qgpu_context ctx = nullptr;
    std::string why;
    Ctx(const char* variant, int threads) { ctx = cases::make_context(QGPU_BACKEND_CPU, variant, threads, &why); }
    ~Ctx() { qgpu_context_destroy(ctx); }
};

size_t mismatches(const cases::Output& a, const cases::Output& b, size_t* first) {
    size_t n = 0;
    *first = 0;
    if (a.q.size() != b.q.size() || a.f.size() != b.f.size()) return size_t(-1);
    for (size_t i = 0; i < a.q.size(); ++i)
        if (a.q[i] != b.q[i] && n++ == 0) *first = i;
    for (size_t i = 0; i < a.f.size(); ++i)  // bit patterns: -0.0 vs 0.0 counts
        if (std::memcmp(&a.f[i], &b.f[i], 4) != 0 && n++ == 0) *first = i;
    return n;
}

}  // namespace

TEST_CASE("cpu depthwise int8 kernels equal the scalar reference", "[cpu-isa][cpu-dw]") {
    Ctx ref("scalar", 1);
    REQUIRE(ref.ctx != nullptr);
    std::vector<std::pair<std::string, std::unique_ptr<Ctx>>> ctxs;
    for (const char* v : {"avx512vnni", "avxvnni", "avx2", "i8mm", "neondot", "neon"})
        for (int threads : {1, 2}) {
            std::unique_ptr<Ctx> c(new Ctx(v, threads));
            if (!c->ctx) {
                if (threads == 1) WARN("skipped: variant " << v << " unavailable: " << c->why);
                continue;
            }
            ctxs.emplace_back(std::string(v) + (threads == 1 ? " 1 thread" : " 2 threads"), std::move(c));
        }
    if (ctxs.empty()) {
        WARN("skipped: no SIMD CPU variant on this machine");
        return;
    }
    std::mt19937 rng(20261123);
    int checked = 0;
    for (int i = 0; i < 150; ++i) {
        cases::ConvCase c = random_depthwise(rng);
        cases::Output want;
        REQUIRE(cases::run_case(ref.ctx, c, &want) == QGPU_OK);
        for (auto& v : ctxs) {
            INFO(v.first << ": " << c.describe());
            cases::Output got;
            REQUIRE(cases::run_case(v.second->ctx, c, &got) == QGPU_OK);
            size_t first = 0;
            const size_t bad = mismatches(got, want, &first);
            if (bad) {
                std::ostringstream m;
                if (!got.q.empty()) m << "first mismatch at " << first << ": got " << int(got.q[first]) << " want " << int(want.q[first]);
                else m << "first mismatch at " << first << ": got " << got.f[first] << " want " << want.f[first];
                INFO(m.str() << " (" << bad << " mismatches)");
                REQUIRE(bad == 0);
            }
            ++checked;
        }
    }
    CHECK(checked == 150 * int(ctxs.size()));
}
