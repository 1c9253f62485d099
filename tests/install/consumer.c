/* Built outside the tree against the installed qgpu (pkg-config and find_package). */
#include <stdio.h>

#include <qgpu.h>

int main(void) {
    qgpu_context ctx = NULL;
    qgpu_conv_desc d;
    qgpu_conv conv = NULL;
    float w[4] = {1.0f, -1.0f, 0.5f, 0.25f}, x[4] = {0.5f, -0.5f, 0.25f, 1.0f}, y[4];
    if (qgpu_context_create(NULL, &ctx) != QGPU_OK) return 1;
    qgpu_conv_desc_init(&d);
    d.in_channels = 1; d.out_channels = 1; d.in_h = 2; d.in_w = 2;
    d.weights = w;
    d.input_quant.scale = 1.0f / 127.0f;
    if (qgpu_conv_create(ctx, &d, &conv) != QGPU_OK || qgpu_conv_run_host(conv, 1, x, 4, y, 4) != QGPU_OK) {
        fprintf(stderr, "%s\n", qgpu_last_error());
        return 1;
    }
    printf("consumer: qgpu %s, y = %.4f %.4f %.4f %.4f\n", qgpu_version_string(), y[0], y[1], y[2], y[3]);
    qgpu_conv_destroy(conv);
    qgpu_context_destroy(ctx);
    return 0;
}
