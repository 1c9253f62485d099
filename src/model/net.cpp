#include "model/net.h"

#include <algorithm>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <sstream>

#include "api/objects.h"
#include "core/ncnn_table.h"
#include "model/ncnn_model.h"
#include "model/onnx_import.h"

namespace qgpu {
namespace model {

namespace {

struct Shape {
    int32_t c = 0, h = 0, w = 0;
};

// Union-find over blob indices (int8 regions).
struct Regions {
    std::vector<int32_t> parent;
    explicit Regions(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
    int32_t find(int32_t x) { return parent[size_t(x)] == x ? x : parent[size_t(x)] = find(parent[size_t(x)]); }
    void join(int32_t a, int32_t b) { parent[size_t(find(a))] = find(b); }
};

bool is_conv(const NcnnLayer& l) {
    return l.type == "Convolution" || l.type == "ConvolutionDepthWise" || l.type == "InnerProduct";
}
bool is_alias(const NcnnLayer& l) { return l.type == "Split" || l.type == "Dropout" || l.type == "Flatten"; }
bool is_max_pool(const NcnnLayer& l) {
    return l.type == "Pooling" && l.get_int(0, 0) == 0 && !l.get_int(4, 0);
}
bool is_plain_relu(const NcnnLayer& l) { return l.type == "ReLU" && l.get_float(0, 0.0f) == 0.0f; }
// Layers through which int8 values pass unchanged: their blobs share one quantization.
bool is_transparent(const NcnnLayer& l) {
    return is_alias(l) || l.type == "Concat" || is_max_pool(l) || is_plain_relu(l);
}

}  // namespace

class NetBuilder {
public:
    NetBuilder(const std::shared_ptr<Device>& device, const NetOptions& o, Net* net)
        : device_(device), opt_(o), net_(net) {}

    Status build() {
        if (opt_.batch <= 0 || opt_.batch > 4096)
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "batch must be in [1, 4096] (got %d)", opt_.batch);
        const std::string& path = opt_.param_path;
        if (is_onnx_path(path))
            QGPU_TRY(import_onnx(path, opt_.batch, &m_));
        else
            QGPU_TRY(load_ncnn_model(path, opt_.bin_path, &m_));
        int8_ = opt_.precision == QGPU_PRECISION_INT8;
        if (int8_ && !opt_.table && !opt_.table_path.empty()) QGPU_TRY(table_.load(opt_.table_path));
        net_->batch_ = opt_.batch;
        QGPU_TRY(lower_batchnorm());
        QGPU_TRY(infer_shapes());
        fuse_activations();
        QGPU_TRY(assign_regions());
        QGPU_TRY(create_tensors());
        for (size_t i = 0; i < m_.layers.size(); ++i) QGPU_TRY(compile_layer(i));
        net_->blob_names_ = m_.blobs;
        net_->summary_ = summary_.str();
        return QGPU_OK;
    }

private:
    Status unsupported(const NcnnLayer& l, const std::string& what) {
        return failf(QGPU_ERROR_UNSUPPORTED, "layer %s (%s): %s", l.name.c_str(), l.type.c_str(), what.c_str());
    }

    // BatchNorm (y = a[c] * x + b[c], a = gamma / sqrt(var + eps), b = beta - mean * a, in
    // double) is folded into the float conv that is its input's only producer and consumer:
    // W'[c] = a[c] * W[c], bias'[c] = a[c] * bias[c] + b[c]. Any other BatchNorm becomes a 1x1
    // depthwise conv with weights a and bias b, so it runs (int8 or float) on every backend.
    Status lower_batchnorm() {
        std::vector<int32_t> producer(m_.blobs.size(), -1), consumers(m_.blobs.size(), 0);
        for (size_t li = 0; li < m_.layers.size(); ++li) {
            for (int32_t b : m_.layers[li].inputs) ++consumers[size_t(b)];
            for (int32_t b : m_.layers[li].outputs) producer[size_t(b)] = int32_t(li);
        }
        std::vector<bool> removed(m_.layers.size(), false);
        for (size_t li = 0; li < m_.layers.size(); ++li) {
            NcnnLayer& bn = m_.layers[li];
            if (bn.type != "BatchNorm") continue;
            const int32_t channels = bn.get_int(0, 0);
            if (bn.inputs.size() != 1 || bn.outputs.size() != 1 || channels <= 0 || bn.extra.size() != 4)
                return unsupported(bn, "needs one input, one output and its four per-channel vectors");
            for (const auto& v : bn.extra)
                if (v.size() != size_t(channels)) return unsupported(bn, "per-channel vectors of the wrong size");
            const double eps = bn.get_float(1, 0.0f);
            std::vector<float> a(static_cast<size_t>(channels)), b(static_cast<size_t>(channels));
            for (size_t c = 0; c < size_t(channels); ++c) {
                const double var = double(bn.extra[2][c]) + eps;
                if (!(var > 0.0) || !std::isfinite(var)) return unsupported(bn, "variance + eps must be positive");
                const double ac = double(bn.extra[0][c]) / std::sqrt(var);
                a[c] = float(ac);
                b[c] = float(double(bn.extra[3][c]) - double(bn.extra[1][c]) * ac);
            }
            const int32_t p = producer[size_t(bn.inputs[0])];
            NcnnLayer* conv = p >= 0 ? &m_.layers[size_t(p)] : nullptr;
            if (conv && is_conv(*conv) && conv->outputs.size() == 1 && consumers[size_t(bn.inputs[0])] == 1 &&
                conv->get_int(9, 0) == 0 && !conv->weights.empty() && conv->get_int(0, 0) == channels &&
                conv->weights.size() % size_t(channels) == 0) {
                const size_t per = conv->weights.size() / size_t(channels);
                for (size_t k = 0; k < conv->weights.size(); ++k) conv->weights[k] *= a[k / per];
                if (conv->bias.empty()) conv->bias.assign(size_t(channels), 0.0f);
                if (conv->bias.size() != size_t(channels)) return unsupported(*conv, "bias of the wrong size");
                for (size_t c = 0; c < size_t(channels); ++c) conv->bias[c] = conv->bias[c] * a[c] + b[c];
                conv->params[conv->type == "InnerProduct" ? 1 : 5].values = {1.0};  // bias_term
                conv->outputs[0] = bn.outputs[0];
                removed[li] = true;
                continue;
            }
            NcnnLayer dw;
            dw.type = "ConvolutionDepthWise";
            dw.name = bn.name;
            dw.inputs = bn.inputs;
            dw.outputs = bn.outputs;
            dw.params[0].values = {double(channels)};
            dw.params[1].values = {1.0};
            dw.params[5].values = {1.0};
            dw.params[6].values = {double(channels)};
            dw.params[7].values = {double(channels)};
            dw.weights = a;
            dw.bias = b;
            bn = std::move(dw);
        }
        std::vector<NcnnLayer> kept;
        for (size_t li = 0; li < m_.layers.size(); ++li)
            if (!removed[li]) kept.push_back(std::move(m_.layers[li]));
        m_.layers = std::move(kept);
        return QGPU_OK;
    }

    Status infer_shapes() {
        shapes_.assign(m_.blobs.size(), Shape{});
        consumers_.assign(m_.blobs.size(), {});
        for (size_t li = 0; li < m_.layers.size(); ++li) {
            const NcnnLayer& l = m_.layers[li];
            for (int32_t b : l.inputs) consumers_[size_t(b)].push_back(int32_t(li));
            Shape in = l.inputs.empty() ? Shape{} : shapes_[size_t(l.inputs[0])];
            Shape out = in;
            if (l.type == "Input") {
                out = {l.get_int(2, 0), l.get_int(1, 0), l.get_int(0, 0)};
                if (out.c <= 0 || out.h <= 0 || out.w <= 0 || out.c > 65536 || out.h > 65536 || out.w > 65536)
                    return unsupported(l, "needs its shape as 0=w 1=h 2=c");
            } else if (l.type == "Eltwise") {
                if (l.inputs.size() != 2 || l.get_int(0, 1) != 1 || !l.get_array(1).empty())
                    return unsupported(l, "only the sum of two inputs");
                const Shape& o = shapes_[size_t(l.inputs[1])];
                if (o.c != in.c || o.h != in.h || o.w != in.w) return unsupported(l, "inputs differ in shape");
            } else if (l.inputs.size() != 1 && l.type != "Concat") {
                return unsupported(l, "expected one input");
            } else if (l.type == "Convolution" || l.type == "ConvolutionDepthWise") {
                qgpu_conv_desc d;
                QGPU_TRY(conv_desc(l, in, &d));
                out = {d.out_channels,
                       int32_t(conv_output_size(d.in_h, d.pad_top, d.pad_bottom, d.kernel_h, d.stride_h, d.dilation_h)),
                       int32_t(conv_output_size(d.in_w, d.pad_left, d.pad_right, d.kernel_w, d.stride_w, d.dilation_w))};
                if (out.h <= 0 || out.w <= 0) return unsupported(l, "kernel larger than its input");
            } else if (l.type == "InnerProduct") {
                out = {l.get_int(0, 0), 1, 1};
            } else if (l.type == "Pooling") {
                PoolParams p;
                QGPU_TRY(pool_params(l, in, &p));
                out.h = (in.h + p.pad_top + p.pad_bottom - p.kernel_h) / p.stride_h + 1;
                out.w = (in.w + p.pad_left + p.pad_right - p.kernel_w) / p.stride_w + 1;
                if (out.h <= 0 || out.w <= 0) return unsupported(l, "pooling window larger than its input");
            } else if (l.type == "Concat") {
                if (l.get_int(0, 0) != 0) return unsupported(l, "only channel concatenation (axis 0)");
                if (l.inputs.empty()) return unsupported(l, "no inputs");
                out.c = 0;
                for (int32_t b : l.inputs) {
                    const Shape& s = shapes_[size_t(b)];
                    if (s.h != in.h || s.w != in.w) return unsupported(l, "inputs differ in height or width");
                    out.c += s.c;
                }
            } else if (l.type == "Softmax") {
                if (l.get_int(0, 0) != 0) return unsupported(l, "only softmax over channels (axis 0)");
            } else if (l.type == "Flatten") {
                if (in.h != 1 || in.w != 1) return unsupported(l, "only on 1x1 spatial blobs");
            } else if (l.type == "Clip") {
                if (!(l.get_float(0, -FLT_MAX) <= l.get_float(1, FLT_MAX))) return unsupported(l, "min above max");
            } else if (l.type != "ReLU" && l.type != "Split" && l.type != "Dropout") {
                return unsupported(l, "layer type not supported");
            }
            if (l.type == "ReLU" && l.get_float(0, 0.0f) < 0.0f) return unsupported(l, "negative slope");
            for (int32_t b : l.outputs) shapes_[size_t(b)] = out;
        }
        return QGPU_OK;
    }

    Status pool_params(const NcnnLayer& l, const Shape& in, PoolParams* p) {
        const int32_t type = l.get_int(0, 0);
        if (type != 0 && type != 1) return unsupported(l, "pooling type must be max (0) or average (1)");
        if (l.get_int(4, 0)) {  // global
            p->kernel_h = in.h; p->kernel_w = in.w;
            return QGPU_OK;
        }
        p->kernel_w = l.get_int(1, 0);
        p->kernel_h = l.get_int(11, p->kernel_w);
        p->stride_w = l.get_int(2, 1);
        p->stride_h = l.get_int(12, p->stride_w);
        p->pad_left = l.get_int(3, 0);
        p->pad_top = l.get_int(13, p->pad_left);
        p->pad_right = l.get_int(14, p->pad_left);
        p->pad_bottom = l.get_int(15, p->pad_top);
        const int32_t mode = l.get_int(5, 0);
        if (p->kernel_w <= 0 || p->kernel_h <= 0 || p->stride_w <= 0 || p->stride_h <= 0 ||
            p->pad_left < 0 || p->pad_top < 0 || p->pad_right < 0 || p->pad_bottom < 0)
            return unsupported(l, "bad pooling parameters");
        if (type == 1 && l.get_int(6, 0)) return unsupported(l, "average pooling that counts padding");
        if (mode == 1) {
            // "valid": the given padding, no tail (floor mode)
        } else if (mode == 0) {  // "full" (Caffe ceil mode): pad the tail so every input is covered
            const int32_t wtail = (in.w + p->pad_left + p->pad_right - p->kernel_w) % p->stride_w;
            const int32_t htail = (in.h + p->pad_top + p->pad_bottom - p->kernel_h) % p->stride_h;
            if (wtail > 0) p->pad_right += p->stride_w - wtail;
            if (htail > 0) p->pad_bottom += p->stride_h - htail;
        } else {
            return unsupported(l, "pooling pad_mode " + std::to_string(mode));
        }
        return QGPU_OK;
    }

    Status conv_desc(const NcnnLayer& l, const Shape& in, qgpu_conv_desc* d) {
        qgpu_conv_desc_init(d);
        d->in_channels = in.c; d->in_h = in.h; d->in_w = in.w;
        d->out_channels = l.get_int(0, 0);
        if (l.type == "InnerProduct") {
            d->kernel_h = in.h; d->kernel_w = in.w;
        } else {
            d->kernel_w = l.get_int(1, 0);
            d->kernel_h = l.get_int(11, d->kernel_w);
            d->dilation_w = l.get_int(2, 1);
            d->dilation_h = l.get_int(12, d->dilation_w);
            d->stride_w = l.get_int(3, 1);
            d->stride_h = l.get_int(13, d->stride_w);
            d->pad_left = l.get_int(4, 0);
            d->pad_right = l.get_int(15, d->pad_left);
            d->pad_top = l.get_int(14, d->pad_left);
            d->pad_bottom = l.get_int(16, d->pad_top);
            if (d->pad_left < 0 || d->pad_top < 0 || d->pad_right < 0 || d->pad_bottom < 0)
                return unsupported(l, "automatic (SAME) padding");
            d->groups = l.type == "ConvolutionDepthWise" ? l.get_int(7, 1) : 1;
        }
        const int32_t act = l.get_int(9, 0);
        const std::vector<double> act_params = l.get_array(10);
        if (act == 1) d->activation = QGPU_ACTIVATION_RELU;
        else if (act == 2) {
            d->activation = QGPU_ACTIVATION_LEAKY_RELU;
            d->leaky_slope = act_params.empty() ? 0.0f : float(act_params[0]);
        } else if (act == 3) {
            if (act_params.size() < 2) return unsupported(l, "clip activation without bounds");
            d->activation = QGPU_ACTIVATION_CLAMP;
            d->activation_min = float(act_params[0]);
            d->activation_max = float(act_params[1]);
        } else if (act != 0) {
            return unsupported(l, "activation type " + std::to_string(act));
        }
        const size_t wcount = size_t(std::max(d->out_channels, 0)) * size_t(in.c / std::max(d->groups, 1)) *
                              size_t(std::max(d->kernel_h, 0)) * size_t(std::max(d->kernel_w, 0));
        if (l.weights.size() + l.weights_int8.size() != wcount || (in.c % std::max(d->groups, 1)))
            return failf(QGPU_ERROR_FORMAT, "layer %s: %zu weights, the shape needs %zu", l.name.c_str(),
                         l.weights.size() + l.weights_int8.size(), wcount);
        return QGPU_OK;
    }

    // Folds a ReLU/Clip that is the only consumer of a conv into the conv (ncnn's separate
    // activation layers): the conv then writes the activation's output blob directly.
    void fuse_activations() {
        fused_into_.assign(m_.layers.size(), -1);
        for (size_t li = 0; li < m_.layers.size(); ++li) {
            NcnnLayer& l = m_.layers[li];
            if (!is_conv(l) || l.get_int(9, 0) != 0 || l.outputs.size() != 1) continue;
            const auto& cons = consumers_[size_t(l.outputs[0])];
            if (cons.size() != 1) continue;
            const NcnnLayer& r = m_.layers[size_t(cons[0])];
            if ((r.type != "ReLU" && r.type != "Clip") || r.outputs.size() != 1) continue;
            l.params[10].is_array = true;
            if (r.type == "Clip") {  // ReLU6 and other clamps: ncnn activation type 3
                l.params[9].values = {3.0};
                l.params[10].values = {double(r.get_float(0, -FLT_MAX)), double(r.get_float(1, FLT_MAX))};
            } else {
                const float slope = r.get_float(0, 0.0f);
                l.params[9].values = {slope == 0.0f ? 1.0 : 2.0};
                l.params[10].values = {double(slope)};
            }
            fused_into_[size_t(cons[0])] = int32_t(li);
            shapes_[size_t(l.outputs[0])].c = 0;  // the pre-activation blob is never materialised
            l.outputs[0] = r.outputs[0];
        }
    }

    bool keep_float(const NcnnLayer& l) const {
        return !int8_ || std::find(opt_.float_layers.begin(), opt_.float_layers.end(), l.name) != opt_.float_layers.end();
    }

    // The conv's input quantization: from the calibration table, else from the model (an ONNX
    // QDQ pair before it, or an int8 ncnn model's .bin).
    Status input_quant(const NcnnLayer& l, qgpu_quant* quant) {
        const bool from_table = opt_.table || table_.find_activation(l.name);
        if (!from_table && l.input_scale > 0.0f) {
            *quant = {l.input_scale, l.input_zero_point};
            return QGPU_OK;
        }
        *quant = {0.0f, 0};
        return input_scale(l, &quant->scale);
    }

    Status input_scale(const NcnnLayer& l, float* scale) {
        const NcnnTable::Entry* e = table_.find_activation(l.name);
        float ncnn_scale = 0.0f;  // ncnn: int8 = real * s; qgpu: real = scale * int8
        if (opt_.table) {
            if (qgpu_table_get_activation_scale(opt_.table, l.name.c_str(), &ncnn_scale) != QGPU_OK)
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "the calibration table has no activation scale for conv layer %s",
                             l.name.c_str());
        } else if (e && !e->scales.empty()) ncnn_scale = e->scales[0];
        else if (!l.input_int8_scales.empty()) ncnn_scale = l.input_int8_scales[0];
        if (!(ncnn_scale > 0.0f) || !std::isfinite(ncnn_scale)) {
            if (opt_.table_path.empty())
                return failf(QGPU_ERROR_INVALID_ARGUMENT,
                             "conv layer %s has no input scale: an INT8 net needs a calibration table "
                             "(table_path) or an int8 model", l.name.c_str());
            return failf(QGPU_ERROR_FORMAT, "calibration table %s has no activation scale for conv layer %s",
                         opt_.table_path.c_str(), l.name.c_str());
        }
        *scale = 1.0f / ncnn_scale;
        return QGPU_OK;
    }

    Status assign_regions() {
        Regions regions(m_.blobs.size());
        for (size_t li = 0; li < m_.layers.size(); ++li) {
            const NcnnLayer& l = m_.layers[li];
            if (fused_into_[li] >= 0 || !is_transparent(l)) continue;
            for (int32_t in : l.inputs)
                for (int32_t out : l.outputs) regions.join(in, out);
        }
        std::vector<int> int8_consumers(m_.blobs.size(), 0), float_users(m_.blobs.size(), 0);
        std::vector<qgpu_quant> quant(m_.blobs.size(), qgpu_quant{0.0f, 0});
        for (size_t li = 0; li < m_.layers.size(); ++li) {
            const NcnnLayer& l = m_.layers[li];
            if (fused_into_[li] >= 0) continue;
            for (int32_t in : l.inputs) {
                const int32_t r = regions.find(in);
                if (is_conv(l) && !keep_float(l)) {
                    qgpu_quant q;
                    QGPU_TRY(input_quant(l, &q));
                    if (q.scale > quant[size_t(r)].scale) quant[size_t(r)] = q;  // the widest range wins
                    ++int8_consumers[size_t(r)];
                } else if (!is_transparent(l)) {
                    ++float_users[size_t(r)];
                }
            }
            // blobs made by float-only layers (and float convs) stay float
            if ((!is_conv(l) && !is_transparent(l) && l.type != "Input") || (is_conv(l) && keep_float(l)))
                for (int32_t out : l.outputs) ++float_users[size_t(regions.find(out))];
        }
        blob_quant_.assign(m_.blobs.size(), qgpu_quant{0.0f, 0});
        for (size_t b = 0; b < m_.blobs.size(); ++b) {
            const int32_t r = regions.find(int32_t(b));
            if (int8_consumers[size_t(r)] && !float_users[size_t(r)]) blob_quant_[b] = quant[size_t(r)];
        }
        // aliases (Split, Dropout, Flatten) share their input's tensor
        alias_of_.resize(m_.blobs.size());
        std::iota(alias_of_.begin(), alias_of_.end(), 0);
        for (const NcnnLayer& l : m_.layers)
            if (is_alias(l))
                for (int32_t out : l.outputs) alias_of_[size_t(out)] = alias_of_[size_t(l.inputs[0])];
        return QGPU_OK;
    }

    TensorDesc blob_desc(int32_t b) const {
        TensorDesc d;
        const Shape& s = shapes_[size_t(b)];
        d.n = opt_.batch; d.c = s.c; d.h = s.h; d.w = s.w;
        if (blob_quant_[size_t(b)].scale > 0.0f) {
            d.dtype = QGPU_DTYPE_INT8;
            d.quant = blob_quant_[size_t(b)];
        }
        return d;
    }

    Status add_tensor(const TensorDesc& d, int32_t* index) {
        qgpu_tensor_t* t = nullptr;
        QGPU_TRY(create_tensor(device_, d, &t));
        net_->tensors_.push_back(t);
        *index = int32_t(net_->tensors_.size() - 1);
        return QGPU_OK;
    }

    Status create_tensors() {
        net_->blob_tensor_.assign(m_.blobs.size(), -1);
        for (size_t b = 0; b < m_.blobs.size(); ++b) {
            if (shapes_[b].c == 0) continue;  // consumed by a fused activation: never materialised
            if (alias_of_[b] != int32_t(b)) continue;
            QGPU_TRY(add_tensor(blob_desc(int32_t(b)), &net_->blob_tensor_[b]));
        }
        for (size_t b = 0; b < m_.blobs.size(); ++b)
            if (alias_of_[b] != int32_t(b)) net_->blob_tensor_[b] = net_->blob_tensor_[size_t(alias_of_[b])];
        return QGPU_OK;
    }

    const TensorDesc& tensor_desc(int32_t t) const { return net_->tensors_[size_t(t)]->desc; }

    // The tensor for `blob` as `dtype` (inserting a quantize/dequantize step when needed).
    Status as_dtype(int32_t blob, qgpu_dtype dtype, qgpu_quant quant, int32_t* out) {
        const int32_t t = net_->blob_tensor_[size_t(blob)];
        const TensorDesc& d = tensor_desc(t);
        if (d.dtype == dtype && (dtype == QGPU_DTYPE_FLOAT32 ||
                                 (d.quant.scale == quant.scale && d.quant.zero_point == quant.zero_point))) {
            *out = t;
            return QGPU_OK;
        }
        TensorDesc converted = d;
        converted.dtype = dtype;
        converted.quant = dtype == QGPU_DTYPE_INT8 ? quant : qgpu_quant{1.0f, 0};
        int32_t src = t;
        if (d.dtype == QGPU_DTYPE_INT8 && dtype == QGPU_DTYPE_INT8) {  // rescale through float
            QGPU_TRY(as_dtype(blob, QGPU_DTYPE_FLOAT32, quant, &src));
        }
        QGPU_TRY(add_tensor(converted, out));
        OpPlan p;
        p.kind = dtype == QGPU_DTYPE_INT8 ? OpKind::Quantize : OpKind::Dequantize;
        p.inputs = {tensor_desc(src)};
        p.output = converted;
        return add_op(p, {src}, *out, std::string(dtype == QGPU_DTYPE_INT8 ? "quantize " : "dequantize ") + m_.blobs[size_t(blob)]);
    }

    Status add_op(const OpPlan& p, std::vector<int32_t> inputs, int32_t output, const std::string& what) {
        Net::Step s;
        QGPU_TRY(device_->create_op(p, &s.op));
        s.inputs = std::move(inputs);
        s.output = output;
        s.name = what;
        net_->steps_.push_back(std::move(s));
        summary_ << what << "\n";
        return QGPU_OK;
    }

    Status compile_layer(size_t li) {
        const NcnnLayer& l = m_.layers[li];
        if (fused_into_[li] >= 0 || l.type == "Input" || is_alias(l)) return QGPU_OK;
        const int32_t out_blob = l.outputs[0];
        const int32_t out = net_->blob_tensor_[size_t(out_blob)];
        const TensorDesc& od = tensor_desc(out);
        if (is_conv(l)) return compile_conv(l, od, out);
        OpPlan p;
        p.output = od;
        std::vector<int32_t> ins;
        if (l.type == "Pooling") {
            p.kind = l.get_int(0, 0) == 0 ? OpKind::MaxPool : OpKind::AvgPool;
            QGPU_TRY(pool_params(l, shapes_[size_t(l.inputs[0])], &p.pool));
        } else if (l.type == "Concat") {
            p.kind = OpKind::Concat;
        } else if (l.type == "Softmax") {
            p.kind = OpKind::Softmax;
        } else if (l.type == "Eltwise") {
            p.kind = OpKind::Add;
        } else if (l.type == "ReLU") {
            p.kind = OpKind::Relu;
            p.relu_slope = l.get_float(0, 0.0f);
        } else if (l.type == "Clip") {
            return unsupported(l, "Clip (ReLU6) only directly after a convolution, fused into it");
        } else {
            return unsupported(l, "layer type not supported");
        }
        for (int32_t b : l.inputs) {
            int32_t t;
            QGPU_TRY(as_dtype(b, od.dtype, od.quant, &t));
            ins.push_back(t);
            p.inputs.push_back(tensor_desc(t));
        }
        return add_op(p, ins, out, l.name + ": " + op_kind_name(p.kind) + (od.dtype == QGPU_DTYPE_INT8 ? " int8" : " float"));
    }

    Status compile_conv(const NcnnLayer& l, const TensorDesc& od, int32_t out) {
        qgpu_conv_desc d;
        QGPU_TRY(conv_desc(l, shapes_[size_t(l.inputs[0])], &d));
        const bool int8 = !keep_float(l);
        net_->conv_inputs_.emplace_back(l.name, m_.blobs[size_t(l.inputs[0])]);
        std::vector<float> wf(l.weights), scales;
        if (l.bias.size()) d.bias = l.bias.data();
        int32_t in = 0;
        if (int8) {
            d.precision = QGPU_PRECISION_INT8;
            qgpu_quant q;
            QGPU_TRY(input_quant(l, &q));
            const TensorDesc& cur = tensor_desc(net_->blob_tensor_[size_t(l.inputs[0])]);
            d.input_quant = cur.dtype == QGPU_DTYPE_INT8 ? cur.quant : q;
            QGPU_TRY(as_dtype(l.inputs[0], QGPU_DTYPE_INT8, d.input_quant, &in));
            d.output_dtype = od.dtype;
            if (od.dtype == QGPU_DTYPE_INT8) d.output_quant = od.quant;
            if (!l.weights_int8.empty()) {
                d.weights_int8 = l.weights_int8.data();
                if (!l.weight_scales.empty()) scales = l.weight_scales;  // ONNX QDQ: exact
                else
                    for (float ncnn_scale : l.weight_int8_scales) scales.push_back(1.0f / ncnn_scale);
                if (scales.size() != size_t(d.out_channels))
                    return unsupported(l, "int8 weights need one scale per output channel");
                d.weight_scales = scales.data();
            } else {
                d.weights = wf.data();
            }
        } else {
            d.precision = QGPU_PRECISION_FLOAT32;
            if (!l.weights_int8.empty()) {  // an int8 model run in float: dequantize the weights
                const size_t per = l.weights_int8.size() / size_t(d.out_channels);
                const bool qdq = !l.weight_scales.empty();
                if ((qdq ? l.weight_scales.size() : l.weight_int8_scales.size()) != size_t(d.out_channels))
                    return unsupported(l, "int8 weights need one scale per output channel");
                wf.resize(l.weights_int8.size());
                for (size_t k = 0; k < wf.size(); ++k)
                    wf[k] = qdq ? float(l.weights_int8[k]) * l.weight_scales[k / per]
                                : float(l.weights_int8[k]) / l.weight_int8_scales[k / per];
            }
            d.weights = wf.data();
            QGPU_TRY(as_dtype(l.inputs[0], QGPU_DTYPE_FLOAT32, {}, &in));
            if (od.dtype != QGPU_DTYPE_FLOAT32) return failf(QGPU_ERROR_INTERNAL, "float conv into int8 blob");
        }
        ConvPlan plan;
        Status st = build_conv_plan(d, &plan);
        if (st != QGPU_OK) return failf(st, "layer %s: %s", l.name.c_str(), last_error_message());
        Net::Step s;
        QGPU_TRY(device_->create_conv(plan, &s.conv));
        s.inputs = {in};
        s.output = out;
        net_->steps_.push_back(std::move(s));
        std::ostringstream what;
        what << l.name << ": " << (int8 ? "int8" : "fp32") << " conv " << d.kernel_h << "x" << d.kernel_w
             << " s" << d.stride_h << " g" << d.groups << " " << d.in_channels << "->" << d.out_channels
             << (int8 ? (od.dtype == QGPU_DTYPE_INT8 ? " requantize" : " dequantize") : "");
        net_->steps_.back().name = what.str();
        summary_ << what.str() << "\n";
        return QGPU_OK;
    }

    std::shared_ptr<Device> device_;
    NetOptions opt_;
    Net* net_;
    NcnnModel m_;
    NcnnTable table_;
    bool int8_ = false;
    std::vector<Shape> shapes_;
    std::vector<std::vector<int32_t>> consumers_;
    std::vector<int32_t> fused_into_, alias_of_;
    std::vector<qgpu_quant> blob_quant_;
    std::ostringstream summary_;
};

Net::~Net() {
    for (qgpu_tensor_t* t : tensors_) destroy_tensor(t);
}

Status Net::create(const std::shared_ptr<Device>& device, const NetOptions& options, std::unique_ptr<Net>* out) {
    std::unique_ptr<Net> net(new Net());
    net->device_ = device;
    NetBuilder builder(device, options, net.get());
    QGPU_TRY(builder.build());
    *out = std::move(net);
    return QGPU_OK;
}

Status Net::find(const std::string& blob, qgpu_tensor_t** out) {
    for (size_t b = 0; b < blob_names_.size(); ++b)
        if (blob_names_[b] == blob) {
            if (blob_tensor_[b] < 0)
                return failf(QGPU_ERROR_INVALID_ARGUMENT, "blob '%s' is fused away (read the activation's output)", blob.c_str());
            *out = tensors_[size_t(blob_tensor_[b])];
            return QGPU_OK;
        }
    return failf(QGPU_ERROR_INVALID_ARGUMENT, "the net has no blob named '%s'", blob.c_str());
}

Status Net::set_input(const std::string& blob, const float* data, size_t count) {
    qgpu_tensor_t* t;
    QGPU_TRY(find(blob, &t));
    return qgpu_tensor_write_f32(t, data, count);  // int8 input: the fused quantize + pack
}

Status Net::read(const std::string& blob, float* data, size_t count) {
    qgpu_tensor_t* t;
    QGPU_TRY(find(blob, &t));
    return qgpu_tensor_read_f32(t, data, count);
}

Status Net::shape(const std::string& blob, int32_t shape[4]) {
    qgpu_tensor_t* t;
    QGPU_TRY(find(blob, &t));
    return qgpu_tensor_get_shape(t, shape);
}

Status Net::run() {
    // QGPU_NET_PROFILE=1: every layer runs on its own and its wall time goes to stderr (a
    // profiling aid: without the batch a GPU waits after each layer, so the total is larger).
    static const bool profile = [] {
        const char* v = std::getenv("QGPU_NET_PROFILE");
        return v && std::strcmp(v, "1") == 0;
    }();
    if (profile) return run_steps(true);
    QGPU_TRY(device_->begin_batch());
    const Status status = run_steps(false);
    const Status flushed = device_->end_batch();
    return status != QGPU_OK ? status : flushed;
}

Status Net::run_steps(bool profile) {
    for (Step& s : steps_) {
        const auto start = std::chrono::steady_clock::now();
        const Status status = run_step(s);
        if (profile)
            std::fprintf(stderr, "qgpu profile: %9.3f ms  %s\n",
                         std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(),
                         s.name.c_str());
        QGPU_TRY(status);
    }
    return QGPU_OK;
}

Status Net::run_step(Step& s) {
    const qgpu_tensor_t* o = tensors_[size_t(s.output)];
    const TensorRef out{o->desc, o->buffer.get()};
    if (s.conv) {
        const qgpu_tensor_t* i = tensors_[size_t(s.inputs[0])];
        return s.conv->run(TensorRef{i->desc, i->buffer.get()}, out);
    }
    std::vector<TensorRef> ins;
    for (int32_t t : s.inputs) ins.push_back(TensorRef{tensors_[size_t(t)]->desc, tensors_[size_t(t)]->buffer.get()});
    return s.op->run(ins, out);
}

}  // namespace model
}  // namespace qgpu
