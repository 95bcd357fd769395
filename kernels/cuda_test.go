//go:build cuda && cgo

package kernels_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vectorstream/vectorstream/kernels"
	"github.com/vectorstream/vectorstream/kernels/kerneltest"
)

// newCUDA returns a CUDA backend closed at the end of the test, or skips
// the test, saying why, when no device answers.
func newCUDA(t testing.TB) kernels.Backend {
	t.Helper()
	be, sel, err := kernels.Select(kernels.KindCUDA)
	if err != nil {
		t.Skipf("no CUDA device: %v", err)
	}
	t.Logf("%v", sel)
	t.Cleanup(func() {
		if err := be.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return be
}

func TestCUDAConformance(t *testing.T) {
	newCUDA(t) // skips without a device
	kerneltest.Run(t, func() kernels.Backend {
		be, _, err := kernels.Select(kernels.KindCUDA)
		if err != nil {
			t.Fatalf("Select(cuda): %v", err)
		}
		return be
	})
}

func TestCUDASelect(t *testing.T) {
	be, sel, err := kernels.Select("cuda")
	auto, asel, aerr := kernels.Select("auto")
	if aerr != nil {
		t.Fatalf(`Select("auto"): %v`, aerr)
	}
	defer auto.Close()
	t.Logf("cuda: %v (err %v); auto: %v", sel, err, asel)
	if err != nil {
		if be != nil || !errors.Is(err, kernels.ErrNoDevice) {
			t.Fatalf(`Select("cuda") = %v, %v; want nil and an error wrapping ErrNoDevice`, be, err)
		}
		if !strings.HasPrefix(sel.Reason, "cuda: no CUDA device: ") || sel.Backend != "" {
			t.Errorf("Selection %+v", sel)
		}
		if kernels.CUDAAvailable() {
			t.Error("CUDAAvailable() = true, but Select failed")
		}
		if asel.Backend != "cpu" || auto.Name() != "cpu" || asel.Reason != sel.Reason {
			t.Errorf(`Select("auto") = %+v, want cpu because %q`, asel, sel.Reason)
		}
		return
	}
	defer be.Close()
	if !kernels.CUDAAvailable() || be.Name() != "cuda" || asel.Backend != "cuda" || sel.Device == nil {
		t.Fatalf("a device answered, but: CUDAAvailable=%v name=%q auto=%+v sel=%+v", kernels.CUDAAvailable(), be.Name(), asel, sel)
	}
	d := sel.Device
	if d.Name == "" || d.TotalBytes <= 0 || d.UsedBytes <= 0 || d.UsedBytes > d.TotalBytes || d.Multiprocessors <= 0 || d.DriverVersion <= 0 {
		t.Errorf("device info %+v", d)
	}
}

// TestCUDADeviceMemory checks that the backend reports the memory it holds.
func TestCUDADeviceMemory(t *testing.T) {
	be := newCUDA(t)
	dr := be.(kernels.DeviceReporter)
	before := dr.Device()
	r := rand.New(rand.NewPCG(1, 1))
	const vocab, dim = 100000, 128
	proj, err := be.NewProjection(kerneltest.RandomFloat32(r, vocab*dim), vocab, dim)
	if err != nil {
		t.Fatal(err)
	}
	a := kerneltest.RandomCSR(r, 4096, vocab, 8, 0.01)
	if err := be.SparseProject(proj, a, make([]float32, 4096*dim)); err != nil {
		t.Fatal(err)
	}
	after := dr.Device()
	t.Logf("before: %v", before)
	t.Logf("after:  %v", after)
	if grew := after.BackendBytes - before.BackendBytes; grew < vocab*dim*4 {
		t.Errorf("backend memory grew by %d bytes, want at least the projection's %d", grew, vocab*dim*4)
	}
	if after.PinnedHostBytes <= 0 || after.UsedBytes < after.BackendBytes {
		t.Errorf("pinned %d, used %d, backend %d", after.PinnedHostBytes, after.UsedBytes, after.BackendBytes)
	}
	if err := proj.Close(); err != nil {
		t.Fatal(err)
	}
	if closed := dr.Device(); closed.BackendBytes != after.BackendBytes-int64(vocab*dim*4) {
		t.Errorf("after closing the projection the backend holds %d bytes, want %d", closed.BackendBytes, after.BackendBytes-int64(vocab*dim*4))
	}
}

// relErr is ‖got−want‖/‖want‖ over float64 values (0 when both are zero).
func relErr(got, want []float64) float64 {
	var num, den float64
	for i := range want {
		d := got[i] - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

func f64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
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

// TestCUDAMatchesCPU compares every CUDA kernel with the CPU backend on
// fresh random inputs of awkward sizes (not multiples of the block or tile
// sizes, one row, empty rows, more columns than one tile), outputs poisoned
// before each run: ‖gpu−cpu‖/‖cpu‖ < 1e-5 for float32 results and < 1e-12
// for float64 ones.
func TestCUDAMatchesCPU(t *testing.T) {
	gpu := newCUDA(t)
	cpu := kernels.NewCPU()
	r := rand.New(rand.NewPCG(2026, 7))
	rowsList := []int{1, 2, 31, 33, 257, 4099}
	dims := []int{1, 31, 64, 100, 128, 255, 256, 257, 300, 513}
	for _, rows := range rowsList {
		for _, dim := range dims {
			vocab := 1 + r.IntN(3000)
			a := kerneltest.RandomCSR(r, rows, vocab, 1+r.IntN(40), 0.15)
			name := fmt.Sprintf("rows=%d/dim=%d/vocab=%d/nnz=%d", rows, dim, vocab, len(a.Val))
			t.Run(name, func(t *testing.T) {
				p := kerneltest.RandomFloat32(r, vocab*dim)
				cp, err := cpu.NewProjection(p, vocab, dim)
				if err != nil {
					t.Fatal(err)
				}
				gp, err := gpu.NewProjection(p, vocab, dim)
				if err != nil {
					t.Fatal(err)
				}
				defer gp.Close()
				for _, fused := range []bool{false, true} {
					want, got := make([]float32, rows*dim), make([]float32, rows*dim)
					poison32(want)
					poison32(got)
					run := func(be kernels.Backend, pr kernels.Projection, out []float32) error {
						if fused {
							return kernels.ProjectNormalize(be, pr, a, out)
						}
						return be.SparseProject(pr, a, out)
					}
					if err := run(cpu, cp, want); err != nil {
						t.Fatal(err)
					}
					if err := run(gpu, gp, got); err != nil {
						t.Fatalf("cuda (fused=%v): %v", fused, err)
					}
					if e := relErr(f64(got), f64(want)); !(e < 1e-5) {
						t.Errorf("project (normalised=%v): relative error %g", fused, e)
					}
				}
				x := kerneltest.RandomFloat32(r, rows*dim)
				clear(x[:dim])
				want, got := append([]float32(nil), x...), append([]float32(nil), x...)
				if err := cpu.NormalizeRows(want, dim); err != nil {
					t.Fatal(err)
				}
				if err := gpu.NormalizeRows(got, dim); err != nil {
					t.Fatal(err)
				}
				if e := relErr(f64(got), f64(want)); !(e < 1e-5) {
					t.Errorf("normalize: relative error %g", e)
				}

				k := dim
				compare := func(what string, f func(be kernels.Backend, out kernels.Dense) error, outRows int) {
					t.Helper()
					want, got := kernels.NewDense(outRows, k), kernels.NewDense(outRows, k)
					poison64(want.Data)
					poison64(got.Data)
					if err := f(cpu, want); err != nil {
						t.Fatalf("%s on cpu: %v", what, err)
					}
					if err := f(gpu, got); err != nil {
						t.Fatalf("%s on cuda: %v", what, err)
					}
					if e := relErr(got.Data, want.Data); !(e < 1e-12) {
						t.Errorf("%s: relative error %g", what, e)
					}
				}
				bv := kerneltest.RandomDense(r, vocab, k)
				br := kerneltest.RandomDense(r, rows, k)
				compare("SparseMulDense", func(be kernels.Backend, out kernels.Dense) error { return be.SparseMulDense(a, bv, out) }, rows)
				compare("SparseTMulDense", func(be kernels.Backend, out kernels.Dense) error { return be.SparseTMulDense(a, br, out) }, vocab)
				compare("SparseGram", func(be kernels.Backend, out kernels.Dense) error { return be.SparseGram(a, bv, out) }, vocab)
			})
		}
	}
}

// TestCUDAGemmMatchesCPU covers the fit's shapes: the tall-skinny Qᵀ·Y
// (split over K) and Q·W, plus awkward small ones.
func TestCUDAGemmMatchesCPU(t *testing.T) {
	gpu := newCUDA(t)
	cpu := kernels.NewCPU()
	r := rand.New(rand.NewPCG(5, 5))
	for _, tc := range []struct {
		m, n, k        int
		transA, transB bool
	}{
		{1, 1, 1, false, false},
		{138, 138, 20011, true, false},  // Qᵀ·Y, V = 20011
		{20011, 128, 138, false, false}, // Q·W
		{65, 63, 17, false, true},
		{130, 1, 4097, true, true},
		{1000, 300, 3, false, false},
	} {
		ar, ac := tc.m, tc.k
		if tc.transA {
			ar, ac = ac, ar
		}
		br, bc := tc.k, tc.n
		if tc.transB {
			br, bc = bc, br
		}
		a, b := kerneltest.RandomDense(r, ar, ac), kerneltest.RandomDense(r, br, bc)
		want, got := kernels.NewDense(tc.m, tc.n), kernels.NewDense(tc.m, tc.n)
		poison64(want.Data)
		poison64(got.Data)
		if err := cpu.Gemm(tc.transA, tc.transB, a, b, want); err != nil {
			t.Fatal(err)
		}
		if err := gpu.Gemm(tc.transA, tc.transB, a, b, got); err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		if e := relErr(got.Data, want.Data); !(e < 1e-12) {
			t.Errorf("Gemm %+v: relative error %g", tc, e)
		}
	}
}

// TestCUDABadInputKeepsContext sends a column index out of range: the call
// must fail as a shape error, before the device reads out of bounds, and
// the backend must keep working.
func TestCUDABadInputKeepsContext(t *testing.T) {
	be := newCUDA(t)
	r := rand.New(rand.NewPCG(9, 9))
	const vocab, dim = 100, 32
	p := kerneltest.RandomFloat32(r, vocab*dim)
	proj, err := be.NewProjection(p, vocab, dim)
	if err != nil {
		t.Fatal(err)
	}
	defer proj.Close()
	a := kerneltest.RandomCSR(r, 10, vocab, 4, 0)
	bad := *a
	bad.ColIdx = append([]int32(nil), a.ColIdx...)
	bad.ColIdx[len(bad.ColIdx)-1] = 1 << 30
	if err := be.SparseProject(proj, &bad, make([]float32, 10*dim)); !errors.Is(err, kernels.ErrShape) {
		t.Fatalf("column out of range: err = %v, want ErrShape", err)
	}
	checkProject(t, be, proj, a, p, dim)
}

// TestCUDAFallbackMidRun fails the CUDA backend's third call through the
// error-injecting wrapper: the Fallback must finish the run on CPU with the
// projection made on the device.
func TestCUDAFallbackMidRun(t *testing.T) {
	be := newCUDA(t)
	faulty := kerneltest.NewFaulty(be, 3)
	var fellBack int
	fb := kernels.NewFallback(faulty, func(error) { fellBack++ })
	r := rand.New(rand.NewPCG(4, 4))
	const vocab, dim = 500, 64
	p := kerneltest.RandomFloat32(r, vocab*dim)
	proj, err := fb.NewProjection(p, vocab, dim)
	if err != nil {
		t.Fatal(err)
	}
	defer proj.Close()
	a := kerneltest.RandomCSR(r, 77, vocab, 6, 0.1)
	for call := 1; call <= 6; call++ {
		if call == 3 {
			if err := fb.SparseProject(proj, a, make([]float32, 77*dim)); !errors.Is(err, kernels.ErrFellBack) {
				t.Fatalf("call 3: %v, want ErrFellBack", err)
			}
			continue
		}
		wantName := "cuda"
		if call > 3 {
			wantName = "cpu"
		}
		if fb.Name() != wantName {
			t.Fatalf("call %d: Name = %q, want %q", call, fb.Name(), wantName)
		}
		checkProject(t, fb, proj, a, p, dim)
	}
	if fellBack != 1 {
		t.Errorf("onFallback called %d times", fellBack)
	}
}
