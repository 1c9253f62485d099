package qgpu

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// ContextOptions selects the device of a context (qgpu_context_desc). The zero value means:
// the best device (BackendAuto), one CPU thread per core, the best kernel variant, no cache.
type ContextOptions struct {
	Backend     Backend
	DeviceIndex int
	// Threads is the number of CPU worker threads; 0 = one per core.
	Threads int
	// KernelVariant forces a kernel variant ("scalar", "avx512vnni", "neondot", "dot", ...);
	// "" = the best for the device. A variant the device cannot run is an error
	// (ErrUnsupported), never a silent substitute.
	KernelVariant string
	// CacheDir is where pipeline/program caches live; "" = no disk cache.
	CacheDir string
}

// Context is a device opened for computation. Its methods, and those of the tensors and
// convolutions made from it, are safe for concurrent use (they are serialized).
type Context struct {
	mu       sync.Mutex
	h        C.qgpu_context
	children map[*child]struct{}
}

// child is the C handle of a Tensor or Conv, owned by its context so that Context.Close can
// release it; the Go object points to it (the context's map does not keep the Go object alive).
type child struct {
	tensor C.qgpu_tensor
	conv   C.qgpu_conv
	other  func() // other kinds (nets): releases the handle
	closed bool
}

func (c *child) destroy() {
	if c.tensor != nil {
		C.qgpu_tensor_destroy(c.tensor)
		c.tensor = nil
	}
	if c.conv != nil {
		C.qgpu_conv_destroy(c.conv)
		c.conv = nil
	}
	if c.other != nil {
		c.other()
		c.other = nil
	}
	c.closed = true
}

// NewContext opens a device.
func NewContext(opts ContextOptions) (*Context, error) {
	if opts.Threads < 0 || opts.DeviceIndex < 0 {
		return nil, invalid("ContextOptions: negative Threads (%d) or DeviceIndex (%d)", opts.Threads, opts.DeviceIndex)
	}
	var variant, cache *C.char
	if opts.KernelVariant != "" {
		variant = C.CString(opts.KernelVariant)
		defer C.free(unsafe.Pointer(variant))
	}
	if opts.CacheDir != "" {
		cache = C.CString(opts.CacheDir)
		defer C.free(unsafe.Pointer(cache))
	}
	var h C.qgpu_context
	r := C.qg_context_create(C.qgpu_backend(opts.Backend), C.int32_t(opts.DeviceIndex),
		C.int32_t(opts.Threads), variant, cache, &h)
	if err := check(r); err != nil {
		return nil, err
	}
	ctx := &Context{h: h, children: make(map[*child]struct{})}
	runtime.SetFinalizer(ctx, (*Context).Close)
	return ctx, nil
}

// Close releases the context and every tensor and convolution still open on it. It is
// idempotent and always returns nil (the error return is there for io.Closer).
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return nil
	}
	for ch := range c.children {
		ch.destroy()
	}
	c.children = nil
	C.qgpu_context_destroy(c.h)
	c.h = nil
	runtime.SetFinalizer(c, nil)
	return nil
}

// lock takes the context's mutex; it fails when the context is closed.
func (c *Context) lock() error {
	c.mu.Lock()
	if c.h == nil {
		c.mu.Unlock()
		return invalid("the context is closed")
	}
	return nil
}

// DeviceInfo describes the context's device.
func (c *Context) DeviceInfo() (DeviceInfo, error) {
	if err := c.lock(); err != nil {
		return DeviceInfo{}, err
	}
	defer c.mu.Unlock()
	var info C.qgpu_device_info
	if err := check(C.qg_context_get_device_info(c.h, &info)); err != nil {
		return DeviceInfo{}, err
	}
	return deviceInfoFromC(&info), nil
}

// KernelVariant is the kernel variant in use ("scalar", "avx512vnni", "dot", ...); "" once
// the context is closed.
func (c *Context) KernelVariant() string {
	if c.lock() != nil {
		return ""
	}
	defer c.mu.Unlock()
	return C.GoString(C.qgpu_context_kernel_variant(c.h))
}

// SetThreads changes the number of CPU worker threads (0 = one per core).
func (c *Context) SetThreads(n int) error {
	if n < 0 {
		return invalid("SetThreads: negative thread count %d", n)
	}
	if err := c.lock(); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return check(C.qg_context_set_num_threads(c.h, C.int32_t(n)))
}

// adopt registers a new child handle (the mutex is held by the caller).
func (c *Context) adopt(ch *child) { c.children[ch] = struct{}{} }

// release destroys a child (idempotent; the context may already be closed).
func (c *Context) release(ch *child) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h == nil {
		return // Context.Close destroyed it
	}
	ch.destroy()
	delete(c.children, ch)
}
