// ONNX QDQ models (QuantizeLinear/DequantizeLinear pairs as ONNX Runtime's quantizer writes
// them): the Fashion-MNIST CNN is turned into a QDQ model here, with int8 per-channel weights,
// int32 biases and per-tensor activation scales, and must run int8 with exactly the arithmetic of
// the float model + the same scales given as a calibration table.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

#include "conv_cases.h"
#include "fashion_data.h"

#ifdef QGPU_TEST_WITH_ONNX
#include <onnx/onnx_pb.h>

namespace {

const std::string kDir = std::string(QGPU_SHARED_DIR) + "/models/fashion_cnn/";

std::string tmp_path(const std::string& name) {
    return cases::temp_path("qdq_" + name);
}

onnx::TensorProto scalar_or_vector(const std::string& name, int type, const std::vector<int64_t>& dims) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(type);
    for (int64_t d : dims) t.add_dims(d);
    return t;
}

struct QdqOptions {
    bool uint8_activations = false;  // ORT's default: uint8 with zero point 128 (here: symmetric)
    bool corrupt_pair = false;       // a DequantizeLinear with another scale than its Quantize
    int32_t u8_zero_point = 128;     // with uint8_activations
};

// Rewrites model.onnx: before every Conv/Gemm, x -> QuantizeLinear -> DequantizeLinear; the
// weights become DequantizeLinear(int8, per-channel scales, axis 0), the biases
// DequantizeLinear(int32, s_x * s_w). Activation scale s = 1 / (127 / threshold) in float, the
// same value the int8 net derives from an ncnn table entry 127 / threshold.
// `float_twin` (when not null) gets the float model with the biases the QDQ model stores
// (float(int32) * scale): a float-output layer adds its float bias, so only with the same
// biases can the two nets agree to the bit.
std::string write_qdq_model(const QdqOptions& o, std::map<std::string, float>* ncnn_scales,
                            std::string* float_twin = nullptr) {
    onnx::ModelProto m;
    {
        std::ifstream f(kDir + "model.onnx", std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        REQUIRE(m.ParseFromString(bytes));
    }
    const std::map<std::string, double> thresholds = fashion::reference_thresholds("minmax");
    REQUIRE(thresholds.size() == 7);
    onnx::ModelProto twin = m;
    onnx::GraphProto* g = m.mutable_graph();
    std::map<std::string, const onnx::TensorProto*> inits;
    for (const auto& t : g->initializer()) inits[t.name()] = &t;
    std::vector<onnx::TensorProto> new_inits;
    std::vector<onnx::NodeProto> nodes;
    for (const onnx::NodeProto& n : g->node()) {
        if (n.op_type() != "Conv" && n.op_type() != "Gemm") {
            nodes.push_back(n);
            continue;
        }
        const std::string& name = n.name();
        REQUIRE(thresholds.count(name));
        const float ncnn_scale = float(127.0 / thresholds.at(name));
        (*ncnn_scales)[name] = ncnn_scale;
        const float s_x = 1.0f / ncnn_scale;
        // activation pair
        onnx::TensorProto xs = scalar_or_vector(name + "_x_scale", onnx::TensorProto::FLOAT, {});
        xs.add_float_data(s_x);
        onnx::TensorProto xz = scalar_or_vector(name + "_x_zp", o.uint8_activations ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8, {});
        xz.add_int32_data(o.uint8_activations ? o.u8_zero_point : 0);
        new_inits.push_back(xs);
        new_inits.push_back(xz);
        onnx::NodeProto q;
        q.set_op_type("QuantizeLinear");
        q.set_name(name + "_q");
        q.add_input(n.input(0)); q.add_input(xs.name()); q.add_input(xz.name());
        q.add_output(name + "_xq");
        nodes.push_back(q);
        onnx::NodeProto dq;
        dq.set_op_type("DequantizeLinear");
        dq.set_name(name + "_dq");
        dq.add_input(name + "_xq"); dq.add_input(xs.name()); dq.add_input(xz.name());
        dq.add_output(name + "_xdq");
        if (o.corrupt_pair) {
            onnx::TensorProto other = xs;
            other.set_name(name + "_x_scale2");
            other.set_float_data(0, s_x * 2.0f);
            new_inits.push_back(other);
            dq.set_input(1, other.name());
        }
        nodes.push_back(dq);
        // weights: per output channel (axis 0; the Gemm has transB = 1, so [out, in] too)
        const onnx::TensorProto& w = *inits.at(n.input(1));
        std::vector<float> wf(size_t(w.raw_data().size() / 4));
        std::memcpy(wf.data(), w.raw_data().data(), wf.size() * 4);
        const int32_t outs = int32_t(w.dims(0));
        const size_t per = wf.size() / size_t(outs);
        std::vector<int8_t> wq(wf.size());
        std::vector<float> ws(static_cast<size_t>(outs));
        REQUIRE(qgpu_quantize_weights(wf.data(), outs, per, 0, wq.data(), ws.data()) == QGPU_OK);
        onnx::TensorProto wqt = scalar_or_vector(name + "_w_q", onnx::TensorProto::INT8,
                                                 std::vector<int64_t>(w.dims().begin(), w.dims().end()));
        wqt.set_raw_data(std::string(reinterpret_cast<const char*>(wq.data()), wq.size()));
        onnx::TensorProto wst = scalar_or_vector(name + "_w_scale", onnx::TensorProto::FLOAT, {outs});
        for (float s : ws) wst.add_float_data(s);
        onnx::TensorProto wzt = scalar_or_vector(name + "_w_zp", onnx::TensorProto::INT8, {outs});
        for (int32_t c = 0; c < outs; ++c) wzt.add_int32_data(0);
        new_inits.push_back(wqt); new_inits.push_back(wst); new_inits.push_back(wzt);
        onnx::NodeProto wdq;
        wdq.set_op_type("DequantizeLinear");
        wdq.set_name(name + "_w_dq");
        wdq.add_input(wqt.name()); wdq.add_input(wst.name()); wdq.add_input(wzt.name());
        wdq.add_output(name + "_w");
        onnx::AttributeProto* axis = wdq.add_attribute();
        axis->set_name("axis");
        axis->set_type(onnx::AttributeProto::INT);
        axis->set_i(0);
        nodes.push_back(wdq);
        // bias: int32 at scale s_x * s_w (what ORT writes)
        const onnx::TensorProto& b = *inits.at(n.input(2));
        std::vector<float> bf(static_cast<size_t>(outs));
        std::memcpy(bf.data(), b.raw_data().data(), bf.size() * 4);
        onnx::TensorProto bq = scalar_or_vector(name + "_b_q", onnx::TensorProto::INT32, {outs});
        onnx::TensorProto bs = scalar_or_vector(name + "_b_scale", onnx::TensorProto::FLOAT, {outs});
        std::vector<float> dequantized_bias(bf.size());
        for (int32_t c = 0; c < outs; ++c) {
            const double scale = double(s_x) * double(ws[size_t(c)]);
            const int32_t q_b = int32_t(std::lround(double(bf[size_t(c)]) / scale));
            bq.add_int32_data(q_b);
            bs.add_float_data(float(scale));
            dequantized_bias[size_t(c)] = float(q_b) * float(scale);  // DequantizeLinear
        }
        for (auto& t : *twin.mutable_graph()->mutable_initializer())
            if (t.name() == n.input(2))
                t.set_raw_data(std::string(reinterpret_cast<const char*>(dequantized_bias.data()), dequantized_bias.size() * 4));
        new_inits.push_back(bq); new_inits.push_back(bs);
        onnx::NodeProto bdq;
        bdq.set_op_type("DequantizeLinear");
        bdq.set_name(name + "_b_dq");
        bdq.add_input(bq.name()); bdq.add_input(bs.name());
        bdq.add_output(name + "_b");
        *bdq.add_attribute() = *axis;
        nodes.push_back(bdq);
        onnx::NodeProto conv = n;
        conv.set_input(0, name + "_xdq");
        conv.set_input(1, name + "_w");
        conv.set_input(2, name + "_b");
        nodes.push_back(conv);
    }
    g->clear_node();
    for (const auto& n : nodes) *g->add_node() = n;
    for (const auto& t : new_inits) *g->add_initializer() = t;
    const std::string path = tmp_path(std::string(o.uint8_activations ? "u8_" + std::to_string(o.u8_zero_point) : "s8") +
                                      (o.corrupt_pair ? "_bad" : "") + ".onnx");
    std::ofstream out(path, std::ios::binary);
    REQUIRE(m.SerializeToOstream(&out));
    if (float_twin) {
        *float_twin = tmp_path("float_twin.onnx");
        std::ofstream f(*float_twin, std::ios::binary);
        REQUIRE(twin.SerializeToOstream(&f));
    }
    return path;
}

std::vector<float> test_images(int count) {
    std::ifstream f(kDir + "ref_inputs.f32", std::ios::binary);
    std::vector<float> x(size_t(count) * 784);
    f.read(reinterpret_cast<char*>(x.data()), std::streamsize(x.size() * 4));
    REQUIRE(f.good());
    return x;
}

using fashion::NetRun;

NetRun run_net(qgpu_context ctx, const std::string& model, qgpu_table table, const std::vector<float>& x) {
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    d.param_path = model.c_str();
    d.precision = QGPU_PRECISION_INT8;
    d.table = table;
    d.batch = int32_t(x.size() / 784);
    return fashion::run_net(ctx, d, x);
}

}  // namespace

TEST_CASE("onnx qdq: a QDQ model runs int8 with its own scales, equal to the float model + table", "[net][onnx][qdq]") {
    if (!std::ifstream(kDir + "model.onnx").good()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    std::string why;
    qgpu_context ctx = cases::make_context(QGPU_BACKEND_CPU, nullptr, 2, &why);
    REQUIRE(ctx);
    const std::vector<float> x = test_images(16);
    std::map<std::string, float> ncnn_scales;
    std::string twin;
    const std::string s8 = write_qdq_model({}, &ncnn_scales, &twin);
    const NetRun qdq = run_net(ctx, s8, nullptr, x);
    INFO(qdq.error);
    REQUIRE(qdq.status == QGPU_OK);

    // the float model (with the QDQ biases) and the same activation scales as a table: the
    // weights quantize to the same int8 values (qgpu_quantize_weights is the conv's own
    // quantizer), the biases to the same int32 values, so every layer computes the same bytes
    qgpu_table table = nullptr;
    REQUIRE(qgpu_table_create(&table) == QGPU_OK);
    for (const auto& s : ncnn_scales) REQUIRE(qgpu_table_set_activation_scale(table, s.first.c_str(), s.second) == QGPU_OK);
    const NetRun ref = run_net(ctx, twin, table, x);
    REQUIRE(ref.status == QGPU_OK);
    CHECK(qdq.logits == ref.logits);

    // uint8 activations with zero point 128 are the same int8 values shifted by 128: same result
    const std::string u8 = write_qdq_model({true, false}, &ncnn_scales);
    const NetRun u = run_net(ctx, u8, nullptr, x);
    INFO(u.error);
    REQUIRE(u.status == QGPU_OK);
    CHECK(u.logits == qdq.logits);

    // an asymmetric zero point (int8 zero point -28): another grid, the same classes
    const NetRun asym = run_net(ctx, write_qdq_model({true, false, 100}, &ncnn_scales), nullptr, x);
    INFO(asym.error);
    REQUIRE(asym.status == QGPU_OK);
    CHECK(asym.logits != qdq.logits);
    int agree = 0;
    for (size_t i = 0; i < 16; ++i) {
        const auto top = [](const std::vector<float>& l, size_t k) {
            return std::max_element(l.begin() + 10 * k, l.begin() + 10 * k + 10) - (l.begin() + 10 * k);
        };
        agree += top(asym.logits, i) == top(qdq.logits, i);
    }
    CHECK(agree >= 15);

    // a table given explicitly overrides the model's scales (here: the same values)
    const NetRun overridden = run_net(ctx, s8, table, x);
    REQUIRE(overridden.status == QGPU_OK);
    CHECK(overridden.logits == ref.logits);

    // a pair whose DequantizeLinear has another scale is refused, naming the node
    const std::string bad = write_qdq_model({false, true}, &ncnn_scales);
    const NetRun b = run_net(ctx, bad, nullptr, x);
    CHECK(b.status == QGPU_ERROR_UNSUPPORTED);
    CHECK(b.error.find("_dq") != std::string::npos);
    qgpu_table_destroy(table);
    qgpu_context_destroy(ctx);
}

TEST_CASE("onnx qdq: malformed quantization nodes are load errors", "[net][onnx][qdq]") {
    if (!std::ifstream(kDir + "model.onnx").good()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    std::string why;
    qgpu_context ctx = cases::make_context(QGPU_BACKEND_CPU, nullptr, 1, &why);
    REQUIRE(ctx);
    std::map<std::string, float> scales;
    const std::string good = write_qdq_model({}, &scales);
    onnx::ModelProto base;
    {
        std::ifstream f(good, std::ios::binary);
        REQUIRE(base.ParseFromIstream(&f));
    }
    // each mutation of the first conv's activation scale / weights must fail cleanly
    struct Mutation {
        const char* what;
        void (*apply)(onnx::GraphProto*);
    };
    const Mutation mutations[] = {
        {"zero scale", [](onnx::GraphProto* g) {
             for (auto& t : *g->mutable_initializer())
                 if (t.name() == "/conv1/Conv_x_scale") t.set_float_data(0, 0.0f);
         }},
        {"per-axis activation scale", [](onnx::GraphProto* g) {
             for (auto& t : *g->mutable_initializer())
                 if (t.name() == "/conv1/Conv_x_scale") { t.add_dims(2); t.add_float_data(1.0f); }
         }},
        {"weight scales of the wrong size", [](onnx::GraphProto* g) {
             for (auto& t : *g->mutable_initializer())
                 if (t.name() == "/conv1/Conv_w_scale") { t.set_dims(0, 31); t.mutable_float_data()->RemoveLast(); }
         }},
        {"truncated int8 weights", [](onnx::GraphProto* g) {
             for (auto& t : *g->mutable_initializer())
                 if (t.name() == "/conv1/Conv_w_q") t.mutable_raw_data()->pop_back();
         }},
        {"a conv reading the int8 tensor", [](onnx::GraphProto* g) {
             for (auto& n : *g->mutable_node())
                 if (n.name() == "/conv1/Conv") n.set_input(0, "/conv1/Conv_xq");
         }},
    };
    const std::vector<float> x = test_images(1);
    for (const Mutation& mu : mutations) {
        onnx::ModelProto m = base;
        mu.apply(m.mutable_graph());
        const std::string path = tmp_path("mutated.onnx");
        {
            std::ofstream out(path, std::ios::binary);
            REQUIRE(m.SerializeToOstream(&out));
        }
        const NetRun r = run_net(ctx, path, nullptr, x);
        INFO(mu.what << ": " << qgpu_status_name(r.status) << " " << r.error);
        CHECK((r.status == QGPU_ERROR_UNSUPPORTED || r.status == QGPU_ERROR_FORMAT));
        CHECK(!r.error.empty());
    }
    qgpu_context_destroy(ctx);
}

#else

TEST_CASE("onnx qdq: a QDQ model runs int8 with its own scales, equal to the float model + table", "[net][onnx][qdq]") {
    WARN("skipped: the tests were built without ONNX (libonnx-dev)");
}

#endif
