package embed_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/kernels"
)

func encodeAll(t testing.TB, m *embed.Model, docs []embed.Doc) []float32 {
	t.Helper()
	enc := embed.NewEncoder(m, kernels.NewCPU())
	defer enc.Close()
	out := make([]float32, len(docs)*m.Dim())
	if err := enc.Encode(docs, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEncoder(t *testing.T) {
	t.Parallel()
	m, cat := smallModel(t, 32)
	dim := m.Dim()
	docs := append([]embed.Doc{{Text: ""}, {Text: "!!! ---", Lang: "tr"}, {Text: "zzzunknownzzz qqqq"}}, cat.docs[:200]...)
	out := encodeAll(t, m, docs)
	for i := range docs {
		var s float64
		for _, v := range out[i*dim : (i+1)*dim] {
			s += float64(v) * float64(v)
		}
		want := 1.0
		if i < 3 {
			want = 0
		}
		if math.Abs(math.Sqrt(s)-want) > 1e-5 {
			t.Errorf("doc %d %q: norm %g, want %g", i, docs[i].Text, math.Sqrt(s), want)
		}
	}
	t.Run("deterministic", func(t *testing.T) {
		if again := encodeAll(t, m, docs); !reflect.DeepEqual(out, again) {
			t.Error("a second encoder gives different vectors")
		}
		m2, _ := smallModel(t, 32)
		if again := encodeAll(t, m2, docs); !reflect.DeepEqual(out, again) {
			t.Error("a second fit with the same seed gives different vectors")
		}
	})
	t.Run("batch independent", func(t *testing.T) {
		enc := embed.NewEncoder(m, kernels.NewCPU())
		defer enc.Close()
		one := make([]float32, dim)
		for i := range 20 {
			if err := enc.Encode(docs[i:i+1], one); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(one, out[i*dim:(i+1)*dim]) {
				t.Fatalf("doc %d encodes differently alone and in a batch", i)
			}
		}
	})
	t.Run("turkish case", func(t *testing.T) {
		// The same words in upper case under tr must embed like lower case.
		w := cat.docs[5].Text
		pair := []embed.Doc{{Text: strings.ToLowerSpecial(nil, w), Lang: "tr"}, {Text: strings.ToUpperSpecial(turkishCase, w), Lang: "tr"}}
		v := make([]float32, 2*dim)
		enc := embed.NewEncoder(m, kernels.NewCPU())
		defer enc.Close()
		if err := enc.Encode(pair, v); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(v[:dim], v[dim:]) {
			t.Errorf("%q and %q embed differently under tr", pair[0].Text, pair[1].Text)
		}
	})
	t.Run("errors", func(t *testing.T) {
		enc := embed.NewEncoder(m, kernels.NewCPU())
		if err := enc.Encode(docs[:2], make([]float32, dim)); err == nil {
			t.Error("short out: no error")
		}
		if err := enc.Encode(nil, nil); err != nil {
			t.Errorf("empty batch: %v", err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if err := enc.Encode(docs[:1], make([]float32, dim)); !errors.Is(err, kernels.ErrClosed) {
			t.Errorf("Encode after Close: %v", err)
		}
	})
	t.Run("encoders in parallel", func(t *testing.T) {
		var wg sync.WaitGroup
		be := kernels.NewCPU()
		results := make([][]float32, 4)
		for w := range results {
			wg.Go(func() {
				enc := embed.NewEncoder(m, be)
				defer enc.Close()
				results[w] = make([]float32, len(docs)*dim)
				if err := enc.Encode(docs, results[w]); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for w, r := range results {
			if !reflect.DeepEqual(r, out) {
				t.Errorf("encoder %d in parallel gave different vectors", w)
			}
		}
	})
}

// TestEncodeNoAllocations is not parallel: AllocsPerRun forbids it.
func TestEncodeNoAllocations(t *testing.T) {
	m, cat := smallModel(t, 32)
	docs, dim := cat.docs, m.Dim()
	enc := embed.NewEncoder(m, kernels.NewCPU())
	defer enc.Close()
	buf := make([]float32, len(docs)*dim)
	allocs := testing.AllocsPerRun(5, func() {
		if err := enc.Encode(docs, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Encode allocates %.0f times per batch after warm-up", allocs)
	}
}

func TestFitErrors(t *testing.T) {
	t.Parallel()
	be := kernels.NewCPU()
	if _, err := embed.Fit(t.Context(), nil, embed.DefaultFitConfig(), be); err == nil {
		t.Error("Fit of no documents: no error")
	}
	bad := embed.FitConfig{Dim: 0, MinDF: 0, MaxVocab: 0, Oversample: -1, PowerIters: -1}
	err := bad.Validate()
	if err == nil || strings.Count(err.Error(), "\n") < 4 {
		t.Errorf("Validate reports %v, want all five problems", err)
	}
	if _, err := embed.Fit(t.Context(), []embed.Doc{{Text: "one"}, {Text: "two"}}, embed.DefaultFitConfig(), be); err == nil {
		t.Error("Fit where no term reaches MinDF: no error")
	}
}

func TestVocabulary(t *testing.T) {
	t.Parallel()
	docs := []embed.Doc{{Text: "b a c"}, {Text: "a b"}, {Text: "a d d d"}, {Text: "c b e"}, {Text: "d"}}
	cfg := embed.FitConfig{Dim: 2, MinDF: 2, MaxVocab: 3, Oversample: 1, PowerIters: 1, Seed: 1}
	m, err := embed.Fit(t.Context(), docs, cfg, kernels.NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	// df: a 3, b 3, c 2, d 2, e 1 → e dropped (MinDF), cap 3 keeps a, b, then c (tie with d, by term).
	if got, want := m.Terms(), []string{"a", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("vocabulary %q, want %q", got, want)
	}
	idf, ok := m.IDF("c")
	if want := math.Log(6.0/3.0) + 1; !ok || math.Abs(float64(idf)-want) > 1e-6 {
		t.Errorf("idf(c) = %g, want %g", idf, want)
	}
	if m.Dim() != 2 || len(m.SingularValues()) != 2 {
		t.Errorf("dim %d with %d singular values", m.Dim(), len(m.SingularValues()))
	}
	// Vocabulary smaller than Dim: zero-padded projection, still Dim long.
	cfg.Dim = 8
	m, err = embed.Fit(t.Context(), docs, cfg, kernels.NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	out := encodeAll(t, m, []embed.Doc{{Text: "a c"}})
	if len(out) != 8 {
		t.Fatalf("len %d", len(out))
	}
}
