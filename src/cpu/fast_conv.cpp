// The fast CPU convolution: everything that does not depend on the instruction set. Weights are
// packed once at creation into the layout of the selected kernels; each run repacks the input
// once into a zero-point-padded copy (so no kernel ever tests image borders), then runs the
// ISA kernels over the persistent thread pool.
//
// Int8 GEMM (every conv but depthwise): output pixels x output channels, reduction over
// (ky, kx, channel word) read straight from the padded copy at precomputed offsets (implicit
// GEMM, no im2col). With WORD_U8X4 (vpdpbusd) the copy holds x + 128 and the padding z_x + 128,
// so acc = dot - (128 + z_x) * sum(w) is exactly sum over in-image taps of (x - z_x) * w (a
// padding tap adds (z_x + 128) * w, which the correction removes). With WORD_I16X2 the copy
// holds x - z_x and the padding 0. fp32 convs use the same GEMM with float words.
// Depthwise: a per-channel kernel over a padded float copy of x - z_x (exact, see
// kernels_impl.h).
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>

#include "core/layout.h"
#include "cpu/cpu_kernel.h"
#include "cpu/isa_kernels.h"

namespace qgpu {
namespace cpu {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A conv below this many MACs runs on the calling thread alone (a few microseconds of work:
// the hand-off to another core, ~1 us on the 2-vCPU VM, would not pay). Measured there:
// r18_ds / sq_squeeze (6 M MACs) 22 -> 13 and 31 -> 18 us, mv2_dw (4 M) 75 -> 52 us on two
// threads with 1 M; 512 K and 2-4 M gave the same times.
constexpr int64_t kInlineMacs = int64_t(1) << 20;

// 64-byte aligned scratch memory that only grows.
class Scratch {
public:
    ~Scratch() { std::free(data_); }
    uint8_t* get(size_t bytes) {
        if (bytes > size_) {
            std::free(data_);
            data_ = nullptr;
            size_ = 0;
            void* p = nullptr;
            if (posix_memalign(&p, 64, (bytes + 63) & ~size_t(63)) != 0) return nullptr;
            data_ = static_cast<uint8_t*>(p);
            size_ = bytes;
        }
        return data_;
    }

private:
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

// Output-stage arrays for `blocks` vector blocks of `lanes` channels; chan(b, lane) gives the
// conv's output channel or -1 for a padding lane.
// entries is a whole number of `lanes`-wide blocks; one_shift: IsaKernels::one_shift_requant.
struct OutArrays {
    std::vector<int32_t> add, m0, ls, rs, m0n, lsn, rsn, rmask, rmaskn, ybias;
    std::vector<float> scale, bias;
    std::vector<int64_t> k64, s64;

    template <class ChanFn>
    // extra_add (optional, per output channel): added to `add` (GemmConv's border rows)
    void build(const ConvPlan& plan, int32_t mode, int32_t format, int64_t entries, int32_t lanes,
               int32_t one_shift, ChanFn chan, OutParams* op, const int32_t* extra_add = nullptr) {
        const size_t n = size_t(entries);
        add.assign(n, 0); m0.assign(n, 0); ls.assign(n, 0); rs.assign(n, 0);
        m0n.assign(n, 0); lsn.assign(n, 0); rsn.assign(n, 0); rmask.assign(n, 0); rmaskn.assign(n, 0);
        scale.assign(n, 0.0f); bias.assign(n, 0.0f);
        const int32_t zx = plan.input_quant.zero_point;
        int32_t any_left = 0;
        for (int64_t i = 0; i < entries; ++i) {
            const int32_t c = chan(i);
            if (c < 0) continue;
            const size_t cc = size_t(c);
            bias[size_t(i)] = plan.bias_f32[cc];
            if (plan.precision == QGPU_PRECISION_FLOAT32) continue;
            const int32_t corr = format == WORD_U8X4   ? (128 + zx) * plan.weight_sums[cc]
                                 : format == WORD_S8X4 ? zx * plan.weight_sums[cc]
                                                       : 0;
            scale[size_t(i)] = plan.dequant_scale[cc];
            const int32_t extra = extra_add ? extra_add[cc] : 0;
            if (mode == OUT_INT8) {
                add[size_t(i)] = plan.bias_q[cc] - corr + extra;
                m0[size_t(i)] = plan.m0[cc];
                ls[size_t(i)] = plan.shift[cc] > 0 ? plan.shift[cc] : 0;
                rs[size_t(i)] = plan.shift[cc] > 0 ? 0 : -plan.shift[cc];
                m0n[size_t(i)] = plan.m0_neg[cc];
                lsn[size_t(i)] = plan.shift_neg[cc] > 0 ? plan.shift_neg[cc] : 0;
                rsn[size_t(i)] = plan.shift_neg[cc] > 0 ? 0 : -plan.shift_neg[cc];
                rmask[size_t(i)] = int32_t((int64_t(1) << rs[size_t(i)]) - 1);
                rmaskn[size_t(i)] = int32_t((int64_t(1) << rsn[size_t(i)]) - 1);
                if (ls[size_t(i)] > 0 || (plan.leaky() && lsn[size_t(i)] > 0)) any_left = 1;
            } else {
                add[size_t(i)] = -corr + extra;
            }
        }
        op->mode = mode;
        op->add = add.data(); op->m0 = m0.data(); op->lshift = ls.data(); op->rshift = rs.data();
        op->m0n = m0n.data(); op->lshiftn = lsn.data(); op->rshiftn = rsn.data();
        op->rmask = rmask.data(); op->rmaskn = rmaskn.data();
        op->any_left = any_left;
        op->leaky = plan.leaky() ? 1 : 0;
        op->zp = plan.output_quant.zero_point;
        op->lo = plan.qmin - op->zp;
        op->hi = plan.qmax - op->zp;
        op->scale = scale.data();
        op->bias = bias.data();
        op->fact = FACT_NONE;
        switch (plan.activation) {
            case QGPU_ACTIVATION_RELU:
                op->fact = FACT_CLAMP; op->act_lo = 0.0f; op->act_hi = __builtin_inff(); break;
            case QGPU_ACTIVATION_RELU6:
                op->fact = FACT_CLAMP; op->act_lo = 0.0f; op->act_hi = 6.0f; break;
            case QGPU_ACTIVATION_CLAMP:
                op->fact = FACT_CLAMP; op->act_lo = plan.act_min; op->act_hi = plan.act_max; break;
            case QGPU_ACTIVATION_LEAKY_RELU:
                op->fact = FACT_LEAKY; op->slope = plan.leaky_slope; break;
            default: break;
        }
        op->requant_form = RQ_STEPS;
        if (one_shift != ONE_SHIFT_NONE && mode == OUT_INT8) build_one_shift(plan, entries, lanes, one_shift, chan, op);
    }

    // requant.h requantize_one_shift with zp (and, where qmin >= zp, `add`) folded into one
    // 64-bit addend per channel: for layers whose every channel shifts right by 1..23 (M in
    // [2^-24, 0.5): nearly every conv) or has m0 = 0, and no LeakyReLU.
    template <class ChanFn>
    void build_one_shift(const ConvPlan& plan, int64_t entries, int32_t lanes, int32_t kind, ChanFn chan,
                         OutParams* op) {
        if (plan.leaky()) return;
        for (int64_t i = 0; i < entries; ++i) {
            const int32_t c = chan(i);
            if (c >= 0 && plan.m0[size_t(c)] != 0 && (plan.shift[size_t(c)] > -1 || plan.shift[size_t(c)] < -23))
                return;
        }
        const bool folded = plan.qmin >= op->zp;
        k64.assign(size_t(entries), 0);
        s64.assign(size_t(entries), 0);
        if (kind == ONE_SHIFT_UNSIGNED) ybias.assign(size_t(entries), 0);
        for (int64_t i = 0; i < entries; ++i) {
            const int64_t lane = i % lanes, at = i - lane + (lane % 2 ? lanes / 2 : 0) + lane / 2;
            const int32_t c = chan(i);
            // padding lanes: m0 = 0, so the lane computes zp (never stored)
            const int32_t shift = c >= 0 && plan.m0[size_t(c)] != 0 ? plan.shift[size_t(c)] : -1;
            const int64_t s = 31 - shift;
            int64_t k = arith::requantize_one_shift_addend(shift) + int64_t(op->zp) * (int64_t(1) << s);
            if (folded) k += int64_t(add[size_t(i)]) * m0[size_t(i)];
            if (kind == ONE_SHIFT_UNSIGNED) {  // + 2^63 (wrapping); the result is 2^(63 - s) up
                k = int64_t(uint64_t(k) + (uint64_t(1) << 63));
                ybias[size_t(i)] = int32_t(uint32_t(uint64_t(1) << (63 - s)));
            }
            k64[size_t(at)] = k;
            s64[size_t(at)] = lane % 2 ? s - 32 : s;
        }
        op->requant_form = folded ? RQ_ONE_SHIFT_FOLDED : RQ_ONE_SHIFT;
        op->k64 = k64.data();
        op->s64 = s64.data();
        op->ybias = kind == ONE_SHIFT_UNSIGNED ? ybias.data() : nullptr;
    }
};

int32_t out_mode(const ConvPlan& plan) {
    if (plan.precision == QGPU_PRECISION_FLOAT32) return OUT_F32;
    return plan.output_dtype == QGPU_DTYPE_INT8 ? OUT_INT8 : OUT_F32_DEQ;
}

// Fills the NHWC4 padding channels [out_c, c4) of pixels [m0, m1) with the zero point.
void fill_out_padding(const ConvPlan& plan, int8_t* img, int64_t m0, int64_t m1) {
    const int32_t c = plan.shape.out_c, c4 = round_up4(c);
    if (c4 == c) return;
    const int8_t zp = int8_t(plan.output_quant.zero_point);
    for (int64_t m = m0; m < m1; ++m)
        for (int32_t k = c; k < c4; ++k) img[m * c4 + k] = zp;
}

// ---- GEMM path --------------------------------------------------------------------------------

class GemmConv final : public ConvKernel {
public:
    GemmConv(const ConvPlan& plan, ThreadPool* pool, const IsaKernels* k) : plan_(plan), pool_(pool), k_(k) {
        const ConvShape& s = plan.shape;
        G_ = s.groups;
        cin_g_ = s.in_c_per_group();
        cout_g_ = s.out_c_per_group();
        fmt_ = plan.precision == QGPU_PRECISION_FLOAT32 ? WORD_F32 : k->int8_format;
        cpw_ = (fmt_ == WORD_U8X4 || fmt_ == WORD_S8X4) ? 4 : fmt_ == WORD_I16X2 ? 2 : 1;
        esize_ = 4 / cpw_;
        // groups == 1 int8: the whole NHWC4 pixel, so a row copies in one contiguous sweep
        const int32_t cpad = (G_ == 1 && fmt_ != WORD_F32) ? round_up4(s.in_c)
                                                          : int32_t(ceil_div(cin_g_, cpw_) * cpw_);
        words_ = cpad / cpw_;
        pb_ = int64_t(words_) * 4;
        hp_ = s.in_h + s.pad_top + s.pad_bottom;
        wp_ = s.in_w + s.pad_left + s.pad_right;
        M_ = int64_t(s.out_h) * s.out_w;
        taps_ = s.kernel_h * s.kernel_w;
        // Few input channels (a stem: 3 channels, 7 wide): a packed row holds the pixels'
        // channels back to back, and one "tap" is a whole kernel row, read as
        // ceil(kernel_w * in_c / 4) words straight across its pixels (6 words for 7 x 3 bytes,
        // instead of 7 words each a pixel with one padding channel); the weights of the bytes
        // past the kernel row are 0. Each row has 4 bytes of slack for the last word's overrun.
        flat_ = G_ == 1 && (fmt_ == WORD_U8X4 || fmt_ == WORD_S8X4) && s.kernel_w > 1 && s.dilation_w == 1 &&
                ceil_div(int64_t(s.kernel_w) * s.in_c, 4) < int64_t(s.kernel_w) * ceil_div(s.in_c, 4);
        if (flat_) {
            words_ = int32_t(ceil_div(int64_t(s.kernel_w) * s.in_c, 4));
            pb_ = s.in_c;
            row_ = wp_ * pb_ + 4;
            taps_ = s.kernel_h;
            for (int32_t ky = 0; ky < s.kernel_h; ++ky) tap_off_.push_back(int64_t(ky) * s.dilation_h * row_);
        } else {
            row_ = wp_ * pb_;
            for (int32_t ky = 0; ky < s.kernel_h; ++ky)
                for (int32_t kx = 0; kx < s.kernel_w; ++kx)
                    tap_off_.push_back(int64_t(ky) * s.dilation_h * row_ + int64_t(kx) * s.dilation_w * pb_);
        }
        gb_ = (hp_ * row_ + 63) & ~int64_t(63);
        ib_ = gb_ * G_;
        // the padded rows and the input columns some tap reads (a stride-2 1x1 conv reads a
        // quarter of its input: the rest is not packed)
        row_read_.assign(size_t(hp_), 0);
        std::vector<uint8_t> col_read(size_t(wp_), 0);
        for (int32_t oy = 0; oy < s.out_h; ++oy)
            for (int32_t ky = 0; ky < s.kernel_h; ++ky) row_read_[size_t(oy * s.stride_h + ky * s.dilation_h)] = 1;
        for (int32_t ox = 0; ox < s.out_w; ++ox)
            for (int32_t kx = 0; kx < s.kernel_w; ++kx) col_read[size_t(ox * s.stride_w + kx * s.dilation_w)] = 1;
        for (int32_t x = 0; x < s.in_w; ++x)
            if (col_read[size_t(x + s.pad_left)]) in_cols_read_.push_back(x);
        // 1x1 int8 convs without padding read one input pixel per output pixel: in place where
        // the ISA can (raw_gemm_), else from a copy of just those, in output order, which each
        // task packs strip by strip right before using them (L1-hot, no separate pass over the
        // image; a stride-2 layer copies a quarter of its input)
        direct_ = taps_ == 1 && G_ == 1 && fmt_ != WORD_F32 && s.pad_top == 0 && s.pad_left == 0 &&
                  s.pad_bottom == 0 && s.pad_right == 0;
        // direct 1x1 convs read the input image in place where the ISA can: pixel m at its NHWC4
        // offset in the image. S8X4 words are the raw bytes; U8X4 needs a kernel that flips them.
        raw_gemm_ = !direct_ ? nullptr : fmt_ == WORD_S8X4 ? k->gemm_int : fmt_ == WORD_U8X4 ? k->gemm_int_direct : nullptr;
        pix_off_.resize(size_t(M_));
        for (int32_t oy = 0; oy < s.out_h; ++oy)
            for (int32_t ox = 0; ox < s.out_w; ++ox)
                pix_off_[size_t(oy) * s.out_w + ox] =
                    raw_gemm_ ? (int64_t(oy) * s.stride_h * s.in_w + int64_t(ox) * s.stride_w) * pb_
                    : direct_ ? (int64_t(oy) * s.out_w + ox) * pb_
                              : int64_t(oy) * s.stride_h * row_ + int64_t(ox) * s.stride_w * pb_;

        const int32_t L = k->lanes;
        nblocks_ = int32_t(ceil_div(cout_g_, L));
        const int32_t ob = block_group_size();
        for (int32_t b0 = 0; b0 < nblocks_; b0 += ob) bgroups_.push_back({b0, std::min(ob, nblocks_ - b0)});
        // few pixels (under 16 of the widest tiles): tasks split the channels instead, where
        // that keeps each thread's output bytes on cache lines of their own
        split_direct_ = raw_gemm_ && bgroups_.size() > 1 && M_ < 16 * int64_t(k->tile_quant) && s.out_c % 64 == 0 &&
                        (int64_t(ob) * L) % 64 == 0;
        pack_weights();

        build_outs(&outs_, &gp_.out, nullptr);
        gp_.words = words_;
        gp_.taps = taps_;
        gp_.tap_off = tap_off_.data();
        gp_.pix_off = pix_off_.data();
        gp_.pix_stride = raw_gemm_ && s.stride_h == 1 && s.stride_w == 1 ? pb_ : 0;
        gp_.M = M_;
        gp_.weights = weights_.data();
        gp_.blocks_per_group = nblocks_;
        gp_.cout_g = cout_g_;
        gp_.out_c = s.out_c;
        gp_.out_c4 = round_up4(s.out_c);
        build_row_bands();
    }

    Status run(const TensorRef& input, const TensorRef& output) override {
        const ConvShape& s = plan_.shape;
        const int32_t n = input.desc.n;
        std::lock_guard<std::mutex> lock(mutex_);
        const void* in = host_data(input);
        // Task count: a multiple of the thread count, up to 8 per thread, each task at least
        // kTaskMacs (a few microseconds: dispatch and wake-up cost far less).
        constexpr int64_t kTaskMacs = int64_t(1) << 21;
        const int64_t threads = pool_->size();
        const int64_t macs = int64_t(n) * G_ * M_ * cout_g_ * taps_ * words_ * cpw_;
        const int64_t want = macs < kInlineMacs ? 1 : threads * std::min<int64_t>(8, std::max<int64_t>(1, macs / (threads * kTaskMacs)));
        // tasks: (image, group, block group, pixel chunk), chunks sized for `want` tasks; direct
        // 1x1 convs: (image, pixel chunk), each running every block group on its strips, unless
        // split_direct_ on several threads
        const int64_t nbg = int64_t(bgroups_.size());
        const int64_t ubg = direct_ && !(split_direct_ && threads > 1) ? 1 : nbg;
        const int64_t units = int64_t(n) * G_ * ubg;
        const int64_t quant = k_->tile_quant;
        // (one thread: no pixel chunks, which only add partial tiles)
        int64_t chunks = threads == 1 ? 1 : std::max<int64_t>(1, std::min(ceil_div(want, units), ceil_div(M_, quant)));
        // a task count the threads share evenly (3 block groups on 2 threads: 6 tasks, not 3)
        while ((units * chunks) % threads != 0 && chunks < ceil_div(M_, quant)) ++chunks;
        // chunks of whole tiles; of whole rows where border rows run their own parameters and
        // rows are short (a chunk end inside a 7-pixel row cost a partial tile on each side)
        const int64_t unit_px = bands_.size() > 1 && s.out_w <= 2 * quant ? s.out_w : quant;
        const int64_t chunk = ceil_div(ceil_div(M_, chunks), unit_px) * unit_px;
        chunks = ceil_div(M_, chunk);
        // direct 1x1 convs run strip by strip; where they cannot read the input in place (no
        // raw_gemm_), each task packs a strip at a time into a small buffer of its own, reused
        // for every strip (it stays in L1; a whole-image copy sent as many bytes as the input
        // through L2 again: sq_squeeze, mv2_project); the others pack the whole padded input
        const int64_t strip = 2 * quant;  // pixels: a few KiB of input
        const int64_t strip_bytes = (strip * pb_ + 63) & ~int64_t(63);
        const int64_t scratch_bytes = raw_gemm_ ? 0 : direct_ ? units * chunks * strip_bytes : ib_ * n;
        uint8_t* packed = raw_gemm_ ? nullptr : scratch_.get(size_t(scratch_bytes));
        if (!raw_gemm_ && !packed)
            return failf(QGPU_ERROR_OUT_OF_MEMORY, "cpu: cannot allocate %lld bytes of scratch",
                         static_cast<long long>(scratch_bytes));
        if (!direct_) {
            const int64_t pack_rows = int64_t(n) * G_ * hp_;
            const int64_t pack_tasks = want == 1 ? 1 : std::min(pack_rows, threads * 2);
            const int64_t pack_chunk = ceil_div(pack_rows, pack_tasks);
            pool_->parallel_for(ceil_div(pack_rows, pack_chunk), want == 1, [&](int64_t job) {
                for (int64_t r = job * pack_chunk; r < std::min(pack_rows, (job + 1) * pack_chunk); ++r) {
                    const int64_t yp = r % hp_, ig = r / hp_;
                    if (row_read_[size_t(yp)]) pack_row(in, packed, int32_t(ig / G_), int32_t(ig % G_), int32_t(yp));
                }
            });
        }
        const bool int8_out = gp_.out.mode == OUT_INT8;
        void* out = host_data(output);
        const auto gemm = fmt_ == WORD_F32 ? k_->gemm_f32 : k_->gemm_int;
        pool_->parallel_for(units * chunks, want == 1, [&](int64_t job) {
            const int64_t mc = job % chunks, u = job / chunks;
            const int64_t bg = u % ubg, ig = u / ubg;
            const int32_t g = int32_t(ig % G_), img = int32_t(ig / G_);
            const int64_t m0 = mc * chunk, m1 = std::min(M_, m0 + chunk);
            void* out_img = int8_out ? static_cast<void*>(static_cast<int8_t*>(out) + int64_t(img) * M_ * gp_.out_c4)
                                     : static_cast<void*>(static_cast<float*>(out) + int64_t(img) * s.out_c * M_);
            // direct_: the input image, read in place by raw_gemm_ (pixel m at in_img + pix_off[m])
            const uint8_t* in_img =
                direct_ ? static_cast<const uint8_t*>(in) + nhwc4_offset(s.in_h, s.in_w, int32_t(pb_), img, 0, 0, 0) : nullptr;
            if (direct_ && ubg == 1) {
                // strip by strip (each strip in L1 for all the block groups), of equal size (at
                // most `strip`): 49 pixels as 25 + 24, not 48 + 1 (a one-pixel strip costs a
                // whole tile per block group); in place with one block group: the whole chunk
                uint8_t* buf = raw_gemm_ ? nullptr : packed + job * strip_bytes;
                const int64_t nstrips = raw_gemm_ && nbg == 1 ? 1 : ceil_div(m1 - m0, strip);
                for (int64_t si = 0; si < nstrips; ++si) {
                    const int64_t a = m0 + (m1 - m0) * si / nstrips, b = m0 + (m1 - m0) * (si + 1) / nstrips;
                    if (raw_gemm_) {
                        for (const auto& bgp : bgroups_) raw_gemm_(gp_, in_img, out_img, g, bgp.first, bgp.second, a, b);
                        continue;
                    }
                    pack_pixels(in, buf, img, a, b);
                    // the kernels read pixel m at in + pix_off[m] = in + m * pb_: the strip's
                    // first pixel, a, is at buf (address arithmetic only; nothing is read
                    // outside the buffer)
                    const uint8_t* in_strip = reinterpret_cast<const uint8_t*>(reinterpret_cast<uintptr_t>(buf) - uintptr_t(a * pb_));
                    for (const auto& bgp : bgroups_) gemm(gp_, in_strip, out_img, g, bgp.first, bgp.second, a, b);
                }
            } else if (raw_gemm_) {  // split_direct_: one block group, the input in place
                raw_gemm_(gp_, in_img, out_img, g, bgroups_[size_t(bg)].first, bgroups_[size_t(bg)].second, m0, m1);
            } else {
                const uint8_t* in_g = packed + int64_t(img) * ib_ + int64_t(g) * gb_;
                for (const RowBand& band : bands_) {
                    const int64_t a = std::max(m0, band.m0), b = std::min(m1, band.m1);
                    if (a < b) gemm(*band.gp, in_g, out_img, g, bgroups_[size_t(bg)].first, bgroups_[size_t(bg)].second, a, b);
                }
            }
            if (int8_out && g == G_ - 1 && bg == ubg - 1)
                fill_out_padding(plan_, static_cast<int8_t*>(out_img), m0, m1);
        });
        return QGPU_OK;
    }

private:
    void pack_weights() {
        const ConvShape& s = plan_.shape;
        const int32_t L = k_->lanes;
        const int64_t VB = int64_t(L) * 4;
        // words of one lane packed together (isa_kernels.h): [tap][word group][block][lane][wg]
        const int32_t wg = fmt_ == WORD_F32 ? 1 : k_->int8_word_group;
        const int64_t ngw = ceil_div(words_, wg);
        const int64_t K = int64_t(taps_) * ngw * wg;
        weights_.assign(size_t(int64_t(G_) * nblocks_ * K * VB), 0);
        for (int32_t g = 0; g < G_; ++g)
            for (const auto& bgp : bgroups_) {
                const int32_t b0 = bgp.first, nb = bgp.second;
                uint8_t* base = weights_.data() + (int64_t(g) * nblocks_ + b0) * K * VB;
                for (int32_t t = 0; t < taps_; ++t)
                    for (int32_t i = 0; i < words_; ++i)
                        for (int32_t ob = 0; ob < nb; ++ob)
                            for (int32_t lane = 0; lane < L; ++lane) {
                                const int32_t local = (b0 + ob) * L + lane;
                                if (local >= cout_g_) continue;
                                const int64_t oc = int64_t(g) * cout_g_ + local;
                                uint8_t* dst = base + ((int64_t(t) * ngw + i / wg) * nb + ob) * VB * wg +
                                               (int64_t(lane) * wg + i % wg) * 4;
                                for (int32_t j = 0; j < cpw_; ++j) {
                                    int64_t src;  // OIHW
                                    if (flat_) {  // byte 4 i + j of kernel row t: (kx, channel)
                                        const int32_t e = i * cpw_ + j, kx = e / cin_g_, ic = e % cin_g_;
                                        if (kx >= s.kernel_w) continue;
                                        src = ((oc * cin_g_ + ic) * s.kernel_h + t) * s.kernel_w + kx;
                                    } else {
                                        const int32_t ic = i * cpw_ + j;
                                        if (ic >= cin_g_) continue;
                                        src = (oc * cin_g_ + ic) * taps_ + t;
                                    }
                                    if (fmt_ == WORD_U8X4 || fmt_ == WORD_S8X4) {
                                        dst[j] = uint8_t(plan_.weights_q[size_t(src)]);
                                    } else if (fmt_ == WORD_I16X2) {
                                        const int16_t v = plan_.weights_q[size_t(src)];
                                        std::memcpy(dst + 2 * j, &v, 2);
                                    } else {
                                        std::memcpy(dst, &plan_.weights_f32[size_t(src)], 4);
                                    }
                                }
                            }
            }
    }

    // The output-stage arrays of the packed blocks: entry (group, block, lane) is output channel
    // g * cout_g + block * lanes + lane (-1 past cout_g); extra_add: GemmConv's border rows.
    void build_outs(OutArrays* outs, OutParams* op, const int32_t* extra_add) {
        const int32_t L = k_->lanes, cout_g = cout_g_, nblocks = nblocks_;
        outs->build(plan_, out_mode(plan_), fmt_, int64_t(G_) * nblocks * L, L, k_->one_shift_requant, [&](int64_t i) {
            const int64_t gb = i / L, lane = i % L;
            const int64_t g = gb / nblocks, local = (gb % nblocks) * L + lane;
            return local < cout_g ? int32_t(g * cout_g + local) : -1;
        }, op, extra_add);
    }

    // The kernel rows [lo, hi] of output row oy that read image rows (the others read padding).
    void valid_kernel_rows(int32_t oy, int32_t* lo, int32_t* hi) const {
        const ConvShape& s = plan_.shape;
        const int32_t iy0 = oy * s.stride_h - s.pad_top;
        *lo = 0;
        *hi = s.kernel_h - 1;
        while (*lo < s.kernel_h && iy0 + *lo * s.dilation_h < 0) ++*lo;
        while (*hi >= 0 && iy0 + *hi * s.dilation_h >= s.in_h) --*hi;
    }
    bool skips_border_rows() const {
        const ConvShape& s = plan_.shape;
        return fmt_ != WORD_F32 && !direct_ && s.kernel_h > 1 && (s.pad_top > 0 || s.pad_bottom > 0);
    }

    // Blocks per block group: the ISA's most, or one fewer where its tiles then waste fewer
    // pixel slots on the rows of equal kernel-row count (build_row_bands): a 7 x 7 layer in
    // 7-pixel tiles of 3 blocks instead of 5 + 2 of 4 blocks; measured 9 % faster on r18_l4.
    // The wider groups read weights more economically (3 % on big layers), hence the margin.
    int32_t block_group_size() const {
        const ConvShape& s = plan_.shape;
        const int32_t most = k_->max_blocks;
        const auto groups_of = [&](int32_t size) { return int32_t(ceil_div(nblocks_, ceil_div(nblocks_, size))); };
        if (!k_->tile_slots || most < 3 || direct_) return groups_of(most);
        // runs of output rows with the same number of valid kernel rows
        std::vector<std::pair<int64_t, int32_t>> runs;  // (pixels, kernel rows)
        const bool skip = skips_border_rows();
        for (int32_t oy = 0; oy < s.out_h; ++oy) {
            int32_t lo = 0, hi = s.kernel_h - 1;
            if (skip) valid_kernel_rows(oy, &lo, &hi);
            const int32_t rows = lo <= hi ? hi - lo + 1 : s.kernel_h;
            if (!runs.empty() && runs.back().second == rows) runs.back().first += s.out_w;
            else runs.push_back({s.out_w, rows});
        }
        const auto cost = [&](int32_t size) {
            double c = 0;
            for (int32_t b0 = 0; b0 < nblocks_; b0 += size) {
                const int32_t nb = std::min(size, nblocks_ - b0);
                for (const auto& r : runs) c += double(k_->tile_slots(nb, r.first)) * r.second * nb;
            }
            return c;
        };
        const int32_t a = groups_of(most), b = groups_of(most - 1);
        return b < a && cost(b) * 1.03 < cost(a) ? b : a;
    }

    // Output rows whose kernel window reaches into the top or bottom padding run only their
    // valid kernel rows (as oneDNN does: on a 7x7 layer with 3x3 kernels that is 2 rows of 9
    // taps in 7 less work). What the skipped taps would have added is a constant, since the
    // padding rows hold one value in every byte: pad * (sum of those kernel rows' weights),
    // folded into the output stage's `add`, so the bytes are the reference's.
    void build_row_bands() {
        const ConvShape& s = plan_.shape;
        const bool skip = skips_border_rows();
        const int32_t zx = plan_.input_quant.zero_point, kh = s.kernel_h;
        const int64_t pad = fmt_ == WORD_U8X4 ? 128 + zx : fmt_ == WORD_S8X4 ? zx : 0;
        const int32_t per_row = flat_ ? 1 : s.kernel_w;  // taps per kernel row
        std::vector<int64_t> rowsum(size_t(s.out_c) * kh, 0);  // [c][ky]: sum of w over (ic, kx)
        if (skip)
            for (int32_t c = 0; c < s.out_c; ++c)
                for (int32_t ic = 0; ic < cin_g_; ++ic)
                    for (int32_t ky = 0; ky < kh; ++ky)
                        for (int32_t kx = 0; kx < s.kernel_w; ++kx)
                            rowsum[size_t(c) * kh + ky] +=
                                plan_.weights_q[((size_t(c) * cin_g_ + ic) * kh + ky) * s.kernel_w + kx];
        for (int32_t oy = 0; oy < s.out_h; ++oy) {
            int32_t lo = 0, hi = kh - 1;
            valid_kernel_rows(oy, &lo, &hi);
            const GemmParams* gp = &gp_;
            if (skip && lo <= hi && (lo > 0 || hi < kh - 1)) {
                RowVariant* v = nullptr;
                for (RowVariant& r : variants_)
                    if (r.ky_lo == lo && r.ky_hi == hi) v = &r;
                if (!v) {
                    std::vector<int32_t> extra(size_t(s.out_c), 0);
                    bool fits = true;
                    for (int32_t c = 0; c < s.out_c; ++c) {
                        int64_t e = 0;
                        for (int32_t ky = 0; ky < kh; ++ky)
                            if (ky < lo || ky > hi) e += pad * rowsum[size_t(c) * kh + ky];
                        // (add = bias_q - correction + e must stay an int32, as the full-tap add is)
                        const int64_t add = int64_t(plan_.bias_q.empty() ? 0 : plan_.bias_q[size_t(c)]) + e -
                                            pad * int64_t(plan_.weight_sums[size_t(c)]);
                        fits = fits && add >= INT32_MIN && add <= INT32_MAX && e >= INT32_MIN && e <= INT32_MAX;
                        extra[size_t(c)] = int32_t(e);
                    }
                    if (fits) {
                        variants_.emplace_back();
                        v = &variants_.back();
                        v->ky_lo = lo;
                        v->ky_hi = hi;
                        v->gp = gp_;
                        v->gp.tap0 = lo * per_row;
                        v->gp.taps = (hi - lo + 1) * per_row;
                        v->gp.taps_packed = taps_;
                        build_outs(&v->outs, &v->gp.out, extra.data());
                    }
                }
                if (v) gp = &v->gp;
            }
            const int64_t m0 = int64_t(oy) * s.out_w, m1 = m0 + s.out_w;
            if (!bands_.empty() && bands_.back().gp == gp) bands_.back().m1 = m1;
            else bands_.push_back({m0, m1, gp});
        }
    }

    // Whole NHWC4 pixels into the byte word formats: U8X4 (VNNI) flips the sign bit, x + 128
    // as u8 (at the ISA's vector width where it has one); S8X4 (NEON) keeps x.
    void copy_words(const uint8_t* src, uint8_t* dst, int64_t bytes) const {
        if (fmt_ == WORD_S8X4) std::memcpy(dst, src, size_t(bytes));
        else if (k_->flip_copy) k_->flip_copy(src, dst, bytes);
        else for (int64_t i = 0; i < bytes; ++i) dst[i] = uint8_t(src[i] ^ 0x80u);
    }

    // Direct 1x1 convs: the input pixels of output pixels [m0, m1) of image img, in output
    // order from `dst` on (pixel m0 first), in the int8 word format.
    void pack_pixels(const void* in, uint8_t* dst, int32_t img, int64_t m0, int64_t m1) const {
        const ConvShape& s = plan_.shape;
        const int64_t c4 = round_up4(s.in_c);  // == pb_ (groups == 1: whole NHWC4 pixels)
        const int8_t* src = static_cast<const int8_t*>(in) + nhwc4_offset(s.in_h, s.in_w, int32_t(c4), img, 0, 0, 0);
        const int32_t zx = plan_.input_quant.zero_point;
        const bool contiguous = s.stride_h == 1 && s.stride_w == 1;
        for (int64_t m = m0; m < m1;) {
            // a run of output pixels whose input pixels are contiguous: the rest of the image
            // (stride 1) or one pixel
            const int64_t oy = m / s.out_w, ox = m % s.out_w;
            const int64_t count = contiguous ? m1 - m : 1;
            const int8_t* sp = src + (oy * s.stride_h * s.in_w + ox * s.stride_w) * c4;
            const int64_t bytes = count * c4;
            if (fmt_ == WORD_I16X2) {
                int16_t* dp = reinterpret_cast<int16_t*>(dst + (m - m0) * pb_);
                for (int64_t i = 0; i < bytes; ++i) dp[i] = int16_t(sp[i] - zx);
            } else {
                copy_words(reinterpret_cast<const uint8_t*>(sp), dst + (m - m0) * pb_, bytes);
            }
            m += count;
        }
    }

    // Padded row yp of group g of image img.
    void pack_row(const void* in, uint8_t* packed, int32_t img, int32_t g, int32_t yp) const {
        const ConvShape& s = plan_.shape;
        uint8_t* row = packed + int64_t(img) * ib_ + int64_t(g) * gb_ + int64_t(yp) * row_;
        const int32_t iy = yp - s.pad_top;
        const int32_t zx = plan_.input_quant.zero_point;
        if (fmt_ == WORD_U8X4 || fmt_ == WORD_S8X4) {
            // S8X4 (NEON) keeps x as it is, U8X4 (VNNI) flips the sign bit: x + 128 as u8
            const uint8_t flip = fmt_ == WORD_U8X4 ? 0x80u : 0u;
            const uint8_t padv = uint8_t(zx + (fmt_ == WORD_U8X4 ? 128 : 0));
            if (iy < 0 || iy >= s.in_h) { std::memset(row, padv, size_t(row_)); return; }
            if (flat_) {  // in_c bytes per pixel, then the slack
                const int32_t c4 = round_up4(s.in_c);
                const uint8_t* src = static_cast<const uint8_t*>(in) + nhwc4_offset(s.in_h, s.in_w, c4, img, iy, 0, 0);
                std::memset(row, padv, size_t(s.pad_left * pb_));
                uint8_t* dst = row + s.pad_left * pb_;
                if (c4 == 4) {  // 1-3 channels: a 4-byte copy per pixel, the next overwrites the extra
                    const uint32_t flip4 = flip * 0x01010101u;
                    for (int32_t x = 0; x < s.in_w; ++x) {
                        uint32_t v;
                        std::memcpy(&v, src + x * 4, 4);
                        v ^= flip4;
                        std::memcpy(dst + x * pb_, &v, 4);
                    }
                } else {
                    for (int32_t x = 0; x < s.in_w; ++x)
                        for (int32_t c = 0; c < s.in_c; ++c) dst[x * pb_ + c] = uint8_t(src[x * c4 + c] ^ flip);
                }
                std::memset(dst + s.in_w * pb_, padv, size_t(row_ - (s.pad_left + s.in_w) * pb_));
                return;
            }
            std::memset(row, padv, size_t(s.pad_left * pb_));
            std::memset(row + (s.pad_left + s.in_w) * pb_, padv, size_t(s.pad_right * pb_));
            const int32_t c4 = round_up4(s.in_c);
            const uint8_t* src = static_cast<const uint8_t*>(in) + nhwc4_offset(s.in_h, s.in_w, c4, img, iy, 0, 0);
            uint8_t* dst = row + s.pad_left * pb_;
            if (G_ == 1) {
                copy_words(src, dst, int64_t(s.in_w) * c4);
                return;
            }
            for (int32_t x = 0; x < s.in_w; ++x) {
                const uint8_t* sp = src + int64_t(x) * c4 + int64_t(g) * cin_g_;
                uint8_t* dp = dst + x * pb_;
                for (int32_t c = 0; c < cin_g_; ++c) dp[c] = uint8_t(sp[c] ^ flip);
                for (int64_t c = cin_g_; c < pb_; ++c) dp[c] = padv;
            }
        } else if (fmt_ == WORD_I16X2) {
            int16_t* r16 = reinterpret_cast<int16_t*>(row);
            const int64_t per = pb_ / 2;  // int16 per pixel
            if (iy < 0 || iy >= s.in_h) { std::memset(row, 0, size_t(wp_ * pb_)); return; }
            std::memset(row, 0, size_t(s.pad_left * pb_));
            std::memset(row + (s.pad_left + s.in_w) * pb_, 0, size_t(s.pad_right * pb_));
            const int32_t c4 = round_up4(s.in_c);
            const int8_t* src = static_cast<const int8_t*>(in) + nhwc4_offset(s.in_h, s.in_w, c4, img, iy, 0, 0);
            int16_t* dst = r16 + s.pad_left * per;
            if (G_ == 1) {
                const int64_t count = int64_t(s.in_w) * c4;
                for (int64_t i = 0; i < count; ++i) dst[i] = int16_t(src[i] - zx);
                return;
            }
            for (int32_t x = 0; x < s.in_w; ++x) {
                const int8_t* sp = src + int64_t(x) * c4 + int64_t(g) * cin_g_;
                int16_t* dp = dst + x * per;
                for (int32_t c = 0; c < cin_g_; ++c) dp[c] = int16_t(sp[c] - zx);
                for (int64_t c = cin_g_; c < per; ++c) dp[c] = 0;
            }
        } else {
            float* rf = reinterpret_cast<float*>(row);
            const int64_t per = pb_ / 4;
            if (iy < 0 || iy >= s.in_h) { std::memset(row, 0, size_t(wp_ * pb_)); return; }
            std::memset(row, 0, size_t(s.pad_left * pb_));
            std::memset(row + (s.pad_left + s.in_w) * pb_, 0, size_t(s.pad_right * pb_));
            const float* src = static_cast<const float*>(in);
            float* dst = rf + s.pad_left * per;
            for (int32_t c = 0; c < cin_g_; ++c) {
                const float* plane = src + ((int64_t(img) * s.in_c + int64_t(g) * cin_g_ + c) * s.in_h + iy) * s.in_w;
                if (int32_t(in_cols_read_.size()) == s.in_w)  // (the common case: a plain loop)
                    for (int32_t x = 0; x < s.in_w; ++x) dst[x * per + c] = plane[x];
                else
                    for (const int32_t x : in_cols_read_) dst[x * per + c] = plane[x];
            }
        }
    }

    ConvPlan plan_;
    ThreadPool* pool_;
    const IsaKernels* k_;
    int32_t G_, cin_g_, cout_g_, fmt_, cpw_, esize_, words_, taps_, nblocks_;
    // direct_ convs whose ISA reads the input image as it is (no copy): the kernel to call
    decltype(IsaKernels::gemm_int) raw_gemm_ = nullptr;
    // raw_gemm_ with tasks per block group when more than one thread runs: every group's output
    // bytes are whole cache lines, so threads splitting the channels never write the same line
    // (mv2_last: 49 pixels, 20 groups; one thread keeps its strips, each L1-hot for all groups)
    bool split_direct_ = false;
    bool direct_ = false;  // 1x1 int8, no padding: in place (raw_gemm_) or packed per task (pack_pixels)
    bool flat_ = false;    // few input channels: kernel rows read as byte runs (constructor)
    // build_row_bands: border rows that skip their padding kernel rows, and which parameters
    // each band of output pixels [m0, m1) runs with (in order, covering [0, M))
    struct RowVariant {
        int32_t ky_lo = 0, ky_hi = 0;
        OutArrays outs;
        GemmParams gp;
    };
    std::deque<RowVariant> variants_;  // (a deque: gp.out points into outs)
    struct RowBand {
        int64_t m0, m1;
        const GemmParams* gp;
    };
    std::vector<RowBand> bands_;
    int64_t row_ = 0;      // bytes per packed row
    int64_t pb_, hp_, wp_, gb_, ib_, M_;
    std::vector<int64_t> tap_off_, pix_off_;
    std::vector<uint8_t> row_read_;       // [padded row]: some output row's taps read it
    std::vector<int32_t> in_cols_read_;   // input columns some tap reads (the fp32 pack's)
    std::vector<std::pair<int32_t, int32_t>> bgroups_;  // (first block, blocks)
    std::vector<uint8_t> weights_;
    OutArrays outs_;
    GemmParams gp_;
    std::mutex mutex_;
    Scratch scratch_;
};

// ---- float convs on the NCHW planes (IsaKernels::point_f32, dw_plane_f32) -------------------

// What the plane kernels share: the plan, the pool, the ISA's kernels and the per-channel bias
// and activation (OUT_F32 output-stage arrays indexed by channel).
class PlaneKernelF32 : public ConvKernel {
protected:
    PlaneKernelF32(const ConvPlan& plan, ThreadPool* pool, const IsaKernels* k) : plan_(plan), pool_(pool), k_(k) {}
    void build_outs(OutParams* op) {
        const int32_t c = plan_.shape.out_c;
        outs_.build(plan_, OUT_F32, WORD_F32, ceil_div(c, k_->lanes) * k_->lanes, k_->lanes, ONE_SHIFT_NONE,
                    [c](int64_t i) { return i < c ? int32_t(i) : -1; }, op);
    }
    ConvPlan plan_;
    ThreadPool* pool_;
    const IsaKernels* k_;
    OutArrays outs_;
};

class PointConvF32 final : public PlaneKernelF32 {
public:
    PointConvF32(const ConvPlan& plan, ThreadPool* pool, const IsaKernels* k) : PlaneKernelF32(plan, pool, k) {
        const ConvShape& s = plan.shape;
        p_.cin = s.in_c;
        p_.cout = s.out_c;
        p_.M = int64_t(s.out_h) * s.out_w;
        p_.weights = plan_.weights_f32.data();  // OIHW with 1x1 kernels: [cout][cin]
        build_outs(&p_.out);
    }

    Status run(const TensorRef& input, const TensorRef& output) override {
        const ConvShape& s = plan_.shape;
        const int32_t n = input.desc.n;
        const float* in = static_cast<const float*>(host_data(input));
        float* out = static_cast<float*>(host_data(output));
        // pixel chunks of whole 64-pixel blocks, a few per thread (each task: every channel)
        const int64_t threads = pool_->size(), M = p_.M;
        const int64_t macs = int64_t(n) * M * s.in_c * s.out_c;
        const int64_t want = macs < kInlineMacs ? 1 : threads * 4;
        const int64_t chunks = std::max<int64_t>(1, std::min(ceil_div(want, n), ceil_div(M, 64)));
        const int64_t chunk = ceil_div(ceil_div(M, chunks), 64) * 64;
        const int64_t per_img = ceil_div(M, chunk);
        pool_->parallel_for(int64_t(n) * per_img, want == 1, [&](int64_t job) {
            const int64_t img = job / per_img, m0 = (job % per_img) * chunk;
            k_->point_f32(p_, in + img * s.in_c * M, out + img * s.out_c * M, m0, std::min(M, m0 + chunk));
        });
        return QGPU_OK;
    }

private:
    PointF32Params p_;
};

class DepthwisePlaneF32 final : public PlaneKernelF32 {
public:
    DepthwisePlaneF32(const ConvPlan& plan, ThreadPool* pool, const IsaKernels* k) : PlaneKernelF32(plan, pool, k) {
        const ConvShape& s = plan.shape;
        d_.in_h = s.in_h; d_.in_w = s.in_w; d_.out_h = s.out_h; d_.out_w = s.out_w;
        d_.kh = s.kernel_h; d_.kw = s.kernel_w; d_.sh = s.stride_h;
        d_.dh = s.dilation_h; d_.dw = s.dilation_w;
        d_.pad_top = s.pad_top; d_.pad_left = s.pad_left;
        d_.weights = plan_.weights_f32.data();  // [c][1][kh][kw]
        build_outs(&d_.out);
    }

    Status run(const TensorRef& input, const TensorRef& output) override {
        const ConvShape& s = plan_.shape;
        const int32_t n = input.desc.n;
        const float* in = static_cast<const float*>(host_data(input));
        float* out = static_cast<float*>(host_data(output));
        const int64_t in_plane = int64_t(s.in_h) * s.in_w, out_plane = int64_t(s.out_h) * s.out_w;
        const int64_t planes = int64_t(n) * s.out_c;
        // contiguous runs of planes, a few per thread
        const int64_t macs = planes * out_plane * s.kernel_h * s.kernel_w;
        const int64_t tasks = macs < kInlineMacs ? 1 : std::min<int64_t>(planes, int64_t(pool_->size()) * 4);
        const int64_t per = ceil_div(planes, tasks);
        pool_->parallel_for(ceil_div(planes, per), tasks == 1, [&](int64_t job) {
            for (int64_t pl = job * per; pl < std::min(planes, (job + 1) * per); ++pl)
                k_->dw_plane_f32(d_, in + pl * in_plane, out + pl * out_plane, int32_t(pl % s.out_c));
        });
        return QGPU_OK;
    }

private:
    DwPlaneF32Params d_;
};

// ---- depthwise path ---------------------------------------------------------------------------

class DepthwiseConv final : public ConvKernel {
public:
    DepthwiseConv(const ConvPlan& plan, ThreadPool* pool, const IsaKernels* k) : plan_(plan), pool_(pool), k_(k) {
        const ConvShape& s = plan.shape;
        const int32_t L = k->lanes;
        C_ = s.in_c;
        CL_ = int32_t(ceil_div(C_, L) * L);
        hp_ = s.in_h + s.pad_top + s.pad_bottom;
        wp_ = s.in_w + s.pad_left + s.pad_right;
        ib_ = (hp_ * wp_ * CL_ + 15) & ~int64_t(15);  // floats per image
        const int32_t taps = s.kernel_h * s.kernel_w;
        w_.assign(size_t(taps) * CL_, 0.0f);
        for (int32_t c = 0; c < C_; ++c)
            for (int32_t t = 0; t < taps; ++t)
                w_[size_t(t) * CL_ + c] = plan.precision == QGPU_PRECISION_FLOAT32
                                              ? plan.weights_f32[size_t(c) * taps + t]
                                              : float(plan.weights_q[size_t(c) * taps + t]);
        outs_.build(plan, out_mode(plan), WORD_I16X2 /* no correction */, CL_, L, k->one_shift_requant,
                    [&](int64_t i) { return i < C_ ? int32_t(i) : -1; }, &d_.out);
        d_.C = C_;
        d_.CL = CL_;
        d_.kh = s.kernel_h; d_.kw = s.kernel_w;
        d_.sh = s.stride_h; d_.sw = s.stride_w;
        d_.dh = s.dilation_h; d_.dw = s.dilation_w;
        d_.Wp = wp_;
        d_.out_h = s.out_h; d_.out_w = s.out_w;
        d_.out_c4 = round_up4(s.out_c);
        d_.weights = w_.data();
    }

    Status run(const TensorRef& input, const TensorRef& output) override {
        const ConvShape& s = plan_.shape;
        const int32_t n = input.desc.n;
        std::lock_guard<std::mutex> lock(mutex_);
        float* packed = reinterpret_cast<float*>(scratch_.get(size_t(ib_) * 4 * size_t(n)));
        if (!packed)
            return failf(QGPU_ERROR_OUT_OF_MEMORY, "cpu: cannot allocate %lld bytes of scratch",
                         static_cast<long long>(ib_ * 4 * n));
        const void* in = host_data(input);
        // this kernel streams a padded float copy (4 bytes per input value) through memory:
        // two threads made fp32 mv2_dw (4 M MACs) 1.5x slower, so it splits only from 8 M
        const bool inline_only =
            int64_t(n) * s.out_h * s.out_w * s.out_c * s.kernel_h * s.kernel_w < 8 * kInlineMacs;
        pool_->parallel_for(int64_t(n) * hp_, inline_only, [&](int64_t job) {
            pack_row(in, packed, int32_t(job / hp_), int32_t(job % hp_));
        });
        const bool int8_out = d_.out.mode == OUT_INT8;
        const int64_t M = int64_t(s.out_h) * s.out_w;
        void* out = host_data(output);
        pool_->parallel_for(int64_t(n) * s.out_h, inline_only, [&](int64_t job) {
            const int32_t img = int32_t(job / s.out_h), oy = int32_t(job % s.out_h);
            void* out_img = int8_out ? static_cast<void*>(static_cast<int8_t*>(out) + int64_t(img) * M * d_.out_c4)
                                     : static_cast<void*>(static_cast<float*>(out) + int64_t(img) * s.out_c * M);
            k_->dw_row(d_, packed + int64_t(img) * ib_, out_img, oy);
            if (int8_out)
                fill_out_padding(plan_, static_cast<int8_t*>(out_img), int64_t(oy) * s.out_w,
                                 int64_t(oy + 1) * s.out_w);
        });
        return QGPU_OK;
    }

private:
    void pack_row(const void* in, float* packed, int32_t img, int32_t yp) const {
        const ConvShape& s = plan_.shape;
        float* row = packed + int64_t(img) * ib_ + int64_t(yp) * wp_ * CL_;
        const int32_t iy = yp - s.pad_top;
        if (iy < 0 || iy >= s.in_h) { std::memset(row, 0, size_t(wp_ * CL_) * 4); return; }
        std::memset(row, 0, size_t(s.pad_left) * CL_ * 4);
        std::memset(row + int64_t(s.pad_left + s.in_w) * CL_, 0, size_t(s.pad_right) * CL_ * 4);
        float* dst = row + int64_t(s.pad_left) * CL_;
        if (plan_.precision == QGPU_PRECISION_FLOAT32) {
            const float* src = static_cast<const float*>(in);
            for (int32_t c = 0; c < C_; ++c) {
                const float* plane = src + ((int64_t(img) * s.in_c + c) * s.in_h + iy) * s.in_w;
                for (int32_t x = 0; x < s.in_w; ++x) dst[int64_t(x) * CL_ + c] = plane[x];
            }
            for (int32_t x = 0; x < s.in_w; ++x)
                for (int32_t c = C_; c < CL_; ++c) dst[int64_t(x) * CL_ + c] = 0.0f;
            return;
        }
        const int32_t c4 = round_up4(s.in_c), zx = plan_.input_quant.zero_point;
        const int8_t* src = static_cast<const int8_t*>(in) + nhwc4_offset(s.in_h, s.in_w, c4, img, iy, 0, 0);
        for (int32_t x = 0; x < s.in_w; ++x) {
            const int8_t* sp = src + int64_t(x) * c4;
            float* dp = dst + int64_t(x) * CL_;
            for (int32_t c = 0; c < C_; ++c) dp[c] = float(int32_t(sp[c]) - zx);
            for (int32_t c = C_; c < CL_; ++c) dp[c] = 0.0f;
        }
    }

    ConvPlan plan_;
    ThreadPool* pool_;
    const IsaKernels* k_;
    int32_t C_, CL_;
    int64_t hp_, wp_, ib_;
    std::vector<float> w_;
    OutArrays outs_;
    DwParams d_;
    std::mutex mutex_;
    Scratch scratch_;
};

// ---- int8 depthwise on 4-tap words (dot-product ISAs; layout in isa_kernels.h) ---------------

class DepthwiseWordConv final : public ConvKernel {
public:
    DepthwiseWordConv(const ConvPlan& plan, ThreadPool* pool, const IsaKernels* k) : plan_(plan), pool_(pool), k_(k) {
        const ConvShape& s = plan.shape;
        const int32_t L = k->lanes;
        C_ = s.in_c;
        CL_ = int32_t(ceil_div(C_, L) * L);
        hp_ = s.in_h + s.pad_top + s.pad_bottom;
        wp_ = s.in_w + s.pad_left + s.pad_right;
        ring_ = (s.kernel_h - 1) * s.dilation_h + 1;  // rows one output row spans
        // channel strip: as many vector blocks as keep the ring within ~24 KiB (half of L1)
        const int64_t block_ring = int64_t(ring_) * wp_ * L * 4;
        cstrip_ = L * int32_t(std::max<int64_t>(1, std::min<int64_t>(CL_ / L, (24 << 10) / block_ring)));
        rowb_ = (wp_ * cstrip_ * 4 + 63) & ~int64_t(63);  // bytes per packed row of a strip
        const int32_t nwk = int32_t(ceil_div(s.kernel_w, 4)), taps = s.kernel_h * s.kernel_w;
        w_.assign(size_t(s.kernel_h) * nwk * CL_ * 4, 0);
        for (int32_t c = 0; c < C_; ++c)
            for (int32_t ky = 0; ky < s.kernel_h; ++ky)
                for (int32_t kx = 0; kx < s.kernel_w; ++kx)
                    w_[((size_t(ky) * nwk + size_t(kx / 4)) * CL_ + c) * 4 + kx % 4] =
                        uint8_t(plan.weights_q[size_t(c) * taps + ky * s.kernel_w + kx]);
        pad_pixel_.assign(size_t(CL_), int8_t(plan.input_quant.zero_point));
        outs_.build(plan, out_mode(plan), WORD_U8X4, CL_, L, k->one_shift_requant, [&](int64_t i) { return i < C_ ? int32_t(i) : -1; },
                    &d_.out);
        d_.C = C_;
        d_.CL = CL_;
        d_.kh = s.kernel_h;
        d_.nwk = nwk;
        d_.sh = s.stride_h; d_.sw = s.stride_w;
        d_.dh = s.dilation_h; d_.dw = s.dilation_w;
        d_.Wp = wp_;
        d_.in_w = s.in_w;
        d_.in_c4 = round_up4(s.in_c);
        d_.pad_left = s.pad_left;
        d_.out_h = s.out_h; d_.out_w = s.out_w;
        d_.out_c4 = round_up4(s.out_c);
        d_.pad_pixel = pad_pixel_.data();
        d_.weights = w_.data();
    }

    Status run(const TensorRef& input, const TensorRef& output) override {
        const ConvShape& s = plan_.shape;
        const int32_t n = input.desc.n;
        std::lock_guard<std::mutex> lock(mutex_);
        // bands of output rows, four per thread; each packs the input rows it reads into its
        // own small ring (L2-resident), so the 4x-expanded words never go out to memory. Rows
        // shared by two bands are packed twice (kh - 1 per band), but the finer split balances
        // the two threads better: 2T mv2_dw 49 -> 43 us against two bands per thread.
        band_ = int32_t(ceil_div(s.out_h, ceil_div(int64_t(pool_->size()) * 4, n)));
        // one thread, or a layer below kInlineMacs: one band per image
        const int64_t macs = int64_t(n) * s.out_h * s.out_w * C_ * s.kernel_h * s.kernel_w;
        if (pool_->size() == 1 || macs < kInlineMacs) band_ = s.out_h;
        const int32_t bands = int32_t(ceil_div(s.out_h, band_));
        const int64_t bytes = int64_t(n) * bands * ring_ * rowb_;
        uint8_t* packed = scratch_.get(size_t(bytes));
        if (!packed)
            return failf(QGPU_ERROR_OUT_OF_MEMORY, "cpu: cannot allocate %lld bytes of scratch",
                         static_cast<long long>(bytes));
        const int8_t* in = static_cast<const int8_t*>(host_data(input));
        const bool int8_out = d_.out.mode == OUT_INT8;
        const int64_t M = int64_t(s.out_h) * s.out_w;
        void* out = host_data(output);
        pool_->parallel_for(int64_t(n) * bands, [&](int64_t job) {
            const int32_t img = int32_t(job / bands), b = int32_t(job % bands);
            // this band's ring of packed rows: padded row y lives in slot y % ring_, tagged by y
            uint8_t* ring = packed + size_t(job) * size_t(ring_ * rowb_);
            // the task's own bookkeeping: in arrays shared by all tasks, two threads' entries
            // fell on one cache line, written every row
            std::vector<int32_t> tag(size_t(ring_), -1);
            std::vector<const uint8_t*> rows_v(size_t(s.kernel_h));
            const uint8_t** rows = rows_v.data();
            void* out_img = int8_out ? static_cast<void*>(static_cast<int8_t*>(out) + int64_t(img) * M * d_.out_c4)
                                     : static_cast<void*>(static_cast<float*>(out) + int64_t(img) * s.out_c * M);
            const int32_t oy0 = b * band_, oy1 = std::min(s.out_h, (b + 1) * band_);
            // channel strips of cstrip_ channels: the strip's ring stays in L1
            for (int32_t c0 = 0; c0 < CL_; c0 += cstrip_) {
                const int32_t c1 = std::min(CL_, c0 + cstrip_);
                tag.assign(size_t(ring_), -1);
                for (int32_t oy = oy0; oy < oy1; ++oy) {
                    for (int32_t ky = 0; ky < s.kernel_h; ++ky) {
                        const int32_t y = oy * s.stride_h + ky * s.dilation_h, slot = y % ring_;
                        uint8_t* row = ring + int64_t(slot) * rowb_;
                        if (tag[size_t(slot)] != y) {
                            const int32_t iy = y - s.pad_top;
                            const int8_t* src = (iy < 0 || iy >= s.in_h)
                                                    ? nullptr
                                                    : in + nhwc4_offset(s.in_h, s.in_w, d_.in_c4, img, iy, 0, 0);
                            k_->dw_word_pack_row(d_, src, row, c0, c1);
                            tag[size_t(slot)] = y;
                        }
                        rows[ky] = row;
                    }
                    k_->dw_word_row(d_, rows, out_img, oy, c0, c1);
                }
            }
            if (int8_out) fill_out_padding(plan_, static_cast<int8_t*>(out_img), int64_t(oy0) * s.out_w, int64_t(oy1) * s.out_w);
        });
        return QGPU_OK;
    }

private:
    ConvPlan plan_;
    ThreadPool* pool_;
    const IsaKernels* k_;
    int32_t C_, CL_, ring_, cstrip_, band_ = 0;
    int64_t hp_, wp_, rowb_;
    std::vector<uint8_t> w_;
    std::vector<int8_t> pad_pixel_;
    OutArrays outs_;
    DwWordParams d_;
    std::mutex mutex_;
    Scratch scratch_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_fast_conv(const ConvPlan& plan, ThreadPool* pool, const IsaKernels* k) {
    const ConvShape& s = plan.shape;
    // float products of |x - z_x| <= 255 and |w| <= 127 stay exact below 2^24: <= 518 taps
    // int8 on 4-tap dot-product words where the ISA has them (int32-exact below 65536 taps)
    if (s.is_depthwise() && plan.precision != QGPU_PRECISION_FLOAT32 && k->dw_word_row)
        return std::make_unique<DepthwiseWordConv>(plan, pool, k);
    // float depthwise with horizontal stride 1 straight on the planes (no channels-last copy)
    if (s.is_depthwise() && plan.precision == QGPU_PRECISION_FLOAT32 && s.stride_w == 1 && k->dw_plane_f32)
        return std::make_unique<DepthwisePlaneF32>(plan, pool, k);
    if (s.is_depthwise() && (plan.precision == QGPU_PRECISION_FLOAT32 || s.kernel_h * s.kernel_w <= 518))
        return std::make_unique<DepthwiseConv>(plan, pool, k);
    // float 1x1 convs straight on the planes, unless the planes are too small for 64-pixel
    // blocks (7 x 7 mv2_last: 4x slower than the channels-last GEMM there)
    if (plan.precision == QGPU_PRECISION_FLOAT32 && k->point_f32 && s.groups == 1 && s.kernel_h == 1 &&
        s.kernel_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 && s.pad_left == 0 &&
        s.pad_bottom == 0 && s.pad_right == 0 && int64_t(s.out_h) * s.out_w >= 256)
        return std::make_unique<PointConvF32>(plan, pool, k);
    return std::make_unique<GemmConv>(plan, pool, k);
}

}  // namespace cpu
}  // namespace qgpu
