// Program building with an optional on-disk binary cache.
//
// File: <cache_dir>/qgpu-opencl-<16 hex of the key hash>.bin
//   bytes 0..7   "QGPUCLB1"
//   u32          header version (1)
//   u32          key length K, then K bytes of key text (device name, driver version, source
//                hash, options: an entry made for anything else is stale)
//   u64          payload size P
//   u64          FNV-1a 64 checksum of the payload
//   P bytes      the program binary (clGetProgramInfo CL_PROGRAM_BINARIES)
// Any mismatch (short file, wrong magic/version/key/size/checksum, or a binary the driver
// rejects) is treated as a miss: the program is built from source and the file rewritten
// (written to a temporary name, then renamed, so a reader never sees half a file).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "opencl/cl_internal.h"

namespace qgpu {
namespace opencl {

namespace {

constexpr char kMagic[8] = {'Q', 'G', 'P', 'U', 'C', 'L', 'B', '1'};
constexpr uint32_t kVersion = 1;

uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) { h ^= p[i]; h *= 1099511628211ull; }
    return h;
}

std::string cache_key(const ClContext& ctx, const std::string& source, const std::string& options) {
    char hash[32];
    std::snprintf(hash, sizeof hash, "%016llx", (unsigned long long)fnv1a(source.data(), source.size()));
    return "device=" + ctx.entry.name + "\ndriver=" + ctx.entry.driver_version + "\nversion=" +
           ctx.entry.device_version + "\nsource=" + hash + "\noptions=" + options + "\n";
}

Status get_build_log(ClContext& ctx, cl_program program, std::string* log) {
    size_t size = 0;
    QGPU_CL_CHECK(ctx.api, clGetProgramBuildInfo,
                  (program, ctx.entry.device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size));
    log->assign(size, '\0');
    if (size)
        QGPU_CL_CHECK(ctx.api, clGetProgramBuildInfo,
                      (program, ctx.entry.device, CL_PROGRAM_BUILD_LOG, size, &(*log)[0], nullptr));
    while (!log->empty() && (log->back() == '\0' || log->back() == '\n')) log->pop_back();
    return QGPU_OK;
}

Status build_from_source(ClContext& ctx, const std::string& source, const std::string& options,
                         cl_program* out) {
    cl_int err = CL_SUCCESS;
    const char* text = source.c_str();
    const size_t length = source.size();
    cl_program p = ctx.api->clCreateProgramWithSource(ctx.context, 1, &text, &length, &err);
    if (err != CL_SUCCESS || !p) return cl_fail(err, "clCreateProgramWithSource");
    err = ctx.api->clBuildProgram(p, 1, &ctx.entry.device, options.c_str(), nullptr, nullptr);
    if (err != CL_SUCCESS) {
        std::string log;
        if (get_build_log(ctx, p, &log) != QGPU_OK) log = "(no build log)";
        ctx.api->clReleaseProgram(p);
        Status s = cl_fail(err, "clBuildProgram");
        return fail(s, std::string(last_error_message()) + " for '" + ctx.entry.name +
                           "' with options '" + options + "'; build log:\n" + log);
    }
    *out = p;
    return QGPU_OK;
}

// Reads and validates a cache file; true with the binary on success.
bool read_entry(const std::string& path, const std::string& key, std::vector<unsigned char>* binary) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    char magic[8];
    uint32_t version = 0, key_len = 0;
    uint64_t size = 0, checksum = 0;
    if (!f.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0) return false;
    if (!f.read(reinterpret_cast<char*>(&version), 4) || version != kVersion) return false;
    if (!f.read(reinterpret_cast<char*>(&key_len), 4) || key_len != key.size()) return false;
    std::string stored(key_len, '\0');
    if (!f.read(&stored[0], key_len) || stored != key) return false;
    if (!f.read(reinterpret_cast<char*>(&size), 8) || size == 0 || size > (uint64_t(1) << 30))
        return false;
    if (!f.read(reinterpret_cast<char*>(&checksum), 8)) return false;
    binary->resize(size_t(size));
    if (!f.read(reinterpret_cast<char*>(binary->data()), std::streamsize(size))) return false;
    if (f.peek() != std::char_traits<char>::eof()) return false;  // trailing bytes
    return fnv1a(binary->data(), binary->size()) == checksum;
}

void write_entry(const std::string& path, const std::string& key,
                 const std::vector<unsigned char>& binary) {
    const std::string tmp = path + ".tmp" + std::to_string(long(getpid()));
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) return;  // an unwritable cache only costs a rebuild next time
        const uint32_t key_len = uint32_t(key.size());
        const uint64_t size = binary.size(), checksum = fnv1a(binary.data(), binary.size());
        f.write(kMagic, 8);
        f.write(reinterpret_cast<const char*>(&kVersion), 4);
        f.write(reinterpret_cast<const char*>(&key_len), 4);
        f.write(key.data(), std::streamsize(key.size()));
        f.write(reinterpret_cast<const char*>(&size), 8);
        f.write(reinterpret_cast<const char*>(&checksum), 8);
        f.write(reinterpret_cast<const char*>(binary.data()), std::streamsize(binary.size()));
        if (!f) { f.close(); std::remove(tmp.c_str()); return; }
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) std::remove(tmp.c_str());
}

bool program_binary(ClContext& ctx, cl_program p, std::vector<unsigned char>* binary) {
    cl_uint ndev = 0;
    if (ctx.api->clGetProgramInfo(p, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, nullptr) != CL_SUCCESS ||
        ndev != 1)
        return false;
    size_t size = 0;
    if (ctx.api->clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr) != CL_SUCCESS ||
        size == 0)
        return false;
    binary->resize(size);
    unsigned char* ptr = binary->data();
    return ctx.api->clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof ptr, &ptr, nullptr) == CL_SUCCESS;
}

}  // namespace

std::string cache_file_path(const ClContext& ctx, const std::string& source,
                            const std::string& options) {
    const std::string key = cache_key(ctx, source, options);
    char name[64];
    std::snprintf(name, sizeof name, "qgpu-opencl-%016llx.bin",
                  (unsigned long long)fnv1a(key.data(), key.size()));
    std::string dir = ctx.cache_dir;
    if (!dir.empty() && dir.back() != '/') dir += '/';
    return dir + name;
}

Status build_program_cached(ClContext& ctx, const std::string& source, const std::string& options,
                            cl_program* out) {
    if (ctx.cache_dir.empty()) return build_from_source(ctx, source, options, out);
    const std::string key = cache_key(ctx, source, options);
    const std::string path = cache_file_path(ctx, source, options);
    std::vector<unsigned char> binary;
    if (read_entry(path, key, &binary)) {
        const unsigned char* ptr = binary.data();
        const size_t size = binary.size();
        cl_int status = CL_SUCCESS, err = CL_SUCCESS;
        cl_program p = ctx.api->clCreateProgramWithBinary(ctx.context, 1, &ctx.entry.device, &size,
                                                          &ptr, &status, &err);
        if (err == CL_SUCCESS && status == CL_SUCCESS && p &&
            ctx.api->clBuildProgram(p, 1, &ctx.entry.device, options.c_str(), nullptr, nullptr) ==
                CL_SUCCESS) {
            *out = p;
            return QGPU_OK;
        }
        if (p) ctx.api->clReleaseProgram(p);
        // the driver refused a well-formed entry (e.g. updated compiler): rebuild below
    }
    QGPU_TRY(build_from_source(ctx, source, options, out));
    if (program_binary(ctx, *out, &binary)) write_entry(path, key, binary);
    return QGPU_OK;
}

}  // namespace opencl
}  // namespace qgpu
