// Reference CPU kernels for the network layers around the convolutions (OpKind in
// core/backend.h). Int8 tensors are NHWC4, float tensors NCHW (core/layout.h).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/host_pass.h"
#include "core/layout.h"
#include "core/requant.h"
#include "cpu/cpu_kernel.h"

namespace qgpu {
namespace cpu {
namespace {

class PoolOp final : public OpKernel {
public:
    PoolOp(const OpPlan& plan, ThreadPool* pool) : plan_(plan), pool_(pool) {}

    Status run(const std::vector<TensorRef>& inputs, const TensorRef& output) override {
        const TensorDesc& i = inputs[0].desc;
        const TensorDesc& o = output.desc;
        const void* in = host_data(inputs[0]);
        void* out = host_data(output);
        // below ~256 K element-taps (a few microseconds) on the calling thread alone
        const bool small = int64_t(o.n) * o.c * o.h * o.w * plan_.pool.kernel_h * plan_.pool.kernel_w < (int64_t(1) << 18);
        if (i.dtype == QGPU_DTYPE_INT8) {  // NHWC4: one task per output row, all channels
            pool_->parallel_for(int64_t(o.n) * o.h, small, [&](int64_t row) {
                const int32_t n = int32_t(row / o.h), oy = int32_t(row % o.h);
                for (int32_t ox = 0; ox < o.w; ++ox)
                    pool_int8(i, o, static_cast<const int8_t*>(in), static_cast<int8_t*>(out), n, oy, ox);
            });
            return QGPU_OK;
        }
        // NCHW: one task per channel plane, so every read stays within one plane
        pool_->parallel_for(int64_t(o.n) * o.c, small, [&](int64_t plane) {
            const float* src = static_cast<const float*>(in) + size_t(plane) * size_t(i.h) * size_t(i.w);
            float* dst = static_cast<float*>(out) + size_t(plane) * size_t(o.h) * size_t(o.w);
            for (int32_t oy = 0; oy < o.h; ++oy)
                for (int32_t ox = 0; ox < o.w; ++ox) dst[oy * o.w + ox] = pool_float(i, src, oy, ox);
        });
        return QGPU_OK;
    }

private:
    // Calls f(iy, ix) for the in-image taps of output (oy, ox).
    template <typename F>
    void taps(const TensorDesc& i, int32_t oy, int32_t ox, F f) const {
        const PoolParams& p = plan_.pool;
        for (int32_t ky = 0; ky < p.kernel_h; ++ky) {
            const int32_t iy = oy * p.stride_h - p.pad_top + ky;
            if (iy < 0 || iy >= i.h) continue;
            for (int32_t kx = 0; kx < p.kernel_w; ++kx) {
                const int32_t ix = ox * p.stride_w - p.pad_left + kx;
                if (ix >= 0 && ix < i.w) f(iy, ix);
            }
        }
    }

    void pool_int8(const TensorDesc& i, const TensorDesc& o, const int8_t* in, int8_t* out,
                   int32_t n, int32_t oy, int32_t ox) const {
        const int32_t c4 = round_up4(i.c);
        int8_t* dst = out + nhwc4_offset(o.h, o.w, c4, n, oy, ox, 0);
        std::fill(dst, dst + c4, int8_t(-128));
        taps(i, oy, ox, [&](int32_t iy, int32_t ix) {
            const int8_t* src = in + nhwc4_offset(i.h, i.w, c4, n, iy, ix, 0);
            for (int32_t c = 0; c < c4; ++c) dst[c] = std::max(dst[c], src[c]);
        });
        for (int32_t c = i.c; c < c4; ++c) dst[c] = int8_t(o.quant.zero_point);
    }

    // Max, or the average of the in-image taps (summed in tap order, then one division).
    float pool_float(const TensorDesc& i, const float* plane, int32_t oy, int32_t ox) const {
        const bool max = plan_.kind == OpKind::MaxPool;
        float acc = max ? -std::numeric_limits<float>::infinity() : 0.0f;
        int32_t count = 0;
        taps(i, oy, ox, [&](int32_t iy, int32_t ix) {
            const float v = plane[iy * i.w + ix];
            acc = max ? std::max(acc, v) : acc + v;
            ++count;
        });
        return max ? acc : acc / float(std::max(count, 1));
    }

    OpPlan plan_;
    ThreadPool* pool_;
};

class ConcatOp final : public OpKernel {
public:
    Status run(const std::vector<TensorRef>& inputs, const TensorRef& output) override {
        const TensorDesc& o = output.desc;
        if (o.dtype == QGPU_DTYPE_FLOAT32) {
            float* out = static_cast<float*>(host_data(output));
            const size_t plane = size_t(o.h) * o.w;
            for (int32_t n = 0; n < o.n; ++n) {
                size_t channel = 0;
                for (const TensorRef& in : inputs) {
                    const size_t bytes = size_t(in.desc.c) * plane * sizeof(float);
                    std::memcpy(out + (size_t(n) * o.c + channel) * plane,
                                static_cast<const float*>(host_data(in)) + size_t(n) * in.desc.c * plane, bytes);
                    channel += size_t(in.desc.c);
                }
            }
            return QGPU_OK;
        }
        int8_t* out = static_cast<int8_t*>(host_data(output));
        const int32_t oc4 = round_up4(o.c);
        const size_t pixels = size_t(o.n) * o.h * o.w;
        for (size_t p = 0; p < pixels; ++p) {
            int8_t* dst = out + p * size_t(oc4);
            int32_t channel = 0;
            for (const TensorRef& in : inputs) {
                const int8_t* src = static_cast<const int8_t*>(host_data(in)) + p * size_t(round_up4(in.desc.c));
                std::memcpy(dst + channel, src, size_t(in.desc.c));
                channel += in.desc.c;
            }
            std::fill(dst + o.c, dst + oc4, int8_t(o.quant.zero_point));
        }
        return QGPU_OK;
    }
};

class SoftmaxOp final : public OpKernel {
public:
    Status run(const std::vector<TensorRef>& inputs, const TensorRef& output) override {
        const TensorDesc& d = inputs[0].desc;
        const float* in = static_cast<const float*>(host_data(inputs[0]));
        float* out = static_cast<float*>(host_data(output));
        const size_t plane = size_t(d.h) * d.w;
        for (int32_t n = 0; n < d.n; ++n)
            for (size_t p = 0; p < plane; ++p) {
                const size_t base = size_t(n) * d.c * plane + p;
                float m = -std::numeric_limits<float>::infinity();
                for (int32_t c = 0; c < d.c; ++c) m = std::max(m, in[base + c * plane]);
                double sum = 0;
                for (int32_t c = 0; c < d.c; ++c) {
                    out[base + c * plane] = std::exp(in[base + c * plane] - m);
                    sum += out[base + c * plane];
                }
                for (int32_t c = 0; c < d.c; ++c) out[base + c * plane] = float(out[base + c * plane] / sum);
            }
        return QGPU_OK;
    }
};

// Elementwise work in chunks of whole cache lines over the pool (one chunk: no job at all).
template <typename F>
void for_chunks(ThreadPool* pool, size_t count, F f) {
    constexpr size_t kChunk = 32768;
    const int64_t chunks = int64_t((count + kChunk - 1) / kChunk);
    pool->parallel_for(std::max<int64_t>(chunks, 1), chunks <= 1, [&](int64_t k) {
        const size_t begin = size_t(k) * kChunk;
        f(begin, std::min(count, begin + kChunk));
    });
}

class ReluOp final : public OpKernel {
public:
    ReluOp(float slope, ThreadPool* pool) : slope_(slope), pool_(pool) {}
    Status run(const std::vector<TensorRef>& inputs, const TensorRef& output) override {
        const TensorDesc& d = inputs[0].desc;
        if (d.dtype == QGPU_DTYPE_INT8) {
            const int8_t* in = static_cast<const int8_t*>(host_data(inputs[0]));
            int8_t* out = static_cast<int8_t*>(host_data(output));
            const int8_t z = int8_t(d.quant.zero_point);
            for_chunks(pool_, d.bytes(), [&](size_t begin, size_t end) {
                for (size_t k = begin; k < end; ++k) out[k] = std::max(in[k], z);
            });
            return QGPU_OK;
        }
        const float* in = static_cast<const float*>(host_data(inputs[0]));
        float* out = static_cast<float*>(host_data(output));
        const float slope = slope_;
        for_chunks(pool_, d.count(), [&](size_t begin, size_t end) {
            for (size_t k = begin; k < end; ++k) out[k] = in[k] < 0.0f ? in[k] * slope : in[k];
        });
        return QGPU_OK;
    }

private:
    float slope_;
    ThreadPool* pool_;
};

class AddOp final : public OpKernel {
public:
    explicit AddOp(ThreadPool* pool) : pool_(pool) {}
    Status run(const std::vector<TensorRef>& inputs, const TensorRef& output) override {
        const float* a = static_cast<const float*>(host_data(inputs[0]));
        const float* b = static_cast<const float*>(host_data(inputs[1]));
        float* out = static_cast<float*>(host_data(output));
        for_chunks(pool_, output.desc.count(), [&](size_t begin, size_t end) {
            for (size_t k = begin; k < end; ++k) out[k] = a[k] + b[k];
        });
        return QGPU_OK;
    }

private:
    ThreadPool* pool_;
};

class ConvertOp final : public OpKernel {
public:
    ConvertOp(OpKind kind, ThreadPool* pool) : kind_(kind), pool_(pool) {}
    Status run(const std::vector<TensorRef>& inputs, const TensorRef& output) override {
        // the host passes split large tensors into the same tasks for any thread count
        const HostParallelFor parallel = [this](int64_t count, const std::function<void(int64_t)>& task) {
            pool_->parallel_for(count, task);
        };
        if (kind_ == OpKind::Quantize)
            quantize_pack_nhwc4(output.desc, static_cast<const float*>(host_data(inputs[0])),
                                static_cast<int8_t*>(host_data(output)), parallel);
        else
            dequantize_unpack_nhwc4(inputs[0].desc, static_cast<const int8_t*>(host_data(inputs[0])),
                                    static_cast<float*>(host_data(output)), parallel);
        return QGPU_OK;
    }

private:
    OpKind kind_;
    ThreadPool* pool_;
};

}  // namespace

Status make_reference_op(const OpPlan& plan, ThreadPool* pool, std::unique_ptr<OpKernel>* out) {
    switch (plan.kind) {
        case OpKind::MaxPool:
        case OpKind::AvgPool: out->reset(new PoolOp(plan, pool)); return QGPU_OK;
        case OpKind::Concat: out->reset(new ConcatOp()); return QGPU_OK;
        case OpKind::Softmax: out->reset(new SoftmaxOp()); return QGPU_OK;
        case OpKind::Relu:
            // int8 ReLU is max(x, zero point); a leaky one would need a requantize (GPU backends
            // refuse it too, the net runtime never asks for it)
            if (plan.relu_slope != 0.0f && !plan.inputs.empty() && plan.inputs[0].dtype == QGPU_DTYPE_INT8)
                return fail(QGPU_ERROR_UNSUPPORTED, "cpu: int8 leaky ReLU is not an op (fuse it into the conv)");
            out->reset(new ReluOp(plan.relu_slope, pool));
            return QGPU_OK;
        case OpKind::Quantize:
        case OpKind::Dequantize: out->reset(new ConvertOp(plan.kind, pool)); return QGPU_OK;
        case OpKind::Add: out->reset(new AddOp(pool)); return QGPU_OK;
    }
    return failf(QGPU_ERROR_INTERNAL, "cpu: unknown op %d", int(plan.kind));
}

}  // namespace cpu
}  // namespace qgpu
