package embed_test

import (
	"fmt"
	"testing"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/kernels"
)

// BenchmarkEncode encodes batches of short product-like documents (10–20
// tokens) with the CPU backend; events/s counts documents.
func BenchmarkEncode(b *testing.B) {
	cat := newSynthCatalog(5, 20000, 40)
	for _, dim := range []int{64, 128} {
		cfg := embed.DefaultFitConfig()
		cfg.Dim = dim
		m, err := embed.Fit(b.Context(), cat.docs, cfg, kernels.NewCPU())
		if err != nil {
			b.Fatal(err)
		}
		events := newSynthCatalog(6, 4096, 40).docs // unseen documents, same vocabulary
		for _, n := range []int{64, 1000, 4096} {
			b.Run(fmt.Sprintf("dim=%d/cpu-%d", dim, n), func(b *testing.B) {
				enc := embed.NewEncoder(m, kernels.NewCPU())
				defer enc.Close()
				docs, out := events[:n], make([]float32, n*dim)
				b.ReportAllocs()
				for b.Loop() {
					if err := enc.Encode(docs, out); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkFit fits models on synthetic catalogs; events/s counts catalog
// documents. The 100,000-document case at 128 dims must stay under 5 s.
func BenchmarkFit(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		cat := newSynthCatalog(9, n, 100)
		b.Run(fmt.Sprintf("dim=128/cpu-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var m *embed.Model
			for b.Loop() {
				var err error
				if m, err = embed.Fit(b.Context(), cat.docs, embed.DefaultFitConfig(), kernels.NewCPU()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(m.VocabSize()), "terms")
		})
	}
}
