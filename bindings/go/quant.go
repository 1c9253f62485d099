package qgpu

/*
#include "shim.h"
*/
import "C"

import "runtime"

// QuantizeMultiplier represents a real multiplier M > 0 as M ~= m0 * 2^(shift-31) with m0 in
// [2^30, 2^31).
func QuantizeMultiplier(m float64) (m0, shift int32, err error) {
	var cm0, cshift C.int32_t
	if err := check(C.qg_quantize_multiplier(C.double(m), &cm0, &cshift)); err != nil {
		return 0, 0, err
	}
	return int32(cm0), int32(cshift), nil
}

// Requantize is the fixed-point rescale of an int32 accumulator (gemmlowp double rounding),
// the arithmetic every backend follows.
func Requantize(acc, m0, shift int32) int32 {
	return int32(C.qgpu_requantize(C.int32_t(acc), C.int32_t(m0), C.int32_t(shift)))
}

// Quantize writes q[i] = clamp(round_half_even(x[i] / scale) + zero_point, -128, 127).
func Quantize(x []float32, q Quant, out []int8) error {
	if len(out) != len(x) {
		return invalid("Quantize: %d inputs but %d outputs", len(x), len(out))
	}
	err := check(C.qg_quantize(f32ptr(x), C.size_t(len(x)), C.float(q.Scale), C.int32_t(q.ZeroPoint), i8ptr(out)))
	runtime.KeepAlive(x)
	runtime.KeepAlive(out)
	return err
}

// Dequantize writes out[i] = scale * (q[i] - zero_point).
func Dequantize(in []int8, q Quant, out []float32) error {
	if len(out) != len(in) {
		return invalid("Dequantize: %d inputs but %d outputs", len(in), len(out))
	}
	err := check(C.qg_dequantize(i8ptr(in), C.size_t(len(in)), C.float(q.Scale), C.int32_t(q.ZeroPoint), f32ptr(out)))
	runtime.KeepAlive(in)
	runtime.KeepAlive(out)
	return err
}
