/* Shims of the calibration API (see shim.h). */
#ifndef QGPU_GO_CALIB_SHIM_H
#define QGPU_GO_CALIB_SHIM_H
#include "shim.h"

qg_result qg_quantize_weights(const float* weights, int32_t out_channels, size_t per_channel,
                              int32_t per_tensor, int8_t* weights_int8, float* scales);
qg_result qg_weights_quantization_sqnr(const float* weights, int32_t out_channels,
                                       size_t per_channel, int32_t per_tensor, double* sqnr_db);

qg_result qg_calibrator_create(int32_t histogram_bins, qgpu_calibrator* out);
qg_result qg_calibrator_observe(qgpu_calibrator c, const float* data, size_t count);
qg_result qg_calibrator_begin_histogram(qgpu_calibrator c);
qg_result qg_calibrator_get_stats(qgpu_calibrator c, qgpu_calib_stats* stats);
qg_result qg_calibrator_compute(qgpu_calibrator c, qgpu_calib_method method, double percentile,
                                int32_t kl_count_zeros, int32_t auto_asymmetric,
                                qgpu_calib_result* result);

#endif
