// Fit-path kernels of the VectorStream CUDA backend (float64 products for
// the randomized SVD). Generated into fit.ptx by `go generate ./kernels`
// (see kernels/gen.go); the PTX is committed and embedded in the
// `cuda`-tagged binary.
//
// All matrices are row-major. The CSR kernels give one warp to one row of A
// and a tile of TILE columns of the dense operand (gridDim.y tiles); the
// kernels that scatter into rows of the output by column index add with
// atomicAdd on doubles (sm_60 and later), so the output must be zeroed first.

#define WARP 32
#define TILE 256
#define PER_LANE (TILE / WARP)
#define FULL 0xffffffffu

// acc = A[row,:]·B[:, col0:col0+TILE] for the CSR row, lanes owning columns
// lane + j·WARP of the tile.
__device__ __forceinline__ void csr_row_times(
    const int *__restrict__ colidx, const float *__restrict__ val, int lo, int hi,
    const double *__restrict__ b, int k, int col0, int lane, double acc[PER_LANE])
{
#pragma unroll
    for (int j = 0; j < PER_LANE; j++) acc[j] = 0.0;
    for (int base = lo; base < hi; base += WARP) {
        const int n = min(WARP, hi - base);
        int c = 0;
        float v = 0.0f;
        if (lane < n) {
            c = colidx[base + lane];
            v = val[base + lane];
        }
        for (int t = 0; t < n; t++) {
            const int ct = __shfl_sync(FULL, c, t);
            const double vt = (double)__shfl_sync(FULL, v, t);
            const double *brow = b + (size_t)ct * k + col0;
#pragma unroll
            for (int j = 0; j < PER_LANE; j++) {
                const int d = lane + j * WARP;
                if (col0 + d < k) acc[j] = fma(vt, brow[d], acc[j]);
            }
        }
    }
}

// out = A·B: A rows × n (CSR), B n × k, out rows × k. Every element written.
extern "C" __global__ void csr_mul_dense_f64(
    const int *__restrict__ rowptr, const int *__restrict__ colidx, const float *__restrict__ val,
    const double *__restrict__ b, double *__restrict__ out, int rows, int k)
{
    const int lane = threadIdx.x & (WARP - 1);
    const int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP;
    if (row >= rows) return;
    const int col0 = blockIdx.y * TILE;
    double acc[PER_LANE];
    csr_row_times(colidx, val, rowptr[row], rowptr[row + 1], b, k, col0, lane, acc);
    double *orow = out + (size_t)row * k + col0;
#pragma unroll
    for (int j = 0; j < PER_LANE; j++) {
        const int d = lane + j * WARP;
        if (col0 + d < k) orow[d] = acc[j];
    }
}

// out += Aᵀ·B: A rows × n (CSR), B rows × k, out n × k (zeroed by the caller).
extern "C" __global__ void csr_tmul_dense_f64(
    const int *__restrict__ rowptr, const int *__restrict__ colidx, const float *__restrict__ val,
    const double *__restrict__ b, double *__restrict__ out, int rows, int k)
{
    const int lane = threadIdx.x & (WARP - 1);
    const int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP;
    if (row >= rows) return;
    const int col0 = blockIdx.y * TILE;
    const int lo = rowptr[row], hi = rowptr[row + 1];
    if (lo == hi) return;
    double src[PER_LANE];
    const double *brow = b + (size_t)row * k + col0;
#pragma unroll
    for (int j = 0; j < PER_LANE; j++) {
        const int d = lane + j * WARP;
        src[j] = (col0 + d < k) ? brow[d] : 0.0;
    }
    for (int e = lo; e < hi; e++) {
        const double v = (double)val[e];
        double *orow = out + (size_t)colidx[e] * k + col0;
#pragma unroll
        for (int j = 0; j < PER_LANE; j++) {
            const int d = lane + j * WARP;
            if (col0 + d < k) atomicAdd(orow + d, v * src[j]);
        }
    }
}

// out += Aᵀ·(A·B): A rows × n (CSR), B and out n × k (out zeroed by the
// caller). The row of A·B stays in registers: one pass over A, no rows × k
// intermediate.
extern "C" __global__ void csr_gram_f64(
    const int *__restrict__ rowptr, const int *__restrict__ colidx, const float *__restrict__ val,
    const double *__restrict__ b, double *__restrict__ out, int rows, int k)
{
    const int lane = threadIdx.x & (WARP - 1);
    const int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP;
    if (row >= rows) return;
    const int col0 = blockIdx.y * TILE;
    const int lo = rowptr[row], hi = rowptr[row + 1];
    if (lo == hi) return;
    double z[PER_LANE];
    csr_row_times(colidx, val, lo, hi, b, k, col0, lane, z);
    for (int e = lo; e < hi; e++) {
        const double v = (double)val[e];
        double *orow = out + (size_t)colidx[e] * k + col0;
#pragma unroll
        for (int j = 0; j < PER_LANE; j++) {
            const int d = lane + j * WARP;
            if (col0 + d < k) atomicAdd(orow + d, v * z[j]);
        }
    }
}

#define BM 64
#define BN 64
#define BK 16

// C = op(A)·op(B), op(A) M × K, op(B) K × N, C M × N; lda and ldb are the
// stored row lengths of A and B. 256 threads per block compute a 64×64 tile
// of C, 4×4 values each. blockIdx.z takes the K range
// [z·kchunk, (z+1)·kchunk): with gridDim.z > 1 the partial products are
// added atomically into C, which the caller has zeroed (split-K, for the
// fit's tall-skinny Qᵀ·Y whose C alone has too few tiles to fill the GPU).
extern "C" __global__ void gemm_f64(
    int transA, int transB, int M, int N, int K, int kchunk,
    const double *__restrict__ a, int lda, const double *__restrict__ b, int ldb,
    double *__restrict__ c)
{
    __shared__ double as[BK][BM + 1];
    __shared__ double bs[BK][BN + 1];
    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.x * BM, n0 = blockIdx.y * BN;
    const int k0 = blockIdx.z * kchunk;
    const int k1 = min(K, k0 + kchunk);
    double acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0;

    for (int kt = k0; kt < k1; kt += BK) {
        for (int e = tid; e < BM * BK; e += 256) {
            int mm, kk;
            if (transA) { mm = e % BM; kk = e / BM; } // A is K × M: consecutive threads, consecutive m
            else { kk = e % BK; mm = e / BK; }        // A is M × K: consecutive threads, consecutive k
            const int gm = m0 + mm, gk = kt + kk;
            double v = 0.0;
            if (gm < M && gk < k1) v = transA ? a[(size_t)gk * lda + gm] : a[(size_t)gm * lda + gk];
            as[kk][mm] = v;
        }
        for (int e = tid; e < BN * BK; e += 256) {
            int nn, kk;
            if (transB) { kk = e % BK; nn = e / BK; } // B is N × K
            else { nn = e % BN; kk = e / BN; }        // B is K × N
            const int gn = n0 + nn, gk = kt + kk;
            double v = 0.0;
            if (gn < N && gk < k1) v = transB ? b[(size_t)gn * ldb + gk] : b[(size_t)gk * ldb + gn];
            bs[kk][nn] = v;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; kk++) {
            double av[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; i++) av[i] = as[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) bv[j] = bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
        }
        __syncthreads();
    }

    const bool split = gridDim.z > 1;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const int gm = m0 + ty + 16 * i;
        if (gm >= M) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int gn = n0 + tx + 16 * j;
            if (gn >= N) continue;
            if (split) atomicAdd(c + (size_t)gm * N + gn, acc[i][j]);
            else c[(size_t)gm * N + gn] = acc[i][j];
        }
    }
}
