/* The header compiles as strict C99 and the library runs a convolution from C. */
#include <stdio.h>
#include <string.h>

#include "qgpu.h"

int main(void) {
    qgpu_context_desc cd;
    qgpu_context ctx = NULL;
    qgpu_conv_desc d;
    qgpu_conv conv = NULL;
    float weights[2 * 1 * 3 * 3], input[1 * 1 * 4 * 4], output[1 * 2 * 4 * 4];
    int i;

    qgpu_context_desc_init(&cd);
    cd.backend = QGPU_BACKEND_CPU;
    if (qgpu_context_create(&cd, &ctx) != QGPU_OK) {
        fprintf(stderr, "context: %s\n", qgpu_last_error());
        return 1;
    }
    for (i = 0; i < 18; ++i) weights[i] = (i % 2) ? 0.5f : -0.25f;
    for (i = 0; i < 16; ++i) input[i] = (float)i / 16.0f;
    qgpu_conv_desc_init(&d);
    d.in_channels = 1; d.out_channels = 2; d.in_h = 4; d.in_w = 4;
    d.kernel_h = d.kernel_w = 3;
    d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
    d.weights = weights;
    d.input_quant.scale = 1.0f / 127.0f;
    d.output_quant.scale = 2.0f / 127.0f;
    d.output_dtype = QGPU_DTYPE_INT8;
    d.activation = QGPU_ACTIVATION_RELU;
    if (qgpu_conv_create(ctx, &d, &conv) != QGPU_OK ||
        qgpu_conv_run_host(conv, 1, input, 16, output, 32) != QGPU_OK) {
        fprintf(stderr, "conv: %s\n", qgpu_last_error());
        return 1;
    }
    for (i = 0; i < 32; ++i)
        if (output[i] < 0.0f) return 2; /* ReLU */
    /* a misuse is reported, not crashed on */
    if (qgpu_conv_run_host(conv, 1, input, 15, output, 32) != QGPU_ERROR_INVALID_ARGUMENT ||
        strlen(qgpu_last_error()) == 0)
        return 3;
    qgpu_conv_destroy(conv);
    qgpu_context_destroy(ctx);
    printf("qgpu %s: C API ok, out[5] = %g\n", qgpu_version_string(), output[5]);
    return 0;
}
