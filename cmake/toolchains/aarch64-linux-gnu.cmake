# Cross build for AArch64 Linux with Debian's gcc-aarch64-linux-gnu / g++-aarch64-linux-gnu.
# It stands in for the Android NDK build in CI (same CMake options, same CPU architecture);
# tests run under qemu-aarch64-static through CMAKE_CROSSCOMPILING_EMULATOR.
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DQGPU_BUILD_TOOLS=OFF
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(QGPU_AARCH64_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${QGPU_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${QGPU_AARCH64_TRIPLE}-g++)

# Target libraries and CMake packages come from the cross sysroot only (a host x86-64 package
# such as Debian's ONNX/protobuf config must not be picked up). Headers may also come from the
# host: the Vulkan and OpenCL headers (the loaders are dlopen'ed at run time, never linked) are
# architecture-independent. Catch2 is header-only: its host package config is named directly.
set(CMAKE_FIND_ROOT_PATH /usr/${QGPU_AARCH64_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # host tools: glslc, spirv-val, python3
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
if(NOT Catch2_DIR AND EXISTS /usr/lib/cmake/Catch2/Catch2Config.cmake)
  set(Catch2_DIR /usr/lib/cmake/Catch2 CACHE PATH "Catch2 (header-only) from the host")
endif()

# catch_discover_tests() and ctest run the AArch64 binaries under qemu user-mode emulation.
find_program(QGPU_QEMU_AARCH64 qemu-aarch64-static)
if(QGPU_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${QGPU_QEMU_AARCH64} -L /usr/${QGPU_AARCH64_TRIPLE})
endif()
