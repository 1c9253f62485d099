// Activation calibration (two-pass: range, then a fixed-range histogram) and the weight
// quantization report. docs/calibration.md describes every algorithm exactly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "qgpu.h"

namespace qgpu {
namespace calib {

constexpr int kDefaultBins = 2048;
constexpr int kMinBins = 256;
constexpr int kMaxBins = 8192;  // the KL search is O(bins^2)
constexpr int kKlLevels = 128;        // quantized levels of the KL search (int8 magnitude)
constexpr double kKlEpsilon = 1e-4;   // ncnn2table's kl_eps, added to every bin (smoothing)

class Calibrator {
public:
    explicit Calibrator(int bins = kDefaultBins);

    Status observe(const float* x, size_t n);
    Status begin_histogram();
    Status compute(const qgpu_calib_options& options, qgpu_calib_result* out) const;
    void stats(qgpu_calib_stats* out) const;

    // Histogram access for tests and docs: |x| counts of bin i (zeros excluded).
    int bins() const { return bins_; }
    const std::vector<uint64_t>& positive() const { return pos_; }
    const std::vector<uint64_t>& negative() const { return neg_; }

    // The individual methods (histogram pass complete unless noted). Thresholds T >= 0.
    double threshold_minmax() const { return absmax_; }  // range pass only
    double threshold_kl(bool count_zeros, int variant, int* best_bin = nullptr) const;
    double threshold_percentile(double percentile) const;
    double threshold_mse() const;
    // Mean squared error (per value) and clipped fraction of quantizing the histogram with
    // scale s and integer levels [kmin, kmax] (dequantized value s*k), zero point folded in.
    void estimate_error(double s, int kmin, int kmax, double* mse, double* clipped) const;

private:
    bool histogram_complete() const { return histogram_pass_ && hist_count_ == count_; }

    int bins_;
    bool histogram_pass_ = false;
    uint64_t count_ = 0, zeros_ = 0, hist_count_ = 0;
    float min_ = 0.0f, max_ = 0.0f, absmax_ = 0.0f;
    double bin_scale_ = 0.0;  // bins / absmax
    std::vector<uint64_t> pos_, neg_;  // bin i: floor(|x| * bins / absmax) (clamped), x != 0
};

// Symmetric int8 weight quantization exactly as qgpu_conv_create does it, per output channel
// or per tensor; q and scales may be null (only the error is wanted). Returns the SQNR in dB.
double quantize_weights(const float* w, int32_t out_c, size_t per_channel, bool per_tensor,
                        int8_t* q, float* scales);

}  // namespace calib
}  // namespace qgpu
