#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#if defined(__SANITIZE_ADDRESS__)
// The sanitizer options of every test, compiled in (the environment still overrides them):
// CTest's ENVIRONMENT property cannot carry two variables through Catch's test discovery.
// allocator_may_return_null: the out-of-memory tests must see a failed allocation, not an
// abort. suppressions: driver-internal allocations (lavapipe, PoCL) that live until exit.
// use_tls=0: GCC 12's LeakSanitizer can crash at exit ("Tracer caught signal 11") reading a
// dynamic-TLS block of a dlclose'd GPU driver, depending on the binary's layout; without TLS as
// a root LSan can only report more leaks, never fewer.
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1:detect_leaks=1"; }
extern "C" const char* __lsan_default_options() {
    return "suppressions=" QGPU_LSAN_SUPPRESSIONS ":print_suppressions=0:use_tls=0";
}
#endif
