#!/usr/bin/env bash
# Fails when a (cross-built AArch64) libqgpu.so needs a C library symbol that Android's bionic
# (libc, libm, libdl) does not provide at API 24, the minimum the Android build supports.
#
#   scripts/check-android-symbols.sh path/to/libqgpu.so
#
# The list is scripts/android-api24-symbols.txt, kept by hand. The library here is built
# against glibc and libstdc++, the Android one against bionic and the NDK's libc++, so:
#  - C++ runtime symbols (mangled _Z..., __cxa_*, __gxx_personality_v0, _Unwind_*) are not
#    checked: the NDK's libc++ / libc++abi / libunwind supply their own;
#  - a few glibc names are what glibc's headers turn a standard call into (__errno_location
#    for errno, __isoc99_sscanf for sscanf, __*_chk for fortified calls); the list has them in a
#    separate section with the bionic equivalent the NDK headers produce.
# Anything else that is undefined must be in the list, or the check fails naming it.
set -euo pipefail
lib=${1:?usage: check-android-symbols.sh LIBQGPU_SO}
here=$(cd "$(dirname "$0")" && pwd)
list=$here/android-api24-symbols.txt
nm=${NM:-}
if [ -z "$nm" ]; then
  for cand in aarch64-linux-gnu-nm llvm-nm nm; do
    if command -v "$cand" >/dev/null; then nm=$cand; break; fi
  done
fi
[ -f "$lib" ] || { echo "check-android-symbols: no such file: $lib" >&2; exit 2; }
[ -f "$list" ] || { echo "check-android-symbols: missing $list" >&2; exit 2; }

# allowed names: first column of non-comment lines
allowed=$(grep -v '^[[:space:]]*#' "$list" | awk 'NF {print $1}' | sort -u)
# undefined dynamic symbols, version suffix (@GLIBC_2.17) removed; weak ones too (w/v), since
# a weak reference that is absent at run time is only safe if the code checks for NULL
undefined=$("$nm" -D --undefined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u)

checked=0 skipped=0 bad=()
while IFS= read -r sym; do
  [ -n "$sym" ] || continue
  case $sym in
    _Z*|__cxa_*|__gxx_personality_v0|_Unwind_*|__gmon_start__|_ITM_*|__dso_handle)
      skipped=$((skipped + 1)); continue ;;
  esac
  checked=$((checked + 1))
  if ! grep -qxF "$sym" <<<"$allowed"; then
    bad+=("$sym")
  fi
done <<<"$undefined"

echo "check-android-symbols: $lib: $checked C symbols checked against API 24, $skipped C++ runtime symbols skipped"
if [ "${#bad[@]}" -gt 0 ]; then
  echo "check-android-symbols: FAILED: not available in bionic at API 24 (or not yet reviewed):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "If a symbol is in fact in bionic at API <= 24, add it to $list with its source." >&2
  exit 1
fi
echo "check-android-symbols: ok"
