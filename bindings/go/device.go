package qgpu

/*
#include "shim.h"
*/
import "C"

// Backend selects an implementation (qgpu_backend).
type Backend int32

// The backends.
const (
	BackendAuto   Backend = C.QGPU_BACKEND_AUTO // best GPU if one is usable, else the CPU
	BackendCPU    Backend = C.QGPU_BACKEND_CPU
	BackendVulkan Backend = C.QGPU_BACKEND_VULKAN
	BackendOpenCL Backend = C.QGPU_BACKEND_OPENCL
)

func (b Backend) String() string {
	switch b {
	case BackendAuto:
		return "auto"
	case BackendCPU:
		return "cpu"
	case BackendVulkan:
		return "vulkan"
	case BackendOpenCL:
		return "opencl"
	}
	return "unknown"
}

// DeviceType is a qgpu_device_type.
type DeviceType int32

// The device types.
const (
	DeviceTypeOther         DeviceType = C.QGPU_DEVICE_TYPE_OTHER
	DeviceTypeDiscreteGPU   DeviceType = C.QGPU_DEVICE_TYPE_DISCRETE_GPU
	DeviceTypeIntegratedGPU DeviceType = C.QGPU_DEVICE_TYPE_INTEGRATED_GPU
	DeviceTypeVirtualGPU    DeviceType = C.QGPU_DEVICE_TYPE_VIRTUAL_GPU
	DeviceTypeCPU           DeviceType = C.QGPU_DEVICE_TYPE_CPU
	DeviceTypeCPUSoftware   DeviceType = C.QGPU_DEVICE_TYPE_CPU_SOFTWARE // lavapipe, PoCL
)

// Caps are the QGPU_CAP_* bits.
type Caps uint32

// The capability bits.
const (
	CapIntegerDot            Caps = C.QGPU_CAP_INTEGER_DOT
	CapIntegerDotAccelerated Caps = C.QGPU_CAP_INTEGER_DOT_ACCELERATED
	CapInt8Storage           Caps = C.QGPU_CAP_INT8_STORAGE
	CapFP16                  Caps = C.QGPU_CAP_FP16
)

// DeviceInfo describes one device (qgpu_device_info).
type DeviceInfo struct {
	Backend           Backend
	Index             int
	Type              DeviceType
	Caps              Caps
	Name              string
	Detail            string // backend-specific: CPU ISA list, API and driver version
	KernelVariant     string // the variant a context uses by default
	SubgroupSize      int
	SharedMemoryBytes uint64
	MemoryBytes       uint64
	ComputeUnits      int
}

func deviceInfoFromC(i *C.qgpu_device_info) DeviceInfo {
	return DeviceInfo{
		Backend:           Backend(i.backend),
		Index:             int(i.index),
		Type:              DeviceType(i._type),
		Caps:              Caps(i.caps),
		Name:              C.GoString(&i.name[0]),
		Detail:            C.GoString(&i.detail[0]),
		KernelVariant:     C.GoString(&i.kernel_variant[0]),
		SubgroupSize:      int(i.subgroup_size),
		SharedMemoryBytes: uint64(i.shared_memory_bytes),
		MemoryBytes:       uint64(i.memory_bytes),
		ComputeUnits:      int(i.compute_units),
	}
}

// DeviceCount returns the number of devices of a backend (not BackendAuto). An absent backend
// is an error matching ErrUnavailable whose message says why.
func DeviceCount(b Backend) (int, error) {
	var n C.int32_t
	if err := check(C.qg_device_count(C.qgpu_backend(b), &n)); err != nil {
		return 0, err
	}
	return int(n), nil
}

// Devices lists the devices of a backend.
func Devices(b Backend) ([]DeviceInfo, error) {
	n, err := DeviceCount(b)
	if err != nil {
		return nil, err
	}
	out := make([]DeviceInfo, 0, n)
	for i := 0; i < n; i++ {
		var info C.qgpu_device_info
		if err := check(C.qg_device_get_info(C.qgpu_backend(b), C.int32_t(i), &info)); err != nil {
			return nil, err
		}
		out = append(out, deviceInfoFromC(&info))
	}
	return out, nil
}
