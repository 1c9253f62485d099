//go:build !qgpu_nocalib

#include "calib_shim.h"

qg_result qg_calibrator_create(int32_t histogram_bins, qgpu_calibrator* out) {
    return qg_finish(qgpu_calibrator_create(histogram_bins, out));
}
qg_result qg_calibrator_observe(qgpu_calibrator c, const float* data, size_t count) {
    return qg_finish(qgpu_calibrator_observe(c, data, count));
}
qg_result qg_calibrator_begin_histogram(qgpu_calibrator c) {
    return qg_finish(qgpu_calibrator_begin_histogram(c));
}
qg_result qg_calibrator_get_stats(qgpu_calibrator c, qgpu_calib_stats* stats) {
    qgpu_calib_stats_init(stats);
    return qg_finish(qgpu_calibrator_get_stats(c, stats));
}
qg_result qg_calibrator_compute(qgpu_calibrator c, qgpu_calib_method method, double percentile,
                                int32_t kl_count_zeros, int32_t auto_asymmetric,
                                qgpu_calib_result* result) {
    qgpu_calib_options o;
    qgpu_calib_options_init(&o);
    o.method = method;
    if (percentile > 0) o.percentile = percentile;
    o.kl_count_zeros = kl_count_zeros;
    o.auto_asymmetric = auto_asymmetric;
    qgpu_calib_result_init(result);
    return qg_finish(qgpu_calibrator_compute(c, &o, result));
}

qg_result qg_quantize_weights(const float* weights, int32_t out_channels, size_t per_channel,
                              int32_t per_tensor, int8_t* weights_int8, float* scales) {
    return qg_finish(qgpu_quantize_weights(weights, out_channels, per_channel, per_tensor, weights_int8, scales));
}
qg_result qg_weights_quantization_sqnr(const float* weights, int32_t out_channels,
                                       size_t per_channel, int32_t per_tensor, double* sqnr_db) {
    return qg_finish(qgpu_weights_quantization_sqnr(weights, out_channels, per_channel, per_tensor, sqnr_db));
}
