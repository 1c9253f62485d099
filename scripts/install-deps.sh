#!/usr/bin/env bash
# Installs everything qgpu needs to build and test on Debian 12. Idempotent: packages already
# present are skipped without touching the network.
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  catch2                                   # tests (Catch2 v2)
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  glslc glslang-tools spirv-tools          # shaders -> SPIR-V at build time, spirv-val
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo clang-14
  golang-go                                # Go bindings (cgo)
  libonnx-dev libprotobuf-dev              # ONNX model import (src/model/onnx_import.cpp)
  dataset-fashion-mnist                    # accuracy checks of the Fashion-MNIST model
  g++-aarch64-linux-gnu qemu-user-static   # AArch64 cross build + NEON tests under qemu
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
