package kernels

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// ErrFellBack is wrapped by the error a Fallback returns for the call that
// failed on its primary backend (and for calls already in flight on it at
// the time): that batch failed, and its retry, like every later call, runs
// on the CPU backend.
var ErrFellBack = errors.New("kernels: fell back to cpu")

// Fallback is a Backend that forwards to a primary backend (CUDA) until the
// primary's first device failure, then to the CPU backend for good.
//
// The call that fails returns the primary's error wrapped with ErrFellBack,
// so the caller's batch fails cleanly and its retry runs on CPU; onFallback
// is called once, with that error, before the call returns. Errors that
// wrap ErrShape or ErrClosed are the caller's and are returned as they are,
// without a switch: the CPU backend would refuse the same call. A failure
// of NewProjection on the primary switches too, and the projection is then
// made on the CPU backend (there is no batch to fail).
//
// Projections made through a Fallback keep a CPU copy of their matrix, so
// they keep working after the switch. Fallback is safe for concurrent use.
type Fallback struct {
	primary    Backend
	cpu        Backend
	onFallback func(error)

	switched atomic.Bool
	once     sync.Once
	cause    atomic.Pointer[error]
}

// NewFallback returns a Fallback over primary; onFallback may be nil. When
// primary is the CPU backend there is nothing to fall back to and the
// Fallback only forwards.
func NewFallback(primary Backend, onFallback func(error)) *Fallback {
	return &Fallback{primary: primary, cpu: NewCPU(), onFallback: onFallback}
}

// Cause returns the primary's error that made f switch to CPU, or nil while
// f still runs on its primary.
func (f *Fallback) Cause() error {
	if p := f.cause.Load(); p != nil {
		return *p
	}
	return nil
}

// Name returns the name of the backend that the next call runs on.
func (f *Fallback) Name() string {
	if f.switched.Load() {
		return f.cpu.Name()
	}
	return f.primary.Name()
}

// Device forwards to the primary when it is a DeviceReporter; otherwise it
// returns the zero DeviceInfo.
func (f *Fallback) Device() DeviceInfo {
	if dr, ok := f.primary.(DeviceReporter); ok {
		return dr.Device()
	}
	return DeviceInfo{}
}

// fail records err as the primary's failure of op and returns the error for
// the caller, or returns err unchanged when it is not a device failure.
func (f *Fallback) fail(op string, err error) error {
	if errors.Is(err, ErrShape) || errors.Is(err, ErrClosed) {
		return err
	}
	f.once.Do(func() {
		f.cause.Store(&err)
		f.switched.Store(true)
		if f.onFallback != nil {
			f.onFallback(err)
		}
	})
	return fmt.Errorf("kernels: %s on %s: %w: %w", op, f.primary.Name(), ErrFellBack, err)
}

// run runs call on the primary, or on the CPU backend once f has switched.
func (f *Fallback) run(op string, call func(Backend) error) error {
	if f.switched.Load() {
		return call(f.cpu)
	}
	if err := call(f.primary); err != nil {
		return f.fail(op, err)
	}
	return nil
}

// fbProjection is a projection made through a Fallback: the primary's
// (nil when made after the switch) and a CPU copy.
type fbProjection struct {
	rows, cols int
	prim       Projection
	cpu        Projection
}

func (p *fbProjection) Rows() int { return p.rows }
func (p *fbProjection) Cols() int { return p.cols }

// Close closes both copies.
func (p *fbProjection) Close() error {
	var errs []error
	if p.prim != nil {
		if err := p.prim.Close(); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, fmt.Errorf("kernels: close primary projection: %w", err))
		}
	}
	if err := p.cpu.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// NewProjection makes the projection on the primary (until the switch) and
// a CPU copy.
func (f *Fallback) NewProjection(p []float32, rows, cols int) (Projection, error) {
	cpu, err := f.cpu.NewProjection(p, rows, cols)
	if err != nil {
		return nil, err
	}
	fp := &fbProjection{rows: rows, cols: cols, cpu: cpu}
	if f.switched.Load() {
		return fp, nil
	}
	prim, err := f.primary.NewProjection(p, rows, cols)
	if err != nil {
		err = f.fail("new projection", err)
		if !errors.Is(err, ErrFellBack) {
			cpu.Close()
			return nil, err
		}
		return fp, nil
	}
	fp.prim = prim
	return fp, nil
}

// project picks the projection for the backend the call runs on.
func (f *Fallback) project(op string, p Projection, call func(Backend, Projection) error) error {
	fp, ok := p.(*fbProjection)
	if !ok {
		return shapeErr("projection of type %T is not from this fallback backend", p)
	}
	if f.switched.Load() || fp.prim == nil {
		return call(f.cpu, fp.cpu)
	}
	if err := call(f.primary, fp.prim); err != nil {
		return f.fail(op, err)
	}
	return nil
}

// SparseProject implements Backend.
func (f *Fallback) SparseProject(p Projection, a *CSR, out []float32) error {
	return f.project("sparse project", p, func(be Backend, p Projection) error {
		return be.SparseProject(p, a, out)
	})
}

// SparseProjectNormalize implements ProjectNormalizer.
func (f *Fallback) SparseProjectNormalize(p Projection, a *CSR, out []float32) error {
	return f.project("sparse project normalize", p, func(be Backend, p Projection) error {
		return ProjectNormalize(be, p, a, out)
	})
}

// NormalizeRows implements Backend.
func (f *Fallback) NormalizeRows(x []float32, cols int) error {
	return f.run("normalize rows", func(be Backend) error { return be.NormalizeRows(x, cols) })
}

// SparseMulDense implements Backend.
func (f *Fallback) SparseMulDense(a *CSR, b, out Dense) error {
	return f.run("sparse mul dense", func(be Backend) error { return be.SparseMulDense(a, b, out) })
}

// SparseTMulDense implements Backend.
func (f *Fallback) SparseTMulDense(a *CSR, b, out Dense) error {
	return f.run("sparse-transposed mul dense", func(be Backend) error { return be.SparseTMulDense(a, b, out) })
}

// SparseGram implements Backend.
func (f *Fallback) SparseGram(a *CSR, b, out Dense) error {
	return f.run("sparse gram", func(be Backend) error { return be.SparseGram(a, b, out) })
}

// Gemm implements Backend.
func (f *Fallback) Gemm(transA, transB bool, a, b, c Dense) error {
	return f.run("gemm", func(be Backend) error { return be.Gemm(transA, transB, a, b, c) })
}

// Close closes the primary and the CPU backend.
func (f *Fallback) Close() error {
	return errors.Join(f.primary.Close(), f.cpu.Close())
}
