// Networks: the C face of src/model/net.h.
#include <algorithm>
#include <cstring>
#include <string>

#include "api/objects.h"
#include "model/net.h"
#include "model/onnx_import.h"

using namespace qgpu;

struct qgpu_net_t {
    uint32_t magic = 0x514e4554;  // "QNET"
    std::unique_ptr<model::Net> net;
};

namespace {
Status check_net(const qgpu_net_t* n) {
    if (!n) return fail(QGPU_ERROR_INVALID_ARGUMENT, "net is NULL");
    if (n->magic != 0x514e4554) return fail(QGPU_ERROR_INVALID_ARGUMENT, "net handle is invalid or destroyed");
    return QGPU_OK;
}
Status check_blob(const char* blob) {
    return blob ? QGPU_OK : fail(QGPU_ERROR_INVALID_ARGUMENT, "blob name is NULL");
}
}  // namespace

extern "C" {

void qgpu_net_desc_init(qgpu_net_desc* d) {
    if (!d) return;
    std::memset(d, 0, sizeof *d);
    d->struct_size = sizeof *d;
    d->precision = QGPU_PRECISION_INT8;
    d->batch = 1;
}

qgpu_status qgpu_net_create(qgpu_context ctx, const qgpu_net_desc* d, qgpu_net* out) {
    return guarded([&] {
        if (!out) return fail(QGPU_ERROR_INVALID_ARGUMENT, "out is NULL");
        *out = nullptr;
        QGPU_TRY(check_context(ctx));
        if (!d) return fail(QGPU_ERROR_INVALID_ARGUMENT, "desc is NULL");
        if (d->struct_size < sizeof(qgpu_net_desc))
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "qgpu_net_desc.struct_size is %u: call qgpu_net_desc_init()",
                         d->struct_size);
        if (!d->param_path) return fail(QGPU_ERROR_INVALID_ARGUMENT, "param_path is required");
        if (!model::is_onnx_path(d->param_path) && !d->bin_path)
            return fail(QGPU_ERROR_INVALID_ARGUMENT, "bin_path is required for an ncnn model");
        if (d->precision != QGPU_PRECISION_INT8 && d->precision != QGPU_PRECISION_FLOAT32)
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "unknown precision %d", int(d->precision));
        if (d->float_layer_count < 0 || (d->float_layer_count > 0 && !d->float_layers))
            return fail(QGPU_ERROR_INVALID_ARGUMENT, "float_layers is NULL or float_layer_count < 0");
        model::NetOptions o;
        o.param_path = d->param_path;
        if (d->bin_path) o.bin_path = d->bin_path;
        if (d->table_path) o.table_path = d->table_path;
        o.precision = d->precision;
        o.batch = d->batch;
        o.table = d->table;
        for (int32_t i = 0; i < d->float_layer_count; ++i) {
            if (!d->float_layers[i]) return fail(QGPU_ERROR_INVALID_ARGUMENT, "float_layers has a NULL name");
            o.float_layers.emplace_back(d->float_layers[i]);
        }
        auto n = std::make_unique<qgpu_net_t>();
        QGPU_TRY(model::Net::create(ctx->device, o, &n->net));
        *out = n.release();
        return QGPU_OK;
    });
}

void qgpu_net_destroy(qgpu_net n) {
    if (!n || n->magic != 0x514e4554) return;
    n->magic = 0;
    delete n;
}

qgpu_status qgpu_net_get_blob_shape(qgpu_net n, const char* blob, int32_t shape[4]) {
    return guarded([&] {
        QGPU_TRY(check_net(n));
        QGPU_TRY(check_blob(blob));
        if (!shape) return fail(QGPU_ERROR_INVALID_ARGUMENT, "shape is NULL");
        return n->net->shape(blob, shape);
    });
}

qgpu_status qgpu_net_set_input(qgpu_net n, const char* blob, const float* data, size_t count) {
    return guarded([&] {
        QGPU_TRY(check_net(n));
        QGPU_TRY(check_blob(blob));
        return n->net->set_input(blob, data, count);
    });
}

qgpu_status qgpu_net_run(qgpu_net n) {
    return guarded([&] {
        QGPU_TRY(check_net(n));
        return n->net->run();
    });
}

qgpu_status qgpu_net_get_output(qgpu_net n, const char* blob, float* data, size_t count) {
    return guarded([&] {
        QGPU_TRY(check_net(n));
        QGPU_TRY(check_blob(blob));
        return n->net->read(blob, data, count);
    });
}

qgpu_status qgpu_net_calibrate(qgpu_net n, const char* input_blob, const float* samples, size_t count,
                               const qgpu_calib_options* options, qgpu_table table) {
    return guarded([&] {
        QGPU_TRY(check_net(n));
        QGPU_TRY(check_blob(input_blob));
        if (!samples || !table) return fail(QGPU_ERROR_INVALID_ARGUMENT, "samples and table must not be NULL");
        model::Net& net = *n->net;
        int32_t shape[4];
        QGPU_TRY(net.shape(input_blob, shape));
        const size_t per_batch = size_t(shape[0]) * size_t(shape[1]) * size_t(shape[2]) * size_t(shape[3]);
        if (count == 0 || count % size_t(net.batch()) != 0)
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "count %zu must be a positive multiple of the batch %d",
                         count, net.batch());
        const auto& convs = net.conv_inputs();
        // one calibrator per distinct input blob (convs reading one blob share its statistics)
        std::vector<std::string> blobs;
        for (const auto& c : convs)
            if (std::find(blobs.begin(), blobs.end(), c.second) == blobs.end()) blobs.push_back(c.second);
        std::vector<qgpu_calibrator> calibrators(blobs.size(), nullptr);
        struct Release {
            std::vector<qgpu_calibrator>& c;
            ~Release() { for (qgpu_calibrator x : c) qgpu_calibrator_destroy(x); }
        } release{calibrators};
        for (qgpu_calibrator& c : calibrators) QGPU_TRY(qgpu_calibrator_create(0, &c));
        std::vector<float> values;
        for (int pass = 0; pass < 2; ++pass) {
            if (pass == 1)
                for (qgpu_calibrator c : calibrators) QGPU_TRY(qgpu_calibrator_begin_histogram(c));
            for (size_t first = 0; first < count; first += size_t(net.batch())) {
                QGPU_TRY(net.set_input(input_blob, samples + first / size_t(net.batch()) * per_batch, per_batch));
                QGPU_TRY(net.run());
                for (size_t b = 0; b < blobs.size(); ++b) {
                    int32_t s[4];
                    QGPU_TRY(net.shape(blobs[b], s));
                    values.resize(size_t(s[0]) * size_t(s[1]) * size_t(s[2]) * size_t(s[3]));
                    QGPU_TRY(net.read(blobs[b], values.data(), values.size()));
                    QGPU_TRY(qgpu_calibrator_observe(calibrators[b], values.data(), values.size()));
                }
            }
        }
        for (const auto& c : convs) {
            const size_t b = size_t(std::find(blobs.begin(), blobs.end(), c.second) - blobs.begin());
            qgpu_calib_result r;
            qgpu_calib_result_init(&r);
            // The default keeps the network input unclipped (MinMax): it is bounded data (pixels)
            // whose rare bright values carry the signal, the case where error-driven clipping
            // trades accuracy for MSE (Fashion-MNIST: docs/calibration.md).
            qgpu_calib_options input_options;
            qgpu_calib_options_init(&input_options);
            input_options.method = QGPU_CALIB_MINMAX;
            const bool net_input = c.second == input_blob;
            QGPU_TRY(qgpu_calibrator_compute(calibrators[b], !options && net_input ? &input_options : options, &r));
            QGPU_TRY(qgpu_table_set_activation_scale(table, c.first.c_str(), 1.0f / r.quant.scale));
        }
        return QGPU_OK;
    });
}

const char* qgpu_net_summary(qgpu_net n) {
    if (check_net(n) != QGPU_OK) return "";
    return n->net->summary().c_str();
}

}  // extern "C"
