package embed_test

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/kernels"
)

// checkFitSVD fits a model on docs and compares its top singular values with
// gonum's exact SVD of the TF-IDF matrix rebuilt here, independently, from
// the model's vocabulary and idf (sublinear tf, rows L2-normalised). It
// returns the worst relative error over the top `top` values.
func checkFitSVD(t *testing.T, docs []embed.Doc, dim, top int) float64 {
	t.Helper()
	cfg := embed.DefaultFitConfig()
	cfg.Dim = dim
	m, err := embed.Fit(t.Context(), docs, cfg, kernels.NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	terms := m.Terms()
	col := make(map[string]int, len(terms))
	for i, term := range terms {
		col[term] = i
	}
	a := mat.NewDense(len(docs), len(terms), nil)
	for i, d := range docs {
		tf := map[int]int{}
		for _, tok := range embed.Tokenize(d.Text, d.Lang) {
			if j, ok := col[tok]; ok {
				tf[j]++
			}
		}
		var ss float64
		for j, c := range tf {
			idf, _ := m.IDF(terms[j])
			w := float64(float32((1 + math.Log(float64(c))) * float64(idf)))
			a.Set(i, j, w)
			ss += w * w
		}
		for j := range tf {
			a.Set(i, j, a.At(i, j)/math.Sqrt(ss))
		}
	}
	var exact mat.SVD
	if !exact.Factorize(a, mat.SVDNone) {
		t.Fatal("exact SVD did not converge")
	}
	want, got := exact.Values(nil), m.SingularValues()
	worst := 0.0
	for j := 0; j < top; j++ {
		worst = max(worst, math.Abs(got[j]-want[j])/want[j])
	}
	t.Logf("randomized vs exact SVD (%d docs × %d terms, dim %d): σ1 %.4f vs %.4f, σ%d %.4f vs %.4f, worst relative error over the top %d: %.2e",
		len(docs), len(terms), dim, got[0], want[0], top, got[top-1], want[top-1], top, worst)
	return worst
}

func TestFitSVDMatchesExactOnCatalog(t *testing.T) {
	t.Parallel()
	cat := newSynthCatalog(21, 500, 10)
	if worst := checkFitSVD(t, cat.docs, 32, 10); !(worst <= 1e-3) {
		t.Errorf("top singular values off by %.2e relative, want ≤ 1e-3", worst)
	}
}
