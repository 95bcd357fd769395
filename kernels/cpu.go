package kernels

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// NewCPU returns the pure-Go CPU backend. It is stateless, safe for
// concurrent use, and runs each call on the calling goroutine except Gemm,
// which uses gonum's (internally parallel) BLAS.
func NewCPU() Backend { return cpuBackend{} }

type cpuBackend struct{}

type cpuProjection struct {
	rows, cols int
	data       []float32
	closed     bool
}

func (p *cpuProjection) Rows() int { return p.rows }
func (p *cpuProjection) Cols() int { return p.cols }
func (p *cpuProjection) Close() error {
	p.closed = true
	p.data = nil
	return nil
}

func (cpuBackend) Name() string { return KindCPU }
func (cpuBackend) Close() error { return nil }

func (cpuBackend) NewProjection(p []float32, rows, cols int) (Projection, error) {
	if rows < 0 || cols <= 0 || len(p) != rows*cols {
		return nil, shapeErr("projection %d×%d with %d values", rows, cols, len(p))
	}
	return &cpuProjection{rows: rows, cols: cols, data: append([]float32(nil), p...)}, nil
}

func (cpuBackend) SparseProject(p Projection, a *CSR, out []float32) error {
	return cpuProject(p, a, out, false)
}

// SparseProjectNormalize implements ProjectNormalizer: each row is
// normalised right after it is computed, while it is still in cache.
func (cpuBackend) SparseProjectNormalize(p Projection, a *CSR, out []float32) error {
	return cpuProject(p, a, out, true)
}

func cpuProject(p Projection, a *CSR, out []float32, normalize bool) error {
	cp, ok := p.(*cpuProjection)
	if !ok {
		return shapeErr("projection of type %T is not from the cpu backend", p)
	}
	if cp.closed {
		return ErrClosed
	}
	k := cp.cols
	if a.Cols != cp.rows {
		return shapeErr("A has %d columns, projection has %d rows", a.Cols, cp.rows)
	}
	if len(out) != a.Rows*k {
		return shapeErr("out has %d values, want %d×%d", len(out), a.Rows, k)
	}
	if len(a.RowPtr) != a.Rows+1 {
		return shapeErr("len(RowPtr)=%d, want %d", len(a.RowPtr), a.Rows+1)
	}
	P := cp.data
	for i := 0; i < a.Rows; i++ {
		row := out[i*k : i*k+k]
		lo, hi := a.RowPtr[i], a.RowPtr[i+1]
		if lo == hi {
			clear(row)
			continue
		}
		cols, vals := a.ColIdx[lo:hi], a.Val[lo:hi]
		c0 := int(cols[0])
		scaleTo(row, vals[0], P[c0*k:c0*k+k])
		for j := 1; j < len(cols); j++ {
			c := int(cols[j])
			axpy(row, vals[j], P[c*k:c*k+k])
		}
		if normalize {
			normalizeRow(row)
		}
	}
	return nil
}

// scaleTo sets dst = a*x. len(x) must be >= len(dst).
func scaleTo(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] = a * x[i]
	}
}

// axpy sets dst += a*x, unrolled by four. len(x) must be >= len(dst).
func axpy(dst []float32, a float32, x []float32) {
	x = x[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d := dst[i : i+4 : i+4]
		s := x[i : i+4 : i+4]
		d[0] += a * s[0]
		d[1] += a * s[1]
		d[2] += a * s[2]
		d[3] += a * s[3]
	}
	for ; i < len(dst); i++ {
		dst[i] += a * x[i]
	}
}

func (cpuBackend) NormalizeRows(x []float32, cols int) error {
	if cols <= 0 || len(x)%cols != 0 {
		return shapeErr("%d values do not form rows of %d", len(x), cols)
	}
	for off := 0; off < len(x); off += cols {
		normalizeRow(x[off : off+cols])
	}
	return nil
}

// normalizeRow scales row to unit L2 norm; a zero (or non-finite) row is
// left as it is.
func normalizeRow(row []float32) {
	// Accumulate in float64: squares of float32 values neither overflow
	// nor underflow there, so huge and tiny rows normalise too.
	var s0, s1 float64
	j := 0
	for ; j+2 <= len(row); j += 2 {
		a, b := float64(row[j]), float64(row[j+1])
		s0 += a * a
		s1 += b * b
	}
	if j < len(row) {
		a := float64(row[j])
		s0 += a * a
	}
	ss := s0 + s1
	if ss == 0 || math.IsInf(ss, 0) || math.IsNaN(ss) {
		return
	}
	inv := 1 / math.Sqrt(ss)
	if inv > math.MaxFloat32 {
		for j := range row {
			row[j] = float32(float64(row[j]) * inv)
		}
		return
	}
	f := float32(inv)
	for j := range row {
		row[j] *= f
	}
}

func checkCSR(a *CSR) error {
	if len(a.RowPtr) != a.Rows+1 || len(a.ColIdx) != len(a.Val) {
		return shapeErr("csr %d×%d with %d row pointers, %d columns, %d values", a.Rows, a.Cols, len(a.RowPtr), len(a.ColIdx), len(a.Val))
	}
	return nil
}

func checkDense(name string, d Dense, rows, cols int) error {
	if d.Rows != rows || d.Cols != cols || len(d.Data) != rows*cols {
		return shapeErr("%s is %d×%d (%d values), want %d×%d", name, d.Rows, d.Cols, len(d.Data), rows, cols)
	}
	return nil
}

func (cpuBackend) SparseMulDense(a *CSR, b, out Dense) error {
	if err := checkCSR(a); err != nil {
		return err
	}
	k := b.Cols
	if err := checkDense("B", b, a.Cols, k); err != nil {
		return err
	}
	if err := checkDense("out", out, a.Rows, k); err != nil {
		return err
	}
	for i := 0; i < a.Rows; i++ {
		row := out.Data[i*k : i*k+k]
		clear(row)
		for j := a.RowPtr[i]; j < a.RowPtr[i+1]; j++ {
			c := int(a.ColIdx[j])
			axpy64(row, float64(a.Val[j]), b.Data[c*k:c*k+k])
		}
	}
	return nil
}

func (cpuBackend) SparseTMulDense(a *CSR, b, out Dense) error {
	if err := checkCSR(a); err != nil {
		return err
	}
	k := b.Cols
	if err := checkDense("B", b, a.Rows, k); err != nil {
		return err
	}
	if err := checkDense("out", out, a.Cols, k); err != nil {
		return err
	}
	clear(out.Data)
	for i := 0; i < a.Rows; i++ {
		src := b.Data[i*k : i*k+k]
		for j := a.RowPtr[i]; j < a.RowPtr[i+1]; j++ {
			c := int(a.ColIdx[j])
			axpy64(out.Data[c*k:c*k+k], float64(a.Val[j]), src)
		}
	}
	return nil
}

func (cpuBackend) SparseGram(a *CSR, b, out Dense) error {
	if err := checkCSR(a); err != nil {
		return err
	}
	k := b.Cols
	if err := checkDense("B", b, a.Cols, k); err != nil {
		return err
	}
	if err := checkDense("out", out, a.Cols, k); err != nil {
		return err
	}
	clear(out.Data)
	z := make([]float64, k)
	for i := 0; i < a.Rows; i++ {
		lo, hi := a.RowPtr[i], a.RowPtr[i+1]
		if lo == hi {
			continue
		}
		clear(z)
		for j := lo; j < hi; j++ {
			c := int(a.ColIdx[j])
			axpy64(z, float64(a.Val[j]), b.Data[c*k:c*k+k])
		}
		for j := lo; j < hi; j++ {
			c := int(a.ColIdx[j])
			axpy64(out.Data[c*k:c*k+k], float64(a.Val[j]), z)
		}
	}
	return nil
}

func axpy64(dst []float64, a float64, x []float64) {
	x = x[:len(dst)]
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		d := dst[i : i+4 : i+4]
		s := x[i : i+4 : i+4]
		d[0] += a * s[0]
		d[1] += a * s[1]
		d[2] += a * s[2]
		d[3] += a * s[3]
	}
	for ; i < len(dst); i++ {
		dst[i] += a * x[i]
	}
}

func (cpuBackend) Gemm(transA, transB bool, a, b, c Dense) error {
	if _, _, _, done, err := gemmShape(transA, transB, a, b, c); done || err != nil {
		return err
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	// beta == 0: gonum does not read C, so NaN poison in C is overwritten.
	blas64.Gemm(ta, tb, 1, general(a), general(b), 0, general(c))
	return nil
}

func general(d Dense) blas64.General {
	stride := d.Cols
	if stride == 0 {
		stride = 1
	}
	return blas64.General{Rows: d.Rows, Cols: d.Cols, Stride: stride, Data: d.Data}
}
