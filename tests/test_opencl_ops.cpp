// The OpenCL network layers (src/opencl/cl_ops.cpp, kernels/ops.cl) against the CPU reference
// ops (src/cpu/reference/ops_reference.cpp) on many random shapes: int8 outputs and the float
// outputs of max/avg pool, concat, relu, add, quantize and dequantize byte for byte (padding
// channels included), softmax within a stated tolerance; batched runs (Device::begin_batch) equal
// unbatched ones; bad plans and runs are status codes with a message. The ops have no C API: the
// test reaches the contexts' Devices through src/api/objects.h (virtual calls only). Skips with
// the reason when no OpenCL device is usable, unless QGPU_TEST_STRICT=1.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "api/objects.h"
#include "conv_cases.h"
#include "core/layout.h"
#include "squeezenet_input.h"

using namespace qgpu;

namespace {


struct Ctx {
    qgpu_context ctx = nullptr;
    std::string why;
    explicit Ctx(qgpu_backend backend, const char* variant = nullptr) {
        qgpu_context_desc desc;
        qgpu_context_desc_init(&desc);
        desc.backend = backend;
        desc.kernel_variant = variant;
        if (qgpu_context_create(&desc, &ctx) != QGPU_OK) {
            why = qgpu_last_error();
            ctx = nullptr;
        }
    }
    ~Ctx() { qgpu_context_destroy(ctx); }
    Ctx(const Ctx&) = delete;
    Ctx& operator=(const Ctx&) = delete;
    Device& device() { return *ctx->device; }
};

size_t device_bytes(const TensorDesc& d) {
    const size_t c = d.dtype == QGPU_DTYPE_INT8 ? size_t(round_up4(d.c)) : size_t(d.c) * sizeof(float);
    return size_t(d.n) * c * size_t(d.h) * size_t(d.w);
}

// A tensor of one context whose device bytes the test writes and reads directly.
struct Tensor {
    qgpu_tensor t = nullptr;
    Tensor(qgpu_context ctx, const TensorDesc& d) {
        const qgpu_status st = qgpu_tensor_create(ctx, d.dtype, d.n, d.c, d.h, d.w, &d.quant, &t);
        INFO(qgpu_last_error());
        REQUIRE(st == QGPU_OK);
    }
    ~Tensor() { qgpu_tensor_destroy(t); }
    Tensor(const Tensor&) = delete;
    Tensor& operator=(const Tensor&) = delete;
    TensorRef ref() const { return TensorRef{t->desc, t->buffer.get()}; }
    void set(const std::vector<unsigned char>& bytes) {
        REQUIRE(bytes.size() == device_bytes(t->desc));
        REQUIRE(t->buffer->write([&](void* dst) { std::memcpy(dst, bytes.data(), bytes.size()); }) == QGPU_OK);
    }
    std::vector<unsigned char> get() const {
        std::vector<unsigned char> out(device_bytes(t->desc));
        REQUIRE(t->buffer->read([&](const void* src) { std::memcpy(out.data(), src, out.size()); }) == QGPU_OK);
        return out;
    }
};

TensorDesc float_desc(int32_t n, int32_t c, int32_t h, int32_t w) {
    TensorDesc d;
    d.dtype = QGPU_DTYPE_FLOAT32;
    d.n = n; d.c = c; d.h = h; d.w = w;
    return d;
}

TensorDesc int8_desc(int32_t n, int32_t c, int32_t h, int32_t w, qgpu_quant q) {
    TensorDesc d = float_desc(n, c, h, w);
    d.dtype = QGPU_DTYPE_INT8;
    d.quant = q;
    return d;
}

// Valid device contents: random int8 with the zero point in padding channels; floats with
// specials (NaN, +-inf, -0.0, denormals, exact ties of the quantization step) mixed in when
// `specials`.
std::vector<unsigned char> random_bytes(const TensorDesc& d, std::mt19937& rng, bool specials,
                                        float magnitude = 4.0f) {
    std::vector<unsigned char> out(device_bytes(d));
    if (d.dtype == QGPU_DTYPE_INT8) {
        const int32_t c4 = round_up4(d.c);
        for (size_t k = 0; k < out.size(); ++k)
            out[k] = int32_t(k % size_t(c4)) < d.c ? (unsigned char)(rng() & 0xff) : (unsigned char)d.quant.zero_point;
        return out;
    }
    std::vector<float> f(d.count());
    std::uniform_real_distribution<float> u(-magnitude, magnitude);
    std::uniform_int_distribution<int> pick(0, 24);
    for (float& x : f) {
        switch (specials ? pick(rng) : 99) {
            case 0: x = std::numeric_limits<float>::quiet_NaN(); break;
            case 1: x = (rng() & 1) ? INFINITY : -INFINITY; break;
            case 2: x = -0.0f; break;
            case 3: x = (rng() & 1) ? 1e-40f : -3e-39f; break;
            case 4: x = (float(int(rng() % 300) - 150) + 0.5f) * 0.05f; break;  // ties at scale 0.05
            case 5: x = (rng() & 1) ? 3e38f : -3e38f; break;
            default: x = u(rng); break;
        }
    }
    std::memcpy(out.data(), f.data(), out.size());
    return out;
}

// Equal bytes; for floats NaN matches any NaN (payloads are not part of the contract).
void require_identical(const TensorDesc& d, const std::vector<unsigned char>& got,
                       const std::vector<unsigned char>& want) {
    REQUIRE(got.size() == want.size());
    size_t bad = 0, first = 0;
    if (d.dtype == QGPU_DTYPE_INT8) {
        for (size_t k = 0; k < got.size(); ++k)
            if (got[k] != want[k] && bad++ == 0) first = k;
        INFO("first difference at byte " << first << ": opencl " << int(int8_t(got[first])) << ", cpu "
                                         << int(int8_t(want[first])));
        REQUIRE(bad == 0);
        return;
    }
    std::vector<float> g(got.size() / 4), w(want.size() / 4);
    std::memcpy(g.data(), got.data(), got.size());
    std::memcpy(w.data(), want.data(), want.size());
    for (size_t k = 0; k < g.size(); ++k) {
        const bool same = std::memcmp(&g[k], &w[k], 4) == 0 || (std::isnan(g[k]) && std::isnan(w[k]));
        if (!same && bad++ == 0) first = k;
    }
    INFO(bad << " float(s) differ; first at " << first << ": opencl " << g[first] << ", cpu " << w[first]);
    REQUIRE(bad == 0);
}

struct OpResult {
    qgpu_status status = QGPU_OK;
    std::string error;
    std::vector<unsigned char> bytes;
};

// Creates the op on `ctx`, runs it on `inputs` (device bytes), returns the output's bytes.
OpResult run_op(Ctx& ctx, const OpPlan& plan, const std::vector<std::vector<unsigned char>>& inputs,
                bool batch = false) {
    OpResult r;
    std::unique_ptr<OpKernel> op;
    r.status = ctx.device().create_op(plan, &op);
    if (r.status != QGPU_OK) { r.error = qgpu_last_error(); return r; }
    std::vector<std::unique_ptr<Tensor>> ins;
    std::vector<TensorRef> refs;
    for (size_t k = 0; k < plan.inputs.size(); ++k) {
        ins.emplace_back(new Tensor(ctx.ctx, plan.inputs[k]));
        ins.back()->set(inputs[k]);
        refs.push_back(ins.back()->ref());
    }
    Tensor out(ctx.ctx, plan.output);
    if (batch) REQUIRE(ctx.device().begin_batch() == QGPU_OK);
    r.status = op->run(refs, out.ref());
    if (r.status != QGPU_OK) r.error = qgpu_last_error();
    if (batch) REQUIRE(ctx.device().end_batch() == QGPU_OK);
    if (r.status == QGPU_OK) r.bytes = out.get();
    return r;
}

void compare_op(Ctx& cl, Ctx& cpu, const OpPlan& plan, std::mt19937& rng, bool specials = true) {
    std::vector<std::vector<unsigned char>> inputs;
    for (const TensorDesc& d : plan.inputs) inputs.push_back(random_bytes(d, rng, specials));
    const OpResult want = run_op(cpu, plan, inputs);
    INFO("cpu: " << want.error);
    REQUIRE(want.status == QGPU_OK);
    const OpResult got = run_op(cl, plan, inputs, rng() & 1);
    INFO("opencl: " << got.error);
    REQUIRE(got.status == QGPU_OK);
    require_identical(plan.output, got.bytes, want.bytes);
}

qgpu_quant random_quant(std::mt19937& rng) {
    std::uniform_real_distribution<float> s(0.01f, 0.2f);
    return qgpu_quant{s(rng), int32_t(rng() % 41) - 20};
}

// A pooling plan over a random input; global pooling one time in five.
OpPlan random_pool(OpKind kind, qgpu_dtype dtype, std::mt19937& rng) {
    auto r = [&](int lo, int hi) { return lo + int(rng() % unsigned(hi - lo + 1)); };
    const int32_t n = r(1, 3), c = r(1, 37), h = r(1, 14), w = r(1, 14);
    PoolParams p;
    if (r(0, 4) == 0) {
        p.kernel_h = h; p.kernel_w = w;
    } else {
        p.kernel_h = r(1, std::min(4, h + 1)); p.kernel_w = r(1, std::min(4, w + 1));
        p.stride_h = r(1, 3); p.stride_w = r(1, 3);
        p.pad_top = r(0, p.kernel_h - 1); p.pad_left = r(0, p.kernel_w - 1);
        p.pad_bottom = r(0, p.kernel_h - 1) + r(0, p.stride_h - 1);  // incl. a ceil-mode tail
        p.pad_right = r(0, p.kernel_w - 1) + r(0, p.stride_w - 1);
    }
    const int32_t oh = (h + p.pad_top + p.pad_bottom - p.kernel_h) / p.stride_h + 1;
    const int32_t ow = (w + p.pad_left + p.pad_right - p.kernel_w) / p.stride_w + 1;
    if (oh <= 0 || ow <= 0) return random_pool(kind, dtype, rng);
    OpPlan plan;
    plan.kind = kind;
    plan.pool = p;
    const qgpu_quant q = random_quant(rng);
    plan.inputs = {dtype == QGPU_DTYPE_INT8 ? int8_desc(n, c, h, w, q) : float_desc(n, c, h, w)};
    plan.output = dtype == QGPU_DTYPE_INT8 ? int8_desc(n, c, oh, ow, q) : float_desc(n, c, oh, ow);
    return plan;
}

// (op_kind_name is internal to the library)
const char* kind_name(OpKind k) {
    static const char* const names[] = {"maxpool", "avgpool", "concat", "softmax", "relu", "quantize", "dequantize", "add"};
    return names[int(k)];
}

std::string describe(const OpPlan& p) {
    std::string s = kind_name(p.kind);
    for (const TensorDesc& d : p.inputs)
        s += " in " + std::string(d.dtype == QGPU_DTYPE_INT8 ? "i8 " : "f32 ") + std::to_string(d.n) + "x" +
             std::to_string(d.c) + "x" + std::to_string(d.h) + "x" + std::to_string(d.w);
    s += " out " + std::to_string(p.output.c) + "x" + std::to_string(p.output.h) + "x" + std::to_string(p.output.w);
    if (p.kind == OpKind::MaxPool || p.kind == OpKind::AvgPool)
        s += " k" + std::to_string(p.pool.kernel_h) + "x" + std::to_string(p.pool.kernel_w) + " s" +
             std::to_string(p.pool.stride_h) + "x" + std::to_string(p.pool.stride_w) + " pad " +
             std::to_string(p.pool.pad_top) + "," + std::to_string(p.pool.pad_left) + "," +
             std::to_string(p.pool.pad_bottom) + "," + std::to_string(p.pool.pad_right);
    return s;
}

}  // namespace

TEST_CASE("opencl ops: pooling equals the CPU reference bit for bit", "[opencl][ops]") {
    Ctx cl(QGPU_BACKEND_OPENCL);
    CASES_BACKEND_OR_SKIP(cl.ctx != nullptr, "OpenCL", cl.why);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx != nullptr);
    std::mt19937 rng(8);
    for (int k = 0; k < 60; ++k) {
        const OpKind kind = k % 3 == 2 ? OpKind::AvgPool : OpKind::MaxPool;
        const qgpu_dtype dtype = k % 3 == 0 ? QGPU_DTYPE_INT8 : QGPU_DTYPE_FLOAT32;
        const OpPlan plan = random_pool(kind, dtype, rng);
        INFO(describe(plan));
        compare_op(cl, cpu, plan, rng);
    }
}

TEST_CASE("opencl ops: concat equals the CPU reference bit for bit", "[opencl][ops]") {
    Ctx cl(QGPU_BACKEND_OPENCL);
    CASES_BACKEND_OR_SKIP(cl.ctx != nullptr, "OpenCL", cl.why);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx != nullptr);
    std::mt19937 rng(9);
    for (int k = 0; k < 30; ++k) {
        const bool int8 = k % 2 == 0;
        const int32_t n = 1 + int32_t(rng() % 3), h = 1 + int32_t(rng() % 9), w = 1 + int32_t(rng() % 9);
        const qgpu_quant q = random_quant(rng);
        OpPlan plan;
        plan.kind = OpKind::Concat;
        int32_t c = 0;
        const int parts = 1 + int(rng() % 4);
        for (int i = 0; i < parts; ++i) {
            const int32_t ci = 1 + int32_t(rng() % 19);
            plan.inputs.push_back(int8 ? int8_desc(n, ci, h, w, q) : float_desc(n, ci, h, w));
            c += ci;
        }
        plan.output = int8 ? int8_desc(n, c, h, w, q) : float_desc(n, c, h, w);
        INFO(describe(plan));
        compare_op(cl, cpu, plan, rng);
    }
}

TEST_CASE("opencl ops: relu, add, quantize, dequantize equal the CPU reference bit for bit",
          "[opencl][ops]") {
    Ctx cl(QGPU_BACKEND_OPENCL);
    CASES_BACKEND_OR_SKIP(cl.ctx != nullptr, "OpenCL", cl.why);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx != nullptr);
    std::mt19937 rng(10);
    for (int k = 0; k < 60; ++k) {
        const int32_t n = 1 + int32_t(rng() % 3), c = 1 + int32_t(rng() % 37);
        const int32_t h = 1 + int32_t(rng() % 12), w = 1 + int32_t(rng() % 12);
        const qgpu_quant q = k % 10 == 0 ? qgpu_quant{0.05f, 0} : random_quant(rng);
        const TensorDesc f = float_desc(n, c, h, w), i8 = int8_desc(n, c, h, w, q);
        OpPlan plan;
        switch (k % 6) {
            case 0: plan.kind = OpKind::Relu; plan.inputs = {i8}; plan.output = i8; break;
            case 1: plan.kind = OpKind::Relu; plan.inputs = {f}; plan.output = f; break;
            case 2:
                plan.kind = OpKind::Relu; plan.inputs = {f}; plan.output = f;
                plan.relu_slope = 0.1f + float(rng() % 100) / 37.0f;  // leaky
                break;
            case 3: plan.kind = OpKind::Add; plan.inputs = {f, f}; plan.output = f; break;
            case 4: plan.kind = OpKind::Quantize; plan.inputs = {f}; plan.output = i8; break;
            default: plan.kind = OpKind::Dequantize; plan.inputs = {i8}; plan.output = f; break;
        }
        INFO(describe(plan) << " slope " << plan.relu_slope << " scale " << q.scale << " zp " << q.zero_point);
        compare_op(cl, cpu, plan, rng);
    }
}

// Softmax: exp() of the device and of the host may differ in the last bits (OpenCL allows 3 ulp);
// the sum and the division follow the reference (double with fp64). Tolerance: 1e-6 relative
// (about 8 ulp) + 1e-12 absolute.
TEST_CASE("opencl ops: softmax within 1e-6 relative of the CPU reference", "[opencl][ops]") {
    Ctx cl(QGPU_BACKEND_OPENCL);
    CASES_BACKEND_OR_SKIP(cl.ctx != nullptr, "OpenCL", cl.why);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx != nullptr);
    std::mt19937 rng(11);
    double worst = 0.0;
    for (int k = 0; k < 30; ++k) {
        const int32_t n = 1 + int32_t(rng() % 3), c = k == 0 ? 1000 : 1 + int32_t(rng() % 70);
        const int32_t h = 1 + int32_t(rng() % 6), w = 1 + int32_t(rng() % 6);
        OpPlan plan;
        plan.kind = OpKind::Softmax;
        plan.inputs = {float_desc(n, c, h, w)};
        plan.output = plan.inputs[0];
        INFO(describe(plan));
        std::vector<std::vector<unsigned char>> in{random_bytes(plan.inputs[0], rng, false, 20.0f)};
        const OpResult want = run_op(cpu, plan, in), got = run_op(cl, plan, in);
        INFO(got.error);
        REQUIRE(want.status == QGPU_OK);
        REQUIRE(got.status == QGPU_OK);
        std::vector<float> g(got.bytes.size() / 4), wv(want.bytes.size() / 4);
        std::memcpy(g.data(), got.bytes.data(), got.bytes.size());
        std::memcpy(wv.data(), want.bytes.data(), want.bytes.size());
        size_t bad = 0;
        for (size_t e = 0; e < g.size(); ++e) {
            const double diff = std::fabs(double(g[e]) - double(wv[e]));
            if (wv[e] > 0) worst = std::max(worst, diff / double(wv[e]));
            if (!(diff <= 1e-6 * double(wv[e]) + 1e-12)) ++bad;
        }
        REQUIRE(bad == 0);
    }
    WARN("softmax: largest relative difference to the CPU " << worst);
}

// A chain of layers run inside begin_batch/end_batch (enqueued, one wait) gives the bytes of the
// same chain run op by op, and the CPU's: quantize -> int8 conv (requantize) -> max pool ->
// relu -> concat with itself -> dequantize -> avg pool -> softmax.
TEST_CASE("opencl ops: a batched chain equals the unbatched chain and the CPU", "[opencl][ops][batch]") {
    Ctx cl(QGPU_BACKEND_OPENCL);
    CASES_BACKEND_OR_SKIP(cl.ctx != nullptr, "OpenCL", cl.why);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx != nullptr);
    std::mt19937 rng(12);
    const int32_t n = 2, c = 7, h = 11, w = 9, oc = 10;
    const qgpu_quant qx{0.04f, 3}, qy{0.08f, -5};
    std::vector<float> weights(size_t(oc) * c * 9), bias(static_cast<size_t>(oc));
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (float& x : weights) x = u(rng);
    for (float& x : bias) x = u(rng);
    const std::vector<unsigned char> input = random_bytes(float_desc(n, c, h, w), rng, false);

    struct Chain {
        std::vector<std::unique_ptr<Tensor>> tensors;
        std::vector<std::unique_ptr<OpKernel>> ops;  // nullptr: the conv
        std::vector<std::pair<std::vector<int>, int>> wiring;
        qgpu_conv conv = nullptr;
        ~Chain() { qgpu_conv_destroy(conv); }
    };
    auto build = [&](Ctx& ctx, Chain* ch) {
        auto tensor = [&](const TensorDesc& d) {
            ch->tensors.emplace_back(new Tensor(ctx.ctx, d));
            return int(ch->tensors.size() - 1);
        };
        auto op = [&](OpKind kind, std::vector<int> ins, int out, PoolParams pool = PoolParams()) {
            OpPlan p;
            p.kind = kind;
            p.pool = pool;
            for (int i : ins) p.inputs.push_back(ch->tensors[size_t(i)]->t->desc);
            p.output = ch->tensors[size_t(out)]->t->desc;
            std::unique_ptr<OpKernel> k;
            INFO(describe(p));
            REQUIRE(ctx.device().create_op(p, &k) == QGPU_OK);
            ch->ops.push_back(std::move(k));
            ch->wiring.emplace_back(ins, out);
        };
        qgpu_conv_desc d;
        qgpu_conv_desc_init(&d);
        d.in_channels = c; d.in_h = h; d.in_w = w; d.out_channels = oc;
        d.kernel_h = d.kernel_w = 3; d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
        d.weights = weights.data(); d.bias = bias.data();
        d.input_quant = qx; d.output_quant = qy; d.output_dtype = QGPU_DTYPE_INT8;
        REQUIRE(qgpu_conv_create(ctx.ctx, &d, &ch->conv) == QGPU_OK);
        const int x = tensor(float_desc(n, c, h, w)), xq = tensor(int8_desc(n, c, h, w, qx));
        const int y = tensor(int8_desc(n, oc, h, w, qy));
        PoolParams mp;
        mp.kernel_h = mp.kernel_w = 3; mp.stride_h = mp.stride_w = 2; mp.pad_bottom = mp.pad_right = 1;
        const int ph = (h + 1 - 3) / 2 + 1, pw = (w + 1 - 3) / 2 + 1;
        const int pooled = tensor(int8_desc(n, oc, ph, pw, qy)), relu = tensor(int8_desc(n, oc, ph, pw, qy));
        const int cat = tensor(int8_desc(n, 2 * oc, ph, pw, qy)), f = tensor(float_desc(n, 2 * oc, ph, pw));
        PoolParams gp;
        gp.kernel_h = ph; gp.kernel_w = pw;
        const int avg = tensor(float_desc(n, 2 * oc, 1, 1)), prob = tensor(float_desc(n, 2 * oc, 1, 1));
        op(OpKind::Quantize, {x}, xq);
        ch->ops.emplace_back();  // the conv
        ch->wiring.emplace_back(std::vector<int>{xq}, y);
        op(OpKind::MaxPool, {y}, pooled, mp);
        op(OpKind::Relu, {pooled}, relu);
        op(OpKind::Concat, {relu, pooled}, cat);
        op(OpKind::Dequantize, {cat}, f);
        op(OpKind::AvgPool, {f}, avg, gp);
        op(OpKind::Softmax, {avg}, prob);
        ch->tensors[size_t(x)]->set(input);
    };
    auto run = [&](Ctx& ctx, Chain& ch, bool batch) {
        if (batch) REQUIRE(ctx.device().begin_batch() == QGPU_OK);
        for (size_t s = 0; s < ch.ops.size(); ++s) {
            std::vector<TensorRef> ins;
            for (int i : ch.wiring[s].first) ins.push_back(ch.tensors[size_t(i)]->ref());
            const TensorRef out = ch.tensors[size_t(ch.wiring[s].second)]->ref();
            const qgpu_status st = ch.ops[s] ? ch.ops[s]->run(ins, out) : ch.conv->kernel->run(ins[0], out);
            INFO("step " << s << ": " << qgpu_last_error());
            REQUIRE(st == QGPU_OK);
        }
        if (batch) REQUIRE(ctx.device().end_batch() == QGPU_OK);
    };
    Chain ref, unbatched, batched;
    build(cpu, &ref);
    build(cl, &unbatched);
    build(cl, &batched);
    run(cpu, ref, false);
    run(cl, unbatched, false);
    run(cl, batched, true);
    run(cl, batched, true);  // a second batch over the same tensors
    for (size_t t = 0; t + 1 < ref.tensors.size(); ++t) {  // all but the softmax output: exact
        INFO("tensor " << t);
        const TensorDesc& d = ref.tensors[t]->t->desc;
        require_identical(d, batched.tensors[t]->get(), unbatched.tensors[t]->get());
        require_identical(d, batched.tensors[t]->get(), ref.tensors[t]->get());
    }
    const size_t last = ref.tensors.size() - 1;
    require_identical(ref.tensors[last]->t->desc, batched.tensors[last]->get(), unbatched.tensors[last]->get());
}

TEST_CASE("opencl ops: bad plans and runs are status codes with a message", "[opencl][ops]") {
    Ctx cl(QGPU_BACKEND_OPENCL);
    CASES_BACKEND_OR_SKIP(cl.ctx != nullptr, "OpenCL", cl.why);
    const qgpu_quant q{0.1f, 0};
    auto create = [&](const OpPlan& p) {
        std::unique_ptr<OpKernel> op;
        const qgpu_status st = cl.device().create_op(p, &op);
        if (st != QGPU_OK) CHECK(std::strlen(qgpu_last_error()) > 0);
        CHECK((st == QGPU_OK) == (op != nullptr));
        return st;
    };
    OpPlan p;
    p.kind = OpKind::Concat;
    p.inputs = {int8_desc(1, 3, 4, 4, q), int8_desc(1, 5, 4, 4, q)};
    p.output = int8_desc(1, 9, 4, 4, q);
    CHECK(create(p) == QGPU_ERROR_INVALID_ARGUMENT);  // 3 + 5 != 9
    CHECK(std::string(qgpu_last_error()).find("add up to 8") != std::string::npos);
    p.output.c = 8;
    CHECK(create(p) == QGPU_OK);
    p.inputs[1].quant.zero_point = 4;
    CHECK(create(p) == QGPU_ERROR_INVALID_ARGUMENT);  // int8 inputs must share the quantization
    p.inputs.clear();
    CHECK(create(p) == QGPU_ERROR_INVALID_ARGUMENT);

    p = OpPlan();
    p.kind = OpKind::MaxPool;
    p.pool.kernel_h = p.pool.kernel_w = 2;
    p.pool.stride_h = p.pool.stride_w = 2;
    p.inputs = {float_desc(1, 3, 5, 5)};
    p.output = float_desc(1, 3, 3, 3);  // floor mode gives 2x2
    CHECK(create(p) == QGPU_ERROR_INVALID_ARGUMENT);
    p.output = float_desc(1, 3, 2, 2);
    CHECK(create(p) == QGPU_OK);
    p.pool.stride_w = 0;
    CHECK(create(p) == QGPU_ERROR_INVALID_ARGUMENT);
    p.pool.stride_w = 2;
    p.kind = OpKind::AvgPool;
    p.inputs = {int8_desc(1, 3, 5, 5, q)};
    p.output = int8_desc(1, 3, 2, 2, q);
    CHECK(create(p) == QGPU_ERROR_UNSUPPORTED);

    p = OpPlan();
    p.kind = OpKind::Add;
    p.inputs = {float_desc(1, 3, 5, 5)};
    p.output = float_desc(1, 3, 5, 5);
    CHECK(create(p) == QGPU_ERROR_INVALID_ARGUMENT);  // one input
    p.inputs.push_back(float_desc(1, 3, 5, 4));
    CHECK(create(p) == QGPU_ERROR_INVALID_ARGUMENT);  // shapes differ
    p.kind = OpKind::Quantize;
    p.inputs = {float_desc(1, 3, 5, 5)};
    p.output = float_desc(1, 3, 5, 5);
    CHECK(create(p) == QGPU_ERROR_INVALID_ARGUMENT);  // float -> float
    p.output = int8_desc(1, 3, 5, 5, qgpu_quant{0.0f, 0});
    CHECK(create(p) == QGPU_ERROR_INVALID_ARGUMENT);  // scale 0

    p.kind = OpKind::Relu;  // an int8 leaky relu is refused (like the CPU), not run as max(x, zp)
    p.inputs = {int8_desc(1, 3, 5, 5, q)};
    p.output = p.inputs[0];
    p.relu_slope = 0.1f;
    CHECK(create(p) == QGPU_ERROR_UNSUPPORTED);

    // a run on tensors other than the plan's
    p = OpPlan();
    p.kind = OpKind::Relu;
    p.inputs = {float_desc(1, 3, 5, 5)};
    p.output = p.inputs[0];
    std::unique_ptr<OpKernel> op;
    REQUIRE(cl.device().create_op(p, &op) == QGPU_OK);
    Tensor a(cl.ctx, float_desc(1, 3, 5, 5)), b(cl.ctx, float_desc(1, 4, 5, 5));
    CHECK(op->run({a.ref()}, b.ref()) == QGPU_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(qgpu_last_error()).find("created for") != std::string::npos);
    CHECK(op->run({a.ref(), a.ref()}, a.ref()) == QGPU_ERROR_INVALID_ARGUMENT);
    CHECK(op->run({a.ref()}, a.ref()) == QGPU_OK);  // in place is fine for elementwise ops
}

namespace {

const std::string kModels = std::string(QGPU_SHARED_DIR) + "/models/";

struct NetHandle {
    qgpu_net net = nullptr;
    ~NetHandle() { qgpu_net_destroy(net); }
};

}  // namespace

// Issue 8: SqueezeNet int8 end to end on OpenCL. Every materialised blob equals the CPU's (int8
// blobs are read dequantized: equal floats <=> equal int8), except the softmax output "prob"
// (within the softmax tolerance above).
TEST_CASE("opencl ops: SqueezeNet int8 on OpenCL equals the CPU blob for blob", "[opencl][ops][net]") {
    const std::string dir = kModels + "squeezenet/";
    if (!std::ifstream(dir + "squeezenet_v1.1.param").good()) {
        WARN("skipped: " << dir << " not found");
        return;
    }
    Ctx cl(QGPU_BACKEND_OPENCL);
    CASES_BACKEND_OR_SKIP(cl.ctx != nullptr, "OpenCL", cl.why);
    Ctx cpu(QGPU_BACKEND_CPU);
    REQUIRE(cpu.ctx != nullptr);
    int w = 0, h = 0;
    std::vector<unsigned char> rgb;
    REQUIRE(squeezenet::read_ppm(dir + "img/cat.ppm", &w, &h, &rgb));
    const std::vector<float> input = squeezenet::preprocess(w, h, rgb);
    const std::string param = dir + "squeezenet_v1.1.param", bin = dir + "squeezenet_v1.1.bin",
                      table = dir + "squeezenet_v1.1.table";
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    d.param_path = param.c_str();
    d.bin_path = bin.c_str();
    d.table_path = table.c_str();
    NetHandle a, b;
    REQUIRE(qgpu_net_create(cpu.ctx, &d, &a.net) == QGPU_OK);
    const qgpu_status st = qgpu_net_create(cl.ctx, &d, &b.net);
    INFO(qgpu_last_error());
    REQUIRE(st == QGPU_OK);
    for (NetHandle* n : {&a, &b}) {
        REQUIRE(qgpu_net_set_input(n->net, "data", input.data(), input.size()) == QGPU_OK);
        REQUIRE(qgpu_net_run(n->net) == QGPU_OK);
    }
    size_t compared = 0;
    for (const std::string& blob : cases::ncnn_output_blobs(param)) {
        int32_t shape[4];
        if (qgpu_net_get_blob_shape(a.net, blob.c_str(), shape) != QGPU_OK) continue;
        const size_t count = size_t(shape[0]) * size_t(shape[1]) * size_t(shape[2]) * size_t(shape[3]);
        std::vector<float> want(count), got(count);
        if (qgpu_net_get_output(a.net, blob.c_str(), want.data(), count) != QGPU_OK) continue;  // fused away
        INFO("blob " << blob);
        REQUIRE(qgpu_net_get_output(b.net, blob.c_str(), got.data(), count) == QGPU_OK);
        size_t bad = 0;
        for (size_t k = 0; k < count; ++k) {
            const bool ok = blob == "prob" ? std::fabs(got[k] - want[k]) <= 1e-6 * want[k] + 1e-12
                                           : std::memcmp(&got[k], &want[k], 4) == 0;
            bad += ok ? 0 : 1;
        }
        CHECK(bad == 0);
        ++compared;
    }
    CHECK(compared > 30);
}
