// The OpenCL backend's devices: enumeration (every platform, every device), device info and
// capabilities, kernel variant selection, contexts, queues and mapped buffers.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cpu/threadpool.h"
#include "opencl/cl_internal.h"

namespace qgpu {
namespace opencl {

const char* variant_name(Variant v) {
    switch (v) {
        case Variant::Khr: return "khr";
        case Variant::Arm: return "arm";
        default: return "portable";
    }
}

namespace {

Status device_string(const Api* api, cl_device_id dev, cl_device_info what, const char* name,
                     std::string* out) {
    size_t size = 0;
    QGPU_CL_CHECK(api, clGetDeviceInfo, (dev, what, 0, nullptr, &size));
    std::string s(size, '\0');
    if (size) QGPU_CL_CHECK(api, clGetDeviceInfo, (dev, what, size, &s[0], nullptr));
    // drivers pad with NULs and spaces ("OpenCL C 1.2 " on NVIDIA)
    while (!s.empty() && (s.back() == '\0' || s.back() == ' ')) s.pop_back();
    (void)name;
    *out = s;
    return QGPU_OK;
}

template <typename T>
Status device_value(const Api* api, cl_device_id dev, cl_device_info what, T* out) {
    QGPU_CL_CHECK(api, clGetDeviceInfo, (dev, what, sizeof(T), out, nullptr));
    return QGPU_OK;
}

bool has_extension(const std::string& list, const char* ext) {
    const size_t n = std::strlen(ext);
    for (size_t pos = list.find(ext); pos != std::string::npos; pos = list.find(ext, pos + 1)) {
        const bool start_ok = pos == 0 || list[pos - 1] == ' ';
        const bool end_ok = pos + n == list.size() || list[pos + n] == ' ';
        if (start_ok && end_ok) return true;
    }
    return false;
}

Status describe(const Api* api, cl_platform_id platform, cl_device_id dev, int32_t index,
                DeviceEntry* e) {
    e->platform = platform;
    e->device = dev;
    qgpu_device_info& info = e->info;
    init_device_info(&info, QGPU_BACKEND_OPENCL, index);
    QGPU_TRY(device_string(api, dev, CL_DEVICE_NAME, "name", &e->name));
    QGPU_TRY(device_string(api, dev, CL_DRIVER_VERSION, "driver", &e->driver_version));
    QGPU_TRY(device_string(api, dev, CL_DEVICE_VERSION, "version", &e->device_version));
    QGPU_TRY(device_string(api, dev, CL_DEVICE_OPENCL_C_VERSION, "c version", &e->c_version));
    QGPU_TRY(device_string(api, dev, CL_DEVICE_EXTENSIONS, "extensions", &e->extensions));
    // "OpenCL C <major>.<minor> ..."
    int major = 1, minor = 0;
    if (std::sscanf(e->c_version.c_str(), "OpenCL C %d.%d", &major, &minor) == 2) {
        e->c_major = major;
        e->c_minor = minor;
    }
    cl_device_type type = 0;
    QGPU_TRY(device_value(api, dev, CL_DEVICE_TYPE, &type));
    cl_bool unified = CL_FALSE;
    QGPU_TRY(device_value(api, dev, CL_DEVICE_HOST_UNIFIED_MEMORY, &unified));
    if (type & CL_DEVICE_TYPE_GPU)
        info.type = unified ? QGPU_DEVICE_TYPE_INTEGRATED_GPU : QGPU_DEVICE_TYPE_DISCRETE_GPU;
    else if (type & CL_DEVICE_TYPE_CPU)
        info.type = QGPU_DEVICE_TYPE_CPU_SOFTWARE;
    else
        info.type = QGPU_DEVICE_TYPE_OTHER;

    info.caps |= QGPU_CAP_INT8_STORAGE;
    if (has_extension(e->extensions, "cl_khr_fp16")) info.caps |= QGPU_CAP_FP16;
    if (has_extension(e->extensions, "cl_khr_integer_dot_product")) {
        cl_device_integer_dot_product_capabilities_khr caps = 0;
        if (api->clGetDeviceInfo(dev, CL_DEVICE_INTEGER_DOT_PRODUCT_CAPABILITIES_KHR, sizeof caps,
                                 &caps, nullptr) == CL_SUCCESS &&
            (caps & CL_DEVICE_INTEGER_DOT_PRODUCT_INPUT_4x8BIT_PACKED_KHR))
            e->khr_dot = true;
        cl_device_integer_dot_product_acceleration_properties_khr acc;
        std::memset(&acc, 0, sizeof acc);
        if (e->khr_dot &&
            api->clGetDeviceInfo(dev, CL_DEVICE_INTEGER_DOT_PRODUCT_ACCELERATION_PROPERTIES_4x8BIT_PACKED_KHR,
                                 sizeof acc, &acc, nullptr) == CL_SUCCESS &&
            acc.signed_accelerated)
            info.caps |= QGPU_CAP_INTEGER_DOT_ACCELERATED;
    }
    if (has_extension(e->extensions, "cl_arm_integer_dot_product_int8")) {
        e->arm_dot = true;
        // Arm documents the instruction as the hardware dot product of Mali G76 and later
        info.caps |= QGPU_CAP_INTEGER_DOT_ACCELERATED;
    }
    if (e->khr_dot || e->arm_dot) info.caps |= QGPU_CAP_INTEGER_DOT;
    if (!(info.caps & QGPU_CAP_INTEGER_DOT)) info.caps &= ~QGPU_CAP_INTEGER_DOT_ACCELERATED;

    std::string platform_name;
    {
        size_t size = 0;
        if (api->clGetPlatformInfo(platform, CL_PLATFORM_NAME, 0, nullptr, &size) == CL_SUCCESS && size) {
            platform_name.assign(size, '\0');
            api->clGetPlatformInfo(platform, CL_PLATFORM_NAME, size, &platform_name[0], nullptr);
            while (!platform_name.empty() && platform_name.back() == '\0') platform_name.pop_back();
        }
    }
    std::snprintf(info.name, sizeof info.name, "%s", e->name.c_str());
    std::snprintf(info.detail, sizeof info.detail, "%s; %s; driver %s; platform %s; dot:%s%s",
                  e->device_version.c_str(), e->c_version.c_str(), e->driver_version.c_str(),
                  platform_name.c_str(), e->khr_dot ? " cl_khr_integer_dot_product" : "",
                  e->arm_dot ? " cl_arm_integer_dot_product_int8" : (e->khr_dot ? "" : " none"));
    const Variant best = e->khr_dot ? Variant::Khr : (e->arm_dot ? Variant::Arm : Variant::Portable);
    std::snprintf(info.kernel_variant, sizeof info.kernel_variant, "%s", variant_name(best));
    cl_ulong local = 0, global = 0;
    cl_uint units = 0;
    QGPU_TRY(device_value(api, dev, CL_DEVICE_LOCAL_MEM_SIZE, &local));
    QGPU_TRY(device_value(api, dev, CL_DEVICE_GLOBAL_MEM_SIZE, &global));
    QGPU_TRY(device_value(api, dev, CL_DEVICE_MAX_COMPUTE_UNITS, &units));
    info.shared_memory_bytes = local;
    info.memory_bytes = global;
    info.compute_units = int32_t(units);
    cl_ulong max_alloc = 0;
    QGPU_TRY(device_value(api, dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, &max_alloc));
    e->max_alloc = max_alloc;
    cl_device_fp_config fp32 = 0;
    if (api->clGetDeviceInfo(dev, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp32, &fp32, nullptr) == CL_SUCCESS)
        e->fp32_correct_div = (fp32 & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
    e->fp64 = has_extension(e->extensions, "cl_khr_fp64");
    return QGPU_OK;
}

Status enumerate(const Api** api_out, std::vector<DeviceEntry>* out) {
    const Api* api = nullptr;
    QGPU_TRY(load_api(&api));
    *api_out = api;
    out->clear();
    cl_uint nplat = 0;
    cl_int err = api->clGetPlatformIDs(0, nullptr, &nplat);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || (err == CL_SUCCESS && nplat == 0))
        return failf(QGPU_ERROR_UNAVAILABLE, "opencl: %s loaded but no OpenCL platform is installed "
                     "(no ICD in /etc/OpenCL/vendors or OCL_ICD_VENDORS)", api->library.c_str());
    if (err != CL_SUCCESS) return cl_fail(err, "clGetPlatformIDs");
    std::vector<cl_platform_id> platforms(nplat);
    QGPU_CL_CHECK(api, clGetPlatformIDs, (nplat, platforms.data(), nullptr));
    for (cl_platform_id p : platforms) {
        cl_uint ndev = 0;
        err = api->clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, nullptr, &ndev);
        if (err == CL_DEVICE_NOT_FOUND || ndev == 0) continue;
        if (err != CL_SUCCESS) return cl_fail(err, "clGetDeviceIDs");
        std::vector<cl_device_id> devs(ndev);
        QGPU_CL_CHECK(api, clGetDeviceIDs, (p, CL_DEVICE_TYPE_ALL, ndev, devs.data(), nullptr));
        for (cl_device_id d : devs) {
            DeviceEntry e;
            QGPU_TRY(describe(api, p, d, int32_t(out->size()), &e));
            out->push_back(e);
        }
    }
    if (out->empty())
        return failf(QGPU_ERROR_UNAVAILABLE, "opencl: %u platform(s) but no OpenCL device",
                     unsigned(nplat));
    return QGPU_OK;
}

Status list_devices(std::vector<qgpu_device_info>* devices) {
    const Api* api = nullptr;
    std::vector<DeviceEntry> entries;
    QGPU_TRY(enumerate(&api, &entries));
    devices->clear();
    for (const DeviceEntry& e : entries) devices->push_back(e.info);
    return QGPU_OK;
}

Status select_variant(const DeviceEntry& e, const char* requested, Variant* out) {
    if (!requested || !*requested) requested = std::getenv("QGPU_OPENCL_VARIANT");
    if (!requested || !*requested || std::strcmp(requested, "auto") == 0) {
        *out = e.khr_dot ? Variant::Khr : (e.arm_dot ? Variant::Arm : Variant::Portable);
        return QGPU_OK;
    }
    if (std::strcmp(requested, "portable") == 0 || std::strcmp(requested, "nodot") == 0) {
        *out = Variant::Portable;
        return QGPU_OK;
    }
    const bool khr = std::strcmp(requested, "khr") == 0, arm = std::strcmp(requested, "arm") == 0;
    const bool dot = std::strcmp(requested, "dot") == 0;
    if (!khr && !arm && !dot)
        return failf(QGPU_ERROR_UNSUPPORTED,
                     "opencl: unknown kernel variant '%s' (known: khr, arm, portable; dot, nodot)",
                     requested);
    if ((khr || dot) && e.khr_dot) { *out = Variant::Khr; return QGPU_OK; }
    if ((arm || dot) && e.arm_dot) { *out = Variant::Arm; return QGPU_OK; }
    return failf(QGPU_ERROR_UNSUPPORTED,
                 "opencl: device '%s' cannot run the '%s' kernels (it has %s)", e.name.c_str(),
                 requested,
                 e.khr_dot ? "cl_khr_integer_dot_product only"
                           : (e.arm_dot ? "cl_arm_integer_dot_product_int8 only"
                                        : "no integer dot-product extension"));
}

class ClDevice final : public Device {
public:
    ClDevice(std::shared_ptr<ClContext> ctx, int32_t threads)
        : ctx_(std::move(ctx)), host_threads_(threads > 0 ? threads : cpu::hardware_threads()) {}
    // the context's thread count drives the host passes (quantize on upload, dequantize on read)
    Status set_num_threads(int32_t threads) override {
        host_threads_.resize(threads > 0 ? threads : cpu::hardware_threads());
        return QGPU_OK;
    }
    void host_parallel_for(int64_t count, const std::function<void(int64_t)>& task) override {
        host_threads_.parallel_for(count, task);
    }
    const qgpu_device_info& info() const override { return ctx_->entry.info; }
    const char* kernel_variant() const override { return variant_name(ctx_->variant); }
    Status create_buffer(size_t bytes, std::unique_ptr<Buffer>* out) override {
        return ClBuffer::create(ctx_, bytes, out);
    }
    Status create_conv(const ConvPlan& plan, std::unique_ptr<ConvKernel>* out) override {
        return make_conv(ctx_, plan, out);
    }
    Status create_op(const OpPlan& plan, std::unique_ptr<OpKernel>* out) override {
        return make_op(ctx_, plan, out);
    }
    Status begin_batch() override {
        ctx_->batching = true;
        return QGPU_OK;
    }
    // One wait for everything the batch enqueued; an error of any of its kernels surfaces here.
    Status end_batch() override {
        ctx_->batching = false;
        return ctx_->finish_unless_batching();
    }

private:
    std::shared_ptr<ClContext> ctx_;
    cpu::ThreadPool host_threads_;
};

Status open(int32_t index, const qgpu_context_desc& desc, std::unique_ptr<Device>* out) {
    const Api* api = nullptr;
    std::vector<DeviceEntry> entries;
    QGPU_TRY(enumerate(&api, &entries));
    if (index < 0 || size_t(index) >= entries.size())
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "opencl: device index %d out of range (%zu devices)",
                     index, entries.size());
    const DeviceEntry& e = entries[size_t(index)];
    Variant variant = Variant::Portable;
    QGPU_TRY(select_variant(e, desc.kernel_variant, &variant));
    auto ctx = std::make_shared<ClContext>(api, e, variant, desc.cache_dir ? desc.cache_dir : "");
    QGPU_TRY(ctx->init());
    out->reset(new ClDevice(std::move(ctx), desc.num_threads));
    return QGPU_OK;
}

}  // namespace

// ---- ClContext ----------------------------------------------------------------------------

ClContext::~ClContext() {
    for (auto& kv : programs_) api->clReleaseProgram(kv.second);
    if (queue) api->clReleaseCommandQueue(queue);
    if (context) api->clReleaseContext(context);
}

Status ClContext::init() {
    cl_int err = CL_SUCCESS;
    const cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                           cl_context_properties(entry.platform), 0};
    context = api->clCreateContext(props, 1, &entry.device, nullptr, nullptr, &err);
    if (err != CL_SUCCESS || !context) return cl_fail(err, "clCreateContext");
    queue = api->clCreateCommandQueue(context, entry.device, 0, &err);
    if (err != CL_SUCCESS || !queue) return cl_fail(err, "clCreateCommandQueue");
    return QGPU_OK;
}

std::string ClContext::build_options() const {
    std::string o;
    // OpenCL C 3.0 exposes the KHR builtins through feature macros; 1.2 is the portable floor
    if (entry.c_major >= 3) o += "-cl-std=CL3.0";
    else if (entry.c_major == 2) o += "-cl-std=CL2.0";
    else o += "-cl-std=CL1.2";
    // ops.cl: the average pool's division must be correctly rounded (bit-identical to the CPU)
    if (entry.fp32_correct_div) o += " -cl-fp32-correctly-rounded-divide-sqrt";
    else if (entry.fp64) o += " -DQGPU_DIV_F64=1";
    if (entry.fp64) o += " -DQGPU_HAVE_F64=1";
    if (variant == Variant::Khr) o += " -DQGPU_DOT_KHR=1";
    if (variant == Variant::Arm) o += " -DQGPU_DOT_ARM=1";
    return o;
}

Status ClContext::program(cl_program* out) {
    const std::string options = build_options();
    auto it = programs_.find(options);
    if (it != programs_.end()) { *out = it->second; return QGPU_OK; }
    cl_program p = nullptr;
    QGPU_TRY(build_program_cached(*this, kernel_source(), options, &p));
    programs_[options] = p;
    *out = p;
    return QGPU_OK;
}

Status ClContext::finish_unless_batching() {
    if (!batching) QGPU_CL_CHECK(api, clFinish, (queue));
    return QGPU_OK;
}

// ---- buffers ------------------------------------------------------------------------------

Status ClBuffer::create(std::shared_ptr<ClContext> ctx, size_t bytes, std::unique_ptr<Buffer>* out) {
    if (ctx->entry.max_alloc && bytes > ctx->entry.max_alloc)
        return failf(QGPU_ERROR_OUT_OF_MEMORY,
                     "opencl: %zu bytes exceed the device's largest allocation "
                     "(CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu)",
                     bytes, (unsigned long long)ctx->entry.max_alloc);
    cl_int err = CL_SUCCESS;
    const size_t size = bytes ? bytes : 4;
    cl_mem mem = ctx->api->clCreateBuffer(ctx->context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR,
                                          size, nullptr, &err);
    if (err != CL_SUCCESS || !mem) {
        Status s = cl_fail(err, "clCreateBuffer");
        return failf(s, "%s (%zu bytes)", last_error_message(), bytes);
    }
    out->reset(new ClBuffer(std::move(ctx), mem, bytes));
    return QGPU_OK;
}

ClBuffer::~ClBuffer() { ctx_->api->clReleaseMemObject(mem_); }

Status ClBuffer::write(const std::function<void(void*)>& fill) {
    const Api* api = ctx_->api;
    cl_int err = CL_SUCCESS;
    void* p = api->clEnqueueMapBuffer(ctx_->queue, mem_, CL_TRUE, CL_MAP_WRITE, 0, bytes_, 0,
                                      nullptr, nullptr, &err);
    if (err != CL_SUCCESS || !p) return cl_fail(err, "clEnqueueMapBuffer (write)");
    fill(p);
    QGPU_CL_CHECK(api, clEnqueueUnmapMemObject, (ctx_->queue, mem_, p, 0, nullptr, nullptr));
    QGPU_CL_CHECK(api, clFlush, (ctx_->queue));
    return QGPU_OK;
}

Status ClBuffer::read(const std::function<void(const void*)>& consume) {
    const Api* api = ctx_->api;
    cl_int err = CL_SUCCESS;
    void* p = api->clEnqueueMapBuffer(ctx_->queue, mem_, CL_TRUE, CL_MAP_READ, 0, bytes_, 0,
                                      nullptr, nullptr, &err);
    if (err != CL_SUCCESS || !p) return cl_fail(err, "clEnqueueMapBuffer (read)");
    consume(p);
    QGPU_CL_CHECK(api, clEnqueueUnmapMemObject, (ctx_->queue, mem_, p, 0, nullptr, nullptr));
    QGPU_CL_CHECK(api, clFlush, (ctx_->queue));
    return QGPU_OK;
}

Status upload(ClContext& ctx, const void* data, size_t bytes, cl_mem* out) {
    cl_int err = CL_SUCCESS;
    const size_t size = bytes ? bytes : 16;
    std::vector<unsigned char> zeros;
    if (!bytes) { zeros.assign(size, 0); data = zeros.data(); }
    *out = ctx.api->clCreateBuffer(ctx.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, size,
                                   const_cast<void*>(data), &err);
    if (err != CL_SUCCESS || !*out) {
        *out = nullptr;
        Status s = cl_fail(err, "clCreateBuffer");
        return failf(s, "%s (%zu bytes of conv parameters)", last_error_message(), bytes);
    }
    return QGPU_OK;
}

}  // namespace opencl

const BackendDriver& opencl_backend_driver() {
    static const BackendDriver driver{QGPU_BACKEND_OPENCL, "opencl", opencl::list_devices,
                                      opencl::open};
    return driver;
}

}  // namespace qgpu
