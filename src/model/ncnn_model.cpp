#include "model/ncnn_model.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <unordered_map>

namespace qgpu {
namespace model {

namespace {

constexpr int32_t kMagic = 7767517;
constexpr int32_t kMaxLayers = 1 << 16, kMaxBlobs = 1 << 17, kMaxLayerIo = 1 << 10;
constexpr size_t kMaxArray = size_t(1) << 20;
constexpr int32_t kArrayKeyBase = -23300;

// Splits a line into whitespace-separated tokens.
std::vector<std::string> tokens_of(const std::string& line) {
    std::vector<std::string> out;
    std::istringstream s(line);
    std::string t;
    while (s >> t) out.push_back(t);
    return out;
}

bool parse_int(const std::string& s, int64_t lo, int64_t hi, int32_t* out) {
    if (s.empty()) return false;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(s.c_str(), &end, 10);
    if (errno || *end || v < lo || v > hi) return false;
    *out = int32_t(v);
    return true;
}

bool parse_number(const std::string& s, double* out) {
    if (s.empty()) return false;
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(s.c_str(), &end);
    if (errno == ERANGE || *end || !std::isfinite(v)) return false;
    *out = v;
    return true;
}

Status line_error(size_t line, const std::string& what) {
    return failf(QGPU_ERROR_FORMAT, "ncnn param line %zu: %s", line, what.c_str());
}

Status parse_param_entry(const std::string& tok, size_t line, NcnnLayer* layer) {
    const size_t eq = tok.find('=');
    int32_t key = 0;
    if (eq == std::string::npos || !parse_int(tok.substr(0, eq), -30000, 30000, &key))
        return line_error(line, "bad parameter '" + tok.substr(0, 40) + "'");
    const std::string value = tok.substr(eq + 1);
    ParamValue v;
    if (key <= kArrayKeyBase) {
        key = kArrayKeyBase - key;
        v.is_array = true;
        std::vector<std::string> parts;
        std::string part;
        std::istringstream s(value);
        while (std::getline(s, part, ',')) parts.push_back(part);
        int32_t n = 0;
        if (parts.empty() || !parse_int(parts[0], 0, int64_t(kMaxArray), &n) ||
            size_t(n) != parts.size() - 1)
            return line_error(line, "bad array parameter " + std::to_string(key));
        for (size_t i = 1; i < parts.size(); ++i) {
            double d = 0;
            if (!parse_number(parts[i], &d)) return line_error(line, "bad array value '" + parts[i].substr(0, 40) + "'");
            v.values.push_back(d);
        }
    } else {
        double d = 0;
        if (!parse_number(value, &d)) return line_error(line, "bad value '" + value.substr(0, 40) + "'");
        v.values.push_back(d);
    }
    if (!layer->params.emplace(key, std::move(v)).second)
        return line_error(line, "parameter " + std::to_string(key) + " given twice");
    return QGPU_OK;
}

// Sequential reader over the .bin bytes.
class BinReader {
public:
    BinReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    size_t offset() const { return pos_; }
    bool done() const { return pos_ == size_; }

    Status take(size_t bytes, const uint8_t** out) {
        if (bytes > size_ - pos_)
            return failf(QGPU_ERROR_FORMAT, "ncnn bin: need %zu bytes at offset %zu, file has %zu",
                         bytes, pos_, size_);
        *out = data_ + pos_;
        pos_ += bytes;
        return QGPU_OK;
    }
    Status align4() {
        const size_t pad = (4 - pos_ % 4) % 4;
        const uint8_t* skip = nullptr;
        return take(pad, &skip);
    }
    // ncnn ModelBin::load(n, 1): raw float32
    Status raw_floats(size_t n, std::vector<float>* out) {
        const uint8_t* p = nullptr;
        if (n > (size_t(1) << 30)) return fail(QGPU_ERROR_FORMAT, "ncnn bin: absurd array size");
        QGPU_TRY(take(n * 4, &p));
        out->resize(n);
        std::memcpy(out->data(), p, n * 4);
        for (float v : *out)
            if (!std::isfinite(v))
                return failf(QGPU_ERROR_FORMAT, "ncnn bin: non-finite value before offset %zu", pos_);
        return QGPU_OK;
    }
    // ncnn ModelBin::load(n, 0): a 4-byte tag selects fp32 / fp16 / int8 / 256-entry table.
    Status tagged(size_t n, std::vector<float>* f, std::vector<int8_t>* q) {
        if (n > (size_t(1) << 30)) return fail(QGPU_ERROR_FORMAT, "ncnn bin: absurd weight count");
        const uint8_t* p = nullptr;
        const size_t at = pos_;
        QGPU_TRY(take(4, &p));
        uint32_t tag;
        std::memcpy(&tag, p, 4);
        if (tag == 0x01306B47u) {  // fp16
            QGPU_TRY(take(n * 2, &p));
            f->resize(n);
            for (size_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                (*f)[i] = half_to_float(h);
                if (!std::isfinite((*f)[i]))
                    return failf(QGPU_ERROR_FORMAT, "ncnn bin: non-finite fp16 weight at offset %zu", at);
            }
            return align4();
        }
        if (tag == 0x000D4B38u) {  // int8
            QGPU_TRY(take(n, &p));
            q->assign(reinterpret_cast<const int8_t*>(p), reinterpret_cast<const int8_t*>(p) + n);
            return align4();
        }
        if (tag == 0) return raw_floats(n, f);
        return failf(QGPU_ERROR_FORMAT,
                     "ncnn bin: unsupported weight tag 0x%08x at offset %zu (fp32, fp16 and int8 "
                     "are supported)", tag, at);
    }

private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

Status load_layer_weights(BinReader& r, NcnnLayer& l) {
    const std::string& t = l.type;
    if (t == "Convolution" || t == "ConvolutionDepthWise" || t == "InnerProduct") {
        const bool fc = t == "InnerProduct";
        const int32_t num_output = l.get_int(0, 0);
        const int32_t bias_term = l.get_int(fc ? 1 : 5, 0);
        const int32_t weight_size = l.get_int(fc ? 2 : 6, 0);
        const int32_t int8_term = l.get_int(8, 0);
        if (num_output <= 0 || weight_size <= 0)
            return failf(QGPU_ERROR_FORMAT, "layer %s: num_output and weight_data_size must be > 0",
                         l.name.c_str());
        QGPU_TRY(r.tagged(size_t(weight_size), &l.weights, &l.weights_int8));
        if (bias_term) QGPU_TRY(r.raw_floats(size_t(num_output), &l.bias));
        if (int8_term) {
            const int32_t groups = t == "ConvolutionDepthWise" ? l.get_int(7, 1) : num_output;
            const int32_t weight_scales = (int8_term % 100 == 2 && t == "ConvolutionDepthWise") ? 1
                                          : (t == "ConvolutionDepthWise" ? groups : num_output);
            QGPU_TRY(r.raw_floats(size_t(std::max(weight_scales, 1)), &l.weight_int8_scales));
            QGPU_TRY(r.raw_floats(1, &l.input_int8_scales));
            if (int8_term > 100) QGPU_TRY(r.raw_floats(1, &l.output_int8_scales));
        }
        return QGPU_OK;
    }
    if (t == "BatchNorm") {
        const int32_t channels = l.get_int(0, 0);
        if (channels <= 0) return failf(QGPU_ERROR_FORMAT, "layer %s: channels must be > 0", l.name.c_str());
        l.extra.resize(4);
        for (auto& v : l.extra) QGPU_TRY(r.raw_floats(size_t(channels), &v));
        return QGPU_OK;
    }
    if (t == "Scale") {
        const int32_t n = l.get_int(0, 0);
        if (n == -233) return QGPU_OK;  // scale comes from a second input blob
        if (n <= 0) return failf(QGPU_ERROR_FORMAT, "layer %s: scale_data_size must be > 0", l.name.c_str());
        l.extra.resize(l.get_int(1, 0) ? 2 : 1);
        for (auto& v : l.extra) QGPU_TRY(r.raw_floats(size_t(n), &v));
        return QGPU_OK;
    }
    if (t == "PReLU") {
        const int32_t n = l.get_int(0, 0);
        if (n <= 0) return failf(QGPU_ERROR_FORMAT, "layer %s: num_slope must be > 0", l.name.c_str());
        l.extra.resize(1);
        return r.raw_floats(size_t(n), &l.extra[0]);
    }
    static const char* const kNoWeights[] = {
        "Input", "ReLU", "Clip", "Pooling", "Split", "Concat", "Dropout", "Softmax", "Eltwise",
        "Flatten", "Reshape", "Sigmoid", "TanH", "Permute", "Padding", "Interp", "Crop",
        "Noop", "Quantize", "Dequantize", "Requantize", "HardSwish", "HardSigmoid", "Swish",
        "BinaryOp", "UnaryOp", "ShuffleChannel", "Slice", "DetectionOutput", "PriorBox"};
    for (const char* name : kNoWeights)
        if (t == name) return QGPU_OK;
    return failf(QGPU_ERROR_FORMAT, "layer %s: unknown layer type '%s' (cannot read its weights)",
                 l.name.c_str(), t.c_str());
}

}  // namespace

int32_t NcnnLayer::get_int(int32_t key, int32_t fallback) const {
    auto it = params.find(key);
    if (it == params.end() || it->second.values.empty() || it->second.is_array) return fallback;
    const double v = it->second.values[0];
    if (v < -2147483648.0 || v > 2147483647.0) return fallback;
    return int32_t(v);
}

float NcnnLayer::get_float(int32_t key, float fallback) const {
    auto it = params.find(key);
    if (it == params.end() || it->second.values.empty() || it->second.is_array) return fallback;
    return float(it->second.values[0]);
}

std::vector<double> NcnnLayer::get_array(int32_t key) const {
    auto it = params.find(key);
    if (it == params.end() || !it->second.is_array) return {};
    return it->second.values;
}

int32_t NcnnModel::find_blob(const std::string& name) const {
    for (size_t i = 0; i < blobs.size(); ++i)
        if (blobs[i] == name) return int32_t(i);
    return -1;
}

float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while (!(mant & 0x400)) { mant <<= 1; --exp; }
            bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

Status parse_ncnn_param(const std::string& text, NcnnModel* model) {
    *model = NcnnModel{};
    std::istringstream in(text);
    std::string line;
    size_t line_no = 0;
    auto next_line = [&](std::vector<std::string>* toks) {
        while (std::getline(in, line)) {
            ++line_no;
            *toks = tokens_of(line);
            if (!toks->empty()) return true;
        }
        return false;
    };
    std::vector<std::string> toks;
    int32_t magic = 0, layer_count = 0, blob_count = 0;
    if (!next_line(&toks) || toks.size() != 1 || !parse_int(toks[0], 0, INT32_MAX, &magic) || magic != kMagic)
        return line_error(line_no, "not an ncnn param file (magic 7767517 expected)");
    if (!next_line(&toks) || toks.size() != 2 || !parse_int(toks[0], 1, kMaxLayers, &layer_count) ||
        !parse_int(toks[1], 1, kMaxBlobs, &blob_count))
        return line_error(line_no, "expected '<layer count> <blob count>' within limits");
    std::unordered_map<std::string, int32_t> blob_index;
    std::vector<bool> produced;
    for (int32_t i = 0; i < layer_count; ++i) {
        if (!next_line(&toks))
            return line_error(line_no, "file ends after " + std::to_string(i) + " of " +
                                           std::to_string(layer_count) + " layers");
        int32_t nin = 0, nout = 0;
        if (toks.size() < 4 || !parse_int(toks[2], 0, kMaxLayerIo, &nin) ||
            !parse_int(toks[3], 0, kMaxLayerIo, &nout) || toks.size() < size_t(4 + nin + nout))
            return line_error(line_no, "expected '<type> <name> <inputs> <outputs> <blobs...>'");
        NcnnLayer layer;
        layer.type = toks[0];
        layer.name = toks[1];
        for (int32_t k = 0; k < nin; ++k) {
            auto it = blob_index.find(toks[size_t(4 + k)]);
            if (it == blob_index.end())
                return line_error(line_no, "input blob '" + toks[size_t(4 + k)] + "' is not produced by an earlier layer");
            layer.inputs.push_back(it->second);
        }
        for (int32_t k = 0; k < nout; ++k) {
            const std::string& name = toks[size_t(4 + nin + k)];
            if (blob_index.count(name)) return line_error(line_no, "blob '" + name + "' is produced twice");
            if (int32_t(model->blobs.size()) >= blob_count)
                return line_error(line_no, "more blobs than the declared " + std::to_string(blob_count));
            blob_index.emplace(name, int32_t(model->blobs.size()));
            layer.outputs.push_back(int32_t(model->blobs.size()));
            model->blobs.push_back(name);
        }
        for (size_t k = size_t(4 + nin + nout); k < toks.size(); ++k)
            QGPU_TRY(parse_param_entry(toks[k], line_no, &layer));
        model->layers.push_back(std::move(layer));
    }
    if (next_line(&toks)) return line_error(line_no, "text after the declared layers");
    return QGPU_OK;
}

Status parse_ncnn_bin(const uint8_t* data, size_t size, NcnnModel* model) {
    BinReader r(data, size);
    for (NcnnLayer& l : model->layers) QGPU_TRY(load_layer_weights(r, l));
    if (!r.done())
        return failf(QGPU_ERROR_FORMAT, "ncnn bin: %zu bytes left over after all layers (param and bin do not match)",
                     size - r.offset());
    return QGPU_OK;
}

Status read_file(const std::string& path, size_t max_bytes, std::string* out) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return failf(QGPU_ERROR_IO, "cannot open %s: %s", path.c_str(), std::strerror(errno));
    out->clear();
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        if (out->size() + n > max_bytes) {
            std::fclose(f);
            return failf(QGPU_ERROR_FORMAT, "%s is larger than %zu bytes", path.c_str(), max_bytes);
        }
        out->append(buf, n);
    }
    const bool error = std::ferror(f);
    std::fclose(f);
    if (error) return failf(QGPU_ERROR_IO, "cannot read %s", path.c_str());
    return QGPU_OK;
}

Status load_ncnn_model(const std::string& param_path, const std::string& bin_path, NcnnModel* model) {
    std::string text, bin;
    QGPU_TRY(read_file(param_path, size_t(64) << 20, &text));
    QGPU_TRY(parse_ncnn_param(text, model));
    QGPU_TRY(read_file(bin_path, size_t(2) << 30, &bin));
    return parse_ncnn_bin(reinterpret_cast<const uint8_t*>(bin.data()), bin.size(), model);
}

}  // namespace model
}  // namespace qgpu
