package embed_test

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/kernels"
	"github.com/vectorstream/vectorstream/workloads"
)

// Quality measures of the embedder on the workloads generator's catalog and
// search stream, each printed next to its chance level and asserted:
//
//	(a) precision@10 of catalog nearest neighbours sharing the category;
//	(b) recall@10 of search queries retrieving a product of the category
//	    the query was generated from;
//	(c) randomized vs exact SVD of the catalog's TF-IDF matrix.

const qualityK = 10

type qualityCorpus struct {
	gen     *workloads.Generator
	model   *embed.Model
	locales []string
	catalog map[string][]event.Product // by locale
	vectors map[string][]float32       // by locale, row i = catalog[locale][i]
}

func newQualityCorpus(t *testing.T) *qualityCorpus {
	t.Helper()
	gen, err := workloads.NewGenerator(workloads.GeneratorConfig{Seed: 1, Products: 3000, Users: 2000})
	if err != nil {
		t.Fatal(err)
	}
	q := &qualityCorpus{gen: gen, locales: []string{"en-US", "tr-TR"}, catalog: map[string][]event.Product{}, vectors: map[string][]float32{}}
	docsFor := func(locale string) []embed.Doc {
		products := gen.CatalogFor(locale)
		q.catalog[locale] = products
		docs := make([]embed.Doc, len(products))
		for i := range products {
			ev := event.Event{EventType: event.ProductView, Product: &products[i], Locale: locale}
			docs[i] = embed.Doc{Text: ev.EmbedText(), Lang: locale}
		}
		return docs
	}
	byLocale := map[string][]embed.Doc{}
	var all []embed.Doc
	for _, loc := range q.locales {
		byLocale[loc] = docsFor(loc)
		all = append(all, byLocale[loc]...)
	}
	be := kernels.NewCPU()
	q.model, err = embed.Fit(t.Context(), all, embed.DefaultFitConfig(), be)
	if err != nil {
		t.Fatal(err)
	}
	enc := embed.NewEncoder(q.model, be)
	defer enc.Close()
	for _, loc := range q.locales {
		v := make([]float32, len(byLocale[loc])*q.model.Dim())
		if err := enc.Encode(byLocale[loc], v); err != nil {
			t.Fatal(err)
		}
		q.vectors[loc] = v
	}
	t.Logf("corpus: %d products × %d locales, vocabulary %d terms, dim %d", len(q.catalog["en-US"]), len(q.locales), q.model.VocabSize(), q.model.Dim())
	return q
}

// topK returns the indices of the k rows of vecs with the highest dot
// product with query (rows are unit vectors: cosine), skipping index skip.
func topK(vecs, query []float32, dim, k, skip int) []int {
	type hit struct {
		i int
		s float32
	}
	hits := make([]hit, 0, len(vecs)/dim)
	for i := 0; i*dim < len(vecs); i++ {
		if i == skip {
			continue
		}
		row := vecs[i*dim : (i+1)*dim]
		var s float32
		for j, v := range row {
			s += v * query[j]
		}
		hits = append(hits, hit{i, s})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(b.s, a.s); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	out := make([]int, 0, k)
	for _, h := range hits[:min(k, len(hits))] {
		out = append(out, h.i)
	}
	return out
}

func categoryShares(products []event.Product) map[string]float64 {
	shares := map[string]float64{}
	for _, p := range products {
		shares[p.Category]++
	}
	for c := range shares {
		shares[c] /= float64(len(products))
	}
	return shares
}

func TestQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("quality measures fit and search a 3000-product catalog; skipped with -short")
	}
	q := newQualityCorpus(t)
	dim := q.model.Dim()

	t.Run("precision@10 catalog neighbours", func(t *testing.T) {
		products, vecs := q.catalog["en-US"], q.vectors["en-US"]
		const queries = 600
		var same, total int
		for i := 0; i < queries; i++ {
			for _, j := range topK(vecs, vecs[i*dim:(i+1)*dim], dim, qualityK, i) {
				total++
				if products[j].Category == products[i].Category {
					same++
				}
			}
		}
		// Chance: the probability that a random other product shares the
		// category, averaged over the catalog.
		n := float64(len(products))
		var chance float64
		for _, s := range categoryShares(products) {
			chance += s * (s*n - 1) / (n - 1)
		}
		p := float64(same) / float64(total)
		t.Logf("precision@%d of catalog neighbours sharing the category: %.3f (chance %.3f, %.1f× chance; %d products queried)", qualityK, p, chance, p/chance, queries)
		if p <= 2*chance || p >= 1.0 {
			t.Errorf("precision@%d = %.3f, want > 2× chance (%.3f) and < 1.0", qualityK, p, 2*chance)
		}
	})

	t.Run("recall@10 search queries", func(t *testing.T) {
		enc := embed.NewEncoder(q.model, kernels.NewCPU())
		defer enc.Close()
		vec := make([]float32, dim)
		hits, searches, empty := 0, 0, 0
		var chance float64
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; searches < 800 && i < 200000; i++ {
			rec := q.gen.Next(start.Add(time.Duration(i) * time.Millisecond))
			if rec.Malformed || rec.Event.EventType != event.Search || rec.QueryCategory == "" {
				continue
			}
			searches++
			loc := rec.Event.Locale
			products, ok := q.catalog[loc]
			if !ok {
				loc = "en-US"
				products = q.catalog[loc]
			}
			if err := enc.Encode([]embed.Doc{{Text: rec.Event.EmbedText(), Lang: rec.Event.Locale}}, vec); err != nil {
				t.Fatal(err)
			}
			if slices.Max(vec) == 0 && slices.Min(vec) == 0 {
				empty++ // no known term: retrieves nothing, counts as a miss
				continue
			}
			for _, j := range topK(q.vectors[loc], vec, dim, qualityK, -1) {
				if products[j].Category == rec.QueryCategory {
					hits++
					break
				}
			}
			s := categoryShares(products)[rec.QueryCategory]
			chance += 1 - pow(1-s, qualityK)
		}
		if searches == 0 {
			t.Fatal("the generator produced no searches")
		}
		recall, chance := float64(hits)/float64(searches), chance/float64(searches)
		t.Logf("recall@%d of search queries retrieving their category: %.3f (chance %.3f; %d searches, %d with no known term)", qualityK, recall, chance, searches, empty)
		if recall < 0.6 || recall <= chance+0.5*(1-chance) {
			t.Errorf("recall@%d = %.3f, want ≥ 0.6 and above chance %.3f by half of the remaining headroom", qualityK, recall, chance)
		}
	})

	t.Run("randomized vs exact SVD", func(t *testing.T) {
		products := q.catalog["en-US"][:600]
		docs := make([]embed.Doc, len(products))
		for i := range products {
			ev := event.Event{EventType: event.ProductView, Product: &products[i], Locale: "en-US"}
			docs[i] = embed.Doc{Text: ev.EmbedText(), Lang: "en-US"}
		}
		if worst := checkFitSVD(t, docs, 32, 10); !(worst <= 1e-3) {
			t.Errorf("top singular values off by %.2e relative, want ≤ 1e-3", worst)
		}
	})
}

func pow(x float64, n int) float64 {
	r := 1.0
	for range n {
		r *= x
	}
	return r
}
