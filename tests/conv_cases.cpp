#include "conv_cases.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "naive_conv.h"

namespace cases {

void ConvCase::bind() {
    desc.weights = weights.data();
    desc.bias = has_bias ? bias.data() : nullptr;
}

int ConvCase::out_h() const {
    const qgpu_conv_desc& d = desc;
    return naive::out_size(d.in_h, d.pad_top, d.pad_bottom, d.kernel_h, d.stride_h, d.dilation_h);
}
int ConvCase::out_w() const {
    const qgpu_conv_desc& d = desc;
    return naive::out_size(d.in_w, d.pad_left, d.pad_right, d.kernel_w, d.stride_w, d.dilation_w);
}
size_t ConvCase::output_count() const { return size_t(batch) * desc.out_channels * out_h() * out_w(); }

std::string ConvCase::describe() const {
    const qgpu_conv_desc& d = desc;
    std::ostringstream s;
    s << label << " n=" << batch << " cin=" << d.in_channels << " cout=" << d.out_channels
      << " in=" << d.in_h << "x" << d.in_w << " k=" << d.kernel_h << "x" << d.kernel_w
      << " s=" << d.stride_h << "x" << d.stride_w << " d=" << d.dilation_h << "x" << d.dilation_w
      << " pad=" << d.pad_top << "," << d.pad_left << "," << d.pad_bottom << "," << d.pad_right
      << " g=" << d.groups << " act=" << int(d.activation) << " prec=" << int(d.precision)
      << " out=" << (d.output_dtype == QGPU_DTYPE_INT8 ? "int8" : "f32")
      << " zx=" << d.input_quant.zero_point << " zy=" << d.output_quant.zero_point
      << " bias=" << has_bias;
    return s.str();
}

namespace {

int uniform(std::mt19937& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
float uniformf(std::mt19937& rng, float lo, float hi) {
    return std::uniform_real_distribution<float>(lo, hi)(rng);
}

void fill_data(ConvCase& c, std::mt19937& rng, float weight_range) {
    const qgpu_conv_desc& d = c.desc;
    const size_t wcount = size_t(d.out_channels) * (d.in_channels / d.groups) * d.kernel_h * d.kernel_w;
    c.weights.resize(wcount);
    for (float& w : c.weights) w = uniformf(rng, -weight_range, weight_range);
    c.bias.resize(d.out_channels);
    for (float& b : c.bias) b = uniformf(rng, -1.0f, 1.0f);
    const size_t icount = size_t(c.batch) * d.in_channels * d.in_h * d.in_w;
    if (d.precision == QGPU_PRECISION_INT8) {
        c.input_q.resize(icount);
        for (int8_t& x : c.input_q) x = int8_t(uniform(rng, -128, 127));
    } else {
        c.input_f.resize(icount);
        for (float& x : c.input_f) x = uniformf(rng, -2.0f, 2.0f);
    }
    c.bind();
}

}  // namespace

ConvCase random_case(std::mt19937& rng, qgpu_precision precision) {
    ConvCase c;
    qgpu_conv_desc& d = c.desc;
    qgpu_conv_desc_init(&d);
    d.precision = precision;
    const int group_kind = uniform(rng, 0, 3);  // 0,1: dense; 2: depthwise; 3: grouped
    int cin_g = uniform(rng, 1, 9), cout_g = uniform(rng, 1, 9);
    d.groups = 1;
    if (group_kind == 2) { d.groups = uniform(rng, 1, 13); cin_g = 1; cout_g = uniform(rng, 1, 2); }
    if (group_kind == 3) d.groups = uniform(rng, 2, 4);
    if (group_kind == 0 && uniform(rng, 0, 3) == 0) cin_g = uniform(rng, 10, 40);
    d.in_channels = cin_g * d.groups;
    d.out_channels = cout_g * d.groups;
    d.kernel_h = uniform(rng, 1, 7);
    d.kernel_w = uniform(rng, 0, 2) == 0 ? d.kernel_h : uniform(rng, 1, 7);
    d.stride_h = uniform(rng, 1, 3);
    d.stride_w = uniform(rng, 1, 3);
    d.dilation_h = uniform(rng, 0, 3) == 0 ? uniform(rng, 2, 3) : 1;
    d.dilation_w = uniform(rng, 0, 3) == 0 ? uniform(rng, 2, 3) : 1;
    d.pad_top = uniform(rng, 0, 3); d.pad_bottom = uniform(rng, 0, 3);
    d.pad_left = uniform(rng, 0, 3); d.pad_right = uniform(rng, 0, 3);
    // input at least as large as the dilated kernel minus padding; sometimes 1x1 output
    const int span_h = d.dilation_h * (d.kernel_h - 1) + 1, span_w = d.dilation_w * (d.kernel_w - 1) + 1;
    d.in_h = std::max(1, span_h - d.pad_top - d.pad_bottom) + uniform(rng, 0, 8);
    d.in_w = std::max(1, span_w - d.pad_left - d.pad_right) + uniform(rng, 0, 8);
    if (uniform(rng, 0, 9) == 0) {  // 1x1 spatial input
        d.kernel_h = d.kernel_w = 1; d.in_h = d.in_w = 1; d.dilation_h = d.dilation_w = 1;
    }
    c.batch = uniform(rng, 1, 2);
    d.activation = qgpu_activation(uniform(rng, 0, 4));
    d.activation_min = uniformf(rng, -2.0f, 0.5f);
    d.activation_max = d.activation_min + uniformf(rng, 0.0f, 3.0f);
    d.leaky_slope = uniform(rng, 0, 4) == 0 ? 0.0f : uniformf(rng, 0.0f, 1.0f);
    c.has_bias = uniform(rng, 0, 4) != 0;
    // scales: outputs land in a useful int8 range, sometimes saturate
    const int reduction = cin_g * d.kernel_h * d.kernel_w;
    d.input_quant.scale = uniformf(rng, 0.005f, 0.05f);
    d.input_quant.zero_point = uniform(rng, 0, 2) == 0 ? 0 : uniform(rng, -128, 127);
    d.output_quant.scale = d.input_quant.scale * uniformf(rng, 0.2f, 2.0f) * std::sqrt(float(reduction));
    d.output_quant.zero_point = uniform(rng, 0, 2) == 0 ? 0 : uniform(rng, -100, 100);
    d.output_dtype = uniform(rng, 0, 2) == 0 ? QGPU_DTYPE_FLOAT32 : QGPU_DTYPE_INT8;
    if (precision == QGPU_PRECISION_FLOAT32) d.output_dtype = QGPU_DTYPE_FLOAT32;
    c.label = "random";
    fill_data(c, rng, 1.0f);
    if (uniform(rng, 0, 7) == 0) {  // an all-zero weight channel
        const size_t per = c.weights.size() / d.out_channels;
        std::fill(c.weights.begin(), c.weights.begin() + per, 0.0f);
    }
    return c;
}

std::vector<SuiteRow> load_suite() {
    std::vector<SuiteRow> rows;
    std::ifstream f(std::string(QGPU_SHARED_DIR) + "/bench/shapes.tsv");
    std::string line;
    while (std::getline(f, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream s(line);
        SuiteRow r;
        if (s >> r.name >> r.cin >> r.cout >> r.h >> r.w >> r.kh >> r.kw >> r.stride >> r.pad >> r.groups)
            rows.push_back(r);
    }
    return rows;
}

ConvCase suite_case(const SuiteRow& r, std::mt19937& rng, qgpu_precision precision,
                    qgpu_dtype output_dtype) {
    ConvCase c;
    qgpu_conv_desc& d = c.desc;
    qgpu_conv_desc_init(&d);
    d.precision = precision;
    d.in_channels = r.cin; d.out_channels = r.cout; d.in_h = r.h; d.in_w = r.w;
    d.kernel_h = r.kh; d.kernel_w = r.kw; d.stride_h = d.stride_w = r.stride;
    d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = r.pad;
    d.groups = r.groups;
    d.activation = QGPU_ACTIVATION_RELU;
    const int reduction = (r.cin / r.groups) * r.kh * r.kw;
    d.input_quant = {0.02f, 3};
    d.output_quant = {0.02f * std::sqrt(float(reduction)) * 0.5f, -5};
    d.output_dtype = precision == QGPU_PRECISION_INT8 ? output_dtype : QGPU_DTYPE_FLOAT32;
    c.label = r.name;
    fill_data(c, rng, 1.0f);
    return c;
}

qgpu_status run_case(qgpu_context ctx, ConvCase& c, Output* out) {
    c.bind();
    qgpu_conv conv = nullptr;
    qgpu_status st = qgpu_conv_create(ctx, &c.desc, &conv);
    if (st != QGPU_OK) return st;
    const qgpu_conv_desc& d = c.desc;
    const bool int8 = d.precision == QGPU_PRECISION_INT8;
    qgpu_tensor in = nullptr, o = nullptr;
    st = qgpu_tensor_create(ctx, int8 ? QGPU_DTYPE_INT8 : QGPU_DTYPE_FLOAT32, c.batch,
                            d.in_channels, d.in_h, d.in_w, &d.input_quant, &in);
    if (st == QGPU_OK)
        st = qgpu_tensor_create(ctx, d.output_dtype, c.batch, d.out_channels, c.out_h(), c.out_w(),
                                &d.output_quant, &o);
    if (st == QGPU_OK)
        st = int8 ? qgpu_tensor_write_i8(in, c.input_q.data(), c.input_q.size())
                  : qgpu_tensor_write_f32(in, c.input_f.data(), c.input_f.size());
    if (st == QGPU_OK) st = qgpu_conv_run(conv, in, o);
    if (st == QGPU_OK) {
        if (d.output_dtype == QGPU_DTYPE_INT8) {
            out->q.resize(c.output_count());
            st = qgpu_tensor_read_i8(o, out->q.data(), out->q.size());
        } else {
            out->f.resize(c.output_count());
            st = qgpu_tensor_read_f32(o, out->f.data(), out->f.size());
        }
    }
    qgpu_tensor_destroy(in);
    qgpu_tensor_destroy(o);
    qgpu_conv_destroy(conv);
    return st;
}

void enable_vulkan_validation() {
    static const char* manifests[] = {
        "/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json",
        "/usr/local/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json",
        "/etc/vulkan/explicit_layer.d/VkLayer_khronos_validation.json",
    };
    for (const char* m : manifests)
        if (std::ifstream(m).good()) {
            setenv("QGPU_VULKAN_VALIDATION", "1", 0);
            return;
        }
}

qgpu_context make_context(qgpu_backend backend, const char* variant, int threads, std::string* why) {
    if (backend == QGPU_BACKEND_VULKAN) enable_vulkan_validation();
    qgpu_context_desc desc;
    qgpu_context_desc_init(&desc);
    desc.backend = backend;
    desc.kernel_variant = variant;
    desc.num_threads = threads;
    qgpu_context ctx = nullptr;
    if (qgpu_context_create(&desc, &ctx) != QGPU_OK) {
        if (why) *why = qgpu_last_error();
        return nullptr;
    }
    return ctx;
}

bool strict_backends() {
    const char* s = std::getenv("QGPU_TEST_STRICT");
    return s && std::strcmp(s, "1") == 0;
}

std::vector<GpuTarget> gpu_targets() {
    return {{QGPU_BACKEND_VULKAN, "nodot", "vulkan nodot"},
            {QGPU_BACKEND_VULKAN, "dot", "vulkan dot"},
            {QGPU_BACKEND_OPENCL, nullptr, "opencl default"}};
}

qgpu_context open_gpu_target(const GpuTarget& t) {
    std::string why;
    qgpu_context ctx = make_context(t.backend, t.variant, 1, &why);
    if (ctx) return ctx;
    if (strict_backends() && !(t.variant && why.find("variant") != std::string::npos))
        FAIL(t.name << " must run under QGPU_TEST_STRICT=1: " << why);
    WARN("skipped " << t.name << ": " << why);
    return nullptr;
}

std::vector<std::string> ncnn_output_blobs(const std::string& param_path) {
    std::ifstream f(param_path);
    std::string line;
    std::vector<std::string> blobs;
    std::getline(f, line);  // magic
    std::getline(f, line);  // layer and blob counts
    while (std::getline(f, line)) {  // "type name n_in n_out in... out... params"
        std::istringstream in(line);
        std::string type, name, blob;
        int nin = 0, nout = 0;
        if (!(in >> type >> name >> nin >> nout)) continue;
        for (int k = 0; k < nin; ++k) in >> blob;
        for (int k = 0; k < nout; ++k)
            if (in >> blob) blobs.push_back(blob);
    }
    return blobs;
}

std::string temp_path(const std::string& name) {
    // the files go when the test process ends
    static struct Registry {
        std::vector<std::string> paths;
        ~Registry() {
            for (const std::string& p : paths) std::remove(p.c_str());
        }
    } registry;
    const char* dir = std::getenv("TMPDIR");
    const std::string path = std::string(dir && *dir ? dir : "/tmp") + "/qgpu_" + std::to_string(long(getpid())) + "_" + name;
    if (std::find(registry.paths.begin(), registry.paths.end(), path) == registry.paths.end()) registry.paths.push_back(path);
    return path;
}

}  // namespace cases
