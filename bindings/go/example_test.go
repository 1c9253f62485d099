package qgpu_test

import (
	"errors"
	"fmt"

	"qgpu.dev/qgpu"
)

// A 2x2 average-like int8 convolution on the CPU, from host floats to host floats.
func Example() {
	ctx, err := qgpu.NewContext(qgpu.ContextOptions{Backend: qgpu.BackendCPU, Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ctx.Close()

	conv, err := ctx.NewConv(qgpu.ConvDesc{
		Precision:  qgpu.PrecisionInt8,
		InChannels: 1, InH: 3, InW: 3, OutChannels: 1,
		KernelH: 2, KernelW: 2,
		Weights:    []float32{0.25, 0.25, 0.25, 0.25},
		InputQuant: qgpu.Quant{Scale: 0.5, ZeroPoint: 0},
		// OutputDType zero value: float output (fused dequantize)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conv.Close()

	input := []float32{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	output := make([]float32, 4)
	if err := conv.RunHost(1, input, output); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(conv.OutputShape(), output)

	// A backend that is not there is an error you can test for.
	_, err = qgpu.NewContext(qgpu.ContextOptions{Backend: qgpu.BackendCPU, KernelVariant: "no-such-isa"})
	fmt.Println(errors.Is(err, qgpu.ErrUnsupported))
	// Output:
	// [1 2 2] [3 4 6 7]
	// true
}
