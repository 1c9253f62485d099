#include "core/calibration.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/requant.h"

namespace qgpu {
namespace calib {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Integral over x in [a, b] of (x - Q(x))^2, Q(x) = s * clamp(round(x / s), kmin, kmax).
// Exact (piecewise cubic), so the estimate only assumes values are uniform inside a bin.
double cell_error(double a, double b, double s, int kmin, int kmax) {
    auto level = [&](double x) {
        double k = std::floor(x / s + 0.5);
        return int(std::min<double>(std::max<double>(k, kmin), kmax));
    };
    const int ka = level(a), kb = level(b);
    double total = 0.0;
    for (int k = ka; k <= kb; ++k) {
        const double lo = k == kmin ? -kInf : (k - 0.5) * s;
        const double hi = k == kmax ? kInf : (k + 0.5) * s;
        const double u = std::max(a, lo), v = std::min(b, hi);
        if (!(v > u)) continue;
        const double c = k * s, du = u - c, dv = v - c;
        total += (dv * dv * dv - du * du * du) / 3.0;
    }
    return total;
}

// Length of [a, b] outside [lo, hi].
double outside(double a, double b, double lo, double hi) {
    double len = 0.0;
    if (a < lo) len += std::min(b, lo) - a;
    if (b > hi) len += b - std::max(a, hi);
    return len;
}

}  // namespace

Calibrator::Calibrator(int bins) : bins_(bins), pos_(size_t(bins), 0), neg_(size_t(bins), 0) {}

Status Calibrator::observe(const float* x, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (!std::isfinite(x[i]))
            return failf(QGPU_ERROR_INVALID_ARGUMENT,
                         "data[%zu] is %s: calibration data must be finite", i,
                         std::isnan(x[i]) ? "NaN" : "infinite");
    if (!histogram_pass_) {
        if (count_ == 0) min_ = max_ = x[0];
        float lo = min_, hi = max_;
        uint64_t zeros = 0;
        for (size_t i = 0; i < n; ++i) {
            lo = std::min(lo, x[i]);
            hi = std::max(hi, x[i]);
            zeros += x[i] == 0.0f;
        }
        min_ = lo;
        max_ = hi;
        absmax_ = std::max(std::fabs(lo), std::fabs(hi));
        count_ += n;
        zeros_ += zeros;
        return QGPU_OK;
    }
    if (n > count_ - hist_count_)
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "the histogram pass got %llu values, more than the %llu of the range pass: "
                     "both passes must see the same data",
                     (unsigned long long)(hist_count_ + n), (unsigned long long)count_);
    for (size_t i = 0; i < n; ++i)
        if (x[i] < min_ || x[i] > max_)
            return failf(QGPU_ERROR_INVALID_ARGUMENT,
                         "data[%zu] = %g is outside the range pass's [%g, %g]: both passes "
                         "must see the same data",
                         i, double(x[i]), double(min_), double(max_));
    const size_t last = size_t(bins_ - 1);
    for (size_t i = 0; i < n; ++i) {
        const float v = x[i];
        if (v == 0.0f) continue;  // exact zeros are counted apart (zeros_)
        size_t b = size_t(double(std::fabs(v)) * bin_scale_);
        if (b > last) b = last;
        (v < 0.0f ? neg_ : pos_)[b] += 1;
    }
    hist_count_ += n;
    return QGPU_OK;
}

Status Calibrator::begin_histogram() {
    if (histogram_pass_)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "the histogram pass has already begun");
    if (count_ == 0)
        return fail(QGPU_ERROR_INVALID_ARGUMENT,
                    "no data observed: the range pass needs at least one value");
    histogram_pass_ = true;
    bin_scale_ = absmax_ > 0.0f ? double(bins_) / double(absmax_) : 0.0;
    return QGPU_OK;
}

void Calibrator::stats(qgpu_calib_stats* s) const {
    s->count = count_;
    s->zeros = zeros_;
    s->histogram_count = hist_count_;
    s->min = min_;
    s->max = max_;
    s->absmax = absmax_;
    s->histogram_bins = bins_;
    s->histogram_pass = histogram_pass_ ? 1 : 0;
}

namespace {

// ncnn2table (ncnn >= 2021, tools/quantize/ncnn2table.cpp quantize_KL): fractional merge of the
// first t bins into 128 levels, kKlEpsilon added to every bin of both distributions (the
// smoothing), KL of the unnormalised (eps-shifted) distributions.
double kl_ncnn(const std::vector<double>& h, int t) {
    const int levels = kKlLevels;
    std::vector<double> clip(size_t(t), kKlEpsilon), qd(size_t(levels), 0.0),
        ex(size_t(t), kKlEpsilon);
    for (int j = 0; j < t; ++j) clip[size_t(j)] += h[size_t(j)];
    for (size_t j = size_t(t); j < h.size(); ++j) clip[size_t(t) - 1] += h[j];
    const double npb = double(t) / levels;
    // level j covers [j*npb, (j+1)*npb) of the bins, partial bins weighted by their overlap
    auto span = [&](int j, int* lu, double* ls, int* rl, double* rs) {
        const double start = j * npb, end = j == levels - 1 ? double(t) : (j + 1) * npb;
        *lu = int(std::ceil(start));
        *ls = *lu - start;
        *rl = int(std::floor(end));
        *rs = end - *rl;
        if (*rl >= t) { *rl = t; *rs = 0.0; }
    };
    for (int j = 0; j < levels; ++j) {
        int lu, rl;
        double ls, rs;
        span(j, &lu, &ls, &rl, &rs);
        double v = 0.0;
        if (ls > 0.0) v += ls * h[size_t(lu) - 1];
        if (rs > 0.0) v += rs * h[size_t(rl)];
        for (int k = lu; k < rl; ++k) v += h[size_t(k)];
        qd[size_t(j)] = v / (rl - lu + ls + rs);
    }
    for (int j = 0; j < levels; ++j) {
        int lu, rl;
        double ls, rs;
        span(j, &lu, &ls, &rl, &rs);
        if (ls > 0.0) ex[size_t(lu) - 1] += ls * qd[size_t(j)];
        if (rs > 0.0) ex[size_t(rl)] += rs * qd[size_t(j)];
        for (int k = lu; k < rl; ++k) ex[size_t(k)] += qd[size_t(j)];
    }
    double kl = 0.0;
    for (int j = 0; j < t; ++j) kl += clip[size_t(j)] * std::log(clip[size_t(j)] / ex[size_t(j)]);
    return kl;
}

// ncnn 2018 (the original int8 tools, TensorRT's recipe): the same fractional merge, each
// level's mass spread back only over the non-empty bins it covers, no smoothing; a bin with
// P > 0 and Q == 0 adds 1 to the divergence.
double kl_ncnn2018(const std::vector<double>& h, int t, double outliers) {
    const int levels = kKlLevels;
    std::vector<double> p(h.begin(), h.begin() + t), ex(size_t(t), 0.0);
    p[size_t(t) - 1] += outliers;
    const double npb = double(t) / levels;
    for (int i = 0; i < levels; ++i) {
        const double start = i * npb, end = start + npb;
        const int lu = int(std::ceil(start));
        const int rl = std::min(int(std::floor(end)), t);
        const double ls = lu > start ? lu - start : 0.0;
        const double rs = rl < end && rl < t ? end - rl : 0.0;
        double mass = 0.0, count = 0.0;
        if (ls > 0.0) {
            mass += ls * h[size_t(lu) - 1];
            if (h[size_t(lu) - 1] != 0.0) count += ls;
        }
        if (rs > 0.0) {
            mass += rs * h[size_t(rl)];
            if (h[size_t(rl)] != 0.0) count += rs;
        }
        for (int k = lu; k < rl; ++k) {
            mass += h[size_t(k)];
            if (h[size_t(k)] != 0.0) count += 1.0;
        }
        if (count == 0.0) continue;
        const double each = mass / count;
        if (ls > 0.0 && h[size_t(lu) - 1] != 0.0) ex[size_t(lu) - 1] += each * ls;
        if (rs > 0.0 && h[size_t(rl)] != 0.0) ex[size_t(rl)] += each * rs;
        for (int k = lu; k < rl; ++k)
            if (h[size_t(k)] != 0.0) ex[size_t(k)] += each;
    }
    double kl = 0.0;
    for (int j = 0; j < t; ++j) {
        if (p[size_t(j)] == 0.0) continue;
        kl += ex[size_t(j)] == 0.0 ? 1.0 : p[size_t(j)] * std::log(p[size_t(j)] / ex[size_t(j)]);
    }
    return kl;
}

}  // namespace

double Calibrator::threshold_kl(bool count_zeros, int variant, int* best_bin) const {
    const int nb = bins_;
    std::vector<double> h(size_t(nb), 0.0);
    double total = 0.0;
    for (int i = 0; i < nb; ++i) {
        h[size_t(i)] = double(pos_[size_t(i)] + neg_[size_t(i)]);
        total += h[size_t(i)];
    }
    if (count_zeros) {
        h[0] += double(zeros_);
        total += double(zeros_);
    }
    if (!(total > 0.0)) {
        if (best_bin) *best_bin = 0;
        return 0.0;  // nothing but zeros
    }
    for (double& v : h) v /= total;  // both variants work on the normalised histogram
    std::vector<double> tail(size_t(nb) + 1, 0.0);  // tail[i] = sum of h[i..nb)
    for (int i = nb - 1; i >= 0; --i) tail[size_t(i)] = tail[size_t(i) + 1] + h[size_t(i)];
    int best = kKlLevels;
    double best_kl = kInf;
    for (int t = kKlLevels; t < nb; ++t) {
        const double kl = variant == QGPU_KL_NCNN2018 ? kl_ncnn2018(h, t, tail[size_t(t)]) : kl_ncnn(h, t);
        if (kl < best_kl) {  // the first minimum wins
            best_kl = kl;
            best = t;
        }
    }
    if (best_bin) *best_bin = best;
    return (double(best) + 0.5) * double(absmax_) / double(nb);
}

double Calibrator::threshold_percentile(double percentile) const {
    // p% of the values, with a relative slack of 1e-12 so that 99.9% of 10000 is 9990, not a
    // rounding error above it
    const double target = percentile * double(count_) / 100.0 * (1.0 - 1e-12);
    double cum = double(zeros_);
    for (int i = 0; i < bins_; ++i) {
        cum += double(pos_[size_t(i)] + neg_[size_t(i)]);
        if (cum >= target || i == bins_ - 1)
            return i == bins_ - 1 ? double(absmax_) : double(i + 1) * double(absmax_) / bins_;
    }
    return double(absmax_);
}

void Calibrator::estimate_error(double s, int kmin, int kmax, double* mse, double* clipped) const {
    const double w = double(absmax_) / bins_;
    // clipped: quantized with more than half a step of error (saturated)
    const double lo_rep = s * (kmin - 0.5), hi_rep = s * (kmax + 0.5);
    double err = 0.0, clip = 0.0;
    for (int i = 0; i < bins_; ++i) {
        for (int sign = 0; sign < 2; ++sign) {
            const uint64_t c = (sign ? neg_ : pos_)[size_t(i)];
            if (!c) continue;
            double a = i * w, b = (i + 1) * w;
            if (sign) {
                const double t = a;
                a = std::max(-b, double(min_));
                b = -t;
            } else {
                b = std::min(b, double(max_));
            }
            if (b > a) {
                err += double(c) * cell_error(a, b, s, kmin, kmax) / (b - a);
                clip += double(c) * outside(a, b, lo_rep, hi_rep) / (b - a);
            } else {  // a bin squeezed to one point by min/max
                const double k = std::min<double>(std::max<double>(std::floor(a / s + 0.5), kmin), kmax);
                err += double(c) * (a - k * s) * (a - k * s);
                clip += (a < lo_rep || a > hi_rep) ? double(c) : 0.0;
            }
        }
    }
    *mse = count_ ? err / double(count_) : 0.0;
    *clipped = count_ ? clip / double(count_) : 0.0;
}

double Calibrator::threshold_mse() const {
    double best_t = absmax_, best = kInf, clipped = 0.0;
    for (int i = 0; i < bins_; ++i) {
        const double t = i == bins_ - 1 ? double(absmax_) : double(i + 1) * double(absmax_) / bins_;
        if (!(t > 0.0)) continue;
        double mse = 0.0;
        estimate_error(double(float(t / 127.0)), -127, 127, &mse, &clipped);
        if (mse < best) {
            best = mse;
            best_t = t;
        }
    }
    return best_t;
}

Status Calibrator::compute(const qgpu_calib_options& o, qgpu_calib_result* r) const {
    if (count_ == 0)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "no data observed: nothing to calibrate");
    // a C caller may store any int in the enum: read it as one (no out-of-range enum load)
    int32_t raw = 0;
    static_assert(sizeof raw == sizeof o.method, "32-bit enum");
    std::memcpy(&raw, &o.method, sizeof raw);
    if (raw < int32_t(QGPU_CALIB_MINMAX) || raw > int32_t(QGPU_CALIB_AUTO))
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "unknown calibration method %d", int(raw));
    const qgpu_calib_method m = qgpu_calib_method(raw);
    const bool needs_hist = m != QGPU_CALIB_MINMAX && m != QGPU_CALIB_MINMAX_ASYMMETRIC;
    if (needs_hist && !histogram_complete()) {
        if (!histogram_pass_)
            return failf(QGPU_ERROR_INVALID_ARGUMENT,
                         "method %s needs the histogram pass: call "
                         "qgpu_calibrator_begin_histogram() and observe the same data again",
                         qgpu_calib_method_name(m));
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "the histogram pass saw %llu of the %llu values of the range pass: feed the "
                     "same data in both passes",
                     (unsigned long long)hist_count_, (unsigned long long)count_);
    }
    if (o.kl_variant != QGPU_KL_NCNN && o.kl_variant != QGPU_KL_NCNN2018)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "unknown KL variant %d", int(o.kl_variant));
    if ((m == QGPU_CALIB_PERCENTILE || m == QGPU_CALIB_AUTO) &&
        !(o.percentile > 0.0 && o.percentile <= 100.0))
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "percentile must be in (0, 100] (got %g)",
                     o.percentile);

    auto symmetric = [&](qgpu_calib_method method, double t) {
        qgpu_calib_result x = *r;
        x.method = method;
        x.threshold = float(t);
        x.quant = {t > 0.0 ? float(t / 127.0) : 1.0f, 0};
        if (!(x.quant.scale > 0.0f)) x.quant.scale = 1.0f;  // t below float's range
        x.mse = x.clipped_fraction = -1.0;
        if (histogram_complete())
            estimate_error(double(x.quant.scale), -127, 127, &x.mse, &x.clipped_fraction);
        return x;
    };
    auto asymmetric = [&]() {
        qgpu_calib_result x = *r;
        x.method = QGPU_CALIB_MINMAX_ASYMMETRIC;
        const double lo = std::min(double(min_), 0.0), hi = std::max(double(max_), 0.0);
        x.threshold = float(std::max(-lo, hi));
        if (hi > lo && float((hi - lo) / 255.0) > 0.0f) {
            const float scale = float((hi - lo) / 255.0);
            double zp = -128.0 - std::round(lo / double(scale));
            zp = std::min(127.0, std::max(-128.0, zp));
            x.quant = {scale, int32_t(zp)};
        } else {
            x.quant = {1.0f, 0};
        }
        x.mse = x.clipped_fraction = -1.0;
        if (histogram_complete())
            estimate_error(double(x.quant.scale), -128 - x.quant.zero_point,
                           127 - x.quant.zero_point, &x.mse, &x.clipped_fraction);
        return x;
    };

    switch (m) {
        case QGPU_CALIB_MINMAX: *r = symmetric(m, threshold_minmax()); break;
        case QGPU_CALIB_MINMAX_ASYMMETRIC: *r = asymmetric(); break;
        case QGPU_CALIB_KL: *r = symmetric(m, threshold_kl(o.kl_count_zeros != 0, o.kl_variant)); break;
        case QGPU_CALIB_PERCENTILE: *r = symmetric(m, threshold_percentile(o.percentile)); break;
        case QGPU_CALIB_MSE: *r = symmetric(m, threshold_mse()); break;
        case QGPU_CALIB_AUTO: {
            // candidates in order of preference; a later one must be strictly better
            qgpu_calib_result c[5] = {
                symmetric(QGPU_CALIB_MINMAX, threshold_minmax()),
                symmetric(QGPU_CALIB_PERCENTILE, threshold_percentile(o.percentile)),
                symmetric(QGPU_CALIB_MSE, threshold_mse()),
                symmetric(QGPU_CALIB_KL, threshold_kl(o.kl_count_zeros != 0, o.kl_variant)),
                asymmetric(),
            };
            const int n = o.auto_asymmetric ? 5 : 4;
            int best = 0;
            for (int i = 1; i < n; ++i)
                if (c[i].mse < c[best].mse) best = i;
            *r = c[best];
            break;
        }
        default: break;  // rejected above
    }
    return QGPU_OK;
}

double quantize_weights(const float* w, int32_t out_c, size_t per_channel, bool per_tensor,
                        int8_t* q, float* scales) {
    float tensor_max = 0.0f;
    if (per_tensor)
        for (size_t i = 0; i < size_t(out_c) * per_channel; ++i)
            tensor_max = std::max(tensor_max, std::fabs(w[i]));
    double signal = 0.0, noise = 0.0;
    for (int32_t c = 0; c < out_c; ++c) {
        const float* wc = w + size_t(c) * per_channel;
        float max_abs = tensor_max;
        if (!per_tensor)
            for (size_t i = 0; i < per_channel; ++i) max_abs = std::max(max_abs, std::fabs(wc[i]));
        // exactly qgpu_conv_create's rule (src/core/conv_plan.cpp quantize_weights)
        const float scale = max_abs > 0.0f ? max_abs / 127.0f : 1.0f;
        const float inv = 1.0f / scale;
        for (size_t i = 0; i < per_channel; ++i) {
            const int32_t v =
                arith::quantize_value(wc[i], inv, 0, -arith::kWeightMax, arith::kWeightMax);
            if (q) q[size_t(c) * per_channel + i] = int8_t(v);
            const double e = double(wc[i]) - double(arith::dequantize_value(v, scale, 0));
            signal += double(wc[i]) * double(wc[i]);
            noise += e * e;
        }
        if (scales) scales[c] = scale;
    }
    if (noise == 0.0) return HUGE_VAL;
    return 10.0 * std::log10(signal / noise);
}

}  // namespace calib
}  // namespace qgpu
