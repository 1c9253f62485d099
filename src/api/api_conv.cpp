// Convolution layers: create (validate + quantize + pack), run on tensors, run from host floats.
#include <cstring>

#include "api/objects.h"

using namespace qgpu;

namespace qgpu {

Status check_conv(const qgpu_conv_t* conv) {
    if (!conv) return fail(QGPU_ERROR_INVALID_ARGUMENT, "conv is NULL");
    if (conv->magic != kConvMagic)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "conv handle is invalid or destroyed");
    return QGPU_OK;
}

}  // namespace qgpu

namespace {

bool same_quant(const qgpu_quant& a, const qgpu_quant& b) {
    return a.scale == b.scale && a.zero_point == b.zero_point;
}

const char* dtype_name(qgpu_dtype d) { return d == QGPU_DTYPE_INT8 ? "int8" : "float32"; }

Status check_run_tensors(const qgpu_conv_t* conv, const qgpu_tensor_t* in, const qgpu_tensor_t* out) {
    QGPU_TRY(check_tensor(in, "input"));
    QGPU_TRY(check_tensor(out, "output"));
    if (in->device != conv->device || out->device != conv->device)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "tensors and conv belong to different contexts");
    if (in == out) return fail(QGPU_ERROR_INVALID_ARGUMENT, "input and output must differ");
    const ConvShape& s = conv->shape;
    const TensorDesc& i = in->desc;
    const TensorDesc& o = out->desc;
    if (i.c != s.in_c || i.h != s.in_h || i.w != s.in_w)
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "input is %dx%dx%d (CxHxW), the conv expects %dx%dx%d", i.c, i.h, i.w,
                     s.in_c, s.in_h, s.in_w);
    if (o.n != i.n || o.c != s.out_c || o.h != s.out_h || o.w != s.out_w)
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "output is %dx%dx%dx%d (NCHW), the conv produces %dx%dx%dx%d", o.n, o.c,
                     o.h, o.w, i.n, s.out_c, s.out_h, s.out_w);
    const qgpu_dtype in_dtype =
        conv->precision == QGPU_PRECISION_INT8 ? QGPU_DTYPE_INT8 : QGPU_DTYPE_FLOAT32;
    if (i.dtype != in_dtype)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "input must be a %s tensor (got %s)%s",
                     dtype_name(in_dtype), dtype_name(i.dtype),
                     in_dtype == QGPU_DTYPE_INT8
                         ? "; quantize float input with qgpu_tensor_write_f32 into an int8 "
                           "tensor, or use qgpu_conv_run_host"
                         : "");
    if (o.dtype != conv->output_dtype)
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "output must be a %s tensor (got %s)",
                     dtype_name(conv->output_dtype), dtype_name(o.dtype));
    if (in_dtype == QGPU_DTYPE_INT8 && !same_quant(i.quant, conv->input_quant))
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "input tensor quant (scale %g, zero point %d) differs from the conv's "
                     "input_quant (scale %g, zero point %d)", double(i.quant.scale),
                     i.quant.zero_point, double(conv->input_quant.scale),
                     conv->input_quant.zero_point);
    if (o.dtype == QGPU_DTYPE_INT8 && !same_quant(o.quant, conv->output_quant))
        return failf(QGPU_ERROR_INVALID_ARGUMENT,
                     "output tensor quant (scale %g, zero point %d) differs from the conv's "
                     "output_quant (scale %g, zero point %d)", double(o.quant.scale),
                     o.quant.zero_point, double(conv->output_quant.scale),
                     conv->output_quant.zero_point);
    return QGPU_OK;
}

bool product4(size_t a, size_t b, size_t c, size_t d, size_t* out) {
    return !__builtin_mul_overflow(a, b, out) && !__builtin_mul_overflow(*out, c, out) &&
           !__builtin_mul_overflow(*out, d, out) && *out <= (size_t(1) << 46);
}

void release_scratch(qgpu_conv_t* conv) {
    destroy_tensor(conv->scratch.input);
    destroy_tensor(conv->scratch.output);
    conv->scratch = {};
}

Status ensure_scratch(qgpu_conv_t* conv, int32_t n) {
    if (conv->scratch.n == n) return QGPU_OK;
    release_scratch(conv);
    TensorDesc in;
    in.dtype = conv->precision == QGPU_PRECISION_INT8 ? QGPU_DTYPE_INT8 : QGPU_DTYPE_FLOAT32;
    in.n = n; in.c = conv->shape.in_c; in.h = conv->shape.in_h; in.w = conv->shape.in_w;
    in.quant = conv->input_quant;
    TensorDesc out;
    out.dtype = conv->output_dtype;
    out.n = n; out.c = conv->shape.out_c; out.h = conv->shape.out_h; out.w = conv->shape.out_w;
    out.quant = conv->output_quant;
    QGPU_TRY(create_tensor(conv->device, in, &conv->scratch.input));
    Status st = create_tensor(conv->device, out, &conv->scratch.output);
    if (st != QGPU_OK) { release_scratch(conv); return st; }
    conv->scratch.n = n;
    return QGPU_OK;
}

}  // namespace

extern "C" {

void qgpu_conv_desc_init(qgpu_conv_desc* d) {
    if (!d) return;
    std::memset(d, 0, sizeof *d);
    d->struct_size = sizeof *d;
    d->precision = QGPU_PRECISION_INT8;
    d->kernel_h = d->kernel_w = 1;
    d->stride_h = d->stride_w = 1;
    d->dilation_h = d->dilation_w = 1;
    d->groups = 1;
    d->input_quant.scale = 1.0f;
    d->output_quant.scale = 1.0f;
    d->output_dtype = QGPU_DTYPE_FLOAT32;
}

qgpu_status qgpu_conv_create(qgpu_context ctx, const qgpu_conv_desc* desc, qgpu_conv* out) {
    return guarded([&] {
        if (!out) return fail(QGPU_ERROR_INVALID_ARGUMENT, "out is NULL");
        *out = nullptr;
        QGPU_TRY(check_context(ctx));
        if (!desc) return fail(QGPU_ERROR_INVALID_ARGUMENT, "desc is NULL");
        ConvPlan plan;
        QGPU_TRY(build_conv_plan(*desc, &plan));
        auto conv = std::make_unique<qgpu_conv_t>();
        QGPU_TRY(ctx->device->create_conv(plan, &conv->kernel));
        conv->device = ctx->device;
        conv->shape = plan.shape;
        conv->precision = plan.precision;
        conv->input_quant = plan.input_quant;
        conv->output_quant = plan.output_quant;
        conv->output_dtype = plan.output_dtype;
        conv->weight_scales = plan.weight_scales;
        *out = conv.release();
        return QGPU_OK;
    });
}

void qgpu_conv_destroy(qgpu_conv conv) {
    if (!conv || conv->magic != kConvMagic) return;
    release_scratch(conv);
    conv->magic = kDeadMagic;
    delete conv;
}

qgpu_status qgpu_conv_get_output_shape(qgpu_conv conv, int32_t out_shape[3]) {
    QGPU_TRY(check_conv(conv));
    if (!out_shape) return fail(QGPU_ERROR_INVALID_ARGUMENT, "out_shape is NULL");
    out_shape[0] = conv->shape.out_c;
    out_shape[1] = conv->shape.out_h;
    out_shape[2] = conv->shape.out_w;
    return QGPU_OK;
}

qgpu_status qgpu_conv_get_weight_scales(qgpu_conv conv, float* scales, size_t count) {
    QGPU_TRY(check_conv(conv));
    if (conv->precision != QGPU_PRECISION_INT8)
        return fail(QGPU_ERROR_INVALID_ARGUMENT, "a FLOAT32 conv has no weight scales");
    if (!scales) return fail(QGPU_ERROR_INVALID_ARGUMENT, "scales is NULL");
    if (count != conv->weight_scales.size())
        return failf(QGPU_ERROR_INVALID_ARGUMENT, "count %zu != out_channels %zu", count,
                     conv->weight_scales.size());
    std::memcpy(scales, conv->weight_scales.data(), count * sizeof(float));
    return QGPU_OK;
}

qgpu_status qgpu_conv_run(qgpu_conv conv, qgpu_tensor input, qgpu_tensor output) {
    return guarded([&] {
        QGPU_TRY(check_conv(conv));
        QGPU_TRY(check_run_tensors(conv, input, output));
        return conv->kernel->run(TensorRef{input->desc, input->buffer.get()},
                                 TensorRef{output->desc, output->buffer.get()});
    });
}

qgpu_status qgpu_conv_run_host(qgpu_conv conv, int32_t n, const float* input, size_t input_count,
                               float* output, size_t output_count) {
    return guarded([&] {
        QGPU_TRY(check_conv(conv));
        if (n <= 0) return failf(QGPU_ERROR_INVALID_ARGUMENT, "batch n must be > 0 (got %d)", n);
        if (!input || !output) return fail(QGPU_ERROR_INVALID_ARGUMENT, "input/output is NULL");
        const ConvShape& s = conv->shape;
        size_t want_in = 0, want_out = 0;
        if (!product4(n, s.in_c, s.in_h, s.in_w, &want_in) ||
            !product4(n, s.out_c, s.out_h, s.out_w, &want_out))
            return failf(QGPU_ERROR_INVALID_ARGUMENT, "batch %d is too large (size overflows)", n);
        if (input_count != want_in || output_count != want_out)  // before allocating anything
            return failf(QGPU_ERROR_INVALID_ARGUMENT,
                         "input_count %zu / output_count %zu do not match n*C*H*W = %zu / %zu",
                         input_count, output_count, want_in, want_out);
        QGPU_TRY(ensure_scratch(conv, n));
        QGPU_TRY(qgpu_tensor_write_f32(conv->scratch.input, input, input_count));
        QGPU_TRY(qgpu_conv_run(conv, conv->scratch.input, conv->scratch.output));
        return qgpu_tensor_read_f32(conv->scratch.output, output, output_count);
    });
}

}  // extern "C"
