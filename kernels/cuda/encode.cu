// Encode-path kernels of the VectorStream CUDA backend (float32).
// Generated into encode.ptx by `go generate ./kernels` (see kernels/gen.go);
// the PTX is committed and embedded in the `cuda`-tagged binary.
//
// Layout: every matrix is row-major. One warp computes one output row; each
// lane owns the columns lane, lane+32, … of a tile of TILE columns, so a
// warp's loads of a projection row are coalesced. Rows wider than TILE are
// done in gridDim.y column tiles.

#define WARP 32
#define TILE 256
#define PER_LANE (TILE / WARP)
#define FULL 0xffffffffu

// Sum of v over the warp, in every lane.
__device__ __forceinline__ double warp_sum(double v) {
    for (int o = WARP / 2; o > 0; o >>= 1) v += __shfl_xor_sync(FULL, v, o);
    return v;
}

// out = A·P for the CSR matrix A (rows × vocab) and P (vocab × dim); with
// normalize != 0 (only when dim <= TILE) each output row is then scaled to
// unit L2 norm, zero rows staying zero. The squares are summed in double,
// so rows of huge or tiny values normalise too.
extern "C" __global__ void sparse_project_f32(
    const int *__restrict__ rowptr, const int *__restrict__ colidx, const float *__restrict__ val,
    const float *__restrict__ p, float *__restrict__ out, int rows, int dim, int normalize)
{
    const int lane = threadIdx.x & (WARP - 1);
    const int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP;
    if (row >= rows) return; // the whole warp leaves together
    const int col0 = blockIdx.y * TILE;

    float acc[PER_LANE];
#pragma unroll
    for (int j = 0; j < PER_LANE; j++) acc[j] = 0.0f;

    const int lo = rowptr[row], hi = rowptr[row + 1];
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
            const float vt = __shfl_sync(FULL, v, t);
            const float *prow = p + (size_t)ct * dim + col0;
#pragma unroll
            for (int j = 0; j < PER_LANE; j++) {
                const int d = lane + j * WARP;
                if (col0 + d < dim) acc[j] = fmaf(vt, __ldg(prow + d), acc[j]);
            }
        }
    }

    if (normalize) {
        double ss = 0.0;
#pragma unroll
        for (int j = 0; j < PER_LANE; j++) {
            if (lane + j * WARP < dim) ss += (double)acc[j] * (double)acc[j];
        }
        ss = warp_sum(ss);
        if (ss > 0.0 && isfinite(ss)) {
            const double inv = 1.0 / sqrt(ss);
#pragma unroll
            for (int j = 0; j < PER_LANE; j++) acc[j] = (float)((double)acc[j] * inv);
        }
    }

    float *orow = out + (size_t)row * dim + col0;
#pragma unroll
    for (int j = 0; j < PER_LANE; j++) {
        const int d = lane + j * WARP;
        if (col0 + d < dim) orow[d] = acc[j];
    }
}

// Scales each row of x (rows × cols) to unit L2 norm in place; zero and
// non-finite rows are left as they are. One warp per row.
extern "C" __global__ void normalize_rows_f32(float *__restrict__ x, int rows, int cols)
{
    const int lane = threadIdx.x & (WARP - 1);
    const int row = blockIdx.x * (blockDim.x / WARP) + threadIdx.x / WARP;
    if (row >= rows) return;
    float *r = x + (size_t)row * cols;
    double ss = 0.0;
    for (int d = lane; d < cols; d += WARP) {
        const double v = r[d];
        ss += v * v;
    }
    ss = warp_sum(ss);
    if (!(ss > 0.0 && isfinite(ss))) return;
    const double inv = 1.0 / sqrt(ss);
    for (int d = lane; d < cols; d += WARP) r[d] = (float)((double)r[d] * inv);
}
