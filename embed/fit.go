package embed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"

	"github.com/vectorstream/vectorstream/kernels"
)

// Doc is one document to fit on or encode.
type Doc struct {
	// Text is the document's text.
	Text string
	// Lang is a BCP-47-like locale ("en-US", "tr-TR"); Turkic locales select
	// Turkish case rules in the tokenizer (see Tokenize).
	Lang string
}

// FitConfig configures Fit. The zero value is not valid; start from
// DefaultFitConfig.
//
// Its YAML and JSON keys are those of a scenario's `embedding:` section; the seed is
// the scenario's own.
type FitConfig struct {
	// Dim is the embedding dimension (columns of the projection).
	Dim int `yaml:"dimensions" json:"dimensions"`
	// MinDF is the minimum number of documents a term must occur in to
	// enter the vocabulary.
	MinDF int `yaml:"min_df" json:"min_df"`
	// MaxVocab caps the vocabulary: the MaxVocab terms of highest document
	// frequency are kept, ties broken by the term's byte order.
	MaxVocab int `yaml:"max_vocab" json:"max_vocab"`
	// Oversample is the number of extra random directions of the
	// randomized SVD (Halko et al. p).
	Oversample int `yaml:"oversample" json:"oversample"`
	// PowerIters is the number of power (subspace) iterations (Halko q).
	PowerIters int `yaml:"power_iters" json:"power_iters"`
	// Seed seeds the Gaussian test matrix; a fit is deterministic for a
	// given seed, corpus and backend.
	Seed int64 `yaml:"-" json:"-"`
}

// DefaultFitConfig returns Dim 128, MinDF 2, MaxVocab 50000, Oversample 16,
// PowerIters 4, Seed 1. Four power iterations keep the top singular values
// of a TF-IDF catalog (a slowly decaying spectrum) within 1e-3 of the exact
// ones; two leave errors of ~5e-3.
func DefaultFitConfig() FitConfig {
	return FitConfig{Dim: 128, MinDF: 2, MaxVocab: 50000, Oversample: 16, PowerIters: 4, Seed: 1}
}

// Validate reports every problem with c at once.
func (c FitConfig) Validate() error {
	var errs []error
	if c.Dim < 1 || c.Dim > 1<<16 {
		errs = append(errs, fmt.Errorf("dim %d out of range [1, 65536]", c.Dim))
	}
	if c.MinDF < 1 {
		errs = append(errs, fmt.Errorf("min_df %d < 1", c.MinDF))
	}
	if c.MaxVocab < 1 {
		errs = append(errs, fmt.Errorf("max_vocab %d < 1", c.MaxVocab))
	}
	if c.Oversample < 0 {
		errs = append(errs, fmt.Errorf("oversample %d < 0", c.Oversample))
	}
	if c.PowerIters < 0 || c.PowerIters > 100 {
		errs = append(errs, fmt.Errorf("power_iters %d out of range [0, 100]", c.PowerIters))
	}
	return errors.Join(errs...)
}

// Fit builds a model from a catalog: vocabulary, idf, and the randomized
// SVD projection of the row-normalised TF-IDF matrix (see the package
// documentation). be does the sparse and dense products; the small
// factorisations (QR, SVD) run in gonum on the CPU.
func Fit(ctx context.Context, docs []Doc, cfg FitConfig, be kernels.Backend) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("embed: fit config: %w", err)
	}
	if len(docs) == 0 {
		return nil, errors.New("embed: fit: no documents")
	}
	terms, idf, a, err := buildTFIDF(docs, cfg)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embed: fit: %w", err)
	}
	proj, sv, err := randomizedSVD(ctx, a, cfg, be)
	if err != nil {
		return nil, err
	}
	m, err := newModel(terms, idf, cfg.Dim, proj, sv, cfg, len(docs))
	if err != nil {
		return nil, fmt.Errorf("embed: fit: %w", err)
	}
	return m, nil
}

// buildTFIDF tokenizes the catalog once, chooses the vocabulary and returns
// it with its idf and the row-L2-normalised TF-IDF matrix.
func buildTFIDF(docs []Doc, cfg FitConfig) ([]string, []float32, *kernels.CSR, error) {
	type stat struct {
		df   int
		last int32
	}
	index := make(map[string]int32)
	var (
		stats   []stat
		names   []string
		docToks = make([][]int32, len(docs))
		flat    []int32
		tz      tokenizer
	)
	for d, doc := range docs {
		tz.reset(doc.Text, doc.Lang)
		start := len(flat)
		for {
			tok, ok := tz.next()
			if !ok {
				break
			}
			id, found := index[string(tok)]
			if !found {
				id = int32(len(stats))
				name := string(tok)
				index[name] = id
				names = append(names, name)
				stats = append(stats, stat{last: -1})
			}
			if st := &stats[id]; st.last != int32(d) {
				st.last = int32(d)
				st.df++
			}
			flat = append(flat, id)
		}
		docToks[d] = flat[start:len(flat):len(flat)]
	}
	order := make([]int32, 0, len(stats))
	for id, st := range stats {
		if st.df >= cfg.MinDF {
			order = append(order, int32(id))
		}
	}
	slices.SortFunc(order, func(x, y int32) int {
		if c := cmp.Compare(stats[y].df, stats[x].df); c != 0 {
			return c
		}
		return cmp.Compare(names[x], names[y])
	})
	if len(order) > cfg.MaxVocab {
		order = order[:cfg.MaxVocab]
	}
	if len(order) == 0 {
		return nil, nil, nil, fmt.Errorf("embed: fit vocabulary: no term occurs in at least %d of %d documents", cfg.MinDF, len(docs))
	}
	remap := make([]int32, len(stats))
	for i := range remap {
		remap[i] = -1
	}
	terms := make([]string, len(order))
	idf := make([]float32, len(order))
	n := float64(len(docs))
	for newID, old := range order {
		remap[old] = int32(newID)
		terms[newID] = names[old]
		idf[newID] = float32(smoothIDF(n, float64(stats[old].df)))
	}

	a := &kernels.CSR{}
	a.Reset(len(terms))
	counts := make([]int32, len(terms))
	var uniq []int32
	for _, toks := range docToks {
		uniq = uniq[:0]
		for _, old := range toks {
			id := remap[old]
			if id < 0 {
				continue
			}
			if counts[id] == 0 {
				uniq = append(uniq, id)
			}
			counts[id]++
		}
		var ss float64
		start := len(a.Val)
		for _, id := range uniq {
			w := tfWeight(counts[id]) * idf[id]
			counts[id] = 0
			ss += float64(w) * float64(w)
			a.Append(id, w)
		}
		if ss > 0 {
			inv := float32(1 / math.Sqrt(ss))
			for j := start; j < len(a.Val); j++ {
				a.Val[j] *= inv
			}
		}
		a.EndRow()
	}
	return terms, idf, a, nil
}

// smoothIDF is log((1+n)/(1+df)) + 1.
func smoothIDF(n, df float64) float64 { return math.Log((1+n)/(1+df)) + 1 }

var tfTable = func() [64]float32 {
	var t [64]float32
	for i := 1; i < len(t); i++ {
		t[i] = float32(1 + math.Log(float64(i)))
	}
	return t
}()

// tfWeight is the sublinear term frequency 1 + log(tf) for tf >= 1.
func tfWeight(tf int32) float32 {
	if tf < int32(len(tfTable)) {
		return tfTable[tf]
	}
	return float32(1 + math.Log(float64(tf)))
}

// randomizedSVD returns the V×cfg.Dim row-major float32 projection V_k and the
// top singular values of a (Halko, Martinsson & Tropp 2011, Alg. 4.4 applied
// on the vocabulary side):
//
//	Ω      V×l Gaussian (l = Dim+Oversample, at most V), fixed seed
//	Q      = qr((AᵀA)·Ω)
//	repeat PowerIters times: Q = qr((AᵀA)·Q)       (re-orthonormalised each step)
//	G      = Qᵀ(AᵀA)Q  (l×l),  SVD  G = W S Wᵀ,  σ = √S
//	V_k    = Q·W[:, :k]
//
// Every QR is a thin Householder QR of a V×l matrix (gonum lapack64 Geqrf and
// Orgqr), so its cost does not grow with the number of documents; the
// document-sized products run in one fused backend pass (SparseGram). The
// last step is a Rayleigh–Ritz projection: singular values come from the
// l×l matrix G, which carries absolute error ~ε·σ₁², negligible for the
// directions an embedding keeps.
func randomizedSVD(ctx context.Context, a *kernels.CSR, cfg FitConfig, be kernels.Backend) ([]float32, []float64, error) {
	v := a.Cols
	l := min(cfg.Dim+cfg.Oversample, v)
	k := min(cfg.Dim, l)
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15))
	q := kernels.NewDense(v, l)
	for i := range q.Data {
		q.Data[i] = rng.NormFloat64()
	}
	y := kernels.NewDense(v, l)
	tau := make([]float64, l)
	var work []float64
	orth := func(m kernels.Dense) {
		g := blas64.General{Rows: m.Rows, Cols: m.Cols, Stride: m.Cols, Data: m.Data}
		lw := []float64{0}
		lapack64.Geqrf(g, tau, lw, -1)
		need := int(lw[0])
		lapack64.Orgqr(g, tau, lw, -1)
		need = max(need, int(lw[0]), m.Cols)
		if len(work) < need {
			work = make([]float64, need)
		}
		lapack64.Geqrf(g, tau, work, len(work))
		lapack64.Orgqr(g, tau, work, len(work))
	}
	for it := 0; it <= cfg.PowerIters; it++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("embed: fit svd: %w", err)
		}
		if err := be.SparseGram(a, q, y); err != nil {
			return nil, nil, fmt.Errorf("embed: fit svd: power iteration %d: %w", it, err)
		}
		q, y = y, q
		orth(q)
	}
	if err := be.SparseGram(a, q, y); err != nil {
		return nil, nil, fmt.Errorf("embed: fit svd: rayleigh-ritz: %w", err)
	}
	g := kernels.NewDense(l, l)
	if err := be.Gemm(true, false, q, y, g); err != nil {
		return nil, nil, fmt.Errorf("embed: fit svd: small matrix: %w", err)
	}
	for i := 0; i < l; i++ { // symmetrise rounding noise
		for j := i + 1; j < l; j++ {
			s := (g.Data[i*l+j] + g.Data[j*l+i]) / 2
			g.Data[i*l+j], g.Data[j*l+i] = s, s
		}
	}
	var svd mat.SVD
	if !svd.Factorize(mat.NewDense(l, l, g.Data), mat.SVDThinU) {
		return nil, nil, errors.New("embed: fit svd: small SVD did not converge")
	}
	vals := svd.Values(nil)
	var w mat.Dense
	svd.UTo(&w)
	wk := kernels.NewDense(l, k)
	for i := 0; i < l; i++ {
		for j := 0; j < k; j++ {
			wk.Data[i*k+j] = w.At(i, j)
		}
	}
	vk := kernels.NewDense(v, k)
	if err := be.Gemm(false, false, q, wk, vk); err != nil {
		return nil, nil, fmt.Errorf("embed: fit svd: basis: %w", err)
	}
	sv := make([]float64, k)
	for j := range sv {
		sv[j] = math.Sqrt(max(vals[j], 0))
	}
	// Fix each column's sign: its largest-magnitude entry is positive.
	for j := 0; j < k; j++ {
		best, bi := -1.0, 0
		for i := 0; i < v; i++ {
			if av := math.Abs(vk.Data[i*k+j]); av > best {
				best, bi = av, i
			}
		}
		if vk.Data[bi*k+j] < 0 {
			for i := 0; i < v; i++ {
				vk.Data[i*k+j] = -vk.Data[i*k+j]
			}
		}
	}
	dim := cfg.Dim
	proj := make([]float32, v*dim)
	for i := 0; i < v; i++ {
		for j := 0; j < k; j++ {
			proj[i*dim+j] = float32(vk.Data[i*k+j])
		}
	}
	return proj, sv, nil
}
