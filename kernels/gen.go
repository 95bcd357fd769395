package kernels

// The CUDA kernels are written in kernels/cuda/*.cu and compiled to PTX for
// the virtual architecture compute_80 (Ampere; the driver JIT-compiles it
// for whatever newer GPU it finds, H100 included). The PTX is committed and
// embedded in the `cuda`-tagged binary; regenerate it after editing a .cu
// file with nvcc 11.8 (what `make cuda-sdk` installs; CI checks that the
// committed PTX is what nvcc 11.8 makes of the sources):
//
//	go generate ./kernels

//go:generate nvcc -arch=compute_80 --ptx -O3 -o cuda/encode.ptx cuda/encode.cu
//go:generate nvcc -arch=compute_80 --ptx -O3 -o cuda/fit.ptx cuda/fit.cu
