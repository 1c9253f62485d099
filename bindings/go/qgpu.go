// Package qgpu is the Go binding of qgpu, INT8-quantized CNN convolution on Vulkan, OpenCL
// and the CPU behind one C ABI (include/qgpu.h).
//
// Objects (Context, Tensor, Conv, Calibrator) own C handles: call Close when done. Close is
// idempotent; a finalizer closes a forgotten object as a safety net only. Closing a Context
// also closes every Tensor and Conv made from it. All methods of a Context and of the objects
// made from it are serialized by the context's mutex, so they may be called from any goroutine;
// distinct contexts run concurrently.
//
// Failures are returned as *Error values carrying the qgpu status and the library's message,
// captured inside the same C call that failed. Compare with errors.Is against the Err*
// sentinels:
//
//	ctx, err := qgpu.NewContext(qgpu.ContextOptions{Backend: qgpu.BackendVulkan})
//	if errors.Is(err, qgpu.ErrUnavailable) { ... fall back to the CPU ... }
//
// The library is found through cgo: the header via the in-tree include directory, the library
// with -lqgpu (set CGO_LDFLAGS=-L<dir with libqgpu.so> and LD_LIBRARY_PATH, or install it).
package qgpu

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -lqgpu
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Status is a qgpu_status code.
type Status int32

// The qgpu_status values.
const (
	StatusOK              Status = C.QGPU_OK
	StatusInvalidArgument Status = C.QGPU_ERROR_INVALID_ARGUMENT
	StatusUnsupported     Status = C.QGPU_ERROR_UNSUPPORTED
	StatusUnavailable     Status = C.QGPU_ERROR_UNAVAILABLE
	StatusOutOfMemory     Status = C.QGPU_ERROR_OUT_OF_MEMORY
	StatusDeviceLost      Status = C.QGPU_ERROR_DEVICE_LOST
	StatusDevice          Status = C.QGPU_ERROR_DEVICE
	StatusIO              Status = C.QGPU_ERROR_IO
	StatusFormat          Status = C.QGPU_ERROR_FORMAT
	StatusInternal        Status = C.QGPU_ERROR_INTERNAL
)

// String returns the C name, e.g. "QGPU_ERROR_UNAVAILABLE".
func (s Status) String() string {
	return C.GoString(C.qgpu_status_name(C.qgpu_status(s)))
}

// Error is a failed qgpu call: its status and the library's message.
type Error struct {
	Status Status
	Msg    string
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return "qgpu: " + e.Status.String()
	}
	return "qgpu: " + e.Status.String() + ": " + e.Msg
}

// Is reports whether target is an *Error with the same status, so that
// errors.Is(err, qgpu.ErrUnavailable) works whatever the message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status
}

// Sentinels for errors.Is; their messages are empty.
var (
	ErrInvalidArgument = &Error{Status: StatusInvalidArgument}
	ErrUnsupported     = &Error{Status: StatusUnsupported}
	ErrUnavailable     = &Error{Status: StatusUnavailable}
	ErrOutOfMemory     = &Error{Status: StatusOutOfMemory}
	ErrDeviceLost      = &Error{Status: StatusDeviceLost}
	ErrDevice          = &Error{Status: StatusDevice}
	ErrIO              = &Error{Status: StatusIO}
	ErrFormat          = &Error{Status: StatusFormat}
	ErrInternal        = &Error{Status: StatusInternal}
)

// check turns a shim result into an error (nil on success).
func check(r C.qg_result) error {
	if r.status == C.QGPU_OK {
		return nil
	}
	return &Error{Status: Status(r.status), Msg: C.GoString(&r.msg[0])}
}

// invalid is an error raised on the Go side (before any C call).
func invalid(format string, args ...interface{}) error {
	return &Error{Status: StatusInvalidArgument, Msg: fmt.Sprintf(format, args...)}
}

// Version returns the version of the loaded library, "major.minor.patch".
func Version() string { return C.GoString(C.qgpu_version_string()) }

// Pointers to the first element of a slice, nil for an empty one. The slices hold no Go
// pointers, so passing them to C for the duration of a call is allowed by the cgo rules.
func f32ptr(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

func i8ptr(s []int8) *C.int8_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.int8_t)(unsafe.Pointer(&s[0]))
}
