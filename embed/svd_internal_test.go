package embed

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/vectorstream/vectorstream/kernels"
)

// lowRankPlusNoise returns an n×v matrix U·diag(s)·Vᵀ + noise·G as dense
// and CSR (every entry stored).
func lowRankPlusNoise(r *rand.Rand, n, v, rank int, noise float64) (*mat.Dense, *kernels.CSR) {
	u, w := mat.NewDense(n, rank, nil), mat.NewDense(rank, v, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < rank; j++ {
			u.Set(i, j, r.NormFloat64()*math.Pow(0.85, float64(j)))
		}
	}
	for i := 0; i < rank; i++ {
		for j := 0; j < v; j++ {
			w.Set(i, j, r.NormFloat64())
		}
	}
	var a mat.Dense
	a.Mul(u, w)
	csr := &kernels.CSR{}
	csr.Reset(v)
	for i := 0; i < n; i++ {
		for j := 0; j < v; j++ {
			x := float32(a.At(i, j) + noise*r.NormFloat64())
			a.Set(i, j, float64(x)) // the dense copy holds what the CSR holds
			csr.Append(int32(j), x)
		}
		csr.EndRow()
	}
	return &a, csr
}

// TestRandomizedSVDMatchesExact compares the randomized SVD with gonum's
// exact SVD on a low-rank-plus-noise matrix: the top singular values agree
// to 1e-3 relative and the top singular vectors span the same directions.
func TestRandomizedSVDMatchesExact(t *testing.T) {
	t.Parallel()
	const n, v, rank, k = 300, 200, 20, 10
	r := rand.New(rand.NewPCG(42, 1))
	dense, csr := lowRankPlusNoise(r, n, v, rank, 0.05)
	var exact mat.SVD
	if !exact.Factorize(dense, mat.SVDThin) {
		t.Fatal("exact SVD did not converge")
	}
	want := exact.Values(nil)
	var vExact mat.Dense
	exact.VTo(&vExact)

	cfg := FitConfig{Dim: k, MinDF: 1, MaxVocab: v, Oversample: 10, PowerIters: 2, Seed: 7}
	proj, sv, err := randomizedSVD(t.Context(), csr, cfg, kernels.NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < k; j++ {
		rel := math.Abs(sv[j]-want[j]) / want[j]
		t.Logf("σ%-2d exact %.6f randomized %.6f rel %.2e", j, want[j], sv[j], rel)
		if !(rel <= 1e-3) {
			t.Errorf("σ%d: randomized %g, exact %g, relative error %.2e > 1e-3", j, sv[j], want[j], rel)
		}
		// |<v_j, v_j exact>| ≈ 1 where the spectrum is well separated.
		var dot float64
		for i := 0; i < v; i++ {
			dot += float64(proj[i*k+j]) * vExact.At(i, j)
		}
		if gap := (want[j] - want[j+1]) / want[j]; gap > 0.05 && math.Abs(dot) < 0.99 {
			t.Errorf("v%d: |cos| with the exact singular vector = %.4f (gap %.3f)", j, math.Abs(dot), gap)
		}
	}
}

// TestRandomizedSVDNoPowerIterationsIsWorse guards the comparison above: on
// a slowly decaying spectrum, skipping power iterations and oversampling must
// measurably hurt, so the 1e-3 test can fail.
func TestRandomizedSVDNoPowerIterationsIsWorse(t *testing.T) {
	t.Parallel()
	const n, v, k = 300, 200, 10
	r := rand.New(rand.NewPCG(43, 1))
	dense, csr := lowRankPlusNoise(r, n, v, 60, 0.5)
	var exact mat.SVD
	if !exact.Factorize(dense, mat.SVDNone) {
		t.Fatal("exact SVD did not converge")
	}
	want := exact.Values(nil)
	cfg := FitConfig{Dim: k, MinDF: 1, MaxVocab: v, Oversample: 0, PowerIters: 0, Seed: 7}
	_, sv, err := randomizedSVD(t.Context(), csr, cfg, kernels.NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for j := 0; j < k; j++ {
		worst = max(worst, math.Abs(sv[j]-want[j])/want[j])
	}
	t.Logf("q=0 p=0: worst relative error of the top %d singular values %.2e", k, worst)
	if worst <= 1e-3 {
		t.Errorf("without power iterations the worst relative error is %.2e ≤ 1e-3: the accuracy test cannot tell", worst)
	}
}
