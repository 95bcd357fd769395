// Package kernels owns the numeric batch work behind VectorStream's embedder:
// sparse CSR rows times a dense projection matrix, row L2 normalisation, and
// the float64 products used by the randomized SVD fit.
//
// Every implementation sits behind the Backend interface. The CPU backend
// (pure Go, gonum for the dense GEMM) is always built; a CUDA backend lives
// behind the `cuda` build tag (cuda.go / cuda_off.go, gonum's asm/noasm
// shape). The conformance suite in kernels/kerneltest is run against every
// backend.
//
// Select picks a backend ("auto": CUDA when built in and a device answers,
// else CPU) and records which and why; NewFallback wraps one so that the
// first device failure fails that batch with ErrFellBack and sends every
// later call to the CPU backend.
//
// # CUDA
//
// The CUDA backend (cuda.go, cudrv.go) calls the driver API (libcuda.so.1)
// through a small cgo binding and loads kernels from PTX compiled for
// compute_80 (kernels/cuda/*.cu → *.ptx by `go generate`, committed and
// embedded); the driver JIT-compiles the PTX for the GPU it finds. One
// primary context per process; a pool of workers, each locked to an OS
// thread with its own stream, timing events and device and pinned host
// buffers reused across batches. deploy/cuda/ builds it without a GPU.
//
// The encode kernel's memory-bandwidth floor: for a batch of r rows with
// nnz non-zeros projected to d dimensions it must move at least
//
//	bytes = nnz·(4+4) + (r+1)·4 + r·d·4
//
// through device memory (column indices and values, row pointers, the
// output); reads of projection rows come on top, at most nnz·d·4 and far
// less when frequent terms stay in cache. kernel time ≥ bytes / bandwidth
// (H100 SXM: 3.35 TB/s). With transfers the first two terms cross PCIe to
// the device and the last one back, so events/s with transfers included is
// bounded by the PCIe bandwidth over about r·d·4 bytes per batch.
// kerneltest.KernelBytes computes it; the benchmarks report kernel-GB/s.
//
// kernels must not import anything from VectorStream above it (embed,
// pipeline, …), must not log, and must not know about tokens, models or
// files: it sees only matrices.
package kernels
