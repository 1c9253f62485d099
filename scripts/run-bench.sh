#!/usr/bin/env bash
# The main job: install dependencies, build (Release), and run qgpu-bench on the layer suite with
# the best backend found (extra arguments go to `qgpu-bench conv`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DQGPU_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)"
./build-release/tools/qgpu-bench/qgpu-bench devices
exec ./build-release/tools/qgpu-bench/qgpu-bench conv --backend auto --dtype both "$@"
