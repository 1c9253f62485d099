#!/usr/bin/env bash
# CTest smoke tests of qgpu-bench: smoke_test.sh BENCH WORKDIR CASE [BACKEND]
# Exit 0 = pass, 77 = skipped (backend unavailable, QGPU_TEST_STRICT unset), else fail.
set -euo pipefail
bench=$1 work=$2 case=$3 backend=${4:-cpu}
mkdir -p "$work"
cd "$work"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Two small layers covering grouped/depthwise, stride, padding and 1x1.
cat > tiny.tsv <<'EOF'
# name	cin	cout	h	w	kh	kw	stride	pad	groups	from
tiny_3x3	8	16	9	11	3	3	1	1	1	3x3 pad 1
tiny_dw_s2	12	12	10	7	3	3	2	1	12	depthwise stride 2
tiny_1x1	20	6	5	5	1	1	1	0	1	pointwise, odd channels
EOF

# backend_available NAME: 0 when `qgpu-bench devices` lists it, else prints why
backend_available() {
  "$bench" devices --json devices.json >/dev/null
  python3 - "$1" <<'EOF'
import json, sys
d = json.load(open("devices.json"))
b = [x for x in d["backends"] if x["backend"] == sys.argv[1]][0]
if not b["available"]:
    print(b["reason"])
    sys.exit(1)
EOF
}

case $case in
devices)
  "$bench" devices > devices.txt
  grep -q "^cpu " devices.txt || fail "no cpu line in: $(cat devices.txt)"
  "$bench" devices --json devices.json >/dev/null
  python3 - <<'EOF'
import json, os
d = json.load(open("devices.json"))
names = [b["backend"] for b in d["backends"]]
assert names == ["cpu", "vulkan", "opencl"], names
for b in d["backends"]:
    if b["available"]:
        assert b["devices"], b
        for dev in b["devices"]:
            assert dev["name"] and dev["kernel_variant"], dev
    else:
        assert b["status"] == "QGPU_ERROR_UNAVAILABLE" and b["reason"], b
assert d["backends"][0]["available"], "the CPU backend must always be available"
if os.environ.get("QGPU_TEST_STRICT") == "1":
    for b in d["backends"]:
        assert b["available"], "QGPU_TEST_STRICT=1 but %s is unavailable: %s" % (b["backend"], b.get("reason"))
print("devices ok:", [(b["backend"], b["available"]) for b in d["backends"]])
EOF
  ;;
conv)
  if [ "$backend" != cpu ]; then
    if ! why=$(backend_available "$backend"); then
      if [ "${QGPU_TEST_STRICT:-}" = 1 ]; then fail "QGPU_TEST_STRICT=1 and $backend is unavailable: $why"; fi
      echo "skipped: $backend unavailable: $why"
      exit 77
    fi
  fi
  "$bench" conv --backend "$backend" --shapes tiny.tsv --dtype both --check --warmup 1 --repeat 3 \
      --quiet --json conv.json > conv.txt || { cat conv.txt; fail "qgpu-bench conv exited $?"; }
  cat conv.txt
  python3 - "$backend" <<'EOF'
import json, sys
d = json.load(open("conv.json"))
assert d["backend"] == sys.argv[1], d["backend"]
assert isinstance(d["device"], dict) and d["device"]["name"], d["device"]
assert isinstance(d["threads"], int) and d["variant"], d
rows = d["results"]
assert [(r["name"], r["dtype"]) for r in rows] == [
    ("tiny_3x3", "int8"), ("tiny_3x3", "fp32"), ("tiny_dw_s2", "int8"), ("tiny_dw_s2", "fp32"),
    ("tiny_1x1", "int8"), ("tiny_1x1", "fp32")], rows
for r in rows:
    assert r["exact"] is True, r
    assert 0 < r["min_ms"] <= r["median_ms"] <= r["max_ms"], r
    assert r["gops"] > 0, r
    if r["dtype"] == "int8":
        assert r["speedup_vs_fp32"] > 0, r
# MACs = Cout*OH*OW*(Cin/groups)*KH*KW
assert rows[0]["macs"] == 16 * 9 * 11 * 8 * 9, rows[0]
assert rows[2]["macs"] == 12 * 5 * 4 * 1 * 9, rows[2]
print("conv ok")
EOF
  ;;
json-stdout)
  # --json - : stdout carries only the JSON (the table moves to stderr)
  "$bench" conv --backend cpu --shapes tiny.tsv --repeat 1 --warmup 0 --quiet --json - > out.json 2> table.txt
  python3 -c 'import json; d = json.load(open("out.json")); assert len(d["results"]) == 3, d'
  grep -q tiny_3x3 table.txt || fail "no table on stderr"
  ;;
plot)
  "$bench" conv --backend cpu --shapes tiny.tsv --dtype both --repeat 1 --warmup 0 --quiet --plot plot.svg >/dev/null
  python3 - <<'EOF'
import xml.etree.ElementTree as ET
root = ET.parse("plot.svg").getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
rects = root.findall("{http://www.w3.org/2000/svg}rect")
bars = [r for r in rects if r.find("{http://www.w3.org/2000/svg}title") is not None]
assert len(bars) == 6, len(bars)  # 3 layers x (int8, fp32)
assert all(float(b.get("height")) >= 0 for b in bars)
print("plot ok:", len(bars), "bars")
EOF
  ;;
quant)
  "$bench" quant --shape 1x8x32x32 --repeat 3 --warmup 1 --quiet --json quant.json > quant.txt
  cat quant.txt
  python3 - <<'EOF'
import json
d = json.load(open("quant.json"))
assert d["elements"] == 8 * 32 * 32 and d["round_trip_ok"] is True, d
assert [r["name"] for r in d["results"]] == ["memcpy", "write_f32", "read_f32"], d
assert all(r["gb_per_s"] > 0 for r in d["results"]), d
EOF
  ;;
model)
  # a one-conv ncnn model (Input 2x6x5 -> 3x3 conv + ReLU) with a hand-written table
  python3 - <<'EOF'
import random, struct
random.seed(1)
open("tiny.param", "w").write("7767517\n3 3\nInput data 0 1 data 0=5 1=6 2=2\n"
    "Convolution conv 1 1 data c1 0=3 1=3 4=1 5=1 6=54\nReLU relu 1 1 c1 out\n")
w = [random.uniform(-0.5, 0.5) for _ in range(54 + 3)]  # weights, then bias
open("tiny.bin", "wb").write(struct.pack("<I", 0) + struct.pack("<%df" % len(w), *w))
open("tiny.table", "w").write("conv_param_0 254 254 254\nconv 127\n")
EOF
  "$bench" model --backend cpu --param tiny.param --bin tiny.bin --table tiny.table --output out \
      --repeat 3 --warmup 1 --quiet --json model.json > model.txt || { cat model.txt; fail "qgpu-bench model exited non-zero"; }
  cat model.txt
  python3 - <<'EOF'
import json
d = json.load(open("model.json"))
assert [r["dtype"] for r in d["results"]] == ["fp32", "int8"], d
assert all(0 < r["min_ms"] <= r["median_ms"] <= r["max_ms"] for r in d["results"]), d
assert d["results"][1]["speedup_vs_fp32"] > 0, d
# int8 vs fp32 on the same input: a few quantization steps at most (|x| < 1, |w| < 0.5)
assert 0 <= d["max_abs_diff_int8_vs_fp32"] < 0.1 and d["top1_same"] == 1, d
EOF
  # int8 without a table is a usage error
  rc=0; "$bench" model --param tiny.param --bin tiny.bin >/dev/null 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "model without --table exited $rc, expected 2"
  ;;
bad-args)
  # expect_fail CODE ARGS...: the command exits with CODE and says something on stderr
  expect_fail() {
    local want=$1; shift
    local rc=0
    "$bench" "$@" >/dev/null 2>err.txt || rc=$?
    [ "$rc" = "$want" ] || fail "qgpu-bench $* exited $rc, expected $want"
    [ -s err.txt ] || fail "qgpu-bench $* printed no message"
  }
  expect_fail 2
  expect_fail 2 frobnicate
  expect_fail 2 conv --bogus
  expect_fail 2 conv --backend metal
  expect_fail 2 conv --repeat 0
  expect_fail 2 conv --repeat
  expect_fail 2 conv --threads -1
  expect_fail 2 conv --dtype int4
  expect_fail 2 conv --shapes /nonexistent/shapes.tsv
  printf 'bad\t1\t2\n' > bad.tsv
  expect_fail 2 conv --shapes bad.tsv
  expect_fail 2 conv --shapes tiny.tsv --layers no_such_layer
  expect_fail 2 quant --shape 1x2x3
  # valid syntax, but no CPU kernel variant has this name: a runtime failure
  expect_fail 1 conv --backend cpu --shapes tiny.tsv --variant no_such_variant
  grep -q "no_such_variant" err.txt || fail "the message does not name the variant: $(cat err.txt)"
  # an unavailable backend is a runtime failure with the reason
  for b in vulkan opencl; do
    if ! why=$(backend_available $b); then
      expect_fail 1 conv --backend $b --shapes tiny.tsv
      grep -q "unavailable" err.txt || fail "no reason for $b: $(cat err.txt)"
    fi
  done
  echo "bad args ok"
  ;;
*)
  fail "unknown case $case"
  ;;
esac
