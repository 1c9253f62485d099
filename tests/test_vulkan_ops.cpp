// The Vulkan network layers (Device::create_op, src/vulkan/vk_ops.cpp) and one-submission
// batching (Device::begin_batch/end_batch) against the CPU reference ops
// (src/cpu/reference/ops_reference.cpp): int8 ops, Quantize, Dequantize and float
// max/avg pooling, concat, relu and add byte-identical; softmax within a stated tolerance.
// Ops have no C API: the tests reach a context's Device through the handle structs
// (api/objects.h) and call its virtual functions. The Khronos validation layer is on when
// installed; without Vulkan the tests skip with the reason (QGPU_TEST_STRICT=1: fail).
#include <catch2/catch.hpp>


#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include "api/objects.h"
#include "conv_cases.h"
#include "core/backend.h"
#include "core/layout.h"
#include "squeezenet_input.h"

using qgpu::OpKind;
using qgpu::OpPlan;
using qgpu::TensorDesc;
using Bytes = std::vector<uint8_t>;

namespace {

// A context of either backend, its Device reachable.
struct Ctx {
    qgpu_context ctx = nullptr;
    std::string why;
    explicit Ctx(qgpu_backend backend) {
        if (backend == QGPU_BACKEND_VULKAN) {
            cases::enable_vulkan_validation();
            qgpu_context_desc desc;
            qgpu_context_desc_init(&desc);
            desc.backend = QGPU_BACKEND_VULKAN;
            if (qgpu_context_create(&desc, &ctx) != QGPU_OK) {
                why = qgpu_last_error();
                ctx = nullptr;
            }
        } else {
            ctx = cases::make_context(QGPU_BACKEND_CPU, "scalar", 1, &why);
        }
    }
    ~Ctx() { qgpu_context_destroy(ctx); }
    qgpu::Device& device() const { return *ctx->device; }
};

#define VULKAN_OR_SKIP(c) CASES_BACKEND_OR_SKIP((c).ctx, "Vulkan", (c).why)

size_t desc_bytes(const TensorDesc& d) {
    const size_t c = d.dtype == QGPU_DTYPE_INT8 ? size_t(qgpu::round_up4(d.c)) : size_t(d.c) * sizeof(float);
    return size_t(d.n) * c * size_t(d.h) * size_t(d.w);
}

TensorDesc make_desc(qgpu_dtype dtype, int32_t n, int32_t c, int32_t h, int32_t w, qgpu_quant q = {1.0f, 0}) {
    TensorDesc d;
    d.dtype = dtype;
    d.n = n; d.c = c; d.h = h; d.w = w;
    d.quant = dtype == QGPU_DTYPE_INT8 ? q : qgpu_quant{1.0f, 0};
    return d;
}

// A device tensor holding raw bytes in the device layout.
struct Tensor {
    qgpu_tensor t = nullptr;
    Tensor(qgpu_context ctx, const TensorDesc& d) {
        qgpu_quant q = d.quant;
        const qgpu_status st = qgpu_tensor_create(ctx, d.dtype, d.n, d.c, d.h, d.w, &q, &t);
        INFO(qgpu_last_error());
        REQUIRE(st == QGPU_OK);
    }
    ~Tensor() { qgpu_tensor_destroy(t); }
    Tensor(const Tensor&) = delete;
    Tensor& operator=(const Tensor&) = delete;
    qgpu::TensorRef ref() const { return qgpu::TensorRef{t->desc, t->buffer.get()}; }
    void write(const Bytes& b) const {
        REQUIRE(b.size() == desc_bytes(t->desc));
        const qgpu_status st = t->buffer->write([&](void* dst) { std::memcpy(dst, b.data(), b.size()); });
        INFO(qgpu_last_error());
        REQUIRE(st == QGPU_OK);
    }
    Bytes read() const {
        Bytes b(desc_bytes(t->desc));
        const qgpu_status st = t->buffer->read([&](const void* src) { std::memcpy(b.data(), src, b.size()); });
        INFO(qgpu_last_error());
        REQUIRE(st == QGPU_OK);
        return b;
    }
};

// Runs `plan` on `ctx` with inputs `in` (device layout); the output starts as garbage so that
// unwritten bytes show.
Bytes run_op(const Ctx& c, const OpPlan& plan, const std::vector<Bytes>& in) {
    std::unique_ptr<qgpu::OpKernel> op;
    const qgpu_status st = c.device().create_op(plan, &op);
    INFO(qgpu_last_error());
    REQUIRE(st == QGPU_OK);
    std::vector<std::unique_ptr<Tensor>> ts;
    std::vector<qgpu::TensorRef> refs;
    for (size_t k = 0; k < in.size(); ++k) {
        ts.emplace_back(new Tensor(c.ctx, plan.inputs[k]));
        ts.back()->write(in[k]);
        refs.push_back(ts.back()->ref());
    }
    Tensor out(c.ctx, plan.output);
    out.write(Bytes(desc_bytes(plan.output), 0xa5));
    const qgpu_status rs = op->run(refs, out.ref());
    INFO(qgpu_last_error());
    REQUIRE(rs == QGPU_OK);
    return out.read();
}

// Random tensor contents in the device layout: int8 padding channels hold the zero point (the
// layout's contract); floats in [-4, 4], with `specials` adding +-0, +-inf and NaN.
Bytes random_tensor(std::mt19937& rng, const TensorDesc& d, bool specials = false) {
    Bytes b(desc_bytes(d));
    if (d.dtype == QGPU_DTYPE_INT8) {
        const int32_t c4 = qgpu::round_up4(d.c);
        std::uniform_int_distribution<int> byte(-128, 127);
        for (size_t k = 0; k < b.size(); ++k)
            b[k] = uint8_t(int32_t(k % size_t(c4)) < d.c ? byte(rng) : d.quant.zero_point);
        return b;
    }
    std::uniform_real_distribution<float> val(-4.0f, 4.0f);
    std::uniform_int_distribution<int> pick(0, 40);
    const float inf = std::numeric_limits<float>::infinity();
    const float special[] = {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1e30f, -1e30f};
    float* f = reinterpret_cast<float*>(b.data());
    for (size_t k = 0; k < d.count(); ++k) {
        const int p = pick(rng);
        f[k] = specials && p < 7 ? special[p] : val(rng);
    }
    return b;
}

void require_identical(const Bytes& got, const Bytes& want, const std::string& what) {
    INFO(what);
    REQUIRE(got.size() == want.size());
    size_t mismatches = 0, first = 0;
    for (size_t i = 0; i < want.size(); ++i)
        if (got[i] != want[i] && mismatches++ == 0) first = i;
    INFO("first differing byte " << first << " of " << want.size() << ": got " << int(got[first]) << " want "
                                 << int(want[first]));
    REQUIRE(mismatches == 0);
}

std::string describe(const OpPlan& p) {
    std::string s = std::string(p.kind == OpKind::MaxPool ? "maxpool" : p.kind == OpKind::AvgPool ? "avgpool"
                                : p.kind == OpKind::Concat ? "concat" : p.kind == OpKind::Softmax ? "softmax"
                                : p.kind == OpKind::Relu ? "relu" : p.kind == OpKind::Quantize ? "quantize"
                                : p.kind == OpKind::Dequantize ? "dequantize" : "add");
    auto shape = [](const TensorDesc& d) {
        return std::string(d.dtype == QGPU_DTYPE_INT8 ? "i8 " : "f32 ") + std::to_string(d.n) + "x" +
               std::to_string(d.c) + "x" + std::to_string(d.h) + "x" + std::to_string(d.w) +
               (d.dtype == QGPU_DTYPE_INT8 ? " s=" + std::to_string(d.quant.scale) + " z=" + std::to_string(d.quant.zero_point) : "");
    };
    for (const TensorDesc& d : p.inputs) s += " in(" + shape(d) + ")";
    s += " out(" + shape(p.output) + ")";
    if (p.kind == OpKind::MaxPool || p.kind == OpKind::AvgPool) {
        const qgpu::PoolParams& q = p.pool;
        s += " k" + std::to_string(q.kernel_h) + "x" + std::to_string(q.kernel_w) + " s" + std::to_string(q.stride_h) +
             "x" + std::to_string(q.stride_w) + " pad " + std::to_string(q.pad_top) + "," + std::to_string(q.pad_left) +
             "," + std::to_string(q.pad_bottom) + "," + std::to_string(q.pad_right);
    }
    if (p.kind == OpKind::Relu) s += " slope " + std::to_string(p.relu_slope);
    return s;
}

// The same op on the CPU reference and on Vulkan: identical bytes.
void check_identical(const Ctx& vk, const Ctx& cpu, const OpPlan& plan, const std::vector<Bytes>& in) {
    require_identical(run_op(vk, plan, in), run_op(cpu, plan, in), describe(plan));
}

qgpu_quant random_quant(std::mt19937& rng) {
    std::uniform_real_distribution<float> scale(0.005f, 0.5f);
    std::uniform_int_distribution<int> zp(-128, 127);
    return qgpu_quant{scale(rng), zp(rng)};
}

// A random pooling plan (ceil-mode extra pads on bottom/right as the net adds them).
OpPlan random_pool(std::mt19937& rng, OpKind kind, qgpu_dtype dtype) {
    auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    OpPlan p;
    p.kind = kind;
    const int32_t n = r(1, 3), c = r(1, 37), h = r(1, 17), w = r(1, 17);
    qgpu::PoolParams& q = p.pool;
    if (r(0, 5) == 0) {  // global
        q.kernel_h = h;
        q.kernel_w = w;
    } else {
        q.kernel_h = r(1, 4); q.kernel_w = r(1, 4);
        q.stride_h = r(1, 3); q.stride_w = r(1, 3);
        q.pad_top = r(0, q.kernel_h - 1); q.pad_left = r(0, q.kernel_w - 1);
        q.pad_bottom = r(0, q.kernel_h - 1); q.pad_right = r(0, q.kernel_w - 1);
        if (h + q.pad_top + q.pad_bottom < q.kernel_h) q.pad_bottom = q.kernel_h - h - q.pad_top;
        if (w + q.pad_left + q.pad_right < q.kernel_w) q.pad_right = q.kernel_w - w - q.pad_left;
        // ceil mode: pad the tail so every input row/column is covered
        const int32_t ht = (h + q.pad_top + q.pad_bottom - q.kernel_h) % q.stride_h;
        const int32_t wt = (w + q.pad_left + q.pad_right - q.kernel_w) % q.stride_w;
        if (ht > 0 && r(0, 1)) q.pad_bottom += q.stride_h - ht;
        if (wt > 0 && r(0, 1)) q.pad_right += q.stride_w - wt;
    }
    const qgpu_quant quant = random_quant(rng);
    const int32_t oh = (h + q.pad_top + q.pad_bottom - q.kernel_h) / q.stride_h + 1;
    const int32_t ow = (w + q.pad_left + q.pad_right - q.kernel_w) / q.stride_w + 1;
    p.inputs = {make_desc(dtype, n, c, h, w, quant)};
    p.output = make_desc(dtype, n, c, oh, ow, quant);
    return p;
}

TensorDesc random_shape(std::mt19937& rng, qgpu_dtype dtype) {
    auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    return make_desc(dtype, r(1, 3), r(1, 41), r(1, 13), r(1, 13), random_quant(rng));
}

}  // namespace

TEST_CASE("vulkan ops: max pooling (int8, float) identical to the CPU reference", "[vulkan][ops]") {
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx);
    std::mt19937 rng(801);
    for (int k = 0; k < 60; ++k) {
        const OpPlan p = random_pool(rng, OpKind::MaxPool, k % 2 ? QGPU_DTYPE_FLOAT32 : QGPU_DTYPE_INT8);
        check_identical(vk, cpu, p, {random_tensor(rng, p.inputs[0], true)});
    }
}

TEST_CASE("vulkan ops: float average pooling identical to the CPU reference", "[vulkan][ops]") {
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx);
    std::mt19937 rng(802);
    for (int k = 0; k < 40; ++k) {
        const OpPlan p = random_pool(rng, OpKind::AvgPool, QGPU_DTYPE_FLOAT32);
        check_identical(vk, cpu, p, {random_tensor(rng, p.inputs[0])});
    }
}

TEST_CASE("vulkan ops: concat (int8, float; odd channel counts) identical to the CPU reference",
          "[vulkan][ops]") {
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx);
    std::mt19937 rng(803);
    auto r = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int k = 0; k < 40; ++k) {
        const qgpu_dtype dtype = k % 2 ? QGPU_DTYPE_FLOAT32 : QGPU_DTYPE_INT8;
        const qgpu_quant q = random_quant(rng);
        const int32_t n = r(1, 3), h = r(1, 9), w = r(1, 9);
        OpPlan p;
        p.kind = OpKind::Concat;
        int32_t c = 0;
        std::vector<Bytes> in;
        for (int i = r(1, 4); i > 0; --i) {
            p.inputs.push_back(make_desc(dtype, n, r(1, 19), h, w, q));
            c += p.inputs.back().c;
            in.push_back(random_tensor(rng, p.inputs.back()));
        }
        p.output = make_desc(dtype, n, c, h, w, q);
        check_identical(vk, cpu, p, in);
    }
}

TEST_CASE("vulkan ops: relu (int8, float, leaky) and add identical to the CPU reference", "[vulkan][ops]") {
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx);
    std::mt19937 rng(804);
    for (int k = 0; k < 45; ++k) {
        OpPlan p;
        const int kind = k % 3;
        const TensorDesc d = random_shape(rng, kind == 0 ? QGPU_DTYPE_INT8 : QGPU_DTYPE_FLOAT32);
        p.inputs = {d};
        p.output = d;
        p.kind = kind == 2 ? OpKind::Add : OpKind::Relu;
        if (kind == 1 && k % 2) p.relu_slope = std::uniform_real_distribution<float>(0.01f, 0.3f)(rng);
        if (kind == 2) p.inputs.push_back(d);
        std::vector<Bytes> in;
        for (const TensorDesc& i : p.inputs) in.push_back(random_tensor(rng, i, kind == 1));
        check_identical(vk, cpu, p, in);
    }
}

TEST_CASE("vulkan ops: quantize and dequantize identical to the CPU host passes", "[vulkan][ops]") {
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx);
    std::mt19937 rng(805);
    for (int k = 0; k < 40; ++k) {
        const TensorDesc q = random_shape(rng, QGPU_DTYPE_INT8);
        TensorDesc f = q;
        f.dtype = QGPU_DTYPE_FLOAT32;
        f.quant = {1.0f, 0};
        OpPlan p;
        if (k % 2) {
            p.kind = OpKind::Quantize;
            p.inputs = {f};
            p.output = q;
            // values around the rounding boundaries: exact halves of the scale, and specials
            Bytes in = random_tensor(rng, f, true);
            float* x = reinterpret_cast<float*>(in.data());
            for (size_t i = 0; i < f.count(); i += 3)
                x[i] = (float(std::uniform_int_distribution<int>(-300, 300)(rng)) + 0.5f) * q.quant.scale;
            check_identical(vk, cpu, p, {in});
        } else {
            p.kind = OpKind::Dequantize;
            p.inputs = {q};
            p.output = f;
            check_identical(vk, cpu, p, {random_tensor(rng, q)});
        }
    }
}

TEST_CASE("vulkan ops: softmax within 2e-6 + 1e-5 relative of the CPU reference", "[vulkan][ops]") {
    // The reference sums in double with the host exp(); the shader sums in float with the
    // device exp() (Vulkan: exp within 3 + 2|x| ulp), so the results differ in the last bits.
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx);
    std::mt19937 rng(806);
    for (int k = 0; k < 20; ++k) {
        TensorDesc d = random_shape(rng, QGPU_DTYPE_FLOAT32);
        if (k == 0) d = make_desc(QGPU_DTYPE_FLOAT32, 1, 1000, 1, 1);  // a classifier's output
        OpPlan p;
        p.kind = OpKind::Softmax;
        p.inputs = {d};
        p.output = d;
        const Bytes in = random_tensor(rng, d);
        const Bytes got = run_op(vk, p, {in}), want = run_op(cpu, p, {in});
        const float* g = reinterpret_cast<const float*>(got.data());
        const float* w = reinterpret_cast<const float*>(want.data());
        INFO(describe(p));
        double worst = 0;
        for (size_t i = 0; i < d.count(); ++i) {
            const double err = std::fabs(double(g[i]) - double(w[i]));
            worst = std::max(worst, err / (2e-6 + 1e-5 * std::fabs(double(w[i]))));
        }
        INFO("worst error / tolerance " << worst);
        REQUIRE(worst <= 1.0);
    }
}

TEST_CASE("vulkan ops: bad plans and tensors are refused with a message", "[vulkan][ops]") {
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    const TensorDesc i8 = make_desc(QGPU_DTYPE_INT8, 1, 5, 6, 6, {0.1f, 3});
    const TensorDesc f32 = make_desc(QGPU_DTYPE_FLOAT32, 1, 5, 6, 6);
    auto refused = [&](const OpPlan& p, qgpu_status want) {
        std::unique_ptr<qgpu::OpKernel> op;
        const qgpu_status st = vk.device().create_op(p, &op);
        INFO(describe(p) << ": " << qgpu_last_error());
        REQUIRE(st == want);
        REQUIRE(std::strlen(qgpu_last_error()) > 0);
        REQUIRE(!op);
    };
    OpPlan p;
    p.kind = OpKind::MaxPool;
    p.inputs = {i8};
    p.output = make_desc(QGPU_DTYPE_INT8, 1, 5, 5, 5, {0.1f, 3});  // 6x6 with k1 s1 gives 6x6
    refused(p, QGPU_ERROR_INVALID_ARGUMENT);
    p.output = i8;
    p.output.quant.zero_point = 4;  // max pooling keeps the quantization
    refused(p, QGPU_ERROR_INVALID_ARGUMENT);
    p.output = i8;
    p.pool.stride_h = 0;
    refused(p, QGPU_ERROR_INVALID_ARGUMENT);
    p = OpPlan();
    p.kind = OpKind::AvgPool;
    p.inputs = {i8};
    p.output = i8;
    refused(p, QGPU_ERROR_UNSUPPORTED);
    p.kind = OpKind::Relu;
    p.relu_slope = 0.1f;  // a leaky relu on int8 has no exact kernel
    refused(p, QGPU_ERROR_UNSUPPORTED);
    p.kind = OpKind::Concat;
    p.inputs = {i8, i8};
    refused(p, QGPU_ERROR_INVALID_ARGUMENT);  // 10 channels in, 5 out
    p.inputs.clear();
    refused(p, QGPU_ERROR_INVALID_ARGUMENT);
    p.kind = OpKind::Add;
    p.inputs = {f32};
    p.output = f32;
    refused(p, QGPU_ERROR_INVALID_ARGUMENT);
    p.kind = OpKind::Quantize;
    p.inputs = {f32};
    p.output = f32;
    refused(p, QGPU_ERROR_INVALID_ARGUMENT);
    p.kind = OpKind::Softmax;
    p.inputs = {make_desc(QGPU_DTYPE_FLOAT32, 1, 0, 6, 6)};
    refused(p, QGPU_ERROR_INVALID_ARGUMENT);
    p.inputs = {make_desc(QGPU_DTYPE_FLOAT32, 1 << 16, 1 << 8, 1 << 4, 1 << 3)};  // 2^31 elements
    p.output = p.inputs[0];
    refused(p, QGPU_ERROR_UNSUPPORTED);

    // a tensor of another shape at run time
    p = OpPlan();
    p.kind = OpKind::Relu;
    p.inputs = {f32};
    p.output = f32;
    std::unique_ptr<qgpu::OpKernel> op;
    REQUIRE(vk.device().create_op(p, &op) == QGPU_OK);
    Tensor a(vk.ctx, f32), b(vk.ctx, make_desc(QGPU_DTYPE_FLOAT32, 1, 5, 6, 7));
    REQUIRE(op->run({a.ref()}, b.ref()) == QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE(std::string(qgpu_last_error()).find("differs") != std::string::npos);
    REQUIRE(op->run({a.ref(), a.ref()}, a.ref()) == QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE(op->run({a.ref()}, a.ref()) == QGPU_OK);  // in place is allowed for pointwise ops
}

namespace {

// A small chain: quantize -> int8 conv -> max pool -> relu -> concat(relu, pool) -> dequantize
// -> softmax, with the relu kernel run twice (on two tensor pairs) and the conv twice. Returns
// every intermediate's bytes; `batched` brackets the runs with begin_batch/end_batch.
std::vector<Bytes> run_chain(const Ctx& c, bool batched, int images) {
    std::mt19937 rng(807);
    const qgpu_quant qin{0.05f, -3}, qout{0.08f, 5};
    const int32_t cin = 7, cout = 13, h = 11, w = 9;
    std::vector<float> weights(size_t(cout) * cin * 9), bias(cout);
    for (float& x : weights) x = std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
    for (float& x : bias) x = std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng);
    qgpu_conv_desc cd;
    qgpu_conv_desc_init(&cd);
    cd.in_channels = cin; cd.in_h = h; cd.in_w = w; cd.out_channels = cout;
    cd.kernel_h = cd.kernel_w = 3;
    cd.pad_top = cd.pad_left = cd.pad_bottom = cd.pad_right = 1;
    cd.weights = weights.data();
    cd.bias = bias.data();
    cd.input_quant = qin;
    cd.output_quant = qout;
    cd.output_dtype = QGPU_DTYPE_INT8;
    qgpu_conv conv = nullptr;
    {
        const qgpu_status st = qgpu_conv_create(c.ctx, &cd, &conv);
        INFO(qgpu_last_error());
        REQUIRE(st == QGPU_OK);
    }
    const int32_t n = images;
    const TensorDesc x = make_desc(QGPU_DTYPE_FLOAT32, n, cin, h, w);
    const TensorDesc xq = make_desc(QGPU_DTYPE_INT8, n, cin, h, w, qin);
    const TensorDesc y = make_desc(QGPU_DTYPE_INT8, n, cout, h, w, qout);
    const TensorDesc pooled = make_desc(QGPU_DTYPE_INT8, n, cout, 6, 5, qout);  // k3 s2 pad 1 (+ceil)
    const TensorDesc cat = make_desc(QGPU_DTYPE_INT8, n, 2 * cout, 6, 5, qout);
    const TensorDesc catf = make_desc(QGPU_DTYPE_FLOAT32, n, 2 * cout, 6, 5);
    auto make_op = [&](OpKind kind, std::vector<TensorDesc> in, const TensorDesc& out) {
        OpPlan p;
        p.kind = kind;
        p.inputs = std::move(in);
        p.output = out;
        if (kind == OpKind::MaxPool) {
            p.pool.kernel_h = p.pool.kernel_w = 3;
            p.pool.stride_h = p.pool.stride_w = 2;
            p.pool.pad_top = p.pool.pad_left = p.pool.pad_bottom = p.pool.pad_right = 1;
            p.pool.pad_bottom += 1;  // an extra tail pad (as ceil mode adds) that adds no row
        }
        std::unique_ptr<qgpu::OpKernel> op;
        const qgpu_status st = c.device().create_op(p, &op);
        INFO(describe(p) << ": " << qgpu_last_error());
        REQUIRE(st == QGPU_OK);
        return op;
    };
    auto quantize = make_op(OpKind::Quantize, {x}, xq);
    auto pool = make_op(OpKind::MaxPool, {y}, pooled);
    auto relu = make_op(OpKind::Relu, {pooled}, pooled);
    auto concat = make_op(OpKind::Concat, {pooled, pooled}, cat);
    auto dequantize = make_op(OpKind::Dequantize, {cat}, catf);
    auto softmax = make_op(OpKind::Softmax, {catf}, catf);
    Tensor tx(c.ctx, x), txq(c.ctx, xq), ty(c.ctx, y), ty2(c.ctx, y), tp(c.ctx, pooled), tr(c.ctx, pooled),
        tp2(c.ctx, pooled), tr2(c.ctx, pooled), tc(c.ctx, cat), tcf(c.ctx, catf), ts(c.ctx, catf);
    tx.write(random_tensor(rng, x));
    for (const Tensor* t : {&txq, &ty, &ty2, &tp, &tr, &tp2, &tr2, &tc, &tcf, &ts})
        t->write(Bytes(desc_bytes(t->t->desc), 0x5a));
    if (batched) REQUIRE(c.device().begin_batch() == QGPU_OK);
    auto ok = [](qgpu_status st) {
        INFO(qgpu_last_error());
        REQUIRE(st == QGPU_OK);
    };
    ok(quantize->run({tx.ref()}, txq.ref()));
    ok(qgpu_conv_run(conv, txq.t, ty.t));
    ok(pool->run({ty.ref()}, tp.ref()));
    ok(relu->run({tp.ref()}, tr.ref()));
    ok(qgpu_conv_run(conv, txq.t, ty2.t));  // the same conv again: equal to ty
    ok(pool->run({ty2.ref()}, tp2.ref()));  // the same kernels on other tensors
    ok(relu->run({tp2.ref()}, tr2.ref()));
    ok(concat->run({tr.ref(), tp2.ref()}, tc.ref()));
    ok(dequantize->run({tc.ref()}, tcf.ref()));
    ok(softmax->run({tcf.ref()}, ts.ref()));
    if (batched) ok(c.device().end_batch());
    std::vector<Bytes> out;
    for (const Tensor* t : {&txq, &ty, &ty2, &tp, &tr, &tp2, &tr2, &tc, &tcf, &ts}) out.push_back(t->read());
    qgpu_conv_destroy(conv);
    return out;
}

}  // namespace

TEST_CASE("vulkan batching: a chain recorded in one submission equals the unbatched runs and the CPU",
          "[vulkan][ops][batch]") {
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx);
    const char* names[] = {"quantized input", "conv", "conv again", "pool", "relu", "pool again", "relu again",
                           "concat", "dequantized", "softmax"};
    for (int images : {1, 3}) {
        const std::vector<Bytes> batched = run_chain(vk, true, images);
        const std::vector<Bytes> single = run_chain(vk, false, images);
        const std::vector<Bytes> ref = run_chain(cpu, false, images);
        REQUIRE(batched.size() == ref.size());
        require_identical(batched[1], batched[2], "the conv run twice in one batch");
        require_identical(batched[4], batched[6], "the relu run twice in one batch");
        for (size_t k = 0; k < ref.size(); ++k) {
            require_identical(batched[k], single[k], std::string("batched vs unbatched: ") + names[k]);
            if (k + 1 < ref.size())  // softmax: tolerance, tested above
                require_identical(batched[k], ref[k], std::string("vulkan vs cpu: ") + names[k]);
        }
    }
}

TEST_CASE("vulkan batching: an empty batch, a batch after a failed run, and no nesting", "[vulkan][batch]") {
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    qgpu::Device& d = vk.device();
    REQUIRE(d.begin_batch() == QGPU_OK);
    REQUIRE(d.end_batch() == QGPU_OK);
    const TensorDesc f = make_desc(QGPU_DTYPE_FLOAT32, 2, 3, 4, 5);
    OpPlan p;
    p.kind = OpKind::Relu;
    p.inputs = {f};
    p.output = f;
    std::unique_ptr<qgpu::OpKernel> op;
    REQUIRE(d.create_op(p, &op) == QGPU_OK);
    Tensor a(vk.ctx, f), b(vk.ctx, f), wrong(vk.ctx, make_desc(QGPU_DTYPE_FLOAT32, 2, 3, 4, 6));
    std::mt19937 rng(808);
    const Bytes in = random_tensor(rng, f);
    a.write(in);
    REQUIRE(d.begin_batch() == QGPU_OK);
    if (!std::getenv("QGPU_VULKAN_BATCH")) REQUIRE(d.begin_batch() == QGPU_ERROR_INTERNAL);  // no nesting
    REQUIRE(op->run({a.ref()}, b.ref()) == QGPU_OK);
    REQUIRE(op->run({a.ref()}, wrong.ref()) == QGPU_ERROR_INVALID_ARGUMENT);
    REQUIRE(d.end_batch() == QGPU_OK);  // what was recorded still runs
    Bytes want(in.size());
    const float* x = reinterpret_cast<const float*>(in.data());
    float* y = reinterpret_cast<float*>(want.data());
    for (size_t k = 0; k < f.count(); ++k) y[k] = x[k] < 0.0f ? x[k] * 0.0f : x[k];
    require_identical(b.read(), want, "relu after the batch");
}

namespace {

// Every blob of a SqueezeNet int8 run (those the runtime keeps; fused ones are skipped) as floats
// (int8 blobs dequantized, so equal floats mean equal int8 bytes), plus the run's status.
std::vector<std::vector<float>> squeezenet_blobs(qgpu_context ctx, const std::vector<std::string>& blobs,
                                                 const std::vector<float>& input) {
    const std::string dir = std::string(QGPU_SHARED_DIR) + "/models/squeezenet/";
    const std::string param = dir + "squeezenet_v1.1.param", bin = dir + "squeezenet_v1.1.bin",
                      table = dir + "squeezenet_v1.1.table";
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    d.param_path = param.c_str();
    d.bin_path = bin.c_str();
    d.table_path = table.c_str();
    d.precision = QGPU_PRECISION_INT8;
    qgpu_net net = nullptr;
    qgpu_status st = qgpu_net_create(ctx, &d, &net);
    INFO(qgpu_last_error());
    REQUIRE(st == QGPU_OK);
    st = qgpu_net_set_input(net, "data", input.data(), input.size());
    if (st == QGPU_OK) st = qgpu_net_run(net);
    REQUIRE(st == QGPU_OK);
    std::vector<std::vector<float>> out;
    for (const std::string& b : blobs) {
        int32_t shape[4];
        std::vector<float> v;
        if (qgpu_net_get_blob_shape(net, b.c_str(), shape) == QGPU_OK) {
            v.resize(size_t(shape[0]) * shape[1] * shape[2] * shape[3]);
            if (qgpu_net_get_output(net, b.c_str(), v.data(), v.size()) != QGPU_OK) v.clear();
        }
        out.push_back(std::move(v));
    }
    qgpu_net_destroy(net);
    return out;
}

}  // namespace

TEST_CASE("vulkan net: SqueezeNet int8 blobs identical to the CPU run (softmax within tolerance)",
          "[vulkan][ops][net]") {
    const std::string dir = std::string(QGPU_SHARED_DIR) + "/models/squeezenet/";
    if (!std::ifstream(dir + "squeezenet_v1.1.param")) {
        WARN("skipped: " << dir << " not found");
        return;
    }
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx);
    const std::vector<std::string> blobs = cases::ncnn_output_blobs(dir + "squeezenet_v1.1.param");
    REQUIRE(blobs.size() > 60);
    int w = 0, h = 0;
    std::vector<unsigned char> rgb;
    REQUIRE(squeezenet::read_ppm(dir + "img/cat.ppm", &w, &h, &rgb));
    const std::vector<float> input = squeezenet::preprocess(w, h, rgb);
    const auto got = squeezenet_blobs(vk.ctx, blobs, input);
    const auto want = squeezenet_blobs(cpu.ctx, blobs, input);
    size_t compared = 0;
    for (size_t b = 0; b < blobs.size(); ++b) {
        INFO("blob " << blobs[b]);
        REQUIRE(got[b].size() == want[b].size());
        if (want[b].empty()) continue;
        ++compared;
        if (blobs[b] == "prob") {
            for (size_t i = 0; i < want[b].size(); ++i) REQUIRE(std::fabs(got[b][i] - want[b][i]) <= 2e-6 + 1e-5 * want[b][i]);
            REQUIRE(std::max_element(got[b].begin(), got[b].end()) - got[b].begin() ==
                    std::max_element(want[b].begin(), want[b].end()) - want[b].begin());
        } else {
            REQUIRE(std::memcmp(got[b].data(), want[b].data(), want[b].size() * sizeof(float)) == 0);
        }
    }
    INFO(compared << " blobs compared");
    REQUIRE(compared > 30);
}

TEST_CASE("vulkan net: Fashion-MNIST CNN int8 logits identical to the CPU run (batch 16)", "[vulkan][ops][net]") {
    const std::string dir = std::string(QGPU_SHARED_DIR) + "/models/fashion_cnn/";
    const std::string model = dir + "model.onnx";
    std::ifstream inputs_file(dir + "ref_inputs.f32", std::ios::binary);
    if (!std::ifstream(model).good() || !inputs_file) {
        WARN("skipped: " << dir << " not found");
        return;
    }
    std::vector<float> input(16 * 28 * 28);
    REQUIRE(inputs_file.read(reinterpret_cast<char*>(input.data()), std::streamsize(input.size() * sizeof(float))));
    Ctx vk(QGPU_BACKEND_VULKAN);
    VULKAN_OR_SKIP(vk);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx);
    // a table from the CPU fp32 net (the default calibration on the 16 reference images)
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    d.param_path = model.c_str();
    d.precision = QGPU_PRECISION_FLOAT32;
    d.batch = 16;
    qgpu_net fnet = nullptr;
    const qgpu_status st = qgpu_net_create(cpu.ctx, &d, &fnet);
    if (st == QGPU_ERROR_UNSUPPORTED) {  // a build without ONNX
        WARN("skipped: " << qgpu_last_error());
        return;
    }
    REQUIRE(st == QGPU_OK);
    qgpu_table table = nullptr;
    REQUIRE(qgpu_table_create(&table) == QGPU_OK);
    REQUIRE(qgpu_net_calibrate(fnet, "input", input.data(), 16, nullptr, table) == QGPU_OK);
    qgpu_net_destroy(fnet);
    auto logits = [&](const Ctx& c) {
        qgpu_net_desc q = d;
        q.precision = QGPU_PRECISION_INT8;
        q.table = table;
        qgpu_net net = nullptr;
        qgpu_status s = qgpu_net_create(c.ctx, &q, &net);
        std::vector<float> out(160);
        if (s == QGPU_OK) s = qgpu_net_set_input(net, "input", input.data(), input.size());
        if (s == QGPU_OK) s = qgpu_net_run(net);
        if (s == QGPU_OK) s = qgpu_net_run(net);  // twice: a second batch on the same net
        if (s == QGPU_OK) s = qgpu_net_get_output(net, "logits", out.data(), out.size());
        INFO(qgpu_last_error());
        REQUIRE(s == QGPU_OK);
        qgpu_net_destroy(net);
        return out;
    };
    const std::vector<float> got = logits(vk), want = logits(cpu);
    REQUIRE(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)) == 0);
    qgpu_table_destroy(table);
}
