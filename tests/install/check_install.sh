#!/usr/bin/env bash
# Installs the build in $1 into a scratch prefix and builds two consumers outside the tree:
# a C program through pkg-config, and a CMake project through find_package(qgpu).
set -euo pipefail
build=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

pcdir=$(dirname "$(find "$prefix" -name qgpu.pc | head -n1)")
libdir=$(dirname "$(find "$prefix" -name 'libqgpu.so*' | head -n1)")
export PKG_CONFIG_PATH=$pcdir
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror -o "$work/consumer" "$here/consumer.c" $(pkg-config --cflags --libs qgpu)
LD_LIBRARY_PATH=$libdir "$work/consumer"
readelf -d "$libdir/libqgpu.so" | grep -q 'SONAME.*libqgpu.so.0' || { echo "SONAME missing"; exit 1; }

cmake -S "$here" -B "$work/cmake-consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake-consumer" >/dev/null
LD_LIBRARY_PATH=$libdir "$work/cmake-consumer/consumer"
echo "install consumers: ok"
