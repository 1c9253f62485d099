#!/usr/bin/env bash
# Corrupt and truncated images given to `qgpu-run classify` must end in a clean error (exit 2
# with a message) or, for damage that leaves a valid image (a flipped pixel), a normal run —
# never a crash (a signal) or a sanitizer report.
# usage: fuzz_images.sh QGPU_RUN SQUEEZENET_DIR WORK_DIR
set -euo pipefail
run=$1 sq=$2 work=$3
mkdir -p "$work"
cat_ppm="$sq/img/cat.ppm"
size=$(stat -c %s "$cat_ppm")
header=$(head -c 20 "$cat_ppm" | tr '\n' ' ')
cases=()
# truncations: empty, inside the header, right after it, in the pixels, one byte short
for n in 0 1 2 5 10 15 20 1000 $((size / 2)) $((size - 1)); do
  head -c "$n" "$cat_ppm" > "$work/trunc_$n.ppm"; cases+=("$work/trunc_$n.ppm:error")
done
# header mutations (the pixel bytes follow unchanged)
pixels_from=$(( $(head -c 64 "$cat_ppm" | grep -abo '255' | head -1 | cut -d: -f1) + 4 ))
i=0
for h in "P7 227 227 255" "P6 0 227 255" "P6 -5 227 255" "P6 99999 99999 255" "P6 227 227 65535" \
         "P6 227 227 0" "P6 abc 227 255" "P6 4294967297 1 255" "P5 227 227 255" "P6 227" ""; do
  { printf '%s\n' "$h"; tail -c +"$pixels_from" "$cat_ppm"; } > "$work/header_$i.ppm"
  expect=error
  [ "$h" = "P5 227 227 255" ] && expect=any  # a valid PGM of the same bytes (3x too many)
  cases+=("$work/header_$i.ppm:$expect"); i=$((i + 1))
done
# a header with a comment, as image tools write it: a valid image
dims=$(head -c 32 "$cat_ppm" | tr '\n' ' ' | awk '{print $2, $3}')
{ printf 'P6\n# written by an image tool\n%s\n255\n' "$dims"; tail -c +"$pixels_from" "$cat_ppm"; } > "$work/comment.ppm"
cases+=("$work/comment.ppm:ok")
# random byte flips in the pixel data: still an image
for seed in 1 2 3; do
  cp "$cat_ppm" "$work/flip_$seed.ppm"
  off=$(( pixels_from + (seed * 7919) % (size - pixels_from) ))
  printf '\xff' | dd of="$work/flip_$seed.ppm" bs=1 seek="$off" conv=notrunc status=none
  cases+=("$work/flip_$seed.ppm:ok")
done
fail=0
for c in "${cases[@]}"; do
  img=${c%%:*} expect=${c##*:}
  set +e
  "$run" classify --param "$sq/squeezenet_v1.1.param" --bin "$sq/squeezenet_v1.1.bin" \
    --table "$sq/squeezenet_v1.1.kl.table" --image "$img" --repeat 1 > "$work/out.txt" 2>&1
  rc=$?
  set -e
  if [ $rc -ge 128 ] || grep -q "Sanitizer" "$work/out.txt"; then
    echo "CRASH ($rc) on $img"; cat "$work/out.txt"; fail=1
  elif [ "$expect" = error ] && { [ $rc -ne 2 ] || ! grep -q "qgpu-run:" "$work/out.txt"; }; then
    echo "expected a clean error on $img, got rc $rc"; cat "$work/out.txt"; fail=1
  elif [ "$expect" = ok ] && [ $rc -ne 0 ]; then
    echo "expected a run on $img, got rc $rc"; cat "$work/out.txt"; fail=1
  fi
done
echo "fuzz_images: ${#cases[@]} images (header: $header...), failures: $fail"
exit $fail
