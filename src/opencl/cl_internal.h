// Shared pieces of the OpenCL backend: the per-context state (cl_context, queue, program cache),
// buffers, and the conv and op kernel factories.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/backend.h"
#include "opencl/cl_loader.h"

namespace qgpu {
namespace opencl {

// The kernel flavours of kernels/conv.cl (ops.cl has one flavour).
enum class Variant { Khr, Arm, Portable };
const char* variant_name(Variant v);

// One OpenCL device as found by enumeration.
struct DeviceEntry {
    cl_platform_id platform = nullptr;
    cl_device_id device = nullptr;
    qgpu_device_info info;
    std::string name, driver_version, device_version, c_version, extensions;
    int c_major = 1, c_minor = 0;  // OpenCL C version
    uint64_t max_alloc = 0;        // CL_DEVICE_MAX_MEM_ALLOC_SIZE
    bool khr_dot = false, arm_dot = false;
    // float arithmetic the op kernels rely on (kernels/ops.cl): a correctly rounded fp32 divide
    // (CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) and fp64 (cl_khr_fp64)
    bool fp32_correct_div = false, fp64 = false;
};

// The embedded kernels/*.cl text (generated file).
const std::string& kernel_source();

class ClContext {
public:
    ClContext(const Api* api, const DeviceEntry& entry, Variant variant, std::string cache_dir)
        : api(api), entry(entry), variant(variant), cache_dir(std::move(cache_dir)) {}
    ~ClContext();
    ClContext(const ClContext&) = delete;
    ClContext& operator=(const ClContext&) = delete;

    Status init();
    // The program for the context's variant with `extra` options, built once per context (and
    // kept on disk when cache_dir is set).
    Status program(cl_program* out);
    // -D options and -cl-std for this variant and device.
    std::string build_options() const;

    const Api* api;
    DeviceEntry entry;
    Variant variant;
    std::string cache_dir;
    cl_context context = nullptr;
    cl_command_queue queue = nullptr;
    // Inside Device::begin_batch/end_batch kernel runs only enqueue (the queue is in order);
    // outside, each run waits for its result (errors surface at the run that caused them).
    bool batching = false;
    Status finish_unless_batching();

private:
    std::map<std::string, cl_program> programs_;
};

// Builds `source` with `options` for ctx's device, going through the on-disk binary cache when
// ctx.cache_dir is set (cl_cache.cpp). A corrupt or stale cache entry is rebuilt and rewritten.
Status build_program_cached(ClContext& ctx, const std::string& source, const std::string& options,
                            cl_program* out);
// The cache file a program with these inputs would use (for tests and docs).
std::string cache_file_path(const ClContext& ctx, const std::string& source,
                            const std::string& options);

class ClBuffer final : public Buffer {
public:
    static Status create(std::shared_ptr<ClContext> ctx, size_t bytes, std::unique_ptr<Buffer>* out);
    ~ClBuffer() override;
    Status write(const std::function<void(void*)>& fill) override;
    Status read(const std::function<void(const void*)>& consume) override;
    cl_mem mem() const { return mem_; }

private:
    ClBuffer(std::shared_ptr<ClContext> ctx, cl_mem mem, size_t bytes)
        : ctx_(std::move(ctx)), mem_(mem), bytes_(bytes) {}
    std::shared_ptr<ClContext> ctx_;
    cl_mem mem_;
    size_t bytes_;
};

// An immutable device buffer initialised from host data.
Status upload(ClContext& ctx, const void* data, size_t bytes, cl_mem* out);

Status make_conv(std::shared_ptr<ClContext> ctx, const ConvPlan& plan, std::unique_ptr<ConvKernel>* out);
// Network layers (cl_ops.cpp, kernels/ops.cl).
Status make_op(std::shared_ptr<ClContext> ctx, const OpPlan& plan, std::unique_ptr<OpKernel>* out);

}  // namespace opencl
}  // namespace qgpu
