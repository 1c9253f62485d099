package qgpu_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"qgpu.dev/qgpu"
)

var strict = os.Getenv("QGPU_TEST_STRICT") == "1"

// openBackend returns a context on b, or skips the test with the reason when the backend is
// unavailable (under QGPU_TEST_STRICT=1 a missing Vulkan/OpenCL backend fails instead).
func openBackend(t testing.TB, b qgpu.Backend, opts qgpu.ContextOptions) *qgpu.Context {
	t.Helper()
	if _, err := qgpu.DeviceCount(b); err != nil {
		if !errors.Is(err, qgpu.ErrUnavailable) {
			t.Fatalf("DeviceCount(%v): unexpected error %v", b, err)
		}
		if strict && b != qgpu.BackendCPU {
			t.Fatalf("QGPU_TEST_STRICT=1 but %v is unavailable: %v", b, err)
		}
		t.Skipf("skipped: %v unavailable: %v", b, err)
	}
	opts.Backend = b
	ctx, err := qgpu.NewContext(opts)
	if err != nil {
		t.Fatalf("NewContext(%v): %v", b, err)
	}
	t.Cleanup(func() { ctx.Close() })
	return ctx
}

var backends = []qgpu.Backend{qgpu.BackendCPU, qgpu.BackendVulkan, qgpu.BackendOpenCL}

func TestVersion(t *testing.T) {
	v := qgpu.Version()
	if len(strings.Split(v, ".")) != 3 {
		t.Fatalf("Version() = %q, want major.minor.patch", v)
	}
}

func TestDevices(t *testing.T) {
	cpus, err := qgpu.Devices(qgpu.BackendCPU)
	if err != nil || len(cpus) != 1 {
		t.Fatalf("Devices(cpu) = %v, %v; want one device", cpus, err)
	}
	d := cpus[0]
	if d.Type != qgpu.DeviceTypeCPU || d.Name == "" || d.KernelVariant == "" || d.Backend != qgpu.BackendCPU {
		t.Fatalf("cpu device info %+v", d)
	}
	for _, b := range []qgpu.Backend{qgpu.BackendVulkan, qgpu.BackendOpenCL} {
		devs, err := qgpu.Devices(b)
		if err != nil {
			var qe *qgpu.Error
			if !errors.As(err, &qe) || qe.Status != qgpu.StatusUnavailable || qe.Msg == "" {
				t.Fatalf("Devices(%v): %#v, want an UNAVAILABLE *qgpu.Error with a reason", b, err)
			}
			t.Logf("%v unavailable: %v", b, err)
			continue
		}
		for _, d := range devs {
			t.Logf("%v[%d]: %s (%s) variant %s caps %#x", b, d.Index, d.Name, d.Detail, d.KernelVariant, d.Caps)
			if d.Name == "" || d.Backend != b {
				t.Errorf("bad device info %+v", d)
			}
		}
	}
	if _, err := qgpu.DeviceCount(qgpu.BackendAuto); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Errorf("DeviceCount(auto) = %v, want ErrInvalidArgument", err)
	}
}

// A conv case whose requantization multiplier is a power of two, so the expected int8 output
// can be computed here exactly with qgpu.Requantize.
type exactCase struct {
	desc       qgpu.ConvDesc
	x          []int8
	n          int
	oh, ow     int
	m0, shift  int32
	want       []int8
	wantFloats []float32 // the exact real-valued conv of the dequantized data
}

func newExactCase(rng *rand.Rand, cin, cout, h, w, k, stride, pad, groups, n int) *exactCase {
	cig := cin / groups
	c := &exactCase{n: n}
	c.desc = qgpu.ConvDesc{
		Precision: qgpu.PrecisionInt8, InChannels: cin, InH: h, InW: w, OutChannels: cout,
		KernelH: k, KernelW: k, StrideH: stride, StrideW: stride,
		PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad, Groups: groups,
		WeightsInt8: make([]int8, cout*cig*k*k), WeightScales: make([]float32, cout),
		InputQuant: qgpu.Quant{Scale: 0.5, ZeroPoint: -5}, OutputQuant: qgpu.Quant{Scale: 64, ZeroPoint: 3},
		OutputDType: qgpu.Int8,
	}
	for i := range c.desc.WeightsInt8 {
		c.desc.WeightsInt8[i] = int8(rng.Intn(255) - 127)
	}
	for i := range c.desc.WeightScales {
		c.desc.WeightScales[i] = 0.25
	}
	c.x = make([]int8, n*cin*h*w)
	for i := range c.x {
		c.x[i] = int8(rng.Intn(256) - 128)
	}
	c.oh = (h+2*pad-k)/stride + 1
	c.ow = (w+2*pad-k)/stride + 1
	var err error
	// M = 0.5 * 0.25 / 64 = 2^-9: exact whatever the order of the products
	c.m0, c.shift, err = qgpu.QuantizeMultiplier(0.5 * 0.25 / 64)
	if err != nil {
		panic(err)
	}
	c.want = make([]int8, n*cout*c.oh*c.ow)
	c.wantFloats = make([]float32, len(c.want))
	zx, zy := int32(c.desc.InputQuant.ZeroPoint), c.desc.OutputQuant.ZeroPoint
	i := 0
	for b := 0; b < n; b++ {
		for oc := 0; oc < cout; oc++ {
			g := oc / (cout / groups)
			for oy := 0; oy < c.oh; oy++ {
				for ox := 0; ox < c.ow; ox++ {
					var acc int32
					for ic := 0; ic < cig; ic++ {
						for ky := 0; ky < k; ky++ {
							for kx := 0; kx < k; kx++ {
								iy, ix := oy*stride-pad+ky, ox*stride-pad+kx
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								xv := int32(c.x[((b*cin+g*cig+ic)*h+iy)*w+ix]) - zx
								wv := int32(c.desc.WeightsInt8[((oc*cig+ic)*k+ky)*k+kx])
								acc += xv * wv
							}
						}
					}
					v := qgpu.Requantize(acc, c.m0, c.shift) + zy
					if v < -128 {
						v = -128
					}
					if v > 127 {
						v = 127
					}
					c.want[i] = int8(v)
					c.wantFloats[i] = float32(float64(acc) * 0.5 * 0.25)
					i++
				}
			}
		}
	}
	return c
}

func (c *exactCase) run(t testing.TB, ctx *qgpu.Context) []int8 {
	t.Helper()
	conv, err := ctx.NewConv(c.desc)
	if err != nil {
		t.Fatalf("NewConv: %v", err)
	}
	defer conv.Close()
	if got := conv.OutputShape(); got != [3]int{c.desc.OutChannels, c.oh, c.ow} {
		t.Fatalf("OutputShape = %v", got)
	}
	in, err := ctx.NewInt8Tensor(c.n, c.desc.InChannels, c.desc.InH, c.desc.InW, c.desc.InputQuant)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := ctx.NewInt8Tensor(c.n, c.desc.OutChannels, c.oh, c.ow, c.desc.OutputQuant)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := in.WriteInt8(c.x); err != nil {
		t.Fatal(err)
	}
	if err := conv.Run(in, out); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got, err := out.Int8s()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func firstDiff(a, b []int8) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func TestInt8ConvExact(t *testing.T) {
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) {
			ctx := openBackend(t, b, qgpu.ContextOptions{})
			t.Logf("variant %s", ctx.KernelVariant())
			rng := rand.New(rand.NewSource(7))
			shapes := [][9]int{ // cin cout h w k stride pad groups n
				{3, 8, 9, 7, 3, 1, 1, 1, 1},
				{16, 16, 6, 6, 3, 2, 1, 16, 2}, // depthwise, stride 2, batch 2
				{20, 12, 5, 5, 1, 1, 0, 4, 1},  // grouped 1x1
				{5, 7, 11, 4, 5, 2, 2, 1, 1},
			}
			for _, s := range shapes {
				c := newExactCase(rng, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8])
				got := c.run(t, ctx)
				if i := firstDiff(got, c.want); i >= 0 {
					t.Fatalf("shape %v: output[%d] = %d, want %d", s, i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestFloatOutputAndRunHost(t *testing.T) {
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) {
			ctx := openBackend(t, b, qgpu.ContextOptions{})
			c := newExactCase(rand.New(rand.NewSource(3)), 6, 5, 8, 8, 3, 1, 1, 1, 1)
			d := c.desc
			d.OutputDType = qgpu.Float32
			conv, err := ctx.NewConv(d)
			if err != nil {
				t.Fatal(err)
			}
			defer conv.Close()
			in := make([]float32, len(c.x))
			if err := qgpu.Dequantize(c.x, d.InputQuant, in); err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(c.want))
			// host floats in: quantized on the fly (exactly back to c.x); float out: dequantized sums
			if err := conv.RunHost(1, in, out); err != nil {
				t.Fatal(err)
			}
			for i := range out {
				if out[i] != c.wantFloats[i] { // small integers times 1/8: exact in float
					t.Fatalf("RunHost output[%d] = %v, want %v", i, out[i], c.wantFloats[i])
				}
			}
			if err := conv.RunHost(1, in, out[:len(out)-1]); !errors.Is(err, qgpu.ErrInvalidArgument) {
				t.Fatalf("RunHost with a short output: %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func TestFloat32Conv(t *testing.T) {
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) {
			ctx := openBackend(t, b, qgpu.ContextOptions{})
			rng := rand.New(rand.NewSource(11))
			const cin, cout, h, w, k = 4, 6, 7, 9, 3
			d := qgpu.ConvDesc{Precision: qgpu.PrecisionFloat32, InChannels: cin, InH: h, InW: w, OutChannels: cout,
				KernelH: k, KernelW: k, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1,
				Weights: make([]float32, cout*cin*k*k), Bias: make([]float32, cout), Activation: qgpu.ActivationReLU}
			for i := range d.Weights {
				d.Weights[i] = rng.Float32()*2 - 1
			}
			for i := range d.Bias {
				d.Bias[i] = rng.Float32() - 0.5
			}
			x := make([]float32, cin*h*w)
			for i := range x {
				x[i] = rng.Float32()*4 - 2
			}
			conv, err := ctx.NewConv(d)
			if err != nil {
				t.Fatal(err)
			}
			defer conv.Close()
			in, _ := ctx.NewFloatTensor(1, cin, h, w)
			out, _ := ctx.NewFloatTensor(1, cout, h, w)
			if err := in.WriteFloat32(x); err != nil {
				t.Fatal(err)
			}
			if err := conv.Run(in, out); err != nil {
				t.Fatal(err)
			}
			got, err := out.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			for oc := 0; oc < cout; oc++ {
				for oy := 0; oy < h; oy++ {
					for ox := 0; ox < w; ox++ {
						s := float64(d.Bias[oc])
						for ic := 0; ic < cin; ic++ {
							for ky := 0; ky < k; ky++ {
								for kx := 0; kx < k; kx++ {
									iy, ix := oy-1+ky, ox-1+kx
									if iy >= 0 && iy < h && ix >= 0 && ix < w {
										s += float64(x[(ic*h+iy)*w+ix]) * float64(d.Weights[((oc*cin+ic)*k+ky)*k+kx])
									}
								}
							}
						}
						s = math.Max(s, 0)
						g := float64(got[(oc*h+oy)*w+ox])
						if math.Abs(g-s) > 1e-4*(1+math.Abs(s)) {
							t.Fatalf("out[%d][%d][%d] = %v, want %v", oc, oy, ox, g, s)
						}
					}
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	_, err := qgpu.NewContext(qgpu.ContextOptions{Backend: qgpu.BackendCPU, KernelVariant: "no-such-variant"})
	var qe *qgpu.Error
	if !errors.As(err, &qe) || !errors.Is(err, qgpu.ErrUnsupported) || !strings.Contains(qe.Msg, "no-such-variant") {
		t.Fatalf("unknown variant: %#v, want ErrUnsupported naming the variant", err)
	}
	if errors.Is(err, qgpu.ErrUnavailable) {
		t.Fatal("an UNSUPPORTED error matched ErrUnavailable")
	}
	if !strings.Contains(err.Error(), "QGPU_ERROR_UNSUPPORTED") {
		t.Fatalf("Error() = %q", err.Error())
	}
	ctx, err := qgpu.NewContext(qgpu.ContextOptions{Backend: qgpu.BackendCPU, DeviceIndex: 5})
	if !errors.Is(err, qgpu.ErrInvalidArgument) || ctx != nil {
		t.Fatalf("device index 5: %v", err)
	}
	ctx = openBackend(t, qgpu.BackendCPU, qgpu.ContextOptions{Threads: 1})
	if _, err := ctx.NewInt8Tensor(1, 2, 3, 4, qgpu.Quant{Scale: -1}); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("negative scale: %v", err)
	}
	tensor, err := ctx.NewFloatTensor(1, 2, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := tensor.WriteFloat32(make([]float32, 23)); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("short write: %v", err)
	}
	if err := tensor.WriteInt8(make([]int8, 24)); err == nil {
		t.Fatal("WriteInt8 into a float tensor succeeded")
	}
	if _, err := ctx.NewConv(qgpu.ConvDesc{InChannels: 2, InH: 3, InW: 3, OutChannels: 2, KernelH: 3, KernelW: 3,
		Weights: make([]float32, 5)}); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("short weights: %v", err)
	}
	if _, err := ctx.NewConv(qgpu.ConvDesc{InChannels: 2, InH: 3, InW: 3, OutChannels: 2}); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("no weights: %v", err)
	}
	if err := qgpu.Quantize([]float32{1}, qgpu.Quant{Scale: 1}, nil); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("Quantize length mismatch: %v", err)
	}
}

// The message must come from the same C call that failed, even when goroutines hop between
// OS threads: each goroutine fails with its own variant name and must read its own name back.
func TestErrorMessagesAreNotMixedUp(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				name := fmt.Sprintf("variant-g%d-i%d", g, i)
				_, err := qgpu.NewContext(qgpu.ContextOptions{Backend: qgpu.BackendCPU, KernelVariant: name})
				var qe *qgpu.Error
				if !errors.As(err, &qe) || !strings.Contains(qe.Msg, "'"+name+"'") {
					errs <- fmt.Errorf("goroutine %d: got %v for %s", g, err, name)
					return
				}
				runtime.Gosched()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCloseIsIdempotentAndContextCloseReleasesChildren(t *testing.T) {
	ctx, err := qgpu.NewContext(qgpu.ContextOptions{Backend: qgpu.BackendCPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	tensor, err := ctx.NewInt8Tensor(1, 3, 4, 4, qgpu.Quant{Scale: 0.1, ZeroPoint: 2})
	if err != nil {
		t.Fatal(err)
	}
	vals, err := tensor.Int8s()
	if err != nil || len(vals) != 48 || vals[0] != 2 {
		t.Fatalf("fresh int8 tensor: %v %v (want the zero point)", vals, err)
	}
	c := newExactCase(rand.New(rand.NewSource(1)), 3, 2, 4, 4, 1, 1, 0, 1, 1)
	conv, err := ctx.NewConv(c.desc)
	if err != nil {
		t.Fatal(err)
	}
	tensor2, _ := ctx.NewFloatTensor(1, 1, 1, 1)
	if err := tensor2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tensor2.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if err := tensor2.WriteFloat32([]float32{1}); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("write to a closed tensor: %v", err)
	}
	ctx.Close()
	ctx.Close()
	if err := tensor.WriteInt8(make([]int8, 48)); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("tensor of a closed context: %v", err)
	}
	if err := conv.RunHost(1, nil, nil); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("conv of a closed context: %v", err)
	}
	if _, err := ctx.NewFloatTensor(1, 1, 1, 1); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("NewFloatTensor on a closed context: %v", err)
	}
	tensor.Close()
	conv.Close()
	if ctx.KernelVariant() != "" {
		t.Fatal("KernelVariant of a closed context")
	}
}

func TestRunRejectsTensorsOfAnotherContext(t *testing.T) {
	a := openBackend(t, qgpu.BackendCPU, qgpu.ContextOptions{Threads: 1})
	b := openBackend(t, qgpu.BackendCPU, qgpu.ContextOptions{Threads: 1})
	c := newExactCase(rand.New(rand.NewSource(1)), 2, 2, 3, 3, 1, 1, 0, 1, 1)
	conv, err := a.NewConv(c.desc)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := b.NewInt8Tensor(1, 2, 3, 3, c.desc.InputQuant)
	out, _ := a.NewInt8Tensor(1, 2, 3, 3, c.desc.OutputQuant)
	if err := conv.Run(in, out); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("Run across contexts: %v", err)
	}
}

// Finalizers close what the caller forgot, concurrently with use of the same context.
func TestFinalizersAreSafe(t *testing.T) {
	ctx := openBackend(t, qgpu.BackendCPU, qgpu.ContextOptions{Threads: 1})
	keep, _ := ctx.NewFloatTensor(1, 4, 8, 8)
	for i := 0; i < 200; i++ {
		if _, err := ctx.NewFloatTensor(1, 4, 8, 8); err != nil { // dropped on purpose
			t.Fatal(err)
		}
		if i%50 == 0 {
			runtime.GC()
		}
		if err := keep.WriteFloat32(make([]float32, 256)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.GC()
}

// Many goroutines, each with its own context, run the same layer and must all get the exact
// bytes; on GPU backends fewer goroutines (a software device per context is heavy).
func TestConcurrentContexts(t *testing.T) {
	for _, b := range backends {
		t.Run(b.String(), func(t *testing.T) {
			openBackend(t, b, qgpu.ContextOptions{Threads: 1}) // skip if unavailable
			workers, iters := 16, 10
			if b != qgpu.BackendCPU {
				workers, iters = 4, 3
			}
			c := newExactCase(rand.New(rand.NewSource(5)), 8, 8, 12, 12, 3, 1, 1, 1, 1)
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for g := 0; g < workers; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					ctx, err := qgpu.NewContext(qgpu.ContextOptions{Backend: b, Threads: 1})
					if err != nil {
						errs <- err
						return
					}
					defer ctx.Close()
					conv, err := ctx.NewConv(c.desc)
					if err != nil {
						errs <- err
						return
					}
					in, err1 := ctx.NewInt8Tensor(1, 8, 12, 12, c.desc.InputQuant)
					out, err2 := ctx.NewInt8Tensor(1, 8, 12, 12, c.desc.OutputQuant)
					if err1 != nil || err2 != nil {
						errs <- fmt.Errorf("tensors: %v %v", err1, err2)
						return
					}
					got := make([]int8, out.Len())
					for i := 0; i < iters; i++ {
						if err := in.WriteInt8(c.x); err != nil {
							errs <- err
							return
						}
						if err := conv.Run(in, out); err != nil {
							errs <- err
							return
						}
						if err := out.ReadInt8(got); err != nil {
							errs <- err
							return
						}
						if j := firstDiff(got, c.want); j >= 0 {
							errs <- fmt.Errorf("goroutine %d iteration %d: output[%d] = %d, want %d", g, i, j, got[j], c.want[j])
							return
						}
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// One context shared by several goroutines: the binding serializes the calls.
func TestSharedContextIsSerialized(t *testing.T) {
	ctx := openBackend(t, qgpu.BackendCPU, qgpu.ContextOptions{Threads: 2})
	c := newExactCase(rand.New(rand.NewSource(9)), 4, 4, 6, 6, 3, 1, 1, 1, 1)
	conv, err := ctx.NewConv(c.desc)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed sync.Once
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, _ := ctx.NewInt8Tensor(1, 4, 6, 6, c.desc.InputQuant)
			out, _ := ctx.NewInt8Tensor(1, 4, 6, 6, c.desc.OutputQuant)
			defer in.Close()
			defer out.Close()
			for i := 0; i < 20; i++ {
				_ = in.WriteInt8(c.x)
				_ = conv.Run(in, out)
				got, err := out.Int8s()
				if err != nil || firstDiff(got, c.want) >= 0 {
					failed.Do(func() { t.Errorf("shared context: wrong output or %v", err) })
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestQuantizeHelpers(t *testing.T) {
	x := []float32{-1, 0, 0.25, 0.75, 100, float32(math.NaN())}
	q := make([]int8, len(x))
	if err := qgpu.Quantize(x, qgpu.Quant{Scale: 0.5, ZeroPoint: 1}, q); err != nil {
		t.Fatal(err)
	}
	// round half to even: 0.25/0.5 = 0.5 -> 0; 0.75/0.5 = 1.5 -> 2; saturate; NaN -> zero point
	want := []int8{-1, 1, 1, 3, 127, 1}
	for i := range want {
		if q[i] != want[i] {
			t.Fatalf("Quantize = %v, want %v", q, want)
		}
	}
	m0, shift, err := qgpu.QuantizeMultiplier(0.75)
	if err != nil || m0 != 3<<29 || shift != 0 {
		t.Fatalf("QuantizeMultiplier(0.75) = %d, %d, %v", m0, shift, err)
	}
	if got := qgpu.Requantize(1000, m0, shift); got != 750 {
		t.Fatalf("Requantize(1000, 0.75) = %d", got)
	}
	if _, _, err := qgpu.QuantizeMultiplier(-1); !errors.Is(err, qgpu.ErrInvalidArgument) {
		t.Fatalf("QuantizeMultiplier(-1): %v", err)
	}
}
