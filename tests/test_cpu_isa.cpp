// The SIMD CPU kernels (x86: AVX-512 VNNI, AVX-VNNI, AVX2; AArch64: i8mm smmla, dotprod sdot,
// ARMv8.0 NEON), each forced in turn, against the scalar
// reference: byte-identical int8 outputs and identical float outputs of int8 convs, fp32 convs
// within tolerance, at 1 and 2 threads. Variants this CPU lacks are skipped with a message (and
// must be refused with QGPU_ERROR_UNSUPPORTED).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include "conv_cases.h"
#include "naive_conv.h"

using cases::ConvCase;

namespace {

#if defined(__aarch64__)
const char* const kSimdVariants[] = {"i8mm", "neondot", "neon"};
#else
const char* const kSimdVariants[] = {"avx512vnni", "avxvnni", "avx2"};
#endif

// The AArch64 variants this CPU must accept. QGPU_TEST_ARM_ISA (set by scripts/test-aarch64.sh
// per qemu CPU model, e.g. "neon neondot i8mm" for -cpu max) states it independently of the
// library; without it the test asks getauxval itself (the HWCAP bits of the arm64 ELF ABI).
std::set<std::string> expected_arm_variants() {
    std::set<std::string> out;
#if defined(__aarch64__)
    if (const char* e = std::getenv("QGPU_TEST_ARM_ISA")) {
        std::istringstream s(e);
        std::string w;
        while (s >> w) out.insert(w);
        return out;
    }
    out.insert("neon");
#if defined(__linux__)
    const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    const bool dot = hw & (1ul << 20);   // HWCAP_ASIMDDP
    if (dot) out.insert("neondot");
    if (dot && (hw2 & (1ul << 13))) out.insert("i8mm");  // HWCAP2_I8MM
#endif
#endif
    return out;
}

// Under ASan/UBSan the scalar and double-precision references are ~20x slower: the largest
// suite layers are left to the release run there (CI runs both).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
int64_t suite_macs(const cases::SuiteRow& r) {
    const int64_t oh = (r.h + 2 * r.pad - r.kh) / r.stride + 1, ow = (r.w + 2 * r.pad - r.kw) / r.stride + 1;
    return int64_t(r.cout) * oh * ow * (r.cin / r.groups) * r.kh * r.kw;
}

// Flags of /proc/cpuinfo (independent of the library's own CPUID code); empty when absent.
std::set<std::string> cpuinfo_flags() {
    std::set<std::string> flags;
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
        if (line.compare(0, 5, "flags") != 0) continue;
        std::istringstream s(line.substr(line.find(':') + 1));
        std::string w;
        while (s >> w) flags.insert(w);
        break;
    }
    return flags;
}

struct Ctx {
    qgpu_context ctx = nullptr;
    std::string why;
    Ctx(const char* variant, int threads) { ctx = cases::make_context(QGPU_BACKEND_CPU, variant, threads, &why); }
    ~Ctx() { qgpu_context_destroy(ctx); }
};

// The contexts of one forced variant at 1 and 2 threads; null (with the reason) when the CPU
// lacks it.
struct VariantCtx {
    std::string name;
    std::unique_ptr<Ctx> t1, t2;
};

std::vector<VariantCtx> available_variants() {
    std::vector<VariantCtx> out;
    for (const char* v : kSimdVariants) {
        VariantCtx vc;
        vc.name = v;
        vc.t1.reset(new Ctx(v, 1));
        if (!vc.t1->ctx) {
            WARN("skipped: variant " << v << " unavailable: " << vc.t1->why);
            continue;
        }
        vc.t2.reset(new Ctx(v, 2));
        REQUIRE(vc.t2->ctx != nullptr);
        REQUIRE(std::string(qgpu_context_kernel_variant(vc.t1->ctx)) == v);
        out.push_back(std::move(vc));
    }
    return out;
}

size_t count_mismatches(const cases::Output& a, const cases::Output& b, bool int8, size_t* first) {
    size_t n = 0;
    *first = 0;
    if (int8) {
        if (a.q.size() != b.q.size()) return size_t(-1);
        for (size_t i = 0; i < a.q.size(); ++i)
            if (a.q[i] != b.q[i] && n++ == 0) *first = i;
    } else {
        if (a.f.size() != b.f.size()) return size_t(-1);
        for (size_t i = 0; i < a.f.size(); ++i)  // bit patterns: -0.0 vs 0.0 counts
            if (std::memcmp(&a.f[i], &b.f[i], 4) != 0 && n++ == 0) *first = i;
    }
    return n;
}

// Runs `c` on every variant at 1 and 2 threads and requires the reference's exact output.
void check_exact(std::vector<VariantCtx>& vs, ConvCase& c, const cases::Output& want) {
    const bool int8 = c.desc.output_dtype == QGPU_DTYPE_INT8;
    for (auto& v : vs)
        for (Ctx* ctx : {v.t1.get(), v.t2.get()}) {
            INFO(v.name << (ctx == v.t1.get() ? " 1 thread: " : " 2 threads: ") << c.describe());
            cases::Output got;
            REQUIRE(cases::run_case(ctx->ctx, c, &got) == QGPU_OK);
            size_t first = 0;
            const size_t bad = count_mismatches(got, want, int8, &first);
            if (bad) {
                std::ostringstream m;
                if (int8) m << "first mismatch at " << first << ": got " << int(got.q[first]) << " want " << int(want.q[first]);
                else m << "first mismatch at " << first << ": got " << got.f[first] << " want " << want.f[first];
                INFO(m.str() << " (" << bad << " mismatches)");
                REQUIRE(bad == 0);
            }
        }
}

// Runs `c` on the scalar reference, then requires every variant's output to equal it.
void check_against_scalar(std::vector<VariantCtx>& vs, Ctx& ref, ConvCase& c) {
    cases::Output want;
    REQUIRE(cases::run_case(ref.ctx, c, &want) == QGPU_OK);
    check_exact(vs, c, want);
}

}  // namespace

TEST_CASE("cpu ISA variants: forcing what the CPU lacks is refused", "[cpu-isa]") {
#if defined(__x86_64__) || defined(__i386__)
    const bool x86 = true;
#else
    const bool x86 = false;  // under qemu /proc/cpuinfo shows the x86 host: x86 kernels must be refused
#endif
    const std::set<std::string> flags = cpuinfo_flags();
    if (x86 && flags.empty()) {
        WARN("skipped: /proc/cpuinfo has no flags line");
        return;
    }
    const struct { const char* variant; std::vector<const char*> needs; } table[] = {
        {"avx512vnni", {"avx512f", "avx512bw", "avx512vl", "avx512_vnni"}},
        {"avxvnni", {"avx2", "avx_vnni"}},
        {"avx2", {"avx2", "fma"}},
    };
    int refused = 0;
    for (const auto& row : table) {
        bool has = x86;
        for (const char* n : row.needs) has = has && flags.count(n);
        qgpu_context_desc desc;
        qgpu_context_desc_init(&desc);
        desc.backend = QGPU_BACKEND_CPU;
        desc.kernel_variant = row.variant;
        qgpu_context ctx = nullptr;
        const qgpu_status st = qgpu_context_create(&desc, &ctx);
        INFO(row.variant << ": " << (st == QGPU_OK ? "ok" : qgpu_last_error()));
        if (has) {
            CHECK(st == QGPU_OK);
        } else {
            CHECK(st == QGPU_ERROR_UNSUPPORTED);
            ++refused;
        }
        qgpu_context_destroy(ctx);
    }
    // the AArch64 variants: accepted exactly where expected (never on x86)
    const std::set<std::string> arm = expected_arm_variants();
    int arm_refused = 0;
    for (const char* v : {"neon", "neondot", "i8mm"}) {
        qgpu_context_desc desc;
        qgpu_context_desc_init(&desc);
        desc.backend = QGPU_BACKEND_CPU;
        desc.kernel_variant = v;
        qgpu_context ctx = nullptr;
        const qgpu_status st = qgpu_context_create(&desc, &ctx);
        INFO(v << ": " << (st == QGPU_OK ? "ok" : qgpu_last_error()));
        if (arm.count(v)) {
            CHECK(st == QGPU_OK);
            if (st == QGPU_OK) CHECK(std::string(qgpu_context_kernel_variant(ctx)) == v);
        } else {
            CHECK(st == QGPU_ERROR_UNSUPPORTED);
            ++arm_refused;
        }
        qgpu_context_destroy(ctx);
    }
    WARN("AArch64 variants accepted: " << arm.size() << ", refused: " << arm_refused);
    if (refused == 0) WARN("skipped the refusal of a lacking x86 ISA: this CPU has them all");
}

TEST_CASE("cpu ISA variants: QGPU_CPU_ISA selects the variant", "[cpu-isa]") {
    Ctx dflt(nullptr, 1);
    REQUIRE(dflt.ctx != nullptr);
    const char* saved = std::getenv("QGPU_CPU_ISA");
    const std::string keep = saved ? saved : "";
    setenv("QGPU_CPU_ISA", "scalar", 1);
    Ctx forced(nullptr, 1);
    if (saved) setenv("QGPU_CPU_ISA", keep.c_str(), 1); else unsetenv("QGPU_CPU_ISA");
    REQUIRE(forced.ctx != nullptr);
    CHECK(std::string(qgpu_context_kernel_variant(forced.ctx)) == "scalar");
#if defined(__x86_64__)
    if (!saved) {  // the default is the best SIMD variant where the CPU has AVX2
        const std::set<std::string> flags = cpuinfo_flags();
        if (flags.count("avx2") && flags.count("fma"))
            CHECK(std::string(qgpu_context_kernel_variant(dflt.ctx)) != "scalar");
    }
#endif
#if defined(__aarch64__)
    if (!saved) {  // the default is the best NEON variant, and the environment forces another
        const std::set<std::string> arm = expected_arm_variants();
        const char* best = arm.count("i8mm") ? "i8mm" : arm.count("neondot") ? "neondot" : "neon";
        CHECK(std::string(qgpu_context_kernel_variant(dflt.ctx)) == best);
        setenv("QGPU_CPU_ISA", "neon", 1);
        Ctx neon(nullptr, 1);
        setenv("QGPU_CPU_ISA", "i8mm", 1);
        Ctx i8mm(nullptr, 1);
        unsetenv("QGPU_CPU_ISA");
        REQUIRE(neon.ctx != nullptr);
        CHECK(std::string(qgpu_context_kernel_variant(neon.ctx)) == "neon");
        CHECK((i8mm.ctx != nullptr) == (arm.count("i8mm") == 1));
        if (!i8mm.ctx) CHECK(i8mm.why.find("i8mm") != std::string::npos);
    }
#endif
}

TEST_CASE("cpu ISA variants equal the scalar reference on random int8 convs", "[cpu-isa][int8]") {
    std::vector<VariantCtx> vs = available_variants();
    if (vs.empty()) { WARN("skipped: no SIMD variant on this CPU"); return; }
    Ctx ref("scalar", 2);
    REQUIRE(ref.ctx != nullptr);
    std::mt19937 rng(31337);
    int int8_out = 0, float_out = 0, depthwise = 0, grouped = 0, big_multiplier = 0, checked = 0, refused = 0;
    size_t outputs = 0;
    for (int i = 0; i < 300; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_INT8);
        // every 5th case: an output scale so small that the multiplier is >= 1 (left shifts,
        // saturation) or so large that the right shift is long
        if (i % 5 == 1) { c.desc.output_quant.scale *= 1e-4f; ++big_multiplier; }
        if (i % 5 == 3) c.desc.output_quant.scale *= 50.0f;
        (c.desc.output_dtype == QGPU_DTYPE_INT8 ? int8_out : float_out)++;
        const bool dw = c.desc.groups == c.desc.in_channels && c.desc.groups == c.desc.out_channels;
        depthwise += dw && c.desc.groups > 1;
        grouped += !dw && c.desc.groups > 1;
        cases::Output want;
        INFO(c.describe());
        const qgpu_status st = cases::run_case(ref.ctx, c, &want);
        if (st != QGPU_OK) {  // e.g. a multiplier out of range: every variant must refuse alike
            INFO(qgpu_last_error());
            for (auto& v : vs) {
                cases::Output got;
                CHECK(cases::run_case(v.t1->ctx, c, &got) == st);
            }
            ++refused;
            continue;
        }
        check_exact(vs, c, want);
        ++checked;
        outputs += want.q.size() + want.f.size();
    }
    INFO(checked << " cases compared (" << outputs << " outputs), " << refused << " refused alike");
    CHECK(checked >= 250);
    CHECK(int8_out > 100);
    CHECK(float_out > 50);
    CHECK(depthwise > 20);
    CHECK(grouped > 10);
    CHECK(big_multiplier > 50);
    WARN(checked << " random cases compared (" << outputs << " outputs each on " << vs.size()
                 << " variants x 2 thread counts), " << refused << " refused alike by all");
}

TEST_CASE("cpu ISA variants equal the scalar reference on the suite layers", "[cpu-isa][suite]") {
    auto rows = cases::load_suite();
    if (rows.empty()) { WARN("skipped: ../shared/bench/shapes.tsv not found"); return; }
    std::vector<VariantCtx> vs = available_variants();
    if (vs.empty()) { WARN("skipped: no SIMD variant on this CPU"); return; }
    Ctx ref("scalar", 2);
    REQUIRE(ref.ctx != nullptr);
    std::mt19937 rng(4242);
    for (const auto& row : rows) {
        if (kSanitized && (row.name == "big_3x3" || row.name == "r18_conv1")) {
            WARN("sanitizer build: " << row.name << " is checked in the release run only");
            continue;
        }
        for (qgpu_dtype dt : {QGPU_DTYPE_INT8, QGPU_DTYPE_FLOAT32}) {
            // the scalar reference needs seconds for the big layers: their float-output
            // variant (same accumulators) is left to the random cases
            if (dt == QGPU_DTYPE_FLOAT32 && (row.name == "big_3x3" || row.name == "r18_conv1")) continue;
            ConvCase c = cases::suite_case(row, rng, QGPU_PRECISION_INT8, dt);
            INFO(c.describe());
            check_against_scalar(vs, ref, c);
        }
    }
}

TEST_CASE("cpu ISA variants: fp32 convs match double precision", "[cpu-isa][fp32]") {
    std::vector<VariantCtx> vs = available_variants();
    if (vs.empty()) { WARN("skipped: no SIMD variant on this CPU"); return; }
    std::mt19937 rng(77);
    for (int i = 0; i < 132; ++i) {
        ConvCase c = cases::random_case(rng, QGPU_PRECISION_FLOAT32);
        if (i >= 120) {
            // 1x1 convs on planes of 256+ pixels (the NCHW path, IsaKernels::point_f32): masked
            // pixel tails, output channels not a multiple of its tile, every activation
            const cases::SuiteRow row{"point", 1 + i % 37, 1 + (i * 7) % 29, 16 + i % 5, 17 + 3 * (i % 4), 1, 1, 1, 0, 1};
            c = cases::suite_case(row, rng, QGPU_PRECISION_FLOAT32, QGPU_DTYPE_FLOAT32);
            c.desc.activation = qgpu_activation((i - 120) % 5);
            c.desc.activation_min = -0.5f;
            c.desc.activation_max = 0.75f;
            c.desc.leaky_slope = 0.1f;
        }
        INFO(c.describe());
        std::vector<double> want, mag;
        naive::conv_f32(c.desc, c.batch, c.input_f, &want, &mag);
        for (auto& v : vs)
            for (Ctx* ctx : {v.t1.get(), v.t2.get()}) {
                INFO(v.name << (ctx == v.t1.get() ? " 1 thread" : " 2 threads"));
                cases::Output got;
                REQUIRE(cases::run_case(ctx->ctx, c, &got) == QGPU_OK);
                REQUIRE(got.f.size() == want.size());
                for (size_t k = 0; k < want.size(); ++k) {
                    INFO("index " << k << " got " << got.f[k] << " want " << want[k]);
                    REQUIRE(std::fabs(got.f[k] - want[k]) <= 1e-5 * mag[k] + 1e-6);
                }
            }
    }
}

TEST_CASE("cpu ISA variants: fp32 suite layers match the reference", "[cpu-isa][fp32][suite]") {
    auto rows = cases::load_suite();
    if (rows.empty()) { WARN("skipped: ../shared/bench/shapes.tsv not found"); return; }
    std::vector<VariantCtx> vs = available_variants();
    if (vs.empty()) { WARN("skipped: no SIMD variant on this CPU"); return; }
    std::mt19937 rng(99);
    for (const auto& row : rows) {
        if (row.name == "big_3x3" || row.name == "r18_conv1" || row.name == "r18_l1") continue;  // slow in double
        if (kSanitized && suite_macs(row) > 50000000) {
            WARN("sanitizer build: fp32 " << row.name << " is checked in the release run only");
            continue;
        }
        ConvCase c = cases::suite_case(row, rng, QGPU_PRECISION_FLOAT32, QGPU_DTYPE_FLOAT32);
        INFO(c.describe());
        std::vector<double> want, mag;
        naive::conv_f32(c.desc, c.batch, c.input_f, &want, &mag);
        for (auto& v : vs) {
            cases::Output got;
            REQUIRE(cases::run_case(v.t2->ctx, c, &got) == QGPU_OK);
            REQUIRE(got.f.size() == want.size());
            size_t bad = 0;
            for (size_t k = 0; k < want.size(); ++k)
                bad += !(std::fabs(got.f[k] - want[k]) <= 1e-5 * mag[k] + 1e-6);
            INFO(v.name);
            REQUIRE(bad == 0);
        }
    }
}

TEST_CASE("cpu ISA variants equal the scalar reference on medium odd shapes", "[cpu-isa][int8]") {
    // channel counts that leave partial vector blocks and several block groups (tile tails in
    // both directions), grouped and depthwise with stride, odd spatial sizes
    const cases::SuiteRow rows[] = {
        {"odd_3x3_s2", 37, 150, 13, 11, 3, 3, 2, 1, 1},
        {"odd_1x1", 21, 70, 9, 17, 1, 1, 1, 0, 1},
        {"odd_5x5", 6, 33, 15, 15, 5, 5, 1, 2, 1},
        {"grouped", 64, 96, 10, 10, 3, 3, 1, 1, 4},
        {"dw_5x5_s2", 52, 52, 19, 19, 5, 5, 2, 2, 52},
        {"wide_1x1", 130, 270, 6, 7, 1, 1, 1, 0, 1},
        {"kernel_gt_image", 9, 19, 3, 4, 7, 7, 1, 3, 1},
    };
    std::vector<VariantCtx> vs = available_variants();
    if (vs.empty()) { WARN("skipped: no SIMD variant on this CPU"); return; }
    Ctx ref("scalar", 2);
    REQUIRE(ref.ctx != nullptr);
    std::mt19937 rng(555);
    for (const auto& row : rows)
        for (qgpu_dtype dt : {QGPU_DTYPE_INT8, QGPU_DTYPE_FLOAT32})
            for (qgpu_activation act : {QGPU_ACTIVATION_NONE, QGPU_ACTIVATION_LEAKY_RELU}) {
                ConvCase c = cases::suite_case(row, rng, QGPU_PRECISION_INT8, dt);
                c.desc.activation = act;
                c.desc.leaky_slope = 0.1f;
                c.desc.input_quant.zero_point = dt == QGPU_DTYPE_INT8 ? -128 : 127;
                INFO(c.describe());
                check_against_scalar(vs, ref, c);
            }
}

TEST_CASE("cpu ISA variants: 1x1 convs that read their input in place", "[cpu-isa][int8]") {
    // Stride-1 and -2 1x1 convs without padding read the NHWC4 input as it is (the sign flip
    // in registers); one block of output channels on a uniform pixel stride runs the AVX-512
    // asm tiles of 12 pixels, the last one moved back over its neighbour. Ranges shorter than a
    // tile, exactly one, and with a moved tail; every output-stage form, including the
    // saturating store (ReLU with z_y = -128); a layer of few pixels whose tasks split the
    // channels.
    const cases::SuiteRow rows[] = {
        {"one_block", 128, 16, 11, 13, 1, 1, 1, 0, 1},  // 143 pixels: 11 tiles + a moved one
        {"one_block_odd", 3, 7, 5, 5, 1, 1, 1, 0, 1},   // 25 pixels, one input word
        {"short", 9, 5, 1, 11, 1, 1, 1, 0, 1},          // 11 pixels: shorter than a tile
        {"exact", 33, 13, 3, 4, 1, 1, 1, 0, 1},         // 12 pixels
        {"two_blocks", 20, 24, 7, 9, 1, 1, 1, 0, 1},
        {"stride2", 40, 16, 9, 11, 1, 1, 2, 0, 1},
        {"channel_split", 40, 128, 5, 7, 1, 1, 1, 0, 1},  // few pixels: tasks per 4 blocks
    };
    std::vector<VariantCtx> vs = available_variants();
    if (vs.empty()) { WARN("skipped: no SIMD variant on this CPU"); return; }
    Ctx ref("scalar", 2);
    REQUIRE(ref.ctx != nullptr);
    std::mt19937 rng(9001);
    for (const auto& row : rows)
        for (qgpu_dtype dt : {QGPU_DTYPE_INT8, QGPU_DTYPE_FLOAT32})
            for (int form = 0; form < 4; ++form) {
                ConvCase c = cases::suite_case(row, rng, QGPU_PRECISION_INT8, dt);
                const qgpu_activation acts[] = {QGPU_ACTIVATION_NONE, QGPU_ACTIVATION_RELU, QGPU_ACTIVATION_LEAKY_RELU,
                                                QGPU_ACTIVATION_CLAMP};
                c.desc.activation = acts[form];
                c.desc.activation_min = -0.5f;
                c.desc.activation_max = 0.75f;
                c.desc.leaky_slope = 0.1f;
                if (form == 1) c.desc.output_quant.zero_point = -128;
                INFO(c.describe());
                check_against_scalar(vs, ref, c);
            }
}

TEST_CASE("cpu ISA variants round exact ties like the reference", "[cpu-isa][int8]") {
    // power-of-two scales (s_x = 2^-3, s_w = 2^-6, s_y = 2^(k - 9)): the multiplier is exactly
    // 2^-k, so a large share of the accumulators sit on a rounding tie of requantize, where the
    // double rounding and its sign rule decide the byte (every output-stage form must agree);
    // the small output scales saturate many outputs
    const cases::SuiteRow rows[] = {
        {"tie_1x1", 20, 40, 9, 7, 1, 1, 1, 0, 1},
        {"tie_3x3", 8, 24, 8, 9, 3, 3, 1, 1, 1},
        {"tie_dw", 40, 40, 9, 10, 3, 3, 1, 1, 40},
    };
    std::vector<VariantCtx> vs = available_variants();
    if (vs.empty()) { WARN("skipped: no SIMD variant on this CPU"); return; }
    Ctx ref("scalar", 2);
    REQUIRE(ref.ctx != nullptr);
    std::mt19937 rng(2718);
    std::uniform_int_distribution<int> wq(-127, 127), bq(-3000, 3000);
    int cases_run = 0;
    for (const auto& row : rows)
        for (int k = 1; k <= 12; ++k)
            for (qgpu_activation act : {QGPU_ACTIVATION_NONE, QGPU_ACTIVATION_RELU, QGPU_ACTIVATION_CLAMP}) {
                ConvCase c = cases::suite_case(row, rng, QGPU_PRECISION_INT8, QGPU_DTYPE_INT8);
                c.desc.activation = act;
                c.desc.activation_min = -0.5f;
                c.desc.activation_max = 0.75f;
                c.desc.input_quant = {0.125f, (k % 3) * 40 - 40};
                // z_y = -128 for every fourth k: with ReLU or no activation the clamp is then
                // [-128, 127], which the AVX-512 stage leaves to its saturating store
                c.desc.output_quant = {std::ldexp(1.0f, k - 9), k % 4 == 3 ? -128 : (k % 4) * 11 - 20};
                const size_t per = c.weights.size() / size_t(c.desc.out_channels);
                for (size_t i = 0; i < c.weights.size(); ++i)  // each channel's max is 127: s_w = 2^-6
                    c.weights[i] = std::ldexp(float(i % per == 0 ? 127 : wq(rng)), -6);
                for (float& b : c.bias) b = std::ldexp(float(bq(rng)), -9);
                INFO(c.describe() << " k " << k);
                check_against_scalar(vs, ref, c);
                ++cases_run;
            }
    CHECK(cases_run == 3 * 12 * 3);
}
