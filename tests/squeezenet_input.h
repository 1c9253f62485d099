// SqueezeNet v1.1 input as ncnn's example prepares it: the image resized to 227x227
// (bilinear, pixel centres), BGR planes, mean (104, 117, 123) subtracted, no scaling.
#pragma once
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace squeezenet {

// Reads a binary PPM (P6, maxval 255) into RGB bytes; false on anything else.
inline bool read_ppm(const std::string& path, int* w, int* h, std::vector<unsigned char>* rgb) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    int maxval = 0;
    const bool ok = std::fscanf(f, "P6 %d %d %d", w, h, &maxval) == 3 && maxval == 255 && *w > 0 &&
                    *h > 0 && *w < 10000 && *h < 10000 && std::fgetc(f) != EOF;
    if (ok) {
        rgb->resize(size_t(*w) * size_t(*h) * 3);
        if (std::fread(rgb->data(), 1, rgb->size(), f) != rgb->size()) rgb->clear();
    }
    std::fclose(f);
    return ok && !rgb->empty();
}

inline std::vector<float> preprocess(int w, int h, const std::vector<unsigned char>& rgb, int size = 227) {
    const float mean[3] = {104.0f, 117.0f, 123.0f};  // B, G, R
    std::vector<float> out(size_t(3) * size * size);
    for (int y = 0; y < size; ++y)
        for (int x = 0; x < size; ++x) {
            const float fy = std::max(0.0f, (y + 0.5f) * h / size - 0.5f);
            const float fx = std::max(0.0f, (x + 0.5f) * w / size - 0.5f);
            const int y0 = std::min(int(fy), h - 1), x0 = std::min(int(fx), w - 1);
            const int y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
            const float ay = fy - y0, ax = fx - x0;
            for (int c = 0; c < 3; ++c) {
                auto px = [&](int yy, int xx) { return float(rgb[(size_t(yy) * w + xx) * 3 + size_t(c)]); };
                const float v = (1 - ay) * ((1 - ax) * px(y0, x0) + ax * px(y0, x1)) +
                                ay * ((1 - ax) * px(y1, x0) + ax * px(y1, x1));
                const int bgr = 2 - c;
                out[(size_t(bgr) * size + y) * size + x] = v - mean[bgr];
            }
        }
    return out;
}

}  // namespace squeezenet
