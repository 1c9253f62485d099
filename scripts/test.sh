#!/usr/bin/env bash
# Installs the dependencies, builds and runs every test:
#  1. an AddressSanitizer + UBSan build of the library and the whole suite,
#  2. the AArch64 cross build with its tests under qemu (scripts/test-aarch64.sh),
#  3. the Release build and the whole suite (its CTest summary closes the output).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs=$(nproc)
export QGPU_TEST_STRICT=1  # no "skipped" for backends CI is expected to have (lavapipe, PoCL)

echo "== ASan + UBSan build"
cmake -S . -B build-ci/asan -DCMAKE_BUILD_TYPE=Debug -DQGPU_SANITIZE=ON -DQGPU_BUILD_TOOLS=OFF >/dev/null
cmake --build build-ci/asan -j"$jobs"
(cd build-ci/asan && ctest --output-on-failure -j"$jobs" --timeout 1500)

if [ -f scripts/test-aarch64.sh ]; then
  echo "== AArch64 cross build, tests under qemu"
  bash scripts/test-aarch64.sh build-ci/aarch64
fi

echo "== Release build"
cmake -S . -B build-ci/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-ci/release -j"$jobs"
(cd build-ci/release && ctest --output-on-failure -j"$jobs" --timeout 1500)
