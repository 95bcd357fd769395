//go:build cuda && cgo

package kernels

// A thin binding of the CUDA driver API (cuda.h, libcuda.so.1): only the
// calls the CUDA backend makes. gorgonia.org/cu, the Go binding the issue
// named, is not used because its package init calls cuInit and exits the
// process when that fails, so a `cuda`-tagged binary could not start on a
// machine without a working GPU, let alone fall back to the CPU backend.

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>
#include <stdint.h>
#include <stdlib.h>

// vs_launch launches f with n (≤ 16) parameters; args[i] holds parameter i
// in its low bytes (little-endian), so 4-byte ints and 8-byte pointers and
// doubles all fit.
static CUresult vs_launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                          CUstream s, uint64_t *args, int n) {
	void *p[16];
	if (n > 16) return CUDA_ERROR_INVALID_VALUE;
	for (int i = 0; i < n; i++) p[i] = &args[i];
	return cuLaunchKernel(f, gx, gy, gz, bx, 1, 1, 0, s, p, NULL);
}

// vs_load loads a PTX image, writing the JIT's error log into log.
static CUresult vs_load(CUmodule *m, const char *image, char *log, unsigned logSize) {
	CUjit_option opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
	void *vals[2] = {log, (void *)(uintptr_t)logSize};
	return cuModuleLoadDataEx(m, image, 2, opts, vals);
}

static const char *vs_errname(CUresult r) {
	const char *s = NULL;
	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || s == NULL) return "";
	return s;
}

static const char *vs_errstring(CUresult r) {
	const char *s = NULL;
	if (cuGetErrorString(r, &s) != CUDA_SUCCESS || s == NULL) return "";
	return s;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// cuError is an error the driver returned. It wraps ErrDevice.
type cuError struct {
	op   string
	code int
	name string
	msg  string
}

func (e *cuError) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("%s: %s (%d)", e.op, e.name, e.code)
	}
	return fmt.Sprintf("%s: %s (%d): %s", e.op, e.name, e.code, e.msg)
}

func (e *cuError) Unwrap() error { return ErrDevice }

// check turns a driver result into an error naming op.
func check(op string, r C.CUresult) error {
	if r == C.CUDA_SUCCESS {
		return nil
	}
	e := &cuError{op: op, code: int(r), name: C.GoString(C.vs_errname(r)), msg: C.GoString(C.vs_errstring(r))}
	if e.name == "" {
		// A stub libcuda cannot name its own errors.
		e.name, e.msg = "CUDA_ERROR_UNKNOWN", ""
		if n, ok := driverErrors[e.code]; ok {
			e.name, e.msg = n[0], n[1]
		}
	}
	return e
}

// driverErrors names the results a driver that cannot name them (the
// link-time stub) returns at start-up.
var driverErrors = map[int][2]string{
	34:  {"CUDA_ERROR_STUB_LIBRARY", "the CUDA driver is a stub library, not a real driver"},
	35:  {"CUDA_ERROR_INSUFFICIENT_DRIVER", "the installed NVIDIA driver is older than the CUDA runtime"},
	100: {"CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
}

type (
	cuDevice   = C.CUdevice
	cuContext  = C.CUcontext
	cuModule   = C.CUmodule
	cuFunction = C.CUfunction
	cuStream   = C.CUstream
	cuEvent    = C.CUevent
	cuPtr      = C.CUdeviceptr
)

func cuInit() error { return check("cuInit", C.cuInit(0)) }

func cuDeviceCount() (int, error) {
	var n C.int
	err := check("cuDeviceGetCount", C.cuDeviceGetCount(&n))
	return int(n), err
}

func cuDriverVersion() int {
	var v C.int
	if C.cuDriverGetVersion(&v) != C.CUDA_SUCCESS {
		return 0
	}
	return int(v)
}

func cuDeviceGet(ordinal int) (cuDevice, error) {
	var d C.CUdevice
	err := check("cuDeviceGet", C.cuDeviceGet(&d, C.int(ordinal)))
	return d, err
}

func cuDeviceName(d cuDevice) (string, error) {
	var buf [256]C.char
	if err := check("cuDeviceGetName", C.cuDeviceGetName(&buf[0], C.int(len(buf)), d)); err != nil {
		return "", err
	}
	return C.GoString(&buf[0]), nil
}

func cuDeviceTotalMem(d cuDevice) (int64, error) {
	var n C.size_t
	err := check("cuDeviceTotalMem", C.cuDeviceTotalMem(&n, d))
	return int64(n), err
}

const (
	attrComputeMajor    = C.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
	attrComputeMinor    = C.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
	attrMultiprocessors = C.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
)

func cuDeviceAttribute(d cuDevice, attr C.CUdevice_attribute) (int, error) {
	var v C.int
	err := check("cuDeviceGetAttribute", C.cuDeviceGetAttribute(&v, attr, d))
	return int(v), err
}

func cuPrimaryCtxRetain(d cuDevice) (cuContext, error) {
	var c C.CUcontext
	err := check("cuDevicePrimaryCtxRetain", C.cuDevicePrimaryCtxRetain(&c, d))
	return c, err
}

func cuPrimaryCtxRelease(d cuDevice) error {
	return check("cuDevicePrimaryCtxRelease", C.cuDevicePrimaryCtxRelease(d))
}

func cuCtxSetCurrent(c cuContext) error { return check("cuCtxSetCurrent", C.cuCtxSetCurrent(c)) }

// cuModuleLoad JIT-compiles the PTX image (for the current context's
// device) and loads it.
func cuModuleLoad(ptx string) (cuModule, error) {
	image := C.CString(ptx)
	defer C.free(unsafe.Pointer(image))
	const logSize = 8192
	log := (*C.char)(C.calloc(logSize, 1))
	defer C.free(unsafe.Pointer(log))
	var m C.CUmodule
	if err := check("cuModuleLoadDataEx", C.vs_load(&m, image, log, logSize)); err != nil {
		if s := C.GoString(log); s != "" {
			return m, fmt.Errorf("%w: JIT log: %s", err, s)
		}
		return m, err
	}
	return m, nil
}

func cuModuleUnload(m cuModule) error { return check("cuModuleUnload", C.cuModuleUnload(m)) }

func cuModuleFunction(m cuModule, name string) (cuFunction, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var f C.CUfunction
	err := check("cuModuleGetFunction "+name, C.cuModuleGetFunction(&f, m, cname))
	return f, err
}

func cuStreamCreate() (cuStream, error) {
	var s C.CUstream
	err := check("cuStreamCreate", C.cuStreamCreate(&s, C.CU_STREAM_NON_BLOCKING))
	return s, err
}

func cuStreamDestroy(s cuStream) error { return check("cuStreamDestroy", C.cuStreamDestroy(s)) }

func cuStreamSynchronize(s cuStream) error {
	return check("cuStreamSynchronize", C.cuStreamSynchronize(s))
}

func cuEventCreate() (cuEvent, error) {
	var e C.CUevent
	err := check("cuEventCreate", C.cuEventCreate(&e, C.CU_EVENT_DEFAULT))
	return e, err
}

func cuEventDestroy(e cuEvent) error { return check("cuEventDestroy", C.cuEventDestroy(e)) }

func cuEventSynchronize(e cuEvent) error {
	return check("cuEventSynchronize", C.cuEventSynchronize(e))
}

func cuEventRecord(e cuEvent, s cuStream) error {
	return check("cuEventRecord", C.cuEventRecord(e, s))
}

// cuEventElapsed is the time between two completed events, in milliseconds.
func cuEventElapsed(start, stop cuEvent) (float32, error) {
	var ms C.float
	err := check("cuEventElapsedTime", C.cuEventElapsedTime(&ms, start, stop))
	return float32(ms), err
}

func cuMemGetInfo() (free, total int64, err error) {
	var f, t C.size_t
	err = check("cuMemGetInfo", C.cuMemGetInfo(&f, &t))
	return int64(f), int64(t), err
}

func cuMemAlloc(bytes int64) (cuPtr, error) {
	var p C.CUdeviceptr
	err := check(fmt.Sprintf("cuMemAlloc %d bytes", bytes), C.cuMemAlloc(&p, C.size_t(bytes)))
	return p, err
}

func cuMemFree(p cuPtr) error { return check("cuMemFree", C.cuMemFree(p)) }

func cuMemAllocHost(bytes int64) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	err := check(fmt.Sprintf("cuMemAllocHost %d bytes", bytes), C.cuMemAllocHost(&p, C.size_t(bytes)))
	return p, err
}

func cuMemFreeHost(p unsafe.Pointer) error { return check("cuMemFreeHost", C.cuMemFreeHost(p)) }

// cuMemcpyHtoDAsync queues a copy on s. From pageable (Go) memory it
// returns once the source is staged, so src may be Go memory; from pinned
// memory src must stay valid until s has passed the copy.
func cuMemcpyHtoDAsync(dst cuPtr, src unsafe.Pointer, bytes int64, s cuStream) error {
	return check("cuMemcpyHtoDAsync", C.cuMemcpyHtoDAsync(dst, src, C.size_t(bytes), s))
}

// cuMemcpyDtoHAsync queues a copy on s. To pageable (Go) memory it returns
// only once the copy is done; to pinned memory dst is written when s passes
// the copy.
func cuMemcpyDtoHAsync(dst unsafe.Pointer, src cuPtr, bytes int64, s cuStream) error {
	return check("cuMemcpyDtoHAsync", C.cuMemcpyDtoHAsync(dst, src, C.size_t(bytes), s))
}

func cuMemsetZeroAsync(dst cuPtr, bytes int64, s cuStream) error {
	return check("cuMemsetD8Async", C.cuMemsetD8Async(dst, 0, C.size_t(bytes), s))
}

// launch runs f on a gx×gy×gz grid of bx-thread blocks; args are the
// kernel's parameters, see arg.
func launch(name string, f cuFunction, gx, gy, gz, bx int, s cuStream, args ...uint64) error {
	if gx == 0 || gy == 0 || gz == 0 {
		return nil
	}
	return check("cuLaunchKernel "+name, C.vs_launch(f, C.uint(gx), C.uint(gy), C.uint(gz), C.uint(bx), s,
		(*C.uint64_t)(unsafe.Pointer(&args[0])), C.int(len(args))))
}

// argInt packs a kernel's int parameter.
func argInt(v int) uint64 { return uint64(uint32(int32(v))) }

// argPtr packs a kernel's pointer parameter.
func argPtr(p cuPtr) uint64 { return uint64(p) }
