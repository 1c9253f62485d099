// Vulkan conv kernels: the ConvPlan's weights repacked for the shaders of shaders/, per-channel
// output-stage parameters, one descriptor set per kernel, one command buffer per run.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/layout.h"
#include "vulkan/vk_device.h"

namespace qgpu {
namespace vulkan {
namespace {

constexpr int32_t kTilePixels = 4;   // TP in conv_int8.comp
constexpr int32_t kLanePixels = 8;   // LP in conv_int8.comp (mode 4, "lanes")
constexpr int32_t kLocalSize = 64;   // local_size_x of every shader
constexpr int64_t kMaxIndex = int64_t(1) << 31;  // shaders index with int32

struct PushInt8 {
    int32_t a[4], b[4], c[4], d[4], e[4], f[4];
    float g[4];
};
struct PushF32 {
    int32_t a[4], b[4], c[4], d[4], e[4];
    float g[4];
    int32_t pad[4];
};
static_assert(sizeof(PushInt8) == 112 && sizeof(PushF32) == 112, "push constant layout");

uint32_t pack4(int8_t b0, int8_t b1, int8_t b2, int8_t b3) {
    return uint32_t(uint8_t(b0)) | (uint32_t(uint8_t(b1)) << 8) | (uint32_t(uint8_t(b2)) << 16) |
           (uint32_t(uint8_t(b3)) << 24);
}

uint32_t float_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

// The shared-memory tiled path pays where shared memory is on-chip: by default on GPUs, not
// on CPU-emulated devices (lavapipe runs it ~2.5x slower than the register-tiled dense path).
// QGPU_VULKAN_TILED=1 / =0 forces it on / off (tests, comparisons).
bool tiled_enabled(const VulkanDevice& dev) {
    const char* v = std::getenv("QGPU_VULKAN_TILED");
    if (v && std::strcmp(v, "1") == 0) return true;
    if (v && std::strcmp(v, "0") == 0) return false;
    return dev.info().type != QGPU_DEVICE_TYPE_CPU_SOFTWARE;
}

// The "lanes" path trades per-invocation weight loads for subgroup broadcasts: it pays where
// every buffer load is a per-lane scalar loop (lavapipe: llvmpipe runs 8 invocations as the
// lanes of one AVX vector). It needs subgroups of exactly 8 invocations (its tiling is made of
// them) with broadcast in compute shaders. Default on CPU-emulated devices;
// QGPU_VULKAN_LANES=1 / =0 forces it on / off where it can run.
bool lanes_enabled(const VulkanDevice& dev) {
    VkPhysicalDeviceSubgroupProperties sg{};
    sg.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
    VkPhysicalDeviceProperties2 p2{};
    p2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
    p2.pNext = &sg;
    dev.api().vkGetPhysicalDeviceProperties2(dev.physical_device(), &p2);
    const bool supported = sg.subgroupSize == 8 && (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                           (sg.supportedOperations & VK_SUBGROUP_FEATURE_BALLOT_BIT);
    if (!supported) return false;
    const char* v = std::getenv("QGPU_VULKAN_LANES");
    if (v && std::strcmp(v, "1") == 0) return true;
    if (v && std::strcmp(v, "0") == 0) return false;
    return dev.info().type == QGPU_DEVICE_TYPE_CPU_SOFTWARE;
}

// Splits `groups` workgroups over x (and z when x would exceed the device limit).
Status dispatch_size(const VulkanDevice& dev, int64_t groups, uint32_t* gx, uint32_t* gz) {
    const int64_t max_x = dev.limits().maxComputeWorkGroupCount[0];
    const int64_t max_z = dev.limits().maxComputeWorkGroupCount[2];
    int64_t z = (groups + max_x - 1) / max_x;
    if (z < 1) z = 1;
    if (z > max_z) return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: the problem needs too many workgroups");
    *gz = uint32_t(z);
    *gx = uint32_t((groups + z - 1) / z);
    if (*gx == 0) *gx = 1;
    return QGPU_OK;
}

// Base: weights + params buffers, a descriptor set, and the dispatch.
class VulkanConv : public ConvKernel {
public:
    explicit VulkanConv(VulkanDevice* dev) : dev_(dev) {}
    ~VulkanConv() override {
        if (pool_) dev_->api().vkDestroyDescriptorPool(dev_->device(), pool_, nullptr);
    }

protected:
    Status init_descriptors(Shader shader) {
        QGPU_TRY(dev_->pipeline(shader, &pipeline_));
        VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 4};
        VkDescriptorPoolCreateInfo pci{};
        pci.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
        pci.maxSets = 1;
        pci.poolSizeCount = 1;
        pci.pPoolSizes = &size;
        QGPU_TRY(check(dev_->api().vkCreateDescriptorPool(dev_->device(), &pci, nullptr, &pool_),
                       "vkCreateDescriptorPool"));
        VkDescriptorSetAllocateInfo ai{};
        ai.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
        ai.descriptorPool = pool_;
        ai.descriptorSetCount = 1;
        ai.pSetLayouts = &pipeline_->set_layout;
        QGPU_TRY(check(dev_->api().vkAllocateDescriptorSets(dev_->device(), &ai, &set_), "vkAllocateDescriptorSets"));
        return dev_->check_validation();
    }

    Status dispatch(const TensorRef& in, const TensorRef& out, const void* push, uint32_t gx, uint32_t gy,
                    uint32_t gz) {
        VkDescriptorBufferInfo infos[4] = {
            {static_cast<VulkanBuffer*>(in.buffer)->handle(), 0, VK_WHOLE_SIZE},
            {static_cast<VulkanBuffer*>(out.buffer)->handle(), 0, VK_WHOLE_SIZE},
            {weights_->handle(), 0, VK_WHOLE_SIZE},
            {params_->handle(), 0, VK_WHOLE_SIZE},
        };
        VkWriteDescriptorSet writes[4]{};
        for (uint32_t i = 0; i < 4; ++i) {
            writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
            writes[i].dstSet = set_;
            writes[i].dstBinding = i;
            writes[i].descriptorCount = 1;
            writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            writes[i].pBufferInfo = &infos[i];
        }
        const Api& api = dev_->api();
        api.vkUpdateDescriptorSets(dev_->device(), 4, writes, 0, nullptr);
        return dev_->submit([&](VkCommandBuffer cb) {
            api.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_->pipeline);
            api.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_->layout, 0, 1, &set_, 0,
                                        nullptr);
            api.vkCmdPushConstants(cb, pipeline_->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, 112, push);
            api.vkCmdDispatch(cb, gx, gy, gz);
        });
    }

    VulkanDevice* dev_;
    const Pipeline* pipeline_ = nullptr;
    VkDescriptorPool pool_ = VK_NULL_HANDLE;
    VkDescriptorSet set_ = VK_NULL_HANDLE;
    std::unique_ptr<VulkanBuffer> weights_, params_;
};

class Int8Conv final : public VulkanConv {
public:
    Int8Conv(VulkanDevice* dev, const ConvPlan& plan) : VulkanConv(dev), plan_(plan) {}

    Status init() {
        const ConvShape& s = plan_.shape;
        const int32_t cin_g = s.in_c_per_group(), cout_g = s.out_c_per_group();
        const int32_t taps = s.kernel_h * s.kernel_w;
        kwords_ = (cin_g + 3) / 4;
        if (s.is_depthwise() && s.groups > 1) shader_ = Shader::Int8Depthwise;
        else if (s.groups == 1 && s.in_c >= 32 && s.out_c >= 32 && tiled_enabled(*dev_)) shader_ = Shader::Int8Tiled;
        else if (s.groups == 1 || (cin_g % 4 == 0 && cout_g % 8 == 0))
            shader_ = lanes_enabled(*dev_) ? Shader::Int8Lanes : Shader::Int8Dense;
        else shader_ = Shader::Int8Generic;
        // OIHW weight of output channel o, group-local input channel i, tap t (0 outside)
        auto w = [&](int32_t o, int32_t i, int32_t t) -> int8_t {
            if (o >= s.out_c || i >= cin_g) return 0;
            return plan_.weights_q[(size_t(o) * size_t(cin_g) + size_t(i)) * size_t(taps) + size_t(t)];
        };
        std::vector<uint32_t> packed;
        if (shader_ == Shader::Int8Tiled) {
            // [oc/32][tap][kwords rounded up to 8][32 channels]
            blocks_ = (s.out_c + 31) / 32;
            const int32_t kwp = (kwords_ + 7) / 8 * 8;
            packed.resize(size_t(blocks_) * taps * kwp * 32);
            size_t idx = 0;
            for (int32_t b = 0; b < blocks_; ++b)
                for (int32_t t = 0; t < taps; ++t)
                    for (int32_t k = 0; k < kwp; ++k)
                        for (int32_t c = 0; c < 32; ++c) {
                            const int32_t o = b * 32 + c;
                            packed[idx++] = pack4(w(o, 4 * k, t), w(o, 4 * k + 1, t), w(o, 4 * k + 2, t),
                                                  w(o, 4 * k + 3, t));
                        }
        } else if (shader_ == Shader::Int8Dense || shader_ == Shader::Int8Lanes) {
            // [oc/8][tap][kwords][8 channels]: dense reads it as uvec4 pairs, lanes one word per lane
            blocks_ = (s.out_c + 7) / 8;
            packed.resize(size_t(blocks_) * taps * kwords_ * 8);
            size_t idx = 0;
            for (int32_t b = 0; b < blocks_; ++b)
                for (int32_t t = 0; t < taps; ++t)
                    for (int32_t k = 0; k < kwords_; ++k)
                        for (int32_t c = 0; c < 8; ++c) {
                            const int32_t o = b * 8 + c;
                            packed[idx++] = pack4(w(o, 4 * k, t), w(o, 4 * k + 1, t), w(o, 4 * k + 2, t),
                                                  w(o, 4 * k + 3, t));
                        }
        } else if (shader_ == Shader::Int8Generic) {
            blocks_ = (s.out_c + 3) / 4;
            packed.resize(size_t(s.out_c) * taps * kwords_);
            size_t idx = 0;
            for (int32_t o = 0; o < s.out_c; ++o)
                for (int32_t t = 0; t < taps; ++t)
                    for (int32_t k = 0; k < kwords_; ++k)
                        packed[idx++] = pack4(w(o, 4 * k, t), w(o, 4 * k + 1, t), w(o, 4 * k + 2, t),
                                              w(o, 4 * k + 3, t));
        } else {
            blocks_ = (s.out_c + 3) / 4;
            packed.resize(size_t(blocks_) * taps);
            size_t idx = 0;
            for (int32_t b = 0; b < blocks_; ++b)
                for (int32_t t = 0; t < taps; ++t)
                    packed[idx++] = pack4(w(4 * b, 0, t), w(4 * b + 1, 0, t), w(4 * b + 2, 0, t), w(4 * b + 3, 0, t));
        }
        if (int64_t(packed.size()) >= kMaxIndex / 4 || blocks_ > int32_t(dev_->limits().maxComputeWorkGroupCount[1]))
            return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: the convolution's weights are too large for one dispatch");
        // per channel: (m0, shift, m0_neg, shift_neg), (bias_q, weight_sum, dequant_scale, bias)
        const int32_t padded = (s.out_c + 31) / 32 * 32;
        std::vector<uint32_t> params(size_t(padded) * 8, 0);
        const bool int8_out = plan_.output_dtype == QGPU_DTYPE_INT8;
        for (int32_t c = 0; c < s.out_c; ++c) {
            uint32_t* p = &params[size_t(c) * 8];
            if (int8_out) {
                p[0] = uint32_t(plan_.m0[size_t(c)]);
                p[1] = uint32_t(plan_.shift[size_t(c)]);
                p[2] = uint32_t(plan_.m0_neg[size_t(c)]);
                p[3] = uint32_t(plan_.shift_neg[size_t(c)]);
                p[4] = uint32_t(plan_.bias_q[size_t(c)]);
            }
            p[5] = uint32_t(plan_.weight_sums[size_t(c)]);
            p[6] = float_bits(plan_.dequant_scale[size_t(c)]);
            p[7] = float_bits(plan_.bias_f32[size_t(c)]);
        }
        QGPU_TRY(dev_->upload(packed.data(), packed.size() * sizeof(uint32_t), &weights_));
        QGPU_TRY(dev_->upload(params.data(), params.size() * sizeof(uint32_t), &params_));
        return init_descriptors(shader_);
    }

    Status run(const TensorRef& input, const TensorRef& output) override {
        const ConvShape& s = plan_.shape;
        const int64_t pixels = int64_t(input.desc.n) * s.out_h * s.out_w;
        const int64_t in_words = int64_t(input.desc.n) * s.in_h * s.in_w * (round_up4(s.in_c) / 4);
        const int64_t out_elems = pixels * (plan_.output_dtype == QGPU_DTYPE_INT8 ? round_up4(s.out_c) / 4 : s.out_c);
        if (pixels >= kMaxIndex || in_words >= kMaxIndex || out_elems >= kMaxIndex)
            return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: tensors of 2^31 words or more are not supported");
        PushInt8 pc{};
        pc.a[0] = s.in_h; pc.a[1] = s.in_w; pc.a[2] = round_up4(s.in_c) / 4; pc.a[3] = s.out_c;
        pc.b[0] = s.out_h; pc.b[1] = s.out_w; pc.b[2] = round_up4(s.out_c) / 4; pc.b[3] = s.in_c_per_group();
        pc.c[0] = s.kernel_h; pc.c[1] = s.kernel_w; pc.c[2] = s.stride_h; pc.c[3] = s.stride_w;
        pc.d[0] = s.dilation_h; pc.d[1] = s.dilation_w; pc.d[2] = s.pad_top; pc.d[3] = s.pad_left;
        pc.e[0] = s.out_c_per_group(); pc.e[1] = kwords_; pc.e[2] = int32_t(pixels);
        pc.e[3] = plan_.input_quant.zero_point;
        pc.f[0] = plan_.output_quant.zero_point; pc.f[1] = plan_.qmin; pc.f[2] = plan_.qmax;
        pc.f[3] = (plan_.output_dtype == QGPU_DTYPE_INT8 ? 1 : 0) | (plan_.leaky() ? 2 : 0) |
                  (int32_t(plan_.activation) << 4);
        pc.g[0] = plan_.act_min; pc.g[1] = plan_.act_max; pc.g[2] = plan_.leaky_slope;
        uint32_t gx = 1, gz = 1;
        if (shader_ == Shader::Int8Lanes) {
            // 8 subgroups per workgroup, each one unit of 8 x kLanePixels pixels x 8 channels
            const int64_t per_unit = int64_t(kLanePixels) * 8;
            const int64_t units = (pixels + per_unit - 1) / per_unit * blocks_;
            if (units >= kMaxIndex / 8)  // the shader numbers units (and lanes) with int32
                return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: the convolution has too many output pixels x channels");
            QGPU_TRY(dispatch_size(*dev_, (units + 7) / 8, &gx, &gz));
            return dispatch(input, output, &pc, gx, 1, gz);
        }
        // tiled: 64 pixels per workgroup; others: kTilePixels per invocation
        const int64_t per_group = shader_ == Shader::Int8Tiled ? kLocalSize : int64_t(kTilePixels) * kLocalSize;
        QGPU_TRY(dispatch_size(*dev_, (pixels + per_group - 1) / per_group, &gx, &gz));
        return dispatch(input, output, &pc, gx, uint32_t(blocks_), gz);
    }

private:
    ConvPlan plan_;
    Shader shader_ = Shader::Int8Generic;
    int32_t kwords_ = 0, blocks_ = 0;
};

// fp32: the register-tiled shader (conv_f32_tiled.comp, 8 x LP output pixels x 8 channels per
// unit of 8 invocations), "lanes" where subgroups are 8 wide (lavapipe; LP 8 or 16, chosen by
// layer), "tiled" (LP 8) elsewhere; the one-output-per-invocation shader (conv_f32.comp) for
// layers with an inf/NaN weight (the tiled shader multiplies padding taps by zero instead of
// skipping them) and for depthwise-like layers (fewer than 8 output channels per group) on
// GPUs. QGPU_VULKAN_F32=naive forces conv_f32.comp, =lp8 / =lp16 the lanes pixel count, =norow
// the general path for kernels of width 3.
class F32Conv final : public VulkanConv {
public:
    F32Conv(VulkanDevice* dev, const ConvPlan& plan) : VulkanConv(dev), plan_(plan) {}

    Status init() {
        const ConvShape& s = plan_.shape;
        if (int64_t(plan_.weights_f32.size()) >= kMaxIndex)
            return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: the convolution's weights are too large");
        const int32_t cin_g = s.in_c_per_group(), cout_g = s.out_c_per_group();
        const int32_t taps = s.kernel_h * s.kernel_w;
        bool finite = true;
        for (float v : plan_.weights_f32) finite = finite && std::isfinite(v);
        const char* mode = std::getenv("QGPU_VULKAN_F32");
        const bool naive = mode && std::strcmp(mode, "naive") == 0;
        const bool lanes = lanes_enabled(*dev_);
        shader_ = lanes ? Shader::Float32Lanes : Shader::Float32Tiled;
        // lanes: 16 pixels per lane (fewer loads per multiply-add: measured 1.1-1.6x faster on
        // lavapipe, even at 13x13 where 16 pads 169 pixels to 256 and 8 to 192) unless an image's
        // pixels then fill the units 1.5x worse than with 8 (7x7: 128 vs 64, 8 is 1.8x faster)
        // The row path (kernel width 3, horizontal stride and dilation 1: a lane's pixels are
        // consecutive pixels of one output row sharing their inputs) unless QGPU_VULKAN_F32=norow;
        // its units are padded per row, the general path's per image.
        row3_ = s.kernel_w == 3 && s.stride_w == 1 && s.dilation_w == 1 &&
                !(mode && std::strcmp(mode, "norow") == 0);
        const int64_t hw = row3_ ? s.out_w : int64_t(s.out_h) * s.out_w;
        const int64_t padded8 = (hw + 63) / 64 * 64, padded16 = (hw + 127) / 128 * 128;
        bool lp16 = padded16 * 2 <= padded8 * 3;
        if (row3_) lp16 = (hw + 15) / 16 * 16 * 2 <= (hw + 7) / 8 * 8 * 3;
        if (mode && std::strcmp(mode, "lp8") == 0) lp16 = false;
        if (mode && std::strcmp(mode, "lp16") == 0) lp16 = true;
        if (lanes && lp16) shader_ = Shader::Float32Lanes16;
        pixels_ = shader_ == Shader::Float32Lanes16 ? 16 : 8;
        if (naive || !finite || (!lanes && s.groups > 1 && cout_g < 8)) shader_ = Shader::Float32;
        if (shader_ == Shader::Float32) {
            QGPU_TRY(dev_->upload(plan_.weights_f32.data(), plan_.weights_f32.size() * sizeof(float), &weights_));
            QGPU_TRY(dev_->upload(plan_.bias_f32.data(), plan_.bias_f32.size() * sizeof(float), &params_));
            return init_descriptors(Shader::Float32);
        }
        // [block][cin_g][tap][8 channels], blocks of 8 channels inside a group (last one padded)
        per_group_ = (cout_g + 7) / 8;
        blocks_ = s.groups * per_group_;
        const int64_t wcount = int64_t(blocks_) * cin_g * taps * 8;
        if (wcount >= kMaxIndex)
            return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: the convolution's weights are too large");
        std::vector<float> packed(size_t(wcount), 0.0f), bias(size_t(blocks_) * 8, 0.0f);
        for (int32_t b = 0; b < blocks_; ++b) {
            const int32_t g = b / per_group_, c0 = (b % per_group_) * 8;
            for (int32_t c = 0; c < 8 && c0 + c < cout_g; ++c) {
                const int32_t o = g * cout_g + c0 + c;
                bias[size_t(b) * 8 + c] = plan_.bias_f32[size_t(o)];
                for (int32_t i = 0; i < cin_g; ++i)
                    for (int32_t t = 0; t < taps; ++t)
                        packed[((size_t(b) * cin_g + i) * taps + t) * 8 + c] =
                            plan_.weights_f32[(size_t(o) * cin_g + i) * taps + t];
            }
        }
        QGPU_TRY(dev_->upload(packed.data(), packed.size() * sizeof(float), &weights_));
        QGPU_TRY(dev_->upload(bias.data(), bias.size() * sizeof(float), &params_));
        return init_descriptors(shader_);
    }

    Status run(const TensorRef& input, const TensorRef& output) override {
        const ConvShape& s = plan_.shape;
        const int64_t pixels = int64_t(input.desc.n) * s.out_h * s.out_w;
        const int64_t total = pixels * s.out_c;
        if (total >= kMaxIndex || int64_t(input.desc.count()) >= kMaxIndex)
            return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: tensors of 2^31 elements or more are not supported");
        PushF32 pc{};
        pc.a[0] = s.in_c; pc.a[1] = s.in_h; pc.a[2] = s.in_w; pc.a[3] = s.out_c;
        pc.b[0] = s.out_h; pc.b[1] = s.out_w; pc.b[2] = s.in_c_per_group(); pc.b[3] = s.out_c_per_group();
        pc.c[0] = s.kernel_h; pc.c[1] = s.kernel_w; pc.c[2] = s.stride_h; pc.c[3] = s.stride_w;
        pc.d[0] = s.dilation_h; pc.d[1] = s.dilation_w; pc.d[2] = s.pad_top; pc.d[3] = s.pad_left;
        pc.e[0] = int32_t(total); pc.e[1] = int32_t(plan_.activation);
        pc.g[0] = plan_.act_min; pc.g[1] = plan_.act_max; pc.g[2] = plan_.leaky_slope;
        uint32_t gx = 1, gz = 1;
        if (shader_ == Shader::Float32) {
            QGPU_TRY(dispatch_size(*dev_, (total + kLocalSize - 1) / kLocalSize, &gx, &gz));
            return dispatch(input, output, &pc, gx, 1, gz);
        }
        pc.e[0] = int32_t(pixels); pc.e[2] = blocks_; pc.e[3] = per_group_;
        // 1x1 kernel whose taps all lie inside the input (pad 0 at the top/left, and none of
        // the bottom/right padding reached): the shader's branch without bounds checks
        pc.pad[0] = s.kernel_h == 1 && s.kernel_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
                    int64_t(s.out_h - 1) * s.stride_h < s.in_h && int64_t(s.out_w - 1) * s.stride_w < s.in_w;
        // 8 units per workgroup, each 8 x pixels_ pixels (row path: 8 chunks of pixels_ pixels of
        // a row) x one block of 8 channels
        const int64_t per_unit = int64_t(pixels_) * 8;
        int64_t units = (pixels + per_unit - 1) / per_unit * blocks_;
        if (row3_) {
            const int64_t chunks = (s.out_w + pixels_ - 1) / pixels_;
            const int64_t rows_chunks = int64_t(input.desc.n) * s.out_h * chunks;
            if (rows_chunks >= kMaxIndex)
                return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: the convolution has too many output pixels");
            pc.pad[1] = 1; pc.pad[2] = int32_t(rows_chunks); pc.pad[3] = int32_t(chunks);
            units = (rows_chunks + 7) / 8 * blocks_;
        }
        if (units >= kMaxIndex / 8)
            return fail(QGPU_ERROR_UNSUPPORTED, "vulkan: the convolution has too many output pixels x channels");
        QGPU_TRY(dispatch_size(*dev_, (units + 7) / 8, &gx, &gz));
        return dispatch(input, output, &pc, gx, 1, gz);
    }

private:
    ConvPlan plan_;
    Shader shader_ = Shader::Float32;
    int32_t blocks_ = 0, per_group_ = 0, pixels_ = 8;  // pixels_: LP of the shader
    bool row3_ = false;
};

}  // namespace

Status create_int8_conv(VulkanDevice* device, const ConvPlan& plan, std::unique_ptr<ConvKernel>* out) {
    auto k = std::make_unique<Int8Conv>(device, plan);
    QGPU_TRY(k->init());
    *out = std::move(k);
    return QGPU_OK;
}

Status create_f32_conv(VulkanDevice* device, const ConvPlan& plan, std::unique_ptr<ConvKernel>* out) {
    auto k = std::make_unique<F32Conv>(device, plan);
    QGPU_TRY(k->init());
    *out = std::move(k);
    return QGPU_OK;
}

}  // namespace vulkan
}  // namespace qgpu
