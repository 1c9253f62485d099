// ONNX layers beyond the Fashion-MNIST CNN's own: BatchNormalization (folded into the conv
// before it, or a 1x1 depthwise conv), Clip / ReLU6 (fused into the conv), Reshape to [N, C].
// Each is checked against an equivalent model written here with the plain layers.
#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>

#include "conv_cases.h"
#include "fashion_data.h"

#ifdef QGPU_TEST_WITH_ONNX
#include <onnx/onnx_pb.h>

namespace {

const std::string kDir = std::string(QGPU_SHARED_DIR) + "/models/fashion_cnn/";

onnx::ModelProto load_fashion() {
    onnx::ModelProto m;
    std::ifstream f(kDir + "model.onnx", std::ios::binary);
    REQUIRE(m.ParseFromIstream(&f));
    return m;
}

std::string save(const onnx::ModelProto& m, const std::string& name) {
    const std::string path = cases::temp_path("layers_" + name + ".onnx");
    std::ofstream out(path, std::ios::binary);
    REQUIRE(m.SerializeToOstream(&out));
    return path;
}

onnx::TensorProto floats(const std::string& name, const std::vector<float>& v, std::vector<int64_t> dims) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t.add_dims(d);
    for (float x : v) t.add_float_data(x);
    return t;
}

onnx::TensorProto* initializer(onnx::GraphProto* g, const std::string& name) {
    for (auto& t : *g->mutable_initializer())
        if (t.name() == name) return &t;
    FAIL("no initializer " << name);
    return nullptr;
}

std::vector<float> raw_floats(const onnx::TensorProto& t) {
    std::vector<float> v(t.raw_data().size() / 4);
    std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);
    return v;
}

void set_raw(onnx::TensorProto* t, const std::vector<float>& v) {
    t->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
}

// Inserts `node` after the node producing `tensor`, renaming its consumers' input to `out`.
void insert_after(onnx::GraphProto* g, const std::string& tensor, onnx::NodeProto node, const std::string& out) {
    std::vector<onnx::NodeProto> nodes;
    for (const auto& n : g->node()) {
        onnx::NodeProto copy = n;
        for (int i = 0; i < copy.input_size(); ++i)
            if (copy.input(i) == tensor) copy.set_input(i, out);
        nodes.push_back(copy);
        for (const auto& o : n.output())
            if (o == tensor) nodes.push_back(node);
    }
    g->clear_node();
    for (const auto& n : nodes) *g->add_node() = n;
}

using Result = fashion::NetRun;

// The net of `model` on the CPU; INT8 calibrates on the 16 images themselves first.
Result run(const std::string& model, qgpu_precision precision, const std::vector<float>& x) {
    std::string why;
    qgpu_context ctx = cases::make_context(QGPU_BACKEND_CPU, nullptr, 1, &why);
    REQUIRE(ctx);
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    d.param_path = model.c_str();
    d.precision = precision;
    d.batch = 16;
    qgpu_table table = nullptr;
    REQUIRE(qgpu_table_create(&table) == QGPU_OK);
    Result r;
    if (precision == QGPU_PRECISION_INT8) {
        qgpu_net_desc f = d;
        f.precision = QGPU_PRECISION_FLOAT32;
        qgpu_net net = nullptr;
        r.status = qgpu_net_create(ctx, &f, &net);
        if (r.status == QGPU_OK) r.status = qgpu_net_calibrate(net, "input", x.data(), 16, nullptr, table);
        if (r.status != QGPU_OK) r.error = qgpu_last_error();
        qgpu_net_destroy(net);
        d.table = table;
    }
    if (r.status == QGPU_OK) r = fashion::run_net(ctx, d, x);
    qgpu_table_destroy(table);
    qgpu_context_destroy(ctx);
    return r;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

std::vector<float> inputs() {
    std::ifstream f(kDir + "ref_inputs.f32", std::ios::binary);
    std::vector<float> x(16 * 784);
    f.read(reinterpret_cast<char*>(x.data()), std::streamsize(x.size() * 4));
    REQUIRE(f.good());
    return x;
}

// gamma, beta, mean, var of a random BatchNorm over `c` channels
std::vector<std::vector<float>> random_bn(int c, std::mt19937& rng) {
    std::uniform_real_distribution<float> g(0.5f, 1.5f), b(-0.3f, 0.3f), m(-0.2f, 0.2f), v(0.5f, 2.0f);
    std::vector<std::vector<float>> p(4, std::vector<float>(size_t(c)));
    for (int i = 0; i < c; ++i) {
        p[0][size_t(i)] = g(rng); p[1][size_t(i)] = b(rng); p[2][size_t(i)] = m(rng); p[3][size_t(i)] = v(rng);
    }
    return p;
}

onnx::NodeProto bn_node(onnx::GraphProto* g, const std::string& name, const std::string& in,
                        const std::vector<std::vector<float>>& p) {
    const int64_t c = int64_t(p[0].size());
    const char* parts[4] = {"_gamma", "_beta", "_mean", "_var"};
    onnx::NodeProto n;
    n.set_op_type("BatchNormalization");
    n.set_name(name);
    n.add_input(in);
    for (int k = 0; k < 4; ++k) {
        *g->add_initializer() = floats(name + parts[k], p[size_t(k)], {c});
        n.add_input(name + parts[k]);
    }
    n.add_output(name + "_out");
    onnx::AttributeProto* eps = n.add_attribute();
    eps->set_name("epsilon");
    eps->set_type(onnx::AttributeProto::FLOAT);
    eps->set_f(1e-3f);
    return n;
}

// y = a x + b as qgpu computes it (double, rounded to float)
void bn_coefficients(const std::vector<std::vector<float>>& p, std::vector<float>* a, std::vector<float>* b) {
    for (size_t c = 0; c < p[0].size(); ++c) {
        const double ac = double(p[0][c]) / std::sqrt(double(p[3][c]) + double(1e-3f));
        a->push_back(float(ac));
        b->push_back(float(double(p[1][c]) - double(p[2][c]) * ac));
    }
}

}  // namespace

TEST_CASE("onnx layers: BatchNormalization folds into the conv or becomes a depthwise conv", "[net][onnx][layers]") {
    if (!std::ifstream(kDir + "model.onnx").good()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    const std::vector<float> x = inputs();
    std::mt19937 rng(7);
    // after conv2 (its only consumer): folded into conv2's weights and bias
    const auto p = random_bn(32, rng);
    onnx::ModelProto with_bn = load_fashion();
    insert_after(with_bn.mutable_graph(), "/conv2/Conv_output_0",
                 bn_node(with_bn.mutable_graph(), "bn2", "/conv2/Conv_output_0", p), "bn2_out");
    onnx::ModelProto folded = load_fashion();
    std::vector<float> a, b;
    bn_coefficients(p, &a, &b);
    {
        onnx::TensorProto* w = initializer(folded.mutable_graph(), "conv2.weight");
        onnx::TensorProto* bias = initializer(folded.mutable_graph(), "conv2.bias");
        std::vector<float> wv = raw_floats(*w), bv = raw_floats(*bias);
        const size_t per = wv.size() / 32;
        for (size_t k = 0; k < wv.size(); ++k) wv[k] *= a[k / per];
        for (size_t c = 0; c < 32; ++c) bv[c] = bv[c] * a[c] + b[c];
        set_raw(w, wv);
        set_raw(bias, bv);
    }
    const Result r_bn = run(save(with_bn, "bn_fold"), QGPU_PRECISION_FLOAT32, x);
    const Result r_folded = run(save(folded, "bn_folded_by_hand"), QGPU_PRECISION_FLOAT32, x);
    INFO(r_bn.error);
    REQUIRE(r_bn.status == QGPU_OK);
    REQUIRE(r_folded.status == QGPU_OK);
    CHECK(r_bn.logits == r_folded.logits);
    CHECK(r_bn.summary == r_folded.summary);  // no extra layer
    const Result i_bn = run(save(with_bn, "bn_fold"), QGPU_PRECISION_INT8, x);
    REQUIRE(i_bn.status == QGPU_OK);
    CHECK(max_diff(i_bn.logits, r_bn.logits) < 1.0);

    // after a ReLU (the conv has another consumer in between): a 1x1 depthwise conv
    onnx::ModelProto standalone = load_fashion();
    insert_after(standalone.mutable_graph(), "/relu_conv1/Relu_output_0",
                 bn_node(standalone.mutable_graph(), "bn_r", "/relu_conv1/Relu_output_0", p), "bn_r_out");
    onnx::ModelProto as_dw = load_fashion();
    {
        onnx::GraphProto* g = as_dw.mutable_graph();
        *g->add_initializer() = floats("bn_r_w", a, {32, 1, 1, 1});
        *g->add_initializer() = floats("bn_r_b", b, {32});
        onnx::NodeProto conv;
        conv.set_op_type("Conv");
        conv.set_name("bn_r");
        conv.add_input("/relu_conv1/Relu_output_0"); conv.add_input("bn_r_w"); conv.add_input("bn_r_b");
        conv.add_output("bn_r_out");
        onnx::AttributeProto* group = conv.add_attribute();
        group->set_name("group");
        group->set_type(onnx::AttributeProto::INT);
        group->set_i(32);
        insert_after(g, "/relu_conv1/Relu_output_0", conv, "bn_r_out");
    }
    const Result s_bn = run(save(standalone, "bn_dw"), QGPU_PRECISION_FLOAT32, x);
    const Result s_dw = run(save(as_dw, "bn_dw_by_hand"), QGPU_PRECISION_FLOAT32, x);
    INFO(s_bn.error);
    REQUIRE(s_bn.status == QGPU_OK);
    REQUIRE(s_dw.status == QGPU_OK);
    CHECK(s_bn.logits == s_dw.logits);
    CHECK(s_bn.summary.find("bn_r: fp32 conv 1x1 s1 g32 32->32") != std::string::npos);
    // and in int8 (the depthwise conv quantizes like any other)
    const Result s_int8 = run(save(standalone, "bn_dw"), QGPU_PRECISION_INT8, x);
    INFO(s_int8.error);
    REQUIRE(s_int8.status == QGPU_OK);
    CHECK(s_int8.summary.find("bn_r: int8 conv 1x1 s1 g32") != std::string::npos);

    // malformed: a variance that makes var + eps negative is a load error
    onnx::ModelProto bad = with_bn;
    {
        std::vector<float> v(32, -1.0f);
        *initializer(bad.mutable_graph(), "bn2_var") = floats("bn2_var", v, {32});
    }
    const Result r_bad = run(save(bad, "bn_bad"), QGPU_PRECISION_FLOAT32, x);
    CHECK(r_bad.status == QGPU_ERROR_UNSUPPORTED);
    CHECK(r_bad.error.find("bn2") != std::string::npos);
}

TEST_CASE("onnx layers: Clip fuses into the conv, Reshape to [N, C] flattens", "[net][onnx][layers]") {
    if (!std::ifstream(kDir + "model.onnx").good()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    const std::vector<float> x = inputs();
    const Result base = run(kDir + "model.onnx", QGPU_PRECISION_FLOAT32, x);
    REQUIRE(base.status == QGPU_OK);
    // Clip(min, max) in place of a Relu: with max = FLT_MAX it is the Relu, to the bit
    const auto clip_model = [](float lo, float hi, const std::string& tensor_before) {
        onnx::ModelProto m = load_fashion();
        onnx::GraphProto* g = m.mutable_graph();
        *g->add_initializer() = floats("clip_lo", {lo}, {});
        *g->add_initializer() = floats("clip_hi", {hi}, {});
        for (auto& n : *g->mutable_node())
            if (n.output(0) == tensor_before) {
                n.set_op_type("Clip");
                n.add_input("clip_lo");
                n.add_input("clip_hi");
            }
        return m;
    };
    const Result relu_like = run(save(clip_model(0.0f, FLT_MAX, "/relu_conv2/Relu_output_0"), "clip_relu"),
                                 QGPU_PRECISION_FLOAT32, x);
    INFO(relu_like.error);
    REQUIRE(relu_like.status == QGPU_OK);
    CHECK(relu_like.logits == base.logits);
    for (qgpu_precision precision : {QGPU_PRECISION_FLOAT32, QGPU_PRECISION_INT8}) {
        const Result relu6 = run(save(clip_model(0.0f, 6.0f, "/relu_conv2/Relu_output_0"), "clip6"), precision, x);
        INFO(relu6.error);
        REQUIRE(relu6.status == QGPU_OK);
        CHECK(relu6.summary.find("Clip") == std::string::npos);  // fused: no layer of its own
    }
    // a Clip that follows no conv is refused by name
    const Result alone = run(save(clip_model(0.0f, 6.0f, "/Relu_output_0"), "clip_alone"), QGPU_PRECISION_FLOAT32, x);
    CHECK(alone.status == QGPU_ERROR_UNSUPPORTED);
    CHECK(alone.error.find("Clip") != std::string::npos);

    // Flatten written as Reshape(x, [0, -1])
    onnx::ModelProto reshape = load_fashion();
    {
        onnx::GraphProto* g = reshape.mutable_graph();
        onnx::TensorProto shape;
        shape.set_name("flat_shape");
        shape.set_data_type(onnx::TensorProto::INT64);
        shape.add_dims(2);
        shape.add_int64_data(0);
        shape.add_int64_data(-1);
        *g->add_initializer() = shape;
        for (auto& n : *g->mutable_node())
            if (n.op_type() == "Flatten") {
                n.set_op_type("Reshape");
                n.clear_attribute();
                n.add_input("flat_shape");
            }
    }
    const Result r = run(save(reshape, "reshape"), QGPU_PRECISION_FLOAT32, x);
    INFO(r.error);
    REQUIRE(r.status == QGPU_OK);
    CHECK(r.logits == base.logits);
}

#endif
