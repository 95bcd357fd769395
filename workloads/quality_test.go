package workloads_test

import (
	"math"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/vectorstream/vectorstream/event"

	"gonum.org/v1/gonum/mat"

	"github.com/vectorstream/vectorstream/workloads"
)

// neighbourPrecision embeds docs with TF-IDF (min df 2) reduced to dim
// dimensions by SVD (through the eigen-decomposition of the document Gram
// matrix) and returns the mean share of each document's k nearest
// neighbours (cosine) that carry its label — the metric of the downstream
// quality test, reimplemented here with gonum so the catalog can be tuned
// without the embed package.
func neighbourPrecision(t *testing.T, docs, labels []string, turkish bool, dim, k int) float64 {
	t.Helper()
	n := len(docs)
	lower := strings.ToLower
	if turkish {
		lower = func(s string) string { return strings.ToLowerSpecial(unicode.TurkishCase, s) }
	}
	toks := make([][]string, n)
	df := map[string]int{}
	for i, d := range docs {
		toks[i] = strings.FieldsFunc(lower(d), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		seen := map[string]bool{}
		for _, w := range toks[i] {
			if !seen[w] {
				seen[w] = true
				df[w]++
			}
		}
	}
	vocab := map[string]int{}
	var idf []float64
	words := make([]string, 0, len(df))
	for w := range df {
		words = append(words, w)
	}
	sort.Strings(words)
	for _, w := range words {
		if df[w] >= 2 {
			vocab[w] = len(idf)
			idf = append(idf, math.Log(float64(1+n)/float64(1+df[w]))+1)
		}
	}
	rows := make([]map[int]float64, n)
	for i := range docs {
		rows[i] = map[int]float64{}
		for _, w := range toks[i] {
			if j, ok := vocab[w]; ok {
				rows[i][j] += idf[j]
			}
		}
		norm := 0.0
		for _, v := range rows[i] {
			norm += v * v
		}
		norm = math.Sqrt(norm)
		for j := range rows[i] {
			rows[i][j] /= norm
		}
	}
	gram := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			s := 0.0
			a, b := rows[i], rows[j]
			if len(a) > len(b) {
				a, b = b, a
			}
			for c, v := range a {
				s += v * b[c]
			}
			gram.SetSym(i, j, s)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(gram, true) {
		t.Fatal("eigen decomposition did not converge")
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	emb := make([][]float64, n)
	for i := range n {
		emb[i] = make([]float64, dim)
		norm := 0.0
		for d := range dim {
			c := n - 1 - d
			v := vecs.At(i, c) * math.Sqrt(math.Max(vals[c], 0))
			emb[i][d] = v
			norm += v * v
		}
		if norm > 0 {
			norm = math.Sqrt(norm)
			for d := range emb[i] {
				emb[i][d] /= norm
			}
		}
	}
	total := 0.0
	sims := make([]struct {
		j int
		s float64
	}, 0, n)
	for i := range n {
		sims = sims[:0]
		for j := range n {
			if j == i {
				continue
			}
			s := 0.0
			for d := range dim {
				s += emb[i][d] * emb[j][d]
			}
			sims = append(sims, struct {
				j int
				s float64
			}{j, s})
		}
		sort.Slice(sims, func(a, b int) bool {
			if sims[a].s != sims[b].s {
				return sims[a].s > sims[b].s
			}
			return sims[a].j < sims[b].j
		})
		hit := 0
		for _, x := range sims[:k] {
			if labels[x.j] == labels[i] {
				hit++
			}
		}
		total += float64(hit) / float64(k)
	}
	return total / float64(n)
}

// TestCatalogNeighbourPrecision checks the catalog is hard but learnable:
// precision@10 of same-category neighbours on 128-d TF-IDF+SVD embeddings
// is well above chance (~0.06 for 20 categories) and well below 1.
func TestCatalogNeighbourPrecision(t *testing.T) {
	n := 800
	if testing.Short() || raceEnabled {
		t.Skip("numerical test (an 800x800 eigen-decomposition); skipped in -short and under -race, where it takes ~25 s and checks nothing concurrent")
	}
	g, err := workloads.NewGenerator(workloads.GeneratorConfig{Seed: 3, Products: n, Users: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		locale  string
		text    func(p *event.Product) string
		turkish bool
	}{
		{"en/title", "en-US", func(p *event.Product) string { return p.Title }, false},
		{"en/embed_text", "en-US", event.ProductText, false},
		{"tr/title", "tr-TR", func(p *event.Product) string { return p.Title }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cat := g.CatalogFor(tc.locale)
			docs := make([]string, len(cat))
			labels := make([]string, len(cat))
			for i := range cat {
				docs[i] = tc.text(&cat[i])
				labels[i] = cat[i].Category
			}
			p := neighbourPrecision(t, docs, labels, tc.turkish, 128, 10)
			t.Logf("precision@10 = %.3f", p)
			if p < 0.4 || p > 0.85 {
				t.Errorf("precision@10 = %.3f, want in [0.40, 0.85]", p)
			}
		})
	}
}
