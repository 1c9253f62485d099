// Reading ncnn models: the text .param graph and the binary .bin weights
// (format notes: ../shared/models/squeezenet/README.md). Hardened against corrupt input: every
// count is bounded, every read is checked, and errors name the line or byte offset.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace qgpu {
namespace model {

// One `key=value` or `key=n,v1,v2,...` (array keys are written as -23300 - key) entry.
struct ParamValue {
    bool is_array = false;
    std::vector<double> values;  // scalars hold one value
};

struct NcnnLayer {
    std::string type, name;
    std::vector<int32_t> inputs, outputs;  // blob indices
    std::map<int32_t, ParamValue> params;

    int32_t get_int(int32_t key, int32_t fallback) const;
    float get_float(int32_t key, float fallback) const;
    std::vector<double> get_array(int32_t key) const;

    // Weights from the .bin (which ones depends on the type; see load_ncnn_bin).
    std::vector<float> weights;            // float weights (decoded from fp32/fp16)
    std::vector<int8_t> weights_int8;      // int8 weights (ncnn2int8 output)
    std::vector<float> bias;
    std::vector<float> weight_int8_scales; // ncnn scales: int8 = real * scale
    std::vector<float> input_int8_scales;
    // ONNX QDQ models give scales in qgpu's convention (real = scale * (q - zero_point)), kept
    // exact instead of inverted into ncnn's: input_scale > 0 when the input is quantized, and
    // weight_scales (one per output channel) with weights_int8.
    float input_scale = 0.0f;
    int32_t input_zero_point = 0;
    std::vector<float> weight_scales;
    std::vector<float> output_int8_scales;
    std::vector<std::vector<float>> extra; // BatchNorm: slope, mean, var, bias; Scale; PReLU
};

struct NcnnModel {
    std::vector<NcnnLayer> layers;
    std::vector<std::string> blobs;
    int32_t find_blob(const std::string& name) const;  // -1 when absent
};

// Parses .param text. QGPU_ERROR_FORMAT with "line N: ..." on anything malformed.
Status parse_ncnn_param(const std::string& text, NcnnModel* model);
// Reads the weights of every layer from .bin bytes, in layer order; the whole buffer must be
// consumed exactly.
Status parse_ncnn_bin(const uint8_t* data, size_t size, NcnnModel* model);

// File helpers: QGPU_ERROR_IO when unreadable; files above `max_bytes` are refused.
Status read_file(const std::string& path, size_t max_bytes, std::string* out);
Status load_ncnn_model(const std::string& param_path, const std::string& bin_path, NcnnModel* model);

// IEEE half -> float.
float half_to_float(uint16_t h);

}  // namespace model
}  // namespace qgpu
