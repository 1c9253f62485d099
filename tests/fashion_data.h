// The Fashion-MNIST CNN's reference files (../shared/models/fashion_cnn), shared by the ONNX
// tests: raw arrays and the reference calibration thresholds.
#pragma once
#include <qgpu.h>

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

struct NetRun {
    qgpu_status status = QGPU_OK;
    std::string error, summary;
    std::vector<float> logits;  // batch x 10
};

// Creates a net from `d`, feeds `input` (d.batch images) to blob "input", runs it and reads
// "logits"; the status and last error of the first failing step otherwise.
inline NetRun run_net(qgpu_context ctx, const qgpu_net_desc& d, const std::vector<float>& input) {
    NetRun r;
    qgpu_net net = nullptr;
    r.status = qgpu_net_create(ctx, &d, &net);
    if (r.status == QGPU_OK) r.status = qgpu_net_set_input(net, "input", input.data(), input.size());
    if (r.status == QGPU_OK) r.status = qgpu_net_run(net);
    r.logits.resize(size_t(d.batch) * 10);
    if (r.status == QGPU_OK) r.status = qgpu_net_get_output(net, "logits", r.logits.data(), r.logits.size());
    if (r.status == QGPU_OK) r.summary = qgpu_net_summary(net);
    if (r.status != QGPU_OK) r.error = qgpu_last_error();
    qgpu_net_destroy(net);
    return r;
}

}  // namespace fashion
