// The ncnn .param/.bin reader on the real SqueezeNet files and on corrupted copies of them.
#include <catch2/catch.hpp>
#include <random>

#include "model/ncnn_model.h"

using namespace qgpu::model;

namespace {

const std::string kDir = std::string(QGPU_SHARED_DIR) + "/models/squeezenet/";

bool have_models() {
    std::string s;
    return read_file(kDir + "squeezenet_v1.1.param", 1 << 20, &s) == QGPU_OK;
}

size_t conv_parameters(const NcnnModel& m) {
    size_t n = 0;
    for (const NcnnLayer& l : m.layers)
        if (l.type == "Convolution") n += l.weights.size() + l.weights_int8.size() + l.bias.size();
    return n;
}

}  // namespace

TEST_CASE("ncnn: SqueezeNet v1.1 param and fp16 bin load", "[model][ncnn]") {
    if (!have_models()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    NcnnModel m;
    REQUIRE(load_ncnn_model(kDir + "squeezenet_v1.1.param", kDir + "squeezenet_v1.1.bin", &m) == QGPU_OK);
    CHECK(m.layers.size() == 75);
    CHECK(m.blobs.size() == 83);
    CHECK(conv_parameters(m) == 1235496);  // the README's count
    const NcnnLayer& conv1 = m.layers[1];
    CHECK(conv1.type == "Convolution");
    CHECK(conv1.get_int(0, 0) == 64);
    CHECK(conv1.get_int(1, 0) == 3);
    CHECK(conv1.get_int(3, 0) == 2);
    CHECK(conv1.weights.size() == 1728);
    CHECK(m.find_blob("prob") >= 0);

    NcnnModel assets;
    REQUIRE(load_ncnn_model(kDir + "squeezenet_v1.1.assets.param", kDir + "squeezenet_v1.1.bin", &assets) == QGPU_OK);
    CHECK(assets.layers.size() == 48);
    CHECK(conv_parameters(assets) == 1235496);
}

TEST_CASE("ncnn: int8 model written by ncnn2int8 loads with its scales", "[model][ncnn]") {
    if (!have_models()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    NcnnModel m;
    REQUIRE(load_ncnn_model(kDir + "squeezenet_v1.1_int8.param", kDir + "squeezenet_v1.1_int8.bin", &m) == QGPU_OK);
    size_t int8_convs = 0;
    for (const NcnnLayer& l : m.layers) {
        if (l.type != "Convolution") continue;
        if (!l.weights_int8.empty()) {
            ++int8_convs;
            CHECK(l.weight_int8_scales.size() == size_t(l.get_int(0, 0)));
            CHECK(l.input_int8_scales.size() == 1);
            CHECK(l.output_int8_scales.size() == (l.get_int(8, 0) > 100 ? 1u : 0u));
        }
    }
    CHECK(int8_convs == 26);
}

TEST_CASE("ncnn: malformed param text is a FORMAT error with a line number", "[model][ncnn]") {
    NcnnModel m;
    const char* bad[] = {
        "",
        "1234\n1 1\n",
        "7767517\n",
        "7767517\n2 2\nInput data 0 1 data\n",
        "7767517\n1 1\nInput data 0 1 data 0=abc\n",
        "7767517\n1 1\nInput data 0 1 data 0=1 0=2\n",
        "7767517\n1 1\nReLU r 1 1 missing out\n",
        "7767517\n1 1\nInput data 0 2 a b\n",
        "7767517\n1 1\nInput data 0 1 data -23300=3,1,2\n",
        "7767517\n1 1\nInput data 0 1 data -23300=99999999999,1\n",
        "7767517\n99999999 1\n",
        "7767517\n1 1\nInput data 0 1 data 0=1e999\n",
        "7767517\n1 1\nInput data 0 1 data\nextra line here\n",
        "7767517\n1 1\nInput data 5000 1 data\n",
    };
    for (const char* text : bad) {
        INFO("input: " << text);
        const qgpu_status st = parse_ncnn_param(text, &m);
        CHECK(st == QGPU_ERROR_FORMAT);
        CHECK(std::string(qgpu::last_error_message()).find("ncnn param line") != std::string::npos);
    }
    REQUIRE(parse_ncnn_param("7767517\n2 2\nInput data 0 1 data 0=4 -23301=2,1.5,-3\n"
                             "ReLU r 1 1 data out 0=0.1\n", &m) == QGPU_OK);
    CHECK(m.layers[0].get_array(1) == std::vector<double>{1.5, -3.0});
    CHECK(m.layers[1].get_float(0, 0) == Approx(0.1f));
}

TEST_CASE("ncnn: corrupted and truncated files never crash", "[model][ncnn][fuzz]") {
    if (!have_models()) {
        WARN("skipped: " << kDir << " not found");
        return;
    }
    std::string param, bin;
    REQUIRE(read_file(kDir + "squeezenet_v1.1.param", 1 << 20, &param) == QGPU_OK);
    REQUIRE(read_file(kDir + "squeezenet_v1.1.bin", 1 << 24, &bin) == QGPU_OK);
    std::mt19937 rng(17);
    int rejected = 0;
    for (int i = 0; i < 300; ++i) {
        std::string p = param;
        const int kind = i % 3;
        if (kind == 0) p.resize(rng() % p.size());
        if (kind >= 1)
            for (int k = 0; k < 1 + int(rng() % 8); ++k) p[rng() % p.size()] = char(rng() % 256);
        NcnnModel m;
        if (parse_ncnn_param(p, &m) != QGPU_OK) {
            ++rejected;
            continue;
        }
        std::string b = bin;  // a valid graph with a damaged or short bin
        if (i % 2) b.resize(rng() % b.size());
        else for (int k = 0; k < 16; ++k) b[rng() % b.size()] = char(rng() % 256);
        (void)parse_ncnn_bin(reinterpret_cast<const uint8_t*>(b.data()), b.size(), &m);
    }
    CHECK(rejected > 100);
    NcnnModel m;
    REQUIRE(parse_ncnn_param(param, &m) == QGPU_OK);
    CHECK(parse_ncnn_bin(reinterpret_cast<const uint8_t*>(bin.data()), bin.size() - 1, &m) == QGPU_ERROR_FORMAT);
    std::string longer = bin + "xxxx";
    CHECK(parse_ncnn_bin(reinterpret_cast<const uint8_t*>(longer.data()), longer.size(), &m) == QGPU_ERROR_FORMAT);
    CHECK(load_ncnn_model("/nonexistent.param", "/nonexistent.bin", &m) == QGPU_ERROR_IO);
}

TEST_CASE("ncnn: half floats decode exactly", "[model][ncnn]") {
    CHECK(half_to_float(0x3c00) == 1.0f);
    CHECK(half_to_float(0xc000) == -2.0f);
    CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
    CHECK(half_to_float(0x7bff) == 65504.0f);
    CHECK(std::isinf(half_to_float(0x7c00)));
    CHECK(half_to_float(0x8000) == 0.0f);
}
