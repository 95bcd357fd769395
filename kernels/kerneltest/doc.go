// Package kerneltest holds the one conformance suite (Run) and the one set of
// benchmarks (Bench) that every kernels.Backend must pass and report, in the
// manner of gonum's blas/testblas. Backend packages call them from their own
// _test files; kerneltest itself must stay free of any backend's internals
// and must not be imported by non-test code.
package kerneltest
