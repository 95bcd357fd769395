package kerneltest

import (
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/vectorstream/vectorstream/kernels"
)

// ErrInjected is the error a Faulty backend fails with unless told another.
// It wraps kernels.ErrDevice, as a real device failure does.
var ErrInjected = fmt.Errorf("kerneltest: injected failure: %w", kernels.ErrDevice)

// Faulty wraps a kernels.Backend and fails chosen compute calls, to test
// what callers do when a device fails mid-run (out of memory, a lost
// context) without a device. Compute calls (SparseProject,
// SparseProjectNormalize, NormalizeRows, SparseMulDense, SparseTMulDense,
// SparseGram, Gemm) are numbered from 1 in the order they start; NewProjection
// is not counted and never fails. A failing call poisons its output with NaN
// first, as a half-finished device write would. Faulty is safe for
// concurrent use.
type Faulty struct {
	kernels.Backend
	failAt int64
	sticky bool
	err    error
	calls  atomic.Int64
	failed atomic.Int64
}

// FaultyOpt configures NewFaulty.
type FaultyOpt func(*Faulty)

// Transient makes only the failAt-th call fail, not every later one too
// (the default, like a device whose context is lost).
func Transient() FaultyOpt { return func(f *Faulty) { f.sticky = false } }

// WithError makes the failing calls return err instead of ErrInjected.
func WithError(err error) FaultyOpt { return func(f *Faulty) { f.err = err } }

// NewFaulty returns be wrapped so that compute call number failAt (from 1)
// and every later one fail; failAt <= 0 never fails.
func NewFaulty(be kernels.Backend, failAt int, opts ...FaultyOpt) *Faulty {
	f := &Faulty{Backend: be, failAt: int64(failAt), sticky: true, err: ErrInjected}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Calls is the number of compute calls started so far.
func (f *Faulty) Calls() int { return int(f.calls.Load()) }

// Failed is the number of calls that failed by injection.
func (f *Faulty) Failed() int { return int(f.failed.Load()) }

// Name is the wrapped backend's name.
func (f *Faulty) Name() string { return f.Backend.Name() }

func (f *Faulty) fail() error {
	n := f.calls.Add(1)
	if f.failAt <= 0 || n < f.failAt || (!f.sticky && n != f.failAt) {
		return nil
	}
	f.failed.Add(1)
	return fmt.Errorf("kerneltest: call %d: %w", n, f.err)
}

func nan32(x []float32) {
	for i := range x {
		x[i] = float32(math.NaN())
	}
}

func nan64(x []float64) {
	for i := range x {
		x[i] = math.NaN()
	}
}

// SparseProject implements kernels.Backend.
func (f *Faulty) SparseProject(p kernels.Projection, a *kernels.CSR, out []float32) error {
	if err := f.fail(); err != nil {
		nan32(out)
		return err
	}
	return f.Backend.SparseProject(p, a, out)
}

// SparseProjectNormalize implements kernels.ProjectNormalizer.
func (f *Faulty) SparseProjectNormalize(p kernels.Projection, a *kernels.CSR, out []float32) error {
	if err := f.fail(); err != nil {
		nan32(out)
		return err
	}
	return kernels.ProjectNormalize(f.Backend, p, a, out)
}

// NormalizeRows implements kernels.Backend.
func (f *Faulty) NormalizeRows(x []float32, cols int) error {
	if err := f.fail(); err != nil {
		nan32(x)
		return err
	}
	return f.Backend.NormalizeRows(x, cols)
}

// SparseMulDense implements kernels.Backend.
func (f *Faulty) SparseMulDense(a *kernels.CSR, b, out kernels.Dense) error {
	if err := f.fail(); err != nil {
		nan64(out.Data)
		return err
	}
	return f.Backend.SparseMulDense(a, b, out)
}

// SparseTMulDense implements kernels.Backend.
func (f *Faulty) SparseTMulDense(a *kernels.CSR, b, out kernels.Dense) error {
	if err := f.fail(); err != nil {
		nan64(out.Data)
		return err
	}
	return f.Backend.SparseTMulDense(a, b, out)
}

// SparseGram implements kernels.Backend.
func (f *Faulty) SparseGram(a *kernels.CSR, b, out kernels.Dense) error {
	if err := f.fail(); err != nil {
		nan64(out.Data)
		return err
	}
	return f.Backend.SparseGram(a, b, out)
}

// Gemm implements kernels.Backend.
func (f *Faulty) Gemm(transA, transB bool, a, b, c kernels.Dense) error {
	if err := f.fail(); err != nil {
		nan64(c.Data)
		return err
	}
	return f.Backend.Gemm(transA, transB, a, b, c)
}

var _ kernels.ProjectNormalizer = (*Faulty)(nil)

// IsInjected reports whether err came from a Faulty backend's default error.
func IsInjected(err error) bool { return errors.Is(err, ErrInjected) }
