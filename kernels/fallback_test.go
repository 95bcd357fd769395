package kernels_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vectorstream/vectorstream/kernels"
	"github.com/vectorstream/vectorstream/kernels/kerneltest"
)

func TestFallbackConformance(t *testing.T) {
	kerneltest.Run(t, func() kernels.Backend {
		return kernels.NewFallback(kerneltest.NewFaulty(kernels.NewCPU(), 0), nil)
	})
}

// TestFallbackConformanceAfterSwitch runs the suite on a Fallback whose
// primary has already failed: everything runs on CPU.
func TestFallbackConformanceAfterSwitch(t *testing.T) {
	kerneltest.Run(t, func() kernels.Backend {
		fb := kernels.NewFallback(kerneltest.NewFaulty(kernels.NewCPU(), 1), nil)
		if err := fb.NormalizeRows(make([]float32, 4), 2); !errors.Is(err, kernels.ErrFellBack) {
			t.Fatalf("first call: %v, want ErrFellBack", err)
		}
		return fb
	})
}

func checkProject(t *testing.T, be kernels.Backend, proj kernels.Projection, a *kernels.CSR, p []float32, dim int) {
	t.Helper()
	want := make([]float32, a.Rows*dim)
	kerneltest.NaiveProject(a, p, dim, want)
	got := make([]float32, a.Rows*dim)
	for i := range got {
		got[i] = float32(math.NaN())
	}
	if err := be.SparseProject(proj, a, got); err != nil {
		t.Fatalf("SparseProject: %v", err)
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-3) {
			t.Fatalf("out[%d] = %g, want %g", i, got[i], want[i])
		}
	}
}

func TestFallbackFailNthCall(t *testing.T) {
	for _, tc := range []struct {
		name   string
		failAt int
		opts   []kerneltest.FaultyOpt
	}{
		{"first call, sticky", 1, nil},
		{"third call, sticky", 3, nil},
		{"third call, transient", 3, []kerneltest.FaultyOpt{kerneltest.Transient()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(tc.failAt)))
			faulty := kerneltest.NewFaulty(kernels.NewCPU(), tc.failAt, tc.opts...)
			var fallbacks atomic.Int32
			var got error
			fb := kernels.NewFallback(faulty, func(err error) {
				fallbacks.Add(1)
				got = err
			})
			defer func() {
				if err := fb.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			const vocab, dim = 50, 16
			p := kerneltest.RandomFloat32(r, vocab*dim)
			proj, err := fb.NewProjection(p, vocab, dim) // made before the switch
			if err != nil {
				t.Fatal(err)
			}
			defer proj.Close()
			a := kerneltest.RandomCSR(r, 9, vocab, 4, 0.1)
			for call := 1; call < tc.failAt; call++ {
				checkProject(t, fb, proj, a, p, dim)
				if fb.Name() != "cpu" || fb.Cause() != nil {
					t.Fatalf("call %d: Name=%q Cause=%v before any failure", call, fb.Name(), fb.Cause())
				}
			}
			out := make([]float32, a.Rows*dim)
			err = fb.SparseProject(proj, a, out)
			if !errors.Is(err, kernels.ErrFellBack) || !errors.Is(err, kerneltest.ErrInjected) || !errors.Is(err, kernels.ErrDevice) {
				t.Fatalf("call %d: err = %v, want ErrFellBack wrapping the injected device error", tc.failAt, err)
			}
			if n := fallbacks.Load(); n != 1 {
				t.Fatalf("onFallback called %d times, want 1", n)
			}
			if !errors.Is(got, kerneltest.ErrInjected) || !errors.Is(fb.Cause(), kerneltest.ErrInjected) {
				t.Fatalf("onFallback got %v, Cause() = %v; want the injected error", got, fb.Cause())
			}
			// The retry and everything later run on CPU, with the projection
			// made before the switch and with one made after it.
			calls := faulty.Calls()
			for range 3 {
				checkProject(t, fb, proj, a, p, dim)
			}
			p2 := kerneltest.RandomFloat32(r, vocab*dim)
			proj2, err := fb.NewProjection(p2, vocab, dim)
			if err != nil {
				t.Fatal(err)
			}
			checkProject(t, fb, proj2, a, p2, dim)
			if err := proj2.Close(); err != nil {
				t.Fatal(err)
			}
			x := kerneltest.RandomDense(r, 4, 3)
			if err := fb.Gemm(false, false, x, kernels.NewDense(3, 2), kernels.NewDense(4, 2)); err != nil {
				t.Fatalf("Gemm after the switch: %v", err)
			}
			if faulty.Calls() != calls {
				t.Errorf("primary called %d times after the switch", faulty.Calls()-calls)
			}
			if fallbacks.Load() != 1 || fb.Name() != "cpu" {
				t.Errorf("after the switch: %d fallbacks, Name=%q", fallbacks.Load(), fb.Name())
			}
		})
	}
}

func TestFallbackShapeErrorsDoNotSwitch(t *testing.T) {
	faulty := kerneltest.NewFaulty(kernels.NewCPU(), 0)
	called := false
	fb := kernels.NewFallback(faulty, func(error) { called = true })
	defer fb.Close()
	err := fb.NormalizeRows(make([]float32, 7), 3)
	if !errors.Is(err, kernels.ErrShape) || errors.Is(err, kernels.ErrFellBack) {
		t.Fatalf("err = %v, want a shape error without fallback", err)
	}
	if called || fb.Cause() != nil {
		t.Fatal("a shape error switched the backend")
	}
	if _, err := fb.NewProjection(make([]float32, 5), 2, 3); !errors.Is(err, kernels.ErrShape) {
		t.Fatalf("NewProjection: %v, want ErrShape", err)
	}
}

// failingProjections is a backend whose NewProjection fails like a device
// out of memory.
type failingProjections struct{ kernels.Backend }

func (failingProjections) NewProjection([]float32, int, int) (kernels.Projection, error) {
	return nil, kernels.ErrDevice
}

func TestFallbackNewProjectionFailureSwitches(t *testing.T) {
	var n int
	fb := kernels.NewFallback(failingProjections{kernels.NewCPU()}, func(error) { n++ })
	defer fb.Close()
	r := rand.New(rand.NewPCG(1, 2))
	p := kerneltest.RandomFloat32(r, 20*8)
	proj, err := fb.NewProjection(p, 20, 8)
	if err != nil {
		t.Fatalf("NewProjection: %v (want it made on CPU)", err)
	}
	defer proj.Close()
	if n != 1 || !errors.Is(fb.Cause(), kernels.ErrDevice) {
		t.Fatalf("onFallback called %d times, Cause %v", n, fb.Cause())
	}
	checkProject(t, fb, proj, kerneltest.RandomCSR(r, 5, 20, 3, 0), p, 8)
}

// TestFallbackConcurrent fails the primary while many goroutines use it:
// onFallback runs once, every failure is ErrFellBack, and every retry
// succeeds on CPU.
func TestFallbackConcurrent(t *testing.T) {
	const workers, iters, vocab, dim = 8, 40, 64, 8
	faulty := kerneltest.NewFaulty(kernels.NewCPU(), 50)
	var fallbacks atomic.Int32
	fb := kernels.NewFallback(faulty, func(error) { fallbacks.Add(1) })
	defer fb.Close()
	r := rand.New(rand.NewPCG(3, 4))
	p := kerneltest.RandomFloat32(r, vocab*dim)
	proj, err := fb.NewProjection(p, vocab, dim)
	if err != nil {
		t.Fatal(err)
	}
	defer proj.Close()
	inputs := make([]*kernels.CSR, workers)
	for w := range inputs {
		inputs[w] = kerneltest.RandomCSR(r, 20, vocab, 4, 0.1)
	}
	var failures atomic.Int32
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			want := make([]float32, 20*dim)
			kerneltest.NaiveProject(inputs[w], p, dim, want)
			out := make([]float32, 20*dim)
			for range iters {
				err := kernels.ProjectNormalize(fb, proj, inputs[w], out)
				if err != nil {
					if !errors.Is(err, kernels.ErrFellBack) {
						errs[w] = err
						return
					}
					failures.Add(1)
					// The retry must succeed.
					if err := kernels.ProjectNormalize(fb, proj, inputs[w], out); err != nil {
						errs[w] = err
						return
					}
				}
				kerneltest.NaiveNormalizeRows(want, dim)
				for i := range out {
					if d := math.Abs(float64(out[i] - want[i])); !(d <= 1e-5) {
						errs[w] = errors.New("wrong result")
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if fallbacks.Load() != 1 {
		t.Errorf("onFallback called %d times, want 1", fallbacks.Load())
	}
	if failures.Load() < 1 || int(failures.Load()) != faulty.Failed() {
		t.Errorf("%d calls failed, %d injected failures", failures.Load(), faulty.Failed())
	}
	if fb.Name() != "cpu" {
		t.Errorf("Name = %q after the switch", fb.Name())
	}
}
