package kernels

import (
	"errors"
	"fmt"
	"strings"
)

// CSR is a sparse matrix in compressed sparse row form with float32 values.
// Row i holds the entries ColIdx[RowPtr[i]:RowPtr[i+1]] / Val[RowPtr[i]:RowPtr[i+1]].
// Column indices within a row need not be sorted but must be unique and in
// [0, Cols). len(RowPtr) == Rows+1, RowPtr[0] == 0.
type CSR struct {
	Rows, Cols int
	RowPtr     []int32
	ColIdx     []int32
	Val        []float32
}

// Reset empties m for reuse with the given number of columns, keeping its
// buffers.
func (m *CSR) Reset(cols int) {
	m.Rows, m.Cols = 0, cols
	m.RowPtr = append(m.RowPtr[:0], 0)
	m.ColIdx = m.ColIdx[:0]
	m.Val = m.Val[:0]
}

// Append adds one entry to the row being built. Call EndRow to close it.
func (m *CSR) Append(col int32, v float32) {
	m.ColIdx = append(m.ColIdx, col)
	m.Val = append(m.Val, v)
}

// EndRow closes the row being built (possibly empty).
func (m *CSR) EndRow() {
	m.RowPtr = append(m.RowPtr, int32(len(m.ColIdx)))
	m.Rows++
}

// Validate checks the structural invariants of m.
func (m *CSR) Validate() error {
	if m.Rows < 0 || m.Cols < 0 {
		return fmt.Errorf("kernels: csr: negative shape %d×%d", m.Rows, m.Cols)
	}
	if len(m.RowPtr) != m.Rows+1 {
		return fmt.Errorf("kernels: csr: len(RowPtr)=%d, want Rows+1=%d", len(m.RowPtr), m.Rows+1)
	}
	if m.RowPtr[0] != 0 || int(m.RowPtr[m.Rows]) != len(m.ColIdx) || len(m.ColIdx) != len(m.Val) {
		return fmt.Errorf("kernels: csr: RowPtr[0]=%d RowPtr[last]=%d nnz=%d vals=%d", m.RowPtr[0], m.RowPtr[m.Rows], len(m.ColIdx), len(m.Val))
	}
	for i := 0; i < m.Rows; i++ {
		if m.RowPtr[i] > m.RowPtr[i+1] {
			return fmt.Errorf("kernels: csr: RowPtr decreases at row %d", i)
		}
	}
	for k, c := range m.ColIdx {
		if c < 0 || int(c) >= m.Cols {
			return fmt.Errorf("kernels: csr: column %d at entry %d out of range [0,%d)", c, k, m.Cols)
		}
	}
	return nil
}

// Dense is a row-major float64 matrix (stride == Cols) used by the fit.
type Dense struct {
	Rows, Cols int
	Data       []float64
}

// NewDense returns a zeroed rows×cols matrix.
func NewDense(rows, cols int) Dense {
	return Dense{Rows: rows, Cols: cols, Data: make([]float64, rows*cols)}
}

// Projection is a dense rows×cols float32 matrix that a backend holds for
// repeated SparseProject calls (a GPU backend keeps it in device memory).
// Close releases it; using it after Close is an error.
type Projection interface {
	Rows() int
	Cols() int
	Close() error
}

// Backend computes the batch kernels. Implementations must be safe for
// concurrent use by multiple goroutines; output slices are owned by the
// caller and must not be retained.
type Backend interface {
	// Name identifies the backend ("cpu", "cuda").
	Name() string

	// NewProjection copies the row-major rows×cols matrix p (len rows*cols)
	// into a backend-held Projection.
	NewProjection(p []float32, rows, cols int) (Projection, error)

	// SparseProject writes out = A·P where A is a.Rows×a.Cols sparse,
	// P is the a.Cols×p.Cols() projection; out is row-major with
	// len(out) == a.Rows*p.Cols(). Empty rows of A give zero rows of out.
	// Every element of out is written.
	SparseProject(p Projection, a *CSR, out []float32) error

	// NormalizeRows scales each row of the row-major matrix x (cols columns)
	// to unit L2 norm in place. Rows whose norm is zero stay zero.
	NormalizeRows(x []float32, cols int) error

	// SparseMulDense writes out = A·B (A sparse a.Rows×a.Cols, B a.Cols×k,
	// out a.Rows×k). Every element of out is written.
	SparseMulDense(a *CSR, b, out Dense) error

	// SparseTMulDense writes out = Aᵀ·B (A sparse a.Rows×a.Cols, B a.Rows×k,
	// out a.Cols×k). Every element of out is written.
	SparseTMulDense(a *CSR, b, out Dense) error

	// SparseGram writes out = Aᵀ·(A·B) (A sparse a.Rows×a.Cols, B and out
	// a.Cols×k): one power-iteration step of the randomized SVD, fused so
	// that the a.Rows×k intermediate need not be materialised. Every element
	// of out is written.
	SparseGram(a *CSR, b, out Dense) error

	// Gemm writes c = op(a)·op(b), where op transposes its argument when the
	// matching flag is set. Every element of c is written.
	Gemm(transA, transB bool, a, b, c Dense) error

	// Close releases the backend's resources. Projections created by it
	// must be closed first.
	Close() error
}

// Backend kinds accepted by New.
const (
	KindAuto = "auto"
	KindCPU  = "cpu"
	KindCUDA = "cuda"
)

var (
	// ErrNoCUDA is returned by New("cuda") in a binary built without the
	// `cuda` build tag (or without cgo).
	ErrNoCUDA = errors.New("built without CUDA support: rebuild with -tags cuda")
	// ErrClosed is returned when a closed Projection or Backend is used.
	ErrClosed = errors.New("kernels: use after Close")
	// ErrShape is wrapped by errors about mismatched matrix shapes.
	ErrShape = errors.New("kernels: shape mismatch")
)

// New returns the backend named by kind: "cpu", "cuda", or "auto" (CUDA when
// built in and a device is present, else CPU). The empty string means "auto".
func New(kind string) (Backend, error) {
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case KindCPU:
		return NewCPU(), nil
	case KindCUDA:
		// newCUDA's errors carry their own context; ErrNoCUDA is returned
		// as is so that its message reads exactly as documented.
		return newCUDA()
	case KindAuto, "":
		if be, err := newCUDA(); err == nil {
			return be, nil
		}
		return NewCPU(), nil
	default:
		return nil, fmt.Errorf("kernels: unknown backend kind %q (want auto, cpu or cuda)", kind)
	}
}

func shapeErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrShape}, args...)...)
}
