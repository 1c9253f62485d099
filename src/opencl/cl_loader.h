// The OpenCL entry points qgpu uses, loaded at run time with dlopen (qgpu never links
// libOpenCL, and defines no global cl* symbols), plus error-name helpers.
#pragma once
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <CL/cl_ext.h>

#include <string>

#include "core/status.h"

namespace qgpu {
namespace opencl {

#define QGPU_CL_FUNCTIONS(X)                                                            \
    X(clGetPlatformIDs) X(clGetPlatformInfo) X(clGetDeviceIDs) X(clGetDeviceInfo)       \
    X(clCreateContext) X(clReleaseContext) X(clCreateCommandQueue)                      \
    X(clReleaseCommandQueue) X(clCreateBuffer) X(clReleaseMemObject)                    \
    X(clEnqueueMapBuffer) X(clEnqueueUnmapMemObject) X(clEnqueueWriteBuffer)            \
    X(clCreateProgramWithSource) X(clCreateProgramWithBinary) X(clBuildProgram)         \
    X(clGetProgramInfo) X(clGetProgramBuildInfo) X(clReleaseProgram) X(clCreateKernel)  \
    X(clReleaseKernel) X(clSetKernelArg) X(clEnqueueNDRangeKernel) X(clFinish)          \
    X(clFlush) X(clGetKernelWorkGroupInfo)

struct Api {
#define QGPU_CL_DECLARE(name) decltype(&::name) name = nullptr;
    QGPU_CL_FUNCTIONS(QGPU_CL_DECLARE)
#undef QGPU_CL_DECLARE
    std::string library;  // the path that was loaded
};

// Loads the OpenCL library once per process: $QGPU_OPENCL_LIBRARY, then libOpenCL.so.1,
// libOpenCL.so and the Android vendor paths. QGPU_ERROR_UNAVAILABLE (with every reason) when
// none loads or an entry point is missing.
Status load_api(const Api** out);

// "CL_OUT_OF_RESOURCES", ... ("CL_UNKNOWN_ERROR" for values not in the table).
const char* error_name(cl_int err);
// Maps an OpenCL error to a qgpu status: allocation failures -> OUT_OF_MEMORY,
// CL_DEVICE_NOT_AVAILABLE -> UNAVAILABLE, others -> DEVICE. Message: "opencl: <what>: <NAME>".
Status cl_fail(cl_int err, const char* what);

}  // namespace opencl
}  // namespace qgpu

// Calls an OpenCL function through the table; a failure returns a status naming the call and
// the error.
#define QGPU_CL_CHECK(api, call, args)                                      \
    do {                                                                    \
        cl_int qgpu_cl_err_ = (api)->call args;                             \
        if (qgpu_cl_err_ != CL_SUCCESS)                                     \
            return ::qgpu::opencl::cl_fail(qgpu_cl_err_, #call);            \
    } while (0)
