//go:build !cuda || !cgo

package kernels

// CUDAAvailable reports whether this binary was built with the CUDA backend
// and a device is usable. Without the `cuda` build tag it is always false.
func CUDAAvailable() bool { return false }

// newCUDA returns the CUDA backend. Without the `cuda` build tag (or
// without cgo) it returns ErrNoCUDA.
func newCUDA() (Backend, error) { return nil, ErrNoCUDA }
