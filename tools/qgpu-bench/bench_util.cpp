#include "bench_util.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace qgpu_bench {

std::vector<Layer> builtin_layers() {
    // qconv suite v1 (../shared/bench/shapes.tsv): one INT8 conv layer per row, batch 1.
    static const char* const kSuite =
        "r18_conv1\t3\t64\t224\t224\t7\t7\t2\t3\t1\tResNet-18 stem\n"
        "r18_l1\t64\t64\t56\t56\t3\t3\t1\t1\t1\tResNet-18 layer1 3x3\n"
        "r18_l2\t128\t128\t28\t28\t3\t3\t1\t1\t1\tResNet-18 layer2 3x3\n"
        "r18_l3\t256\t256\t14\t14\t3\t3\t1\t1\t1\tResNet-18 layer3 3x3\n"
        "r18_l4\t512\t512\t7\t7\t3\t3\t1\t1\t1\tResNet-18 layer4 3x3\n"
        "r18_ds\t128\t256\t28\t28\t1\t1\t2\t0\t1\tResNet-18 1x1 stride-2 downsample\n"
        "mv2_expand\t24\t144\t56\t56\t1\t1\t1\t0\t1\tMobileNetV2 1x1 expand\n"
        "mv2_dw\t144\t144\t56\t56\t3\t3\t1\t1\t144\tMobileNetV2 3x3 depthwise\n"
        "mv2_project\t144\t24\t56\t56\t1\t1\t1\t0\t1\tMobileNetV2 1x1 project\n"
        "mv2_last\t320\t1280\t7\t7\t1\t1\t1\t0\t1\tMobileNetV2 final 1x1\n"
        "sq_squeeze\t128\t16\t55\t55\t1\t1\t1\t0\t1\tSqueezeNet fire squeeze 1x1\n"
        "sq_expand3\t16\t64\t55\t55\t3\t3\t1\t1\t1\tSqueezeNet fire expand 3x3\n"
        "big_3x3\t256\t256\t56\t56\t3\t3\t1\t1\t1\tlarge 3x3 (compute bound)\n";
    std::vector<Layer> layers;
    std::string err;
    if (!parse_layers(kSuite, &layers, &err)) throw std::logic_error("built-in suite: " + err);
    return layers;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::string cur;
    for (char ch : s) {
        if (ch == sep) {
            if (!cur.empty()) parts.push_back(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    if (!cur.empty()) parts.push_back(cur);
    return parts;
}

namespace {

bool to_int(const std::string& s, int lo, int hi, int* out) {
    if (s.empty()) return false;
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (*end || errno || v < lo || v > hi) return false;
    *out = int(v);
    return true;
}

}  // namespace

bool parse_layers(const std::string& text, std::vector<Layer>* out, std::string* err) {
    std::istringstream in(text);
    std::string line;
    int lineno = 0;
    out->clear();
    while (std::getline(in, line)) {
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const size_t first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        // columns: split on tabs when the line has them (the "from" column has spaces), else spaces
        std::vector<std::string> cols;
        if (line.find('\t') != std::string::npos) {
            std::string cur;
            for (char ch : line) {
                if (ch == '\t') { cols.push_back(cur); cur.clear(); }
                else cur += ch;
            }
            cols.push_back(cur);
            for (auto& c : cols) {
                const size_t b = c.find_first_not_of(' '), e = c.find_last_not_of(' ');
                c = b == std::string::npos ? "" : c.substr(b, e - b + 1);
            }
            cols.erase(std::remove(cols.begin(), cols.end(), std::string()), cols.end());
        } else {
            cols = split(line, ' ');
        }
        if (cols.size() < 10) {
            *err = "line " + std::to_string(lineno) + ": expected at least 10 columns "
                   "(name cin cout h w kh kw stride pad groups), got " + std::to_string(cols.size());
            return false;
        }
        Layer L;
        L.name = cols[0];
        int* fields[] = {&L.cin, &L.cout, &L.h, &L.w, &L.kh, &L.kw, &L.stride, &L.pad, &L.groups};
        const char* names[] = {"cin", "cout", "h", "w", "kh", "kw", "stride", "pad", "groups"};
        const int lo[] = {1, 1, 1, 1, 1, 1, 1, 0, 1};
        for (int i = 0; i < 9; ++i)
            if (!to_int(cols[1 + i], lo[i], 1 << 20, fields[i])) {
                *err = "line " + std::to_string(lineno) + ": bad " + names[i] + " '" + cols[1 + i] + "'";
                return false;
            }
        for (size_t i = 10; i < cols.size(); ++i) L.from += (i > 10 ? " " : "") + cols[i];
        if (L.cin % L.groups || L.cout % L.groups) {
            *err = "line " + std::to_string(lineno) + ": cin and cout must be multiples of groups";
            return false;
        }
        if (L.h + 2 * L.pad < L.kh || L.w + 2 * L.pad < L.kw) {
            *err = "line " + std::to_string(lineno) + ": the kernel is larger than the padded input";
            return false;
        }
        out->push_back(L);
    }
    return true;
}

bool load_layers(const std::string& path, std::vector<Layer>* out, std::string* err) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        *err = "cannot open '" + path + "': " + std::strerror(errno);
        return false;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    if (!parse_layers(ss.str(), out, err)) {
        *err = path + ": " + *err;
        return false;
    }
    if (out->empty()) {
        *err = path + ": no layers";
        return false;
    }
    return true;
}

void write_text(const std::string& path, const std::string& text) {
    if (path == "-") {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return;
    }
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
    const size_t n = std::fwrite(text.data(), 1, text.size(), f);
    const bool ok = n == text.size() && std::fclose(f) == 0;
    if (!ok) throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
}

// ---- JSON ----------------------------------------------------------------------------------
std::string JsonWriter::escape(const std::string& v) {
    std::string o = "\"";
    for (unsigned char ch : v) {
        switch (ch) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\r': o += "\\r"; break;
            case '\t': o += "\\t"; break;
            default:
                if (ch < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", ch);
                    o += buf;
                } else {
                    o += char(ch);
                }
        }
    }
    return o + "\"";
}

void JsonWriter::value_prefix() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.empty()) {
        if (!first_.back()) s_ += ", ";
        first_.back() = false;
    }
}

JsonWriter& JsonWriter::begin_object() {
    value_prefix();
    s_ += '{';
    first_.push_back(true);
    return *this;
}
JsonWriter& JsonWriter::end_object() {
    s_ += '}';
    first_.pop_back();
    return *this;
}
JsonWriter& JsonWriter::begin_array() {
    value_prefix();
    s_ += '[';
    first_.push_back(true);
    return *this;
}
JsonWriter& JsonWriter::end_array() {
    s_ += ']';
    first_.pop_back();
    return *this;
}
JsonWriter& JsonWriter::key(const std::string& k) {
    value_prefix();
    s_ += escape(k) + ": ";
    after_key_ = true;
    return *this;
}
JsonWriter& JsonWriter::str(const std::string& v) {
    value_prefix();
    s_ += escape(v);
    return *this;
}
JsonWriter& JsonWriter::num(double v) {
    if (!std::isfinite(v)) return null();
    value_prefix();
    char buf[64];
    if (v == std::floor(v) && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
    else std::snprintf(buf, sizeof buf, "%.6g", v);
    s_ += buf;
    return *this;
}
JsonWriter& JsonWriter::boolean(bool v) {
    value_prefix();
    s_ += v ? "true" : "false";
    return *this;
}
JsonWriter& JsonWriter::null() {
    value_prefix();
    s_ += "null";
    return *this;
}
JsonWriter& JsonWriter::raw(const std::string& json) {
    value_prefix();
    s_ += json;
    return *this;
}

// ---- SVG -----------------------------------------------------------------------------------
std::string xml_escape(const std::string& s) {
    std::string o;
    for (char ch : s) {
        switch (ch) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += "&quot;"; break;
            case '\'': o += "&apos;"; break;
            default: o += ch;
        }
    }
    return o;
}

namespace {

// 1, 2 or 5 times a power of ten, at least x/5: about five grid lines
double nice_step(double max) {
    if (max <= 0) return 1;
    const double raw = max / 5;
    const double p = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * p >= raw) return m * p;
    return 10 * p;
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

}  // namespace

std::string render_svg(const BarChart& c) {
    static const char* const kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                          "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};
    const double left = 70, right = 20, top = 50, bottom = 110;
    const size_t ns = std::max<size_t>(c.series.size(), 1);
    const double bar_w = 14, group_gap = 16;
    const double group_w = ns * bar_w + group_gap;
    const double plot_w = std::max(300.0, c.categories.size() * group_w);
    const double plot_h = 320;
    const double legend_h = 18.0 * c.series.size();
    const double width = left + plot_w + right, height = top + plot_h + bottom + legend_h;
    double vmax = 0;
    for (const BarSeries& s : c.series)
        for (double v : s.values) vmax = std::max(vmax, v);
    const double step = nice_step(vmax);
    const double ymax = vmax > 0 ? std::ceil(vmax / step) * step : 1;
    auto y_of = [&](double v) { return top + plot_h - plot_h * (v / ymax); };

    std::ostringstream o;
    o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(width) << "\" height=\"" << num(height)
      << "\" viewBox=\"0 0 " << num(width) << " " << num(height) << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
    o << "<rect x=\"0\" y=\"0\" width=\"" << num(width) << "\" height=\"" << num(height) << "\" fill=\"white\"/>\n";
    o << "<text x=\"" << num(width / 2) << "\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">"
      << xml_escape(c.title) << "</text>\n";
    // grid + y axis labels
    for (double v = 0; v <= ymax + step * 1e-9; v += step) {
        const double y = y_of(v);
        o << "<line x1=\"" << num(left) << "\" y1=\"" << num(y) << "\" x2=\"" << num(left + plot_w) << "\" y2=\""
          << num(y) << "\" stroke=\"#ddd\"/>\n";
        char lab[32];
        std::snprintf(lab, sizeof lab, "%g", v);
        o << "<text x=\"" << num(left - 6) << "\" y=\"" << num(y + 4) << "\" text-anchor=\"end\">" << lab
          << "</text>\n";
    }
    o << "<text x=\"16\" y=\"" << num(top + plot_h / 2) << "\" transform=\"rotate(-90 16 " << num(top + plot_h / 2)
      << ")\" text-anchor=\"middle\">GOPS</text>\n";
    o << "<line x1=\"" << num(left) << "\" y1=\"" << num(top + plot_h) << "\" x2=\"" << num(left + plot_w)
      << "\" y2=\"" << num(top + plot_h) << "\" stroke=\"black\"/>\n";
    // bars
    for (size_t ci = 0; ci < c.categories.size(); ++ci) {
        const double gx = left + ci * group_w + group_gap / 2;
        for (size_t si = 0; si < c.series.size(); ++si) {
            const BarSeries& s = c.series[si];
            if (ci >= s.values.size() || s.values[ci] < 0) continue;
            const double v = s.values[ci];
            const double y = y_of(v);
            o << "<rect x=\"" << num(gx + si * bar_w) << "\" y=\"" << num(y) << "\" width=\"" << num(bar_w - 1)
              << "\" height=\"" << num(top + plot_h - y) << "\" fill=\"" << kColors[si % 8] << "\"><title>"
              << xml_escape(c.categories[ci] + " " + s.label) << ": " << num(v) << " GOPS</title></rect>\n";
        }
        const double cx = gx + ns * bar_w / 2;
        const double ly = top + plot_h + 12;
        o << "<text x=\"" << num(cx) << "\" y=\"" << num(ly) << "\" text-anchor=\"end\" transform=\"rotate(-45 "
          << num(cx) << " " << num(ly) << ")\">" << xml_escape(c.categories[ci]) << "</text>\n";
    }
    // legend
    for (size_t si = 0; si < c.series.size(); ++si) {
        const double y = top + plot_h + bottom + 18.0 * si;
        o << "<rect x=\"" << num(left) << "\" y=\"" << num(y - 10) << "\" width=\"12\" height=\"12\" fill=\""
          << kColors[si % 8] << "\"/>\n";
        o << "<text x=\"" << num(left + 18) << "\" y=\"" << num(y) << "\">" << xml_escape(c.series[si].label)
          << "</text>\n";
    }
    o << "</svg>\n";
    return o.str();
}

// ---- host CPU --------------------------------------------------------------------------------
namespace {

std::string read_file(const char* path) {
    std::ifstream f(path);
    if (!f) return "";
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// first "key : value" of /proc/cpuinfo
std::string cpuinfo_field(const std::string& cpuinfo, const std::string& key) {
    std::istringstream in(cpuinfo);
    std::string line;
    while (std::getline(in, line)) {
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string k = line.substr(0, colon);
        while (!k.empty() && (k.back() == ' ' || k.back() == '\t')) k.pop_back();
        if (k == key) {
            std::string v = line.substr(colon + 1);
            const size_t b = v.find_first_not_of(" \t");
            return b == std::string::npos ? "" : v.substr(b);
        }
    }
    return "";
}

}  // namespace

double cpu_mhz() {
    const std::string khz = read_file("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
    if (!khz.empty()) {
        const double v = std::atof(khz.c_str());
        if (v > 0) return v / 1000.0;
    }
    const std::string mhz = cpuinfo_field(read_file("/proc/cpuinfo"), "cpu MHz");
    return mhz.empty() ? 0 : std::atof(mhz.c_str());
}

double measured_cpu_mhz() {
#if defined(__x86_64__) || defined(__aarch64__)
    // 8 dependent adds per iteration (8 cycles); the loop counter runs alongside. Best of 5
    // runs of ~5 ms, after a warm-up that lets the clock ramp up.
    auto chain = [](uint64_t iters) {
        uint64_t x = 0;
#if defined(__x86_64__)
        __asm__ volatile(
            "1:\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
            "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tdec %1\n\tjnz 1b"
            : "+r"(x), "+r"(iters));
#else
        __asm__ volatile(
            "1:\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\t"
            "add %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\tadd %0, %0, #1\n\t"
            "subs %1, %1, #1\n\tb.ne 1b"
            : "+r"(x), "+r"(iters)
            :
            : "cc");
#endif
        return x;
    };
    const uint64_t iters = 2000000;  // 16 M cycles: ~4 ms at 4 GHz
    double best = 0;
    for (int run = 0; run < 8; ++run) {
        const auto t0 = std::chrono::steady_clock::now();
        chain(iters);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (run >= 3 && s > 0) best = std::max(best, 8.0 * double(iters) / s * 1e-6);
    }
    return best;
#else
    return 0;
#endif
}

std::string cpu_vendor() { return cpuinfo_field(read_file("/proc/cpuinfo"), "vendor_id"); }

int cpu_family() { return std::atoi(cpuinfo_field(read_file("/proc/cpuinfo"), "cpu family").c_str()); }

int physical_cores_for_threads(int threads) {
    const std::string info = read_file("/proc/cpuinfo");
    const int siblings = std::atoi(cpuinfo_field(info, "siblings").c_str());
    const int cores = std::atoi(cpuinfo_field(info, "cpu cores").c_str());
    if (siblings > 0 && cores > 0 && siblings >= cores) {
        const int smt = siblings / cores;
        return std::max(1, (threads + smt - 1) / smt);
    }
    return threads;
}

}  // namespace qgpu_bench
