// ncnn calibration tables (.table text, ncnn2table / ncnn2int8): read, write, edit.
// Format: `<layer>_param_0 s0 s1 ...` weight-scale lines (one scale per output channel; the
// 2018 layout has one per layer), then `<blob> s` activation lines. ncnn scales: real = q/s.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace qgpu {

class NcnnTable {
public:
    struct Entry {
        std::string name;  // without the `_param_0` suffix for weight lines
        std::vector<float> scales;
    };

    // Parses `text` (the whole file); `source` names it in messages. FORMAT errors carry
    // "line N". On failure *this is left unchanged.
    Status parse(const std::string& text, const std::string& source);
    Status load(const std::string& path);
    std::string serialize() const;
    Status save(const std::string& path) const;

    const std::vector<Entry>& weights() const { return weights_; }
    const std::vector<Entry>& activations() const { return activations_; }
    const Entry* find_weights(const std::string& layer) const;
    const Entry* find_activation(const std::string& name) const;
    Status set_weights(const std::string& layer, const float* scales, size_t count);
    Status set_activation(const std::string& name, float scale);

private:
    std::vector<Entry> weights_, activations_;
    std::unordered_map<std::string, size_t> weight_index_, activation_index_;
};

// The shortest decimal text that reads back (strtof/from_chars) as exactly `v`.
std::string format_scale(float v);
// Name rules shared by parse() and the setters: non-empty, printable ASCII, no spaces.
bool valid_table_name(const std::string& name);

}  // namespace qgpu
