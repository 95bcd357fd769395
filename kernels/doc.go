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
// kernels must not import anything from VectorStream above it (embed,
// pipeline, …), must not log, and must not know about tokens, models or
// files: it sees only matrices.
package kernels
