//go:build cuda && cgo

package embed_test

import (
	"fmt"
	"testing"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/kernels"
)

// BenchmarkFitCUDA fits 128-dimension models on synthetic catalogs of 100k
// and 1M products with the CPU and the CUDA backend in the same process
// (CUDA skipped, and said so, without a device); events/s counts catalog
// documents. Run with -benchtime 1x: one fit of 1M documents takes tens of
// seconds on CPU.
func BenchmarkFitCUDA(b *testing.B) {
	gpu, sel, err := kernels.Select(kernels.KindCUDA)
	if err != nil {
		b.Logf("no CUDA device: %v: CPU only", err)
	} else {
		b.Logf("%v", sel)
		defer gpu.Close()
	}
	for _, n := range []int{100000, 1000000} {
		cat := newSynthCatalog(9, n, 100)
		for _, be := range []kernels.Backend{kernels.NewCPU(), gpu} {
			if be == nil {
				continue
			}
			b.Run(fmt.Sprintf("dim=128/%s-%d", be.Name(), n), func(b *testing.B) {
				b.ReportAllocs()
				var m *embed.Model
				for b.Loop() {
					var err error
					if m, err = embed.Fit(b.Context(), cat.docs, embed.DefaultFitConfig(), be); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(float64(m.VocabSize()), "terms")
			})
		}
	}
}
