// The model runtime on SqueezeNet v1.1 (ncnn files in ../shared/models/squeezenet).
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>

#include "conv_cases.h"
#include "squeezenet_input.h"

namespace {

const std::string kDir = std::string(QGPU_SHARED_DIR) + "/models/squeezenet/";

bool have_models() { return std::ifstream(kDir + "squeezenet_v1.1.param").good(); }

struct NetRun {
    qgpu_status status = QGPU_OK;
    std::string error, summary;
    std::vector<float> prob;
};

NetRun run_squeezenet(qgpu_context ctx, qgpu_precision precision, const std::string& param,
                      const std::string& bin, const std::string& table, const std::vector<float>& input,
                      const char* output = "prob") {
    NetRun r;
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    const std::string p = kDir + param, b = kDir + bin, t = kDir + table;
    d.param_path = p.c_str();
    d.bin_path = b.c_str();
    d.table_path = table.empty() ? nullptr : t.c_str();
    d.precision = precision;
    qgpu_net net = nullptr;
    r.status = qgpu_net_create(ctx, &d, &net);
    if (r.status == QGPU_OK) r.status = qgpu_net_set_input(net, "data", input.data(), input.size());
    if (r.status == QGPU_OK) r.status = qgpu_net_run(net);
    if (r.status == QGPU_OK) {
        r.prob.resize(1000);
        r.status = qgpu_net_get_output(net, output, r.prob.data(), r.prob.size());
        r.summary = qgpu_net_summary(net);
    }
    if (r.status != QGPU_OK) r.error = qgpu_last_error();
    qgpu_net_destroy(net);
    return r;
}

int top1(const std::vector<float>& p) { return int(std::max_element(p.begin(), p.end()) - p.begin()); }

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < a.size(); ++i) { ab += double(a[i]) * b[i]; aa += double(a[i]) * a[i]; bb += double(b[i]) * b[i]; }
    return ab / std::sqrt(aa * bb);
}

std::vector<float> cat_input() {
    int w = 0, h = 0;
    std::vector<unsigned char> rgb;
    REQUIRE(squeezenet::read_ppm(kDir + "img/cat.ppm", &w, &h, &rgb));
    return squeezenet::preprocess(w, h, rgb);
}

}  // namespace

TEST_CASE("net: SqueezeNet fp32 matches ncnn's reference output", "[net][squeezenet]") {
    if (!have_models()) { WARN("skipped: " << kDir << " not found"); return; }
    std::string why;
    qgpu_context ctx = cases::make_context(QGPU_BACKEND_CPU, nullptr, 2, &why);
    REQUIRE(ctx);
    const NetRun r = run_squeezenet(ctx, QGPU_PRECISION_FLOAT32, "squeezenet_v1.1.param", "squeezenet_v1.1.bin", "", cat_input());
    INFO(r.error);
    REQUIRE(r.status == QGPU_OK);
    // ncnn a4d2ea1d, same image: 281=0.574018 285=0.220610 282=0.198018. Our resize is a plain
    // bilinear (ncnn's is fixed-point), so the probabilities agree to about 0.01.
    CHECK(top1(r.prob) == 281);
    CHECK(std::fabs(r.prob[281] - 0.574018f) < 0.02f);
    CHECK(std::fabs(r.prob[285] - 0.220610f) < 0.02f);
    CHECK(std::fabs(r.prob[282] - 0.198018f) < 0.02f);
    CHECK(std::accumulate(r.prob.begin(), r.prob.end(), 0.0) == Approx(1.0).epsilon(1e-4));
    qgpu_context_destroy(ctx);
}

TEST_CASE("net: SqueezeNet int8 with an ncnn table agrees with fp32", "[net][squeezenet]") {
    if (!have_models()) { WARN("skipped: " << kDir << " not found"); return; }
    std::string why;
    qgpu_context ctx = cases::make_context(QGPU_BACKEND_CPU, nullptr, 2, &why);
    REQUIRE(ctx);
    const std::vector<float> input = cat_input();
    const NetRun f = run_squeezenet(ctx, QGPU_PRECISION_FLOAT32, "squeezenet_v1.1.param", "squeezenet_v1.1.bin", "", input);
    REQUIRE(f.status == QGPU_OK);
    for (const char* param : {"squeezenet_v1.1.param", "squeezenet_v1.1.assets.param"}) {
        for (const char* table : {"squeezenet_v1.1.kl.table", "squeezenet_v1.1.2018-converted.table"}) {
            INFO(param << " + " << table);
            const NetRun q = run_squeezenet(ctx, QGPU_PRECISION_INT8, param, "squeezenet_v1.1.bin", table, input);
            INFO(q.error);
            REQUIRE(q.status == QGPU_OK);
            CHECK(top1(q.prob) == top1(f.prob));
            const double cos = cosine(q.prob, f.prob);
            WARN("int8 vs fp32 cosine similarity " << cos << " (" << param << ", " << table << ")");
            CHECK(cos > 0.99);
            // every conv ran in int8 and int8 flowed between them
            CHECK(q.summary.find("fp32 conv") == std::string::npos);
            CHECK(q.summary.find("fire9/concat: concat int8") != std::string::npos);
            CHECK(q.summary.find("quantize ") == std::string::npos);  // no float round trips inside
        }
    }
    // ncnn2int8's own int8 model (int8 weights and scales in the .bin, no table needed)
    const NetRun m = run_squeezenet(ctx, QGPU_PRECISION_INT8, "squeezenet_v1.1_int8.param", "squeezenet_v1.1_int8.bin", "", input);
    INFO(m.error);
    REQUIRE(m.status == QGPU_OK);
    CHECK(top1(m.prob) == 281);
    qgpu_context_destroy(ctx);
}

TEST_CASE("net: one thread and two threads give identical int8 results", "[net][squeezenet]") {
    if (!have_models()) { WARN("skipped: " << kDir << " not found"); return; }
    std::string why;
    qgpu_context c1 = cases::make_context(QGPU_BACKEND_CPU, "scalar", 1, &why);
    qgpu_context c2 = cases::make_context(QGPU_BACKEND_CPU, nullptr, 2, &why);
    REQUIRE((c1 && c2));
    const std::vector<float> input = cat_input();
    const NetRun a = run_squeezenet(c1, QGPU_PRECISION_INT8, "squeezenet_v1.1.param", "squeezenet_v1.1.bin", "squeezenet_v1.1.kl.table", input);
    const NetRun b = run_squeezenet(c2, QGPU_PRECISION_INT8, "squeezenet_v1.1.param", "squeezenet_v1.1.bin", "squeezenet_v1.1.kl.table", input);
    REQUIRE(a.status == QGPU_OK);
    REQUIRE(b.status == QGPU_OK);
    CHECK(a.prob == b.prob);  // the default CPU variant is byte-identical to the scalar reference
    qgpu_context_destroy(c1);
    qgpu_context_destroy(c2);
}

TEST_CASE("net: errors are reported, never crashed on", "[net]") {
    std::string why;
    qgpu_context ctx = cases::make_context(QGPU_BACKEND_CPU, nullptr, 1, &why);
    REQUIRE(ctx);
    qgpu_net net = nullptr;
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    CHECK(qgpu_net_create(ctx, &d, &net) == QGPU_ERROR_INVALID_ARGUMENT);  // no paths
    CHECK(qgpu_net_create(nullptr, &d, &net) == QGPU_ERROR_INVALID_ARGUMENT);
    CHECK(qgpu_net_create(ctx, nullptr, &net) == QGPU_ERROR_INVALID_ARGUMENT);
    d.param_path = "/nonexistent.param";
    d.bin_path = "/nonexistent.bin";
    CHECK(qgpu_net_create(ctx, &d, &net) == QGPU_ERROR_IO);
    CHECK(net == nullptr);
    CHECK(qgpu_net_run(nullptr) == QGPU_ERROR_INVALID_ARGUMENT);
    qgpu_net_destroy(nullptr);

    // hand-written graphs: an unsupported layer, and int8 without any scale
    const std::string p = cases::temp_path("test_net.param"), b = cases::temp_path("test_net.bin");
    auto write = [](const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; };
    write(p, "7767517\n3 4\nInput data 0 1 data 0=4 1=4 2=1\nSplit s 1 2 data a b\nEltwise e 2 1 a b out 0=0\n");  // product: not supported
    write(b, "");
    d.param_path = p.c_str();
    d.bin_path = b.c_str();
    d.precision = QGPU_PRECISION_FLOAT32;
    CHECK(qgpu_net_create(ctx, &d, &net) == QGPU_ERROR_UNSUPPORTED);
    CHECK(std::string(qgpu_last_error()).find("Eltwise") != std::string::npos);
    // a 1x1 conv with weights 0.5 and bias 1 (fp32 bin: tag 0, 4 weights... here 1)
    write(p, "7767517\n2 2\nInput data 0 1 data 0=2 1=2 2=1\nConvolution c 1 1 data out 0=1 1=1 5=1 6=1\n");
    std::string bin(12, '\0');
    const float w = 0.5f, bias = 1.0f;
    std::memcpy(&bin[4], &w, 4);
    std::memcpy(&bin[8], &bias, 4);
    write(b, bin);
    REQUIRE(qgpu_net_create(ctx, &d, &net) == QGPU_OK);
    const float x[4] = {1, 2, 3, 4};
    float y[4] = {0};
    REQUIRE(qgpu_net_set_input(net, "data", x, 4) == QGPU_OK);
    CHECK(qgpu_net_set_input(net, "data", x, 3) == QGPU_ERROR_INVALID_ARGUMENT);
    CHECK(qgpu_net_set_input(net, "nope", x, 4) == QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE(qgpu_net_run(net) == QGPU_OK);
    REQUIRE(qgpu_net_get_output(net, "out", y, 4) == QGPU_OK);
    CHECK((y[0] == 1.5f && y[1] == 2.0f && y[2] == 2.5f && y[3] == 3.0f));
    int32_t shape[4];
    REQUIRE(qgpu_net_get_blob_shape(net, "out", shape) == QGPU_OK);
    CHECK((shape[0] == 1 && shape[1] == 1 && shape[2] == 2 && shape[3] == 2));
    qgpu_net_destroy(net);
    d.precision = QGPU_PRECISION_INT8;  // no table, no int8 scales in the model
    CHECK(qgpu_net_create(ctx, &d, &net) == QGPU_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(qgpu_last_error()).find("calibration table") != std::string::npos);
    std::remove(p.c_str());
    std::remove(b.c_str());
    qgpu_context_destroy(ctx);
}

TEST_CASE("net: SqueezeNet int8 on Vulkan and OpenCL equals the CPU's, fp32 agrees", "[net][squeezenet][gpu]") {
    if (!have_models()) { WARN("skipped: " << kDir << " not found"); return; }
    std::string why;
    qgpu_context cpu = cases::make_context(QGPU_BACKEND_CPU, nullptr, 2, &why);
    REQUIRE(cpu);
    const std::vector<float> input = cat_input();
    const char* table = "squeezenet_v1.1.kl.table";
    // pool10 is the last blob before the float softmax: int8 conv10 -> dequantize -> average
    const NetRun ci = run_squeezenet(cpu, QGPU_PRECISION_INT8, "squeezenet_v1.1.param", "squeezenet_v1.1.bin", table, input, "pool10");
    const NetRun cf = run_squeezenet(cpu, QGPU_PRECISION_FLOAT32, "squeezenet_v1.1.param", "squeezenet_v1.1.bin", "", input, "pool10");
    REQUIRE(ci.status == QGPU_OK);
    REQUIRE(cf.status == QGPU_OK);
    for (const cases::GpuTarget& t : cases::gpu_targets()) {
        qgpu_context ctx = cases::open_gpu_target(t);
        if (!ctx) continue;
        const std::string& name = t.name;
        INFO(name);
        const NetRun gi = run_squeezenet(ctx, QGPU_PRECISION_INT8, "squeezenet_v1.1.param", "squeezenet_v1.1.bin", table, input, "pool10");
        INFO(gi.error);
        REQUIRE(gi.status == QGPU_OK);
        CHECK(gi.summary == ci.summary);  // the same graph: int8 from conv1 to conv10
        CHECK(gi.prob == ci.prob);        // every int8 layer byte-identical, the float tail too
        const NetRun gf = run_squeezenet(ctx, QGPU_PRECISION_FLOAT32, "squeezenet_v1.1.param", "squeezenet_v1.1.bin", "", input, "pool10");
        INFO(gf.error);
        REQUIRE(gf.status == QGPU_OK);
        double max_diff = 0;
        for (size_t i = 0; i < cf.prob.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(gf.prob[i] - cf.prob[i])));
        CHECK(max_diff < 1e-3);  // fp32: summation order only
        CHECK(top1(gf.prob) == top1(cf.prob));
        // and the whole net with its softmax: the same class
        const NetRun gp = run_squeezenet(ctx, QGPU_PRECISION_INT8, "squeezenet_v1.1.param", "squeezenet_v1.1.bin", table, input);
        REQUIRE(gp.status == QGPU_OK);
        CHECK(top1(gp.prob) == 281);
        qgpu_context_destroy(ctx);
    }
    qgpu_context_destroy(cpu);
}
