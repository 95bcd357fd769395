package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/vectorstream/vectorstream/kernels"
)

// Awkward sizes every backend must handle.
var (
	suiteRows = []int{1, 3, 17, 129, 1000}
	suiteDims = []int{1, 7, 64, 128, 130}
)

// Run is the conformance suite for a kernels.Backend. newBackend is called
// once per subtest; the backend is closed at the end of it. Every call gets
// fresh random inputs and an output poisoned with NaN, and is compared with
// the naive references in this package.
func Run(t *testing.T, newBackend func() kernels.Backend) {
	t.Helper()
	with := func(name string, f func(t *testing.T, be kernels.Backend, r *rand.Rand)) {
		t.Run(name, func(t *testing.T) {
			be := newBackend()
			t.Cleanup(func() {
				if err := be.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			if be.Name() == "" {
				t.Error("Name() is empty")
			}
			f(t, be, rand.New(rand.NewPCG(uint64(len(name)), 0x5eed)))
		})
	}
	with("SparseProject", testSparseProject)
	with("SparseProjectErrors", testSparseProjectErrors)
	with("SparseProjectConcurrent", testSparseProjectConcurrent)
	with("NormalizeRows", testNormalizeRows)
	with("SparseMulDense", testSparseMulDense)
	with("SparseTMulDense", testSparseTMulDense)
	with("SparseGram", testSparseGram)
	with("Gemm", testGemm)
}

func poison32(x []float32) {
	for i := range x {
		x[i] = float32(math.NaN())
	}
}

func poison64(x []float64) {
	for i := range x {
		x[i] = math.NaN()
	}
}

// projBound returns, per output element, sum |a_ij * p_jd|: the scale of the
// rounding error a float32 implementation may make.
func projBound(a *kernels.CSR, p []float32, cols int) []float64 {
	abs := &kernels.CSR{Rows: a.Rows, Cols: a.Cols, RowPtr: a.RowPtr, ColIdx: a.ColIdx, Val: make([]float32, len(a.Val))}
	for i, v := range a.Val {
		abs.Val[i] = float32(math.Abs(float64(v)))
	}
	pa := make([]float32, len(p))
	for i, v := range p {
		pa[i] = float32(math.Abs(float64(v)))
	}
	out := make([]float32, a.Rows*cols)
	NaiveProject(abs, pa, cols, out)
	b := make([]float64, len(out))
	for i, v := range out {
		b[i] = float64(v)
	}
	return b
}

func testSparseProject(t *testing.T, be kernels.Backend, r *rand.Rand) {
	for _, rows := range suiteRows {
		for _, dim := range suiteDims {
			vocab := []int{1, 37, 500}[r.IntN(3)]
			a := RandomCSR(r, rows, vocab, 8, 0.2)
			if rows >= 3 {
				// Guarantee at least one empty row.
				a = withEmptyRow(a, 1)
			}
			p := RandomFloat32(r, vocab*dim)
			proj, err := be.NewProjection(p, vocab, dim)
			if err != nil {
				t.Fatalf("NewProjection(%d×%d): %v", vocab, dim, err)
			}
			if proj.Rows() != vocab || proj.Cols() != dim {
				t.Errorf("projection is %d×%d, want %d×%d", proj.Rows(), proj.Cols(), vocab, dim)
			}
			want := make([]float32, rows*dim)
			NaiveProject(a, p, dim, want)
			bound := projBound(a, p, dim)
			// Two calls on the same projection with fresh poison each time:
			// backends may keep device buffers between calls.
			for call := 0; call < 2; call++ {
				got := make([]float32, rows*dim)
				poison32(got)
				if err := be.SparseProject(proj, a, got); err != nil {
					t.Fatalf("SparseProject rows=%d dim=%d: %v", rows, dim, err)
				}
				for i := range got {
					tol := 1e-5*bound[i] + 1e-6
					if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol) {
						t.Fatalf("SparseProject rows=%d dim=%d vocab=%d call %d: out[%d]=%g, want %g (tol %g)", rows, dim, vocab, call, i, got[i], want[i], tol)
					}
				}
				for i := 0; i < a.Rows; i++ {
					if a.RowPtr[i] == a.RowPtr[i+1] {
						for _, v := range got[i*dim : i*dim+dim] {
							if v != 0 {
								t.Fatalf("empty row %d projected to non-zero %g", i, v)
							}
						}
					}
				}
			}
			if err := proj.Close(); err != nil {
				t.Fatalf("projection Close: %v", err)
			}
		}
	}
	// Zero rows: nothing to do, no error.
	proj, err := be.NewProjection(RandomFloat32(r, 4*3), 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer proj.Close()
	empty := &kernels.CSR{}
	empty.Reset(4)
	if err := be.SparseProject(proj, empty, nil); err != nil {
		t.Errorf("SparseProject of zero rows: %v", err)
	}
}

// withEmptyRow returns a copy of a whose row i has no entries.
func withEmptyRow(a *kernels.CSR, i int) *kernels.CSR {
	b := &kernels.CSR{}
	b.Reset(a.Cols)
	for r := 0; r < a.Rows; r++ {
		if r != i {
			for j := a.RowPtr[r]; j < a.RowPtr[r+1]; j++ {
				b.Append(a.ColIdx[j], a.Val[j])
			}
		}
		b.EndRow()
	}
	return b
}

func testSparseProjectErrors(t *testing.T, be kernels.Backend, r *rand.Rand) {
	if _, err := be.NewProjection(make([]float32, 5), 2, 3); err == nil {
		t.Error("NewProjection with 5 values for 2×3: no error")
	}
	proj, err := be.NewProjection(RandomFloat32(r, 10*4), 10, 4)
	if err != nil {
		t.Fatal(err)
	}
	a := RandomCSR(r, 3, 10, 2, 0)
	if err := be.SparseProject(proj, a, make([]float32, 3*4-1)); err == nil {
		t.Error("SparseProject with short out: no error")
	}
	wrong := RandomCSR(r, 3, 11, 2, 0)
	if err := be.SparseProject(proj, wrong, make([]float32, 3*4)); err == nil {
		t.Error("SparseProject with A.Cols != projection rows: no error")
	}
	if err := proj.Close(); err != nil {
		t.Fatal(err)
	}
	if err := be.SparseProject(proj, a, make([]float32, 3*4)); err == nil {
		t.Error("SparseProject on a closed projection: no error")
	}
	if err := be.NormalizeRows(make([]float32, 7), 3); err == nil {
		t.Error("NormalizeRows of 7 values in rows of 3: no error")
	}
}

func testSparseProjectConcurrent(t *testing.T, be kernels.Backend, r *rand.Rand) {
	const vocab, dim, workers = 300, 64, 4
	p := RandomFloat32(r, vocab*dim)
	proj, err := be.NewProjection(p, vocab, dim)
	if err != nil {
		t.Fatal(err)
	}
	defer proj.Close()
	inputs := make([]*kernels.CSR, workers)
	wants := make([][]float32, workers)
	for w := range inputs {
		inputs[w] = RandomCSR(r, 50, vocab, 6, 0.1)
		wants[w] = make([]float32, 50*dim)
		NaiveProject(inputs[w], p, dim, wants[w])
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			out := make([]float32, 50*dim)
			for it := 0; it < 5; it++ {
				poison32(out)
				if err := be.SparseProject(proj, inputs[w], out); err != nil {
					errs[w] = err
					return
				}
				for i := range out {
					if d := math.Abs(float64(out[i] - wants[w][i])); !(d <= 1e-3) {
						errs[w] = fmt.Errorf("worker %d: out[%d]=%g want %g", w, i, out[i], wants[w][i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func testNormalizeRows(t *testing.T, be kernels.Backend, r *rand.Rand) {
	for _, rows := range suiteRows {
		for _, dim := range suiteDims {
			x := RandomFloat32(r, rows*dim)
			// A zero row, a huge row and a tiny row where there is room.
			clear(x[:dim])
			if rows >= 3 {
				for j := dim; j < 2*dim; j++ {
					x[j] *= 1e30
				}
				for j := 2 * dim; j < 3*dim; j++ {
					x[j] *= 1e-30
				}
			}
			want := append([]float32(nil), x...)
			NaiveNormalizeRows(want, dim)
			if err := be.NormalizeRows(x, dim); err != nil {
				t.Fatalf("NormalizeRows rows=%d dim=%d: %v", rows, dim, err)
			}
			for i := 0; i < rows; i++ {
				var s float64
				for j := i * dim; j < i*dim+dim; j++ {
					if d := math.Abs(float64(x[j] - want[j])); !(d <= 1e-6) {
						t.Fatalf("NormalizeRows rows=%d dim=%d: x[%d]=%g, want %g", rows, dim, j, x[j], want[j])
					}
					s += float64(x[j]) * float64(x[j])
				}
				wantNorm := 1.0
				if i == 0 {
					wantNorm = 0
				}
				if math.Abs(math.Sqrt(s)-wantNorm) > 1e-5 {
					t.Fatalf("NormalizeRows rows=%d dim=%d: row %d has norm %g, want %g", rows, dim, i, math.Sqrt(s), wantNorm)
				}
			}
		}
	}
}

func denseTol(got, want, bound []float64, what string, t *testing.T) {
	t.Helper()
	for i := range got {
		tol := 1e-12*bound[i] + 1e-12
		if d := math.Abs(got[i] - want[i]); !(d <= tol) {
			t.Fatalf("%s: out[%d]=%g, want %g (tol %g)", what, i, got[i], want[i], tol)
		}
	}
}

func absCSR(a *kernels.CSR) *kernels.CSR {
	b := *a
	b.Val = make([]float32, len(a.Val))
	for i, v := range a.Val {
		b.Val[i] = float32(math.Abs(float64(v)))
	}
	return &b
}

func absDense(d kernels.Dense) kernels.Dense {
	e := kernels.NewDense(d.Rows, d.Cols)
	for i, v := range d.Data {
		e.Data[i] = math.Abs(v)
	}
	return e
}

func testSparseMulDense(t *testing.T, be kernels.Backend, r *rand.Rand) {
	for _, rows := range suiteRows {
		for _, k := range suiteDims {
			vocab := []int{1, 37, 500}[r.IntN(3)]
			a := RandomCSR(r, rows, vocab, 8, 0.2)
			b := RandomDense(r, vocab, k)
			want, bound := kernels.NewDense(rows, k), kernels.NewDense(rows, k)
			NaiveSparseMulDense(a, b, want)
			NaiveSparseMulDense(absCSR(a), absDense(b), bound)
			got := kernels.NewDense(rows, k)
			poison64(got.Data)
			if err := be.SparseMulDense(a, b, got); err != nil {
				t.Fatalf("SparseMulDense rows=%d k=%d: %v", rows, k, err)
			}
			denseTol(got.Data, want.Data, bound.Data, fmt.Sprintf("SparseMulDense rows=%d k=%d", rows, k), t)
		}
	}
	a := RandomCSR(r, 3, 5, 2, 0)
	if err := be.SparseMulDense(a, kernels.NewDense(4, 2), kernels.NewDense(3, 2)); err == nil {
		t.Error("SparseMulDense with B.Rows != A.Cols: no error")
	}
}

func testSparseTMulDense(t *testing.T, be kernels.Backend, r *rand.Rand) {
	for _, rows := range suiteRows {
		for _, k := range suiteDims {
			vocab := []int{1, 37, 500}[r.IntN(3)]
			a := RandomCSR(r, rows, vocab, 8, 0.2)
			b := RandomDense(r, rows, k)
			want, bound := kernels.NewDense(vocab, k), kernels.NewDense(vocab, k)
			NaiveSparseTMulDense(a, b, want)
			NaiveSparseTMulDense(absCSR(a), absDense(b), bound)
			got := kernels.NewDense(vocab, k)
			poison64(got.Data)
			if err := be.SparseTMulDense(a, b, got); err != nil {
				t.Fatalf("SparseTMulDense rows=%d k=%d: %v", rows, k, err)
			}
			denseTol(got.Data, want.Data, bound.Data, fmt.Sprintf("SparseTMulDense rows=%d k=%d", rows, k), t)
		}
	}
	a := RandomCSR(r, 3, 5, 2, 0)
	if err := be.SparseTMulDense(a, kernels.NewDense(3, 2), kernels.NewDense(4, 2)); err == nil {
		t.Error("SparseTMulDense with out.Rows != A.Cols: no error")
	}
}

func testSparseGram(t *testing.T, be kernels.Backend, r *rand.Rand) {
	for _, rows := range suiteRows {
		for _, k := range suiteDims {
			vocab := []int{1, 37, 500}[r.IntN(3)]
			a := RandomCSR(r, rows, vocab, 8, 0.2)
			b := RandomDense(r, vocab, k)
			mid, want := kernels.NewDense(rows, k), kernels.NewDense(vocab, k)
			NaiveSparseMulDense(a, b, mid)
			NaiveSparseTMulDense(a, mid, want)
			aa, midAbs, bound := absCSR(a), kernels.NewDense(rows, k), kernels.NewDense(vocab, k)
			NaiveSparseMulDense(aa, absDense(b), midAbs)
			NaiveSparseTMulDense(aa, midAbs, bound)
			got := kernels.NewDense(vocab, k)
			poison64(got.Data)
			if err := be.SparseGram(a, b, got); err != nil {
				t.Fatalf("SparseGram rows=%d k=%d: %v", rows, k, err)
			}
			denseTol(got.Data, want.Data, bound.Data, fmt.Sprintf("SparseGram rows=%d k=%d", rows, k), t)
		}
	}
	a := RandomCSR(r, 3, 5, 2, 0)
	if err := be.SparseGram(a, kernels.NewDense(4, 2), kernels.NewDense(5, 2)); err == nil {
		t.Error("SparseGram with B.Rows != A.Cols: no error")
	}
}

func testGemm(t *testing.T, be kernels.Backend, r *rand.Rand) {
	sizes := []int{1, 3, 17, 129}
	for _, m := range sizes {
		for _, n := range []int{1, 7, 130} {
			for _, k := range []int{1, 64, 129} {
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					ar, ac := m, k
					if tr[0] {
						ar, ac = k, m
					}
					br, bc := k, n
					if tr[1] {
						br, bc = n, k
					}
					a, b := RandomDense(r, ar, ac), RandomDense(r, br, bc)
					want, bound := kernels.NewDense(m, n), kernels.NewDense(m, n)
					NaiveGemm(tr[0], tr[1], a, b, want)
					NaiveGemm(tr[0], tr[1], absDense(a), absDense(b), bound)
					got := kernels.NewDense(m, n)
					poison64(got.Data)
					if err := be.Gemm(tr[0], tr[1], a, b, got); err != nil {
						t.Fatalf("Gemm m=%d n=%d k=%d trans=%v: %v", m, n, k, tr, err)
					}
					denseTol(got.Data, want.Data, bound.Data, fmt.Sprintf("Gemm m=%d n=%d k=%d trans=%v", m, n, k, tr), t)
				}
			}
		}
	}
	if err := be.Gemm(false, false, kernels.NewDense(2, 3), kernels.NewDense(4, 2), kernels.NewDense(2, 2)); err == nil {
		t.Error("Gemm with inner dimensions 3 and 4: no error")
	}
}
