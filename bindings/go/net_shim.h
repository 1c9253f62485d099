/* Shims of the model runtime and ncnn table API (see shim.h). */
#ifndef QGPU_GO_NET_SHIM_H
#define QGPU_GO_NET_SHIM_H
#include "shim.h"

qg_result qg_net_create(qgpu_context ctx, const char* param_path, const char* bin_path,
                        const char* table_path, qgpu_precision precision, int32_t batch,
                        const char* const* float_layers, int32_t float_layer_count,
                        qgpu_table table, qgpu_net* out);
qg_result qg_net_get_blob_shape(qgpu_net net, const char* blob, int32_t shape[4]);
qg_result qg_net_set_input(qgpu_net net, const char* blob, const float* data, size_t count);
qg_result qg_net_run(qgpu_net net);
qg_result qg_net_get_output(qgpu_net net, const char* blob, float* data, size_t count);
qg_result qg_net_calibrate(qgpu_net net, const char* input_blob, const float* samples, size_t count,
                           int32_t has_options, qgpu_calib_method method, double percentile,
                           int32_t kl_count_zeros, int32_t auto_asymmetric, qgpu_table table);

qg_result qg_table_create(qgpu_table* out);
qg_result qg_table_load(const char* path, qgpu_table* out);
qg_result qg_table_save(qgpu_table table, const char* path);
qg_result qg_table_get_counts(qgpu_table table, size_t* weight_layers, size_t* activations);
qg_result qg_table_get_name(qgpu_table table, int32_t is_activation, size_t index, const char** name);
qg_result qg_table_get_weight_scales(qgpu_table table, const char* layer, float* scales,
                                     size_t capacity, size_t* count);
qg_result qg_table_set_weight_scales(qgpu_table table, const char* layer, const float* scales,
                                     size_t count);
qg_result qg_table_get_activation_scale(qgpu_table table, const char* name, float* scale);
qg_result qg_table_set_activation_scale(qgpu_table table, const char* name, float scale);

#endif
