// qgpu-run: load a CNN (ncnn .param/.bin + .table, or ONNX), run it fp32 and int8 on a backend.
//
//   qgpu-run classify --param M.param --bin M.bin [--table T.table] --image X.ppm|X.pgm
//            [--labels synset.txt] [--mean 104,117,123] [--norm 1,1,1] [--size 227] [--bgr]
//            [--input data] [--output prob] [--backend cpu|vulkan|opencl|auto] [--threads N]
//            [--top 5] [--repeat R] [--json PATH] [--expect CLASS]
//   qgpu-run fashion --model model.onnx [--data /usr/share/datasets/fashion-mnist]
//            [--calib 1000] [--test 10000] [--batch 64] [--backend ...] [--threads N] [--json PATH]
//
// `classify` prints the top-k classes of fp32 and int8 and their latency; `fashion` calibrates
// the Fashion-MNIST CNN with every method on the first training images and reports the int8
// test-set accuracy and agreement with fp32 per method.
#include <qgpu.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "qgpu-run: %s\n", message.c_str());
    std::exit(2);
}

void check(qgpu_status st, const char* what) {
    if (st != QGPU_OK) die(std::string(what) + ": " + qgpu_status_name(st) + ": " + qgpu_last_error());
}

struct Args {
    std::map<std::string, std::string> kv;
    std::string get(const std::string& k, const std::string& fallback = "") const {
        auto it = kv.find(k);
        return it == kv.end() ? fallback : it->second;
    }
    bool has(const std::string& k) const { return kv.count(k) != 0; }
    int integer(const std::string& k, int fallback) const {
        if (!has(k)) return fallback;
        char* end = nullptr;
        const long v = std::strtol(get(k).c_str(), &end, 10);
        if (*end || v < 0 || v > 100000000) die("--" + k + " needs a non-negative integer");
        return int(v);
    }
};

Args parse(int argc, char** argv, int first) {
    Args a;
    for (int i = first; i < argc; ++i) {
        std::string k = argv[i];
        if (k.rfind("--", 0) != 0) die("unexpected argument '" + k + "'");
        k = k.substr(2);
        if (k == "bgr") { a.kv[k] = "1"; continue; }
        if (i + 1 >= argc) die("--" + k + " needs a value");
        a.kv[k] = argv[++i];
    }
    return a;
}

std::vector<float> floats(const std::string& s, size_t n, float fallback) {
    std::vector<float> v(n, fallback);
    if (s.empty()) return v;
    std::stringstream ss(s);
    std::string item;
    for (size_t i = 0; i < n && std::getline(ss, item, ','); ++i) v[i] = std::strtof(item.c_str(), nullptr);
    return v;
}

qgpu_backend backend_of(const std::string& s) {
    if (s == "auto" || s.empty()) return QGPU_BACKEND_AUTO;
    if (s == "cpu") return QGPU_BACKEND_CPU;
    if (s == "vulkan") return QGPU_BACKEND_VULKAN;
    if (s == "opencl") return QGPU_BACKEND_OPENCL;
    die("unknown backend '" + s + "'");
}

qgpu_context make_context(const Args& a) {
    qgpu_context_desc d;
    qgpu_context_desc_init(&d);
    d.backend = backend_of(a.get("backend", "cpu"));
    d.num_threads = a.integer("threads", 0);
    const std::string variant = a.get("variant");
    d.kernel_variant = variant.empty() ? nullptr : variant.c_str();
    qgpu_context ctx = nullptr;
    check(qgpu_context_create(&d, &ctx), "context");
    return ctx;
}

// One header number of a PNM file: whitespace and '#' comments before it, decimal digits only,
// at most `limit`; -1 on anything else (no wrap-around on absurd sizes).
long pnm_number(FILE* f, long limit) {
    int c = std::fgetc(f);
    while (c == '#' || std::isspace(c)) {
        if (c == '#')
            while (c != '\n' && c != EOF) c = std::fgetc(f);
        c = std::fgetc(f);
    }
    if (!std::isdigit(c)) return -1;
    long v = 0;
    for (; std::isdigit(c); c = std::fgetc(f)) {
        v = v * 10 + (c - '0');
        if (v > limit) return -1;
    }
    return std::isspace(c) ? v : -1;  // exactly one whitespace byte ends the header's last number
}

// PPM (P6) or PGM (P5), 8-bit; channels 3 or 1. Refuses anything else.
bool read_pnm(const std::string& path, int* w, int* h, int* channels, std::vector<unsigned char>* px) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    char magic[2] = {0, 0};
    bool ok = std::fread(magic, 1, 2, f) == 2 && magic[0] == 'P' && (magic[1] == '6' || magic[1] == '5');
    *channels = ok ? (magic[1] == '6' ? 3 : 1) : 0;
    const long width = ok ? pnm_number(f, 16384) : -1;
    const long height = width > 0 ? pnm_number(f, 16384) : -1;
    const long maxval = height > 0 ? pnm_number(f, 65535) : -1;
    ok = width > 0 && height > 0 && maxval == 255;
    if (ok) {
        *w = int(width);
        *h = int(height);
        px->resize(size_t(*w) * size_t(*h) * size_t(*channels));
        ok = std::fread(px->data(), 1, px->size(), f) == px->size();
    }
    std::fclose(f);
    return ok;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

struct NetHandle {
    qgpu_net net = nullptr;
    ~NetHandle() { qgpu_net_destroy(net); }
};

int classify(const Args& a) {
    const std::string param = a.get("param"), bin = a.get("bin"), table = a.get("table");
    if (param.empty() || !a.has("image")) die("classify needs --param and --image (and --bin for ncnn)");
    int w = 0, h = 0, ch = 0;
    std::vector<unsigned char> px;
    if (!read_pnm(a.get("image"), &w, &h, &ch, &px)) die("cannot read " + a.get("image") + " as an 8-bit PPM/PGM");
    qgpu_context ctx = make_context(a);
    const std::string in_blob = a.get("input", "data"), out_blob = a.get("output", "prob");
    std::vector<std::string> labels;
    if (a.has("labels")) {
        std::ifstream f(a.get("labels"));
        for (std::string line; std::getline(f, line);) labels.push_back(line);
    }
    std::string json = "{\"results\": [";
    int status = 0;
    for (qgpu_precision prec : {QGPU_PRECISION_FLOAT32, QGPU_PRECISION_INT8}) {
        if (prec == QGPU_PRECISION_INT8 && table.empty() && param.find("int8") == std::string::npos) continue;
        qgpu_net_desc d;
        qgpu_net_desc_init(&d);
        d.param_path = param.c_str();
        d.bin_path = bin.empty() ? nullptr : bin.c_str();
        d.table_path = table.empty() ? nullptr : table.c_str();
        d.precision = prec;
        NetHandle n;
        check(qgpu_net_create(ctx, &d, &n.net), "load");
        int32_t s[4];
        check(qgpu_net_get_blob_shape(n.net, in_blob.c_str(), s), "input blob");
        if (s[1] != ch && !(s[1] == 3 && ch == 1)) die("the image has " + std::to_string(ch) + " channels, the net wants " + std::to_string(s[1]));
        // resize (bilinear, pixel centres), optional BGR, (x - mean) * norm
        const int size_h = a.integer("size", s[2]), size_w = a.integer("size", s[3]);
        if (size_h != s[2] || size_w != s[3]) die("--size does not match the net's input");
        const std::vector<float> mean = floats(a.get("mean"), 3, 0.0f), norm = floats(a.get("norm"), 3, 1.0f);
        std::vector<float> input(size_t(s[1]) * size_h * size_w);
        for (int c = 0; c < s[1]; ++c)
            for (int y = 0; y < size_h; ++y)
                for (int x = 0; x < size_w; ++x) {
                    const float fy = std::max(0.0f, (y + 0.5f) * h / size_h - 0.5f), fx = std::max(0.0f, (x + 0.5f) * w / size_w - 0.5f);
                    const int y0 = std::min(int(fy), h - 1), x0 = std::min(int(fx), w - 1);
                    const int y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
                    const int src_c = ch == 1 ? 0 : (a.has("bgr") ? 2 - c : c);
                    auto p = [&](int yy, int xx) { return float(px[(size_t(yy) * w + xx) * ch + size_t(src_c)]); };
                    const float ay = fy - y0, ax = fx - x0;
                    const float v = (1 - ay) * ((1 - ax) * p(y0, x0) + ax * p(y0, x1)) + ay * ((1 - ax) * p(y1, x0) + ax * p(y1, x1));
                    input[(size_t(c) * size_h + y) * size_w + x] = (v - mean[size_t(c)]) * norm[size_t(c)];
                }
        const int repeat = std::max(1, a.integer("repeat", 10));
        std::vector<double> times;
        for (int r = 0; r < repeat; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            check(qgpu_net_set_input(n.net, in_blob.c_str(), input.data(), input.size()), "input");
            check(qgpu_net_run(n.net), "run");
            times.push_back(ms_since(t0));
        }
        std::sort(times.begin(), times.end());
        check(qgpu_net_get_blob_shape(n.net, out_blob.c_str(), s), "output blob");
        std::vector<float> out(size_t(s[0]) * s[1] * s[2] * s[3]);
        check(qgpu_net_get_output(n.net, out_blob.c_str(), out.data(), out.size()), "output");
        std::vector<int> idx(out.size());
        std::iota(idx.begin(), idx.end(), 0);
        const size_t k = std::min<size_t>(size_t(a.integer("top", 5)), idx.size());
        std::partial_sort(idx.begin(), idx.begin() + long(k), idx.end(), [&](int x, int y) { return out[size_t(x)] > out[size_t(y)]; });
        const char* name = prec == QGPU_PRECISION_INT8 ? "int8" : "fp32";
        std::printf("%s  %.3f ms median of %d (%s, %s)\n", name, times[times.size() / 2], repeat,
                    qgpu_context_kernel_variant(ctx), param.c_str());
        json += std::string(prec == QGPU_PRECISION_INT8 ? ", " : "") + "{\"precision\": \"" + name +
                "\", \"median_ms\": " + std::to_string(times[times.size() / 2]) + ", \"top\": [";
        for (size_t i = 0; i < k; ++i) {
            const int c = idx[i];
            std::printf("  %4d  %.6f  %s\n", c, out[size_t(c)], size_t(c) < labels.size() ? labels[size_t(c)].c_str() : "");
            json += std::string(i ? ", " : "") + "{\"class\": " + std::to_string(c) + ", \"score\": " + std::to_string(out[size_t(c)]) + "}";
        }
        json += "]}";
        if (a.has("expect") && idx[0] != a.integer("expect", -1)) {
            std::fprintf(stderr, "qgpu-run: %s top-1 is %d, expected %s\n", name, idx[0], a.get("expect").c_str());
            status = 1;
        }
    }
    json += "]}\n";
    if (a.has("json")) std::ofstream(a.get("json")) << json;
    qgpu_context_destroy(ctx);
    return status;
}

// ---- Fashion-MNIST ---------------------------------------------------------------------------

std::vector<unsigned char> read_idx_gz(const std::string& path, size_t header) {
    const std::string cmd = "gzip -dc '" + path + "'";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) die("cannot run gzip on " + path);
    std::vector<unsigned char> data;
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) data.insert(data.end(), buf, buf + n);
    if (pclose(p) != 0 || data.size() < header) die("cannot read " + path);
    return std::vector<unsigned char>(data.begin() + long(header), data.end());
}

std::vector<float> fashion_preprocess(const std::vector<unsigned char>& px, size_t images) {
    std::vector<float> x(images * 784);
    for (size_t i = 0; i < x.size(); ++i) x[i] = (float(px[i]) / 255.0f - 0.2860f) / 0.3530f;
    return x;
}

std::vector<int> predict(qgpu_net net, const std::vector<float>& x, size_t images, int batch, double* ms) {
    std::vector<int> out;
    std::vector<float> logits(size_t(batch) * 10);
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t first = 0; first + size_t(batch) <= images; first += size_t(batch)) {
        check(qgpu_net_set_input(net, "input", x.data() + first * 784, size_t(batch) * 784), "input");
        check(qgpu_net_run(net), "run");
        check(qgpu_net_get_output(net, "logits", logits.data(), logits.size()), "output");
        for (int b = 0; b < batch; ++b)
            out.push_back(int(std::max_element(logits.begin() + b * 10, logits.begin() + b * 10 + 10) - (logits.begin() + b * 10)));
    }
    *ms = ms_since(t0);
    return out;
}

int fashion(const Args& a) {
    const std::string model = a.get("model"), dir = a.get("data", "/usr/share/datasets/fashion-mnist");
    if (model.empty()) die("fashion needs --model model.onnx");
    const int batch = std::max(1, a.integer("batch", 64));
    const size_t calib = size_t(a.integer("calib", 1000)) / size_t(batch) * size_t(batch);
    const size_t tests = size_t(a.integer("test", 10000)) / size_t(batch) * size_t(batch);
    if (calib == 0 || tests == 0) die("--calib and --test must be at least --batch");
    const auto train = fashion_preprocess(read_idx_gz(dir + "/train-images-idx3-ubyte.gz", 16), calib);
    const auto test_px = read_idx_gz(dir + "/t10k-images-idx3-ubyte.gz", 16);
    const auto labels = read_idx_gz(dir + "/t10k-labels-idx1-ubyte.gz", 8);
    if (test_px.size() < tests * 784 || labels.size() < tests) die("the test set has fewer images than --test");
    const auto test = fashion_preprocess(test_px, tests);
    qgpu_context ctx = make_context(a);
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    d.param_path = model.c_str();
    d.batch = batch;
    d.precision = QGPU_PRECISION_FLOAT32;
    NetHandle fnet;
    check(qgpu_net_create(ctx, &d, &fnet.net), "load");
    double ms = 0;
    const std::vector<int> fp = predict(fnet.net, test, tests, batch, &ms);
    auto accuracy = [&](const std::vector<int>& p) {
        size_t ok = 0;
        for (size_t i = 0; i < p.size(); ++i) ok += p[i] == labels[i];
        return 100.0 * double(ok) / double(p.size());
    };
    std::printf("%-22s %9s %10s %12s\n", "calibration", "top-1 %", "agree %", "images/s");
    std::printf("%-22s %9.2f %10s %12.0f\n", "fp32", accuracy(fp), "-", double(tests) * 1000.0 / ms);
    std::string json = "{\"model\": \"" + model + "\", \"test_images\": " + std::to_string(tests) +
                       ", \"calibration_images\": " + std::to_string(calib) + ", \"batch\": " + std::to_string(batch) +
                       ", \"fp32_accuracy\": " + std::to_string(accuracy(fp)) + ", \"int8\": [";
    struct Method { const char* name; qgpu_calib_method method; int zeros; };
    const Method methods[] = {{"default", QGPU_CALIB_AUTO, 0}, {"auto", QGPU_CALIB_AUTO, 0}, {"minmax", QGPU_CALIB_MINMAX, 0},
                              {"percentile 99.99", QGPU_CALIB_PERCENTILE, 0}, {"mse", QGPU_CALIB_MSE, 0},
                              {"kl (zeros skipped)", QGPU_CALIB_KL, 0}, {"kl (zeros counted)", QGPU_CALIB_KL, 1}};
    bool first = true;
    for (const Method& m : methods) {
        qgpu_calib_options o;
        qgpu_calib_options_init(&o);
        o.method = m.method;
        o.kl_count_zeros = m.zeros;
        qgpu_table table = nullptr;
        check(qgpu_table_create(&table), "table");
        const bool is_default = &m == &methods[0];  // NULL options: the library's default
        check(qgpu_net_calibrate(fnet.net, "input", train.data(), calib, is_default ? nullptr : &o, table), "calibrate");
        qgpu_net_desc q = d;
        q.precision = QGPU_PRECISION_INT8;
        q.table = table;
        NetHandle inet;
        check(qgpu_net_create(ctx, &q, &inet.net), "int8 net");
        const std::vector<int> p = predict(inet.net, test, tests, batch, &ms);
        size_t agree = 0;
        for (size_t i = 0; i < p.size(); ++i) agree += p[i] == fp[i];
        const double acc = accuracy(p), agr = 100.0 * double(agree) / double(p.size());
        std::printf("%-22s %9.2f %10.2f %12.0f\n", m.name, acc, agr, double(tests) * 1000.0 / ms);
        json += std::string(first ? "" : ", ") + "{\"method\": \"" + m.name + "\", \"accuracy\": " + std::to_string(acc) +
                ", \"agreement\": " + std::to_string(agr) + ", \"images_per_s\": " + std::to_string(double(tests) * 1000.0 / ms) + "}";
        first = false;
        qgpu_table_destroy(table);
    }
    json += "]}\n";
    if (a.has("json")) std::ofstream(a.get("json")) << json;
    qgpu_context_destroy(ctx);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
        std::fprintf(stderr, "usage: qgpu-run classify|fashion [options]  (see the comment at the top of tools/qgpu-run/main.cpp)\n");
        return argc < 2 ? 2 : 0;
    }
    const std::string cmd = argv[1];
    const Args a = parse(argc, argv, 2);
    if (cmd == "classify") return classify(a);
    if (cmd == "fashion") return fashion(a);
    die("unknown command '" + cmd + "' (classify, fashion)");
}
