#include "core/ncnn_table.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#if __has_include(<version>)
#include <version>
#endif
#if defined(__cpp_lib_to_chars)  // float from_chars/to_chars (libstdc++ 11+): locale-free
#include <charconv>
#define QGPU_HAVE_FLOAT_CHARCONV 1
#endif

namespace qgpu {
namespace {

constexpr const char kWeightSuffix[] = "_param_0";
constexpr size_t kWeightSuffixLen = sizeof kWeightSuffix - 1;
constexpr size_t kMaxFileBytes = size_t(1) << 28;  // 256 MiB: no real table comes close

bool ends_with_suffix(const std::string& s) {
    return s.size() >= kWeightSuffixLen &&
           s.compare(s.size() - kWeightSuffixLen, kWeightSuffixLen, kWeightSuffix) == 0;
}

// Parses one whole token as a float; false when it is not a number or out of float's range.
bool parse_float(const char* begin, const char* end, float* out) {
#ifdef QGPU_HAVE_FLOAT_CHARCONV
    const char* p = begin;
    if (p != end && *p == '+') ++p;  // from_chars takes no '+'; C's strtof and ncnn do
    const auto r = std::from_chars(p, end, *out, std::chars_format::general);
    return r.ec == std::errc() && r.ptr == end;
#else
    std::string tok(begin, end);
    char* stop = nullptr;
    errno = 0;
    *out = std::strtof(tok.c_str(), &stop);
    return errno == 0 && stop == tok.c_str() + tok.size() && !tok.empty();
#endif
}

std::string printable(const char* b, const char* e) {
    std::string s(b, size_t(e - b) > 40 ? b + 40 : e);
    for (char& c : s)
        if ((unsigned char)c < 0x20 || (unsigned char)c == 0x7f) c = '?';
    return size_t(e - b) > 40 ? s + "..." : s;
}

}  // namespace

bool valid_table_name(const std::string& name) {
    if (name.empty()) return false;
    for (unsigned char c : name)
        if (c <= 0x20 || c == 0x7f) return false;
    return true;
}

std::string format_scale(float v) {
#ifdef QGPU_HAVE_FLOAT_CHARCONV
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
#else
    char buf[64];
    for (int digits = 6; digits <= 9; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*g", digits, double(v));
        if (std::strtof(buf, nullptr) == v) break;
    }
    return buf;
#endif
}

Status NcnnTable::parse(const std::string& text, const std::string& source) {
    NcnnTable t;
    std::unordered_map<std::string, size_t> first_line_w, first_line_a;
    size_t line_no = 0, pos = 0;
    const char* data = text.data();
    while (pos < text.size()) {
        ++line_no;
        size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) eol = text.size();
        const char* b = data + pos;
        const char* e = data + eol;
        pos = eol + 1;
        if (e > b && e[-1] == '\r') --e;
        // tokens
        std::vector<std::pair<const char*, const char*>> tokens;
        for (const char* p = b; p < e;) {
            const unsigned char c = (unsigned char)*p;
            if (c == ' ' || c == '\t') { ++p; continue; }
            if (c < 0x20 || c == 0x7f)
                return failf(QGPU_ERROR_FORMAT, "%s: line %zu: unexpected byte 0x%02x",
                             source.c_str(), line_no, c);
            const char* s = p;
            while (p < e && *p != ' ' && *p != '\t' && (unsigned char)*p >= 0x20 &&
                   (unsigned char)*p != 0x7f)
                ++p;
            tokens.emplace_back(s, p);
        }
        if (tokens.empty()) continue;  // blank line
        std::string name(tokens[0].first, tokens[0].second);
        if (tokens.size() < 2)
            return failf(QGPU_ERROR_FORMAT, "%s: line %zu: '%s' has no scale", source.c_str(),
                         line_no, printable(tokens[0].first, tokens[0].second).c_str());
        Entry entry;
        entry.scales.reserve(tokens.size() - 1);
        for (size_t i = 1; i < tokens.size(); ++i) {
            float v = 0.0f;
            if (!parse_float(tokens[i].first, tokens[i].second, &v))
                return failf(QGPU_ERROR_FORMAT, "%s: line %zu: value %zu '%s' is not a number in float range",
                             source.c_str(), line_no, i,
                             printable(tokens[i].first, tokens[i].second).c_str());
            if (!std::isfinite(v) || v < 0.0f)
                return failf(QGPU_ERROR_FORMAT, "%s: line %zu: scale %zu is %g: scales must be finite and >= 0",
                             source.c_str(), line_no, i, double(v));
            entry.scales.push_back(v);
        }
        const bool is_weight = ends_with_suffix(name);
        if (is_weight) {
            name.resize(name.size() - kWeightSuffixLen);
            if (name.empty())
                return failf(QGPU_ERROR_FORMAT, "%s: line %zu: weight line without a layer name",
                             source.c_str(), line_no);
        } else if (entry.scales.size() != 1) {
            return failf(QGPU_ERROR_FORMAT,
                         "%s: line %zu: activation '%s' has %zu scales (one expected; weight "
                         "lines end in _param_0)",
                         source.c_str(), line_no, printable(name.data(), name.data() + name.size()).c_str(),
                         entry.scales.size());
        }
        auto& lines = is_weight ? first_line_w : first_line_a;
        auto found = lines.find(name);
        if (found != lines.end())
            return failf(QGPU_ERROR_FORMAT, "%s: line %zu: duplicate %s entry '%s' (first on line %zu)",
                         source.c_str(), line_no, is_weight ? "weight" : "activation",
                         printable(name.data(), name.data() + name.size()).c_str(), found->second);
        lines.emplace(name, line_no);
        auto& list = is_weight ? t.weights_ : t.activations_;
        auto& index = is_weight ? t.weight_index_ : t.activation_index_;
        index.emplace(name, list.size());
        entry.name = std::move(name);
        list.push_back(std::move(entry));
    }
    *this = std::move(t);
    return QGPU_OK;
}

Status NcnnTable::load(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return failf(QGPU_ERROR_IO, "cannot open '%s': %s", path.c_str(), std::strerror(errno));
    f.seekg(0, std::ios::end);
    const std::streamoff size = f.tellg();
    if (size < 0) return failf(QGPU_ERROR_IO, "cannot read '%s'", path.c_str());
    if (size_t(size) > kMaxFileBytes)
        return failf(QGPU_ERROR_FORMAT, "%s: line 1: %lld bytes is too large for a calibration table",
                     path.c_str(), (long long)size);
    f.seekg(0, std::ios::beg);
    std::string text(size_t(size), '\0');
    if (size > 0 && !f.read(&text[0], size))
        return failf(QGPU_ERROR_IO, "cannot read '%s'", path.c_str());
    return parse(text, path);
}

std::string NcnnTable::serialize() const {
    std::string out;
    for (const Entry& e : weights_) {
        out += e.name;
        out += kWeightSuffix;
        for (float s : e.scales) {
            out += ' ';
            out += format_scale(s);
        }
        out += '\n';
    }
    for (const Entry& e : activations_) {
        out += e.name;
        out += ' ';
        out += format_scale(e.scales.at(0));
        out += '\n';
    }
    return out;
}

Status NcnnTable::save(const std::string& path) const {
    const std::string text = serialize();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return failf(QGPU_ERROR_IO, "cannot create '%s': %s", path.c_str(), std::strerror(errno));
    const size_t written = std::fwrite(text.data(), 1, text.size(), f);
    const bool ok = written == text.size() && std::fflush(f) == 0;
    const int err = errno;
    if (std::fclose(f) != 0 || !ok)
        return failf(QGPU_ERROR_IO, "cannot write '%s': %s", path.c_str(), std::strerror(err));
    return QGPU_OK;
}

const NcnnTable::Entry* NcnnTable::find_weights(const std::string& layer) const {
    auto it = weight_index_.find(layer);
    return it == weight_index_.end() ? nullptr : &weights_[it->second];
}

const NcnnTable::Entry* NcnnTable::find_activation(const std::string& name) const {
    auto it = activation_index_.find(name);
    return it == activation_index_.end() ? nullptr : &activations_[it->second];
}

Status NcnnTable::set_weights(const std::string& layer, const float* scales, size_t count) {
    if (!valid_table_name(layer))
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "layer name '%s' must be non-empty printable text without spaces", layer.c_str());
    if (!scales || count == 0)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "weight scales: need at least one scale");
    for (size_t i = 0; i < count; ++i)
        if (!std::isfinite(scales[i]) || scales[i] < 0.0f)
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "scales[%zu] = %g: scales must be finite and >= 0",
                         i, double(scales[i]));
    auto it = weight_index_.find(layer);
    if (it != weight_index_.end()) {
        weights_[it->second].scales.assign(scales, scales + count);
    } else {
        weight_index_.emplace(layer, weights_.size());
        weights_.push_back(Entry{layer, std::vector<float>(scales, scales + count)});
    }
    return QGPU_OK;
}

Status NcnnTable::set_activation(const std::string& name, float scale) {
    if (!valid_table_name(name))
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "activation name '%s' must be non-empty printable text without spaces", name.c_str());
    if (ends_with_suffix(name))
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "activation name '%s' ends in _param_0, which marks weight lines", name.c_str());
    if (!std::isfinite(scale) || scale < 0.0f)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "scale %g must be finite and >= 0", double(scale));
    auto it = activation_index_.find(name);
    if (it != activation_index_.end()) {
        activations_[it->second].scales.assign(1, scale);
    } else {
        activation_index_.emplace(name, activations_.size());
        activations_.push_back(Entry{name, std::vector<float>(1, scale)});
    }
    return QGPU_OK;
}

}  // namespace qgpu
