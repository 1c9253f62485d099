// The Vulkan backend against the CPU scalar reference: byte-identical int8 output, exactly equal
// float output of int8 convs, fp32 convs within tolerance, for both shader variants ("dot":
// OpSDot, "nodot": unpacked int32 multiply-add), plus device info, variant selection, errors and
// the pipeline cache. The Khronos validation layer is switched on (QGPU_VULKAN_VALIDATION=1)
// when it is installed: any validation message fails the next qgpu call, so every test also
// checks that the layer stayed silent. Without Vulkan the tests skip with the reason, except
// under QGPU_TEST_STRICT=1 (CI: lavapipe must be there).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include "conv_cases.h"
#include "naive_conv.h"

using cases::ConvCase;

namespace {

struct Ctx {
    qgpu_context ctx = nullptr;
    std::string why;
    Ctx(const char* variant, const char* cache_dir = nullptr) {
        cases::enable_vulkan_validation();
        qgpu_context_desc desc;
        qgpu_context_desc_init(&desc);
        desc.backend = QGPU_BACKEND_VULKAN;
        desc.kernel_variant = variant;
        desc.cache_dir = cache_dir;
        if (qgpu_context_create(&desc, &ctx) != QGPU_OK) {
            why = qgpu_last_error();
            ctx = nullptr;
        }
    }
    ~Ctx() { qgpu_context_destroy(ctx); }
    // A cheap call that fails if the validation layer reported anything since the last check.
    void require_clean() const {
        qgpu_quant q{1.0f, 0};
        qgpu_tensor t = nullptr;
        const qgpu_status st = qgpu_tensor_create(ctx, QGPU_DTYPE_INT8, 1, 4, 2, 2, &q, &t);
        INFO(qgpu_last_error());
        REQUIRE(st == QGPU_OK);
        qgpu_tensor_destroy(t);
    }
};

// Vulkan there with a device? Otherwise the reason; strict mode turns a skip into a failure.
#define VULKAN_OR_SKIP(c) CASES_BACKEND_OR_SKIP((c).ctx, "Vulkan", (c).why)

struct Reference {
    qgpu_context ctx;
    Reference() {
        std::string why;
        // one thread: the reference needs no speed here, and it keeps the CPU free for lavapipe
        ctx = cases::make_context(QGPU_BACKEND_CPU, "scalar", 1, &why);
        REQUIRE(ctx != nullptr);
    }
    ~Reference() { qgpu_context_destroy(ctx); }
};

bool device_has_dot() {
    cases::enable_vulkan_validation();
    qgpu_device_info info;
    qgpu_device_info_init(&info);
    if (qgpu_device_get_info(QGPU_BACKEND_VULKAN, 0, &info) != QGPU_OK) return false;
    return (info.caps & QGPU_CAP_INTEGER_DOT) != 0;
}

// got == want, exactly (int8 bytes; float bit patterns)
void require_identical(const ConvCase& c, const cases::Output& got, const cases::Output& want) {
    INFO(c.describe());
    if (c.desc.output_dtype == QGPU_DTYPE_INT8) {
        REQUIRE(got.q.size() == want.q.size());
        size_t mismatches = 0, first = 0;
        for (size_t i = 0; i < want.q.size(); ++i)
            if (got.q[i] != want.q[i] && mismatches++ == 0) first = i;
        INFO("first mismatch at " << first << ": got " << int(got.q[first]) << " want " << int(want.q[first]));
        REQUIRE(mismatches == 0);
    } else {
        REQUIRE(got.f.size() == want.f.size());
        size_t mismatches = 0, first = 0;
        for (size_t i = 0; i < want.f.size(); ++i)
            if (std::memcmp(&got.f[i], &want.f[i], sizeof(float)) != 0 && mismatches++ == 0) first = i;
        INFO("first mismatch at " << first << ": got " << got.f[first] << " want " << want.f[first]);
        REQUIRE(mismatches == 0);
    }
}

void run_ok(qgpu_context ctx, ConvCase& c, cases::Output* out) {
    const qgpu_status st = cases::run_case(ctx, c, out);
    INFO(c.describe() << ": " << qgpu_last_error());
    REQUIRE(st == QGPU_OK);
}

// The int8 random-case comparison for one variant.
void random_int8(const char* variant, uint32_t seed, int count) {
    Ctx vk(variant);
    VULKAN_OR_SKIP(vk);
    REQUIRE(std::string(qgpu_context_kernel_variant(vk.ctx)) == variant);
    Reference ref;
    std::mt19937 rng(seed);
    int int8_out = 0, float_out = 0, depthwise = 0, grouped = 0;
    for (int i = 0; i < count; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
        (c.desc.output_dtype == QGPU_DTYPE_INT8 ? int8_out : float_out)++;
        depthwise += c.desc.groups == c.desc.in_channels && c.desc.groups > 1;
        grouped += c.desc.groups > 1 && c.desc.groups != c.desc.in_channels;
        cases::Output want, got;
        run_ok(ref.ctx, c, &want);
        run_ok(vk.ctx, c, &got);
        require_identical(c, got, want);
    }
    CHECK(int8_out > count / 4);
    CHECK(float_out > count / 8);
    CHECK(depthwise > count / 20);
    CHECK(grouped > count / 20);
    vk.require_clean();
}

// Sets an environment variable for the scope (kernel-path overrides read at conv creation).
struct ScopedEnv {
    const char* name;
    ScopedEnv(const char* n, const char* value) : name(n) { setenv(n, value, 1); }
    ~ScopedEnv() { unsetenv(name); }
};

// Whether the "lanes" path (subgroups of exactly 8 with broadcast) can run on device 0: where
// it cannot, QGPU_VULKAN_LANES=1 leaves the dense path in place and the lanes tests say so.
bool device_has_lanes_path() {
    qgpu_device_info info;
    qgpu_device_info_init(&info);
    return qgpu_device_get_info(QGPU_BACKEND_VULKAN, 0, &info) == QGPU_OK && info.subgroup_size == 8;
}

// The layer suite; big rows are cropped spatially on software devices (CPU-speed Vulkan).
// `tiled`: force the shared-memory tiled path on ("1") or off ("0"), or leave the default.
void suite(const char* variant, qgpu_dtype output_dtype, const char* tiled = nullptr) {
    if (tiled) setenv("QGPU_VULKAN_TILED", tiled, 1);
    struct Unset { ~Unset() { unsetenv("QGPU_VULKAN_TILED"); } } unset;
    Ctx vk(variant);
    VULKAN_OR_SKIP(vk);
    qgpu_device_info info;
    qgpu_device_info_init(&info);
    REQUIRE(qgpu_context_get_device_info(vk.ctx, &info) == QGPU_OK);
    const bool software = info.type == QGPU_DEVICE_TYPE_CPU_SOFTWARE;
    Reference ref;
    const std::vector<cases::SuiteRow> rows = cases::load_suite();
    if (rows.empty()) {
        WARN("skipped: shapes.tsv not found under " QGPU_SHARED_DIR "/bench");
        return;
    }
    std::mt19937 rng(7);
    for (cases::SuiteRow row : rows) {
        // big_3x3 (1.85 GMAC) at 56x56 takes too long on lavapipe + the scalar reference: run
        // the same layer on a 20x20 crop there (every other parameter unchanged)
        const int64_t macs = int64_t(row.cout) * (row.h / row.stride) * (row.w / row.stride) *
                             (row.cin / row.groups) * row.kh * row.kw;
        if (software && macs > int64_t(400) * 1000 * 1000) {
            WARN("software device: " << row.name << " runs spatially cropped to 20x20");
            row.h = row.w = 20;
        }
        ConvCase c = cases::suite_case(row, rng, QGPU_PRECISION_INT8, output_dtype);
        cases::Output want, got;
        run_ok(ref.ctx, c, &want);
        run_ok(vk.ctx, c, &got);
        require_identical(c, got, want);
    }
    vk.require_clean();
}

// A random case made wide (groups 1, 32..80 input and 32..72 output channels) so it takes
// the shared-memory tiled path, with partial channel blocks and every other parameter random.
// `aligned_groups`: instead, 2..4 groups of 4..16 input and 8 or 16 output channels each (the
// grouping the dense and lanes paths take).
ConvCase wide_case(std::mt19937& rng, bool aligned_groups = false) {
    ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
    qgpu_conv_desc& d = c.desc;
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    d.groups = 1;
    d.in_channels = uniform(32, 80);
    d.out_channels = uniform(32, 72);
    if (aligned_groups) {
        d.groups = uniform(2, 4);
        d.in_channels = d.groups * 4 * uniform(1, 4);
        d.out_channels = d.groups * 8 * uniform(1, 2);
    }
    if (d.kernel_h * d.kernel_w > 9) d.kernel_h = d.kernel_w = 3;  // keep lavapipe fast
    const int span_h = d.dilation_h * (d.kernel_h - 1) + 1, span_w = d.dilation_w * (d.kernel_w - 1) + 1;
    d.in_h = std::max(d.in_h, std::max(1, span_h - d.pad_top - d.pad_bottom));
    d.in_w = std::max(d.in_w, std::max(1, span_w - d.pad_left - d.pad_right));
    const int reduction = d.in_channels / d.groups * d.kernel_h * d.kernel_w;
    d.output_quant.scale = d.input_quant.scale * 0.5f * std::sqrt(float(reduction));
    std::uniform_real_distribution<float> wdist(-1.0f, 1.0f);
    c.weights.resize(size_t(d.out_channels) * reduction);
    for (float& w : c.weights) w = wdist(rng);
    c.bias.resize(size_t(d.out_channels));
    for (float& b : c.bias) b = wdist(rng);
    c.input_q.resize(size_t(c.batch) * d.in_channels * d.in_h * d.in_w);
    for (int8_t& x : c.input_q) x = int8_t(uniform(-128, 127));
    c.label = "wide";
    c.bind();
    return c;
}

// `tiled` "1": the tiled path, also on software devices; "0": the dense or lanes path, with
// every third case in aligned groups.
void random_wide(const char* variant, uint32_t seed, int count, const char* tiled = "1") {
    setenv("QGPU_VULKAN_TILED", tiled, 1);
    struct Unset { ~Unset() { unsetenv("QGPU_VULKAN_TILED"); } } unset;
    Ctx vk(variant);
    VULKAN_OR_SKIP(vk);
    Reference ref;
    std::mt19937 rng(seed);
    for (int i = 0; i < count; ++i) {
        ConvCase c = wide_case(rng, std::strcmp(tiled, "0") == 0 && i % 3 == 2);
        cases::Output want, got;
        run_ok(ref.ctx, c, &want);
        run_ok(vk.ctx, c, &got);
        require_identical(c, got, want);
    }
    vk.require_clean();
}

}  // namespace

TEST_CASE("vulkan: device info", "[vulkan]") {
    cases::enable_vulkan_validation();
    int32_t count = 0;
    const qgpu_status st = qgpu_device_count(QGPU_BACKEND_VULKAN, &count);
    if (st != QGPU_OK) {
        REQUIRE(st == QGPU_ERROR_UNAVAILABLE);
        REQUIRE(count == 0);
        if (cases::strict_backends()) FAIL("Vulkan required (QGPU_TEST_STRICT=1): " << qgpu_last_error());
        WARN("skipped: Vulkan unavailable: " << qgpu_last_error());
        return;
    }
    REQUIRE(count >= 1);
    for (int32_t i = 0; i < count; ++i) {
        qgpu_device_info info;
        qgpu_device_info_init(&info);
        REQUIRE(qgpu_device_get_info(QGPU_BACKEND_VULKAN, i, &info) == QGPU_OK);
        INFO(info.name << " / " << info.detail);
        CHECK(info.backend == QGPU_BACKEND_VULKAN);
        CHECK(info.index == i);
        CHECK(std::strlen(info.name) > 0);
        CHECK(std::string(info.detail).find("Vulkan 1.") == 0);
        const std::string v = info.kernel_variant;
        CHECK((v == "dot" || v == "nodot"));
        // default: "dot" exactly when the packed 4x8 dot product is present and accelerated
        CHECK((v == "dot") == ((info.caps & QGPU_CAP_INTEGER_DOT_ACCELERATED) != 0));
        if (info.caps & QGPU_CAP_INTEGER_DOT_ACCELERATED) CHECK((info.caps & QGPU_CAP_INTEGER_DOT) != 0);
        CHECK(info.subgroup_size > 0);
        CHECK(info.shared_memory_bytes >= 16384);
        CHECK(info.memory_bytes > 0);
        if (std::string(info.name).find("llvmpipe") != std::string::npos) {
            // lavapipe: a CPU device with the feature but not "accelerated"
            CHECK(info.type == QGPU_DEVICE_TYPE_CPU_SOFTWARE);
            CHECK((info.caps & QGPU_CAP_INTEGER_DOT) != 0);
            CHECK(v == "nodot");
        }
    }
    qgpu_device_info info;
    qgpu_device_info_init(&info);
    CHECK(qgpu_device_get_info(QGPU_BACKEND_VULKAN, count, &info) != QGPU_OK);
}

TEST_CASE("vulkan: variant selection and errors", "[vulkan]") {
    {
        Ctx def(nullptr);
        VULKAN_OR_SKIP(def);
        qgpu_device_info info;
        qgpu_device_info_init(&info);
        REQUIRE(qgpu_context_get_device_info(def.ctx, &info) == QGPU_OK);
        // the device's default, unless QGPU_VULKAN_VARIANT (CI runs with it set) overrides it
        const char* env = std::getenv("QGPU_VULKAN_VARIANT");
        const std::string want = env && *env && std::strcmp(env, "auto") != 0 ? env : info.kernel_variant;
        CHECK(std::string(qgpu_context_kernel_variant(def.ctx)) == want);
        def.require_clean();
    }
    {
        Ctx nodot("nodot");
        REQUIRE(nodot.ctx != nullptr);
        CHECK(std::string(qgpu_context_kernel_variant(nodot.ctx)) == "nodot");
    }
    {
        Ctx dot("dot");
        if (device_has_dot()) {
            INFO(dot.why);
            REQUIRE(dot.ctx != nullptr);
            CHECK(std::string(qgpu_context_kernel_variant(dot.ctx)) == "dot");
        } else {
            // forcing a variant the device cannot run is an error, never a substitute
            REQUIRE(dot.ctx == nullptr);
            CHECK(dot.why.find("shaderIntegerDotProduct") != std::string::npos);
        }
    }
    {
        qgpu_context_desc desc;
        qgpu_context_desc_init(&desc);
        desc.backend = QGPU_BACKEND_VULKAN;
        desc.kernel_variant = "avx512vnni";
        qgpu_context ctx = nullptr;
        CHECK(qgpu_context_create(&desc, &ctx) == QGPU_ERROR_UNSUPPORTED);
        CHECK(ctx == nullptr);
        CHECK(std::string(qgpu_last_error()).find("avx512vnni") != std::string::npos);
        desc.kernel_variant = nullptr;
        desc.device_index = 99;
        CHECK(qgpu_context_create(&desc, &ctx) == QGPU_ERROR_INVALID_ARGUMENT);
        CHECK(ctx == nullptr);
    }
    {
        // the environment variable when the desc does not say
        setenv("QGPU_VULKAN_VARIANT", "bogus", 1);
        Ctx bad(nullptr);
        CHECK(bad.ctx == nullptr);
        CHECK(bad.why.find("bogus") != std::string::npos);
        setenv("QGPU_VULKAN_VARIANT", "nodot", 1);
        Ctx env(nullptr);
        REQUIRE(env.ctx != nullptr);
        CHECK(std::string(qgpu_context_kernel_variant(env.ctx)) == "nodot");
        unsetenv("QGPU_VULKAN_VARIANT");
    }
    {
        // a QGPU_VULKAN_LIBRARY that does not exist falls back to the system loader
        setenv("QGPU_VULKAN_LIBRARY", "/nonexistent/libvulkan.so", 1);
        Ctx fallback("nodot");
        unsetenv("QGPU_VULKAN_LIBRARY");
        INFO(fallback.why);
        CHECK(fallback.ctx != nullptr);
    }
}

TEST_CASE("vulkan: a validation message fails the next call", "[vulkan]") {
    {
        Ctx probe("nodot");
        VULKAN_OR_SKIP(probe);
    }
    const char* v = std::getenv("QGPU_VULKAN_VALIDATION");
    if (!v || std::strcmp(v, "1") != 0) {
        WARN("skipped: the Khronos validation layer is not installed");
        return;
    }
    // the hook makes one invalid call during context creation; the layer reports it and the
    // creation (which checks before returning) fails with QGPU_ERROR_DEVICE and the text
    setenv("QGPU_VULKAN_TEST_HOOK", "invalid-usage", 1);
    qgpu_context_desc desc;
    qgpu_context_desc_init(&desc);
    desc.backend = QGPU_BACKEND_VULKAN;
    qgpu_context ctx = nullptr;
    const qgpu_status st = qgpu_context_create(&desc, &ctx);
    const std::string msg = qgpu_last_error();
    unsetenv("QGPU_VULKAN_TEST_HOOK");
    qgpu_context_destroy(ctx);
    INFO(msg);
    CHECK(st == QGPU_ERROR_DEVICE);
    CHECK(ctx == nullptr);
    CHECK(msg.find("validation") != std::string::npos);
    CHECK(msg.find("sType") != std::string::npos);
}

TEST_CASE("vulkan dot: int8 random cases identical to the CPU reference", "[vulkan][int8]") {
    if (!device_has_dot()) {
        Ctx probe("dot");
        VULKAN_OR_SKIP(probe);
        WARN("skipped: the device has no shaderIntegerDotProduct");
        return;
    }
    random_int8("dot", 4242, 200);
}

TEST_CASE("vulkan nodot: int8 random cases identical to the CPU reference", "[vulkan][int8]") {
    random_int8("nodot", 4243, 200);
}

// groups == 1 and aligned groups run the "lanes" path by default on lavapipe and the dense one
// on GPUs: force each on every device, both variants (random shapes: odd channel counts and
// pixel tails, partial 8-channel blocks, strides, dilation, padding, batches).
TEST_CASE("vulkan: dense and lanes paths, int8 random cases identical to the CPU reference", "[vulkan][int8]") {
    if (!device_has_lanes_path()) WARN("the device's subgroups are not 8 wide: QGPU_VULKAN_LANES=1 runs the dense path");
    const bool dot = device_has_dot();
    {
        ScopedEnv lanes("QGPU_VULKAN_LANES", "1");
        random_int8("nodot", 5151, 120);
        random_wide("nodot", 5152, 24, "0");  // many 8-channel blocks, partial last block
        if (dot) random_int8("dot", 5153, 120);
        if (dot) random_wide("dot", 5154, 24, "0");
    }
    {
        ScopedEnv lanes("QGPU_VULKAN_LANES", "0");
        random_int8("nodot", 5155, 120);
        random_wide("nodot", 5156, 24, "0");
        if (dot) random_int8("dot", 5157, 120);
        if (dot) random_wide("dot", 5158, 24, "0");
    }
}

TEST_CASE("vulkan: a tensor beyond the storage buffer range is refused", "[vulkan]") {
    Ctx vk("nodot");
    VULKAN_OR_SKIP(vk);
    // 8 GiB of floats: above every device's maxStorageBufferRange (a uint32), so the backend
    // must refuse it before allocating anything
    qgpu_tensor t = nullptr;
    const qgpu_status st = qgpu_tensor_create(vk.ctx, QGPU_DTYPE_FLOAT32, 1, 1, 65536, 32768, nullptr, &t);
    const std::string msg = qgpu_last_error();
    INFO(msg);
    CHECK(st == QGPU_ERROR_UNSUPPORTED);
    CHECK(t == nullptr);
    CHECK(msg.find("storage buffer range") != std::string::npos);
    qgpu_tensor_destroy(t);
    vk.require_clean();
}

TEST_CASE("vulkan: staging-buffer transfers (the discrete-GPU path) on any device", "[vulkan][int8]") {
    // lavapipe's device memory is host-visible and would be mapped directly; force the
    // staging buffers + copy commands that discrete GPUs use
    setenv("QGPU_VULKAN_STAGING", "1", 1);
    {
        Ctx vk("nodot");
        unsetenv("QGPU_VULKAN_STAGING");
        VULKAN_OR_SKIP(vk);
        Reference ref;
        std::mt19937 rng(31337);
        for (int i = 0; i < 20; ++i) {
            ConvCase c = i % 2 ? wide_case(rng) : cases::random_case(rng, QGPU_PRECISION_INT8);
            cases::Output want, got;
            run_ok(ref.ctx, c, &want);
            run_ok(vk.ctx, c, &got);
            require_identical(c, got, want);
        }
        // fp32 through staging too
        ConvCase f = cases::random_case(rng, QGPU_PRECISION_FLOAT32);
        cases::Output want, got;
        run_ok(ref.ctx, f, &want);
        run_ok(vk.ctx, f, &got);
        REQUIRE(got.f.size() == want.f.size());
        for (size_t k = 0; k < want.f.size(); ++k)
            REQUIRE(std::fabs(got.f[k] - want.f[k]) <= 1e-4f * (1.0f + std::fabs(want.f[k])));
        vk.require_clean();
    }
    unsetenv("QGPU_VULKAN_STAGING");
}

TEST_CASE("vulkan: wide random layers (tiled path) identical to the CPU reference", "[vulkan][int8]") {
    random_wide("nodot", 777, 30);
    if (device_has_dot()) random_wide("dot", 778, 30);
}

TEST_CASE("vulkan dot: layer suite identical to the CPU reference", "[vulkan][suite]") {
    if (!device_has_dot()) {
        Ctx probe("dot");
        VULKAN_OR_SKIP(probe);
        WARN("skipped: the device has no shaderIntegerDotProduct");
        return;
    }
    suite("dot", QGPU_DTYPE_INT8, "1");
    suite("dot", QGPU_DTYPE_INT8, "0");
}

TEST_CASE("vulkan nodot: layer suite identical to the CPU reference", "[vulkan][suite]") {
    suite("nodot", QGPU_DTYPE_INT8, "1");
    suite("nodot", QGPU_DTYPE_INT8, "0");
}

TEST_CASE("vulkan: layer suite with float output identical to the CPU reference", "[vulkan][suite]") {
    suite(nullptr, QGPU_DTYPE_FLOAT32);
}

namespace {

// fp32 result within 1e-5 * sum|terms| + 1e-6 of a double-precision result.
void require_f32_close(const ConvCase& c, const cases::Output& got) {
    std::vector<double> want, magnitude;
    naive::conv_f32(c.desc, c.batch, c.input_f, &want, &magnitude);
    REQUIRE(got.f.size() == want.size());
    INFO(c.describe());
    size_t bad = 0, first = 0;
    for (size_t k = 0; k < want.size(); ++k) {
        const double tol = 1e-5 * magnitude[k] + 1e-6;
        if (!(std::fabs(double(got.f[k]) - want[k]) <= tol) && bad++ == 0) first = k;
    }
    INFO("first out of tolerance at " << first << ": got " << got.f[first] << " want " << want[first]);
    REQUIRE(bad == 0);
}

// A random fp32 case made wider for the register-tiled path: 9..40 output channels per group
// (partial 8-channel blocks), 1..3 groups, kernels up to 3x3 (with random stride, dilation and
// padding), a few pixel tails, activation `act`, batch 1 or 2. `pointwise`: a 1x1 kernel with
// no top/left padding (the shader's branch without bounds checks where no tap falls outside;
// bottom/right padding still random, so some layers read past the input and may not take it).
// `row3`: kernel width 3 with horizontal stride and dilation 1 (the shader's row path).
ConvCase f32_wide_case(std::mt19937& rng, int act, bool pointwise = false, bool row3 = false) {
    ConvCase c = cases::random_case(rng, QGPU_PRECISION_FLOAT32);
    qgpu_conv_desc& d = c.desc;
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    d.groups = uniform(1, 3);
    d.in_channels = d.groups * uniform(1, 12);
    d.out_channels = d.groups * uniform(9, 40);
    if (d.kernel_h * d.kernel_w > 9) d.kernel_h = d.kernel_w = 3;
    if (row3) {
        d.kernel_w = 3;
        d.stride_w = d.dilation_w = 1;
    }
    if (pointwise) {
        d.kernel_h = d.kernel_w = 1;
        d.pad_top = d.pad_left = 0;
        d.pad_bottom = uniform(0, 2) == 0 ? uniform(1, 3) : 0;
        d.pad_right = uniform(0, 2) == 0 ? uniform(1, 3) : 0;
    }
    const int span_h = d.dilation_h * (d.kernel_h - 1) + 1, span_w = d.dilation_w * (d.kernel_w - 1) + 1;
    d.in_h = std::max(1, span_h - d.pad_top - d.pad_bottom) + uniform(0, 12);
    d.in_w = std::max(1, span_w - d.pad_left - d.pad_right) + uniform(0, 12);
    d.activation = qgpu_activation(act);
    c.batch = uniform(1, 2);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    c.weights.resize(size_t(d.out_channels) * (d.in_channels / d.groups) * d.kernel_h * d.kernel_w);
    for (float& w : c.weights) w = dist(rng);
    c.bias.resize(size_t(d.out_channels));
    for (float& b : c.bias) b = dist(rng);
    c.input_f.resize(size_t(c.batch) * d.in_channels * d.in_h * d.in_w);
    for (float& x : c.input_f) x = 2.0f * dist(rng);
    c.label = "f32-wide";
    c.bind();
    return c;
}

}  // namespace

TEST_CASE("vulkan: fp32 convs within tolerance of the exact result", "[vulkan][fp32]") {
    Ctx vk(nullptr);
    VULKAN_OR_SKIP(vk);
    std::mt19937 rng(99);
    for (int i = 0; i < 60; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_FLOAT32);
        cases::Output got;
        run_ok(vk.ctx, c, &got);
        require_f32_close(c, got);
    }
    vk.require_clean();
}

// The register-tiled fp32 shader in both forms (QGPU_VULKAN_LANES=1: subgroup broadcasts where
// subgroups are 8 wide, 8 or 16 pixels per lane by layer; QGPU_VULKAN_F32=lp16: always 16; =0: vec4 weight loads per invocation, the GPU path, which sends
// depthwise-like layers to the one-output shader) and the one-output shader itself
// (QGPU_VULKAN_F32=naive): random cases (every grouping incl. depthwise, kernel, stride,
// dilation, padding, 1x1 inputs) and wider layers with partial blocks, every activation,
// batches of 1 and 2, kernels of width 3 with horizontal stride and dilation 1 (the row path),
// 1x1 kernels without top/left padding; a layer with an inf weight (one-output shader: NaN/inf as the reference).
TEST_CASE("vulkan: fp32 tiled, lanes and one-output shaders within tolerance", "[vulkan][fp32]") {
    const char* modes[][2] = {{"QGPU_VULKAN_LANES", "1"}, {"QGPU_VULKAN_F32", "lp16"}, {"QGPU_VULKAN_LANES", "0"},
                              {"QGPU_VULKAN_F32", "naive"}};
    Reference ref;
    uint32_t seed = 1700;
    for (auto& m : modes) {
        ScopedEnv env(m[0], m[1]);
        Ctx vk(nullptr);
        VULKAN_OR_SKIP(vk);
        std::mt19937 rng(seed++);
        const int n_random = std::strcmp(m[1], "naive") == 0 ? 10 : 40;
        for (int i = 0; i < n_random; ++i) {
            ConvCase c = cases::random_case(rng, QGPU_PRECISION_FLOAT32);
            cases::Output got;
            run_ok(vk.ctx, c, &got);
            require_f32_close(c, got);
        }
        for (int i = 0; i < 16; ++i) {
            ConvCase c = f32_wide_case(rng, i % 5, i >= 10, i >= 5 && i < 10);
            cases::Output got;
            run_ok(vk.ctx, c, &got);
            require_f32_close(c, got);
        }
        // an inf weight: bit-compared with the CPU reference where it is finite, NaN where NaN
        ConvCase c = f32_wide_case(rng, 0);
        c.weights[c.weights.size() / 2] = std::numeric_limits<float>::infinity();
        cases::Output want, got;
        run_ok(ref.ctx, c, &want);
        run_ok(vk.ctx, c, &got);
        REQUIRE(got.f.size() == want.f.size());
        for (size_t k = 0; k < want.f.size(); ++k) {
            INFO(c.describe() << " at " << k << ": got " << got.f[k] << " want " << want.f[k]);
            REQUIRE(std::isnan(got.f[k]) == std::isnan(want.f[k]));
            REQUIRE(std::isinf(got.f[k]) == std::isinf(want.f[k]));
            if (std::isfinite(want.f[k]))
                REQUIRE(std::fabs(got.f[k] - want.f[k]) <= 1e-4f * (1.0f + std::fabs(want.f[k])));
        }
        vk.require_clean();
    }
}

TEST_CASE("vulkan: pipeline cache persisted in cache_dir", "[vulkan]") {
    char dir[] = "/tmp/qgpu-vk-cache-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    std::string file;
    for (int round = 0; round < 2; ++round) {
        Ctx vk("nodot", dir);
        VULKAN_OR_SKIP(vk);
        std::mt19937 rng(5);
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
        cases::Output got;
        run_ok(vk.ctx, c, &got);
        vk.require_clean();
        // one cache file for this device + driver, not empty
        std::string ls = std::string("ls ") + dir + "/qgpu-vulkan-*.bin > " + dir + ".list 2>/dev/null";
        REQUIRE(std::system(ls.c_str()) == 0);
        std::ifstream list(std::string(dir) + ".list");
        std::string name;
        REQUIRE(std::getline(list, name));
        if (round == 0) file = name;
        CHECK(name == file);
        // at least the header (lavapipe caches nothing beyond it): size, version, vendor, device
        std::ifstream f(name, std::ios::binary);
        uint32_t header[4] = {0, 0, 0, 0};
        f.read(reinterpret_cast<char*>(header), sizeof header);
        CHECK(f.good());
        CHECK(header[0] >= 32);
        CHECK(header[1] == 1);  // VK_PIPELINE_CACHE_HEADER_VERSION_ONE
    }
    std::system((std::string("rm -rf ") + dir + " " + dir + ".list").c_str());
}
