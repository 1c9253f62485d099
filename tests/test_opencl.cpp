// The OpenCL backend (PoCL in CI) against the CPU scalar reference: byte-identical int8 output,
// equal float output of int8 convs, fp32 within tolerance; device info; variant selection; the
// program binary cache and its corruption handling. Skips with the reason when no OpenCL device
// is usable, unless QGPU_TEST_STRICT=1 (then a missing OpenCL is a failure).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "conv_cases.h"
#include "naive_conv.h"

using cases::ConvCase;

namespace {

#define OPENCL_REQUIRE_OR_SKIP(ok, why) CASES_BACKEND_OR_SKIP(ok, "OpenCL", why)

qgpu_context cl_context(const char* variant, const char* cache_dir, std::string* why) {
    qgpu_context_desc desc;
    qgpu_context_desc_init(&desc);
    desc.backend = QGPU_BACKEND_OPENCL;
    desc.kernel_variant = variant;
    desc.cache_dir = cache_dir;
    qgpu_context ctx = nullptr;
    if (qgpu_context_create(&desc, &ctx) != QGPU_OK) {
        *why = qgpu_last_error();
        return nullptr;
    }
    return ctx;
}

struct Ctx {
    qgpu_context ctx = nullptr;
    Ctx() = default;
    explicit Ctx(qgpu_context c) : ctx(c) {}
    ~Ctx() { qgpu_context_destroy(ctx); }
    Ctx(const Ctx&) = delete;
    Ctx& operator=(const Ctx&) = delete;
};

// Runs `c` on the OpenCL context and on the scalar reference and requires identical results
// (fp32 precision: within the tolerance of float accumulation against double).
void compare_case(qgpu_context cl, qgpu_context ref, ConvCase& c) {
    INFO(c.describe());
    cases::Output got, want;
    const qgpu_status st = cases::run_case(cl, c, &got);
    INFO("opencl: " << qgpu_status_name(st) << " " << (st ? qgpu_last_error() : ""));
    REQUIRE(st == QGPU_OK);
    if (c.desc.precision == QGPU_PRECISION_FLOAT32) {
        std::vector<double> exact, mag;
        naive::conv_f32(c.desc, c.batch, c.input_f, &exact, &mag);
        REQUIRE(got.f.size() == exact.size());
        size_t bad = 0, first = 0;
        for (size_t k = 0; k < exact.size(); ++k)
            if (!(std::fabs(got.f[k] - exact[k]) <= 1e-5 * mag[k] + 1e-6) && bad++ == 0) first = k;
        INFO("first out of tolerance at " << first << ": got " << (bad ? got.f[first] : 0.0f)
                                          << " want " << (bad ? exact[first] : 0.0));
        REQUIRE(bad == 0);
        return;
    }
    REQUIRE(cases::run_case(ref, c, &want) == QGPU_OK);
    if (c.desc.output_dtype == QGPU_DTYPE_INT8) {
        REQUIRE(got.q.size() == want.q.size());
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < want.q.size(); ++i)
            if (got.q[i] != want.q[i] && bad++ == 0) first = i;
        INFO("int8 mismatches " << bad << ", first at " << first << ": got "
                                << int(bad ? got.q[first] : 0) << " want " << int(bad ? want.q[first] : 0));
        REQUIRE(bad == 0);
    } else {
        REQUIRE(got.f.size() == want.f.size());
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < want.f.size(); ++i)
            if (std::memcmp(&got.f[i], &want.f[i], sizeof(float)) != 0 && bad++ == 0) first = i;
        INFO("float mismatches " << bad << ", first at " << first << ": got "
                                 << (bad ? got.f[first] : 0.0f) << " want " << (bad ? want.f[first] : 0.0f));
        REQUIRE(bad == 0);  // the float output stage is exact too (two roundings, no FMA)
    }
}

// The variants this device can run: "portable" always, plus its default when different.
std::vector<std::string> variants_to_test() {
    std::vector<std::string> v{"portable"};
    qgpu_device_info info;
    qgpu_device_info_init(&info);
    if (qgpu_device_get_info(QGPU_BACKEND_OPENCL, 0, &info) == QGPU_OK &&
        std::strcmp(info.kernel_variant, "portable") != 0)
        v.push_back(info.kernel_variant);
    return v;
}

std::string make_temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/qgpu-cl-cache-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    REQUIRE(mkdtemp(buf.data()) != nullptr);
    return std::string(buf.data());
}

std::vector<std::string> cache_files(const std::string& dir) {
    std::vector<std::string> files;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d)) {
            const std::string name = e->d_name;
            if (name.rfind("qgpu-opencl-", 0) == 0) files.push_back(dir + "/" + name);
        }
        closedir(d);
    }
    return files;
}

std::string read_all(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_all(const std::string& path, const std::string& data) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(data.data(), std::streamsize(data.size()));
}

}  // namespace

TEST_CASE("opencl: devices are listed with consistent info", "[opencl]") {
    int32_t count = 0;
    const qgpu_status st = qgpu_device_count(QGPU_BACKEND_OPENCL, &count);
    OPENCL_REQUIRE_OR_SKIP(st == QGPU_OK, qgpu_last_error());
    REQUIRE(count > 0);
    for (int32_t i = 0; i < count; ++i) {
        qgpu_device_info info;
        qgpu_device_info_init(&info);
        REQUIRE(qgpu_device_get_info(QGPU_BACKEND_OPENCL, i, &info) == QGPU_OK);
        INFO(info.name << " | " << info.detail << " | " << info.kernel_variant);
        CHECK(info.backend == QGPU_BACKEND_OPENCL);
        CHECK(info.index == i);
        CHECK(std::strlen(info.name) > 0);
        CHECK(std::strstr(info.detail, "OpenCL C") != nullptr);
        CHECK((info.caps & QGPU_CAP_INT8_STORAGE) != 0);
        const std::string v = info.kernel_variant;
        CHECK((v == "khr" || v == "arm" || v == "portable"));
        // the default variant uses a dot product exactly when the device has one
        CHECK(((info.caps & QGPU_CAP_INTEGER_DOT) != 0) == (v != "portable"));
        if (info.caps & QGPU_CAP_INTEGER_DOT_ACCELERATED) CHECK((info.caps & QGPU_CAP_INTEGER_DOT) != 0);
        CHECK(info.compute_units > 0);
        CHECK(info.memory_bytes > 0);
        if (std::strstr(info.detail, "PoCL") && std::strstr(info.name, "pthread"))
            CHECK(info.type == QGPU_DEVICE_TYPE_CPU_SOFTWARE);
    }
    qgpu_device_info bad;
    qgpu_device_info_init(&bad);
    CHECK(qgpu_device_get_info(QGPU_BACKEND_OPENCL, count, &bad) != QGPU_OK);
}

TEST_CASE("opencl: kernel variant selection and refusal", "[opencl]") {
    std::string why;
    Ctx def(cl_context(nullptr, nullptr, &why));
    OPENCL_REQUIRE_OR_SKIP(def.ctx != nullptr, why);
    qgpu_device_info info;
    qgpu_device_info_init(&info);
    REQUIRE(qgpu_context_get_device_info(def.ctx, &info) == QGPU_OK);
    CHECK(std::string(qgpu_context_kernel_variant(def.ctx)) == info.kernel_variant);

    Ctx portable(cl_context("portable", nullptr, &why));
    REQUIRE(portable.ctx != nullptr);
    CHECK(std::string(qgpu_context_kernel_variant(portable.ctx)) == "portable");

    const bool khr = std::string(info.detail).find("cl_khr_integer_dot_product") != std::string::npos;
    const bool arm = std::string(info.detail).find("cl_arm_integer_dot_product_int8") != std::string::npos;
    for (const char* v : {"khr", "arm"}) {
        const bool has = std::strcmp(v, "khr") == 0 ? khr : arm;
        qgpu_context c = cl_context(v, nullptr, &why);
        if (has) {
            CHECK(c != nullptr);
            if (c) CHECK(std::string(qgpu_context_kernel_variant(c)) == v);
        } else {
            // never a silent substitute
            CHECK(c == nullptr);
            qgpu_context_desc desc;
            qgpu_context_desc_init(&desc);
            desc.backend = QGPU_BACKEND_OPENCL;
            desc.kernel_variant = v;
            qgpu_context c2 = nullptr;
            CHECK(qgpu_context_create(&desc, &c2) == QGPU_ERROR_UNSUPPORTED);
            CHECK(std::string(qgpu_last_error()).find(v) != std::string::npos);
            qgpu_context_destroy(c2);
        }
        qgpu_context_destroy(c);
    }
    {
        qgpu_context_desc desc;
        qgpu_context_desc_init(&desc);
        desc.backend = QGPU_BACKEND_OPENCL;
        desc.kernel_variant = "avx512vnni";
        qgpu_context c = nullptr;
        CHECK(qgpu_context_create(&desc, &c) == QGPU_ERROR_UNSUPPORTED);
        CHECK(c == nullptr);
    }
    // the environment variable applies when the context names no variant
    const char* old = std::getenv("QGPU_OPENCL_VARIANT");
    const std::string saved = old ? old : "";
    setenv("QGPU_OPENCL_VARIANT", "no-such-variant", 1);
    qgpu_context env_bad = cl_context(nullptr, nullptr, &why);
    setenv("QGPU_OPENCL_VARIANT", "portable", 1);
    qgpu_context env_ok = cl_context(nullptr, nullptr, &why);
    if (old) setenv("QGPU_OPENCL_VARIANT", saved.c_str(), 1); else unsetenv("QGPU_OPENCL_VARIANT");
    CHECK(env_bad == nullptr);
    REQUIRE(env_ok != nullptr);
    CHECK(std::string(qgpu_context_kernel_variant(env_ok)) == "portable");
    qgpu_context_destroy(env_bad);
    qgpu_context_destroy(env_ok);
}

TEST_CASE("opencl: int8 random cases equal the scalar reference byte for byte", "[opencl][int8]") {
    std::string why;
    Ctx ref(cases::make_context(QGPU_BACKEND_CPU, "scalar", 0, &why));
    REQUIRE(ref.ctx != nullptr);
    {
        Ctx probe(cl_context(nullptr, nullptr, &why));
        OPENCL_REQUIRE_OR_SKIP(probe.ctx != nullptr, why);
    }
    for (const std::string& variant : variants_to_test()) {
        Ctx cl(cl_context(variant.c_str(), nullptr, &why));
        REQUIRE(cl.ctx != nullptr);
        INFO("variant " << variant);
        std::mt19937 rng(20261123);
        for (int i = 0; i < 300; ++i) {
            ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
            compare_case(cl.ctx, ref.ctx, c);
        }
    }
}

TEST_CASE("opencl: fp32 random cases within tolerance", "[opencl][fp32]") {
    std::string why;
    Ctx cl(cl_context(nullptr, nullptr, &why));
    OPENCL_REQUIRE_OR_SKIP(cl.ctx != nullptr, why);
    std::mt19937 rng(77);
    for (int i = 0; i < 100; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_FLOAT32);
        compare_case(cl.ctx, nullptr, c);
    }
}

TEST_CASE("opencl: every shapes.tsv layer equals the scalar reference", "[opencl][suite]") {
    const std::vector<cases::SuiteRow> rows = cases::load_suite();
    REQUIRE(!rows.empty());
    std::string why;
    Ctx ref(cases::make_context(QGPU_BACKEND_CPU, "scalar", 0, &why));
    REQUIRE(ref.ctx != nullptr);
    Ctx probe(cl_context(nullptr, nullptr, &why));
    OPENCL_REQUIRE_OR_SKIP(probe.ctx != nullptr, why);
    for (const std::string& variant : variants_to_test()) {
        Ctx cl(cl_context(variant.c_str(), nullptr, &why));
        REQUIRE(cl.ctx != nullptr);
        INFO("variant " << variant);
        std::mt19937 rng(11);
        for (cases::SuiteRow row : rows) {
            // Keep CI affordable (PoCL and the reference on 2 cores, also under ASan): a layer
            // over ~8M MACs keeps its channels, kernel, stride, padding and groups and gets a
            // smaller image (at least 2 output pixels beyond the kernel span each way).
            const double macs = double(row.cout) * (row.cin / row.groups) * row.kh * row.kw *
                                (double(row.h) / row.stride) * (double(row.w) / row.stride);
            if (macs > 8e6) {
                const double f = std::sqrt(8e6 / macs);
                row.h = std::max(int(row.h * f), row.kh + 2 * row.stride);
                row.w = std::max(int(row.w * f), row.kw + 2 * row.stride);
            }
            for (qgpu_dtype out : {QGPU_DTYPE_INT8, QGPU_DTYPE_FLOAT32}) {
                ConvCase c = cases::suite_case(row, rng, QGPU_PRECISION_INT8, out);
                compare_case(cl.ctx, ref.ctx, c);
            }
        }
    }
    // fp32 precision on the same layers (default variant), smaller still
    std::mt19937 rng(12);
    for (cases::SuiteRow row : rows) {
        const double macs = double(row.cout) * (row.cin / row.groups) * row.kh * row.kw *
                            (double(row.h) / row.stride) * (double(row.w) / row.stride);
        if (macs > 2e6) {
            const double f = std::sqrt(2e6 / macs);
            row.h = std::max(int(row.h * f), row.kh + 2 * row.stride);
            row.w = std::max(int(row.w * f), row.kw + 2 * row.stride);
        }
        ConvCase c = cases::suite_case(row, rng, QGPU_PRECISION_FLOAT32, QGPU_DTYPE_FLOAT32);
        compare_case(probe.ctx, nullptr, c);
    }
}

TEST_CASE("opencl: batch and a reused conv give the same bytes", "[opencl][int8]") {
    std::string why;
    Ctx ref(cases::make_context(QGPU_BACKEND_CPU, "scalar", 0, &why));
    REQUIRE(ref.ctx != nullptr);
    Ctx cl(cl_context(nullptr, nullptr, &why));
    OPENCL_REQUIRE_OR_SKIP(cl.ctx != nullptr, why);
    std::mt19937 rng(3);
    for (int i = 0; i < 10; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
        c.batch = 3;
        const size_t count = size_t(c.batch) * c.desc.in_channels * c.desc.in_h * c.desc.in_w;
        c.input_q.resize(count);
        for (int8_t& x : c.input_q) x = int8_t(std::uniform_int_distribution<int>(-128, 127)(rng));
        compare_case(cl.ctx, ref.ctx, c);
    }
}

TEST_CASE("opencl: program binary cache is used, and a corrupt entry is rebuilt", "[opencl][cache]") {
    std::string why;
    {
        Ctx probe(cl_context(nullptr, nullptr, &why));
        OPENCL_REQUIRE_OR_SKIP(probe.ctx != nullptr, why);
    }
    Ctx ref(cases::make_context(QGPU_BACKEND_CPU, "scalar", 0, &why));
    REQUIRE(ref.ctx != nullptr);
    const std::string dir = make_temp_dir();
    std::mt19937 rng(9);
    ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);

    auto run_with_cache = [&]() {
        Ctx cl(cl_context(nullptr, dir.c_str(), &why));
        INFO(why);
        REQUIRE(cl.ctx != nullptr);
        compare_case(cl.ctx, ref.ctx, c);
    };

    run_with_cache();  // miss: builds from source, writes the entry
    std::vector<std::string> files = cache_files(dir);
    REQUIRE(files.size() == 1);
    const std::string path = files[0];
    const std::string good = read_all(path);
    REQUIRE(good.size() > 40);
    CHECK(good.compare(0, 8, "QGPUCLB1") == 0);

    struct stat st1, st2;
    REQUIRE(stat(path.c_str(), &st1) == 0);
    run_with_cache();  // hit: the file is read, not rewritten (same inode; writes go via rename)
    REQUIRE(stat(path.c_str(), &st2) == 0);
    CHECK(st1.st_ino == st2.st_ino);
    CHECK(read_all(path) == good);

    SECTION("garbage") { write_all(path, std::string(good.size(), '\x5a')); }
    SECTION("truncated") { write_all(path, good.substr(0, good.size() / 2)); }
    SECTION("payload byte flipped (checksum)") {
        std::string bad = good;
        bad[bad.size() - 7] = char(bad[bad.size() - 7] ^ 0x40);
        write_all(path, bad);
    }
    SECTION("header only") { write_all(path, good.substr(0, 8)); }
    SECTION("empty") { write_all(path, ""); }
    SECTION("stale key (another device or driver)") {
        std::string bad = good;
        const size_t at = bad.find("driver=");
        REQUIRE(at != std::string::npos);
        bad[at + 7] = char(bad[at + 7] ^ 0x01);
        write_all(path, bad);
    }

    run_with_cache();  // rejected entry: rebuilt from source and rewritten, never a crash
    files = cache_files(dir);
    REQUIRE(files.size() == 1);
    CHECK(read_all(path).compare(0, 8, "QGPUCLB1") == 0);
    struct stat st3;
    REQUIRE(stat(path.c_str(), &st3) == 0);
    run_with_cache();  // and the rewritten entry is a hit again
    struct stat st4;
    REQUIRE(stat(path.c_str(), &st4) == 0);
    CHECK(st3.st_ino == st4.st_ino);

    std::remove(path.c_str());
    rmdir(dir.c_str());
}

TEST_CASE("opencl: an unwritable cache directory only costs the cache", "[opencl][cache]") {
    std::string why;
    Ctx cl(cl_context(nullptr, "/nonexistent/qgpu/cache", &why));
    OPENCL_REQUIRE_OR_SKIP(cl.ctx != nullptr, why);
    Ctx ref(cases::make_context(QGPU_BACKEND_CPU, "scalar", 0, &why));
    REQUIRE(ref.ctx != nullptr);
    std::mt19937 rng(10);
    ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
    compare_case(cl.ctx, ref.ctx, c);
}

TEST_CASE("opencl: an impossible allocation is OUT_OF_MEMORY with the reason", "[opencl]") {
    std::string why;
    Ctx cl(cl_context(nullptr, nullptr, &why));
    OPENCL_REQUIRE_OR_SKIP(cl.ctx != nullptr, why);
    qgpu_tensor t = nullptr;
    // 2^46 bytes: far above any device's largest allocation
    const qgpu_status st = qgpu_tensor_create(cl.ctx, QGPU_DTYPE_FLOAT32, 1, 4096, 65536, 65536, nullptr, &t);
    CHECK(st == QGPU_ERROR_OUT_OF_MEMORY);
    CHECK(t == nullptr);
    CHECK(std::string(qgpu_last_error()).find("opencl") != std::string::npos);
    qgpu_tensor_destroy(t);
}

namespace {

// Runs an int8 conv described by `d` (weights given as weights_int8) on `ctx`.
qgpu_status run_desc(qgpu_context ctx, const qgpu_conv_desc& d, int n, const std::vector<int8_t>& in,
                     std::vector<int8_t>* out_q, std::vector<float>* out_f) {
    qgpu_conv conv = nullptr;
    qgpu_status st = qgpu_conv_create(ctx, &d, &conv);
    if (st != QGPU_OK) return st;
    int32_t shape[3];
    qgpu_conv_get_output_shape(conv, shape);
    qgpu_tensor ti = nullptr, to = nullptr;
    st = qgpu_tensor_create(ctx, QGPU_DTYPE_INT8, n, d.in_channels, d.in_h, d.in_w, &d.input_quant, &ti);
    if (st == QGPU_OK)
        st = qgpu_tensor_create(ctx, d.output_dtype, n, shape[0], shape[1], shape[2], &d.output_quant, &to);
    if (st == QGPU_OK) st = qgpu_tensor_write_i8(ti, in.data(), in.size());
    if (st == QGPU_OK) st = qgpu_conv_run(conv, ti, to);
    const size_t count = size_t(n) * shape[0] * shape[1] * shape[2];
    if (st == QGPU_OK && d.output_dtype == QGPU_DTYPE_INT8) {
        out_q->resize(count);
        st = qgpu_tensor_read_i8(to, out_q->data(), count);
    } else if (st == QGPU_OK) {
        out_f->resize(count);
        st = qgpu_tensor_read_f32(to, out_f->data(), count);
    }
    qgpu_tensor_destroy(ti);
    qgpu_tensor_destroy(to);
    qgpu_conv_destroy(conv);
    return st;
}

}  // namespace

TEST_CASE("opencl: requantize rounding ties and shifts equal the reference", "[opencl][int8]") {
    // Power-of-two multipliers 2^-c (m0 = 2^30, shift = 1 - c): every odd accumulator is a tie
    // of the Q31 product (ties toward +inf) and most hit ties of the power-of-two division
    // (ties away from zero); c = 0 takes the saturating left shift. Pre-quantized weights make
    // the multipliers exact.
    std::string why;
    Ctx ref(cases::make_context(QGPU_BACKEND_CPU, "scalar", 0, &why));
    REQUIRE(ref.ctx != nullptr);
    Ctx cl(cl_context(nullptr, nullptr, &why));
    OPENCL_REQUIRE_OR_SKIP(cl.ctx != nullptr, why);
    std::mt19937 rng(42);
    for (int act : {int(QGPU_ACTIVATION_NONE), int(QGPU_ACTIVATION_LEAKY_RELU)}) {
        for (int cin : {1, 5, 16}) {
            qgpu_conv_desc d;
            qgpu_conv_desc_init(&d);
            d.in_channels = cin; d.out_channels = 12; d.in_h = 9; d.in_w = 11;
            d.kernel_h = d.kernel_w = 3; d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
            std::vector<int8_t> w(size_t(d.out_channels) * cin * 9);
            for (int8_t& v : w) v = int8_t(std::uniform_int_distribution<int>(-127, 127)(rng));
            std::vector<float> scales(size_t(d.out_channels));
            for (int c = 0; c < d.out_channels; ++c) scales[size_t(c)] = std::ldexp(1.0f, -c);
            std::vector<float> bias(size_t(d.out_channels), 0.0f);
            for (int c = 0; c < d.out_channels; ++c) bias[size_t(c)] = std::ldexp(float(c % 3) - 1.0f, -c);
            d.weights_int8 = w.data();
            d.weight_scales = scales.data();
            d.bias = bias.data();
            d.input_quant = {1.0f, 7};
            d.output_quant = {1.0f, -3};
            d.output_dtype = QGPU_DTYPE_INT8;
            d.activation = qgpu_activation(act);
            d.leaky_slope = 0.25f;
            std::vector<int8_t> in(size_t(2) * cin * d.in_h * d.in_w);
            for (int8_t& v : in) v = int8_t(std::uniform_int_distribution<int>(-128, 127)(rng));
            std::vector<int8_t> got, want;
            std::vector<float> unused;
            INFO("cin " << cin << " act " << act);
            REQUIRE(run_desc(ref.ctx, d, 2, in, &want, &unused) == QGPU_OK);
            const qgpu_status st = run_desc(cl.ctx, d, 2, in, &got, &unused);
            INFO(qgpu_last_error());
            REQUIRE(st == QGPU_OK);
            REQUIRE(got.size() == want.size());
            size_t bad = 0;
            for (size_t i = 0; i < got.size(); ++i) bad += got[i] != want[i];
            REQUIRE(bad == 0);
        }
    }
}

// Hidden: run by the CTest `opencl_no_platform_unavailable` (src/opencl/CMakeLists.txt) with
// OCL_ICD_VENDORS pointing at an empty place, where the ICD loader finds no platform.
TEST_CASE("opencl: no platform is UNAVAILABLE with the reason", "[.][opencl-noplatform]") {
    int32_t count = -1;
    CHECK(qgpu_device_count(QGPU_BACKEND_OPENCL, &count) == QGPU_ERROR_UNAVAILABLE);
    CHECK(count == 0);
    const std::string msg = qgpu_last_error();
    INFO(msg);
    CHECK(msg.find("opencl") != std::string::npos);
    std::string why;
    qgpu_context ctx = cl_context(nullptr, nullptr, &why);
    CHECK(ctx == nullptr);
    CHECK(why.find("opencl") != std::string::npos);
    qgpu_context_destroy(ctx);
}
