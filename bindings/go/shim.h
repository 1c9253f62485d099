/* C shims of the Go bindings. Every fallible qgpu call is wrapped so that the thread-local
 * qgpu_last_error() text is copied INSIDE the same C call: between two cgo calls a goroutine
 * may move to another OS thread, where a second call would read another thread's message. */
#ifndef QGPU_GO_SHIM_H
#define QGPU_GO_SHIM_H
#include <stddef.h>
#include <stdint.h>
#include "qgpu.h"

typedef struct qg_result {
    qgpu_status status;
    char msg[1024];
} qg_result;

/* A result: the status and, on failure, qgpu_last_error() copied now. */
qg_result qg_finish(qgpu_status status);

qg_result qg_device_count(qgpu_backend backend, int32_t* count);
qg_result qg_device_get_info(qgpu_backend backend, int32_t index, qgpu_device_info* info);

qg_result qg_context_create(qgpu_backend backend, int32_t device_index, int32_t num_threads,
                            const char* kernel_variant, const char* cache_dir, qgpu_context* out);
qg_result qg_context_get_device_info(qgpu_context ctx, qgpu_device_info* info);
qg_result qg_context_set_num_threads(qgpu_context ctx, int32_t num_threads);

qg_result qg_tensor_create(qgpu_context ctx, qgpu_dtype dtype, int32_t n, int32_t c, int32_t h,
                           int32_t w, float scale, int32_t zero_point, qgpu_tensor* out);
qg_result qg_tensor_write_f32(qgpu_tensor t, const float* data, size_t count);
qg_result qg_tensor_read_f32(qgpu_tensor t, float* data, size_t count);
qg_result qg_tensor_write_i8(qgpu_tensor t, const int8_t* data, size_t count);
qg_result qg_tensor_read_i8(qgpu_tensor t, int8_t* data, size_t count);

/* The weight/bias pointers are separate arguments (Go memory may be passed to C, but Go memory
 * holding Go pointers may not): the shim stores them into the descriptor on the C side. */
qg_result qg_conv_create(qgpu_context ctx, qgpu_conv_desc* desc, const float* weights,
                         const int8_t* weights_int8, const float* weight_scales,
                         const float* bias, qgpu_conv* out);
qg_result qg_conv_get_output_shape(qgpu_conv conv, int32_t out_shape[3]);
qg_result qg_conv_get_weight_scales(qgpu_conv conv, float* scales, size_t count);
qg_result qg_conv_run(qgpu_conv conv, qgpu_tensor input, qgpu_tensor output);
qg_result qg_conv_run_host(qgpu_conv conv, int32_t n, const float* input, size_t input_count,
                           float* output, size_t output_count);

qg_result qg_quantize_multiplier(double multiplier, int32_t* m0, int32_t* shift);
qg_result qg_quantize(const float* x, size_t count, float scale, int32_t zero_point, int8_t* q);
qg_result qg_dequantize(const int8_t* q, size_t count, float scale, int32_t zero_point, float* x);

#endif
