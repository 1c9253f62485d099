// qgpu-bench: the command-line benchmark of qgpu. Everything goes through the public C API
// (include/qgpu.h), exactly as a user would call it.
//
//   qgpu-bench devices                       every backend and device, or why it is unavailable
//   qgpu-bench conv [options]                time the conv layer suite (int8 and/or fp32)
//   qgpu-bench quant [options]               fused host quantize/dequantize pass vs memcpy
//
// The table goes to stdout; progress goes to stderr only when stderr is a terminal and --quiet
// is not given. Bad arguments exit with 2, runtime failures (unavailable backend, ...) with 1.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cerrno>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "qgpu.h"
#include "bench_util.h"

namespace qb = qgpu_bench;

namespace {

// ---- errors --------------------------------------------------------------------------------
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct RunError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string fmt(const char* f, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

// Throws RunError with the library's message when a qgpu call fails.
void check(qgpu_status st, const char* what) {
    if (st != QGPU_OK)
        throw RunError(fmt("%s failed: %s: %s", what, qgpu_status_name(st), qgpu_last_error()));
}

// ---- RAII over the C handles ----------------------------------------------------------------
struct Context {
    qgpu_context h = nullptr;
    Context() = default;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    ~Context() { qgpu_context_destroy(h); }
};
struct Tensor {
    qgpu_tensor h = nullptr;
    Tensor() = default;
    Tensor(Tensor&& o) noexcept : h(o.h) { o.h = nullptr; }
    Tensor(const Tensor&) = delete;
    Tensor& operator=(const Tensor&) = delete;
    ~Tensor() { qgpu_tensor_destroy(h); }
};
struct Conv {
    qgpu_conv h = nullptr;
    Conv() = default;
    Conv(const Conv&) = delete;
    Conv& operator=(const Conv&) = delete;
    ~Conv() { qgpu_conv_destroy(h); }
};

// ---- options -------------------------------------------------------------------------------
struct Args {
    std::vector<std::string> v;
    size_t i = 0;
    bool more() const { return i < v.size(); }
    const std::string& next_value(const std::string& opt) {
        if (i >= v.size()) throw UsageError(opt + " needs a value");
        return v[i++];
    }
};

long parse_int(const std::string& s, const std::string& opt, long lo, long hi) {
    char* end = nullptr;
    errno = 0;
    const long x = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end || errno || x < lo || x > hi)
        throw UsageError(fmt("%s: '%s' is not an integer in [%ld, %ld]", opt.c_str(), s.c_str(), lo, hi));
    return x;
}

double parse_double(const std::string& s, const std::string& opt, double lo) {
    char* end = nullptr;
    const double x = std::strtod(s.c_str(), &end);
    if (s.empty() || *end || !std::isfinite(x) || x < lo)
        throw UsageError(fmt("%s: '%s' is not a number >= %g", opt.c_str(), s.c_str(), lo));
    return x;
}

qgpu_backend parse_backend(const std::string& s) {
    if (s == "auto") return QGPU_BACKEND_AUTO;
    if (s == "cpu") return QGPU_BACKEND_CPU;
    if (s == "vulkan") return QGPU_BACKEND_VULKAN;
    if (s == "opencl") return QGPU_BACKEND_OPENCL;
    throw UsageError("--backend: '" + s + "' is not one of auto, cpu, vulkan, opencl");
}

const char* backend_name(qgpu_backend b) {
    switch (b) {
        case QGPU_BACKEND_AUTO: return "auto";
        case QGPU_BACKEND_CPU: return "cpu";
        case QGPU_BACKEND_VULKAN: return "vulkan";
        case QGPU_BACKEND_OPENCL: return "opencl";
        default: break;
    }
    return "?";
}

const char* device_type_name(qgpu_device_type t) {
    switch (t) {
        case QGPU_DEVICE_TYPE_OTHER: return "other";
        case QGPU_DEVICE_TYPE_DISCRETE_GPU: return "discrete-gpu";
        case QGPU_DEVICE_TYPE_INTEGRATED_GPU: return "integrated-gpu";
        case QGPU_DEVICE_TYPE_VIRTUAL_GPU: return "virtual-gpu";
        case QGPU_DEVICE_TYPE_CPU: return "cpu";
        case QGPU_DEVICE_TYPE_CPU_SOFTWARE: return "cpu-software";
        default: break;
    }
    return "?";
}

std::string caps_string(uint32_t caps) {
    std::string s;
    auto add = [&](uint32_t bit, const char* name) {
        if (caps & bit) s += std::string(s.empty() ? "" : ",") + name;
    };
    add(QGPU_CAP_INTEGER_DOT, "dot");
    add(QGPU_CAP_INTEGER_DOT_ACCELERATED, "dot-accel");
    add(QGPU_CAP_INT8_STORAGE, "int8-storage");
    add(QGPU_CAP_FP16, "fp16");
    return s.empty() ? "-" : s;
}

bool g_progress = false;  // stderr is a terminal and not --quiet
FILE* g_out = stdout;     // the table; stderr when --json - takes stdout

void progress(const std::string& line) {
    if (!g_progress) return;
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
}
void progress_done() {
    if (!g_progress) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
}

void set_progress(bool quiet) { g_progress = !quiet && isatty(STDERR_FILENO); }

// ---- devices ---------------------------------------------------------------------------------
std::string device_json(const qgpu_device_info& d) {
    qb::JsonWriter j;
    j.begin_object();
    j.key("backend").str(backend_name(d.backend));
    j.key("index").num(d.index);
    j.key("name").str(d.name);
    j.key("type").str(device_type_name(d.type));
    j.key("caps").str(caps_string(d.caps));
    j.key("detail").str(d.detail);
    j.key("kernel_variant").str(d.kernel_variant);
    j.key("compute_units").num(d.compute_units);
    j.key("subgroup_size").num(d.subgroup_size);
    j.key("shared_memory_bytes").num(double(d.shared_memory_bytes));
    j.key("memory_bytes").num(double(d.memory_bytes));
    j.end_object();
    return j.str();
}

int cmd_devices(Args& a) {
    std::string json_path;
    while (a.more()) {
        const std::string opt = a.v[a.i++];
        if (opt == "--json") { json_path = a.next_value(opt); if (json_path == "-") g_out = stderr; }
        else if (opt == "--quiet") {
        } else throw UsageError("devices: unknown option '" + opt + "'");
    }
    const qgpu_backend backends[] = {QGPU_BACKEND_CPU, QGPU_BACKEND_VULKAN, QGPU_BACKEND_OPENCL};
    std::fprintf(g_out, "qgpu %s\n", qgpu_version_string());
    qb::JsonWriter j;
    j.begin_object();
    j.key("version").str(qgpu_version_string());
    j.key("backends").begin_array();
    for (qgpu_backend b : backends) {
        int32_t count = 0;
        const qgpu_status st = qgpu_device_count(b, &count);
        j.begin_object();
        j.key("backend").str(backend_name(b));
        if (st != QGPU_OK) {
            const std::string why = qgpu_last_error();
            std::fprintf(g_out, "\n%-7s unavailable (%s): %s\n", backend_name(b), qgpu_status_name(st), why.c_str());
            j.key("available").boolean(false);
            j.key("status").str(qgpu_status_name(st));
            j.key("reason").str(why);
            j.end_object();
            continue;
        }
        std::fprintf(g_out, "\n%-7s %d device%s\n", backend_name(b), count, count == 1 ? "" : "s");
        j.key("available").boolean(true);
        j.key("devices").begin_array();
        for (int32_t i = 0; i < count; ++i) {
            qgpu_device_info info;
            qgpu_device_info_init(&info);
            const qgpu_status s2 = qgpu_device_get_info(b, i, &info);
            if (s2 != QGPU_OK) {
                std::fprintf(g_out, "  [%d] cannot read info: %s: %s\n", i, qgpu_status_name(s2), qgpu_last_error());
                continue;
            }
            std::fprintf(g_out, "  [%d] %s\n", i, info.name);
            std::fprintf(g_out, "      type            %s\n", device_type_name(info.type));
            std::fprintf(g_out, "      caps            %s\n", caps_string(info.caps).c_str());
            std::fprintf(g_out, "      kernel variant  %s\n", info.kernel_variant);
            std::fprintf(g_out, "      detail          %s\n", info.detail);
            if (info.compute_units) std::fprintf(g_out, "      compute units   %d\n", info.compute_units);
            if (info.subgroup_size) std::fprintf(g_out, "      subgroup size   %u\n", info.subgroup_size);
            if (info.shared_memory_bytes)
                std::fprintf(g_out, "      shared memory   %llu KiB\n", (unsigned long long)(info.shared_memory_bytes >> 10));
            if (info.memory_bytes)
                std::fprintf(g_out, "      memory          %llu MiB\n", (unsigned long long)(info.memory_bytes >> 20));
            j.raw(device_json(info));
        }
        j.end_array();
        j.end_object();
    }
    j.end_array();
    j.end_object();
    if (!json_path.empty()) qb::write_text(json_path, j.str() + "\n");
    return 0;
}

// ---- context -----------------------------------------------------------------------------------
void open_context(qgpu_backend backend, const std::string& variant, int threads, Context* ctx) {
    if (backend != QGPU_BACKEND_AUTO) {
        int32_t count = 0;
        const qgpu_status st = qgpu_device_count(backend, &count);
        if (st != QGPU_OK)
            throw RunError(fmt("backend %s is unavailable: %s", backend_name(backend), qgpu_last_error()));
    }
    qgpu_context_desc desc;
    qgpu_context_desc_init(&desc);
    desc.backend = backend;
    desc.num_threads = threads;
    desc.kernel_variant = variant.empty() ? nullptr : variant.c_str();
    const qgpu_status st = qgpu_context_create(&desc, &ctx->h);
    if (st != QGPU_OK)
        throw RunError(fmt("cannot create a %s context%s%s: %s: %s", backend_name(backend),
                           variant.empty() ? "" : " with variant ", variant.c_str(),
                           qgpu_status_name(st), qgpu_last_error()));
}

// ---- the conv benchmark --------------------------------------------------------------------------
struct ConvOptions {
    std::vector<qgpu_backend> backends{QGPU_BACKEND_AUTO};
    std::string shapes, variant, json_path, plot_path, only;
    int threads = 0, warmup = 2, repeat = 10, batch = 1;
    bool int8 = true, fp32 = false, check = false, quiet = false;
    double peak_gops = 0;  // 0 = default for the device (CPU: from the ISA), or unknown
    uint32_t seed = 1;
};

// The weights, bias and input of one layer, shared by the int8 and fp32 runs (the fp32 run
// sees exactly the dequantized int8 data, so the two compute the same function).
struct LayerData {
    qb::Layer layer;
    int oh = 0, ow = 0;
    std::vector<int8_t> w_q;
    std::vector<float> w_scales, w_f, bias, x_f;
    std::vector<int8_t> x_q;
    qgpu_quant in_q{}, out_q{};
    double macs = 0;
    size_t in_count = 0, out_count = 0;
};

LayerData make_layer_data(const qb::Layer& L, int batch, std::mt19937& rng) {
    LayerData d;
    d.layer = L;
    d.oh = (L.h + 2 * L.pad - L.kh) / L.stride + 1;
    d.ow = (L.w + 2 * L.pad - L.kw) / L.stride + 1;
    const int cig = L.cin / L.groups;
    const size_t wcount = size_t(L.cout) * cig * L.kh * L.kw;
    const int reduction = cig * L.kh * L.kw;
    std::uniform_int_distribution<int> wdist(-127, 127), xdist(-128, 127);
    std::uniform_real_distribution<float> sdist(0.5f, 1.5f), bdist(-1.0f, 1.0f);
    d.w_q.resize(wcount);
    for (auto& v : d.w_q) v = int8_t(wdist(rng));
    d.w_scales.resize(L.cout);
    // weights of unit-ish variance over the reduction, as trained layers have (He init)
    const float base = float(std::sqrt(2.0 / reduction) / 73.0);
    for (auto& s : d.w_scales) s = base * sdist(rng);
    d.w_f.resize(wcount);
    const size_t per_oc = wcount / L.cout;
    for (size_t i = 0; i < wcount; ++i) d.w_f[i] = float(d.w_q[i]) * d.w_scales[i / per_oc];
    d.bias.resize(L.cout);
    for (auto& b : d.bias) b = 0.1f * bdist(rng);
    d.in_q = {0.02f, -3};
    d.in_count = size_t(batch) * L.cin * L.h * L.w;
    d.x_q.resize(d.in_count);
    for (auto& v : d.x_q) v = int8_t(xdist(rng));
    d.x_f.resize(d.in_count);
    for (size_t i = 0; i < d.in_count; ++i) d.x_f[i] = d.in_q.scale * float(int(d.x_q[i]) - d.in_q.zero_point);
    // Output scale: the pre-activation std is about sqrt(reduction) * std(x) * std(w); cover
    // 4 sigma of the (ReLU) positive side with the 255 steps above the zero point -128.
    const double sx = d.in_q.scale * 74.0, sw = base * 73.0;
    const double sigma = std::sqrt(double(reduction)) * sx * sw;
    d.out_q = {float(4.0 * sigma / 255.0), -128};
    d.out_count = size_t(batch) * L.cout * d.oh * d.ow;
    d.macs = double(batch) * L.cout * d.oh * d.ow * double(cig) * L.kh * L.kw;
    return d;
}

qgpu_conv_desc conv_desc(const LayerData& d, qgpu_precision precision) {
    const qb::Layer& L = d.layer;
    qgpu_conv_desc c;
    qgpu_conv_desc_init(&c);
    c.precision = precision;
    c.in_channels = L.cin;
    c.in_h = L.h;
    c.in_w = L.w;
    c.out_channels = L.cout;
    c.kernel_h = L.kh;
    c.kernel_w = L.kw;
    c.stride_h = c.stride_w = L.stride;
    c.pad_top = c.pad_left = c.pad_bottom = c.pad_right = L.pad;
    c.groups = L.groups;
    c.bias = d.bias.data();
    c.activation = QGPU_ACTIVATION_RELU;
    if (precision == QGPU_PRECISION_INT8) {
        c.weights_int8 = d.w_q.data();
        c.weight_scales = d.w_scales.data();
        c.input_quant = d.in_q;
        c.output_quant = d.out_q;
        c.output_dtype = QGPU_DTYPE_INT8;
    } else {
        c.weights = d.w_f.data();
        c.output_dtype = QGPU_DTYPE_FLOAT32;
    }
    return c;
}

// One conv with its tensors on one context, input written.
struct Prepared {
    Conv conv;
    Tensor in, out;
};

void prepare(qgpu_context ctx, const LayerData& d, qgpu_precision precision, int batch, Prepared* p) {
    const qgpu_conv_desc c = conv_desc(d, precision);
    check(qgpu_conv_create(ctx, &c, &p->conv.h), "qgpu_conv_create");
    const qb::Layer& L = d.layer;
    if (precision == QGPU_PRECISION_INT8) {
        check(qgpu_tensor_create(ctx, QGPU_DTYPE_INT8, batch, L.cin, L.h, L.w, &d.in_q, &p->in.h),
              "qgpu_tensor_create(input)");
        check(qgpu_tensor_create(ctx, QGPU_DTYPE_INT8, batch, L.cout, d.oh, d.ow, &d.out_q, &p->out.h),
              "qgpu_tensor_create(output)");
        check(qgpu_tensor_write_i8(p->in.h, d.x_q.data(), d.x_q.size()), "qgpu_tensor_write_i8");
    } else {
        check(qgpu_tensor_create(ctx, QGPU_DTYPE_FLOAT32, batch, L.cin, L.h, L.w, nullptr, &p->in.h),
              "qgpu_tensor_create(input)");
        check(qgpu_tensor_create(ctx, QGPU_DTYPE_FLOAT32, batch, L.cout, d.oh, d.ow, nullptr, &p->out.h),
              "qgpu_tensor_create(output)");
        check(qgpu_tensor_write_f32(p->in.h, d.x_f.data(), d.x_f.size()), "qgpu_tensor_write_f32");
    }
}

struct Result {
    std::string backend, name, dtype;
    double macs = 0, median_ms = 0, min_ms = 0, max_ms = 0, gops = 0;
    double speedup = -1;   // int8 rows with --dtype both: fp32 median / int8 median
    double peak_pct = -1;  // int8 rows with a known peak
    int exact = -1;        // -1: not checked; 0/1
    double max_abs_err = -1, tolerance = -1;  // fp32 rows under --check
    std::string error;     // non-empty: this layer failed (message)
};

// Times `repeat` runs after `warmup` untimed ones. qgpu_conv_run returns when the output is
// complete (the tensors can be read right after it), so each run is timed on its own.
void time_runs(Prepared& p, int warmup, int repeat, Result* r) {
    for (int i = 0; i < warmup; ++i) check(qgpu_conv_run(p.conv.h, p.in.h, p.out.h), "qgpu_conv_run");
    std::vector<double> ms;
    ms.reserve(repeat);
    for (int i = 0; i < repeat; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        check(qgpu_conv_run(p.conv.h, p.in.h, p.out.h), "qgpu_conv_run");
        const auto t1 = std::chrono::steady_clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const size_t n = ms.size();
    r->median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    r->min_ms = ms.front();
    r->max_ms = ms.back();
    r->gops = r->median_ms > 0 ? 2.0 * r->macs / (r->median_ms * 1e6) : 0;
}

// Byte-for-byte (int8) or within tolerance (fp32) against the CPU "scalar" reference context.
void check_against_reference(qgpu_context ref, const LayerData& d, qgpu_precision precision, int batch,
                             Prepared& p, Result* r) {
    Prepared q;
    prepare(ref, d, precision, batch, &q);
    check(qgpu_conv_run(q.conv.h, q.in.h, q.out.h), "qgpu_conv_run(reference)");
    if (precision == QGPU_PRECISION_INT8) {
        std::vector<int8_t> got(d.out_count), want(d.out_count);
        check(qgpu_tensor_read_i8(p.out.h, got.data(), got.size()), "qgpu_tensor_read_i8");
        check(qgpu_tensor_read_i8(q.out.h, want.data(), want.size()), "qgpu_tensor_read_i8(reference)");
        r->exact = got == want ? 1 : 0;
        size_t diff = 0;
        for (size_t i = 0; i < got.size(); ++i) diff += got[i] != want[i];
        if (diff) r->error = fmt("%zu of %zu int8 outputs differ from the scalar reference", diff, got.size());
    } else {
        std::vector<float> got(d.out_count), want(d.out_count);
        check(qgpu_tensor_read_f32(p.out.h, got.data(), got.size()), "qgpu_tensor_read_f32");
        check(qgpu_tensor_read_f32(q.out.h, want.data(), want.size()), "qgpu_tensor_read_f32(reference)");
        // Summation order differs between kernels; bound the difference by the size of the
        // terms: reduction * max|x| * max|w| * 1e-5 (typical rounding noise is ~100x smaller).
        float mx = 0, mw = 0;
        for (float v : d.x_f) mx = std::max(mx, std::fabs(v));
        for (float v : d.w_f) mw = std::max(mw, std::fabs(v));
        const qb::Layer& L = d.layer;
        const double reduction = double(L.cin / L.groups) * L.kh * L.kw;
        const double tol = 1e-5 * reduction * mx * mw + 1e-6;
        double err = 0;
        bool finite = true;
        for (size_t i = 0; i < got.size(); ++i) {
            if (!std::isfinite(got[i])) finite = false;
            err = std::max(err, double(std::fabs(got[i] - want[i])));
        }
        r->max_abs_err = err;
        r->tolerance = tol;
        r->exact = (finite && err <= tol) ? 1 : 0;
        if (!r->exact) r->error = fmt("fp32 max |difference| %g exceeds the tolerance %g", err, tol);
    }
}

// Default int8 peak for the CPU: int8 MACs per clock per core of the best ISA detected, times
// physical cores used, times the clock measured on dependent adds (else /proc/cpuinfo's). 0 when
// something is unknown.
double cpu_default_peak_gops(const qgpu_device_info& info, int threads, std::string* how) {
    const std::string isa = info.detail;
    auto has = [&](const char* w) {
        const std::string s = " " + isa + " ";
        return s.find(std::string(" ") + w + " ") != std::string::npos;
    };
    int macs_per_clk = 0;
    const char* which = "";
    if (has("avx512vnni")) {
        // one 512-bit vpdpbusd per clock (64 MACs); AMD Zen 5 (family 0x1A) issues two
        const bool zen5 = qb::cpu_vendor() == "AuthenticAMD" && qb::cpu_family() >= 0x1A;
        macs_per_clk = zen5 ? 128 : 64;
        which = zen5 ? "avx512vnni (Zen 5: 2x vpdpbusd zmm/clk)" : "avx512vnni";
    }
    else if (has("i8mm")) { macs_per_clk = 64; which = "i8mm"; }          // 2x smmla (32 MACs)/clk
    else if (has("avxvnni")) { macs_per_clk = 64; which = "avxvnni"; }    // 2x 256-bit vpdpbusd/clk
    else if (has("neondot") || has("dotprod") || has("neon_dot")) { macs_per_clk = 32; which = "dotprod"; }
    else if (has("avx2")) { macs_per_clk = 32; which = "avx2"; }          // vpmaddubsw chains
    else if (has("neon")) { macs_per_clk = 16; which = "neon"; }
    if (!macs_per_clk) return 0;
    double mhz = qb::measured_cpu_mhz();
    const bool measured = mhz > 0;
    if (!measured) mhz = qb::cpu_mhz();
    if (mhz <= 0) return 0;
    const int cores = qb::physical_cores_for_threads(threads > 0 ? threads : info.compute_units);
    if (cores <= 0) return 0;
    *how = fmt("%s %d MACs/clk/core x %d cores x %.0f MHz%s", which, macs_per_clk, cores, mhz,
               measured ? " measured" : "");
    return 2.0 * macs_per_clk * cores * mhz * 1e-3;
}

struct BackendRun {
    qgpu_backend requested;
    qgpu_device_info info;
    std::string variant;
    int threads = 0;
    double peak_gops = 0;
    std::string peak_how;
    std::vector<Result> results;
};

BackendRun bench_backend(qgpu_backend backend, const ConvOptions& o, const std::vector<qb::Layer>& layers) {
    BackendRun run;
    run.requested = backend;
    Context ctx;
    open_context(backend, o.variant, o.threads, &ctx);
    qgpu_device_info_init(&run.info);
    check(qgpu_context_get_device_info(ctx.h, &run.info), "qgpu_context_get_device_info");
    run.variant = qgpu_context_kernel_variant(ctx.h);
    run.threads = run.info.backend == QGPU_BACKEND_CPU
                      ? (o.threads > 0 ? o.threads : run.info.compute_units)
                      : o.threads;
    run.peak_gops = o.peak_gops;
    if (run.peak_gops > 0) run.peak_how = "--peak-gops";
    else if (run.info.backend == QGPU_BACKEND_CPU) run.peak_gops = cpu_default_peak_gops(run.info, o.threads, &run.peak_how);

    Context ref;
    if (o.check) {
        qgpu_context_desc desc;
        qgpu_context_desc_init(&desc);
        desc.backend = QGPU_BACKEND_CPU;
        desc.kernel_variant = "scalar";
        check(qgpu_context_create(&desc, &ref.h), "qgpu_context_create(cpu scalar reference)");
    }
    std::mt19937 rng(o.seed);
    const char* bname = backend_name(run.info.backend);
    for (size_t li = 0; li < layers.size(); ++li) {
        const qb::Layer& L = layers[li];
        const LayerData d = make_layer_data(L, o.batch, rng);
        long int8_row = -1;  // index: push_back may move the rows
        for (int pass = 0; pass < 2; ++pass) {
            const bool is_int8 = pass == 0;
            if (is_int8 ? !o.int8 : !o.fp32) continue;
            const qgpu_precision prec = is_int8 ? QGPU_PRECISION_INT8 : QGPU_PRECISION_FLOAT32;
            Result r;
            r.backend = bname;
            r.name = L.name;
            r.dtype = is_int8 ? "int8" : "fp32";
            r.macs = d.macs;
            progress(fmt("[%s %zu/%zu] %s %s", bname, li + 1, layers.size(), L.name.c_str(), r.dtype.c_str()));
            try {
                Prepared p;
                prepare(ctx.h, d, prec, o.batch, &p);
                time_runs(p, o.warmup, o.repeat, &r);
                if (o.check) check_against_reference(ref.h, d, prec, o.batch, p, &r);
            } catch (const RunError& e) {
                r.error = e.what();
            }
            if (is_int8 && run.peak_gops > 0 && r.gops > 0) r.peak_pct = 100.0 * r.gops / run.peak_gops;
            run.results.push_back(r);
            if (is_int8) int8_row = long(run.results.size()) - 1;
            else if (int8_row >= 0 && run.results[int8_row].median_ms > 0 && r.median_ms > 0)
                run.results[int8_row].speedup = r.median_ms / run.results[int8_row].median_ms;
        }
    }
    progress_done();
    return run;
}

void print_table(const BackendRun& run, const ConvOptions& o) {
    std::fprintf(g_out, "backend %s  device \"%s\" (%s)  variant %s  threads %d  batch %d  warmup %d  repeat %d\n",
                backend_name(run.info.backend), run.info.name, device_type_name(run.info.type),
                run.variant.c_str(), run.threads, o.batch, o.warmup, o.repeat);
    if (run.peak_gops > 0) std::fprintf(g_out, "int8 peak %.1f GOPS (%s)\n", run.peak_gops, run.peak_how.c_str());
    std::fprintf(g_out, "%-14s %-5s %10s %10s %10s %10s %9s %8s %7s %6s\n", "layer", "dtype", "MMACs", "median_ms",
                "min_ms", "max_ms", "GOPS", "int8/fp32", "%peak", "exact");
    for (const Result& r : run.results) {
        std::string speed = r.speedup > 0 ? fmt("%.2fx", r.speedup) : "";
        std::string peak = r.peak_pct >= 0 ? fmt("%.1f", r.peak_pct) : "";
        std::string exact = r.exact < 0 ? "" : (r.exact ? "true" : "false");
        if (r.median_ms <= 0 && !r.error.empty()) {
            std::fprintf(g_out, "%-14s %-5s %10.2f  FAILED: %s\n", r.name.c_str(), r.dtype.c_str(), r.macs * 1e-6,
                        r.error.c_str());
            continue;
        }
        std::fprintf(g_out, "%-14s %-5s %10.2f %10.3f %10.3f %10.3f %9.2f %8s %7s %6s\n", r.name.c_str(), r.dtype.c_str(),
                    r.macs * 1e-6, r.median_ms, r.min_ms, r.max_ms, r.gops, speed.c_str(), peak.c_str(),
                    exact.c_str());
        if (!r.error.empty()) std::fprintf(g_out, "    %s\n", r.error.c_str());
    }
}

std::string run_json(const BackendRun& run, const ConvOptions& o) {
    qb::JsonWriter j;
    j.begin_object();
    j.key("device").raw(device_json(run.info));
    j.key("backend").str(backend_name(run.info.backend));
    j.key("variant").str(run.variant);
    j.key("threads").num(run.threads);
    j.key("batch").num(o.batch);
    j.key("warmup").num(o.warmup);
    j.key("repeat").num(o.repeat);
    j.key("peak_gops");
    if (run.peak_gops > 0) j.num(run.peak_gops); else j.null();
    j.key("results").begin_array();
    for (const Result& r : run.results) {
        j.begin_object();
        j.key("name").str(r.name);
        j.key("dtype").str(r.dtype);
        j.key("macs").num(r.macs);
        const bool ok = r.median_ms > 0;
        auto numor = [&](const char* k, double v, bool have) {
            j.key(k);
            if (have) j.num(v); else j.null();
        };
        numor("median_ms", r.median_ms, ok);
        numor("min_ms", r.min_ms, ok);
        numor("max_ms", r.max_ms, ok);
        numor("gops", r.gops, ok);
        numor("speedup_vs_fp32", r.speedup, r.speedup > 0);
        numor("peak_pct", r.peak_pct, r.peak_pct >= 0);
        j.key("exact");
        if (r.exact < 0) j.null(); else j.boolean(r.exact == 1);
        if (r.max_abs_err >= 0) {
            j.key("max_abs_err").num(r.max_abs_err);
            j.key("tolerance").num(r.tolerance);
        }
        if (!r.error.empty()) j.key("error").str(r.error);
        j.end_object();
    }
    j.end_array();
    j.end_object();
    return j.str();
}

int cmd_conv(Args& a) {
    ConvOptions o;
    while (a.more()) {
        const std::string opt = a.v[a.i++];
        if (opt == "--shapes") o.shapes = a.next_value(opt);
        else if (opt == "--backend") {
            o.backends.clear();
            for (const std::string& b : qb::split(a.next_value(opt), ',')) o.backends.push_back(parse_backend(b));
            if (o.backends.empty()) throw UsageError("--backend needs a value");
        } else if (opt == "--threads") o.threads = int(parse_int(a.next_value(opt), opt, 0, 4096));
        else if (opt == "--variant") o.variant = a.next_value(opt);
        else if (opt == "--warmup") o.warmup = int(parse_int(a.next_value(opt), opt, 0, 1000000));
        else if (opt == "--repeat") o.repeat = int(parse_int(a.next_value(opt), opt, 1, 1000000));
        else if (opt == "--batch") o.batch = int(parse_int(a.next_value(opt), opt, 1, 4096));
        else if (opt == "--seed") o.seed = uint32_t(parse_int(a.next_value(opt), opt, 0, 0xffffffffL));
        else if (opt == "--layers") o.only = a.next_value(opt);
        else if (opt == "--dtype") {
            const std::string v = a.next_value(opt);
            if (v == "int8") { o.int8 = true; o.fp32 = false; }
            else if (v == "fp32") { o.int8 = false; o.fp32 = true; }
            else if (v == "both") { o.int8 = true; o.fp32 = true; }
            else throw UsageError("--dtype: '" + v + "' is not one of int8, fp32, both");
        } else if (opt == "--check") o.check = true;
        else if (opt == "--json") { o.json_path = a.next_value(opt); if (o.json_path == "-") g_out = stderr; }
        else if (opt == "--plot") o.plot_path = a.next_value(opt);
        else if (opt == "--peak-gops") o.peak_gops = parse_double(a.next_value(opt), opt, 0);
        else if (opt == "--quiet") o.quiet = true;
        else throw UsageError("conv: unknown option '" + opt + "'");
    }
    if (!o.variant.empty() && o.backends.size() > 1)
        throw UsageError("--variant applies to one backend; give a single --backend with it");
    set_progress(o.quiet);

    std::vector<qb::Layer> layers;
    if (o.shapes.empty()) layers = qb::builtin_layers();
    else {
        std::string err;
        if (!qb::load_layers(o.shapes, &layers, &err)) throw UsageError("--shapes: " + err);
    }
    if (!o.only.empty()) {
        const std::vector<std::string> names = qb::split(o.only, ',');
        std::vector<qb::Layer> kept;
        for (const std::string& n : names) {
            auto it = std::find_if(layers.begin(), layers.end(), [&](const qb::Layer& l) { return l.name == n; });
            if (it == layers.end()) throw UsageError("--layers: no layer named '" + n + "'");
            kept.push_back(*it);
        }
        layers = kept;
    }
    if (layers.empty()) throw UsageError("no layers to run");

    std::vector<BackendRun> runs;
    for (qgpu_backend b : o.backends) {
        runs.push_back(bench_backend(b, o, layers));
        if (runs.size() > 1) std::fprintf(g_out, "\n");
        print_table(runs.back(), o);
    }
    if (!o.json_path.empty()) {
        std::string text;
        if (runs.size() == 1) text = run_json(runs[0], o);
        else {
            text = "{\"runs\": [";
            for (size_t i = 0; i < runs.size(); ++i) text += (i ? ", " : "") + run_json(runs[i], o);
            text += "]}";
        }
        qb::write_text(o.json_path, text + "\n");
    }
    if (!o.plot_path.empty()) {
        qb::BarChart chart;
        chart.title = "qgpu-bench conv: GOPS per layer (2*MACs / median time)";
        for (const qb::Layer& l : layers) chart.categories.push_back(l.name);
        for (const BackendRun& run : runs) {
            for (const char* dt : {"int8", "fp32"}) {
                qb::BarSeries s;
                s.label = std::string(backend_name(run.info.backend)) + " " + dt + " (" + run.variant + ")";
                bool any = false;
                for (const qb::Layer& l : layers) {
                    double v = -1;
                    for (const Result& r : run.results)
                        if (r.name == l.name && r.dtype == dt && r.median_ms > 0) v = r.gops;
                    any |= v >= 0;
                    s.values.push_back(v);
                }
                if (any) chart.series.push_back(s);
            }
        }
        qb::write_text(o.plot_path, qb::render_svg(chart));
    }
    // A failed layer (creation, run, or a --check mismatch) makes the exit status non-zero.
    for (const BackendRun& run : runs)
        for (const Result& r : run.results)
            if (!r.error.empty()) {
                std::fprintf(stderr, "qgpu-bench: %s %s %s: %s\n", r.backend.c_str(), r.name.c_str(), r.dtype.c_str(),
                             r.error.c_str());
                return 1;
            }
    return 0;
}

// ---- the host quantize/dequantize pass ----------------------------------------------------------
int cmd_quant(Args& a) {
    int n = 1, c = 64, h = 224, w = 224, warmup = 2, repeat = 10, threads = 1;
    bool quiet = false;
    std::string json_path;
    while (a.more()) {
        const std::string opt = a.v[a.i++];
        if (opt == "--shape") {
            const std::vector<std::string> p = qb::split(a.next_value(opt), 'x');
            if (p.size() != 4) throw UsageError("--shape: expected NxCxHxW, e.g. 1x64x224x224");
            n = int(parse_int(p[0], opt, 1, 1 << 20));
            c = int(parse_int(p[1], opt, 1, 1 << 20));
            h = int(parse_int(p[2], opt, 1, 1 << 20));
            w = int(parse_int(p[3], opt, 1, 1 << 20));
        } else if (opt == "--warmup") warmup = int(parse_int(a.next_value(opt), opt, 0, 1000000));
        else if (opt == "--repeat") repeat = int(parse_int(a.next_value(opt), opt, 1, 1000000));
        else if (opt == "--json") { json_path = a.next_value(opt); if (json_path == "-") g_out = stderr; }
        else if (opt == "--threads") threads = int(parse_int(a.next_value(opt), opt, 0, 1024));
        else if (opt == "--quiet") quiet = true;
        else throw UsageError("quant: unknown option '" + opt + "'");
    }
    set_progress(quiet);
    const size_t count = size_t(n) * c * h * w;
    if (count > (size_t(1) << 31)) throw UsageError("--shape: more than 2^31 elements");
    Context ctx;
    open_context(QGPU_BACKEND_CPU, "", threads, &ctx);  // the host passes use the context's threads
    const qgpu_quant q{0.05f, 3};
    Tensor t;
    check(qgpu_tensor_create(ctx.h, QGPU_DTYPE_INT8, n, c, h, w, &q, &t.h), "qgpu_tensor_create");
    std::vector<float> src(count), dst(count);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> dist(-6.0f, 6.0f);
    for (auto& v : src) v = dist(rng);

    auto measure = [&](const char* what, const std::function<void()>& fn) {
        progress(std::string("timing ") + what);
        for (int i = 0; i < warmup; ++i) fn();
        std::vector<double> ms;
        for (int i = 0; i < repeat; ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            fn();
            const auto t1 = std::chrono::steady_clock::now();
            ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        return ms[ms.size() / 2];
    };
    const double t_memcpy = measure("memcpy", [&] {
        std::memcpy(dst.data(), src.data(), count * sizeof(float));
        // keep the copy observable so it is not optimized away
        if (dst[count / 2] != src[count / 2]) std::abort();
    });
    const double t_write = measure("write_f32", [&] { check(qgpu_tensor_write_f32(t.h, src.data(), count), "qgpu_tensor_write_f32"); });
    const double t_read = measure("read_f32", [&] { check(qgpu_tensor_read_f32(t.h, dst.data(), count), "qgpu_tensor_read_f32"); });
    progress_done();
    // sanity: the round trip is within half a quantization step (where not saturated)
    size_t bad = 0;
    for (size_t i = 0; i < count; ++i) {
        const float lo = q.scale * (-128 - q.zero_point), hi = q.scale * (127 - q.zero_point);
        const float x = std::min(std::max(src[i], lo), hi);
        if (std::fabs(dst[i] - x) > 0.5f * q.scale * 1.0001f) ++bad;
    }
    const double gb = double(count) * sizeof(float) * 1e-9;  // float bytes on the host side
    struct Row { const char* name; double ms; };
    const Row rows[] = {{"memcpy (float bytes)", t_memcpy}, {"write_f32 quantize+pack", t_write},
                        {"read_f32 dequantize", t_read}};
    std::fprintf(g_out, "host pass, %dx%dx%dx%d = %zu elements (%.1f MB of floats), %d thread(s) (memcpy: 1), median of %d\n",
                n, c, h, w, count, gb * 1e3, threads, repeat);
    std::fprintf(g_out, "%-26s %10s %10s %14s\n", "pass", "median_ms", "GB/s", "vs memcpy");
    for (const Row& r : rows)
        std::fprintf(g_out, "%-26s %10.3f %10.2f %13.2fx\n", r.name, r.ms, gb / (r.ms * 1e-3), t_memcpy / r.ms);
    if (!json_path.empty()) {
        qb::JsonWriter j;
        j.begin_object();
        j.key("elements").num(double(count));
        j.key("float_bytes").num(double(count) * 4);
        j.key("threads").num(double(threads));
        j.key("results").begin_array();
        const char* keys[] = {"memcpy", "write_f32", "read_f32"};
        for (int i = 0; i < 3; ++i) {
            j.begin_object();
            j.key("name").str(keys[i]);
            j.key("median_ms").num(rows[i].ms);
            j.key("gb_per_s").num(gb / (rows[i].ms * 1e-3));
            j.key("ratio_vs_memcpy").num(t_memcpy / rows[i].ms);
            j.end_object();
        }
        j.end_array();
        j.key("round_trip_ok").boolean(bad == 0);
        j.end_object();
        qb::write_text(json_path, j.str() + "\n");
    }
    if (bad) {
        std::fprintf(stderr, "qgpu-bench: %zu values did not round-trip within half a step\n", bad);
        return 1;
    }
    return 0;
}

// ---- the model runtime: a whole net, fp32 vs int8 ------------------------------------------------
struct Net {
    qgpu_net h = nullptr;
    Net() = default;
    Net(const Net&) = delete;
    Net& operator=(const Net&) = delete;
    ~Net() { qgpu_net_destroy(h); }
};

struct ModelOptions {
    qgpu_backend backend = QGPU_BACKEND_AUTO;
    std::string param, bin, table, variant, input = "data", output = "prob", json_path;
    int threads = 0, warmup = 2, repeat = 10, batch = 1;
    bool int8 = true, fp32 = true, quiet = false;
    uint32_t seed = 1;
    float lo = -1.0f, hi = 1.0f;  // uniform random input range
};

struct ModelResult {
    std::string dtype;
    double median_ms = 0, min_ms = 0, max_ms = 0;
    std::vector<float> output;
    std::string summary;
};

ModelResult bench_net(qgpu_context ctx, const ModelOptions& o, qgpu_precision precision,
                      const std::vector<float>& input) {
    ModelResult r;
    r.dtype = precision == QGPU_PRECISION_INT8 ? "int8" : "fp32";
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    d.param_path = o.param.c_str();
    d.bin_path = o.bin.empty() ? nullptr : o.bin.c_str();
    d.table_path = (precision == QGPU_PRECISION_INT8 && !o.table.empty()) ? o.table.c_str() : nullptr;
    d.precision = precision;
    d.batch = o.batch;
    Net net;
    check(qgpu_net_create(ctx, &d, &net.h), (std::string("qgpu_net_create(") + r.dtype + ")").c_str());
    r.summary = qgpu_net_summary(net.h);
    check(qgpu_net_set_input(net.h, o.input.c_str(), input.data(), input.size()), "qgpu_net_set_input");
    progress(fmt("[model %s] warmup", r.dtype.c_str()));
    for (int i = 0; i < o.warmup; ++i) check(qgpu_net_run(net.h), "qgpu_net_run");
    std::vector<double> ms;
    for (int i = 0; i < o.repeat; ++i) {
        progress(fmt("[model %s] run %d/%d", r.dtype.c_str(), i + 1, o.repeat));
        const auto t0 = std::chrono::steady_clock::now();
        check(qgpu_net_run(net.h), "qgpu_net_run");
        const auto t1 = std::chrono::steady_clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const size_t n = ms.size();
    r.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    r.min_ms = ms.front();
    r.max_ms = ms.back();
    int32_t shape[4] = {0, 0, 0, 0};
    check(qgpu_net_get_blob_shape(net.h, o.output.c_str(), shape), "qgpu_net_get_blob_shape(output)");
    r.output.resize(size_t(shape[0]) * shape[1] * shape[2] * shape[3]);
    check(qgpu_net_get_output(net.h, o.output.c_str(), r.output.data(), r.output.size()), "qgpu_net_get_output");
    return r;
}

int cmd_model(Args& a) {
    ModelOptions o;
    while (a.more()) {
        const std::string opt = a.v[a.i++];
        if (opt == "--param") o.param = a.next_value(opt);
        else if (opt == "--bin") o.bin = a.next_value(opt);
        else if (opt == "--table") o.table = a.next_value(opt);
        else if (opt == "--backend") o.backend = parse_backend(a.next_value(opt));
        else if (opt == "--threads") o.threads = int(parse_int(a.next_value(opt), opt, 0, 4096));
        else if (opt == "--variant") o.variant = a.next_value(opt);
        else if (opt == "--input") o.input = a.next_value(opt);
        else if (opt == "--output") o.output = a.next_value(opt);
        else if (opt == "--warmup") o.warmup = int(parse_int(a.next_value(opt), opt, 0, 1000000));
        else if (opt == "--repeat") o.repeat = int(parse_int(a.next_value(opt), opt, 1, 1000000));
        else if (opt == "--batch") o.batch = int(parse_int(a.next_value(opt), opt, 1, 4096));
        else if (opt == "--seed") o.seed = uint32_t(parse_int(a.next_value(opt), opt, 0, 0xffffffffL));
        else if (opt == "--input-range") {
            const std::string v = a.next_value(opt);
            const std::vector<std::string> p = qb::split(v, ',');
            if (p.size() != 2) throw UsageError("--input-range: expected LO,HI, e.g. -128,128");
            o.lo = float(parse_double(p[0], opt, -1e30));
            o.hi = float(parse_double(p[1], opt, -1e30));
            if (!(o.lo < o.hi)) throw UsageError("--input-range: LO must be below HI");
        } else if (opt == "--dtype") {
            const std::string v = a.next_value(opt);
            if (v == "int8") { o.int8 = true; o.fp32 = false; }
            else if (v == "fp32") { o.int8 = false; o.fp32 = true; }
            else if (v == "both") { o.int8 = true; o.fp32 = true; }
            else throw UsageError("--dtype: '" + v + "' is not one of int8, fp32, both");
        } else if (opt == "--json") { o.json_path = a.next_value(opt); if (o.json_path == "-") g_out = stderr; }
        else if (opt == "--quiet") o.quiet = true;
        else throw UsageError("model: unknown option '" + opt + "'");
    }
    if (o.param.empty()) throw UsageError("model: --param FILE is required (ncnn .param, or an .onnx model)");
    if (o.int8 && o.table.empty())
        throw UsageError("model: an int8 run needs --table FILE (ncnn calibration table); or use --dtype fp32");
    set_progress(o.quiet);
    Context ctx;
    open_context(o.backend, o.variant, o.threads, &ctx);
    qgpu_device_info info;
    qgpu_device_info_init(&info);
    check(qgpu_context_get_device_info(ctx.h, &info), "qgpu_context_get_device_info");

    // random input in [-1, 1) of the input blob's shape (from whichever net loads first)
    std::vector<ModelResult> results;
    std::vector<float> input;
    auto input_for = [&](qgpu_precision prec) {
        if (!input.empty()) return;
        qgpu_net_desc d;
        qgpu_net_desc_init(&d);
        d.param_path = o.param.c_str();
        d.bin_path = o.bin.empty() ? nullptr : o.bin.c_str();
        d.table_path = prec == QGPU_PRECISION_INT8 ? o.table.c_str() : nullptr;
        d.precision = prec;
        d.batch = o.batch;
        Net net;
        check(qgpu_net_create(ctx.h, &d, &net.h), "qgpu_net_create");
        int32_t shape[4];
        check(qgpu_net_get_blob_shape(net.h, o.input.c_str(), shape), "qgpu_net_get_blob_shape(input)");
        input.resize(size_t(shape[0]) * shape[1] * shape[2] * shape[3]);
        std::mt19937 rng(o.seed);
        std::uniform_real_distribution<float> dist(o.lo, o.hi);
        for (auto& v : input) v = dist(rng);
    };
    for (qgpu_precision prec : {QGPU_PRECISION_FLOAT32, QGPU_PRECISION_INT8}) {
        if (prec == QGPU_PRECISION_INT8 ? !o.int8 : !o.fp32) continue;
        input_for(prec);
        results.push_back(bench_net(ctx.h, o, prec, input));
    }
    progress_done();
    std::fprintf(g_out, "model %s  backend %s  device \"%s\"  variant %s  batch %d  warmup %d  repeat %d\n",
                 o.param.c_str(), backend_name(info.backend), info.name, qgpu_context_kernel_variant(ctx.h), o.batch,
                 o.warmup, o.repeat);
    std::fprintf(g_out, "%-5s %10s %10s %10s %10s\n", "dtype", "median_ms", "min_ms", "max_ms", "int8/fp32");
    const ModelResult* f = nullptr;
    const ModelResult* q = nullptr;
    for (const ModelResult& r : results) (r.dtype == "fp32" ? f : q) = &r;
    const double speedup = (f && q && q->median_ms > 0) ? f->median_ms / q->median_ms : -1;
    for (const ModelResult& r : results)
        std::fprintf(g_out, "%-5s %10.3f %10.3f %10.3f %10s\n", r.dtype.c_str(), r.median_ms, r.min_ms, r.max_ms,
                     (&r == q && speedup > 0) ? fmt("%.2fx", speedup).c_str() : "");
    // int8 vs fp32 output agreement: max |difference| and the same arg-max (top-1) per batch item
    double max_diff = -1;
    int top1_same = -1;
    if (f && q && f->output.size() == q->output.size() && !f->output.empty()) {
        max_diff = 0;
        for (size_t i = 0; i < f->output.size(); ++i)
            max_diff = std::max(max_diff, double(std::fabs(f->output[i] - q->output[i])));
        const size_t per = f->output.size() / size_t(o.batch);
        top1_same = 0;
        for (int b = 0; b < o.batch; ++b) {
            auto fb = f->output.begin() + b * per, qb2 = q->output.begin() + b * per;
            top1_same += std::max_element(fb, fb + per) - fb == std::max_element(qb2, qb2 + per) - qb2;
        }
        std::fprintf(g_out, "output '%s': int8 vs fp32 max |diff| %.4g, same top-1 for %d of %d\n",
                     o.output.c_str(), max_diff, top1_same, o.batch);
    }
    if (!o.json_path.empty()) {
        qb::JsonWriter j;
        j.begin_object();
        j.key("device").raw(device_json(info));
        j.key("backend").str(backend_name(info.backend));
        j.key("variant").str(qgpu_context_kernel_variant(ctx.h));
        j.key("model").str(o.param);
        j.key("batch").num(o.batch);
        j.key("results").begin_array();
        for (const ModelResult& r : results) {
            j.begin_object();
            j.key("name").str("model");
            j.key("dtype").str(r.dtype);
            j.key("median_ms").num(r.median_ms);
            j.key("min_ms").num(r.min_ms);
            j.key("max_ms").num(r.max_ms);
            j.key("speedup_vs_fp32");
            if (&r == q && speedup > 0) j.num(speedup); else j.null();
            j.end_object();
        }
        j.end_array();
        j.key("max_abs_diff_int8_vs_fp32");
        if (max_diff >= 0) j.num(max_diff); else j.null();
        j.key("top1_same");
        if (top1_same >= 0) j.num(top1_same); else j.null();
        j.end_object();
        qb::write_text(o.json_path, j.str() + "\n");
    }
    return 0;
}

const char* kUsage =
    "usage: qgpu-bench COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  devices [--json PATH]        list backends and devices (and why a backend is unavailable)\n"
    "  conv [options]               time the conv layer suite through the C API\n"
    "  quant [options]              fused host quantize/dequantize vs memcpy\n"
    "  model --param P [options]    time a whole net (ncnn .param/.bin or .onnx), fp32 vs int8\n"
    "\n"
    "conv options:\n"
    "  --shapes FILE.tsv            layers (name cin cout h w kh kw stride pad groups [from]);\n"
    "                               default: the built-in copy of the qconv suite v1\n"
    "  --layers a,b,...             only these layers\n"
    "  --backend B[,B...]           auto|cpu|vulkan|opencl (default auto)\n"
    "  --threads N                  CPU worker threads (0 = one per core)\n"
    "  --variant NAME               force a kernel variant (scalar, avx2, dot, nodot, ...)\n"
    "  --dtype int8|fp32|both       default int8\n"
    "  --warmup W --repeat R        untimed and timed runs per layer (default 2, 10)\n"
    "  --batch N                    batch size (default 1)\n"
    "  --check                      int8 byte for byte / fp32 within tolerance vs CPU scalar\n"
    "  --peak-gops X                the device's int8 peak (GOPS) for the %peak column\n"
    "  --json PATH                  results as JSON ('-' = stdout)\n"
    "  --plot FILE.svg              bar chart of GOPS per layer\n"
    "  --seed S --quiet\n"
    "\n"
    "model options:\n"
    "  --param FILE --bin FILE --table FILE (int8)  --input BLOB (data) --output BLOB (prob)\n"
    "  --backend B --threads N --variant V --dtype int8|fp32|both (both) --batch N\n"
    "  --input-range LO,HI (random input; default -1,1)  --warmup W --repeat R --seed S\n"
    "  --json PATH --quiet\n"
    "\n"
    "quant options:\n"
    "  --shape NxCxHxW (default 1x64x224x224)  --threads N (CPU context threads, 0 = all; default 1)\n"
    "  --warmup W --repeat R  --json PATH  --quiet\n";

}  // namespace

int main(int argc, char** argv) {
    Args a;
    for (int i = 1; i < argc; ++i) a.v.push_back(argv[i]);
    if (a.v.empty()) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    const std::string cmd = a.v[a.i++];
    try {
        if (cmd == "-h" || cmd == "--help" || cmd == "help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (cmd == "devices") return cmd_devices(a);
        if (cmd == "conv") return cmd_conv(a);
        if (cmd == "quant") return cmd_quant(a);
        if (cmd == "model") return cmd_model(a);
        throw UsageError("unknown command '" + cmd + "'");
    } catch (const UsageError& e) {
        progress_done();
        std::fprintf(stderr, "qgpu-bench: %s\n\n%s", e.what(), kUsage);
        return 2;
    } catch (const std::exception& e) {
        progress_done();
        std::fprintf(stderr, "qgpu-bench: %s\n", e.what());
        return 1;
    }
}
