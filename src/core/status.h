// Status codes with a thread-local message: every failing path sets both in one call.
#pragma once
#include <string>

#include "qgpu.h"

namespace qgpu {

using Status = qgpu_status;

// Records `message` as the calling thread's last error and returns `status`.
Status fail(Status status, std::string message);
// printf-style convenience for fail().
Status failf(Status status, const char* format, ...) __attribute__((format(printf, 2, 3)));

const char* last_error_message();

}  // namespace qgpu

// Propagates a failing Status (the message is already recorded).
#define QGPU_TRY(expr)                              \
    do {                                            \
        ::qgpu::Status qgpu_try_status_ = (expr);   \
        if (qgpu_try_status_ != QGPU_OK) return qgpu_try_status_; \
    } while (0)
