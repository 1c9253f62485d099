#include "shim.h"

#include <stdio.h>
#include <string.h>

qg_result qg_finish(qgpu_status status) {
    qg_result r;
    r.status = status;
    r.msg[0] = '\0';
    if (status != QGPU_OK) snprintf(r.msg, sizeof r.msg, "%s", qgpu_last_error());
    return r;
}

qg_result qg_device_count(qgpu_backend backend, int32_t* count) {
    return qg_finish(qgpu_device_count(backend, count));
}

qg_result qg_device_get_info(qgpu_backend backend, int32_t index, qgpu_device_info* info) {
    qgpu_device_info_init(info);
    return qg_finish(qgpu_device_get_info(backend, index, info));
}

qg_result qg_context_create(qgpu_backend backend, int32_t device_index, int32_t num_threads,
                            const char* kernel_variant, const char* cache_dir, qgpu_context* out) {
    qgpu_context_desc desc;
    qgpu_context_desc_init(&desc);
    desc.backend = backend;
    desc.device_index = device_index;
    desc.num_threads = num_threads;
    desc.kernel_variant = kernel_variant;
    desc.cache_dir = cache_dir;
    return qg_finish(qgpu_context_create(&desc, out));
}

qg_result qg_context_get_device_info(qgpu_context ctx, qgpu_device_info* info) {
    qgpu_device_info_init(info);
    return qg_finish(qgpu_context_get_device_info(ctx, info));
}

qg_result qg_context_set_num_threads(qgpu_context ctx, int32_t num_threads) {
    return qg_finish(qgpu_context_set_num_threads(ctx, num_threads));
}

qg_result qg_tensor_create(qgpu_context ctx, qgpu_dtype dtype, int32_t n, int32_t c, int32_t h,
                           int32_t w, float scale, int32_t zero_point, qgpu_tensor* out) {
    qgpu_quant q;
    q.scale = scale;
    q.zero_point = zero_point;
    return qg_finish(qgpu_tensor_create(ctx, dtype, n, c, h, w, dtype == QGPU_DTYPE_INT8 ? &q : NULL, out));
}

qg_result qg_tensor_write_f32(qgpu_tensor t, const float* data, size_t count) {
    return qg_finish(qgpu_tensor_write_f32(t, data, count));
}
qg_result qg_tensor_read_f32(qgpu_tensor t, float* data, size_t count) {
    return qg_finish(qgpu_tensor_read_f32(t, data, count));
}
qg_result qg_tensor_write_i8(qgpu_tensor t, const int8_t* data, size_t count) {
    return qg_finish(qgpu_tensor_write_i8(t, data, count));
}
qg_result qg_tensor_read_i8(qgpu_tensor t, int8_t* data, size_t count) {
    return qg_finish(qgpu_tensor_read_i8(t, data, count));
}

qg_result qg_conv_create(qgpu_context ctx, qgpu_conv_desc* desc, const float* weights,
                         const int8_t* weights_int8, const float* weight_scales,
                         const float* bias, qgpu_conv* out) {
    desc->weights = weights;
    desc->weights_int8 = weights_int8;
    desc->weight_scales = weight_scales;
    desc->bias = bias;
    qg_result r = qg_finish(qgpu_conv_create(ctx, desc, out));
    /* the descriptor lives in Go memory: leave no pointer behind in it */
    desc->weights = NULL;
    desc->weights_int8 = NULL;
    desc->weight_scales = NULL;
    desc->bias = NULL;
    return r;
}

qg_result qg_conv_get_output_shape(qgpu_conv conv, int32_t out_shape[3]) {
    return qg_finish(qgpu_conv_get_output_shape(conv, out_shape));
}
qg_result qg_conv_get_weight_scales(qgpu_conv conv, float* scales, size_t count) {
    return qg_finish(qgpu_conv_get_weight_scales(conv, scales, count));
}
qg_result qg_conv_run(qgpu_conv conv, qgpu_tensor input, qgpu_tensor output) {
    return qg_finish(qgpu_conv_run(conv, input, output));
}
qg_result qg_conv_run_host(qgpu_conv conv, int32_t n, const float* input, size_t input_count,
                           float* output, size_t output_count) {
    return qg_finish(qgpu_conv_run_host(conv, n, input, input_count, output, output_count));
}

qg_result qg_quantize_multiplier(double multiplier, int32_t* m0, int32_t* shift) {
    return qg_finish(qgpu_quantize_multiplier(multiplier, m0, shift));
}
qg_result qg_quantize(const float* x, size_t count, float scale, int32_t zero_point, int8_t* q) {
    qgpu_quant quant;
    quant.scale = scale;
    quant.zero_point = zero_point;
    return qg_finish(qgpu_quantize(x, count, quant, q));
}
qg_result qg_dequantize(const int8_t* q, size_t count, float scale, int32_t zero_point, float* x) {
    qgpu_quant quant;
    quant.scale = scale;
    quant.zero_point = zero_point;
    return qg_finish(qgpu_dequantize(q, count, quant, x));
}
