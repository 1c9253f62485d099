// Convolution test cases shared by every backend's tests: random shapes covering every
// parameter, the layer suite of ../shared/bench/shapes.tsv, and a runner that executes one
// case on a context through the public API.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "qgpu.h"

namespace cases {

struct ConvCase {
    qgpu_conv_desc desc;  // pointers refer to the vectors below (re-bound by bind())
    std::vector<float> weights, bias;
    std::vector<int8_t> input_q;  // NCHW int8 input (INT8 precision)
    std::vector<float> input_f;   // NCHW float input (FLOAT32 precision)
    int batch = 1;
    bool has_bias = true;
    std::string label;

    void bind();  // points desc.weights/bias at this case's vectors
    int out_h() const;
    int out_w() const;
    size_t output_count() const;
    std::string describe() const;
};

// A random case: kernel 1..7, stride 1..3, dilation 1..3, asymmetric padding, groups
// (incl. depthwise), odd channel counts, 1x1 spatial, zero points, every activation, int8 and
// float outputs. `precision` selects int8 or fp32.
ConvCase random_case(std::mt19937& rng, qgpu_precision precision);

struct SuiteRow {
    std::string name;
    int cin, cout, h, w, kh, kw, stride, pad, groups;
};
// Rows of shapes.tsv (QGPU_SHARED_DIR/bench/shapes.tsv); empty when the file is absent.
std::vector<SuiteRow> load_suite();
// A case for a suite row with random data (int8 output with ReLU, realistic scales).
ConvCase suite_case(const SuiteRow& row, std::mt19937& rng, qgpu_precision precision,
                    qgpu_dtype output_dtype);

struct Output {
    std::vector<int8_t> q;  // int8 output (NCHW)
    std::vector<float> f;   // float output (NCHW)
};
// Runs `c` on `ctx` through tensors; returns the qgpu status (output filled on success).
qgpu_status run_case(qgpu_context ctx, ConvCase& c, Output* out);

// A context for `backend` with `variant` (NULL = default) and `threads`; nullptr when the
// backend is unavailable (reason in *why).
qgpu_context make_context(qgpu_backend backend, const char* variant, int threads, std::string* why);

// QGPU_TEST_STRICT=1 (CI): the backends CI installs (lavapipe, PoCL) must be there, so a test
// that cannot open them fails instead of skipping.
bool strict_backends();

// Returns from the test with a "skipped" warning when `ok` is false, or fails it in strict mode.
#define CASES_BACKEND_OR_SKIP(ok, backend, why)                                            \
    do {                                                                                   \
        if (!(ok)) {                                                                       \
            if (cases::strict_backends()) FAIL(backend " required (QGPU_TEST_STRICT=1): " << (why)); \
            WARN("skipped: " backend " unavailable: " << (why));                          \
            return;                                                                        \
        }                                                                                  \
    } while (0)

// Turns the Khronos validation layer on when it is installed (the caller's own
// QGPU_VULKAN_VALIDATION wins); make_context does it for every Vulkan context, so every Vulkan
// test fails on a validation message.
void enable_vulkan_validation();

// The GPU backends and variants a whole-net test compares with the CPU: Vulkan nodot and dot,
// OpenCL's default.
struct GpuTarget {
    qgpu_backend backend;
    const char* variant;  // NULL: the default
    std::string name;
};
std::vector<GpuTarget> gpu_targets();
// A one-thread context for `t`, or nullptr after a "skipped" warning; in strict mode a missing
// backend fails the test instead (not merely a variant this device lacks).
qgpu_context open_gpu_target(const GpuTarget& t);

// Every blob an ncnn .param file names as a layer output, in file order (empty if unreadable).
std::vector<std::string> ncnn_output_blobs(const std::string& param_path);

// A scratch file path for `name` under $TMPDIR (or /tmp), unique to this process (ctest runs
// test cases in parallel processes, and two that wrote one shared path read each other's
// half-written files) and removed when the process ends.
std::string temp_path(const std::string& name);

}  // namespace cases
