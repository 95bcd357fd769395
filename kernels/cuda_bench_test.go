//go:build cuda && cgo

package kernels_test

import (
	"testing"

	"github.com/vectorstream/vectorstream/kernels"
	"github.com/vectorstream/vectorstream/kernels/kerneltest"
)

// BenchmarkEncodeCUDA is the encode sweep (kerneltest.BenchEncode) on the
// CUDA backend: events/s with transfers included, and kernel-ns/op from
// CUDA events. Run it beside BenchmarkEncodeCPU in the same process.
func BenchmarkEncodeCUDA(b *testing.B) {
	kerneltest.BenchEncode(b, newCUDA(b))
}

// BenchmarkCUDA runs the common kernel benchmarks (kerneltest.Bench) on the
// CUDA backend, beside BenchmarkCPU.
func BenchmarkCUDA(b *testing.B) {
	newCUDA(b) // skips without a device
	kerneltest.Bench(b, func() kernels.Backend {
		be, _, err := kernels.Select(kernels.KindCUDA)
		if err != nil {
			b.Fatal(err)
		}
		return be
	})
}
