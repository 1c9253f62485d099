// C entry points of the quantization toolkit: calibrators, weight quantization report, ncnn
// calibration tables.
#include <cmath>
#include <cstring>
#include <memory>

#include "api/objects.h"
#include "core/calibration.h"
#include "core/ncnn_table.h"

using namespace qgpu;

namespace {
constexpr uint32_t kCalibratorMagic = 0x5143414c;  // "QCAL"
constexpr uint32_t kTableMagic = 0x5154424c;       // "QTBL"
}  // namespace

struct qgpu_calibrator_t {
    uint32_t magic = kCalibratorMagic;
    calib::Calibrator impl;
    explicit qgpu_calibrator_t(int bins) : impl(bins) {}
};

struct qgpu_table_t {
    uint32_t magic = kTableMagic;
    NcnnTable impl;
};

namespace {

Status check_calibrator(const qgpu_calibrator_t* c) {
    if (!c) return fail(QGPU_ERROR_INVALID_ARGUMENT, "calibrator is NULL");
    if (c->magic != kCalibratorMagic)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "calibrator is not a live qgpu_calibrator");
    return QGPU_OK;
}

Status check_table(const qgpu_table_t* t) {
    if (!t) return fail(QGPU_ERROR_INVALID_ARGUMENT, "table is NULL");
    if (t->magic != kTableMagic)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "table is not a live qgpu_table");
    return QGPU_OK;
}

Status check_name(const char* name, const char* what) {
    if (!name) return failf(QGPU_ERROR_INVALID_ARGUMENT, "%s is NULL", what);
    return QGPU_OK;
}

// Reads a caller's options struct of any known size (older callers: shorter).
Status read_options(const qgpu_calib_options* in, qgpu_calib_options* out) {
    qgpu_calib_options_init(out);
    if (!in) return QGPU_OK;
    if (in->struct_size < offsetof(qgpu_calib_options, percentile) || in->struct_size > sizeof *out)
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "qgpu_calib_options.struct_size is %u: call qgpu_calib_options_init()",
                     in->struct_size);
    std::memcpy(out, in, in->struct_size);
    out->struct_size = sizeof *out;
    return QGPU_OK;
}

template <typename T>
Status copy_out(const T& src, T* dst, size_t min_size, const char* type) {
    const uint32_t size = dst->struct_size;
    if (size < min_size)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "%s.struct_size is %u: call %s_init()", type, size, type);
    std::memcpy(dst, &src, std::min<size_t>(size, sizeof src));
    dst->struct_size = size;
    return QGPU_OK;
}

Status check_weights(const float* w, int32_t out_c, size_t per_channel) {
    if (!w) return fail(QGPU_ERROR_INVALID_ARGUMENT, "weights is NULL");
    if (out_c <= 0 || per_channel == 0)
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "out_channels (%d) and per_channel (%zu) must be positive", out_c, per_channel);
    if (per_channel > (size_t(1) << 40) / size_t(out_c))
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "weights: out_channels * per_channel overflows");
    const size_t n = size_t(out_c) * per_channel;
    for (size_t i = 0; i < n; ++i)
        if (!std::isfinite(w[i]))
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "weights[%zu] is %s: weights must be finite", i,
                         std::isnan(w[i]) ? "NaN" : "infinite");
    return QGPU_OK;
}

}  // namespace

extern "C" {

void qgpu_calib_options_init(qgpu_calib_options* o) {
    if (!o) return;
    std::memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->method = QGPU_CALIB_AUTO;
    o->percentile = 99.99;
    o->kl_count_zeros = 0;
    o->auto_asymmetric = 0;
}

void qgpu_calib_result_init(qgpu_calib_result* r) {
    if (!r) return;
    std::memset(r, 0, sizeof *r);
    r->struct_size = sizeof *r;
    r->quant = {1.0f, 0};
    r->mse = r->clipped_fraction = -1.0;
}

void qgpu_calib_stats_init(qgpu_calib_stats* s) {
    if (!s) return;
    std::memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
}

const char* qgpu_calib_method_name(qgpu_calib_method method) {
    switch (method) {
        case QGPU_CALIB_MINMAX: return "minmax";
        case QGPU_CALIB_MINMAX_ASYMMETRIC: return "minmax_asymmetric";
        case QGPU_CALIB_KL: return "kl";
        case QGPU_CALIB_PERCENTILE: return "percentile";
        case QGPU_CALIB_MSE: return "mse";
        case QGPU_CALIB_AUTO: return "auto";
        default: break;
    }
    return "?";
}

qgpu_status qgpu_calibrator_create(int32_t bins, qgpu_calibrator* out) {
    return guarded([&]() -> Status {
        if (!out) return fail(QGPU_ERROR_INVALID_ARGUMENT, "out is NULL");
        *out = nullptr;
        if (bins == 0) bins = calib::kDefaultBins;
        if (bins < calib::kMinBins || bins > calib::kMaxBins)
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "histogram_bins %d: must be 0 or in [%d, %d]",
                         bins, calib::kMinBins, calib::kMaxBins);
        *out = new qgpu_calibrator_t(bins);
        return QGPU_OK;
    });
}

void qgpu_calibrator_destroy(qgpu_calibrator c) {
    if (!c || c->magic != kCalibratorMagic) return;
    c->magic = kDeadMagic;
    delete c;
}

qgpu_status qgpu_calibrator_observe(qgpu_calibrator c, const float* data, size_t count) {
    QGPU_TRY(check_calibrator(c));
    if (count == 0) return fail(QGPU_ERROR_INVALID_ARGUMENT, "empty batch: count is 0");
    if (!data) return fail(QGPU_ERROR_INVALID_ARGUMENT, "data is NULL");
    return guarded([&] { return c->impl.observe(data, count); });
}

qgpu_status qgpu_calibrator_begin_histogram(qgpu_calibrator c) {
    QGPU_TRY(check_calibrator(c));
    return c->impl.begin_histogram();
}

qgpu_status qgpu_calibrator_get_stats(qgpu_calibrator c, qgpu_calib_stats* stats) {
    QGPU_TRY(check_calibrator(c));
    if (!stats) return fail(QGPU_ERROR_INVALID_ARGUMENT, "stats is NULL");
    qgpu_calib_stats s;
    qgpu_calib_stats_init(&s);
    c->impl.stats(&s);
    return copy_out(s, stats, sizeof s, "qgpu_calib_stats");
}

qgpu_status qgpu_calibrator_compute(qgpu_calibrator c, const qgpu_calib_options* options,
                                    qgpu_calib_result* result) {
    QGPU_TRY(check_calibrator(c));
    if (!result) return fail(QGPU_ERROR_INVALID_ARGUMENT, "result is NULL");
    qgpu_calib_options o;
    QGPU_TRY(read_options(options, &o));
    return guarded([&]() -> Status {
        qgpu_calib_result r;
        qgpu_calib_result_init(&r);
        QGPU_TRY(c->impl.compute(o, &r));
        return copy_out(r, result, sizeof r, "qgpu_calib_result");
    });
}

qgpu_status qgpu_quantize_weights(const float* weights, int32_t out_channels, size_t per_channel,
                                  int32_t per_tensor, int8_t* weights_int8, float* scales) {
    QGPU_TRY(check_weights(weights, out_channels, per_channel));
    if (!weights_int8 || !scales)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "weights_int8 and scales must not be NULL");
    calib::quantize_weights(weights, out_channels, per_channel, per_tensor != 0, weights_int8, scales);
    return QGPU_OK;
}

qgpu_status qgpu_weights_quantization_sqnr(const float* weights, int32_t out_channels,
                                           size_t per_channel, int32_t per_tensor, double* sqnr_db) {
    QGPU_TRY(check_weights(weights, out_channels, per_channel));
    if (!sqnr_db) return fail(QGPU_ERROR_INVALID_ARGUMENT, "sqnr_db is NULL");
    *sqnr_db = calib::quantize_weights(weights, out_channels, per_channel, per_tensor != 0, nullptr,
                                       nullptr);
    return QGPU_OK;
}

qgpu_status qgpu_table_create(qgpu_table* out) {
    return guarded([&]() -> Status {
        if (!out) return fail(QGPU_ERROR_INVALID_ARGUMENT, "out is NULL");
        *out = new qgpu_table_t();
        return QGPU_OK;
    });
}

void qgpu_table_destroy(qgpu_table t) {
    if (!t || t->magic != kTableMagic) return;
    t->magic = kDeadMagic;
    delete t;
}

qgpu_status qgpu_table_load(const char* path, qgpu_table* out) {
    return guarded([&]() -> Status {
        if (!out) return fail(QGPU_ERROR_INVALID_ARGUMENT, "out is NULL");
        *out = nullptr;
        QGPU_TRY(check_name(path, "path"));
        std::unique_ptr<qgpu_table_t> t(new qgpu_table_t());
        QGPU_TRY(t->impl.load(path));
        *out = t.release();
        return QGPU_OK;
    });
}

qgpu_status qgpu_table_save(qgpu_table t, const char* path) {
    QGPU_TRY(check_table(t));
    QGPU_TRY(check_name(path, "path"));
    return guarded([&] { return t->impl.save(path); });
}

qgpu_status qgpu_table_get_counts(qgpu_table t, size_t* weight_layers, size_t* activations) {
    QGPU_TRY(check_table(t));
    if (weight_layers) *weight_layers = t->impl.weights().size();
    if (activations) *activations = t->impl.activations().size();
    return QGPU_OK;
}

qgpu_status qgpu_table_get_name(qgpu_table t, int32_t is_activation, size_t index, const char** name) {
    QGPU_TRY(check_table(t));
    if (!name) return fail(QGPU_ERROR_INVALID_ARGUMENT, "name is NULL");
    const auto& list = is_activation ? t->impl.activations() : t->impl.weights();
    if (index >= list.size())
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "index %zu: the table has %zu %s entries", index,
                     list.size(), is_activation ? "activation" : "weight");
    *name = list[index].name.c_str();
    return QGPU_OK;
}

qgpu_status qgpu_table_get_weight_scales(qgpu_table t, const char* layer, float* scales,
                                         size_t capacity, size_t* count) {
    QGPU_TRY(check_table(t));
    QGPU_TRY(check_name(layer, "layer"));
    if (!count) return fail(QGPU_ERROR_INVALID_ARGUMENT, "count is NULL");
    if (!scales && capacity) return fail(QGPU_ERROR_INVALID_ARGUMENT, "scales is NULL");
    return guarded([&]() -> Status {
        const NcnnTable::Entry* e = t->impl.find_weights(layer);
        if (!e) return failf(QGPU_ERROR_INVALID_ARGUMENT, "no weight scales for layer '%s'", layer);
        *count = e->scales.size();
        const size_t n = std::min(capacity, e->scales.size());
        if (n) std::memcpy(scales, e->scales.data(), n * sizeof(float));
        return QGPU_OK;
    });
}

qgpu_status qgpu_table_set_weight_scales(qgpu_table t, const char* layer, const float* scales,
                                         size_t count) {
    QGPU_TRY(check_table(t));
    QGPU_TRY(check_name(layer, "layer"));
    return guarded([&] { return t->impl.set_weights(layer, scales, count); });
}

qgpu_status qgpu_table_get_activation_scale(qgpu_table t, const char* name, float* scale) {
    QGPU_TRY(check_table(t));
    QGPU_TRY(check_name(name, "name"));
    if (!scale) return fail(QGPU_ERROR_INVALID_ARGUMENT, "scale is NULL");
    return guarded([&]() -> Status {
        const NcnnTable::Entry* e = t->impl.find_activation(name);
        if (!e) return failf(QGPU_ERROR_INVALID_ARGUMENT, "no activation scale for '%s'", name);
        *scale = e->scales[0];
        return QGPU_OK;
    });
}

qgpu_status qgpu_table_set_activation_scale(qgpu_table t, const char* name, float scale) {
    QGPU_TRY(check_table(t));
    QGPU_TRY(check_name(name, "name"));
    return guarded([&] { return t->impl.set_activation(name, scale); });
}

qgpu_status qgpu_table_get_activation_quant(qgpu_table t, const char* name, qgpu_quant* quant) {
    if (!quant) return fail(QGPU_ERROR_INVALID_ARGUMENT, "quant is NULL");
    float s = 0.0f;
    QGPU_TRY(qgpu_table_get_activation_scale(t, name, &s));
    const float q = 1.0f / s;
    if (!(s > 0.0f) || !std::isfinite(q))
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "activation '%s' has ncnn scale %g, which gives no usable qgpu scale", name,
                     double(s));
    *quant = {q, 0};
    return QGPU_OK;
}

}  // extern "C"
