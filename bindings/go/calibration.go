//go:build !qgpu_nocalib

package qgpu

/*
#include "calib_shim.h"
*/
import "C"

import (
	"runtime"
	"sync"
)

// CalibMethod is an activation calibration method (qgpu_calib_method).
type CalibMethod int32

// The calibration methods (docs/calibration.md).
const (
	CalibMinMax           CalibMethod = C.QGPU_CALIB_MINMAX
	CalibMinMaxAsymmetric CalibMethod = C.QGPU_CALIB_MINMAX_ASYMMETRIC
	CalibKL               CalibMethod = C.QGPU_CALIB_KL
	CalibPercentile       CalibMethod = C.QGPU_CALIB_PERCENTILE
	CalibMSE              CalibMethod = C.QGPU_CALIB_MSE
	CalibAuto             CalibMethod = C.QGPU_CALIB_AUTO
)

func (m CalibMethod) String() string {
	return C.GoString(C.qgpu_calib_method_name(C.qgpu_calib_method(m)))
}

// CalibOptions selects how Compute picks the quantization.
type CalibOptions struct {
	Method         CalibMethod
	Percentile     float64 // CalibPercentile: in (0, 100]; 0 = the default (99.99)
	KLCountZeros   bool    // KL: count exact zeros in the histogram (TensorRT-style)
	AutoAsymmetric bool    // Auto: MinMaxAsymmetric is a candidate too
}

// CalibResult is the quantization chosen for a tensor.
type CalibResult struct {
	Method          CalibMethod // the method that produced it (for Auto: the one chosen)
	Threshold       float32     // clipping threshold T
	Quant           Quant
	MSE             float64 // estimated mean squared error per value; -1 without the histogram
	ClippedFraction float64 // fraction of values clipped; -1 without the histogram
}

// CalibStats are what a Calibrator has seen.
type CalibStats struct {
	Count, Zeros, HistogramCount uint64
	Min, Max, AbsMax             float32
	HistogramBins                int
	HistogramPass                bool
}

// Calibrator collects the activations of one tensor in two passes over the same data: a range
// pass (Observe...), then BeginHistogram and the same data again. Safe for concurrent use.
type Calibrator struct {
	mu sync.Mutex
	h  C.qgpu_calibrator
}

// NewCalibrator creates a calibrator; histogramBins 0 = 2048, otherwise in [256, 8192].
func NewCalibrator(histogramBins int) (*Calibrator, error) {
	if histogramBins < 0 || histogramBins > 1<<30 {
		return nil, invalid("NewCalibrator: histogramBins %d out of range", histogramBins)
	}
	var h C.qgpu_calibrator
	if err := check(C.qg_calibrator_create(C.int32_t(histogramBins), &h)); err != nil {
		return nil, err
	}
	c := &Calibrator{h: h}
	runtime.SetFinalizer(c, (*Calibrator).Close)
	return c, nil
}

// Close releases the calibrator (idempotent).
func (c *Calibrator) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h != nil {
		C.qgpu_calibrator_destroy(c.h)
		c.h = nil
	}
	runtime.SetFinalizer(c, nil)
	return nil
}

func (c *Calibrator) lock() error {
	c.mu.Lock()
	if c.h == nil {
		c.mu.Unlock()
		return invalid("the calibrator is closed")
	}
	return nil
}

// Observe feeds a batch of finite values (a batch with NaN or Inf is rejected whole).
func (c *Calibrator) Observe(data []float32) error {
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	err := check(C.qg_calibrator_observe(c.h, f32ptr(data), C.size_t(len(data))))
	runtime.KeepAlive(data)
	return err
}

// BeginHistogram ends the range pass and starts the histogram pass.
func (c *Calibrator) BeginHistogram() error {
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return check(C.qg_calibrator_begin_histogram(c.h))
}

// Stats reports what has been observed.
func (c *Calibrator) Stats() (CalibStats, error) {
	if err := c.lock(); err != nil {
		return CalibStats{}, err
	}
	defer c.mu.Unlock()
	var s C.qgpu_calib_stats
	if err := check(C.qg_calibrator_get_stats(c.h, &s)); err != nil {
		return CalibStats{}, err
	}
	return CalibStats{
		Count: uint64(s.count), Zeros: uint64(s.zeros), HistogramCount: uint64(s.histogram_count),
		Min: float32(s.min), Max: float32(s.max), AbsMax: float32(s.absmax),
		HistogramBins: int(s.histogram_bins), HistogramPass: s.histogram_pass != 0,
	}, nil
}

// Compute picks the quantization by o.Method.
func (c *Calibrator) Compute(o CalibOptions) (CalibResult, error) {
	if err := c.lock(); err != nil {
		return CalibResult{}, err
	}
	defer c.mu.Unlock()
	b := func(v bool) C.int32_t {
		if v {
			return 1
		}
		return 0
	}
	var r C.qgpu_calib_result
	if err := check(C.qg_calibrator_compute(c.h, C.qgpu_calib_method(o.Method), C.double(o.Percentile),
		b(o.KLCountZeros), b(o.AutoAsymmetric), &r)); err != nil {
		return CalibResult{}, err
	}
	return CalibResult{
		Method: CalibMethod(r.method), Threshold: float32(r.threshold),
		Quant: Quant{Scale: float32(r.quant.scale), ZeroPoint: int32(r.quant.zero_point)},
		MSE:   float64(r.mse), ClippedFraction: float64(r.clipped_fraction),
	}, nil
}

// QuantizeWeights quantizes OIHW weights symmetrically, per output channel (perTensor false)
// or with one scale for the whole tensor, as NewConv does with float weights.
func QuantizeWeights(weights []float32, outChannels int, perTensor bool) ([]int8, []float32, error) {
	if outChannels <= 0 || len(weights)%outChannels != 0 {
		return nil, nil, invalid("QuantizeWeights: %d weights do not split into %d output channels", len(weights), outChannels)
	}
	q := make([]int8, len(weights))
	scales := make([]float32, outChannels)
	pt := C.int32_t(0)
	if perTensor {
		pt = 1
	}
	err := check(C.qg_quantize_weights(f32ptr(weights), C.int32_t(outChannels), C.size_t(len(weights)/outChannels),
		pt, i8ptr(q), f32ptr(scales)))
	runtime.KeepAlive(weights)
	if err != nil {
		return nil, nil, err
	}
	return q, scales, nil
}

// WeightsQuantizationSQNR is the signal-to-quantization-noise ratio (dB) of QuantizeWeights;
// +Inf when the quantization is exact.
func WeightsQuantizationSQNR(weights []float32, outChannels int, perTensor bool) (float64, error) {
	if outChannels <= 0 || len(weights)%outChannels != 0 {
		return 0, invalid("WeightsQuantizationSQNR: %d weights do not split into %d output channels", len(weights), outChannels)
	}
	pt := C.int32_t(0)
	if perTensor {
		pt = 1
	}
	var db C.double
	err := check(C.qg_weights_quantization_sqnr(f32ptr(weights), C.int32_t(outChannels),
		C.size_t(len(weights)/outChannels), pt, &db))
	runtime.KeepAlive(weights)
	return float64(db), err
}
