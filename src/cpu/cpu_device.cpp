// The CPU backend: one device (this machine), host-memory buffers, a persistent thread pool,
// and a kernel variant chosen once per context (forced by name or QGPU_CPU_ISA).
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpu/cpu_features.h"
#include "cpu/cpu_kernel.h"
#if defined(__x86_64__)
#include "cpu/x86/x86_kernels.h"
#endif
#if defined(__aarch64__)
#include "cpu/arm/arm_kernels.h"
#endif

namespace qgpu {
namespace cpu {

Status HostBuffer::create(size_t bytes, std::unique_ptr<Buffer>* out) {
    // 64-byte alignment for vector loads; at least one cache line so empty shapes stay valid
    const size_t size = (std::max<size_t>(bytes, 1) + 63) & ~size_t(63);
    void* data = nullptr;  // posix_memalign: aligned_alloc is missing from Android before API 28
    if (posix_memalign(&data, 64, size) != 0) data = nullptr;
    if (!data)
        return failf(QGPU_ERROR_OUT_OF_MEMORY, "cannot allocate %zu bytes of host memory", bytes);
    out->reset(new HostBuffer(data));
    return QGPU_OK;
}

HostBuffer::~HostBuffer() { std::free(data_); }

namespace {

struct Variant {
    const char* name;
    bool (*supported)(const CpuFeatures&);
    std::unique_ptr<ConvKernel> (*make)(const ConvPlan&, ThreadPool*);
};

#if defined(__x86_64__) || defined(__aarch64__)
template <const IsaKernels* (*K)()>
std::unique_ptr<ConvKernel> make_simd(const ConvPlan& plan, ThreadPool* pool) {
    return make_fast_conv(plan, pool, K());
}
#endif

// Best first (the first one the CPU supports is the default).
const Variant kVariants[] = {
#if defined(__x86_64__)
    {"avx512vnni", [](const CpuFeatures& f) { return f.avx512vnni && f.avx2 && f.fma; },
     make_simd<x86::avx512vnni_kernels>},
    {"avxvnni", [](const CpuFeatures& f) { return f.avxvnni && f.avx2 && f.fma; },
     make_simd<x86::avxvnni_kernels>},
    {"avx2", [](const CpuFeatures& f) { return f.avx2 && f.fma; }, make_simd<x86::avx2_kernels>},
#endif
#if defined(__aarch64__)
    // getauxval: HWCAP2_I8MM / HWCAP_ASIMDDP (cpu_features.cpp); the i8mm file also uses dotprod
    {"i8mm", [](const CpuFeatures& f) { return f.i8mm && f.neon_dot; }, make_simd<arm::i8mm_kernels>},
    {"neondot", [](const CpuFeatures& f) { return f.neon_dot; }, make_simd<arm::neondot_kernels>},
    {"neon", [](const CpuFeatures& f) { return f.neon; }, make_simd<arm::neon_kernels>},
#endif
    {"scalar", [](const CpuFeatures&) { return true; }, make_reference_conv},
};

qgpu_device_info make_info() {
    qgpu_device_info info;
    init_device_info(&info, QGPU_BACKEND_CPU, 0);
    const CpuFeatures& f = cpu_features();
    info.type = QGPU_DEVICE_TYPE_CPU;
    if (f.avx512vnni || f.avxvnni || f.neon_dot) info.caps |= QGPU_CAP_INTEGER_DOT | QGPU_CAP_INTEGER_DOT_ACCELERATED;
    info.caps |= QGPU_CAP_INT8_STORAGE;
    std::snprintf(info.name, sizeof info.name, "%s", f.brand.c_str());
    std::snprintf(info.detail, sizeof info.detail, "ISA: %s", f.isa_list().c_str());
    for (const Variant& v : kVariants)
        if (v.supported(f)) {
            std::snprintf(info.kernel_variant, sizeof info.kernel_variant, "%s", v.name);
            break;
        }
    info.compute_units = hardware_threads();
    return info;
}

class CpuDevice final : public Device {
public:
    CpuDevice(const Variant* variant, int32_t threads)
        : info_(make_info()), variant_(variant), pool_(threads) {}

    const qgpu_device_info& info() const override { return info_; }
    const char* kernel_variant() const override { return variant_->name; }
    Status set_num_threads(int32_t threads) override {
        pool_.resize(threads ? threads : hardware_threads());
        return QGPU_OK;
    }
    Status create_buffer(size_t bytes, std::unique_ptr<Buffer>* out) override {
        return HostBuffer::create(bytes, out);
    }
    Status create_conv(const ConvPlan& plan, std::unique_ptr<ConvKernel>* out) override {
        *out = variant_->make(plan, &pool_);
        return QGPU_OK;
    }
    Status create_op(const OpPlan& plan, std::unique_ptr<OpKernel>* out) override {
        return make_reference_op(plan, &pool_, out);  // network layers (src/model)
    }
    void host_parallel_for(int64_t count, const std::function<void(int64_t)>& task) override {
        pool_.parallel_for(count, task);  // the host passes use the context's threads
    }

private:
    qgpu_device_info info_;
    const Variant* variant_;
    ThreadPool pool_;
};

Status list_devices(std::vector<qgpu_device_info>* devices) {
    devices->assign(1, make_info());
    return QGPU_OK;
}

Status select_variant(const char* requested, const Variant** out) {
    const CpuFeatures& f = cpu_features();
    if (!requested || !*requested) requested = std::getenv("QGPU_CPU_ISA");
    if (!requested || !*requested || std::strcmp(requested, "auto") == 0) {
        for (const Variant& v : kVariants)
            if (v.supported(f)) { *out = &v; return QGPU_OK; }
        return fail(QGPU_ERROR_INTERNAL, "no CPU kernel variant available");
    }
    for (const Variant& v : kVariants) {
        if (std::strcmp(v.name, requested) != 0) continue;
        if (!v.supported(f))
            return failf(QGPU_ERROR_UNSUPPORTED, "cpu: this CPU cannot run the '%s' kernels (it has: %s)",
                         requested, f.isa_list().c_str());
        *out = &v;
        return QGPU_OK;
    }
    std::string known;
    for (const Variant& v : kVariants) known += std::string(known.empty() ? "" : ", ") + v.name;
    // the variants of the other architecture: name the reason, not just "unknown"
    for (const char* other : {"avx512vnni", "avxvnni", "avx2", "neon", "neondot", "i8mm"})
        if (std::strcmp(other, requested) == 0)
            return failf(QGPU_ERROR_UNSUPPORTED,
                         "cpu: kernel variant '%s' is for another CPU architecture than this build's (built: %s)",
                         requested, known.c_str());
    return failf(QGPU_ERROR_UNSUPPORTED, "cpu: unknown or unimplemented kernel variant '%s' (built: %s)",
                 requested, known.c_str());
}

Status open(int32_t index, const qgpu_context_desc& desc, std::unique_ptr<Device>* out) {
    if (index != 0)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "cpu: device index %d out of range (1 device)", index);
    const Variant* variant = nullptr;
    QGPU_TRY(select_variant(desc.kernel_variant, &variant));
    const int32_t threads = desc.num_threads ? desc.num_threads : hardware_threads();
    out->reset(new CpuDevice(variant, threads));
    return QGPU_OK;
}

}  // namespace
}  // namespace cpu

const BackendDriver& cpu_backend_driver() {
    static const BackendDriver driver{QGPU_BACKEND_CPU, "cpu", cpu::list_devices, cpu::open};
    return driver;
}

}  // namespace qgpu
