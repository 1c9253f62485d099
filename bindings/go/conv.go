package qgpu

/*
#include "shim.h"
*/
import "C"

import "runtime"

// Activation is a fused activation (qgpu_activation).
type Activation int32

// The activations.
const (
	ActivationNone      Activation = C.QGPU_ACTIVATION_NONE
	ActivationReLU      Activation = C.QGPU_ACTIVATION_RELU
	ActivationReLU6     Activation = C.QGPU_ACTIVATION_RELU6
	ActivationClamp     Activation = C.QGPU_ACTIVATION_CLAMP      // [ActivationMin, ActivationMax]
	ActivationLeakyReLU Activation = C.QGPU_ACTIVATION_LEAKY_RELU // x < 0 ? LeakySlope*x : x
)

// Precision is the arithmetic of a convolution.
type Precision int32

// The precisions.
const (
	PrecisionInt8    Precision = C.QGPU_PRECISION_INT8    // int8 x int8 -> int32, then requantize/dequantize
	PrecisionFloat32 Precision = C.QGPU_PRECISION_FLOAT32 // plain fp32 convolution
)

// ConvDesc describes a 2-D convolution (qgpu_conv_desc). Zero kernel, stride, dilation and
// group values mean 1. Weights are OIHW: [OutChannels][InChannels/Groups][KernelH][KernelW];
// give either Weights (float) or WeightsInt8 + WeightScales (INT8 precision only).
type ConvDesc struct {
	Precision                            Precision
	InChannels, InH, InW, OutChannels    int
	KernelH, KernelW                     int
	StrideH, StrideW                     int
	DilationH, DilationW                 int
	PadTop, PadLeft, PadBottom, PadRight int
	Groups                               int
	Weights                              []float32
	WeightsInt8                          []int8
	WeightScales                         []float32
	Bias                                 []float32 // OutChannels values, or nil
	Activation                           Activation
	ActivationMin, ActivationMax         float32
	LeakySlope                           float32
	InputQuant, OutputQuant              Quant // INT8 precision
	OutputDType                          DType // Int8: fused requantize; Float32 (zero value): dequantize
}

func one(v int) int {
	if v == 0 {
		return 1
	}
	return v
}

// Conv is a convolution layer prepared for a context's device.
type Conv struct {
	ctx      *Context
	ch       *child
	outShape [3]int
	desc     ConvDesc
}

// NewConv validates d, quantizes and packs the weights for the device. The slices of d may be
// reused after it returns.
func (c *Context) NewConv(d ConvDesc) (*Conv, error) {
	kh, kw, groups := one(d.KernelH), one(d.KernelW), one(d.Groups)
	// Lengths are checked here: the C side cannot know how long a Go slice is.
	if d.InChannels <= 0 || d.OutChannels <= 0 || groups <= 0 || kh <= 0 || kw <= 0 ||
		d.InChannels%groups != 0 {
		return nil, invalid("ConvDesc: InChannels %d, OutChannels %d, Groups %d, kernel %dx%d",
			d.InChannels, d.OutChannels, groups, kh, kw)
	}
	wcount := d.OutChannels * (d.InChannels / groups) * kh * kw
	if d.Weights != nil && len(d.Weights) != wcount {
		return nil, invalid("ConvDesc.Weights has %d values, the shape needs %d", len(d.Weights), wcount)
	}
	if d.WeightsInt8 != nil && len(d.WeightsInt8) != wcount {
		return nil, invalid("ConvDesc.WeightsInt8 has %d values, the shape needs %d", len(d.WeightsInt8), wcount)
	}
	if d.WeightScales != nil && len(d.WeightScales) != d.OutChannels {
		return nil, invalid("ConvDesc.WeightScales has %d values, OutChannels is %d", len(d.WeightScales), d.OutChannels)
	}
	if d.Bias != nil && len(d.Bias) != d.OutChannels {
		return nil, invalid("ConvDesc.Bias has %d values, OutChannels is %d", len(d.Bias), d.OutChannels)
	}
	var cd C.qgpu_conv_desc
	C.qgpu_conv_desc_init(&cd)
	cd.precision = C.qgpu_precision(d.Precision)
	cd.in_channels, cd.in_h, cd.in_w = C.int32_t(d.InChannels), C.int32_t(d.InH), C.int32_t(d.InW)
	cd.out_channels = C.int32_t(d.OutChannels)
	cd.kernel_h, cd.kernel_w = C.int32_t(kh), C.int32_t(kw)
	cd.stride_h, cd.stride_w = C.int32_t(one(d.StrideH)), C.int32_t(one(d.StrideW))
	cd.dilation_h, cd.dilation_w = C.int32_t(one(d.DilationH)), C.int32_t(one(d.DilationW))
	cd.pad_top, cd.pad_left = C.int32_t(d.PadTop), C.int32_t(d.PadLeft)
	cd.pad_bottom, cd.pad_right = C.int32_t(d.PadBottom), C.int32_t(d.PadRight)
	cd.groups = C.int32_t(groups)
	cd.activation = C.qgpu_activation(d.Activation)
	cd.activation_min, cd.activation_max = C.float(d.ActivationMin), C.float(d.ActivationMax)
	cd.leaky_slope = C.float(d.LeakySlope)
	cd.input_quant = C.qgpu_quant{scale: C.float(d.InputQuant.Scale), zero_point: C.int32_t(d.InputQuant.ZeroPoint)}
	cd.output_quant = C.qgpu_quant{scale: C.float(d.OutputQuant.Scale), zero_point: C.int32_t(d.OutputQuant.ZeroPoint)}
	cd.output_dtype = C.qgpu_dtype(d.OutputDType)

	if err := c.lock(); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	var h C.qgpu_conv
	r := C.qg_conv_create(c.h, &cd, f32ptr(d.Weights), i8ptr(d.WeightsInt8), f32ptr(d.WeightScales),
		f32ptr(d.Bias), &h)
	runtime.KeepAlive(d.Weights)
	runtime.KeepAlive(d.WeightsInt8)
	runtime.KeepAlive(d.WeightScales)
	runtime.KeepAlive(d.Bias)
	if err := check(r); err != nil {
		return nil, err
	}
	conv := &Conv{ctx: c, ch: &child{conv: h}}
	c.adopt(conv.ch)
	runtime.SetFinalizer(conv, (*Conv).Close)
	var shape [3]C.int32_t
	if err := check(C.qg_conv_get_output_shape(h, &shape[0])); err != nil {
		return nil, err // the conv is released by Close or the context
	}
	conv.outShape = [3]int{int(shape[0]), int(shape[1]), int(shape[2])}
	conv.desc = d
	conv.desc.Weights, conv.desc.WeightsInt8, conv.desc.WeightScales, conv.desc.Bias = nil, nil, nil, nil
	return conv, nil
}

// Close releases the convolution (idempotent).
func (v *Conv) Close() error {
	v.ctx.release(v.ch)
	runtime.SetFinalizer(v, nil)
	return nil
}

// OutputShape is {out_channels, out_h, out_w}.
func (v *Conv) OutputShape() [3]int { return v.outShape }

func (v *Conv) lock() error {
	if err := v.ctx.lock(); err != nil {
		return err
	}
	if v.ch.conv == nil {
		v.ctx.mu.Unlock()
		return invalid("the convolution is closed")
	}
	return nil
}

// WeightScales returns the per-output-channel weight scales in use (INT8 precision).
func (v *Conv) WeightScales() ([]float32, error) {
	if err := v.lock(); err != nil {
		return nil, err
	}
	defer v.ctx.mu.Unlock()
	out := make([]float32, v.outShape[0])
	return out, check(C.qg_conv_get_weight_scales(v.ch.conv, f32ptr(out), C.size_t(len(out))))
}

// Run computes output = conv(input) on device tensors of the same context. It returns when
// the output is complete.
func (v *Conv) Run(input, output *Tensor) error {
	if input == nil || output == nil {
		return invalid("Run: nil tensor")
	}
	if input.ctx != v.ctx || output.ctx != v.ctx {
		return invalid("Run: the tensors belong to another context")
	}
	if err := v.lock(); err != nil {
		return err
	}
	defer v.ctx.mu.Unlock()
	if input.ch.tensor == nil || output.ch.tensor == nil {
		return invalid("Run: a tensor is closed")
	}
	return check(C.qg_conv_run(v.ch.conv, input.ch.tensor, output.ch.tensor))
}

// RunHost runs on host NCHW floats, batch n: an INT8 conv quantizes the input on the fly and
// dequantizes an int8 output. The slices are used in place.
func (v *Conv) RunHost(n int, input, output []float32) error {
	if n < 0 || n > 1<<31-1 {
		return invalid("RunHost: batch %d out of range", n)
	}
	if err := v.lock(); err != nil {
		return err
	}
	defer v.ctx.mu.Unlock()
	err := check(C.qg_conv_run_host(v.ch.conv, C.int32_t(n), f32ptr(input), C.size_t(len(input)),
		f32ptr(output), C.size_t(len(output))))
	runtime.KeepAlive(input)
	runtime.KeepAlive(output)
	return err
}
