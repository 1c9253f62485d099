//go:build !qgpu_nonet && !qgpu_nocalib

package qgpu

/*
#include <stdlib.h>
#include "net_shim.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// NetOptions describes a network to load (qgpu_net_desc).
type NetOptions struct {
	ParamPath string // ncnn .param (text), or an ONNX model ending in ".onnx"
	BinPath   string // ncnn .bin; unused for ONNX
	TablePath string // ncnn calibration .table (INT8), unless Table is given
	Precision Precision
	Batch     int // 0 = 1
	// FloatLayers are conv layers kept in fp32 (mixed precision).
	FloatLayers []string
	// Table gives the activation scales from memory (e.g. from Net.Calibrate) instead of
	// TablePath.
	Table *Table
}

// Net is a CNN loaded on a context's device. Its methods are serialized with the context's.
type Net struct {
	ctx *Context
	ch  *child
	h   C.qgpu_net
}

// cstr returns a C copy of s ("" -> NULL) and adds its release to *frees.
func cstr(s string, frees *[]unsafe.Pointer) *C.char {
	if s == "" {
		return nil
	}
	p := C.CString(s)
	*frees = append(*frees, unsafe.Pointer(p))
	return p
}

func freeAll(frees []unsafe.Pointer) {
	for _, p := range frees {
		C.free(p)
	}
}

// NewNet loads a network.
func (c *Context) NewNet(o NetOptions) (*Net, error) {
	if o.Batch < 0 {
		return nil, invalid("NetOptions.Batch %d is negative", o.Batch)
	}
	var frees []unsafe.Pointer
	defer func() { freeAll(frees) }()
	param, bin, table := cstr(o.ParamPath, &frees), cstr(o.BinPath, &frees), cstr(o.TablePath, &frees)
	var layers **C.char
	if len(o.FloatLayers) > 0 {
		// the array of names lives in C memory (Go memory may not hold pointers passed to C)
		arr := (*[1 << 20]*C.char)(C.malloc(C.size_t(len(o.FloatLayers)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		frees = append(frees, unsafe.Pointer(arr))
		for i, name := range o.FloatLayers {
			arr[i] = C.CString(name)
			frees = append(frees, unsafe.Pointer(arr[i]))
		}
		layers = &arr[0]
	}
	if err := c.lock(); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	var th C.qgpu_table
	if o.Table != nil {
		if err := o.Table.lock(); err != nil {
			return nil, err
		}
		defer o.Table.mu.Unlock()
		th = o.Table.h
	}
	var h C.qgpu_net
	r := C.qg_net_create(c.h, param, bin, table, C.qgpu_precision(o.Precision), C.int32_t(o.Batch),
		layers, C.int32_t(len(o.FloatLayers)), th, &h)
	if err := check(r); err != nil {
		return nil, err
	}
	n := &Net{ctx: c, h: h}
	n.ch = &child{other: func() { C.qgpu_net_destroy(h) }}
	c.adopt(n.ch)
	runtime.SetFinalizer(n, (*Net).Close)
	return n, nil
}

// Close releases the network (idempotent).
func (n *Net) Close() error {
	n.ctx.release(n.ch)
	runtime.SetFinalizer(n, nil)
	return nil
}

func (n *Net) lock() error {
	if err := n.ctx.lock(); err != nil {
		return err
	}
	if n.ch.closed {
		n.ctx.mu.Unlock()
		return invalid("the net is closed")
	}
	return nil
}

// BlobShape is {n, c, h, w} of a blob.
func (n *Net) BlobShape(blob string) ([4]int, error) {
	if err := n.lock(); err != nil {
		return [4]int{}, err
	}
	defer n.ctx.mu.Unlock()
	cb := C.CString(blob)
	defer C.free(unsafe.Pointer(cb))
	var s [4]C.int32_t
	if err := check(C.qg_net_get_blob_shape(n.h, cb, &s[0])); err != nil {
		return [4]int{}, err
	}
	return [4]int{int(s[0]), int(s[1]), int(s[2]), int(s[3])}, nil
}

// SetInput writes NCHW floats into an input blob (quantized on the fly for an int8 input).
func (n *Net) SetInput(blob string, data []float32) error {
	if err := n.lock(); err != nil {
		return err
	}
	defer n.ctx.mu.Unlock()
	cb := C.CString(blob)
	defer C.free(unsafe.Pointer(cb))
	err := check(C.qg_net_set_input(n.h, cb, f32ptr(data), C.size_t(len(data))))
	runtime.KeepAlive(data)
	return err
}

// Run runs the network on its inputs.
func (n *Net) Run() error {
	if err := n.lock(); err != nil {
		return err
	}
	defer n.ctx.mu.Unlock()
	return check(C.qg_net_run(n.h))
}

// Output reads the NCHW floats of any blob after a run into data (int8 blobs are dequantized).
func (n *Net) Output(blob string, data []float32) error {
	if err := n.lock(); err != nil {
		return err
	}
	defer n.ctx.mu.Unlock()
	cb := C.CString(blob)
	defer C.free(unsafe.Pointer(cb))
	err := check(C.qg_net_get_output(n.h, cb, f32ptr(data), C.size_t(len(data))))
	runtime.KeepAlive(data)
	return err
}

// Summary describes what each layer became ("conv1: int8 conv 3x3 ...").
func (n *Net) Summary() string {
	if n.lock() != nil {
		return ""
	}
	defer n.ctx.mu.Unlock()
	return C.GoString(C.qgpu_net_summary(n.h))
}

// Calibrate runs the samples (NCHW floats of inputBlob, whole samples, their number a multiple
// of the batch) through a
// FLOAT32 net and writes one activation scale per conv layer into table; o nil = the
// defaults (CalibAuto).
func (n *Net) Calibrate(inputBlob string, samples []float32, o *CalibOptions, table *Table) error {
	if table == nil {
		return invalid("Calibrate: nil table")
	}
	if err := n.lock(); err != nil {
		return err
	}
	defer n.ctx.mu.Unlock()
	if err := table.lock(); err != nil {
		return err
	}
	defer table.mu.Unlock()
	cb := C.CString(inputBlob)
	defer C.free(unsafe.Pointer(cb))
	// the C call counts samples (images), the Go slice floats
	var shape [4]C.int32_t
	if err := check(C.qg_net_get_blob_shape(n.h, cb, &shape[0])); err != nil {
		return err
	}
	per := int(shape[1]) * int(shape[2]) * int(shape[3])
	if per <= 0 || len(samples) == 0 || len(samples)%per != 0 {
		return invalid("Calibrate: %d floats are not a whole number of %dx%dx%d samples of %q",
			len(samples), shape[1], shape[2], shape[3], inputBlob)
	}
	var has, kz, aa C.int32_t
	method, pct := C.qgpu_calib_method(CalibAuto), C.double(0)
	if o != nil {
		has, method, pct = 1, C.qgpu_calib_method(o.Method), C.double(o.Percentile)
		if o.KLCountZeros {
			kz = 1
		}
		if o.AutoAsymmetric {
			aa = 1
		}
	}
	err := check(C.qg_net_calibrate(n.h, cb, f32ptr(samples), C.size_t(len(samples)/per), has, method, pct, kz, aa, table.h))
	runtime.KeepAlive(samples)
	return err
}

// Table is an ncnn calibration table (weight scales per layer, activation scales per blob),
// in qgpu terms where it says so. Safe for concurrent use.
type Table struct {
	mu sync.Mutex
	h  C.qgpu_table
}

func newTable(h C.qgpu_table) *Table {
	t := &Table{h: h}
	runtime.SetFinalizer(t, (*Table).Close)
	return t
}

// NewTable creates an empty table.
func NewTable() (*Table, error) {
	var h C.qgpu_table
	if err := check(C.qg_table_create(&h)); err != nil {
		return nil, err
	}
	return newTable(h), nil
}

// LoadTable reads an ncnn .table file (ErrFormat with the line number when malformed, ErrIO
// when unreadable).
func LoadTable(path string) (*Table, error) {
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	var h C.qgpu_table
	if err := check(C.qg_table_load(cp, &h)); err != nil {
		return nil, err
	}
	return newTable(h), nil
}

// Close releases the table (idempotent).
func (t *Table) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.h != nil {
		C.qgpu_table_destroy(t.h)
		t.h = nil
	}
	runtime.SetFinalizer(t, nil)
	return nil
}

func (t *Table) lock() error {
	t.mu.Lock()
	if t.h == nil {
		t.mu.Unlock()
		return invalid("the table is closed")
	}
	return nil
}

// Save writes the table in ncnn's .table format.
func (t *Table) Save(path string) error {
	if err := t.lock(); err != nil {
		return err
	}
	defer t.mu.Unlock()
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	return check(C.qg_table_save(t.h, cp))
}

// Names lists the weight layers and the activations, in file order.
func (t *Table) Names() (weightLayers, activations []string, err error) {
	if err := t.lock(); err != nil {
		return nil, nil, err
	}
	defer t.mu.Unlock()
	var nw, na C.size_t
	if err := check(C.qg_table_get_counts(t.h, &nw, &na)); err != nil {
		return nil, nil, err
	}
	get := func(isAct C.int32_t, n C.size_t) ([]string, error) {
		out := make([]string, 0, int(n))
		for i := C.size_t(0); i < n; i++ {
			var name *C.char
			if err := check(C.qg_table_get_name(t.h, isAct, i, &name)); err != nil {
				return nil, err
			}
			out = append(out, C.GoString(name))
		}
		return out, nil
	}
	if weightLayers, err = get(0, nw); err != nil {
		return nil, nil, err
	}
	if activations, err = get(1, na); err != nil {
		return nil, nil, err
	}
	return weightLayers, activations, nil
}

// WeightScales returns the ncnn weight scales of a layer.
func (t *Table) WeightScales(layer string) ([]float32, error) {
	if err := t.lock(); err != nil {
		return nil, err
	}
	defer t.mu.Unlock()
	cl := C.CString(layer)
	defer C.free(unsafe.Pointer(cl))
	var n C.size_t
	if err := check(C.qg_table_get_weight_scales(t.h, cl, nil, 0, &n)); err != nil {
		return nil, err
	}
	out := make([]float32, int(n))
	if err := check(C.qg_table_get_weight_scales(t.h, cl, f32ptr(out), n, &n)); err != nil {
		return nil, err
	}
	return out[:int(n)], nil
}

// SetWeightScales sets the ncnn weight scales of a layer.
func (t *Table) SetWeightScales(layer string, scales []float32) error {
	if err := t.lock(); err != nil {
		return err
	}
	defer t.mu.Unlock()
	cl := C.CString(layer)
	defer C.free(unsafe.Pointer(cl))
	err := check(C.qg_table_set_weight_scales(t.h, cl, f32ptr(scales), C.size_t(len(scales))))
	runtime.KeepAlive(scales)
	return err
}

// ActivationScale is the ncnn activation scale of a blob (real = int8 / scale).
func (t *Table) ActivationScale(name string) (float32, error) {
	if err := t.lock(); err != nil {
		return 0, err
	}
	defer t.mu.Unlock()
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var s C.float
	err := check(C.qg_table_get_activation_scale(t.h, cn, &s))
	return float32(s), err
}

// SetActivationScale sets the ncnn activation scale of a blob.
func (t *Table) SetActivationScale(name string, scale float32) error {
	if err := t.lock(); err != nil {
		return err
	}
	defer t.mu.Unlock()
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	return check(C.qg_table_set_activation_scale(t.h, cn, C.float(scale)))
}
