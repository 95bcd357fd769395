package kernels

import (
	"errors"
	"fmt"
	"strings"
	"time"
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

// Backend kinds accepted by New and Select.
const (
	KindAuto = "auto"
	KindCPU  = "cpu"
	KindCUDA = "cuda"
)

var (
	// ErrNoCUDA is returned by New("cuda") in a binary built without the
	// `cuda` build tag (or without cgo).
	ErrNoCUDA = errors.New("built without CUDA support: rebuild with -tags cuda")
	// ErrNoDevice is wrapped by the error New("cuda") returns in a binary
	// built with CUDA support when no device answers (cuInit fails, no
	// device is present, or its context cannot be created).
	ErrNoDevice = errors.New("no CUDA device")
	// ErrDevice is wrapped by every error a device reports mid-run (out of
	// memory, a failed launch, a lost context): the batch failed on the
	// device, not because of its inputs.
	ErrDevice = errors.New("kernels: device error")
	// ErrClosed is returned when a closed Projection or Backend is used.
	ErrClosed = errors.New("kernels: use after Close")
	// ErrShape is wrapped by errors about mismatched matrix shapes.
	ErrShape = errors.New("kernels: shape mismatch")
)

// New returns the backend named by kind: "cpu", "cuda", or "auto" (CUDA when
// built in and a device is present, else CPU). The empty string means "auto".
// It is Select without the record of the choice.
func New(kind string) (Backend, error) {
	be, _, err := Select(kind)
	return be, err
}

// Selection records which backend Select chose and why, for run results and
// logs.
type Selection struct {
	// Requested is the kind asked for, normalised ("auto" for "").
	Requested string `json:"requested"`
	// Backend is the Name of the backend returned ("" when none was).
	Backend string `json:"backend"`
	// Reason says why, e.g. "requested cpu", "cuda device answered",
	// "cuda: built without CUDA support: rebuild with -tags cuda" or
	// "cuda: no CUDA device: cuInit: CUDA_ERROR_NO_DEVICE (100): …".
	Reason string `json:"reason"`
	// Device describes the GPU when Backend is "cuda", else nil.
	Device *DeviceInfo `json:"device,omitempty"`
}

// String formats s on one line for logs.
func (s Selection) String() string {
	b := s.Backend
	if b == "" {
		b = "none"
	}
	out := fmt.Sprintf("%s → %s (%s)", s.Requested, b, s.Reason)
	if s.Device != nil {
		out += " on " + s.Device.String()
	}
	return out
}

// DeviceInfo describes the GPU a backend runs on and its memory. Byte counts
// are those at the time of the Device call.
type DeviceInfo struct {
	// Name is the device's name, e.g. "NVIDIA H100 80GB HBM3".
	Name string `json:"name"`
	// Ordinal is the device's index among the visible devices.
	Ordinal int `json:"ordinal"`
	// ComputeCapability is major.minor, e.g. "9.0".
	ComputeCapability string `json:"compute_capability"`
	// Multiprocessors is the number of streaming multiprocessors.
	Multiprocessors int `json:"multiprocessors"`
	// DriverVersion is the CUDA driver API version, e.g. 13000.
	DriverVersion int `json:"driver_version"`
	// TotalBytes is the device's memory.
	TotalBytes int64 `json:"total_bytes"`
	// UsedBytes is the device memory in use by every process (total − free).
	UsedBytes int64 `json:"used_bytes"`
	// BackendBytes is the device memory this backend holds (projections and
	// per-worker buffers).
	BackendBytes int64 `json:"backend_bytes"`
	// PinnedHostBytes is the page-locked host memory this backend holds.
	PinnedHostBytes int64 `json:"pinned_host_bytes"`
}

// String formats d on one line.
func (d DeviceInfo) String() string {
	const mib = 1 << 20
	return fmt.Sprintf("%s (sm_%s, %d SMs, driver %d): %d/%d MiB used, %d MiB by this backend, %d MiB pinned host",
		d.Name, strings.ReplaceAll(d.ComputeCapability, ".", ""), d.Multiprocessors, d.DriverVersion,
		d.UsedBytes/mib, d.TotalBytes/mib, d.BackendBytes/mib, d.PinnedHostBytes/mib)
}

// DeviceReporter is implemented by backends that run on a device (the CUDA
// backend, and a Fallback whose primary does).
type DeviceReporter interface {
	// Device describes the device and its memory now.
	Device() DeviceInfo
}

// KernelTimer is implemented by backends that time their device kernels
// (the CUDA backend, with CUDA events around each launch sequence).
type KernelTimer interface {
	// KernelTime is the device time spent in kernels since the backend was
	// created, summed over all calls; transfers are not included.
	KernelTime() time.Duration
}

// ProjectNormalizer is implemented by backends that fuse SparseProject and
// NormalizeRows into one pass over the output.
type ProjectNormalizer interface {
	// SparseProjectNormalize is SparseProject followed by NormalizeRows of
	// out (p.Cols() columns), with the same contract as the two calls.
	SparseProjectNormalize(p Projection, a *CSR, out []float32) error
}

// ProjectNormalize writes the L2-normalised rows of A·P into out: fused when
// be implements ProjectNormalizer, else SparseProject then NormalizeRows.
func ProjectNormalize(be Backend, p Projection, a *CSR, out []float32) error {
	if pn, ok := be.(ProjectNormalizer); ok {
		return pn.SparseProjectNormalize(p, a, out)
	}
	if err := be.SparseProject(p, a, out); err != nil {
		return err
	}
	if a.Rows == 0 {
		return nil
	}
	return be.NormalizeRows(out, p.Cols())
}

// Select returns the backend named by kind ("cpu", "cuda", or "auto"; "" is
// "auto") and a record of the choice. "auto" chooses CUDA when this binary
// was built with it and a device answers, else CPU, and never fails.
// "cuda" fails when CUDA is not available: with ErrNoCUDA (exactly, so
// that its message reads as documented) without the `cuda` build tag, or
// with an error wrapping ErrNoDevice when no device answers.
func Select(kind string) (Backend, Selection, error) {
	k := strings.ToLower(strings.TrimSpace(kind))
	if k == "" {
		k = KindAuto
	}
	sel := Selection{Requested: k}
	switch k {
	case KindCPU:
		sel.Backend, sel.Reason = KindCPU, "requested cpu"
		return NewCPU(), sel, nil
	case KindCUDA, KindAuto:
		be, err := newCUDA()
		if err != nil {
			sel.Reason = cudaReason(err)
			if k == KindCUDA {
				// newCUDA's errors carry their own context; ErrNoCUDA is
				// returned as is so that its message reads exactly as
				// documented.
				return nil, sel, err
			}
			sel.Backend = KindCPU
			return NewCPU(), sel, nil
		}
		sel.Backend = be.Name()
		sel.Reason = "requested cuda"
		if k == KindAuto {
			sel.Reason = "cuda device answered"
		}
		if dr, ok := be.(DeviceReporter); ok {
			d := dr.Device()
			sel.Device = &d
		}
		return be, sel, nil
	default:
		sel.Reason = "unknown kind"
		return nil, sel, fmt.Errorf("kernels: unknown backend kind %q (want auto, cpu or cuda)", kind)
	}
}

// cudaReason turns newCUDA's error into a Selection reason that starts with
// "cuda: ".
func cudaReason(err error) string {
	msg := strings.TrimPrefix(err.Error(), "kernels: ")
	if !strings.HasPrefix(msg, "cuda: ") {
		msg = "cuda: " + msg
	}
	return msg
}

// gemmShape checks the shapes of c = op(a)·op(b) and returns op(a)'s rows m, op(b)'s
// columns n and the inner dimension ka. done is true when nothing is left to compute:
// c is empty, or the inner dimension is 0 (c has then been zeroed).
func gemmShape(transA, transB bool, a, b, c Dense) (m, n, ka int, done bool, err error) {
	m, ka = a.Rows, a.Cols
	if transA {
		m, ka = ka, m
	}
	kb := b.Rows
	n = b.Cols
	if transB {
		kb, n = n, kb
	}
	if ka != kb {
		return m, n, ka, false, shapeErr("op(A) is %d×%d, op(B) is %d×%d", m, ka, kb, n)
	}
	if len(a.Data) != a.Rows*a.Cols || len(b.Data) != b.Rows*b.Cols {
		return m, n, ka, false, shapeErr("operand data lengths do not match their shapes")
	}
	if err := checkDense("C", c, m, n); err != nil {
		return m, n, ka, false, err
	}
	if m == 0 || n == 0 {
		return m, n, ka, true, nil
	}
	if ka == 0 {
		clear(c.Data)
		return m, n, ka, true, nil
	}
	return m, n, ka, false, nil
}

func shapeErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrShape}, args...)...)
}
