// ncnn calibration tables (.table): load the real SqueezeNet tables, round trip, edit, and
// corrupt files (byte flips, truncations, bad numbers) -> QGPU_ERROR_FORMAT with a line number.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "conv_cases.h"
#include "qgpu.h"

namespace {

#define REQUIRE_FAILS(expr, status)                  \
    do {                                             \
        const qgpu_status st_ = (expr);              \
        INFO("message: " << qgpu_last_error());      \
        REQUIRE(st_ == (status));                    \
        REQUIRE(std::strlen(qgpu_last_error()) > 0); \
    } while (0)

const std::string kDir = std::string(QGPU_SHARED_DIR) + "/models/squeezenet/";

bool read_text(const std::string& path, std::string* out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    std::stringstream ss;
    ss << f.rdbuf();
    *out = ss.str();
    return true;
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
    REQUIRE(f.good());
}

std::string temp_path(const char* tag) {
    return cases::temp_path(std::string("table_test_") + tag + ".table");
}

struct Table {
    qgpu_table t = nullptr;
    ~Table() { qgpu_table_destroy(t); }
};

struct Line {
    std::string name;
    std::vector<float> values;
};

// An independent reading of the file: whitespace split, strtof.
std::vector<Line> parse_independently(const std::string& text) {
    std::vector<Line> lines;
    std::istringstream in(text);
    std::string s;
    while (std::getline(in, s)) {
        std::istringstream ls(s);
        Line l;
        if (!(ls >> l.name)) continue;
        std::string tok;
        while (ls >> tok) l.values.push_back(std::strtof(tok.c_str(), nullptr));
        lines.push_back(l);
    }
    return lines;
}

// Every entry of `a` equals `b`'s, in the same order, bit for bit.
void require_same(qgpu_table a, qgpu_table b) {
    size_t wa = 0, aa = 0, wb = 0, ab = 0;
    REQUIRE(qgpu_table_get_counts(a, &wa, &aa) == QGPU_OK);
    REQUIRE(qgpu_table_get_counts(b, &wb, &ab) == QGPU_OK);
    REQUIRE(wa == wb);
    REQUIRE(aa == ab);
    for (size_t i = 0; i < wa; ++i) {
        const char *na = nullptr, *nb = nullptr;
        REQUIRE(qgpu_table_get_name(a, 0, i, &na) == QGPU_OK);
        REQUIRE(qgpu_table_get_name(b, 0, i, &nb) == QGPU_OK);
        REQUIRE(std::string(na) == nb);
        size_t ca = 0, cb = 0;
        REQUIRE(qgpu_table_get_weight_scales(a, na, nullptr, 0, &ca) == QGPU_OK);
        std::vector<float> va(ca), vb(ca);
        REQUIRE(qgpu_table_get_weight_scales(a, na, va.data(), va.size(), &ca) == QGPU_OK);
        REQUIRE(qgpu_table_get_weight_scales(b, na, vb.data(), vb.size(), &cb) == QGPU_OK);
        REQUIRE(ca == cb);
        REQUIRE(std::memcmp(va.data(), vb.data(), ca * sizeof(float)) == 0);
    }
    for (size_t i = 0; i < aa; ++i) {
        const char *na = nullptr, *nb = nullptr;
        REQUIRE(qgpu_table_get_name(a, 1, i, &na) == QGPU_OK);
        REQUIRE(qgpu_table_get_name(b, 1, i, &nb) == QGPU_OK);
        REQUIRE(std::string(na) == nb);
        float sa = 0, sb = 0;
        REQUIRE(qgpu_table_get_activation_scale(a, na, &sa) == QGPU_OK);
        REQUIRE(qgpu_table_get_activation_scale(b, na, &sb) == QGPU_OK);
        REQUIRE(std::memcmp(&sa, &sb, sizeof sa) == 0);
    }
}

const char* const kTables[] = {"squeezenet_v1.1.kl.table", "squeezenet_v1.1.2018-converted.table",
                               "squeezenet_v1.1.table", "mobilenet_ssd_voc_ncnn.table"};

}  // namespace

TEST_CASE("ncnn tables: the real SqueezeNet tables load with every value", "[ncnn_table]") {
    std::string probe;
    if (!read_text(kDir + kTables[0], &probe)) {
        WARN("skipped: " << kDir << " is absent (../shared)");
        return;
    }
    for (const char* name : kTables) {
        INFO(name);
        std::string text;
        REQUIRE(read_text(kDir + name, &text));
        Table t;
        const qgpu_status st = qgpu_table_load((kDir + name).c_str(), &t.t);
        INFO(qgpu_last_error());
        REQUIRE(st == QGPU_OK);
        const std::vector<Line> lines = parse_independently(text);
        size_t weights = 0, acts = 0;
        for (const Line& l : lines) {
            const std::string suffix = "_param_0";
            if (l.name.size() > suffix.size() &&
                l.name.compare(l.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
                const std::string layer = l.name.substr(0, l.name.size() - suffix.size());
                size_t n = 0;
                REQUIRE(qgpu_table_get_weight_scales(t.t, layer.c_str(), nullptr, 0, &n) == QGPU_OK);
                REQUIRE(n == l.values.size());
                std::vector<float> v(n);
                REQUIRE(qgpu_table_get_weight_scales(t.t, layer.c_str(), v.data(), n, &n) == QGPU_OK);
                REQUIRE(v == l.values);
                const char* nm = nullptr;
                REQUIRE(qgpu_table_get_name(t.t, 0, weights, &nm) == QGPU_OK);
                REQUIRE(layer == nm);
                ++weights;
            } else {
                REQUIRE(l.values.size() == 1);
                float s = 0;
                REQUIRE(qgpu_table_get_activation_scale(t.t, l.name.c_str(), &s) == QGPU_OK);
                REQUIRE(s == l.values[0]);
                ++acts;
            }
        }
        size_t w = 0, a = 0;
        REQUIRE(qgpu_table_get_counts(t.t, &w, &a) == QGPU_OK);
        CHECK(w == weights);
        CHECK(a == acts);
    }
    // spot checks against the files as printed
    Table kl;
    REQUIRE(qgpu_table_load((kDir + "squeezenet_v1.1.kl.table").c_str(), &kl.t) == QGPU_OK);
    size_t n = 0;
    float first[2] = {0, 0};
    REQUIRE(qgpu_table_get_weight_scales(kl.t, "conv1", first, 2, &n) == QGPU_OK);
    CHECK(n == 64);  // SqueezeNet 1.1 conv1: 64 output channels
    CHECK(first[0] == 187.389053f);
    CHECK(first[1] == 246.536499f);
    float s = 0;
    REQUIRE(qgpu_table_get_activation_scale(kl.t, "conv1", &s) == QGPU_OK);
    CHECK(s == 0.991932f);
    qgpu_quant q;
    REQUIRE(qgpu_table_get_activation_quant(kl.t, "conv1", &q) == QGPU_OK);
    CHECK(q.scale == 1.0f / 0.991932f);
    CHECK(q.zero_point == 0);
    // the 2018 layout: one scale per layer, activations keyed by blob
    Table old;
    REQUIRE(qgpu_table_load((kDir + "squeezenet_v1.1.table").c_str(), &old.t) == QGPU_OK);
    REQUIRE(qgpu_table_get_weight_scales(old.t, "conv1", first, 2, &n) == QGPU_OK);
    CHECK(n == 1);
    CHECK(first[0] == 138.066410735f);
    REQUIRE(qgpu_table_get_activation_scale(old.t, "data", &s) == QGPU_OK);
    CHECK(s == 0.841264989609f);
    REQUIRE(qgpu_table_get_activation_scale(old.t, "pool1", &s) == QGPU_OK);
    REQUIRE(qgpu_table_get_activation_scale(old.t, "fire2/concat", &s) == QGPU_OK);
}

TEST_CASE("ncnn tables: load -> save -> load round trip is exact", "[ncnn_table]") {
    std::string probe;
    if (!read_text(kDir + kTables[0], &probe)) {
        WARN("skipped: " << kDir << " is absent (../shared)");
        return;
    }
    for (const char* name : kTables) {
        INFO(name);
        Table a, b, c;
        REQUIRE(qgpu_table_load((kDir + name).c_str(), &a.t) == QGPU_OK);
        const std::string p1 = temp_path("rt1"), p2 = temp_path("rt2");
        REQUIRE(qgpu_table_save(a.t, p1.c_str()) == QGPU_OK);
        REQUIRE(qgpu_table_load(p1.c_str(), &b.t) == QGPU_OK);
        require_same(a.t, b.t);
        // saving again gives the same bytes (a fixed point)
        REQUIRE(qgpu_table_save(b.t, p2.c_str()) == QGPU_OK);
        std::string t1, t2;
        REQUIRE(read_text(p1, &t1));
        REQUIRE(read_text(p2, &t2));
        CHECK(t1 == t2);
        // what we write reads back, line by line, as the original file does (ncnn's reader)
        std::string src;
        REQUIRE(read_text(kDir + name, &src));
        const std::vector<Line> a_lines = parse_independently(src), b_lines = parse_independently(t1);
        REQUIRE(a_lines.size() == b_lines.size());
        for (size_t i = 0; i < a_lines.size(); ++i) {
            CHECK(a_lines[i].name == b_lines[i].name);
            CHECK(a_lines[i].values == b_lines[i].values);
        }
        std::remove(p1.c_str());
        std::remove(p2.c_str());
    }
}

TEST_CASE("ncnn tables: build, edit, save and misuse", "[ncnn_table]") {
    Table t;
    REQUIRE(qgpu_table_create(&t.t) == QGPU_OK);
    const float w[3] = {127.0f, 0.5f, 1e-3f};
    REQUIRE(qgpu_table_set_weight_scales(t.t, "conv_a", w, 3) == QGPU_OK);
    REQUIRE(qgpu_table_set_activation_scale(t.t, "conv_a", 25.4f) == QGPU_OK);
    REQUIRE(qgpu_table_set_activation_scale(t.t, "blob/x", 3.0f) == QGPU_OK);
    REQUIRE(qgpu_table_set_activation_scale(t.t, "conv_a", 12.7f) == QGPU_OK);  // replaces
    size_t nw = 0, na = 0;
    REQUIRE(qgpu_table_get_counts(t.t, &nw, &na) == QGPU_OK);
    CHECK(nw == 1);
    CHECK(na == 2);
    float s = 0;
    REQUIRE(qgpu_table_get_activation_scale(t.t, "conv_a", &s) == QGPU_OK);
    CHECK(s == 12.7f);
    // a capacity smaller than the count copies what fits and reports the count
    float one = 0;
    size_t n = 0;
    REQUIRE(qgpu_table_get_weight_scales(t.t, "conv_a", &one, 1, &n) == QGPU_OK);
    CHECK(n == 3);
    CHECK(one == 127.0f);

    const std::string p = temp_path("edit");
    REQUIRE(qgpu_table_save(t.t, p.c_str()) == QGPU_OK);
    std::string text;
    REQUIRE(read_text(p, &text));
    CHECK(text == "conv_a_param_0 127 0.5 0.001\nconv_a 12.7\nblob/x 3\n");
    Table back;
    REQUIRE(qgpu_table_load(p.c_str(), &back.t) == QGPU_OK);
    require_same(t.t, back.t);
    std::remove(p.c_str());

    // misuse
    REQUIRE_FAILS(qgpu_table_create(nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    qgpu_table none = nullptr;
    REQUIRE_FAILS(qgpu_table_load(nullptr, &none), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_load("/nonexistent/qgpu.table", &none), QGPU_ERROR_IO);
    REQUIRE(none == nullptr);
    REQUIRE_FAILS(qgpu_table_load("x", nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_save(nullptr, "x"), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_save(t.t, nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_save(t.t, "/nonexistent/dir/qgpu.table"), QGPU_ERROR_IO);
    REQUIRE_FAILS(qgpu_table_get_counts(nullptr, &nw, &na), QGPU_ERROR_INVALID_ARGUMENT);
    const char* nm = nullptr;
    REQUIRE_FAILS(qgpu_table_get_name(t.t, 0, 5, &nm), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_get_name(t.t, 1, 0, nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_get_weight_scales(t.t, "nope", nullptr, 0, &n), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_get_weight_scales(t.t, "conv_a", nullptr, 2, &n), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_get_weight_scales(t.t, "conv_a", &one, 1, nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_get_weight_scales(t.t, nullptr, &one, 1, &n), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_get_activation_scale(t.t, "nope", &s), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_get_activation_scale(t.t, "conv_a", nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_set_weight_scales(t.t, "bad name", w, 3), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_set_weight_scales(t.t, "", w, 3), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_set_weight_scales(t.t, "c", w, 0), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_set_weight_scales(t.t, "c", nullptr, 3), QGPU_ERROR_INVALID_ARGUMENT);
    const float bad[2] = {1.0f, std::nanf("")};
    REQUIRE_FAILS(qgpu_table_set_weight_scales(t.t, "c", bad, 2), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_set_activation_scale(t.t, "c", -1.0f), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_set_activation_scale(t.t, "c", INFINITY), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_set_activation_scale(t.t, "c_param_0", 1.0f), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_set_activation_scale(t.t, "tab\tname", 1.0f), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE(qgpu_table_set_activation_scale(t.t, "zero", 0.0f) == QGPU_OK);  // ncnn writes 0 for dead blobs
    qgpu_quant q;
    REQUIRE_FAILS(qgpu_table_get_activation_quant(t.t, "zero", &q), QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE_FAILS(qgpu_table_get_activation_quant(t.t, "conv_a", nullptr), QGPU_ERROR_INVALID_ARGUMENT);
    qgpu_table_destroy(nullptr);
}

TEST_CASE("ncnn tables: malformed files are FORMAT errors with the line number", "[ncnn_table]") {
    struct Case {
        const char* text;
        const char* line;  // expected "line N" in the message
    } cases[] = {
        {"conv1_param_0 1 2\nconv1\n", "line 2"},                  // no scale
        {"conv1_param_0 1 2\n\nconv1 1 2\n", "line 3"},            // activation with two scales
        {"conv1_param_0 1 nan\n", "line 1"},                       // NaN
        {"a 1\nb inf\n", "line 2"},                                // infinity
        {"a 1\nb 1e999\n", "line 2"},                              // out of float range
        {"a 1\nb 3.5e38\n", "line 2"},                             // above FLT_MAX
        {"a 1\nb -2\n", "line 2"},                                 // negative
        {"a 1\nb 12abc\n", "line 2"},                              // trailing garbage
        {"a 1\nb 0x10\n", "line 2"},                               // hex
        {"a 1\nb 1\na 2\n", "line 3"},                             // duplicate
        {"c_param_0 1\nc_param_0 1\n", "line 2"},                  // duplicate weights
        {"_param_0 1\n", "line 1"},                                // no layer name
        {"a 1\nb\x01 2\n", "line 2"},                              // control byte
        {"a 1\r\nb 2\r\nc\r\n", "line 3"},                         // CRLF, missing value
        {"a 1\n\n\n  \t\nb 1 .\n", "line 5"},
    };
    for (const Case& c : cases) {
        INFO("text: " << c.text);
        const std::string p = temp_path("bad");
        write_text(p, c.text);
        qgpu_table t = nullptr;
        REQUIRE_FAILS(qgpu_table_load(p.c_str(), &t), QGPU_ERROR_FORMAT);
        CHECK(t == nullptr);
        CHECK(std::string(qgpu_last_error()).find(c.line) != std::string::npos);
        std::remove(p.c_str());
    }
    // accepted: CRLF, tabs, trailing spaces, blank lines, a '+' sign, exponents, empty file
    const char* good[] = {"a 1\r\nb_param_0\t2 3 \r\n", "\n\n a   1.5e-3  \n", "x +2\n", "", "x 0\n"};
    for (const char* g : good) {
        INFO("text: " << g);
        const std::string p = temp_path("good");
        write_text(p, g);
        Table t;
        const qgpu_status st = qgpu_table_load(p.c_str(), &t.t);
        INFO(qgpu_last_error());
        CHECK(st == QGPU_OK);
        std::remove(p.c_str());
    }
}

TEST_CASE("ncnn tables: fuzzed real tables never crash", "[ncnn_table]") {
    std::string base;
    if (!read_text(kDir + "squeezenet_v1.1.kl.table", &base)) {
        WARN("skipped: " << kDir << " is absent (../shared)");
        return;
    }
    std::string old_layout;
    REQUIRE(read_text(kDir + "squeezenet_v1.1.table", &old_layout));
    std::mt19937 rng(20261123);
    const char* inserts[] = {"nan", "-inf", "1e999", "-1", "99999999999999999999999999999999999999999",
                             "\x00", "\xff\xfe", " _param_0 ", "\n\n", "0x1p3", "1e-50"};
    const std::string p = temp_path("fuzz");
    int ok = 0, format = 0;
    for (int iter = 0; iter < 400; ++iter) {
        std::string text = (iter % 4 == 3) ? old_layout : base;
        const int kind = iter % 3;
        if (kind == 0) {  // random byte flips
            const int flips = 1 + int(rng() % 8);
            for (int k = 0; k < flips; ++k) text[rng() % text.size()] ^= char(1u << (rng() % 8));
        } else if (kind == 1) {  // truncation
            text.resize(rng() % text.size());
        } else {  // splice in a hostile token ("\x00" is an empty C string: a NUL byte)
            const char* tok = inserts[rng() % (sizeof inserts / sizeof *inserts)];
            text.insert(rng() % text.size(), tok[0] ? std::string(tok) : std::string(1, '\0'));
        }
        write_text(p, text);
        qgpu_table t = nullptr;
        const qgpu_status st = qgpu_table_load(p.c_str(), &t);
        INFO("iteration " << iter << ": " << qgpu_last_error());
        REQUIRE((st == QGPU_OK || st == QGPU_ERROR_FORMAT));
        if (st == QGPU_OK) {
            ++ok;
            REQUIRE(t != nullptr);
            // whatever loaded also saves and reloads identically
            const std::string p2 = temp_path("fuzz2");
            REQUIRE(qgpu_table_save(t, p2.c_str()) == QGPU_OK);
            qgpu_table t2 = nullptr;
            REQUIRE(qgpu_table_load(p2.c_str(), &t2) == QGPU_OK);
            require_same(t, t2);
            qgpu_table_destroy(t2);
            std::remove(p2.c_str());
        } else {
            ++format;
            REQUIRE(t == nullptr);
            REQUIRE(std::string(qgpu_last_error()).find("line ") != std::string::npos);
        }
        qgpu_table_destroy(t);
    }
    std::remove(p.c_str());
    CHECK(format > 100);  // most corruptions are caught
    CHECK(ok > 10);       // and benign ones (a truncation at a line end, a digit flip) load
}
