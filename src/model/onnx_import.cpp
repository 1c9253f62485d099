#include "model/onnx_import.h"

#ifdef QGPU_WITH_ONNX
#include <onnx/onnx_pb.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
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
            Initializer init;
            init.dims.assign(t.dims().begin(), t.dims().end());
            QGPU_TRY(decode_tensor(t, &init));
            initializers_[t.name()] = std::move(init);
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
        std::vector<float> data;    // float tensors, int64 shapes, and dequantized integers
        std::vector<int32_t> ints;  // int8 / uint8 / int32 tensors
        int32_t type = onnx::TensorProto::FLOAT;
        // The output of DequantizeLinear on an integer initializer (QDQ weights and biases):
        // `ints` are the stored integers, `data` = (ints - zero_point) * scale.
        bool quantized = false;
        std::vector<float> scales;            // one, or one per index of `axis`
        std::vector<int32_t> zero_points;     // idem
        int64_t axis = 0;
    };

    // An activation QuantizeLinear whose output awaits its DequantizeLinear.
    struct PendingQuantize {
        int32_t source = -1;  // the float blob being quantized
        float scale = 0.0f;   // its quantization (zero point in qgpu's int8 convention)
        int32_t zero_point = 0;
    };

    static Status count_of(const onnx::TensorProto& t, size_t* count) {
        *count = 1;
        for (int64_t d : t.dims()) {
            if (d < 0 || d > (int64_t(1) << 31)) return failf(QGPU_ERROR_FORMAT, "onnx: bad dims in %s", t.name().c_str());
            *count *= size_t(d);
            if (*count > (size_t(1) << 31)) return failf(QGPU_ERROR_FORMAT, "onnx: %s is too large", t.name().c_str());
        }
        return QGPU_OK;
    }

    // int8 / uint8 / int32 tensors: raw little-endian bytes, or int32_data.
    static Status tensor_ints(const onnx::TensorProto& t, std::vector<int32_t>* out) {
        size_t count = 0;
        QGPU_TRY(count_of(t, &count));
        const int type = t.data_type();
        const size_t width = type == onnx::TensorProto::INT32 ? 4 : 1;
        if (t.has_raw_data()) {
            const std::string& raw = t.raw_data();
            if (raw.size() != count * width)
                return failf(QGPU_ERROR_FORMAT, "onnx: %s has %zu bytes for %zu values", t.name().c_str(), raw.size(), count);
            out->resize(count);
            for (size_t i = 0; i < count; ++i) {
                if (type == onnx::TensorProto::INT32) {
                    int32_t v;
                    std::memcpy(&v, raw.data() + 4 * i, 4);
                    (*out)[i] = v;
                } else if (type == onnx::TensorProto::INT8) {
                    (*out)[i] = int8_t(raw[i]);
                } else {
                    (*out)[i] = uint8_t(raw[i]);
                }
            }
            return QGPU_OK;
        }
        if (size_t(t.int32_data_size()) != count)
            return failf(QGPU_ERROR_FORMAT, "onnx: %s has %d values for %zu", t.name().c_str(), t.int32_data_size(), count);
        const int32_t lo = type == onnx::TensorProto::INT8 ? -128 : type == onnx::TensorProto::UINT8 ? 0 : INT32_MIN;
        const int32_t hi = type == onnx::TensorProto::INT8 ? 127 : type == onnx::TensorProto::UINT8 ? 255 : INT32_MAX;
        for (int32_t v : t.int32_data()) {
            if (v < lo || v > hi) return failf(QGPU_ERROR_FORMAT, "onnx: %s holds %d, outside its type", t.name().c_str(), int(v));
            out->push_back(v);
        }
        return QGPU_OK;
    }

    static Status decode_tensor(const onnx::TensorProto& t, Initializer* out) {
        out->type = t.data_type();
        if (t.data_type() == onnx::TensorProto::INT8 || t.data_type() == onnx::TensorProto::UINT8 ||
            t.data_type() == onnx::TensorProto::INT32)
            return tensor_ints(t, &out->ints);
        return tensor_floats(t, &out->data);
    }

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
            return failf(QGPU_ERROR_UNSUPPORTED, "onnx: initializer %s has data type %d (float, int64, "
                         "int32, int8 and uint8 only)", t.name().c_str(), int(t.data_type()));
        size_t count = 0;
        QGPU_TRY(count_of(t, &count));
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

    // ---- QDQ (QuantizeLinear / DequantizeLinear, as ONNX Runtime's quantizer writes them) ----
    // Activations: Q(x, s, zp) -> DQ(same s, zp) becomes an identity (x's value flows on) and
    // the consumer conv/gemm takes (s, zp) as its int8 input quantization. uint8 activations
    // map exactly onto qgpu's int8 ones: q_s8 = q_u8 - 128, zero point zp - 128.
    // Weights and biases: DQ of an integer initializer becomes a quantized initializer (the
    // int8 weights and their per-channel scales are used as they are; int32 biases dequantize).

    // The per-tensor (scale, zero point) of a Q/DQ node, zero point in qgpu's int8 convention.
    Status activation_quant(const onnx::NodeProto& n, float* scale, int32_t* zero_point) {
        if (n.input_size() < 2 || !initializers_.count(n.input(1))) return unsupported(n, "the scale must be an initializer");
        const Initializer& s = initializers_[n.input(1)];
        if (s.type != onnx::TensorProto::FLOAT || s.data.size() != 1)
            return unsupported(n, "activations need one float scale (per-tensor quantization)");
        if (!(s.data[0] > 0.0f) || !std::isfinite(s.data[0])) return unsupported(n, "the scale must be positive and finite");
        *scale = s.data[0];
        *zero_point = -128;  // no zero point: uint8 with zero point 0
        if (n.input_size() > 2 && !n.input(2).empty()) {
            if (!initializers_.count(n.input(2))) return unsupported(n, "the zero point must be an initializer");
            const Initializer& z = initializers_[n.input(2)];
            if (z.ints.size() != 1 || (z.type != onnx::TensorProto::INT8 && z.type != onnx::TensorProto::UINT8))
                return unsupported(n, "activations need one int8 or uint8 zero point");
            *zero_point = z.type == onnx::TensorProto::UINT8 ? z.ints[0] - 128 : z.ints[0];
        }
        return QGPU_OK;
    }

    Status add_quantize(const onnx::NodeProto& n) {
        if (n.output_size() != 1) return unsupported(n, "one output expected");
        PendingQuantize q;
        QGPU_TRY(activation_quant(n, &q.scale, &q.zero_point));
        QGPU_TRY(input_blob(n, 0, &q.source));
        if (blobs_.count(n.output(0)) || pending_.count(n.output(0))) return unsupported(n, "output produced twice");
        pending_[n.output(0)] = q;
        return QGPU_OK;
    }

    Status add_dequantize(const onnx::NodeProto& n) {
        if (n.input_size() < 2 || n.output_size() != 1) return unsupported(n, "needs x and a scale, one output");
        if (blobs_.count(n.output(0)) || initializers_.count(n.output(0))) return unsupported(n, "output produced twice");
        if (initializers_.count(n.input(0))) return dequantize_initializer(n);
        auto it = pending_.find(n.input(0));
        if (it == pending_.end())
            return unsupported(n, "input " + n.input(0) + " is neither an initializer nor a QuantizeLinear output");
        const PendingQuantize& q = it->second;
        float scale;
        int32_t zp;
        QGPU_TRY(activation_quant(n, &scale, &zp));
        // compared by value: the two nodes may name different initializers holding the same
        if (q.scale != scale || q.zero_point != zp)
            return unsupported(n, "a DequantizeLinear must use its QuantizeLinear's scale and zero point");
        NcnnLayer l;  // the pair is an identity on the float value; its quantization is kept
        l.type = "Dropout";
        l.name = n.name().empty() ? n.output(0) : n.name();
        l.inputs.push_back(q.source);
        l.outputs.push_back(blob(n.output(0)));
        act_quant_[l.outputs[0]] = {scale, zp};
        m_->layers.push_back(std::move(l));
        return QGPU_OK;
    }

    Status dequantize_initializer(const onnx::NodeProto& n) {
        const Initializer& q = initializers_[n.input(0)];
        if (q.ints.empty() || q.dims.empty()) return unsupported(n, "x must be an integer tensor");
        if (!initializers_.count(n.input(1))) return unsupported(n, "the scale must be an initializer");
        const Initializer& s = initializers_[n.input(1)];
        if (s.type != onnx::TensorProto::FLOAT || s.data.empty()) return unsupported(n, "the scale must be float");
        Initializer out;
        out.dims = q.dims;
        out.quantized = true;
        out.type = q.type;
        out.ints = q.ints;
        out.scales = s.data;
        out.zero_points.assign(s.data.size(), 0);
        if (n.input_size() > 2 && !n.input(2).empty()) {
            if (!initializers_.count(n.input(2))) return unsupported(n, "the zero point must be an initializer");
            const Initializer& z = initializers_[n.input(2)];
            if (z.ints.size() != s.data.size() || z.type != q.type)
                return unsupported(n, "the zero point must match the scale's size and x's type");
            out.zero_points = z.ints;
        }
        const int64_t rank = int64_t(q.dims.size());
        int64_t axis = int_attr(n, "axis", 1);
        if (axis < 0) axis += rank;
        size_t inner = 1;  // elements per step of the axis
        if (s.data.size() > 1) {
            if (axis < 0 || axis >= rank || q.dims[size_t(axis)] != int64_t(s.data.size()))
                return unsupported(n, "per-axis scales must match the size of the axis");
            for (int64_t d = axis + 1; d < rank; ++d) inner *= size_t(q.dims[size_t(d)]);
        }
        out.axis = s.data.size() > 1 ? axis : 0;
        out.data.resize(q.ints.size());
        for (size_t i = 0; i < q.ints.size(); ++i) {
            const size_t c = s.data.size() > 1 ? (i / inner) % s.data.size() : 0;
            if (!(s.data[c] > 0.0f) || !std::isfinite(s.data[c])) return unsupported(n, "scales must be positive and finite");
            out.data[i] = float(q.ints[i] - out.zero_points[c]) * s.data[c];
        }
        initializers_[n.output(0)] = std::move(out);
        return QGPU_OK;
    }

    // QDQ weights as int8 + one qgpu scale per output channel (`out_axis` of the tensor), when
    // they are symmetric int8; other quantized weights are used dequantized (as floats).
    static bool int8_weights(const Initializer& w, int64_t out_axis, int64_t outs, NcnnLayer* l) {
        if (!w.quantized || w.type != onnx::TensorProto::INT8) return false;
        for (int32_t z : w.zero_points)
            if (z != 0) return false;
        if (w.scales.size() != 1 && (w.axis != out_axis || int64_t(w.scales.size()) != outs)) return false;
        l->weight_scales.resize(size_t(outs));
        for (int64_t o = 0; o < outs; ++o) l->weight_scales[size_t(o)] = w.scales[w.scales.size() == 1 ? 0 : size_t(o)];
        return true;
    }

    // A conv/gemm input that went through a Q/DQ pair is int8 with that quantization.
    void take_input_quant(NcnnLayer& l) {
        auto it = act_quant_.find(l.inputs[0]);
        if (it == act_quant_.end()) return;
        l.input_scale = it->second.first;
        l.input_zero_point = it->second.second;
    }

    Status add_node(const onnx::NodeProto& n) {
        const std::string& op = n.op_type();
        if (op == "QuantizeLinear") return add_quantize(n);
        if (op == "DequantizeLinear") return add_dequantize(n);
        for (const std::string& input : n.input())
            if (pending_.count(input))
                return unsupported(n, "reads the int8 output of a QuantizeLinear (only DequantizeLinear may)");
        NcnnLayer l;
        l.name = n.name().empty() ? n.output(0) : n.name();
        const auto* auto_pad = attr(n, "auto_pad");
        if (auto_pad && auto_pad->s() != "NOTSET") return unsupported(n, "auto_pad " + auto_pad->s());
        int32_t in = 0;
        QGPU_TRY(input_blob(n, 0, &in));
        l.inputs.push_back(in);
        if (op == "Conv") {
            if (n.input_size() < 2 || !initializers_.count(n.input(1))) return unsupported(n, "weights must be an initializer");
            const Initializer& w = initializers_[n.input(1)];
            if (w.data.empty()) return unsupported(n, "weights must be float or a DequantizeLinear output");
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
            if (int8_weights(w, 0, w.dims[0], &l)) l.weights_int8.assign(w.ints.begin(), w.ints.end());
            else l.weights = w.data;
            take_input_quant(l);
            if (n.input_size() > 2 && !n.input(2).empty()) {
                if (!initializers_.count(n.input(2))) return unsupported(n, "bias must be an initializer");
                l.bias = initializers_[n.input(2)].data;
                if (l.bias.size() != size_t(w.dims[0])) return unsupported(n, "bias must be float, one value per output");
                set(l, 5, 1);
            }
        } else if (op == "Gemm") {
            if (n.input_size() < 2 || !initializers_.count(n.input(1))) return unsupported(n, "B must be an initializer");
            if (float_attr(n, "alpha", 1.0f) != 1.0f || float_attr(n, "beta", 1.0f) != 1.0f || int_attr(n, "transA", 0))
                return unsupported(n, "only alpha = beta = 1, transA = 0");
            const Initializer& b = initializers_[n.input(1)];
            if (b.data.empty()) return unsupported(n, "B must be float or a DequantizeLinear output");
            if (b.dims.size() != 2) return unsupported(n, "B must be 2-D");
            const bool trans_b = int_attr(n, "transB", 0) != 0;
            const int64_t outs = trans_b ? b.dims[0] : b.dims[1], ins = trans_b ? b.dims[1] : b.dims[0];
            l.type = "InnerProduct";
            set(l, 0, double(outs));
            set(l, 2, double(b.data.size()));
            const bool int8 = int8_weights(b, trans_b ? 0 : 1, outs, &l);
            (int8 ? l.weights_int8.resize(b.data.size()) : l.weights.resize(b.data.size()));
            for (int64_t o = 0; o < outs; ++o)
                for (int64_t i = 0; i < ins; ++i) {
                    const size_t from = trans_b ? size_t(o * ins + i) : size_t(i * outs + o);
                    if (int8) l.weights_int8[size_t(o * ins + i)] = int8_t(b.ints[from]);
                    else l.weights[size_t(o * ins + i)] = b.data[from];
                }
            take_input_quant(l);
            if (n.input_size() > 2 && initializers_.count(n.input(2))) {
                l.bias = initializers_[n.input(2)].data;
                if (l.bias.size() != size_t(outs)) return unsupported(n, "bias must have one value per output");
                set(l, 1, 1);
            }
        } else if (op == "BatchNormalization") {
            // inputs X, scale (gamma), B (beta), mean, var -> ncnn's BatchNorm (lowered by the net)
            if (n.input_size() != 5) return unsupported(n, "needs X, scale, B, mean and var");
            l.type = "BatchNorm";
            l.extra.resize(4);
            const int order[4] = {1, 3, 4, 2};  // ncnn: slope, mean, var, bias
            for (int k = 0; k < 4; ++k) {
                const std::string& name = n.input(order[k]);
                if (!initializers_.count(name) || initializers_[name].data.empty())
                    return unsupported(n, "scale, B, mean and var must be float initializers");
                l.extra[size_t(k)] = initializers_[name].data;
            }
            set(l, 0, double(l.extra[0].size()));
            set(l, 1, double(float_attr(n, "epsilon", 1e-5f)));
        } else if (op == "Clip") {
            // opset >= 11: min and max are optional inputs (initializers); before: attributes
            double lo = float_attr(n, "min", -FLT_MAX), hi = float_attr(n, "max", FLT_MAX);
            for (int i = 1; i < 3 && i < n.input_size(); ++i) {
                if (n.input(i).empty()) continue;
                if (!initializers_.count(n.input(i)) || initializers_[n.input(i)].data.size() != 1)
                    return unsupported(n, "min and max must be scalar initializers");
                (i == 1 ? lo : hi) = initializers_[n.input(i)].data[0];
            }
            l.type = "Clip";
            set(l, 0, lo);
            set(l, 1, hi);
        } else if (op == "Reshape") {
            // only the flattening [N, C, 1, 1] -> [N, C] of classifier heads
            if (n.input_size() != 2 || !initializers_.count(n.input(1))) return unsupported(n, "the shape must be an initializer");
            const std::vector<float>& shape = initializers_[n.input(1)].data;
            if (shape.size() != 2 || (shape[1] != -1.0f && shape[1] <= 0.0f)) return unsupported(n, "only a reshape to [N, C]");
            l.type = "Flatten";
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
    std::map<std::string, PendingQuantize> pending_;          // QuantizeLinear outputs
    std::map<int32_t, std::pair<float, int32_t>> act_quant_;  // DQ output blob -> (scale, zp)
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
