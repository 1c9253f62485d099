#include "model/onnx_import.h"

#ifdef QGPU_WITH_ONNX
#include <onnx/onnx_pb.h>

#include <cstring>
#include <map>
#endif

namespace qgpu {
namespace model {

#ifndef QGPU_WITH_ONNX

Status import_onnx(const std::string&, int32_t, NcnnModel*) {
    return fail(QGPU_ERROR_UNSUPPORTED, "this libqgpu was built without ONNX import (QGPU_WITH_ONNX=OFF)");
}

#else

namespace {

constexpr size_t kMaxModelBytes = size_t(1) << 30;

class Importer {
public:
    Importer(int32_t batch, NcnnModel* m) : batch_(batch), m_(m) {}

    Status run(const onnx::ModelProto& model) {
        const onnx::GraphProto& g = model.graph();
        for (const onnx::TensorProto& t : g.initializer()) {
            std::vector<float> data;
            std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
            QGPU_TRY(tensor_floats(t, &data));
            initializers_[t.name()] = {std::move(dims), std::move(data)};
        }
        for (const onnx::ValueInfoProto& in : g.input()) {
            if (initializers_.count(in.name())) continue;
            QGPU_TRY(add_input(in));
        }
        for (const onnx::NodeProto& node : g.node()) QGPU_TRY(add_node(node));
        return QGPU_OK;
    }

private:
    struct Initializer {
        std::vector<int64_t> dims;
        std::vector<float> data;
    };

    static Status tensor_floats(const onnx::TensorProto& t, std::vector<float>* out) {
        if (t.data_type() == onnx::TensorProto::INT64) {  // shapes for Reshape: keep as float
            if (t.has_raw_data()) {
                const std::string& raw = t.raw_data();
                out->resize(raw.size() / 8);
                for (size_t i = 0; i < out->size(); ++i) {
                    int64_t v;
                    std::memcpy(&v, raw.data() + 8 * i, 8);
                    (*out)[i] = float(v);
                }
            } else {
                for (int64_t v : t.int64_data()) out->push_back(float(v));
            }
            return QGPU_OK;
        }
        if (t.data_type() != onnx::TensorProto::FLOAT)
            return failf(QGPU_ERROR_UNSUPPORTED, "onnx: initializer %s has data type %d (only float)",
                         t.name().c_str(), int(t.data_type()));
        size_t count = 1;
        for (int64_t d : t.dims()) {
            if (d < 0 || d > (int64_t(1) << 31)) return failf(QGPU_ERROR_FORMAT, "onnx: bad dims in %s", t.name().c_str());
            count *= size_t(d);
            if (count > (size_t(1) << 31)) return failf(QGPU_ERROR_FORMAT, "onnx: %s is too large", t.name().c_str());
        }
        if (t.has_raw_data()) {
            if (t.raw_data().size() != count * 4)
                return failf(QGPU_ERROR_FORMAT, "onnx: %s has %zu bytes for %zu floats", t.name().c_str(),
                             t.raw_data().size(), count);
            out->resize(count);
            std::memcpy(out->data(), t.raw_data().data(), count * 4);
        } else {
            if (size_t(t.float_data_size()) != count)
                return failf(QGPU_ERROR_FORMAT, "onnx: %s has %d floats for %zu", t.name().c_str(),
                             t.float_data_size(), count);
            out->assign(t.float_data().begin(), t.float_data().end());
        }
        return QGPU_OK;
    }

    int32_t blob(const std::string& name) {
        auto it = blobs_.find(name);
        if (it != blobs_.end()) return it->second;
        const int32_t i = int32_t(m_->blobs.size());
        m_->blobs.push_back(name);
        blobs_[name] = i;
        return i;
    }

    static void set(NcnnLayer& l, int32_t key, double v) { l.params[key].values = {v}; }

    Status add_input(const onnx::ValueInfoProto& in) {
        const auto& shape = in.type().tensor_type().shape();
        if (shape.dim_size() != 4 && shape.dim_size() != 2)
            return failf(QGPU_ERROR_UNSUPPORTED, "onnx: input %s must be NCHW (4-D)", in.name().c_str());
        std::vector<int64_t> dims;
        for (const auto& d : shape.dim()) dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
        NcnnLayer l;
        l.type = "Input";
        l.name = in.name();
        const int64_t c = dims[1], h = dims.size() == 4 ? dims[2] : 1, w = dims.size() == 4 ? dims[3] : 1;
        if (c <= 0 || h <= 0 || w <= 0)
            return failf(QGPU_ERROR_UNSUPPORTED, "onnx: input %s needs fixed C, H, W", in.name().c_str());
        set(l, 0, double(w)); set(l, 1, double(h)); set(l, 2, double(c));
        l.outputs.push_back(blob(in.name()));
        m_->layers.push_back(std::move(l));
        return QGPU_OK;
    }

    static const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name) {
        for (const auto& a : n.attribute())
            if (a.name() == name) return &a;
        return nullptr;
    }
    static std::vector<int64_t> ints(const onnx::NodeProto& n, const char* name, std::vector<int64_t> fallback) {
        const auto* a = attr(n, name);
        return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : fallback;
    }
    static int64_t int_attr(const onnx::NodeProto& n, const char* name, int64_t fallback) {
        const auto* a = attr(n, name);
        return a ? a->i() : fallback;
    }
    static float float_attr(const onnx::NodeProto& n, const char* name, float fallback) {
        const auto* a = attr(n, name);
        return a ? a->f() : fallback;
    }

    Status unsupported(const onnx::NodeProto& n, const std::string& why) {
        return failf(QGPU_ERROR_UNSUPPORTED, "onnx node %s (%s): %s", n.name().c_str(), n.op_type().c_str(), why.c_str());
    }

    Status input_blob(const onnx::NodeProto& n, int i, int32_t* out) {
        if (i >= n.input_size()) return unsupported(n, "missing input");
        auto it = blobs_.find(n.input(i));
        if (it == blobs_.end()) return unsupported(n, "input " + n.input(i) + " is not produced earlier");
        *out = it->second;
        return QGPU_OK;
    }

    Status add_node(const onnx::NodeProto& n) {
        NcnnLayer l;
        l.name = n.name().empty() ? n.output(0) : n.name();
        const std::string& op = n.op_type();
        const auto* auto_pad = attr(n, "auto_pad");
        if (auto_pad && auto_pad->s() != "NOTSET") return unsupported(n, "auto_pad " + auto_pad->s());
        int32_t in = 0;
        QGPU_TRY(input_blob(n, 0, &in));
        l.inputs.push_back(in);
        if (op == "Conv") {
            if (n.input_size() < 2 || !initializers_.count(n.input(1))) return unsupported(n, "weights must be an initializer");
            const Initializer& w = initializers_[n.input(1)];
            if (w.dims.size() != 4) return unsupported(n, "only 2-D convolution");
            const auto k = ints(n, "kernel_shape", {w.dims[2], w.dims[3]});
            const auto s = ints(n, "strides", {1, 1});
            const auto d = ints(n, "dilations", {1, 1});
            const auto p = ints(n, "pads", {0, 0, 0, 0});
            const int64_t group = int_attr(n, "group", 1);
            if (k.size() != 2 || s.size() != 2 || d.size() != 2 || p.size() != 4) return unsupported(n, "only 2-D attributes");
            l.type = group == 1 ? "Convolution" : "ConvolutionDepthWise";
            set(l, 0, double(w.dims[0]));
            set(l, 1, double(k[1])); set(l, 11, double(k[0]));
            set(l, 2, double(d[1])); set(l, 12, double(d[0]));
            set(l, 3, double(s[1])); set(l, 13, double(s[0]));
            set(l, 4, double(p[1])); set(l, 14, double(p[0])); set(l, 15, double(p[3])); set(l, 16, double(p[2]));
            set(l, 6, double(w.data.size()));
            set(l, 7, double(group));
            l.weights = w.data;
            if (n.input_size() > 2 && !n.input(2).empty()) {
                if (!initializers_.count(n.input(2))) return unsupported(n, "bias must be an initializer");
                l.bias = initializers_[n.input(2)].data;
                set(l, 5, 1);
            }
        } else if (op == "Gemm") {
            if (n.input_size() < 2 || !initializers_.count(n.input(1))) return unsupported(n, "B must be an initializer");
            if (float_attr(n, "alpha", 1.0f) != 1.0f || float_attr(n, "beta", 1.0f) != 1.0f || int_attr(n, "transA", 0))
                return unsupported(n, "only alpha = beta = 1, transA = 0");
            const Initializer& b = initializers_[n.input(1)];
            if (b.dims.size() != 2) return unsupported(n, "B must be 2-D");
            const bool trans_b = int_attr(n, "transB", 0) != 0;
            const int64_t outs = trans_b ? b.dims[0] : b.dims[1], ins = trans_b ? b.dims[1] : b.dims[0];
            l.type = "InnerProduct";
            set(l, 0, double(outs));
            set(l, 2, double(b.data.size()));
            l.weights.resize(b.data.size());
            for (int64_t o = 0; o < outs; ++o)
                for (int64_t i = 0; i < ins; ++i)
                    l.weights[size_t(o * ins + i)] = trans_b ? b.data[size_t(o * ins + i)] : b.data[size_t(i * outs + o)];
            if (n.input_size() > 2 && initializers_.count(n.input(2))) {
                l.bias = initializers_[n.input(2)].data;
                if (l.bias.size() != size_t(outs)) return unsupported(n, "bias must have one value per output");
                set(l, 1, 1);
            }
        } else if (op == "Relu") {
            l.type = "ReLU";
        } else if (op == "LeakyRelu") {
            l.type = "ReLU";
            set(l, 0, double(float_attr(n, "alpha", 0.01f)));
        } else if (op == "MaxPool" || op == "AveragePool") {
            const auto k = ints(n, "kernel_shape", {});
            const auto s = ints(n, "strides", {1, 1});
            const auto p = ints(n, "pads", {0, 0, 0, 0});
            if (k.size() != 2 || s.size() != 2 || p.size() != 4) return unsupported(n, "only 2-D pooling");
            if (!ints(n, "dilations", {1, 1}).empty() && ints(n, "dilations", {1, 1}) != std::vector<int64_t>{1, 1})
                return unsupported(n, "dilated pooling");
            l.type = "Pooling";
            set(l, 0, op == "MaxPool" ? 0 : 1);
            set(l, 1, double(k[1])); set(l, 11, double(k[0]));
            set(l, 2, double(s[1])); set(l, 12, double(s[0]));
            set(l, 3, double(p[1])); set(l, 13, double(p[0])); set(l, 14, double(p[3])); set(l, 15, double(p[2]));
            set(l, 5, int_attr(n, "ceil_mode", 0) ? 0 : 1);  // ncnn pad_mode: 0 full (ceil), 1 valid (floor)
            if (op == "AveragePool") set(l, 6, double(int_attr(n, "count_include_pad", 0)));
        } else if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
            l.type = "Pooling";
            set(l, 0, op == "GlobalMaxPool" ? 0 : 1);
            set(l, 4, 1);
        } else if (op == "Add") {
            l.type = "Eltwise";
            set(l, 0, 1);  // sum
            int32_t second = 0;
            QGPU_TRY(input_blob(n, 1, &second));
            l.inputs.push_back(second);
        } else if (op == "Concat") {
            if (int_attr(n, "axis", 1) != 1) return unsupported(n, "only channel concatenation (axis 1)");
            l.type = "Concat";
            for (int i = 1; i < n.input_size(); ++i) {
                int32_t b = 0;
                QGPU_TRY(input_blob(n, i, &b));
                l.inputs.push_back(b);
            }
        } else if (op == "Flatten") {
            if (int_attr(n, "axis", 1) != 1) return unsupported(n, "only axis 1");
            l.type = "Flatten";
        } else if (op == "Softmax") {
            if (int_attr(n, "axis", 1) != 1 && int_attr(n, "axis", 1) != -1) return unsupported(n, "only over channels");
            l.type = "Softmax";
        } else if (op == "Dropout" || op == "Identity") {
            l.type = "Dropout";
        } else {
            return unsupported(n, "operator not supported");
        }
        const int outputs = l.type == "Dropout" ? 1 : n.output_size();  // Dropout's mask is unused
        for (int i = 0; i < outputs; ++i) {
            const std::string& out = n.output(i);
            if (out.empty()) continue;
            if (blobs_.count(out)) return unsupported(n, "output " + out + " is produced twice");
            l.outputs.push_back(blob(out));
        }
        m_->layers.push_back(std::move(l));
        return QGPU_OK;
    }

    int32_t batch_;
    NcnnModel* m_;
    std::map<std::string, Initializer> initializers_;
    std::map<std::string, int32_t> blobs_;
};

}  // namespace

Status import_onnx(const std::string& path, int32_t batch, NcnnModel* model) {
    std::string bytes;
    QGPU_TRY(read_file(path, kMaxModelBytes, &bytes));
    onnx::ModelProto proto;
    if (!proto.ParseFromString(bytes))
        return failf(QGPU_ERROR_FORMAT, "onnx: %s does not parse as an ONNX model", path.c_str());
    for (const auto& opset : proto.opset_import())
        if ((opset.domain().empty() || opset.domain() == "ai.onnx") && (opset.version() < 7 || opset.version() > 18))
            return failf(QGPU_ERROR_UNSUPPORTED, "onnx: opset %lld is outside 7..18", (long long)opset.version());
    *model = NcnnModel{};
    Importer importer(batch, model);
    return importer.run(proto);
}

#endif

}  // namespace model
}  // namespace qgpu
