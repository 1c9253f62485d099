// Peer benchmark: the qconv layer suite (shapes.tsv) on oneDNN (Debian's libdnnl, OpenMP build),
// printed in the same table format as `qgpu-bench conv` so the two can be put side by side.
// Not part of the library or its tests; see README.md here for how to build and run it.
//
// int8: u8 NHWC source (oneDNN's native int8 input; qgpu feeds x + 128 as u8 to vpdpbusd too),
// s8 weights in the layout oneDNN picks (reordered once, untimed), f32 bias, per-output-channel
// output scales, fused ReLU, s8 NHWC destination -- the same work as qgpu's int8 conv.
// fp32: source/destination/weights in the layouts oneDNN picks (its blocked best case, reorders
// untimed), f32 bias, fused ReLU.
// Each run is timed on its own (steady_clock around execute + wait); median, min, max of --repeat.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"
#include "oneapi/dnnl/dnnl_version.h"

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Layer {
    std::string name;
    int cin = 0, cout = 0, h = 0, w = 0, kh = 0, kw = 0, stride = 1, pad = 0, groups = 1;
    int oh() const { return (h + 2 * pad - kh) / stride + 1; }
    int ow() const { return (w + 2 * pad - kw) / stride + 1; }
    double macs() const { return double(cout) * oh() * ow() * (cin / groups) * kh * kw; }
};

std::vector<Layer> read_shapes(const std::string& path) {
    std::ifstream f(path);
    if (!f) {
        std::fprintf(stderr, "onednn_conv: cannot open %s\n", path.c_str());
        std::exit(2);
    }
    std::vector<Layer> out;
    std::string line;
    int lineno = 0;
    while (std::getline(f, line)) {
        ++lineno;
        if (line.empty() || line[0] == '#') continue;
        std::istringstream is(line);
        Layer L;
        if (!(is >> L.name >> L.cin >> L.cout >> L.h >> L.w >> L.kh >> L.kw >> L.stride >> L.pad >> L.groups) ||
            L.groups <= 0 || L.cin % L.groups || L.cout % L.groups || L.oh() <= 0 || L.ow() <= 0) {
            std::fprintf(stderr, "onednn_conv: %s:%d: cannot parse the layer\n", path.c_str(), lineno);
            std::exit(2);
        }
        out.push_back(L);
    }
    return out;
}

struct Result {
    std::string name, dtype;
    double macs = 0, median_ms = 0, min_ms = 0, max_ms = 0, gops = 0, speedup = -1;
};

// Builds the conv primitive for one layer, fills random data, times `repeat` runs.
Result bench_layer(const dnnl::engine& eng, dnnl::stream& s, const Layer& L, bool int8, int warmup, int repeat,
                   std::mt19937& rng) {
    const int G = L.groups;
    const memory::dims src_dims = {1, L.cin, L.h, L.w};
    const memory::dims dst_dims = {1, L.cout, L.oh(), L.ow()};
    const memory::dims w_dims = G == 1 ? memory::dims{L.cout, L.cin, L.kh, L.kw}
                                       : memory::dims{G, L.cout / G, L.cin / G, L.kh, L.kw};
    const tag w_user_tag = G == 1 ? tag::oihw : tag::goihw;
    const memory::dims strides = {L.stride, L.stride}, pad = {L.pad, L.pad};

    const dt sdt = int8 ? dt::u8 : dt::f32, wdt = int8 ? dt::s8 : dt::f32, ddt = int8 ? dt::s8 : dt::f32;
    const tag io_tag = int8 ? tag::nhwc : tag::any;
    const memory::desc src_md(src_dims, sdt, io_tag), dst_md(dst_dims, ddt, io_tag);
    const memory::desc w_md(w_dims, wdt, tag::any), b_md({L.cout}, dt::f32, tag::x);

    dnnl::primitive_attr attr;
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
    if (int8) {
        std::vector<float> scales(size_t(L.cout));
        std::uniform_real_distribution<float> sd(0.5e-3f, 2e-3f);
        for (float& v : scales) v = sd(rng);
        attr.set_output_scales(1 << 1, scales);  // per output channel
    }
    const dnnl::convolution_forward::desc cd(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             src_md, w_md, b_md, dst_md, strides, pad, pad);
    const dnnl::convolution_forward::primitive_desc pd(cd, attr, eng);
    const dnnl::convolution_forward conv(pd);

    memory src(pd.src_desc(), eng), dst(pd.dst_desc(), eng), bias(pd.bias_desc(), eng);
    memory wts(pd.weights_desc(), eng);
    {
        memory w_user({w_dims, wdt, w_user_tag}, eng);
        const size_t nw = w_user.get_desc().get_size();
        if (int8) {
            auto* p = static_cast<int8_t*>(w_user.get_data_handle());
            std::uniform_int_distribution<int> d(-127, 127);
            for (size_t i = 0; i < nw; ++i) p[i] = int8_t(d(rng));
        } else {
            auto* p = static_cast<float*>(w_user.get_data_handle());
            std::uniform_real_distribution<float> d(-1.0f, 1.0f);
            for (size_t i = 0; i < nw / 4; ++i) p[i] = d(rng);
        }
        dnnl::reorder(w_user, wts).execute(s, w_user, wts);
        s.wait();
    }
    {
        const size_t ns = src.get_desc().get_size();
        if (int8) {
            auto* p = static_cast<uint8_t*>(src.get_data_handle());
            std::uniform_int_distribution<int> d(0, 255);
            for (size_t i = 0; i < ns; ++i) p[i] = uint8_t(d(rng));
        } else {
            auto* p = static_cast<float*>(src.get_data_handle());
            std::uniform_real_distribution<float> d(-1.0f, 1.0f);
            for (size_t i = 0; i < ns / 4; ++i) p[i] = d(rng);
        }
        auto* b = static_cast<float*>(bias.get_data_handle());
        std::uniform_real_distribution<float> d(-100.0f, 100.0f);
        for (int i = 0; i < L.cout; ++i) b[i] = d(rng);
    }
    const std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}};
    for (int i = 0; i < warmup; ++i) conv.execute(s, args);
    s.wait();
    std::vector<double> ms;
    for (int i = 0; i < repeat; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        conv.execute(s, args);
        s.wait();
        const auto t1 = std::chrono::steady_clock::now();
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    Result r;
    r.name = L.name;
    r.dtype = int8 ? "int8" : "fp32";
    r.macs = L.macs();
    const size_t n = ms.size();
    r.median_ms = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    r.min_ms = ms.front();
    r.max_ms = ms.back();
    r.gops = 2.0 * r.macs / (r.median_ms * 1e6);
    return r;
}

void usage() {
    std::fprintf(stderr,
                 "usage: onednn_conv [--shapes FILE.tsv] [--layers a,b] [--threads N[,N...]]\n"
                 "                   [--dtype int8|fp32|both] [--warmup W] [--repeat R] [--seed S]\n"
                 "  default shapes: ../shared/bench/shapes.tsv; threads 1,2; dtype int8; warmup 2; repeat 10\n");
    std::exit(2);
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream is(s);
    std::string item;
    while (std::getline(is, item, ',')) if (!item.empty()) out.push_back(item);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string shapes = "../shared/bench/shapes.tsv", dtype = "int8";
    std::vector<std::string> only;
    std::vector<int> threads = {1, 2};
    int warmup = 2, repeat = 10;
    unsigned seed = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage();
            return argv[++i];
        };
        if (a == "--shapes") shapes = next();
        else if (a == "--layers") only = split(next());
        else if (a == "--threads") {
            threads.clear();
            for (const std::string& t : split(next())) threads.push_back(std::atoi(t.c_str()));
        } else if (a == "--dtype") dtype = next();
        else if (a == "--warmup") warmup = std::atoi(next().c_str());
        else if (a == "--repeat") repeat = std::atoi(next().c_str());
        else if (a == "--seed") seed = unsigned(std::atoi(next().c_str()));
        else usage();
    }
    if (repeat < 1 || warmup < 0 || threads.empty() || (dtype != "int8" && dtype != "fp32" && dtype != "both")) usage();
    for (int t : threads) if (t < 1) usage();
    std::vector<Layer> layers = read_shapes(shapes);
    if (!only.empty())
        layers.erase(std::remove_if(layers.begin(), layers.end(), [&](const Layer& L) {
                         return std::find(only.begin(), only.end(), L.name) == only.end();
                     }), layers.end());

    const dnnl_version_t* v = dnnl_version();
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream s(eng);
    for (int t : threads) {
        omp_set_num_threads(t);
        std::mt19937 rng(seed);
        std::vector<Result> results;
        for (const Layer& L : layers) {
            long int8_row = -1;
            for (int pass = 0; pass < 2; ++pass) {
                const bool int8 = pass == 0;
                if ((int8 && dtype == "fp32") || (!int8 && dtype == "int8")) continue;
                try {
                    results.push_back(bench_layer(eng, s, L, int8, warmup, repeat, rng));
                } catch (const dnnl::error& e) {
                    std::fprintf(stderr, "onednn_conv: %s %s: %s\n", L.name.c_str(), int8 ? "int8" : "fp32", e.what());
                    return 1;
                }
                if (int8) int8_row = long(results.size()) - 1;
                else if (int8_row >= 0)
                    results[size_t(int8_row)].speedup = results.back().median_ms / results[size_t(int8_row)].median_ms;
            }
        }
        std::printf("backend onednn  device \"oneDNN %d.%d.%d (%s)\" (cpu)  variant %s  threads %d  batch 1  "
                    "warmup %d  repeat %d\n",
                    v->major, v->minor, v->patch, v->hash, std::getenv("ONEDNN_MAX_CPU_ISA") ? std::getenv("ONEDNN_MAX_CPU_ISA") : "default",
                    t, warmup, repeat);
        std::printf("%-14s %-5s %10s %10s %10s %10s %9s %8s %7s %6s\n", "layer", "dtype", "MMACs", "median_ms",
                    "min_ms", "max_ms", "GOPS", "int8/fp32", "%peak", "exact");
        for (const Result& r : results) {
            char speed[32] = "";
            if (r.speedup > 0) std::snprintf(speed, sizeof speed, "%.2fx", r.speedup);
            std::printf("%-14s %-5s %10.2f %10.3f %10.3f %10.3f %9.2f %8s %7s %6s\n", r.name.c_str(), r.dtype.c_str(),
                        r.macs * 1e-6, r.median_ms, r.min_ms, r.max_ms, r.gops, speed, "", "");
        }
        std::printf("\n");
        std::fflush(stdout);
    }
    return 0;
}
