package kerneltest

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/kernels"
)

// Sizes of BenchEncode: batch rows and embedding dimensions.
var (
	EncodeSizes = []int{256, 1024, 4096, 16384, 65536, 262144}
	EncodeDims  = []int{64, 128, 256}
)

// EncodeVocab and EncodeNNZ shape BenchEncode's inputs: a vocabulary of
// EncodeVocab terms and about EncodeNNZ distinct terms per row (1 to
// 2·EncodeNNZ), 1% empty rows.
const (
	EncodeVocab = 50000
	EncodeNNZ   = 8
)

// KernelBytes is the least number of bytes the encode kernel must move
// through device memory for A (rows × vocab, nnz entries) and dim-wide
// output: the CSR arrays read once, (rows+1)·4 + nnz·(4+4), and the output
// written once, rows·dim·4. Reads of projection rows come on top (at most
// nnz·dim·4, far less when frequent terms hit in cache), so
// KernelBytes / memory bandwidth is a floor for the kernel time. With
// transfers, the same CSR bytes cross PCIe to the device and the output
// bytes cross back.
func KernelBytes(a *kernels.CSR, dim int) int64 {
	return int64(a.Rows+1)*4 + int64(len(a.ColIdx))*8 + int64(a.Rows)*int64(dim)*4
}

// BenchEncode benchmarks the encode path (kernels.ProjectNormalize: the
// sparse projection and the row normalisation, fused where the backend can)
// over EncodeDims × EncodeSizes, as "dim=<d>/<backend>-<rows>". Setup runs
// outside the timer. It reports events/s (rows per second, transfers
// included), and for a kernels.KernelTimer also kernel-ns/op (device time
// in kernels only, from CUDA events), kernel-events/s and kernel-GB/s
// (KernelBytes per kernel time, to compare with the memory bandwidth).
func BenchEncode(b *testing.B, be kernels.Backend) {
	r := rand.New(rand.NewPCG(11, 13))
	inputs := make([]*kernels.CSR, len(EncodeSizes))
	for i, n := range EncodeSizes {
		inputs[i] = RandomCSR(r, n, EncodeVocab, EncodeNNZ, 0.01)
	}
	kt, timed := be.(kernels.KernelTimer)
	for _, dim := range EncodeDims {
		proj, err := be.NewProjection(RandomFloat32(r, EncodeVocab*dim), EncodeVocab, dim)
		if err != nil {
			b.Fatalf("NewProjection %d×%d: %v", EncodeVocab, dim, err)
		}
		for i, n := range EncodeSizes {
			a := inputs[i]
			out := make([]float32, n*dim)
			b.Run(fmt.Sprintf("dim=%d/%s-%d", dim, be.Name(), n), func(b *testing.B) {
				bytes := KernelBytes(a, dim)
				b.SetBytes(bytes)
				b.ReportAllocs()
				var k0 time.Duration
				if timed {
					k0 = kt.KernelTime()
				}
				for b.Loop() {
					if err := kernels.ProjectNormalize(be, proj, a, out); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
				if timed {
					ns := float64(kt.KernelTime()-k0) / float64(b.N)
					b.ReportMetric(ns, "kernel-ns/op")
					if ns > 0 {
						b.ReportMetric(float64(n)/ns*1e9, "kernel-events/s")
						b.ReportMetric(float64(bytes)/ns, "kernel-GB/s")
					}
				}
			})
		}
		if err := proj.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
