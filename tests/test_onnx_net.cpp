// ONNX import on the Fashion-MNIST CNN (../shared/models/fashion_cnn): fp32 against PyTorch's
// logits, int8 with the reference calibration thresholds against fp32.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>

#include "conv_cases.h"
#include "fashion_data.h"

namespace {

const std::string kDir = std::string(QGPU_SHARED_DIR) + "/models/fashion_cnn/";

using fashion::read_raw;
using fashion::reference_thresholds;

// An ncnn-format table (ncnn scale = 127 / threshold) keyed by ONNX node name, from one method's
// thresholds in calibration_reference.json.
std::string write_table(const std::string& method) {
    const std::map<std::string, double> thresholds = reference_thresholds(method);
    REQUIRE(thresholds.size() == 7);  // every Conv/Gemm input
    std::ostringstream table;
    for (const auto& t : thresholds) table << t.first << " " << 127.0 / t.second << "\n";
    const std::string path = cases::temp_path("fashion_" + method + ".table");
    std::ofstream(path) << table.str();
    return path;
}

using Run = fashion::NetRun;

Run run(qgpu_context ctx, qgpu_precision precision, const std::string& table, const std::vector<float>& input) {
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    const std::string model = kDir + "model.onnx";
    d.param_path = model.c_str();
    d.table_path = table.empty() ? nullptr : table.c_str();
    d.precision = precision;
    d.batch = 16;
    return fashion::run_net(ctx, d, input);
}

int argmax(const std::vector<float>& l, int i) {
    return int(std::max_element(l.begin() + 10 * i, l.begin() + 10 * i + 10) - (l.begin() + 10 * i));
}

}  // namespace

TEST_CASE("onnx: Fashion-MNIST CNN fp32 matches PyTorch, int8 agrees with fp32", "[net][onnx]") {
    if (!std::ifstream(kDir + "model.onnx").good()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    std::string why;
    qgpu_context ctx = cases::make_context(QGPU_BACKEND_CPU, nullptr, 2, &why);
    REQUIRE(ctx);
    const std::vector<float> input = read_raw<float>(kDir + "ref_inputs.f32");
    const std::vector<float> ref = read_raw<float>(kDir + "ref_logits.f32");
    const std::vector<uint8_t> labels = read_raw<uint8_t>(kDir + "ref_labels.u8");
    REQUIRE(input.size() == 16 * 28 * 28);
    const Run f = run(ctx, QGPU_PRECISION_FLOAT32, "", input);
    if (f.status == QGPU_ERROR_UNSUPPORTED && f.error.find("without ONNX") != std::string::npos) {
        WARN("skipped: " << f.error);
        qgpu_context_destroy(ctx);
        return;
    }
    INFO(f.error);
    REQUIRE(f.status == QGPU_OK);
    // fp32: only the summation order differs from PyTorch
    double max_diff = 0;
    for (size_t i = 0; i < ref.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(f.logits[i] - ref[i])));
    CHECK(max_diff < 1e-3);
    int correct = 0;
    for (int i = 0; i < 16; ++i) correct += argmax(f.logits, i) == labels[size_t(i)];
    WARN("fp32: " << correct << "/16 correct, max |logit - PyTorch| = " << max_diff);

    for (const char* method : {"minmax", "percentile_99.999", "kl_nozero"}) {
        const Run q = run(ctx, QGPU_PRECISION_INT8, write_table(method), input);
        INFO(method << ": " << q.error);
        REQUIRE(q.status == QGPU_OK);
        int agree = 0;
        for (int i = 0; i < 16; ++i) agree += argmax(q.logits, i) == argmax(f.logits, i);
        WARN("int8 (" << method << " thresholds): top-1 agreement with fp32 " << agree << "/16");
        // plain KL clips this model's bright input pixels (a known trap, see issue 8): reported only
        if (std::string(method) != "kl_nozero") CHECK(agree >= 15);
    }
    qgpu_context_destroy(ctx);
}

TEST_CASE("onnx: Fashion-MNIST CNN int8 on Vulkan and OpenCL equals the CPU's", "[net][onnx][gpu]") {
    if (!std::ifstream(kDir + "model.onnx").good()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    std::string why;
    qgpu_context cpu = cases::make_context(QGPU_BACKEND_CPU, nullptr, 2, &why);
    REQUIRE(cpu);
    const std::vector<float> input = read_raw<float>(kDir + "ref_inputs.f32");
    const std::string table = write_table("minmax");
    const Run ci = run(cpu, QGPU_PRECISION_INT8, table, input);
    const Run cf = run(cpu, QGPU_PRECISION_FLOAT32, "", input);
    if (ci.status == QGPU_ERROR_UNSUPPORTED && ci.error.find("without ONNX") != std::string::npos) {
        WARN("skipped: " << ci.error);
        qgpu_context_destroy(cpu);
        return;
    }
    REQUIRE(ci.status == QGPU_OK);
    REQUIRE(cf.status == QGPU_OK);
    for (const cases::GpuTarget& t : cases::gpu_targets()) {
        qgpu_context ctx = cases::open_gpu_target(t);
        if (!ctx) continue;
        const std::string& name = t.name;
        const Run gi = run(ctx, QGPU_PRECISION_INT8, table, input);
        INFO(name << ": " << gi.error);
        REQUIRE(gi.status == QGPU_OK);
        // int8 through the residual block (float Add) and the Gemm's fused dequantize: identical
        CHECK(gi.logits == ci.logits);
        const Run gf = run(ctx, QGPU_PRECISION_FLOAT32, "", input);
        REQUIRE(gf.status == QGPU_OK);
        double max_diff = 0;
        for (size_t i = 0; i < cf.logits.size(); ++i)
            max_diff = std::max(max_diff, double(std::fabs(gf.logits[i] - cf.logits[i])));
        CHECK(max_diff < 1e-3);
        qgpu_context_destroy(ctx);
    }
    qgpu_context_destroy(cpu);
}

TEST_CASE("onnx: qgpu_net_calibrate builds the int8 table from samples", "[net][onnx][calibration]") {
    if (!std::ifstream(kDir + "model.onnx").good()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    std::string why;
    qgpu_context ctx = cases::make_context(QGPU_BACKEND_CPU, nullptr, 2, &why);
    REQUIRE(ctx);
    const std::vector<float> input = read_raw<float>(kDir + "ref_inputs.f32");
    const std::string model = kDir + "model.onnx";
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    d.param_path = model.c_str();
    d.precision = QGPU_PRECISION_FLOAT32;
    d.batch = 4;
    qgpu_net fnet = nullptr;
    const qgpu_status st = qgpu_net_create(ctx, &d, &fnet);
    if (st == QGPU_ERROR_UNSUPPORTED) {
        WARN("skipped: " << qgpu_last_error());
        qgpu_context_destroy(ctx);
        return;
    }
    REQUIRE(st == QGPU_OK);
    qgpu_table table = nullptr, table2 = nullptr;
    REQUIRE(qgpu_table_create(&table) == QGPU_OK);
    REQUIRE(qgpu_net_calibrate(fnet, "input", input.data(), 16, nullptr, table) == QGPU_OK);
    CHECK(qgpu_net_calibrate(fnet, "input", input.data(), 15, nullptr, table) == QGPU_ERROR_INVALID_ARGUMENT);
    CHECK(qgpu_net_calibrate(fnet, "nope", input.data(), 16, nullptr, table) == QGPU_ERROR_INVALID_ARGUMENT);
    size_t weights = 0, activations = 0;
    REQUIRE(qgpu_table_get_counts(table, &weights, &activations) == QGPU_OK);
    CHECK(activations == 7);  // 6 convs + the Gemm
    // the same samples in another batch split give the same table
    qgpu_net_destroy(fnet);
    d.batch = 16;
    REQUIRE(qgpu_net_create(ctx, &d, &fnet) == QGPU_OK);
    REQUIRE(qgpu_table_create(&table2) == QGPU_OK);
    REQUIRE(qgpu_net_calibrate(fnet, "input", input.data(), 16, nullptr, table2) == QGPU_OK);
    for (size_t i = 0; i < activations; ++i) {
        const char* name = nullptr;
        float a = 0, b = 0;
        REQUIRE(qgpu_table_get_name(table, 1, i, &name) == QGPU_OK);
        REQUIRE(qgpu_table_get_activation_scale(table, name, &a) == QGPU_OK);
        REQUIRE(qgpu_table_get_activation_scale(table2, name, &b) == QGPU_OK);
        CHECK(a == b);
    }
    const Run f = run(ctx, QGPU_PRECISION_FLOAT32, "", input);
    qgpu_net_desc q = d;
    q.precision = QGPU_PRECISION_INT8;
    q.table = table;
    qgpu_net inet = nullptr;
    REQUIRE(qgpu_net_create(ctx, &q, &inet) == QGPU_OK);
    std::vector<float> logits(160);
    REQUIRE(qgpu_net_set_input(inet, "input", input.data(), input.size()) == QGPU_OK);
    REQUIRE(qgpu_net_run(inet) == QGPU_OK);
    REQUIRE(qgpu_net_get_output(inet, "logits", logits.data(), logits.size()) == QGPU_OK);
    int agree = 0;
    for (int i = 0; i < 16; ++i) agree += argmax(logits, i) == argmax(f.logits, i);
    CHECK(agree >= 15);
    qgpu_net_destroy(inet);
    qgpu_net_destroy(fnet);
    qgpu_table_destroy(table);
    qgpu_table_destroy(table2);
    qgpu_context_destroy(ctx);
}

namespace {

bool read_train_images(size_t count, std::vector<float>* x) {
    FILE* p = popen("gzip -dc /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz 2>/dev/null", "r");
    if (!p) return false;
    std::vector<unsigned char> px(16 + count * 784);
    const size_t got = std::fread(px.data(), 1, px.size(), p);
    while (std::fgetc(p) != EOF) {}  // drain so gzip exits cleanly
    pclose(p);
    if (got != px.size()) return false;
    x->resize(count * 784);
    for (size_t i = 0; i < x->size(); ++i) (*x)[i] = (float(px[16 + i]) / 255.0f - 0.2860f) / 0.3530f;
    return true;
}

}  // namespace

TEST_CASE("onnx: calibration thresholds of every conv input match the reference", "[net][onnx][calibration][fashion]") {
    std::vector<float> train;
    if (!std::ifstream(kDir + "calibration_reference.json").good() || !read_train_images(1000, &train)) {
        WARN("skipped: needs ../shared/models/fashion_cnn and Debian's dataset-fashion-mnist");
        return;
    }
    std::string why;
    qgpu_context ctx = cases::make_context(QGPU_BACKEND_CPU, nullptr, 2, &why);
    REQUIRE(ctx);
    const std::string model = kDir + "model.onnx";
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    d.param_path = model.c_str();
    d.precision = QGPU_PRECISION_FLOAT32;
    d.batch = 50;
    qgpu_net net = nullptr;
    const qgpu_status st = qgpu_net_create(ctx, &d, &net);
    if (st == QGPU_ERROR_UNSUPPORTED) {
        WARN("skipped: " << qgpu_last_error());
        qgpu_context_destroy(ctx);
        return;
    }
    REQUIRE(st == QGPU_OK);
    struct Method { const char* reference; qgpu_calib_method method; int kl_variant; double tolerance; };
    // MinMax: exact up to float rounding. Percentile: 0.5 % (we return the upper edge of the
    // histogram bin holding the percentile, the reference interpolates sorted values; observed
    // <= 0.24 %). KL as today's ncnn2table (fractional merge): observed identical on all 7.
    // The 2018 variant is reported only: it matches the reference on the network input but not
    // on post-ReLU tensors (up to 38 % apart: the reference's "kl_nozero" is not that recipe).
    const Method methods[] = {{"minmax", QGPU_CALIB_MINMAX, QGPU_KL_NCNN, 1e-4},
                              {"percentile_99.99", QGPU_CALIB_PERCENTILE, QGPU_KL_NCNN, 0.005},
                              {"kl_nozero_fractional", QGPU_CALIB_KL, QGPU_KL_NCNN, 1.0 / 2048},
                              {"kl_nozero", QGPU_CALIB_KL, QGPU_KL_NCNN2018, -1.0}};
    for (const Method& m : methods) {
        qgpu_calib_options o;
        qgpu_calib_options_init(&o);
        o.method = m.method;
        o.percentile = 99.99;
        o.kl_variant = m.kl_variant;
        qgpu_table table = nullptr;
        REQUIRE(qgpu_table_create(&table) == QGPU_OK);
        REQUIRE(qgpu_net_calibrate(net, "input", train.data(), 1000, &o, table) == QGPU_OK);
        const auto ref = reference_thresholds(m.reference);
        REQUIRE(ref.size() == 7);
        for (const auto& r : ref) {
            qgpu_quant q;
            REQUIRE(qgpu_table_get_activation_quant(table, r.first.c_str(), &q) == QGPU_OK);
            const double ours = double(q.scale) * 127.0;
            WARN(m.reference << " " << r.first << ": qgpu " << ours << ", reference " << r.second);
            if (m.tolerance >= 0) CHECK(std::fabs(ours - r.second) <= m.tolerance * std::max(r.second, 1e-6) + 1e-6);
        }
        qgpu_table_destroy(table);
    }
    qgpu_net_destroy(net);
    qgpu_context_destroy(ctx);
}

TEST_CASE("onnx: truncated and corrupted models are load errors, never crashes", "[net][onnx][fuzz]") {
    if (!std::ifstream(kDir + "model.onnx").good()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    std::ifstream f(kDir + "model.onnx", std::ios::binary);
    const std::string good((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::string why;
    qgpu_context ctx = cases::make_context(QGPU_BACKEND_CPU, nullptr, 1, &why);
    REQUIRE(ctx);
    const std::string path = cases::temp_path("fuzz.onnx");
    std::mt19937 rng(11);
    int errors = 0, loaded = 0;
    for (int trial = 0; trial < 120; ++trial) {
        std::string bytes = good;
        if (trial < 40) {
            bytes.resize(size_t(rng() % good.size()));  // truncated anywhere
        } else {
            for (int k = 0; k < 1 + trial % 4; ++k) bytes[rng() % bytes.size()] = char(rng());  // byte flips
        }
        std::ofstream(path, std::ios::binary) << bytes;
        qgpu_net_desc d;
        qgpu_net_desc_init(&d);
        d.param_path = path.c_str();
        d.precision = QGPU_PRECISION_FLOAT32;
        qgpu_net net = nullptr;
        const qgpu_status st = qgpu_net_create(ctx, &d, &net);
        if (st == QGPU_OK) {
            ++loaded;  // a flip inside the weights still makes a model; it must run
            std::vector<float> x(784, 0.5f), y(10);
            CHECK(qgpu_net_set_input(net, "input", x.data(), x.size()) == QGPU_OK);
            CHECK(qgpu_net_run(net) == QGPU_OK);
            qgpu_net_get_output(net, "logits", y.data(), y.size());  // a renamed output may be gone
            qgpu_net_destroy(net);
        } else {
            ++errors;
            CHECK(net == nullptr);
            CHECK(std::string(qgpu_last_error()).size() > 0);
        }
    }
    WARN("onnx fuzz: " << errors << " load errors, " << loaded << " still loadable");
    CHECK(errors >= 40);
    qgpu_context_destroy(ctx);
}
