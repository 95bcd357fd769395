package kerneltest

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vectorstream/vectorstream/kernels"
)

// BenchSizes are the batch sizes (rows) Bench runs the encode-path kernels at.
var BenchSizes = []int{64, 1000, 4096}

// Bench benchmarks the backend's kernels over BenchSizes, each next to the
// naive reference ("naive-<n>" beside "<backend>-<n>"). Setup runs outside
// the timer. events/s counts rows (one row is one event's document).
func Bench(b *testing.B, newBackend func() kernels.Backend) {
	be := newBackend()
	b.Cleanup(func() { be.Close() })
	const vocab, nnzPerRow = 20000, 8 // ~16 distinct terms per row on average
	for _, dim := range []int{64, 128} {
		b.Run(fmt.Sprintf("SparseProject/dim=%d", dim), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, uint64(dim)))
			p := RandomFloat32(r, vocab*dim)
			proj, err := be.NewProjection(p, vocab, dim)
			if err != nil {
				b.Fatal(err)
			}
			defer proj.Close()
			for _, n := range BenchSizes {
				a := RandomCSR(r, n, vocab, nnzPerRow, 0.01)
				out := make([]float32, n*dim)
				run := func(impl string, f func() error) {
					b.Run(fmt.Sprintf("%s-%d", impl, n), func(b *testing.B) {
						b.ReportAllocs()
						b.SetBytes(int64(len(a.Val)) * 8)
						for b.Loop() {
							if err := f(); err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
					})
				}
				run("naive", func() error { NaiveProject(a, p, dim, out); return nil })
				run(be.Name(), func() error { return be.SparseProject(proj, a, out) })
			}
		})
		b.Run(fmt.Sprintf("NormalizeRows/dim=%d", dim), func(b *testing.B) {
			r := rand.New(rand.NewPCG(2, uint64(dim)))
			for _, n := range BenchSizes {
				x := RandomFloat32(r, n*dim)
				run := func(impl string, f func() error) {
					b.Run(fmt.Sprintf("%s-%d", impl, n), func(b *testing.B) {
						b.ReportAllocs()
						b.SetBytes(int64(len(x)) * 4)
						for b.Loop() {
							if err := f(); err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
					})
				}
				run("naive", func() error { NaiveNormalizeRows(x, dim); return nil })
				run(be.Name(), func() error { return be.NormalizeRows(x, dim) })
			}
		})
	}
	// Fit-path products: catalog rows × (dim+oversample) columns.
	b.Run("SparseTMulDense/k=138", func(b *testing.B) {
		r := rand.New(rand.NewPCG(3, 3))
		const k = 138
		for _, n := range []int{1000, 10000} {
			a := RandomCSR(r, n, 5000, nnzPerRow, 0.01)
			in, out := RandomDense(r, n, k), kernels.NewDense(5000, k)
			run := func(impl string, f func() error) {
				b.Run(fmt.Sprintf("%s-%d", impl, n), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if err := f(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
				})
			}
			run("naive", func() error { NaiveSparseTMulDense(a, in, out); return nil })
			run(be.Name(), func() error { return be.SparseTMulDense(a, in, out) })
		}
	})
}
