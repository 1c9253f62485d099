module qgpu.dev/qgpu

go 1.19
