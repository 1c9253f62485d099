//go:build !qgpu_nonet && !qgpu_nocalib

#include "net_shim.h"

qg_result qg_net_create(qgpu_context ctx, const char* param_path, const char* bin_path,
                        const char* table_path, qgpu_precision precision, int32_t batch,
                        const char* const* float_layers, int32_t float_layer_count,
                        qgpu_table table, qgpu_net* out) {
    qgpu_net_desc d;
    qgpu_net_desc_init(&d);
    d.param_path = param_path;
    d.bin_path = bin_path;
    d.table_path = table_path;
    d.precision = precision;
    if (batch > 0) d.batch = batch;
    d.float_layers = float_layers;
    d.float_layer_count = float_layer_count;
    d.table = table;
    return qg_finish(qgpu_net_create(ctx, &d, out));
}
qg_result qg_net_get_blob_shape(qgpu_net net, const char* blob, int32_t shape[4]) {
    return qg_finish(qgpu_net_get_blob_shape(net, blob, shape));
}
qg_result qg_net_set_input(qgpu_net net, const char* blob, const float* data, size_t count) {
    return qg_finish(qgpu_net_set_input(net, blob, data, count));
}
qg_result qg_net_run(qgpu_net net) { return qg_finish(qgpu_net_run(net)); }
qg_result qg_net_get_output(qgpu_net net, const char* blob, float* data, size_t count) {
    return qg_finish(qgpu_net_get_output(net, blob, data, count));
}
qg_result qg_net_calibrate(qgpu_net net, const char* input_blob, const float* samples, size_t count,
                           int32_t has_options, qgpu_calib_method method, double percentile,
                           int32_t kl_count_zeros, int32_t auto_asymmetric, qgpu_table table) {
    qgpu_calib_options o;
    qgpu_calib_options_init(&o);
    o.method = method;
    if (percentile > 0) o.percentile = percentile;
    o.kl_count_zeros = kl_count_zeros;
    o.auto_asymmetric = auto_asymmetric;
    return qg_finish(qgpu_net_calibrate(net, input_blob, samples, count, has_options ? &o : NULL, table));
}

qg_result qg_table_create(qgpu_table* out) { return qg_finish(qgpu_table_create(out)); }
qg_result qg_table_load(const char* path, qgpu_table* out) { return qg_finish(qgpu_table_load(path, out)); }
qg_result qg_table_save(qgpu_table table, const char* path) { return qg_finish(qgpu_table_save(table, path)); }
qg_result qg_table_get_counts(qgpu_table table, size_t* weight_layers, size_t* activations) {
    return qg_finish(qgpu_table_get_counts(table, weight_layers, activations));
}
qg_result qg_table_get_name(qgpu_table table, int32_t is_activation, size_t index, const char** name) {
    return qg_finish(qgpu_table_get_name(table, is_activation, index, name));
}
qg_result qg_table_get_weight_scales(qgpu_table table, const char* layer, float* scales,
                                     size_t capacity, size_t* count) {
    return qg_finish(qgpu_table_get_weight_scales(table, layer, scales, capacity, count));
}
qg_result qg_table_set_weight_scales(qgpu_table table, const char* layer, const float* scales,
                                     size_t count) {
    return qg_finish(qgpu_table_set_weight_scales(table, layer, scales, count));
}
qg_result qg_table_get_activation_scale(qgpu_table table, const char* name, float* scale) {
    return qg_finish(qgpu_table_get_activation_scale(table, name, scale));
}
qg_result qg_table_set_activation_scale(qgpu_table table, const char* name, float scale) {
    return qg_finish(qgpu_table_set_activation_scale(table, name, scale));
}
