package kerneltest

import (
	"math"
	"math/rand/v2"

	"github.com/vectorstream/vectorstream/kernels"
)

// NaiveProject is the reference for Backend.SparseProject: out = A·P with
// float64 accumulation, P row-major a.Cols×cols.
func NaiveProject(a *kernels.CSR, p []float32, cols int, out []float32) {
	for i := 0; i < a.Rows; i++ {
		for d := 0; d < cols; d++ {
			var s float64
			for j := a.RowPtr[i]; j < a.RowPtr[i+1]; j++ {
				s += float64(a.Val[j]) * float64(p[int(a.ColIdx[j])*cols+d])
			}
			out[i*cols+d] = float32(s)
		}
	}
}

// NaiveNormalizeRows is the reference for Backend.NormalizeRows.
func NaiveNormalizeRows(x []float32, cols int) {
	for off := 0; off < len(x); off += cols {
		var s float64
		for _, v := range x[off : off+cols] {
			s += float64(v) * float64(v)
		}
		if s == 0 {
			continue
		}
		n := math.Sqrt(s)
		for j := off; j < off+cols; j++ {
			x[j] = float32(float64(x[j]) / n)
		}
	}
}

// NaiveSparseMulDense is the reference for Backend.SparseMulDense.
func NaiveSparseMulDense(a *kernels.CSR, b, out kernels.Dense) {
	k := b.Cols
	for i := 0; i < a.Rows; i++ {
		for d := 0; d < k; d++ {
			var s float64
			for j := a.RowPtr[i]; j < a.RowPtr[i+1]; j++ {
				s += float64(a.Val[j]) * b.Data[int(a.ColIdx[j])*k+d]
			}
			out.Data[i*k+d] = s
		}
	}
}

// NaiveSparseTMulDense is the reference for Backend.SparseTMulDense.
func NaiveSparseTMulDense(a *kernels.CSR, b, out kernels.Dense) {
	k := b.Cols
	clear(out.Data)
	for i := 0; i < a.Rows; i++ {
		for j := a.RowPtr[i]; j < a.RowPtr[i+1]; j++ {
			c := int(a.ColIdx[j])
			for d := 0; d < k; d++ {
				out.Data[c*k+d] += float64(a.Val[j]) * b.Data[i*k+d]
			}
		}
	}
}

// NaiveGemm is the reference for Backend.Gemm.
func NaiveGemm(transA, transB bool, a, b, c kernels.Dense) {
	at := func(i, j int) float64 {
		if transA {
			return a.Data[j*a.Cols+i]
		}
		return a.Data[i*a.Cols+j]
	}
	bt := func(i, j int) float64 {
		if transB {
			return b.Data[j*b.Cols+i]
		}
		return b.Data[i*b.Cols+j]
	}
	k := a.Cols
	if transA {
		k = a.Rows
	}
	for i := 0; i < c.Rows; i++ {
		for j := 0; j < c.Cols; j++ {
			var s float64
			for l := 0; l < k; l++ {
				s += at(i, l) * bt(l, j)
			}
			c.Data[i*c.Cols+j] = s
		}
	}
}

// RandomCSR returns a rows×cols CSR matrix with about nnzPerRow unique
// entries per row (never more than cols), where each row is empty with
// probability emptyFrac. Values are in (0, 4).
func RandomCSR(r *rand.Rand, rows, cols, nnzPerRow int, emptyFrac float64) *kernels.CSR {
	m := &kernels.CSR{}
	m.Reset(cols)
	seen := make(map[int32]bool)
	for i := 0; i < rows; i++ {
		if r.Float64() >= emptyFrac && cols > 0 {
			n := 1 + r.IntN(2*nnzPerRow)
			n = min(n, cols)
			clear(seen)
			for len(seen) < n {
				c := int32(r.IntN(cols))
				if seen[c] {
					continue
				}
				seen[c] = true
				m.Append(c, float32(r.Float64()*4)+1e-3)
			}
		}
		m.EndRow()
	}
	return m
}

// RandomFloat32 returns n normal(0,1) values.
func RandomFloat32(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// RandomDense returns a rows×cols matrix of normal(0,1) values.
func RandomDense(r *rand.Rand, rows, cols int) kernels.Dense {
	d := kernels.NewDense(rows, cols)
	for i := range d.Data {
		d.Data[i] = r.NormFloat64()
	}
	return d
}
