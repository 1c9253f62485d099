// How CPU conv kernels are made and run. CPU buffers are plain host memory (HostBuffer), so a
// kernel reads and writes the device layouts of core/layout.h directly.
#pragma once
#include <memory>

#include "core/backend.h"
#include "cpu/threadpool.h"

namespace qgpu {
namespace cpu {

class HostBuffer final : public Buffer {
public:
    static Status create(size_t bytes, std::unique_ptr<Buffer>* out);
    ~HostBuffer() override;
    Status write(const std::function<void(void*)>& fill) override { fill(data_); return QGPU_OK; }
    Status read(const std::function<void(const void*)>& consume) override {
        consume(data_);
        return QGPU_OK;
    }
    void* data() { return data_; }

private:
    explicit HostBuffer(void* data) : data_(data) {}
    void* data_;
};

inline void* host_data(const TensorRef& t) { return static_cast<HostBuffer*>(t.buffer)->data(); }

// The scalar reference: the definition every other path is tested against.
std::unique_ptr<ConvKernel> make_reference_conv(const ConvPlan& plan, ThreadPool* pool);
// Reference kernels for the network layers around the convs (pooling, concat, softmax, ...).
Status make_reference_op(const OpPlan& plan, ThreadPool* pool, std::unique_ptr<OpKernel>* out);

#if defined(__x86_64__) || defined(__aarch64__)
struct IsaKernels;
// The SIMD convolution (fast_conv.cpp) on the kernels of one ISA (src/cpu/isa_kernels.h).
std::unique_ptr<ConvKernel> make_fast_conv(const ConvPlan& plan, ThreadPool* pool, const IsaKernels* k);
#endif

}  // namespace cpu
}  // namespace qgpu
