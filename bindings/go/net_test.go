//go:build !qgpu_nonet && !qgpu_nocalib

package qgpu_test

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"qgpu.dev/qgpu"
)

// A one-conv ncnn model (2 -> 3 channels, 3x3, pad 1, bias) on a 2x6x5 input, and its float
// reference in float64.
type tinyNet struct {
	param, bin string
	w, b       []float32
}

const tnC, tnO, tnH, tnW = 2, 3, 6, 5

func writeTinyNet(t *testing.T, rng *rand.Rand) *tinyNet {
	dir := t.TempDir()
	n := &tinyNet{param: filepath.Join(dir, "tiny.param"), bin: filepath.Join(dir, "tiny.bin"),
		w: make([]float32, tnO*tnC*9), b: make([]float32, tnO)}
	for i := range n.w {
		n.w[i] = rng.Float32() - 0.5
	}
	for i := range n.b {
		n.b[i] = rng.Float32() - 0.5
	}
	param := "7767517\n2 2\n" +
		"Input data 0 1 data 0=5 1=6 2=2\n" +
		"Convolution conv 1 1 data out 0=3 1=3 4=1 5=1 6=54\n"
	if err := os.WriteFile(n.param, []byte(param), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := make([]byte, 4+4*(len(n.w)+len(n.b))) // tag 0 = raw fp32, weights, bias
	for i, v := range append(append([]float32{}, n.w...), n.b...) {
		binary.LittleEndian.PutUint32(bin[4+4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(n.bin, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *tinyNet) reference(x []float32) []float64 {
	out := make([]float64, tnO*tnH*tnW)
	for o := 0; o < tnO; o++ {
		for y := 0; y < tnH; y++ {
			for xx := 0; xx < tnW; xx++ {
				s := float64(n.b[o])
				for c := 0; c < tnC; c++ {
					for ky := 0; ky < 3; ky++ {
						for kx := 0; kx < 3; kx++ {
							iy, ix := y-1+ky, xx-1+kx
							if iy >= 0 && iy < tnH && ix >= 0 && ix < tnW {
								s += float64(x[(c*tnH+iy)*tnW+ix]) * float64(n.w[((o*tnC+c)*3+ky)*3+kx])
							}
						}
					}
				}
				out[(o*tnH+y)*tnW+xx] = s
			}
		}
	}
	return out
}

func TestNetFloatCalibrateInt8(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	tn := writeTinyNet(t, rng)
	x := make([]float32, tnC*tnH*tnW)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) {
			ctx := openBackend(t, b, qgpu.ContextOptions{})
			fnet, err := ctx.NewNet(qgpu.NetOptions{ParamPath: tn.param, BinPath: tn.bin, Precision: qgpu.PrecisionFloat32})
			if err != nil {
				t.Fatal(err)
			}
			defer fnet.Close()
			if s, err := fnet.BlobShape("data"); err != nil || s != [4]int{1, tnC, tnH, tnW} {
				t.Fatalf("BlobShape(data) = %v, %v", s, err)
			}
			if _, err := fnet.BlobShape("nope"); !errors.Is(err, qgpu.ErrInvalidArgument) {
				t.Fatalf("BlobShape(nope): %v", err)
			}
			if fnet.Summary() == "" {
				t.Fatal("empty summary")
			}
			if err := fnet.SetInput("data", x); err != nil {
				t.Fatal(err)
			}
			if err := fnet.Run(); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, tnO*tnH*tnW)
			if err := fnet.Output("out", got); err != nil {
				t.Fatal(err)
			}
			want := tn.reference(x)
			for i := range got {
				if math.Abs(float64(got[i])-want[i]) > 1e-5 {
					t.Fatalf("float net out[%d] = %v, want %v", i, got[i], want[i])
				}
			}

			// calibrate on a few samples, then run the same model in int8 with that table
			samples := make([]float32, 4*len(x))
			for i := range samples {
				samples[i] = rng.Float32()*2 - 1
			}
			copy(samples, x)
			table, err := qgpu.NewTable()
			if err != nil {
				t.Fatal(err)
			}
			defer table.Close()
			if err := fnet.Calibrate("data", samples[:len(samples)-1], nil, table); !errors.Is(err, qgpu.ErrInvalidArgument) {
				t.Fatalf("Calibrate with a partial sample: %v", err)
			}
			if err := fnet.Calibrate("data", samples, &qgpu.CalibOptions{Method: qgpu.CalibMinMax}, table); err != nil {
				t.Fatalf("Calibrate: %v", err)
			}
			if _, acts, err := table.Names(); err != nil || len(acts) == 0 {
				t.Fatalf("table after Calibrate: activations %v, %v", acts, err)
			}
			inet, err := ctx.NewNet(qgpu.NetOptions{ParamPath: tn.param, BinPath: tn.bin, Table: table})
			if err != nil {
				t.Fatalf("int8 net: %v", err)
			}
			defer inet.Close()
			if !strings.Contains(inet.Summary(), "int8") {
				t.Fatalf("int8 net summary: %s", inet.Summary())
			}
			if err := inet.SetInput("data", x); err != nil {
				t.Fatal(err)
			}
			if err := inet.Run(); err != nil {
				t.Fatal(err)
			}
			if err := inet.Output("out", got); err != nil {
				t.Fatal(err)
			}
			// int8 error: input step ~1/127, weight step ~0.5/127 per channel, 18 taps
			for i := range got {
				if math.Abs(float64(got[i])-want[i]) > 0.05 {
					t.Fatalf("int8 net out[%d] = %v, float reference %v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestTable(t *testing.T) {
	tab, err := qgpu.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if err := tab.SetWeightScales("conv1", []float32{100, 200.5}); err != nil {
		t.Fatal(err)
	}
	if err := tab.SetActivationScale("data", 50); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "x.table")
	if err := tab.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := qgpu.LoadTable(path)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	w, a, err := back.Names()
	if err != nil || len(w) != 1 || w[0] != "conv1" || len(a) != 1 || a[0] != "data" {
		t.Fatalf("Names = %v %v %v", w, a, err)
	}
	ws, err := back.WeightScales("conv1")
	if err != nil || len(ws) != 2 || ws[0] != 100 || ws[1] != 200.5 {
		t.Fatalf("WeightScales = %v %v", ws, err)
	}
	if s, err := back.ActivationScale("data"); err != nil || s != 50 {
		t.Fatalf("ActivationScale = %v %v", s, err)
	}
	if _, err := qgpu.LoadTable(filepath.Join(t.TempDir(), "missing.table")); !errors.Is(err, qgpu.ErrIO) {
		t.Fatalf("missing table: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.table")
	os.WriteFile(bad, []byte("conv1_param_0 1 2\ndata notanumber\n"), 0o644)
	var qe *qgpu.Error
	if _, err := qgpu.LoadTable(bad); !errors.As(err, &qe) || qe.Status != qgpu.StatusFormat || !strings.Contains(qe.Msg, "2") {
		t.Fatalf("malformed table: %v (want ErrFormat naming line 2)", err)
	}
	back.Close()
	if _, _, err := back.Names(); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("closed table: %v", err)
	}
}
