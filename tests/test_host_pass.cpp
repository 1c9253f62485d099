// The fused host passes: every vector path (AVX2, AVX-512, NEON) gives exactly the scalar
// definition, on random data with NaN, infinities, ties, huge and tiny values, many shapes
// including odd channel counts and pixel counts that leave vector tails.
#include <catch2/catch.hpp>
#include <atomic>
#include <functional>
#include <thread>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/host_pass.h"
#include "core/layout.h"
#include "core/requant.h"

using namespace qgpu;

namespace {

std::vector<float> nasty_floats(size_t n, float scale, std::mt19937& rng) {
    std::vector<float> v(n);
    std::uniform_real_distribution<float> u(-140.0f, 140.0f);
    std::uniform_int_distribution<int> pick(0, 15);
    for (float& x : v) {
        switch (pick(rng)) {
            case 0: x = std::numeric_limits<float>::quiet_NaN(); break;
            case 1: x = (rng() & 1) ? INFINITY : -INFINITY; break;
            case 2: x = (float(int(rng() % 300) - 150) + 0.5f) * scale; break;  // ties
            case 3: x = (rng() & 1) ? 3e38f : -3e38f; break;
            case 4: x = (rng() & 1) ? 0.0f : -0.0f; break;
            case 5: x = 1e-40f; break;  // denormal
            default: x = u(rng) * scale; break;
        }
    }
    return v;
}

}  // namespace

TEST_CASE("host pass: vector quantize+pack and dequantize+unpack equal the scalar definition",
          "[host_pass]") {
    std::vector<HostIsa> paths;
    for (HostIsa isa : {HostIsa::Avx2, HostIsa::Avx512, HostIsa::Neon})
        if (host_isa_supported(isa)) paths.push_back(isa);
    if (paths.empty()) {
        WARN("skipped: no vector path on this CPU/build (scalar only)");
        return;
    }
    INFO("best path: " << host_isa_name(best_host_isa()));
    std::mt19937 rng(42);
    const int shapes[][4] = {{1, 1, 28, 28}, {2, 3, 7, 9},  {1, 4, 4, 4},   {3, 5, 1, 17},
                             {1, 8, 5, 5},   {1, 13, 3, 11}, {2, 32, 4, 4}, {1, 2, 1, 1},
                             {1, 7, 16, 1},  {1, 1, 1, 33},  {2, 6, 6, 6},  {1, 64, 2, 15},
                             // wide channels (the 16x16 transposing unpack): whole and partial
                             // 16-channel blocks, padding, pixel tails, batch
                             {1, 16, 4, 8},  {1, 20, 3, 16}, {2, 37, 9, 13}, {1, 24, 16, 17},
                             {3, 100, 5, 7}, {1, 63, 1, 48}, {1, 12, 2, 16}, {2, 8, 1, 35}};
    const qgpu_quant quants[] = {{0.05f, 0}, {1.0f, -128}, {0.37f, 127}, {2.5f, 13}, {1e-3f, -7}};
    size_t compared = 0;
    for (const auto& s : shapes) {
        for (const qgpu_quant& q : quants) {
            TensorDesc d;
            d.dtype = QGPU_DTYPE_INT8;
            d.n = s[0]; d.c = s[1]; d.h = s[2]; d.w = s[3];
            d.quant = q;
            const size_t c4 = size_t(round_up4(d.c));
            const size_t packed = size_t(d.n) * size_t(d.h) * size_t(d.w) * c4;
            const std::vector<float> src = nasty_floats(d.count(), q.scale, rng);
            std::vector<int8_t> ref(packed, 99), got(packed, 99);
            quantize_pack_nhwc4(d, src.data(), ref.data(), HostIsa::Scalar);
            // the scalar path is the definition
            for (int32_t n = 0; n < d.n; ++n)
                for (int32_t y = 0; y < d.h; ++y)
                    for (int32_t x = 0; x < d.w; ++x)
                        for (int32_t c = 0; c < int32_t(c4); ++c) {
                            const int8_t v = ref[nhwc4_offset(d.h, d.w, int32_t(c4), n, y, x, c)];
                            if (c >= d.c) {
                                REQUIRE(v == int8_t(q.zero_point));
                                continue;
                            }
                            const float f = src[((size_t(n) * d.c + c) * d.h + y) * d.w + x];
                            REQUIRE(v == arith::quantize_value(f, 1.0f / q.scale, q.zero_point));
                        }
            std::vector<float> fref(d.count(), -1.0f), fgot(d.count(), -2.0f);
            dequantize_unpack_nhwc4(d, ref.data(), fref.data(), HostIsa::Scalar);
            for (HostIsa isa : paths) {
                INFO("path " << host_isa_name(isa) << " shape " << s[0] << "x" << s[1] << "x" << s[2]
                             << "x" << s[3] << " scale " << q.scale << " zp " << q.zero_point);
                std::fill(got.begin(), got.end(), int8_t(99));
                quantize_pack_nhwc4(d, src.data(), got.data(), isa);
                REQUIRE(std::memcmp(got.data(), ref.data(), packed) == 0);
                std::fill(fgot.begin(), fgot.end(), -2.0f);
                dequantize_unpack_nhwc4(d, ref.data(), fgot.data(), isa);
                REQUIRE(std::memcmp(fgot.data(), fref.data(), fref.size() * sizeof(float)) == 0);
                ++compared;
            }
        }
    }
    CHECK(compared == paths.size() * (sizeof shapes / sizeof *shapes) * (sizeof quants / sizeof *quants));
}

TEST_CASE("host pass: every int8 value dequantizes exactly on every path", "[host_pass]") {
    TensorDesc d;
    d.dtype = QGPU_DTYPE_INT8;
    d.n = 1; d.c = 4; d.h = 8; d.w = 32;  // 256 pixels x 4 channels = every byte value 4 times
    d.quant = {0.125f, -3};
    std::vector<int8_t> packed(size_t(d.h) * d.w * 4);
    for (size_t i = 0; i < packed.size(); ++i) packed[i] = int8_t(uint8_t(i * 7 + i / 256));
    std::vector<float> ref(d.count()), got(d.count());
    dequantize_unpack_nhwc4(d, packed.data(), ref.data(), HostIsa::Scalar);
    for (HostIsa isa : {HostIsa::Scalar, HostIsa::Avx2, HostIsa::Avx512, HostIsa::Neon}) {
        dequantize_unpack_nhwc4(d, packed.data(), got.data(), isa);  // unsupported: scalar
        REQUIRE(std::memcmp(got.data(), ref.data(), ref.size() * sizeof(float)) == 0);
        // quantize back: the exact inverse
        std::vector<int8_t> again(packed.size());
        quantize_pack_nhwc4(d, got.data(), again.data(), isa);
        REQUIRE(again == packed);
    }
}

// The context's threads: a large tensor is split into tasks of pixel runs; whatever runs them (in
// any order, on any thread) the bytes equal the serial pass and the scalar definition.
TEST_CASE("host pass: split into parallel tasks gives the same bytes", "[host_pass]") {
    std::mt19937 rng(7);
    std::atomic<int64_t> tasks_run{0};
    // two threads, tasks handed out from the back (an order no serial loop uses)
    const HostParallelFor two_threads = [&](int64_t count, const std::function<void(int64_t)>& task) {
        std::atomic<int64_t> next{count - 1};
        auto worker = [&] {
            for (int64_t i; (i = next.fetch_sub(1)) >= 0;) {
                task(i);
                ++tasks_run;
            }
        };
        std::thread other(worker);
        worker();
        other.join();
    };
    const int shapes[][4] = {{1, 40, 100, 70}, {2, 3, 300, 301}, {1, 4, 512, 130}, {3, 29, 61, 53}};
    for (const auto& s : shapes) {
        TensorDesc d;
        d.dtype = QGPU_DTYPE_INT8;
        d.n = s[0]; d.c = s[1]; d.h = s[2]; d.w = s[3];
        d.quant = {0.05f, -9};
        REQUIRE(d.count() >= kHostPassParallelMin);
        const size_t packed = size_t(d.n) * size_t(d.h) * size_t(d.w) * size_t(round_up4(d.c));
        const std::vector<float> src = nasty_floats(d.count(), d.quant.scale, rng);
        std::vector<int8_t> ref(packed), got(packed, 99);
        quantize_pack_nhwc4(d, src.data(), ref.data(), HostIsa::Scalar);
        std::vector<float> fref(d.count()), fgot(d.count(), -2.0f);
        dequantize_unpack_nhwc4(d, ref.data(), fref.data(), HostIsa::Scalar);
        for (HostIsa isa : {HostIsa::Scalar, HostIsa::Avx2, HostIsa::Avx512, HostIsa::Neon}) {
            if (!host_isa_supported(isa)) continue;
            INFO("path " << host_isa_name(isa) << " shape " << s[0] << "x" << s[1] << "x" << s[2] << "x" << s[3]);
            const int64_t before = tasks_run;
            quantize_pack_nhwc4(d, src.data(), got.data(), isa, two_threads);
            REQUIRE(std::memcmp(got.data(), ref.data(), packed) == 0);
            dequantize_unpack_nhwc4(d, ref.data(), fgot.data(), isa, two_threads);
            REQUIRE(std::memcmp(fgot.data(), fref.data(), fref.size() * sizeof(float)) == 0);
            if (isa != HostIsa::Scalar) CHECK(tasks_run - before > 2);  // it really was split
        }
    }
}
