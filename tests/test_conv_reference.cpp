// The scalar reference backend against the independent naive formulation.
#include <catch2/catch.hpp>
#include <cmath>

#include "conv_cases.h"
#include "naive_conv.h"

using cases::ConvCase;

namespace {

struct Context {
    qgpu_context ctx;
    explicit Context(int threads) {
        std::string why;
        ctx = cases::make_context(QGPU_BACKEND_CPU, "scalar", threads, &why);
        REQUIRE(ctx != nullptr);
    }
    ~Context() { qgpu_context_destroy(ctx); }
};

void check_int8_case(qgpu_context ctx, ConvCase& c) {
    INFO(c.describe());
    cases::Output got;
    REQUIRE(cases::run_case(ctx, c, &got) == QGPU_OK);
    std::vector<int8_t> want_q;
    std::vector<float> want_f;
    naive::conv_int8(c.desc, c.batch, c.input_q, &want_q, &want_f);
    if (c.desc.output_dtype == QGPU_DTYPE_INT8) {
        REQUIRE(got.q.size() == want_q.size());
        size_t mismatches = 0, first = 0;
        for (size_t i = 0; i < want_q.size(); ++i)
            if (got.q[i] != want_q[i] && mismatches++ == 0) first = i;
        INFO("first mismatch at " << first << ": got " << int(got.q[first]) << " want "
                                  << int(want_q[first]));
        REQUIRE(mismatches == 0);
    } else {
        REQUIRE(got.f.size() == want_f.size());
        size_t mismatches = 0;
        for (size_t i = 0; i < want_f.size(); ++i) mismatches += got.f[i] != want_f[i];
        REQUIRE(mismatches == 0);  // the float output stage is specified exactly too
    }
}

}  // namespace

TEST_CASE("reference int8 conv equals the naive formulation on random shapes", "[reference][int8]") {
    Context c1(1), c2(2);
    std::mt19937 rng(20261123);
    int int8_out = 0, float_out = 0, depthwise = 0;
    for (int i = 0; i < 400; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
        (c.desc.output_dtype == QGPU_DTYPE_INT8 ? int8_out : float_out)++;
        depthwise += c.desc.groups == c.desc.in_channels && c.desc.groups > 1;
        check_int8_case(i % 2 ? c2.ctx : c1.ctx, c);
    }
    CHECK(int8_out > 100);
    CHECK(float_out > 50);
    CHECK(depthwise > 30);
}

TEST_CASE("reference int8 conv with pre-quantized weights", "[reference][int8]") {
    Context ctx(2);
    std::mt19937 rng(7);
    for (int i = 0; i < 50; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
        naive::Quantized q = naive::quantize_weights(c.desc);
        for (float& s : q.scales) s *= 1.5f;  // any positive scales are accepted as given
        c.desc.weights = nullptr;
        c.desc.weights_int8 = q.weights.data();
        c.desc.weight_scales = q.scales.data();
        cases::Output got;
        qgpu_conv conv = nullptr;
        REQUIRE(qgpu_conv_create(ctx.ctx, &c.desc, &conv) == QGPU_OK);
        std::vector<float> scales(c.desc.out_channels);
        REQUIRE(qgpu_conv_get_weight_scales(conv, scales.data(), scales.size()) == QGPU_OK);
        CHECK(scales == q.scales);
        qgpu_conv_destroy(conv);
        // run_case re-binds float weights; run with int8 weights directly
        qgpu_conv_desc d = c.desc;
        std::vector<int8_t> want_q;
        std::vector<float> want_f;
        naive::conv_int8(d, c.batch, c.input_q, &want_q, &want_f);
        REQUIRE(qgpu_conv_create(ctx.ctx, &d, &conv) == QGPU_OK);
        qgpu_tensor in = nullptr, out = nullptr;
        REQUIRE(qgpu_tensor_create(ctx.ctx, QGPU_DTYPE_INT8, c.batch, d.in_channels, d.in_h, d.in_w,
                                   &d.input_quant, &in) == QGPU_OK);
        REQUIRE(qgpu_tensor_create(ctx.ctx, d.output_dtype, c.batch, d.out_channels, c.out_h(),
                                   c.out_w(), &d.output_quant, &out) == QGPU_OK);
        REQUIRE(qgpu_tensor_write_i8(in, c.input_q.data(), c.input_q.size()) == QGPU_OK);
        REQUIRE(qgpu_conv_run(conv, in, out) == QGPU_OK);
        if (d.output_dtype == QGPU_DTYPE_INT8) {
            std::vector<int8_t> got_q(c.output_count());
            REQUIRE(qgpu_tensor_read_i8(out, got_q.data(), got_q.size()) == QGPU_OK);
            CHECK(got_q == want_q);
        } else {
            std::vector<float> got_f(c.output_count());
            REQUIRE(qgpu_tensor_read_f32(out, got_f.data(), got_f.size()) == QGPU_OK);
            CHECK(got_f == want_f);
        }
        qgpu_tensor_destroy(in);
        qgpu_tensor_destroy(out);
        qgpu_conv_destroy(conv);
    }
}

TEST_CASE("float output of an int8 conv approximates the real-valued conv", "[reference][int8]") {
    // Dequantized output against double math on the dequantized operands: the only error is
    // float rounding of the final multiply-add.
    Context ctx(1);
    std::mt19937 rng(99);
    for (int i = 0; i < 40; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
        c.desc.output_dtype = QGPU_DTYPE_FLOAT32;
        c.desc.activation = QGPU_ACTIVATION_NONE;
        INFO(c.describe());
        cases::Output got;
        REQUIRE(cases::run_case(ctx.ctx, c, &got) == QGPU_OK);
        naive::Quantized q = naive::quantize_weights(c.desc);
        // real-valued conv on dequantized weights and inputs
        qgpu_conv_desc d = c.desc;
        std::vector<float> wf(q.weights.size()), xf(c.input_q.size());
        const size_t per = q.weights.size() / d.out_channels;
        for (size_t k = 0; k < wf.size(); ++k) wf[k] = q.weights[k] * q.scales[k / per];
        for (size_t k = 0; k < xf.size(); ++k)
            xf[k] = (c.input_q[k] - d.input_quant.zero_point) * d.input_quant.scale;
        d.weights = wf.data();
        std::vector<double> want, mag;
        naive::conv_f32(d, c.batch, xf, &want, &mag);
        for (size_t k = 0; k < want.size(); ++k)
            REQUIRE(std::fabs(got.f[k] - want[k]) <= 1e-5 * (mag[k] + 1e-3));
    }
}

TEST_CASE("reference fp32 conv matches double precision within tolerance", "[reference][fp32]") {
    Context c1(1), c2(2);
    std::mt19937 rng(5);
    for (int i = 0; i < 200; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_FLOAT32);
        INFO(c.describe());
        cases::Output got;
        REQUIRE(cases::run_case(i % 2 ? c2.ctx : c1.ctx, c, &got) == QGPU_OK);
        std::vector<double> want, mag;
        naive::conv_f32(c.desc, c.batch, c.input_f, &want, &mag);
        REQUIRE(got.f.size() == want.size());
        for (size_t k = 0; k < want.size(); ++k) {
            // float accumulation error is bounded by ~K * eps * sum|terms|
            INFO("index " << k << " got " << got.f[k] << " want " << want[k]);
            REQUIRE(std::fabs(got.f[k] - want[k]) <= 1e-5 * mag[k] + 1e-6);
        }
    }
}

TEST_CASE("run_host fuses quantize, conv and dequantize", "[reference][int8]") {
    Context ctx(2);
    std::mt19937 rng(11);
    for (int i = 0; i < 60; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
        INFO(c.describe());
        const qgpu_conv_desc& d = c.desc;
        // float input that quantizes to c.input_q exactly (grid points)
        std::vector<float> xf(c.input_q.size());
        for (size_t k = 0; k < xf.size(); ++k)
            xf[k] = (c.input_q[k] - d.input_quant.zero_point) * d.input_quant.scale;
        cases::Output tensors;
        REQUIRE(cases::run_case(ctx.ctx, c, &tensors) == QGPU_OK);
        qgpu_conv conv = nullptr;
        REQUIRE(qgpu_conv_create(ctx.ctx, &d, &conv) == QGPU_OK);
        std::vector<float> host(c.output_count());
        for (int rep = 0; rep < 2; ++rep)  // the second run reuses the scratch tensors
            REQUIRE(qgpu_conv_run_host(conv, c.batch, xf.data(), xf.size(), host.data(), host.size()) == QGPU_OK);
        qgpu_conv_destroy(conv);
        for (size_t k = 0; k < host.size(); ++k) {
            const float want = d.output_dtype == QGPU_DTYPE_INT8
                                   ? d.output_quant.scale * float(tensors.q[k] - d.output_quant.zero_point)
                                   : tensors.f[k];
            REQUIRE(host[k] == want);
        }
    }
}

TEST_CASE("1 and 4 threads give identical bytes on the suite layers", "[reference][suite]") {
    auto rows = cases::load_suite();
    if (rows.empty()) {
        WARN("skipped: ../shared/bench/shapes.tsv not found");
        return;
    }
    Context c1(1), c4(4);
    std::mt19937 rng(3);
    for (const auto& row : rows) {
        if (row.name == "big_3x3" || row.name == "r18_conv1") continue;  // slow in scalar code
        ConvCase c = cases::suite_case(row, rng, QGPU_PRECISION_INT8, QGPU_DTYPE_INT8);
        INFO(c.describe());
        cases::Output a, b;
        REQUIRE(cases::run_case(c1.ctx, c, &a) == QGPU_OK);
        REQUIRE(cases::run_case(c4.ctx, c, &b) == QGPU_OK);
        REQUIRE(a.q == b.q);
    }
}
