#include "core/status.h"

#include <cstdarg>
#include <cstdio>

namespace qgpu {
namespace {
thread_local std::string t_last_error;
}

Status fail(Status status, std::string message) {
    t_last_error = std::move(message);
    return status;
}

Status failf(Status status, const char* format, ...) {
    char buf[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    return fail(status, buf);
}

const char* last_error_message() { return t_last_error.c_str(); }

}  // namespace qgpu
