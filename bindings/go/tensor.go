package qgpu

/*
#include "shim.h"
*/
import "C"

import "runtime"

// DType is a tensor element type.
type DType int32

// The element types.
const (
	Float32 DType = C.QGPU_DTYPE_FLOAT32
	Int8    DType = C.QGPU_DTYPE_INT8
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int8:
		return "int8"
	}
	return "unknown"
}

// Quant is a linear quantization: real = Scale * (q - ZeroPoint).
type Quant struct {
	Scale     float32
	ZeroPoint int32
}

// Tensor is a 4-D (n, c, h, w) tensor on a context's device. The host side is always NCHW.
type Tensor struct {
	ctx   *Context
	ch    *child
	dtype DType
	shape [4]int
	quant Quant
}

// NewTensor creates a float32 tensor (quant is ignored) or an int8 tensor with quantization
// quant. Contents start as zero (int8: the zero point).
func (c *Context) NewTensor(dtype DType, n, ch, h, w int, quant Quant) (*Tensor, error) {
	for _, d := range []int{n, ch, h, w} {
		if d < 0 || d > 1<<31-1 {
			return nil, invalid("NewTensor: dimension %d out of range", d)
		}
	}
	if err := c.lock(); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	var h0 C.qgpu_tensor
	r := C.qg_tensor_create(c.h, C.qgpu_dtype(dtype), C.int32_t(n), C.int32_t(ch), C.int32_t(h), C.int32_t(w),
		C.float(quant.Scale), C.int32_t(quant.ZeroPoint), &h0)
	if err := check(r); err != nil {
		return nil, err
	}
	t := &Tensor{ctx: c, ch: &child{tensor: h0}, dtype: dtype, shape: [4]int{n, ch, h, w}}
	if dtype == Int8 {
		t.quant = quant
	}
	c.adopt(t.ch)
	runtime.SetFinalizer(t, (*Tensor).Close)
	return t, nil
}

// NewFloatTensor creates a float32 tensor.
func (c *Context) NewFloatTensor(n, ch, h, w int) (*Tensor, error) {
	return c.NewTensor(Float32, n, ch, h, w, Quant{})
}

// NewInt8Tensor creates an int8 tensor with quantization q.
func (c *Context) NewInt8Tensor(n, ch, h, w int, q Quant) (*Tensor, error) {
	return c.NewTensor(Int8, n, ch, h, w, q)
}

// Close releases the tensor (idempotent).
func (t *Tensor) Close() error {
	t.ctx.release(t.ch)
	runtime.SetFinalizer(t, nil)
	return nil
}

// Shape is {n, c, h, w}.
func (t *Tensor) Shape() [4]int { return t.shape }

// DType is the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Quant is the quantization of an int8 tensor (zero for float32).
func (t *Tensor) Quant() Quant { return t.quant }

// Len is the number of elements n*c*h*w.
func (t *Tensor) Len() int { return t.shape[0] * t.shape[1] * t.shape[2] * t.shape[3] }

// lock takes the context's mutex and checks that the tensor is open.
func (t *Tensor) lock() error {
	if err := t.ctx.lock(); err != nil {
		return err
	}
	if t.ch.tensor == nil {
		t.ctx.mu.Unlock()
		return invalid("the tensor is closed")
	}
	return nil
}

// WriteFloat32 writes Len() NCHW floats; into an int8 tensor this is the fused quantize+pack.
// The slice is read in place (no copy on the Go side).
func (t *Tensor) WriteFloat32(data []float32) error {
	if err := t.lock(); err != nil {
		return err
	}
	defer t.ctx.mu.Unlock()
	err := check(C.qg_tensor_write_f32(t.ch.tensor, f32ptr(data), C.size_t(len(data))))
	runtime.KeepAlive(data)
	return err
}

// ReadFloat32 reads Len() NCHW floats into data (an int8 tensor is dequantized).
func (t *Tensor) ReadFloat32(data []float32) error {
	if err := t.lock(); err != nil {
		return err
	}
	defer t.ctx.mu.Unlock()
	err := check(C.qg_tensor_read_f32(t.ch.tensor, f32ptr(data), C.size_t(len(data))))
	runtime.KeepAlive(data)
	return err
}

// WriteInt8 writes Len() raw NCHW int8 values into an int8 tensor.
func (t *Tensor) WriteInt8(data []int8) error {
	if err := t.lock(); err != nil {
		return err
	}
	defer t.ctx.mu.Unlock()
	err := check(C.qg_tensor_write_i8(t.ch.tensor, i8ptr(data), C.size_t(len(data))))
	runtime.KeepAlive(data)
	return err
}

// ReadInt8 reads Len() raw NCHW int8 values of an int8 tensor into data.
func (t *Tensor) ReadInt8(data []int8) error {
	if err := t.lock(); err != nil {
		return err
	}
	defer t.ctx.mu.Unlock()
	err := check(C.qg_tensor_read_i8(t.ch.tensor, i8ptr(data), C.size_t(len(data))))
	runtime.KeepAlive(data)
	return err
}

// Float32s allocates a slice and reads the tensor into it.
func (t *Tensor) Float32s() ([]float32, error) {
	out := make([]float32, t.Len())
	return out, t.ReadFloat32(out)
}

// Int8s allocates a slice and reads the raw int8 values into it.
func (t *Tensor) Int8s() ([]int8, error) {
	out := make([]int8, t.Len())
	return out, t.ReadInt8(out)
}
