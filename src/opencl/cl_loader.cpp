#include "opencl/cl_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

namespace qgpu {
namespace opencl {

namespace {

const char* const kLibraryPaths[] = {
    "libOpenCL.so.1",
    "libOpenCL.so",
#if defined(__ANDROID__) || defined(__aarch64__) || defined(__arm__)
    // Android: the ICD loader is not in the linker namespace; vendors ship it here.
    "/system/vendor/lib64/libOpenCL.so",
    "/vendor/lib64/libOpenCL.so",
    "/system/lib64/libOpenCL.so",
    "/system/vendor/lib64/egl/libGLES_mali.so",
    "/vendor/lib64/egl/libGLES_mali.so",
    "/system/vendor/lib64/libPVROCL.so",
    "/vendor/lib64/libPVROCL.so",
    "/system/vendor/lib/libOpenCL.so",
    "/vendor/lib/libOpenCL.so",
    "/system/lib/libOpenCL.so",
    "/system/vendor/lib/egl/libGLES_mali.so",
#endif
};

struct Loaded {
    Status status = QGPU_OK;
    std::string message;
    Api api;
};

bool try_load(const char* path, Api* api, std::string* reasons) {
    void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* e = dlerror();
        *reasons += std::string("\n  ") + path + ": " + (e ? e : "dlopen failed");
        return false;
    }
    Api table;
#define QGPU_CL_LOAD(name)                                                              \
    table.name = reinterpret_cast<decltype(table.name)>(dlsym(handle, #name));          \
    if (!table.name) {                                                                  \
        *reasons += std::string("\n  ") + path + ": no symbol " #name;                  \
        dlclose(handle);                                                                \
        return false;                                                                   \
    }
    QGPU_CL_FUNCTIONS(QGPU_CL_LOAD)
#undef QGPU_CL_LOAD
    table.library = path;
    *api = table;  // the handle stays open for the life of the process
    return true;
}

Loaded load_once() {
    Loaded l;
    std::string reasons;
    const char* env = std::getenv("QGPU_OPENCL_LIBRARY");
    if (env && *env) {
        if (try_load(env, &l.api, &reasons)) return l;
    }
    for (const char* path : kLibraryPaths)
        if (try_load(path, &l.api, &reasons)) return l;
    l.status = QGPU_ERROR_UNAVAILABLE;
    l.message = "opencl: no usable OpenCL library could be loaded (set QGPU_OPENCL_LIBRARY to "
                "its path):" + reasons;
    return l;
}

}  // namespace

Status load_api(const Api** out) {
    static const Loaded loaded = load_once();
    if (loaded.status != QGPU_OK) return fail(loaded.status, loaded.message);
    *out = &loaded.api;
    return QGPU_OK;
}

const char* error_name(cl_int err) {
    switch (err) {
#define E(x) case x: return #x;
        E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE)
        E(CL_COMPILER_NOT_AVAILABLE) E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES)
        E(CL_OUT_OF_HOST_MEMORY) E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP)
        E(CL_IMAGE_FORMAT_MISMATCH) E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE)
        E(CL_MAP_FAILURE) E(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST) E(CL_COMPILE_PROGRAM_FAILURE)
        E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE) E(CL_DEVICE_PARTITION_FAILED)
        E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE) E(CL_INVALID_DEVICE_TYPE)
        E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
        E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
        E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE)
        E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS)
        E(CL_INVALID_PROGRAM) E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME)
        E(CL_INVALID_KERNEL_DEFINITION) E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX)
        E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE) E(CL_INVALID_KERNEL_ARGS)
        E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE) E(CL_INVALID_WORK_ITEM_SIZE)
        E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST) E(CL_INVALID_EVENT)
        E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT) E(CL_INVALID_BUFFER_SIZE)
        E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
        E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS) E(CL_INVALID_LINKER_OPTIONS)
        E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
        case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
        default: return "CL_UNKNOWN_ERROR";
    }
}

Status cl_fail(cl_int err, const char* what) {
    Status s = QGPU_ERROR_DEVICE;
    if (err == CL_MEM_OBJECT_ALLOCATION_FAILURE || err == CL_OUT_OF_HOST_MEMORY)
        s = QGPU_ERROR_OUT_OF_MEMORY;
    else if (err == CL_DEVICE_NOT_AVAILABLE)
        s = QGPU_ERROR_UNAVAILABLE;
    return failf(s, "opencl: %s failed: %s (%d)", what, error_name(err), int(err));
}

}  // namespace opencl
}  // namespace qgpu
