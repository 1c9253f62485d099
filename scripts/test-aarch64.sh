#!/usr/bin/env bash
# AArch64 cross build of libqgpu and its Catch2 tests, run under qemu user-mode emulation.
#
#   scripts/test-aarch64.sh BUILD_DIR
#
# It stands in for the Android NDK build (docs/android.md), which is not available in CI: the
# same CMake options (-DQGPU_BUILD_TOOLS=OFF -DQGPU_WITH_ONNX=OFF, shared library, Release), the same CPU
# architecture, then the tests twice: under `-cpu max` (dotprod, i8mm, SVE...) and under
# `-cpu cortex-a53` (ARMv8.0: NEON without dotprod), so every NEON kernel path the CPU backend
# selects at run time is exercised. Vulkan and OpenCL have no driver under qemu: their tests
# skip, so QGPU_TEST_STRICT is unset for these runs. Finally scripts/check-android-symbols.sh
# checks that libqgpu.so needs nothing Android's libc lacks at API 24.
#
# NEON kernels: under -cpu max the tests force and check neon, neondot (sdot) and i8mm (smmla);
# under -cpu cortex-a53 neon runs and neondot/i8mm must be refused. QGPU_TEST_ARM_ISA tells the
# tests which variants each CPU model must accept (independently of the library's getauxval).
#
# qemu is slow: the runs exclude the [suite] tag (the full-size layer suite, covered natively),
# except the CPU-ISA suite layers, run once under -cpu max (~2.5 min on 2 busy cores) so every
# NEON variant meets every layer of ../shared/bench/shapes.tsv. Vulkan/OpenCL tests stay in:
# they must skip cleanly. Override the Catch2 test spec with QGPU_AARCH64_FILTER.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: scripts/test-aarch64.sh BUILD_DIR}
jobs=$(nproc)
unset QGPU_TEST_STRICT

for tool in aarch64-linux-gnu-g++ aarch64-linux-gnu-gcc qemu-aarch64-static; do
  command -v "$tool" >/dev/null || { echo "test-aarch64: $tool not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
done

echo "-- configure ($build)"
cmake -S . -B "$build" \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=ON \
  -DQGPU_BUILD_TOOLS=OFF \
  -DQGPU_WITH_ONNX=OFF \
  -DQGPU_BUILD_TESTS=ON \
  -DQGPU_SANITIZE=OFF >/dev/null
echo "-- build"
cmake --build "$build" -j"$jobs" --target qgpu qgpu_tests qgpu_c_api_test

sysroot=/usr/aarch64-linux-gnu
filter=${QGPU_AARCH64_FILTER:-'~[suite]'}
status=0
for cpu in max cortex-a53; do
  echo "-- tests under qemu-aarch64-static -cpu $cpu (filter: $filter)"
  # the CPU backend reports the ISA it detected (getauxval) and the kernel variant it picks
  # the compact reporter prints failures, warnings (skips) and the summary line; the per-path
  # dlopen failures inside the GPU backends' skip messages are left out
  case $cpu in
    max) export QGPU_TEST_ARM_ISA="neon neondot i8mm" ;;
    *) export QGPU_TEST_ARM_ISA="neon" ;;
  esac
  rc=0
  qemu-aarch64-static -cpu "$cpu" -L "$sysroot" "$build/tests/qgpu_tests" "$filter" \
    --use-colour no --reporter compact >"$build/qemu-tests-$cpu.log" 2>&1 || rc=$?
  grep -v 'cannot open shared object file' "$build/qemu-tests-$cpu.log" || true
  [ "$rc" = 0 ] || { echo "qgpu_tests: FAILED under -cpu $cpu (exit $rc)"; status=1; }
  qemu-aarch64-static -cpu "$cpu" -L "$sysroot" "$build/tests/qgpu_c_api_test" >/dev/null \
    && echo "c_api_test: passed" || { echo "c_api_test: FAILED under -cpu $cpu"; status=1; }
done

if [ -z "${QGPU_AARCH64_FILTER:-}" ]; then
  echo "-- NEON variants on the suite layers under qemu-aarch64-static -cpu max"
  rc=0
  QGPU_TEST_ARM_ISA="neon neondot i8mm" qemu-aarch64-static -cpu max -L "$sysroot" "$build/tests/qgpu_tests" \
    '[cpu-isa][suite]' --use-colour no --reporter compact >"$build/qemu-tests-suite.log" 2>&1 || rc=$?
  tail -n 3 "$build/qemu-tests-suite.log"
  [ "$rc" = 0 ] || { echo "qgpu_tests [cpu-isa][suite]: FAILED under -cpu max (exit $rc)"; status=1; }
fi
unset QGPU_TEST_ARM_ISA

echo "-- Android API 24 symbol check"
# first prove that the check can fail: a library calling aligned_alloc (API 28) is rejected
probe=$build/android-symbol-probe
mkdir -p "$probe"
printf '#include <stdlib.h>\nvoid* probe(size_t n) { return aligned_alloc(64, n); }\n' > "$probe/probe.c"
aarch64-linux-gnu-gcc -shared -fPIC -O2 -o "$probe/libprobe.so" "$probe/probe.c"
if bash scripts/check-android-symbols.sh "$probe/libprobe.so" >"$probe/out.txt" 2>&1; then
  echo "check-android-symbols accepted aligned_alloc:"; cat "$probe/out.txt"; status=1
else
  grep -q aligned_alloc "$probe/out.txt" && echo "self-check: aligned_alloc is rejected, as it must be" \
    || { cat "$probe/out.txt"; status=1; }
fi
bash scripts/check-android-symbols.sh "$build/libqgpu.so" || status=1

if [ "$status" != 0 ]; then
  echo "test-aarch64: FAILED" >&2
else
  echo "test-aarch64: passed"
fi
exit "$status"
