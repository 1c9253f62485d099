// Helpers of qgpu-bench that do not touch the library: the layer suite, a JSON writer, an SVG
// bar chart, file output and what the host CPU says about its clock and cores.
#pragma once
#include <string>
#include <vector>

namespace qgpu_bench {

// One row of the layer suite (format of ../shared/bench/shapes.tsv).
struct Layer {
    std::string name;
    int cin = 0, cout = 0, h = 0, w = 0, kh = 0, kw = 0, stride = 1, pad = 0, groups = 1;
    std::string from;
};

// The built-in copy of the qconv suite v1 (13 layers), used when --shapes is not given.
std::vector<Layer> builtin_layers();
// Parses a shapes file: '#' comments and blank lines skipped; columns separated by tabs or
// spaces: name cin cout h w kh kw stride pad groups [from...]. False + *err on any bad row.
bool parse_layers(const std::string& text, std::vector<Layer>* out, std::string* err);
bool load_layers(const std::string& path, std::vector<Layer>* out, std::string* err);

std::vector<std::string> split(const std::string& s, char sep);

// Writes `text` to `path` ("-" = stdout). Throws std::runtime_error on failure.
void write_text(const std::string& path, const std::string& text);

// A small streaming JSON writer: commas are inserted automatically.
class JsonWriter {
public:
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(const std::string& k);
    JsonWriter& str(const std::string& v);
    JsonWriter& num(double v);  // non-finite values become null
    JsonWriter& boolean(bool v);
    JsonWriter& null();
    JsonWriter& raw(const std::string& json);  // an already-serialized value
    const std::string& str() const { return s_; }

    static std::string escape(const std::string& v);

private:
    void value_prefix();
    std::string s_;
    std::vector<bool> first_;  // per open container: no element written yet
    bool after_key_ = false;
};

struct BarSeries {
    std::string label;
    std::vector<double> values;  // one per category; < 0 = missing
};
struct BarChart {
    std::string title;
    std::vector<std::string> categories;
    std::vector<BarSeries> series;
};
// A grouped bar chart as a standalone SVG document (no scripts, no external resources).
std::string render_svg(const BarChart& chart);
std::string xml_escape(const std::string& s);

// The CPU clock in MHz from /sys (cpuinfo_max_freq) or /proc/cpuinfo; 0 when unknown.
double cpu_mhz();
// The clock the calling thread actually runs at (turbo included; a VM's /proc/cpuinfo shows the
// base clock), timed on chains of dependent one-cycle integer adds (x86-64, AArch64); 0 elsewhere.
double measured_cpu_mhz();
// /proc/cpuinfo's vendor_id ("GenuineIntel", "AuthenticAMD"; "" elsewhere) and cpu family
// (x86 family number; 0 when unknown).
std::string cpu_vendor();
int cpu_family();
// Physical cores that `threads` worker threads occupy, from /proc/cpuinfo's siblings and
// cpu cores (SMT siblings share the vector units); `threads` when that is unknown.
int physical_cores_for_threads(int threads);

}  // namespace qgpu_bench
