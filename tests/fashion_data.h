// The Fashion-MNIST CNN's reference files (../shared/models/fashion_cnn), shared by the ONNX
// tests: raw arrays and the reference calibration thresholds.
#pragma once
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace fashion {

inline const std::string& dir() {
    static const std::string d = std::string(QGPU_SHARED_DIR) + "/models/fashion_cnn/";
    return d;
}

template <typename T>
std::vector<T> read_raw(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<T> out(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return out;
}

// Reference thresholds of one method ("minmax", "kl_nozero", ...) for every Conv/Gemm input,
// by ONNX node name, from calibration_reference.json.
inline std::map<std::string, double> reference_thresholds(const std::string& method) {
    std::ifstream f(dir() + "calibration_reference.json");
    const std::string json((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::regex node("\"(/[^\"]+)\": \\{\\s*\"op\"");
    const std::regex value("\"" + method + "\": ([-+0-9.eE]+)");
    std::map<std::string, double> out;
    for (auto it = std::sregex_iterator(json.begin(), json.end(), node); it != std::sregex_iterator(); ++it) {
        std::smatch v;
        const std::string rest = json.substr(size_t(it->position() + it->length()));
        if (std::regex_search(rest, v, value)) out[(*it)[1]] = std::stod(v[1]);
    }
    return out;
}

}  // namespace fashion
