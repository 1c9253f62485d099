/*
 * qgpu — INT8 convolution on Vulkan, OpenCL and the CPU, behind one plain C ABI.
 *
 * Conventions (they hold for every function below):
 *  - Every call that can fail returns a qgpu_status; on failure a human-readable message for
 *    the calling thread is available from qgpu_last_error() until that thread's next failure.
 *  - Objects are opaque handles. Every *_create has a *_destroy; destroy(NULL) is a no-op.
 *    Nothing is freed behind the caller's back. A context outlives everything created from it.
 *  - Descriptor structs begin with `struct_size`. Fill them with the matching *_init function
 *    (which sets struct_size and the defaults) so callers built against an older header keep
 *    working when fields are appended.
 *  - Enums are 32-bit (each has a *_MAX_ENUM member); an unknown value is an error.
 *  - A context and the objects made from it are used by one thread at a time; distinct
 *    contexts are independent and may run concurrently.
 *  - Float tensors at the API are NCHW. Int8 results are byte-identical on every backend: the
 *    arithmetic is defined once, in docs/quantization.md.
 */
#ifndef QGPU_H
#define QGPU_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(QGPU_BUILDING)
#    define QGPU_API __declspec(dllexport)
#  elif defined(QGPU_SHARED)
#    define QGPU_API __declspec(dllimport)
#  else
#    define QGPU_API
#  endif
#elif defined(__GNUC__)
#  define QGPU_API __attribute__((visibility("default")))
#else
#  define QGPU_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ------------------------------------------------------------------------------- */
#define QGPU_VERSION_MAJOR 0
#define QGPU_VERSION_MINOR 1
#define QGPU_VERSION_PATCH 0
#define QGPU_MAKE_VERSION(major, minor, patch) (((major) << 16) | ((minor) << 8) | (patch))
#define QGPU_VERSION QGPU_MAKE_VERSION(QGPU_VERSION_MAJOR, QGPU_VERSION_MINOR, QGPU_VERSION_PATCH)

/* The version of the library actually loaded: QGPU_MAKE_VERSION(major, minor, patch). */
QGPU_API uint32_t qgpu_version(void);
/* The same as "major.minor.patch". Static storage. */
QGPU_API const char* qgpu_version_string(void);

/* ---- status -------------------------------------------------------------------------------- */
/* Values are part of the ABI: new codes are appended, none is renumbered. */
typedef enum qgpu_status {
    QGPU_OK = 0,
    QGPU_ERROR_INVALID_ARGUMENT = 1, /* null pointer, bad shape, mismatched sizes, overflow  */
    QGPU_ERROR_UNSUPPORTED = 2,      /* valid request this backend/device cannot do          */
    QGPU_ERROR_UNAVAILABLE = 3,      /* backend or device absent at run time (message: why)   */
    QGPU_ERROR_OUT_OF_MEMORY = 4,    /* host or device allocation failed                     */
    QGPU_ERROR_DEVICE_LOST = 5,      /* the device stopped; destroy the context              */
    QGPU_ERROR_DEVICE = 6,           /* any other driver/API failure (message names it)      */
    QGPU_ERROR_IO = 7,               /* a file could not be read or written                  */
    QGPU_ERROR_FORMAT = 8,           /* a file or buffer is corrupt or of the wrong format   */
    QGPU_ERROR_INTERNAL = 9,         /* a bug in qgpu: please report it                      */
    QGPU_STATUS_MAX_ENUM = 0x7fffffff
} qgpu_status;

/* Message of the calling thread's most recent failure ("" if none). Thread-local storage, valid
 * until the next failing qgpu call on this thread. */
QGPU_API const char* qgpu_last_error(void);
/* "QGPU_OK", "QGPU_ERROR_INVALID_ARGUMENT", ... Static storage; unknown values give "?". */
QGPU_API const char* qgpu_status_name(qgpu_status status);

/* ---- backends and devices ------------------------------------------------------------------ */
typedef enum qgpu_backend {
    QGPU_BACKEND_AUTO = 0, /* best GPU if one is usable, else the native CPU backend */
    QGPU_BACKEND_CPU = 1,
    QGPU_BACKEND_VULKAN = 2,
    QGPU_BACKEND_OPENCL = 3,
    QGPU_BACKEND_MAX_ENUM = 0x7fffffff
} qgpu_backend;

typedef enum qgpu_device_type {
    QGPU_DEVICE_TYPE_OTHER = 0,
    QGPU_DEVICE_TYPE_DISCRETE_GPU = 1,
    QGPU_DEVICE_TYPE_INTEGRATED_GPU = 2,
    QGPU_DEVICE_TYPE_VIRTUAL_GPU = 3,
    QGPU_DEVICE_TYPE_CPU = 4,         /* the native CPU backend                          */
    QGPU_DEVICE_TYPE_CPU_SOFTWARE = 5, /* a GPU API implemented on the CPU (lavapipe, PoCL) */
    QGPU_DEVICE_TYPE_MAX_ENUM = 0x7fffffff
} qgpu_device_type;

/* Capability bits of qgpu_device_info.caps. */
#define QGPU_CAP_INTEGER_DOT 0x1u             /* 4x8-bit packed integer dot product usable  */
#define QGPU_CAP_INTEGER_DOT_ACCELERATED 0x2u /* ... and the device says it is fast          */
#define QGPU_CAP_INT8_STORAGE 0x4u            /* 8-bit types in device buffers               */
#define QGPU_CAP_FP16 0x8u

typedef struct qgpu_device_info {
    uint32_t struct_size;
    qgpu_backend backend;
    int32_t index; /* index within its backend, as taken by qgpu_context_desc.device_index */
    qgpu_device_type type;
    uint32_t caps;                /* QGPU_CAP_* */
    char name[256];               /* "AMD Ryzen ...", "llvmpipe (LLVM 15.0.7, 256 bits)" */
    char detail[256];             /* backend-specific: CPU ISA list, API and driver version */
    char kernel_variant[32];      /* the variant a context would use by default: "avx512vnni",
                                     "dot", "portable", ... */
    uint32_t subgroup_size;       /* 0 where not applicable */
    uint64_t shared_memory_bytes; /* per workgroup; 0 where not applicable */
    uint64_t memory_bytes;        /* device memory; 0 where unknown */
    int32_t compute_units;        /* cores / SMs / CUs; 0 where unknown */
} qgpu_device_info;

QGPU_API void qgpu_device_info_init(qgpu_device_info* info);

/* Number of devices of one backend (not AUTO). Returns QGPU_ERROR_UNAVAILABLE, with the reason
 * in qgpu_last_error(), when the backend is absent (not built, driver library missing, no
 * device); *count is then 0. */
QGPU_API qgpu_status qgpu_device_count(qgpu_backend backend, int32_t* count);
QGPU_API qgpu_status qgpu_device_get_info(qgpu_backend backend, int32_t index,
                                          qgpu_device_info* info);

/* ---- context ------------------------------------------------------------------------------- */
typedef struct qgpu_context_t* qgpu_context;

typedef struct qgpu_context_desc {
    uint32_t struct_size;
    qgpu_backend backend;       /* default QGPU_BACKEND_AUTO */
    int32_t device_index;       /* default 0 */
    int32_t num_threads;        /* CPU worker threads; 0 = one per core (default) */
    const char* kernel_variant; /* NULL = best for the device (default). Forces one variant:
                                   CPU: "scalar", "avx2", "avx512vnni", "avxvnni", "neon",
                                   "neondot", "i8mm"; Vulkan/OpenCL: "dot", "nodot", ...
                                   A variant the device cannot run is an error
                                   (QGPU_ERROR_UNSUPPORTED), never a silent substitute. */
    const char* cache_dir;      /* where pipeline/program caches live; NULL = no disk cache */
} qgpu_context_desc;

QGPU_API void qgpu_context_desc_init(qgpu_context_desc* desc);
QGPU_API qgpu_status qgpu_context_create(const qgpu_context_desc* desc, qgpu_context* out);
QGPU_API void qgpu_context_destroy(qgpu_context ctx);
QGPU_API qgpu_status qgpu_context_get_device_info(qgpu_context ctx, qgpu_device_info* info);
/* The kernel variant in use ("scalar", "avx512vnni", "dot", ...). Static storage. */
QGPU_API const char* qgpu_context_kernel_variant(qgpu_context ctx);
QGPU_API qgpu_status qgpu_context_set_num_threads(qgpu_context ctx, int32_t num_threads);

/* ---- tensors ------------------------------------------------------------------------------- */
typedef enum qgpu_dtype {
    QGPU_DTYPE_FLOAT32 = 0,
    QGPU_DTYPE_INT8 = 1,
    QGPU_DTYPE_MAX_ENUM = 0x7fffffff
} qgpu_dtype;

/* Linear quantization: real = scale * (q - zero_point); scale > 0 and finite,
 * zero_point in [-128, 127]. */
typedef struct qgpu_quant {
    float scale;
    int32_t zero_point;
} qgpu_quant;

typedef struct qgpu_tensor_t* qgpu_tensor;

/* A 4-D tensor (n, c, h, w) on the context's device. Int8 tensors carry their quantization
 * (`quant` required); float tensors ignore it (may be NULL). Contents start as zero (int8: the
 * zero point). The device layout is private; the host side is always NCHW. */
QGPU_API qgpu_status qgpu_tensor_create(qgpu_context ctx, qgpu_dtype dtype, int32_t n, int32_t c,
                                        int32_t h, int32_t w, const qgpu_quant* quant,
                                        qgpu_tensor* out);
QGPU_API void qgpu_tensor_destroy(qgpu_tensor tensor);
/* shape[4] = {n, c, h, w} */
QGPU_API qgpu_status qgpu_tensor_get_shape(qgpu_tensor tensor, int32_t shape[4]);
QGPU_API qgpu_status qgpu_tensor_get_dtype(qgpu_tensor tensor, qgpu_dtype* dtype);
QGPU_API qgpu_status qgpu_tensor_get_quant(qgpu_tensor tensor, qgpu_quant* quant);
/* Number of elements n*c*h*w. */
QGPU_API qgpu_status qgpu_tensor_get_count(qgpu_tensor tensor, size_t* count);

/* Write `count` (must equal n*c*h*w) NCHW floats. Into an int8 tensor this is the fused
 * host-side quantize + pack (one pass, the tensor's scale and zero point). */
QGPU_API qgpu_status qgpu_tensor_write_f32(qgpu_tensor tensor, const float* data, size_t count);
/* Read NCHW floats; from an int8 tensor this dequantizes. */
QGPU_API qgpu_status qgpu_tensor_read_f32(qgpu_tensor tensor, float* data, size_t count);
/* Raw int8 NCHW values of an int8 tensor (no scaling). */
QGPU_API qgpu_status qgpu_tensor_write_i8(qgpu_tensor tensor, const int8_t* data, size_t count);
QGPU_API qgpu_status qgpu_tensor_read_i8(qgpu_tensor tensor, int8_t* data, size_t count);

/* ---- convolution --------------------------------------------------------------------------- */
typedef enum qgpu_activation {
    QGPU_ACTIVATION_NONE = 0,
    QGPU_ACTIVATION_RELU = 1,      /* max(x, 0) */
    QGPU_ACTIVATION_RELU6 = 2,     /* min(max(x, 0), 6) */
    QGPU_ACTIVATION_CLAMP = 3,     /* min(max(x, activation_min), activation_max) */
    QGPU_ACTIVATION_LEAKY_RELU = 4, /* x < 0 ? leaky_slope * x : x; slope >= 0 */
    QGPU_ACTIVATION_MAX_ENUM = 0x7fffffff
} qgpu_activation;

typedef enum qgpu_precision {
    QGPU_PRECISION_INT8 = 0,   /* int8 x int8 -> int32, requantize or dequantize */
    QGPU_PRECISION_FLOAT32 = 1, /* plain fp32 convolution (float layers; the baseline) */
    QGPU_PRECISION_MAX_ENUM = 0x7fffffff
} qgpu_precision;

typedef struct qgpu_conv_desc {
    uint32_t struct_size;
    qgpu_precision precision; /* default INT8 */
    int32_t in_channels, in_h, in_w, out_channels;
    int32_t kernel_h, kernel_w;     /* default 1 */
    int32_t stride_h, stride_w;     /* default 1 */
    int32_t dilation_h, dilation_w; /* default 1 */
    int32_t pad_top, pad_left, pad_bottom, pad_right; /* default 0 */
    int32_t groups; /* default 1; in_channels and out_channels must be multiples of it */

    /* Weights, OIHW = [out_channels][in_channels/groups][kernel_h][kernel_w]. Give exactly one:
     *  - weights: float; INT8 precision quantizes them symmetrically per output channel;
     *  - weights_int8 + weight_scales[out_channels]: already quantized, values in [-127, 127]
     *    (INT8 precision only). */
    const float* weights;
    const int8_t* weights_int8;
    const float* weight_scales;
    const float* bias; /* [out_channels] float, or NULL for none */

    qgpu_activation activation;                /* default NONE */
    float activation_min, activation_max;      /* for CLAMP */
    float leaky_slope;                         /* for LEAKY_RELU */

    /* INT8 precision: quantization of the input, and of the output when output_dtype is INT8. */
    qgpu_quant input_quant;
    qgpu_quant output_quant;
    qgpu_dtype output_dtype; /* INT8: fused requantize; FLOAT32: fused dequantize (default) */
} qgpu_conv_desc;

typedef struct qgpu_conv_t* qgpu_conv;

QGPU_API void qgpu_conv_desc_init(qgpu_conv_desc* desc);
/* Validates the description, quantizes and packs the weights for the context's device. The
 * caller's weight/bias arrays may be freed after this returns. */
QGPU_API qgpu_status qgpu_conv_create(qgpu_context ctx, const qgpu_conv_desc* desc,
                                      qgpu_conv* out);
QGPU_API void qgpu_conv_destroy(qgpu_conv conv);
/* out_shape[3] = {out_channels, out_h, out_w} (any batch size runs). */
QGPU_API qgpu_status qgpu_conv_get_output_shape(qgpu_conv conv, int32_t out_shape[3]);
/* Per-output-channel weight scales actually used (INT8 precision), count = out_channels. */
QGPU_API qgpu_status qgpu_conv_get_weight_scales(qgpu_conv conv, float* scales, size_t count);

/* Run on device tensors of the conv's context. Input: (N, in_channels, in_h, in_w); an INT8
 * conv takes an int8 tensor with the conv's input_quant. Output: (N, out_channels, out_h,
 * out_w) of the conv's output dtype (int8 with output_quant). */
QGPU_API qgpu_status qgpu_conv_run(qgpu_conv conv, qgpu_tensor input, qgpu_tensor output);
/* Host convenience: NCHW floats in, NCHW floats out, batch n. For an INT8 conv the input is
 * quantized and packed on the fly (fused) and an int8 output is dequantized on the way out. */
QGPU_API qgpu_status qgpu_conv_run_host(qgpu_conv conv, int32_t n, const float* input,
                                        size_t input_count, float* output, size_t output_count);

/* ---- networks (model runtime) -------------------------------------------------------------- */
/* A CNN loaded from ncnn files (.param graph + .bin weights), run on the context's device. In an
 * INT8 net every convolution runs in int8 with its input scale from an ncnn calibration .table;
 * consecutive int8 layers hand int8 to each other through the fused requantize, and only the
 * layers that need float (average pooling, softmax, float layers) see float. A layer the device
 * cannot run is a load error naming it (QGPU_ERROR_UNSUPPORTED), never a silent fallback.
 * Supported ncnn layers: Input, Convolution, ConvolutionDepthWise, InnerProduct, ReLU, Pooling
 * (max/average/global), Concat (channels), Split, Dropout, Flatten (1x1), Softmax (channels),
 * Eltwise (sum). ONNX (opset 7-18, float models): Conv, Gemm, Relu, LeakyRelu, MaxPool,
 * AveragePool, GlobalAveragePool, GlobalMaxPool, Add, Concat, Flatten, Softmax, Dropout,
 * Identity; layers are named by ONNX node name (the .table key). */
typedef struct qgpu_net_t* qgpu_net;
struct qgpu_table_t;        /* ncnn calibration table, see below */
struct qgpu_calib_options;  /* calibration options, see below */

typedef struct qgpu_net_desc {
    uint32_t struct_size;
    const char* param_path;     /* ncnn .param (text), or an ONNX model ending in ".onnx" */
    const char* bin_path;       /* ncnn .bin (fp32, fp16 or int8 weights); unused for ONNX */
    const char* table_path;     /* ncnn calibration .table; INT8 needs one (or `table`)
                                   unless the model carries its scales (ncnn int8 .bin,
                                   ONNX QDQ); when given, it overrides the model's */
    qgpu_precision precision;   /* INT8 (default) or FLOAT32 */
    int32_t batch;              /* default 1 */
    const char* const* float_layers; /* names of conv layers kept in fp32 (mixed precision) */
    int32_t float_layer_count;
    struct qgpu_table_t* table; /* activation scales from memory (e.g. qgpu_net_calibrate);
                                   used instead of table_path when not NULL */
} qgpu_net_desc;

QGPU_API void qgpu_net_desc_init(qgpu_net_desc* desc);
QGPU_API qgpu_status qgpu_net_create(qgpu_context ctx, const qgpu_net_desc* desc, qgpu_net* out);
QGPU_API void qgpu_net_destroy(qgpu_net net);
/* shape[4] = {n, c, h, w} of a blob (by its ncnn name). */
QGPU_API qgpu_status qgpu_net_get_blob_shape(qgpu_net net, const char* blob, int32_t shape[4]);
/* NCHW floats into an input blob; an int8 input is quantized and packed in the same pass. */
QGPU_API qgpu_status qgpu_net_set_input(qgpu_net net, const char* blob, const float* data,
                                        size_t count);
QGPU_API qgpu_status qgpu_net_run(qgpu_net net);
/* NCHW floats of any blob after a run (int8 blobs are dequantized). */
QGPU_API qgpu_status qgpu_net_get_output(qgpu_net net, const char* blob, float* data,
                                         size_t count);
/* Calibration (issue-8 workflow: float model + sample inputs -> int8 net). Runs `count` samples
 * (`count` images, not floats: `samples` holds count * C * H * W NCHW floats of the input blob;
 * count a multiple of the net's batch) through `net` twice (range
 * pass, histogram pass: docs/calibration.md), observes the input of every convolution, and writes
 * one activation scale per conv layer into `table` with `options` (NULL: the default, AUTO).
 * Calibrate a FLOAT32 net, then create the INT8 net with qgpu_net_desc.table = table. The result
 * depends only on the samples, not on the batch size or thread count. */
QGPU_API qgpu_status qgpu_net_calibrate(qgpu_net net, const char* input_blob, const float* samples,
                                        size_t count, const struct qgpu_calib_options* options,
                                        struct qgpu_table_t* table);
/* A text description of what each layer became ("conv1: int8 conv 3x3 s2 g1 3->64 requantize"),
 * valid until the net is destroyed. */
QGPU_API const char* qgpu_net_summary(qgpu_net net);

/* ---- quantization arithmetic (the one definition every backend follows) ------------------- */
/* real multiplier M > 0 -> (M0 in [2^30, 2^31), shift) with M ~= M0 * 2^(shift - 31). */
QGPU_API qgpu_status qgpu_quantize_multiplier(double multiplier, int32_t* m0, int32_t* shift);
/* The fixed-point rescale of an int32 accumulator: gemmlowp double rounding. */
QGPU_API int32_t qgpu_requantize(int32_t acc, int32_t m0, int32_t shift);
/* q = clamp(round_half_even(x * (1 / scale)) + zero_point, -128, 127); NaN -> zero_point. */
QGPU_API qgpu_status qgpu_quantize(const float* x, size_t count, qgpu_quant quant, int8_t* q);
QGPU_API qgpu_status qgpu_dequantize(const int8_t* q, size_t count, qgpu_quant quant, float* x);

/* ---- calibration --------------------------------------------------------------------------- */
/* Activation calibration of one tensor (docs/calibration.md has the exact algorithms).
 * Two passes over the same values, in any number of batches of any size:
 *  1. range pass: qgpu_calibrator_observe() collects count, min, max, max|x|;
 *  2. qgpu_calibrator_begin_histogram(), then observe the same values again: they fill a
 *     histogram of |x| over [0, max|x|] (`histogram_bins` bins, kept per sign, exact zeros
 *     counted apart).
 * MinMax methods need only pass 1; KL, percentile, MSE and AUTO need pass 2. Memory is bounded
 * (the histogram), counts are exact integers and min/max are order-free, so the result depends
 * only on the values seen: not on batch split, order or thread count. Data must be finite. */
typedef struct qgpu_calibrator_t* qgpu_calibrator;

typedef enum qgpu_calib_method {
    QGPU_CALIB_MINMAX = 0,            /* T = max|x|; scale T/127, zero point 0 */
    QGPU_CALIB_MINMAX_ASYMMETRIC = 1, /* [min(min,0), max(max,0)] -> scale/255 and zero point */
    QGPU_CALIB_KL = 2,                /* KL divergence / entropy (TensorRT, ncnn) */
    QGPU_CALIB_PERCENTILE = 3,        /* T = the `percentile`% point of |x| */
    QGPU_CALIB_MSE = 4,               /* T minimising the squared quantization error */
    QGPU_CALIB_AUTO = 5,              /* the method above with the least squared error */
    QGPU_CALIB_METHOD_MAX_ENUM = 0x7fffffff
} qgpu_calib_method;

typedef struct qgpu_calib_options {
    uint32_t struct_size;
    qgpu_calib_method method; /* default QGPU_CALIB_AUTO */
    double percentile;        /* PERCENTILE (and its AUTO candidate): in (0, 100]; 99.99 */
    int32_t kl_count_zeros;   /* KL: 0 = exact zeros left out of the histogram (ncnn, default),
                                 1 = counted (TensorRT-style on post-ReLU data: clips hard) */
    int32_t auto_asymmetric;  /* AUTO: 1 = MINMAX_ASYMMETRIC is a candidate too; default 0 */
    int32_t kl_variant;       /* QGPU_KL_NCNN (default) or QGPU_KL_NCNN2018 */
} qgpu_calib_options;

/* KL variants (docs/calibration.md): both search t = 128..bins-1 kept bins, T = (t + 0.5) * bin
 * width. NCNN: today's ncnn2table (fractional merge into 128 levels, 1e-4 added to every bin).
 * NCNN2018: the original ncnn/TensorRT recipe (each level spread over its non-empty bins, no
 * smoothing, +1 per bin that Q misses). */
#define QGPU_KL_NCNN 0
#define QGPU_KL_NCNN2018 1

typedef struct qgpu_calib_result {
    uint32_t struct_size;
    qgpu_calib_method method; /* the method that produced it (for AUTO: the one chosen) */
    float threshold;          /* clipping threshold T (asymmetric: max(|lo|, |hi|)) */
    qgpu_quant quant;         /* what to quantize with: symmetric scale T/127 and zero point 0
                                 (T == 0, all data zero: scale 1) */
    double mse;               /* estimated mean squared error per value of quantizing the
                                 observed data with `quant`; -1 without the histogram pass */
    double clipped_fraction;  /* fraction of values outside the representable range; -1
                                 without the histogram pass */
} qgpu_calib_result;

typedef struct qgpu_calib_stats {
    uint32_t struct_size;
    uint64_t count;           /* values of the range pass */
    uint64_t zeros;           /* exact zeros (+0 and -0) among them */
    uint64_t histogram_count; /* values of the histogram pass so far */
    float min, max, absmax;   /* 0 when no value was seen */
    int32_t histogram_bins;
    int32_t histogram_pass;   /* 1 after qgpu_calibrator_begin_histogram() */
} qgpu_calib_stats;

QGPU_API void qgpu_calib_options_init(qgpu_calib_options* options);
QGPU_API void qgpu_calib_result_init(qgpu_calib_result* result);
QGPU_API void qgpu_calib_stats_init(qgpu_calib_stats* stats);
/* "minmax", "minmax_asymmetric", "kl", "percentile", "mse", "auto"; "?" if unknown. */
QGPU_API const char* qgpu_calib_method_name(qgpu_calib_method method);

/* histogram_bins: 0 = 2048 (TensorRT/ncnn); otherwise in [256, 8192]. */
QGPU_API qgpu_status qgpu_calibrator_create(int32_t histogram_bins, qgpu_calibrator* out);
QGPU_API void qgpu_calibrator_destroy(qgpu_calibrator calibrator);
/* Feeds `count` (> 0) finite floats. A batch with a NaN or infinity is rejected whole
 * (INVALID_ARGUMENT, nothing recorded). In the histogram pass a value outside the range pass's
 * [min, max] is an error: both passes must see the same data. */
QGPU_API qgpu_status qgpu_calibrator_observe(qgpu_calibrator calibrator, const float* data,
                                             size_t count);
/* Ends the range pass (at least one value needed) and starts the histogram pass. */
QGPU_API qgpu_status qgpu_calibrator_begin_histogram(qgpu_calibrator calibrator);
QGPU_API qgpu_status qgpu_calibrator_get_stats(qgpu_calibrator calibrator,
                                               qgpu_calib_stats* stats);
/* Computes the quantization by options->method (NULL options: the defaults). The histogram
 * methods need the histogram pass complete (histogram_count == count). */
QGPU_API qgpu_status qgpu_calibrator_compute(qgpu_calibrator calibrator,
                                             const qgpu_calib_options* options,
                                             qgpu_calib_result* result);

/* ---- weight quantization ------------------------------------------------------------------- */
/* The weight quantization qgpu_conv_create applies to float weights, for callers who want the
 * int8 weights (qgpu_conv_desc.weights_int8 + weight_scales) or a per-tensor scale:
 * weights[out_channels][per_channel] -> weights_int8 (same shape, in [-127, 127]) and
 * scales[out_channels] with s = max|W| / 127 over each output channel (per_tensor = 0) or over
 * the whole tensor (per_tensor = 1, every scale equal); an all-zero group gets scale 1. */
QGPU_API qgpu_status qgpu_quantize_weights(const float* weights, int32_t out_channels,
                                           size_t per_channel, int32_t per_tensor,
                                           int8_t* weights_int8, float* scales);
/* Signal-to-quantization-noise ratio of that quantization, in dB:
 * 10 log10(sum W^2 / sum (W - s*q)^2); HUGE_VAL (+inf) when the error is zero. */
QGPU_API qgpu_status qgpu_weights_quantization_sqnr(const float* weights, int32_t out_channels,
                                                    size_t per_channel, int32_t per_tensor,
                                                    double* sqnr_db);

/* ---- ncnn calibration tables ---------------------------------------------------------------- */
/* The `.table` text format of ncnn2table / ncnn2int8: lines `<layer>_param_0 s0 s1 ...` (weight
 * scales, one per output channel; the 2018 layout has one per layer) and `<blob> s` (activation
 * scales). Scales are ncnn's: real = int8 / scale, so the qgpu scale is 1 / (ncnn scale).
 * Names are stored without the `_param_0` suffix. Entries keep their file order; save writes
 * the weight lines first, then the activation lines, with the shortest decimal text that reads
 * back to the same float. */
typedef struct qgpu_table_t* qgpu_table;

QGPU_API qgpu_status qgpu_table_create(qgpu_table* out); /* an empty table */
QGPU_API void qgpu_table_destroy(qgpu_table table);
/* A malformed file is QGPU_ERROR_FORMAT with the line number in the message; an unreadable
 * one QGPU_ERROR_IO. Scales must be finite and >= 0. */
QGPU_API qgpu_status qgpu_table_load(const char* path, qgpu_table* out);
QGPU_API qgpu_status qgpu_table_save(qgpu_table table, const char* path);
QGPU_API qgpu_status qgpu_table_get_counts(qgpu_table table, size_t* weight_layers,
                                           size_t* activations);
/* Name of the index-th weight layer (is_activation = 0) or activation (1), in file order.
 * Valid until the table is changed or destroyed. */
QGPU_API qgpu_status qgpu_table_get_name(qgpu_table table, int32_t is_activation, size_t index,
                                         const char** name);
/* Copies min(capacity, n) scales and sets *count = n (scales may be NULL with capacity 0). */
QGPU_API qgpu_status qgpu_table_get_weight_scales(qgpu_table table, const char* layer,
                                                  float* scales, size_t capacity,
                                                  size_t* count);
QGPU_API qgpu_status qgpu_table_set_weight_scales(qgpu_table table, const char* layer,
                                                  const float* scales, size_t count);
QGPU_API qgpu_status qgpu_table_get_activation_scale(qgpu_table table, const char* name,
                                                     float* scale);
QGPU_API qgpu_status qgpu_table_set_activation_scale(qgpu_table table, const char* name,
                                                     float scale);
/* The activation's quantization in qgpu terms: {1 / ncnn scale, 0}. */
QGPU_API qgpu_status qgpu_table_get_activation_quant(qgpu_table table, const char* name,
                                                     qgpu_quant* quant);

#ifdef __cplusplus
}
#endif
#endif /* QGPU_H */
