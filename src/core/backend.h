// The contract between the C API (src/api) and a backend (src/cpu, src/vulkan, src/opencl).
// A backend provides a BackendDriver (device listing + opening a Device); a Device makes
// Buffers (device memory) and ConvKernels (a ConvPlan repacked for that device).
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "core/conv_plan.h"
#include "core/status.h"

namespace qgpu {

// Shape and type of a tensor; the byte layout is defined in core/layout.h.
struct TensorDesc {
    qgpu_dtype dtype = QGPU_DTYPE_FLOAT32;
    int32_t n = 0, c = 0, h = 0, w = 0;
    qgpu_quant quant{1.0f, 0};

    size_t count() const { return size_t(n) * size_t(c) * size_t(h) * size_t(w); }
    // Bytes in the device layout (float: NCHW; int8: NHWC4).
    size_t bytes() const;
};

// Device memory holding one tensor. Host access goes through callbacks so that a backend
// can hand out mapped (staging) memory and the host pass writes the device layout directly.
class Buffer {
public:
    virtual ~Buffer() = default;
    // fill(dst) must write all `size` bytes of dst; they become the buffer's contents.
    virtual Status write(const std::function<void(void* dst)>& fill) = 0;
    // consume(src) reads the buffer's current contents.
    virtual Status read(const std::function<void(const void* src)>& consume) = 0;
};

// What a kernel sees of a tensor.
struct TensorRef {
    TensorDesc desc;
    Buffer* buffer;
};

class ConvKernel {
public:
    virtual ~ConvKernel() = default;
    // Shapes and dtypes are checked by the caller (src/api/conv.cpp).
    virtual Status run(const TensorRef& input, const TensorRef& output) = 0;
};

// Non-convolution layers of a network (the model runtime, src/model). Inputs and output are
// tensors of the same device in the layouts of core/layout.h.
enum class OpKind {
    MaxPool,     // int8 (exact: same quantization in and out) or float
    AvgPool,     // float; averages the in-image taps only
    Concat,      // along channels; int8 inputs share the output's quantization
    Softmax,     // float, over channels
    Relu,        // float (leaky when slope != 0) or int8 (slope 0: max(x, zero point))
    Quantize,    // float -> int8 (the output's quantization)
    Dequantize,  // int8 -> float
    Add,         // float: elementwise sum of two tensors of one shape
};

struct PoolParams {
    int32_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
    int32_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;  // incl. ceil-mode extra
};

struct OpPlan {
    OpKind kind = OpKind::MaxPool;
    std::vector<TensorDesc> inputs;
    TensorDesc output;
    PoolParams pool;
    float relu_slope = 0.0f;
};

class OpKernel {
public:
    virtual ~OpKernel() = default;
    virtual Status run(const std::vector<TensorRef>& inputs, const TensorRef& output) = 0;
};

class Device {
public:
    virtual ~Device() = default;
    virtual const qgpu_device_info& info() const = 0;
    virtual const char* kernel_variant() const = 0;
    virtual Status set_num_threads(int32_t) { return QGPU_OK; }
    virtual Status create_buffer(size_t bytes, std::unique_ptr<Buffer>* out) = 0;
    virtual Status create_conv(const ConvPlan& plan, std::unique_ptr<ConvKernel>* out) = 0;
    // Backends without network layers yet say so (the model runtime reports it at load time).
    virtual Status create_op(const OpPlan& plan, std::unique_ptr<OpKernel>* out);
    // A batch of kernel runs (a network's layers): between begin_batch() and end_batch() a
    // backend may record runs without executing them (a GPU: one command buffer, one submit);
    // end_batch() executes what was recorded and waits for it. No Buffer::read/write happens
    // inside a batch. After an error the caller still calls end_batch(), which then discards.
    virtual Status begin_batch() { return QGPU_OK; }
    virtual Status end_batch() { return QGPU_OK; }
    // The context's CPU threads for host-side work (the quantize/dequantize host passes of
    // src/api/api_tensor.cpp): runs task(i) for every i in [0, count), returns when all are done.
    // The default runs them in order on the calling thread.
    virtual void host_parallel_for(int64_t count, const std::function<void(int64_t)>& task) {
        for (int64_t i = 0; i < count; ++i) task(i);
    }
};

struct BackendDriver {
    qgpu_backend backend;
    const char* name;
    // Fills the device list; QGPU_ERROR_UNAVAILABLE (with the reason) when the backend has none.
    Status (*list_devices)(std::vector<qgpu_device_info>* devices);
    Status (*open)(int32_t index, const qgpu_context_desc& desc, std::unique_ptr<Device>* out);
};

const char* op_kind_name(OpKind kind);

// Defined by each backend that is built (see src/core/registry.cpp).
const BackendDriver& cpu_backend_driver();
const BackendDriver& vulkan_backend_driver();
const BackendDriver& opencl_backend_driver();

// The driver of `backend` (not AUTO), or nullptr with an UNAVAILABLE message when not built.
const BackendDriver* find_backend_driver(qgpu_backend backend);

// Writes an all-zero qgpu_device_info of the current size.
void init_device_info(qgpu_device_info* info, qgpu_backend backend, int32_t index);

}  // namespace qgpu
