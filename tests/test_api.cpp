// The C API's contract: versions, devices, status codes and messages on misuse.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "conv_cases.h"

namespace {

// Checks the status and that a message was recorded for it.
#define REQUIRE_FAILS(expr, status)                             \
    do {                                                        \
        const qgpu_status st_ = (expr);                         \
        INFO("message: " << qgpu_last_error());                 \
        REQUIRE(st_ == (status));                               \
        REQUIRE(std::strlen(qgpu_last_error()) > 0);            \
    } while (0)

struct Cpu {
    qgpu_context ctx = nullptr;
    Cpu() {
        qgpu_context_desc d;
        qgpu_context_desc_init(&d);
        d.backend = QGPU_BACKEND_CPU;
        d.num_threads = 1;
        REQUIRE(qgpu_context_create(&d, &ctx) == QGPU_OK);
    }
    ~Cpu() { qgpu_context_destroy(ctx); }
};

qgpu_conv_desc small_desc(std::vector<float>& w) {
    qgpu_conv_desc d;
    qgpu_conv_desc_init(&d);
    d.in_channels = 3; d.out_channels = 4; d.in_h = 5; d.in_w = 5;
    d.kernel_h = d.kernel_w = 3; d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
    w.assign(4 * 3 * 9, 0.25f);
    d.weights = w.data();
    d.input_quant = {0.1f, 0};
    d.output_quant = {0.2f, 0};
    d.output_dtype = QGPU_DTYPE_INT8;
    return d;
}

}  // namespace

TEST_CASE("version and status names", "[api]") {
    CHECK(qgpu_version() == QGPU_VERSION);
    CHECK(std::string(qgpu_version_string()) == "0.1.0");
    CHECK(std::string(qgpu_status_name(QGPU_OK)) == "QGPU_OK");
    CHECK(std::string(qgpu_status_name(QGPU_ERROR_FORMAT)) == "QGPU_ERROR_FORMAT");
    CHECK(std::string(qgpu_status_name(qgpu_status(999))) == "?");
}

TEST_CASE("the CPU device is always listed", "[api]") {
    int32_t n = -1;
    REQUIRE(qgpu_device_count(QGPU_BACKEND_CPU, &n) == QGPU_OK);
    REQUIRE(n == 1);
    qgpu_device_info info;
    qgpu_device_info_init(&info);
    REQUIRE(qgpu_device_get_info(QGPU_BACKEND_CPU, 0, &info) == QGPU_OK);
    CHECK(info.backend == QGPU_BACKEND_CPU);
    CHECK(info.type == QGPU_DEVICE_TYPE_CPU);
    CHECK(std::strlen(info.name) > 0);
    CHECK(std::strlen(info.kernel_variant) > 0);
    REQUIRE_FAILS(qgpu_device_get_info(QGPU_BACKEND_CPU, 1, &info), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_device_count(QGPU_BACKEND_AUTO, &n), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_device_count(qgpu_backend(42), &n), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_device_count(QGPU_BACKEND_CPU, nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_device_get_info(QGPU_BACKEND_CPU, 0, nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    // an older, smaller struct is filled only up to its size
    struct {
        qgpu_device_info head;
        char canary[8];
    } small;
    std::memset(&small, 0x5a, sizeof small);
    small.head.struct_size = offsetof(qgpu_device_info, detail);
    REQUIRE(qgpu_device_get_info(QGPU_BACKEND_CPU, 0, &small.head) == QGPU_OK);
    CHECK(small.head.struct_size == offsetof(qgpu_device_info, detail));
    CHECK(static_cast<unsigned char>(small.head.detail[0]) == 0x5a);
}

TEST_CASE("GPU backends report availability with a reason", "[api]") {
    for (qgpu_backend b : {QGPU_BACKEND_VULKAN, QGPU_BACKEND_OPENCL}) {
        int32_t n = -1;
        const qgpu_status st = qgpu_device_count(b, &n);
        if (st == QGPU_OK) {
            CHECK(n > 0);
        } else {
            CHECK(st == QGPU_ERROR_UNAVAILABLE);
            CHECK(n == 0);
            CHECK(std::strlen(qgpu_last_error()) > 0);
            WARN("backend " << int(b) << " unavailable: " << qgpu_last_error());
        }
    }
}

TEST_CASE("context creation: defaults, auto, bad arguments", "[api]") {
    qgpu_context ctx = nullptr;
    REQUIRE(qgpu_context_create(nullptr, &ctx) == QGPU_OK);  // NULL desc = defaults (auto)
    qgpu_device_info info;
    qgpu_device_info_init(&info);
    REQUIRE(qgpu_context_get_device_info(ctx, &info) == QGPU_OK);
    // auto never picks a software GPU over the native CPU
    CHECK(info.type != QGPU_DEVICE_TYPE_CPU_SOFTWARE);
    CHECK(std::strlen(qgpu_context_kernel_variant(ctx)) > 0);
    CHECK(qgpu_context_set_num_threads(ctx, 2) == QGPU_OK);
    REQUIRE_FAILS(qgpu_context_set_num_threads(ctx, -1), QGPU_ERROR_INVALID_ARGUMENT);
    qgpu_context_destroy(ctx);
    qgpu_context_destroy(nullptr);  // no-op

    REQUIRE_FAILS(qgpu_context_create(nullptr, nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    qgpu_context_desc d;
    qgpu_context_desc_init(&d);
    d.struct_size = 3;
    REQUIRE_FAILS(qgpu_context_create(&d, &ctx), QGPU_ERROR_INVALID_ARGUMENT);
    CHECK(ctx == nullptr);
    qgpu_context_desc_init(&d);
    d.num_threads = -2;
    REQUIRE_FAILS(qgpu_context_create(&d, &ctx), QGPU_ERROR_INVALID_ARGUMENT);
    qgpu_context_desc_init(&d);
    d.backend = qgpu_backend(17);
    REQUIRE_FAILS(qgpu_context_create(&d, &ctx), QGPU_ERROR_INVALID_ARGUMENT);
    qgpu_context_desc_init(&d);
    d.backend = QGPU_BACKEND_CPU;
    d.device_index = 3;
    REQUIRE_FAILS(qgpu_context_create(&d, &ctx), QGPU_ERROR_INVALID_ARGUMENT);
    qgpu_context_desc_init(&d);
    d.backend = QGPU_BACKEND_CPU;
    d.kernel_variant = "no-such-isa";
    REQUIRE_FAILS(qgpu_context_create(&d, &ctx), QGPU_ERROR_UNSUPPORTED);
    d.kernel_variant = "scalar";
    REQUIRE(qgpu_context_create(&d, &ctx) == QGPU_OK);
    CHECK(std::string(qgpu_context_kernel_variant(ctx)) == "scalar");
    qgpu_context_destroy(ctx);
    REQUIRE_FAILS(qgpu_context_get_device_info(nullptr, &info), QGPU_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("tensor misuse returns errors", "[api]") {
    Cpu cpu;
    qgpu_tensor t = nullptr;
    const qgpu_quant q{0.5f, 1};
    REQUIRE_FAILS(qgpu_tensor_create(nullptr, QGPU_DTYPE_FLOAT32, 1, 1, 1, 1, nullptr, &t),
                  QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_FLOAT32, 1, 1, 1, 1, nullptr, nullptr),
                  QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_FLOAT32, 0, 1, 1, 1, nullptr, &t),
                  QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_FLOAT32, 1, -3, 1, 1, nullptr, &t),
                  QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_create(cpu.ctx, qgpu_dtype(9), 1, 1, 1, 1, nullptr, &t),
                  QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_INT8, 1, 1, 1, 1, nullptr, &t),
                  QGPU_ERROR_INVALID_ARGUMENT);
    const qgpu_quant bad_scale{-1.0f, 0}, bad_zp{1.0f, 128};
    REQUIRE_FAILS(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_INT8, 1, 1, 1, 1, &bad_scale, &t),
                  QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_INT8, 1, 1, 1, 1, &bad_zp, &t),
                  QGPU_ERROR_INVALID_ARGUMENT);
    // byte size overflows size_t
    REQUIRE_FAILS(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_FLOAT32, 0x7fffffff, 0x7fffffff,
                                     0x7fffffff, 0x7fffffff, nullptr, &t),
                  QGPU_ERROR_INVALID_ARGUMENT);
    CHECK(t == nullptr);

    REQUIRE(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_INT8, 2, 3, 4, 5, &q, &t) == QGPU_OK);
    int32_t shape[4];
    REQUIRE(qgpu_tensor_get_shape(t, shape) == QGPU_OK);
    CHECK((shape[0] == 2 && shape[1] == 3 && shape[2] == 4 && shape[3] == 5));
    size_t count = 0;
    REQUIRE(qgpu_tensor_get_count(t, &count) == QGPU_OK);
    CHECK(count == 120);
    qgpu_quant got{};
    REQUIRE(qgpu_tensor_get_quant(t, &got) == QGPU_OK);
    CHECK((got.scale == 0.5f && got.zero_point == 1));
    // initial contents are the zero point (real 0)
    std::vector<float> f(120, 9.0f);
    REQUIRE(qgpu_tensor_read_f32(t, f.data(), f.size()) == QGPU_OK);
    CHECK(f == std::vector<float>(120, 0.0f));
    REQUIRE_FAILS(qgpu_tensor_write_f32(t, f.data(), 119), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_write_f32(t, nullptr, 120), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_read_f32(t, f.data(), 121), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_get_shape(nullptr, shape), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_get_shape(t, nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    // int8 round trip through the device layout
    std::vector<int8_t> raw(120), back(120);
    for (size_t i = 0; i < raw.size(); ++i) raw[i] = int8_t(i * 37);
    REQUIRE(qgpu_tensor_write_i8(t, raw.data(), raw.size()) == QGPU_OK);
    REQUIRE(qgpu_tensor_read_i8(t, back.data(), back.size()) == QGPU_OK);
    CHECK(raw == back);
    // fused quantize on write, dequantize on read
    for (size_t i = 0; i < f.size(); ++i) f[i] = 0.5f * float(int(i % 200) - 100);
    REQUIRE(qgpu_tensor_write_f32(t, f.data(), f.size()) == QGPU_OK);
    std::vector<float> f2(120);
    REQUIRE(qgpu_tensor_read_f32(t, f2.data(), f2.size()) == QGPU_OK);
    for (size_t i = 0; i < f.size(); ++i)
        CHECK(f2[i] == std::min(63.0f, std::max(-64.5f, f[i])));  // saturates at (127-1)*0.5, (-128-1)*0.5
    qgpu_tensor_destroy(t);

    qgpu_tensor ft = nullptr;
    REQUIRE(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_FLOAT32, 1, 2, 2, 2, nullptr, &ft) == QGPU_OK);
    REQUIRE_FAILS(qgpu_tensor_write_i8(ft, raw.data(), 8), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_tensor_get_quant(ft, &got), QGPU_ERROR_INVALID_ARGUMENT);
    qgpu_tensor_destroy(ft);
    qgpu_tensor_destroy(nullptr);
}

TEST_CASE("allocation failure is OUT_OF_MEMORY, not a crash", "[api]") {
    Cpu cpu;
    qgpu_tensor t = nullptr;
    // 2^46 bytes: a valid shape no machine here can hold
    const qgpu_status st = qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_INT8, 1024, 1024, 1024, 64,
                                              nullptr, &t);
    CHECK(st == QGPU_ERROR_INVALID_ARGUMENT);  // int8 without quant is checked first
    const qgpu_quant q{1.0f, 0};
    REQUIRE_FAILS(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_INT8, 1024, 1024, 1024, 64, &q, &t),
                  QGPU_ERROR_OUT_OF_MEMORY);
    CHECK(t == nullptr);
}

TEST_CASE("conv creation validates its description", "[api]") {
    Cpu cpu;
    std::vector<float> w;
    qgpu_conv conv = nullptr;
    qgpu_conv_desc d = small_desc(w);
    REQUIRE(qgpu_conv_create(cpu.ctx, &d, &conv) == QGPU_OK);
    int32_t out_shape[3];
    REQUIRE(qgpu_conv_get_output_shape(conv, out_shape) == QGPU_OK);
    CHECK((out_shape[0] == 4 && out_shape[1] == 5 && out_shape[2] == 5));
    qgpu_conv_destroy(conv);
    qgpu_conv_destroy(nullptr);

    REQUIRE_FAILS(qgpu_conv_create(nullptr, &d, &conv), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_create(cpu.ctx, nullptr, &conv), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_create(cpu.ctx, &d, nullptr), QGPU_ERROR_INVALID_ARGUMENT);

    struct Mutation { const char* what; void (*apply)(qgpu_conv_desc&); qgpu_status want; };
    const Mutation mutations[] = {
        {"struct_size", [](qgpu_conv_desc& x) { x.struct_size = 8; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"zero channels", [](qgpu_conv_desc& x) { x.in_channels = 0; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"negative h", [](qgpu_conv_desc& x) { x.in_h = -5; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"huge w", [](qgpu_conv_desc& x) { x.in_w = 0x7fffffff; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"zero stride", [](qgpu_conv_desc& x) { x.stride_h = 0; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"zero dilation", [](qgpu_conv_desc& x) { x.dilation_w = 0; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"negative pad", [](qgpu_conv_desc& x) { x.pad_left = -1; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"groups", [](qgpu_conv_desc& x) { x.groups = 2; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"kernel too big", [](qgpu_conv_desc& x) { x.kernel_h = 9; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"no weights", [](qgpu_conv_desc& x) { x.weights = nullptr; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"int8 weights without scales",
         [](qgpu_conv_desc& x) { static int8_t q[108]; x.weights = nullptr; x.weights_int8 = q; },
         QGPU_ERROR_INVALID_ARGUMENT},
        {"both weights", [](qgpu_conv_desc& x) { static int8_t q[108]; x.weights_int8 = q; },
         QGPU_ERROR_INVALID_ARGUMENT},
        {"input scale", [](qgpu_conv_desc& x) { x.input_quant.scale = 0.0f; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"input scale nan", [](qgpu_conv_desc& x) { x.input_quant.scale = NAN; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"output zp", [](qgpu_conv_desc& x) { x.output_quant.zero_point = -129; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"activation", [](qgpu_conv_desc& x) { x.activation = qgpu_activation(99); }, QGPU_ERROR_INVALID_ARGUMENT},
        {"clamp order",
         [](qgpu_conv_desc& x) { x.activation = QGPU_ACTIVATION_CLAMP; x.activation_min = 2; x.activation_max = 1; },
         QGPU_ERROR_INVALID_ARGUMENT},
        {"leaky slope",
         [](qgpu_conv_desc& x) { x.activation = QGPU_ACTIVATION_LEAKY_RELU; x.leaky_slope = -0.1f; },
         QGPU_ERROR_INVALID_ARGUMENT},
        {"precision", [](qgpu_conv_desc& x) { x.precision = qgpu_precision(5); }, QGPU_ERROR_INVALID_ARGUMENT},
        {"output dtype", [](qgpu_conv_desc& x) { x.output_dtype = qgpu_dtype(5); }, QGPU_ERROR_INVALID_ARGUMENT},
        {"multiplier", [](qgpu_conv_desc& x) { x.output_quant.scale = 1e-30f; }, QGPU_ERROR_INVALID_ARGUMENT},
        {"reduction", [](qgpu_conv_desc& x) { x.in_channels = 40000; x.kernel_h = 1; x.kernel_w = 1; },
         QGPU_ERROR_UNSUPPORTED},
    };
    for (const Mutation& m : mutations) {
        INFO(m.what);
        std::vector<float> w2;
        qgpu_conv_desc bad = small_desc(w2);
        m.apply(bad);
        std::vector<float> big;
        if (bad.in_channels == 40000 && bad.weights) {
            big.assign(size_t(4) * 40000, 0.1f);
            bad.weights = big.data();
        }
        conv = nullptr;
        REQUIRE_FAILS(qgpu_conv_create(cpu.ctx, &bad, &conv), m.want);
        CHECK(conv == nullptr);
    }
    // non-finite weights and bias, -128 in pre-quantized weights
    std::vector<float> w3;
    qgpu_conv_desc bad = small_desc(w3);
    w3[7] = INFINITY;
    REQUIRE_FAILS(qgpu_conv_create(cpu.ctx, &bad, &conv), QGPU_ERROR_INVALID_ARGUMENT);
    w3[7] = 0.0f;
    std::vector<float> bias(4, NAN);
    bad.bias = bias.data();
    REQUIRE_FAILS(qgpu_conv_create(cpu.ctx, &bad, &conv), QGPU_ERROR_INVALID_ARGUMENT);
    bad.bias = nullptr;
    std::vector<int8_t> q(108, 1);
    std::vector<float> scales(4, 0.1f);
    q[5] = -128;
    bad.weights = nullptr;
    bad.weights_int8 = q.data();
    bad.weight_scales = scales.data();
    REQUIRE_FAILS(qgpu_conv_create(cpu.ctx, &bad, &conv), QGPU_ERROR_INVALID_ARGUMENT);
    q[5] = -127;
    scales[2] = 0.0f;
    REQUIRE_FAILS(qgpu_conv_create(cpu.ctx, &bad, &conv), QGPU_ERROR_INVALID_ARGUMENT);
    scales[2] = 0.1f;
    REQUIRE(qgpu_conv_create(cpu.ctx, &bad, &conv) == QGPU_OK);
    qgpu_conv_destroy(conv);
    bad.precision = QGPU_PRECISION_FLOAT32;
    REQUIRE_FAILS(qgpu_conv_create(cpu.ctx, &bad, &conv), QGPU_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("conv run checks tensors", "[api]") {
    Cpu cpu, other;
    std::vector<float> w;
    qgpu_conv_desc d = small_desc(w);
    qgpu_conv conv = nullptr;
    REQUIRE(qgpu_conv_create(cpu.ctx, &d, &conv) == QGPU_OK);
    qgpu_tensor in = nullptr, out = nullptr, fin = nullptr, wrong = nullptr, foreign = nullptr,
                badq = nullptr;
    REQUIRE(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_INT8, 1, 3, 5, 5, &d.input_quant, &in) == QGPU_OK);
    REQUIRE(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_INT8, 1, 4, 5, 5, &d.output_quant, &out) == QGPU_OK);
    REQUIRE(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_FLOAT32, 1, 3, 5, 5, nullptr, &fin) == QGPU_OK);
    REQUIRE(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_INT8, 1, 4, 4, 5, &d.output_quant, &wrong) == QGPU_OK);
    REQUIRE(qgpu_tensor_create(other.ctx, QGPU_DTYPE_INT8, 1, 3, 5, 5, &d.input_quant, &foreign) == QGPU_OK);
    const qgpu_quant q2{0.3f, 0};
    REQUIRE(qgpu_tensor_create(cpu.ctx, QGPU_DTYPE_INT8, 1, 3, 5, 5, &q2, &badq) == QGPU_OK);

    REQUIRE(qgpu_conv_run(conv, in, out) == QGPU_OK);
    REQUIRE_FAILS(qgpu_conv_run(nullptr, in, out), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run(conv, nullptr, out), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run(conv, in, nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run(conv, fin, out), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run(conv, in, wrong), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run(conv, foreign, out), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run(conv, badq, out), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run(conv, in, in), QGPU_ERROR_INVALID_ARGUMENT);

    std::vector<float> x(75), y(100);
    REQUIRE(qgpu_conv_run_host(conv, 1, x.data(), x.size(), y.data(), y.size()) == QGPU_OK);
    REQUIRE_FAILS(qgpu_conv_run_host(conv, 0, x.data(), x.size(), y.data(), y.size()), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run_host(conv, 1, x.data(), 74, y.data(), y.size()), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run_host(conv, 2, x.data(), x.size(), y.data(), y.size()), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run_host(conv, 1, nullptr, 75, y.data(), y.size()), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_conv_run_host(conv, 0x7fffffff, x.data(), x.size(), y.data(), y.size()),
                  QGPU_ERROR_INVALID_ARGUMENT);
    float scales[4];
    REQUIRE(qgpu_conv_get_weight_scales(conv, scales, 4) == QGPU_OK);
    CHECK(scales[0] == 0.25f / 127.0f);
    REQUIRE_FAILS(qgpu_conv_get_weight_scales(conv, scales, 3), QGPU_ERROR_INVALID_ARGUMENT);

    // a context destroyed before its children leaves them usable until they are destroyed
    qgpu_context_destroy(other.ctx);
    other.ctx = nullptr;
    int8_t raw[75] = {0};
    CHECK(qgpu_tensor_write_i8(foreign, raw, 75) == QGPU_OK);

    for (qgpu_tensor t : {in, out, fin, wrong, foreign, badq}) qgpu_tensor_destroy(t);
    qgpu_conv_destroy(conv);
}
