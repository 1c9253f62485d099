// Version, status text and the exported quantization arithmetic.
#include <cmath>
#include <cstring>

#include "api/objects.h"
#include "core/requant.h"

using namespace qgpu;

#define QGPU_STR2(x) #x
#define QGPU_STR(x) QGPU_STR2(x)

extern "C" {

uint32_t qgpu_version(void) { return QGPU_VERSION; }

const char* qgpu_version_string(void) {
    return QGPU_STR(QGPU_VERSION_MAJOR) "." QGPU_STR(QGPU_VERSION_MINOR) "." QGPU_STR(
        QGPU_VERSION_PATCH);
}

const char* qgpu_last_error(void) { return last_error_message(); }

const char* qgpu_status_name(qgpu_status status) {
    switch (status) {
        case QGPU_OK: return "QGPU_OK";
        case QGPU_ERROR_INVALID_ARGUMENT: return "QGPU_ERROR_INVALID_ARGUMENT";
        case QGPU_ERROR_UNSUPPORTED: return "QGPU_ERROR_UNSUPPORTED";
        case QGPU_ERROR_UNAVAILABLE: return "QGPU_ERROR_UNAVAILABLE";
        case QGPU_ERROR_OUT_OF_MEMORY: return "QGPU_ERROR_OUT_OF_MEMORY";
        case QGPU_ERROR_DEVICE_LOST: return "QGPU_ERROR_DEVICE_LOST";
        case QGPU_ERROR_DEVICE: return "QGPU_ERROR_DEVICE";
        case QGPU_ERROR_IO: return "QGPU_ERROR_IO";
        case QGPU_ERROR_FORMAT: return "QGPU_ERROR_FORMAT";
        case QGPU_ERROR_INTERNAL: return "QGPU_ERROR_INTERNAL";
        default: break;
    }
    return "?";
}

qgpu_status qgpu_quantize_multiplier(double multiplier, int32_t* m0, int32_t* shift) {
    if (!m0 || !shift) return fail(QGPU_ERROR_INVALID_ARGUMENT, "m0 and shift must not be NULL");
    if (!arith::quantize_multiplier(multiplier, m0, shift))
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "multiplier %g must be finite and in [0, 2^30)", multiplier);
    return QGPU_OK;
}

int32_t qgpu_requantize(int32_t acc, int32_t m0, int32_t shift) {
    if (shift > 30) shift = 30;  // the range quantize_multiplier produces
    if (shift < -31) shift = -31;
    return arith::requantize(acc, m0, shift);
}

static Status check_quant_arg(const qgpu_quant& q) {
    if (!(q.scale > 0.0f) || !std::isfinite(q.scale))
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "scale must be finite and > 0 (got %g)",
                     double(q.scale));
    if (q.zero_point < -128 || q.zero_point > 127)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "zero point must be in [-128, 127] (got %d)",
                     q.zero_point);
    return QGPU_OK;
}

qgpu_status qgpu_quantize(const float* x, size_t count, qgpu_quant quant, int8_t* q) {
    if ((!x || !q) && count) return fail(QGPU_ERROR_INVALID_ARGUMENT, "x and q must not be NULL");
    QGPU_TRY(check_quant_arg(quant));
    const float inv = 1.0f / quant.scale;
    for (size_t i = 0; i < count; ++i) q[i] = int8_t(arith::quantize_value(x[i], inv, quant.zero_point));
    return QGPU_OK;
}

qgpu_status qgpu_dequantize(const int8_t* q, size_t count, qgpu_quant quant, float* x) {
    if ((!x || !q) && count) return fail(QGPU_ERROR_INVALID_ARGUMENT, "x and q must not be NULL");
    QGPU_TRY(check_quant_arg(quant));
    for (size_t i = 0; i < count; ++i) x[i] = arith::dequantize_value(q[i], quant.scale, quant.zero_point);
    return QGPU_OK;
}

}  // extern "C"
