//go:build !qgpu_nocalib

package qgpu_test

import (
	"errors"
	"math"
	"math/rand"
	"testing"

	"qgpu.dev/qgpu"
)

func TestCalibrator(t *testing.T) {
	c, err := qgpu.NewCalibrator(0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rng := rand.New(rand.NewSource(2))
	data := make([]float32, 10000)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	if err := c.Observe(data); err != nil {
		t.Fatal(err)
	}
	if err := c.Observe([]float32{1, float32(math.Inf(1))}); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("Observe(Inf): %v", err)
	}
	mm, err := c.Compute(qgpu.CalibOptions{Method: qgpu.CalibMinMax})
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Stats()
	if err != nil || st.Count != 10000 || st.AbsMax != mm.Threshold || st.HistogramPass {
		t.Fatalf("stats %+v %v; minmax %+v", st, err, mm)
	}
	if _, err := c.Compute(qgpu.CalibOptions{Method: qgpu.CalibKL}); err == nil {
		t.Fatal("KL before the histogram pass succeeded")
	}
	if err := c.BeginHistogram(); err != nil {
		t.Fatal(err)
	}
	if err := c.Observe(data); err != nil {
		t.Fatal(err)
	}
	for _, m := range []qgpu.CalibMethod{qgpu.CalibKL, qgpu.CalibPercentile, qgpu.CalibMSE, qgpu.CalibAuto} {
		r, err := c.Compute(qgpu.CalibOptions{Method: m})
		if err != nil {
			t.Fatalf("%v: %v", m, err)
		}
		if !(r.Threshold > 0 && r.Threshold <= mm.Threshold) || r.Quant.Scale <= 0 || r.MSE < 0 {
			t.Fatalf("%v: %+v (minmax threshold %v)", m, r, mm.Threshold)
		}
		t.Logf("%v: %+v", m, r)
	}
	c.Close()
	if err := c.Observe(data); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("Observe after Close: %v", err)
	}
}

func TestQuantizeWeights(t *testing.T) {
	w := []float32{1, -0.5, 0.25, 0, 0, 0}
	wq, scales, err := qgpu.QuantizeWeights(w, 2, false)
	if err != nil || wq[0] != 127 || scales[1] != 1 || math.Abs(float64(scales[0])-1.0/127) > 1e-9 {
		t.Fatalf("QuantizeWeights = %v %v %v", wq, scales, err)
	}
	db, err := qgpu.WeightsQuantizationSQNR(w, 2, false)
	if err != nil || !(db > 30) {
		t.Fatalf("SQNR = %v, %v", db, err)
	}
}
