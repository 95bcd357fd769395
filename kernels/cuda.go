//go:build cuda && cgo

package kernels

import (
	_ "embed"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// The kernels, compiled from cuda/*.cu by `go generate` (see gen.go).
var (
	//go:embed cuda/encode.ptx
	encodePTX string
	//go:embed cuda/fit.ptx
	fitPTX string
)

const (
	// cudaWorkers is the number of worker goroutines, each on its own OS
	// thread with its own stream and buffers: up to this many calls run on
	// the device at once.
	cudaWorkers = 4
	// blockThreads is the block size of the row kernels: 8 warps, one row
	// each.
	blockThreads = 256
	rowsPerBlock = blockThreads / 32
	// tileCols is the number of columns one warp covers in one pass (TILE
	// in the .cu files).
	tileCols = 256
	// gemmTile is the side of the square tile of C that one gemm_f64 block
	// computes.
	gemmTile = 64
	// outChunks is the number of pieces a result is copied back in, so that
	// copying one piece out of pinned memory overlaps the transfer of the
	// next.
	outChunks = 4
	// growQuantum rounds buffer sizes up, so that batches of slightly
	// different sizes reuse the same buffers.
	growQuantum = 1 << 20
)

var driver struct {
	once sync.Once
	err  error
}

// driverInit calls cuInit once per process.
func driverInit() error {
	driver.once.Do(func() { driver.err = cuInit() })
	return driver.err
}

// CUDAAvailable reports whether this binary was built with the CUDA backend
// and a device is usable. Without the `cuda` build tag it is always false.
func CUDAAvailable() bool {
	if driverInit() != nil {
		return false
	}
	n, err := cuDeviceCount()
	return err == nil && n > 0
}

// cudaBackend runs the kernels on device 0 through its primary context (one
// per process, shared by every cudaBackend). Calls are handed to a fixed
// pool of workers; each worker goroutine is locked to its OS thread, makes
// the context current there once, and owns a stream, timing events, and
// device and pinned host buffers that grow on demand and are reused.
type cudaBackend struct {
	dev  cuDevice
	ctx  cuContext
	info DeviceInfo // the parts that do not change

	encode, fit cuModule
	fn          struct{ project, normalize, csrMul, csrTMul, csrGram, gemm cuFunction }

	mu       sync.RWMutex // guards closed against sends on jobs
	closed   bool
	inflight sync.WaitGroup // calls past the closed check
	jobs     chan cudaJob
	workers  sync.WaitGroup

	deviceBytes atomic.Int64
	pinnedBytes atomic.Int64
	kernelNS    atomic.Int64
}

type cudaJob struct {
	f    func(*cudaWorker) error
	done chan error
}

// newCUDA returns the CUDA backend. Without the `cuda` build tag (or
// without cgo) it returns ErrNoCUDA.
func newCUDA() (Backend, error) {
	if err := driverInit(); err != nil {
		return nil, fmt.Errorf("kernels: cuda: %w: %w", ErrNoDevice, err)
	}
	n, err := cuDeviceCount()
	if err != nil {
		return nil, fmt.Errorf("kernels: cuda: %w: %w", ErrNoDevice, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("kernels: cuda: %w: the driver sees no devices", ErrNoDevice)
	}
	dev, err := cuDeviceGet(0)
	if err != nil {
		return nil, fmt.Errorf("kernels: cuda: %w: %w", ErrNoDevice, err)
	}
	info, err := deviceInfo(dev)
	if err != nil {
		return nil, fmt.Errorf("kernels: cuda: %w: %w", ErrNoDevice, err)
	}
	ctx, err := cuPrimaryCtxRetain(dev)
	if err != nil {
		return nil, fmt.Errorf("kernels: cuda: %w: %w", ErrNoDevice, err)
	}
	b := &cudaBackend{dev: dev, ctx: ctx, info: info, jobs: make(chan cudaJob)}
	ready := make(chan error, cudaWorkers)
	for range cudaWorkers {
		b.workers.Add(1)
		go b.work(ready)
	}
	var errs []error
	for range cudaWorkers {
		if err := <-ready; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		b.stop()
		return nil, fmt.Errorf("kernels: cuda: start workers: %w", errors.Join(errs...))
	}
	if err := b.call(func(*cudaWorker) error { return b.load() }); err != nil {
		return nil, errors.Join(fmt.Errorf("kernels: cuda: load kernels: %w", err), b.Close())
	}
	return b, nil
}

func deviceInfo(dev cuDevice) (DeviceInfo, error) {
	name, err := cuDeviceName(dev)
	if err != nil {
		return DeviceInfo{}, err
	}
	total, err := cuDeviceTotalMem(dev)
	if err != nil {
		return DeviceInfo{}, err
	}
	major, err := cuDeviceAttribute(dev, attrComputeMajor)
	if err != nil {
		return DeviceInfo{}, err
	}
	minor, err := cuDeviceAttribute(dev, attrComputeMinor)
	if err != nil {
		return DeviceInfo{}, err
	}
	sms, err := cuDeviceAttribute(dev, attrMultiprocessors)
	if err != nil {
		return DeviceInfo{}, err
	}
	return DeviceInfo{
		Name: name, ComputeCapability: fmt.Sprintf("%d.%d", major, minor),
		Multiprocessors: sms, DriverVersion: cuDriverVersion(), TotalBytes: total,
	}, nil
}

// load JIT-compiles the embedded PTX; it runs on a worker.
func (b *cudaBackend) load() error {
	var err error
	if b.encode, err = cuModuleLoad(encodePTX); err != nil {
		return fmt.Errorf("encode.ptx: %w", err)
	}
	if b.fit, err = cuModuleLoad(fitPTX); err != nil {
		return fmt.Errorf("fit.ptx: %w", err)
	}
	for _, f := range []struct {
		mod  cuModule
		name string
		dst  *cuFunction
	}{
		{b.encode, "sparse_project_f32", &b.fn.project},
		{b.encode, "normalize_rows_f32", &b.fn.normalize},
		{b.fit, "csr_mul_dense_f64", &b.fn.csrMul},
		{b.fit, "csr_tmul_dense_f64", &b.fn.csrTMul},
		{b.fit, "csr_gram_f64", &b.fn.csrGram},
		{b.fit, "gemm_f64", &b.fn.gemm},
	} {
		if *f.dst, err = cuModuleFunction(f.mod, f.name); err != nil {
			return err
		}
	}
	return nil
}

// work is one worker: it keeps its OS thread (and so the current context)
// for its whole life. The thread is not unlocked at the end, so the runtime
// retires it rather than handing a thread with a CUDA context to other
// goroutines.
func (b *cudaBackend) work(ready chan<- error) {
	defer b.workers.Done()
	runtime.LockOSThread()
	w, err := b.newWorker()
	ready <- err
	if err != nil {
		return
	}
	for j := range b.jobs {
		err := j.f(w)
		if err != nil {
			// Work queued before the failure may still read the pinned
			// buffers the next job refills.
			cuStreamSynchronize(w.stream)
			w.timing = false
		}
		j.done <- err
	}
	w.release()
}

// call runs f on a free worker and returns its error.
func (b *cudaBackend) call(f func(*cudaWorker) error) error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrClosed
	}
	b.inflight.Add(1)
	b.mu.RUnlock()
	defer b.inflight.Done()
	j := cudaJob{f: f, done: make(chan error, 1)}
	b.jobs <- j
	return <-j.done
}

// stop ends the workers (which free their buffers) and releases the
// primary context. closed must be set and no call in flight.
func (b *cudaBackend) stop() error {
	close(b.jobs)
	b.workers.Wait()
	return cuPrimaryCtxRelease(b.dev)
}

func (b *cudaBackend) Name() string { return KindCUDA }

// Close waits for calls in flight, unloads the kernels, frees every
// worker's buffers and releases the primary context (which frees the
// device memory of projections not closed).
func (b *cudaBackend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.inflight.Wait()
	unload := cudaJob{done: make(chan error, 1), f: func(*cudaWorker) error {
		var errs []error
		for _, m := range []cuModule{b.encode, b.fit} {
			if m != nil {
				errs = append(errs, cuModuleUnload(m))
			}
		}
		return errors.Join(errs...)
	}}
	b.jobs <- unload
	err := <-unload.done
	if err2 := b.stop(); err2 != nil {
		err = errors.Join(err, err2)
	}
	if err != nil {
		return fmt.Errorf("kernels: cuda: close: %w", err)
	}
	return nil
}

// Device implements DeviceReporter.
func (b *cudaBackend) Device() DeviceInfo {
	d := b.info
	var free, total int64
	if err := b.call(func(*cudaWorker) error {
		var err error
		free, total, err = cuMemGetInfo()
		return err
	}); err == nil {
		d.UsedBytes, d.TotalBytes = total-free, total
	}
	d.BackendBytes = b.deviceBytes.Load()
	d.PinnedHostBytes = b.pinnedBytes.Load()
	return d
}

// KernelTime implements KernelTimer.
func (b *cudaBackend) KernelTime() time.Duration { return time.Duration(b.kernelNS.Load()) }

// --- workers and their buffers ----------------------------------------------

type devBuf struct {
	ptr  cuPtr
	size int64
}

type hostBuf struct {
	ptr  unsafe.Pointer
	size int64
}

type cudaWorker struct {
	b           *cudaBackend
	stream      cuStream
	start, stop cuEvent
	chunk       [outChunks]cuEvent

	in, out    devBuf  // CSR operands; the float32 result
	hin, hout  hostBuf // their pinned staging
	da, db, dc devBuf  // float64 operands and results of the fit path
	timing     bool    // timed ran and its events are not yet read
}

func (b *cudaBackend) newWorker() (*cudaWorker, error) {
	if err := cuCtxSetCurrent(b.ctx); err != nil {
		return nil, err
	}
	w := &cudaWorker{b: b}
	var err error
	if w.stream, err = cuStreamCreate(); err != nil {
		return nil, err
	}
	events := []*cuEvent{&w.start, &w.stop}
	for i := range w.chunk {
		events = append(events, &w.chunk[i])
	}
	for _, e := range events {
		if *e, err = cuEventCreate(); err != nil {
			w.release()
			return nil, err
		}
	}
	return w, nil
}

// release frees everything the worker holds; errors are ignored because
// the context is about to be released (which frees all of it anyway).
func (w *cudaWorker) release() {
	for _, d := range []*devBuf{&w.in, &w.out, &w.da, &w.db, &w.dc} {
		w.freeDev(d)
	}
	for _, h := range []*hostBuf{&w.hin, &w.hout} {
		w.freeHost(h)
	}
	for _, e := range append([]cuEvent{w.start, w.stop}, w.chunk[:]...) {
		if e != nil {
			cuEventDestroy(e)
		}
	}
	if w.stream != nil {
		cuStreamDestroy(w.stream)
	}
}

func roundUp(n, q int64) int64 { return (n + q - 1) / q * q }

func (w *cudaWorker) freeDev(d *devBuf) {
	if d.ptr != 0 {
		cuMemFree(d.ptr)
		w.b.deviceBytes.Add(-d.size)
	}
	*d = devBuf{}
}

func (w *cudaWorker) freeHost(h *hostBuf) {
	if h.ptr != nil {
		cuMemFreeHost(h.ptr)
		w.b.pinnedBytes.Add(-h.size)
	}
	*h = hostBuf{}
}

// growDev makes d hold at least n bytes; its contents are not kept.
func (w *cudaWorker) growDev(d *devBuf, n int64) error {
	if n <= d.size {
		return nil
	}
	w.freeDev(d)
	size := roundUp(n, growQuantum)
	p, err := cuMemAlloc(size)
	if err != nil {
		return err
	}
	*d = devBuf{ptr: p, size: size}
	w.b.deviceBytes.Add(size)
	return nil
}

// growHost makes h hold at least n bytes of pinned memory.
func (w *cudaWorker) growHost(h *hostBuf, n int64) error {
	if n <= h.size {
		return nil
	}
	w.freeHost(h)
	size := roundUp(n, growQuantum)
	p, err := cuMemAllocHost(size)
	if err != nil {
		return err
	}
	*h = hostBuf{ptr: p, size: size}
	w.b.pinnedBytes.Add(size)
	return nil
}

// csrLayout is where a CSR matrix's three arrays lie in the staging
// buffers: offsets in bytes, each 256-byte aligned.
type csrLayout struct{ rowptr, colidx, val, end int64 }

func layoutCSR(a *CSR) csrLayout {
	var l csrLayout
	l.colidx = roundUp(int64(a.Rows+1)*4, 256)
	l.val = l.colidx + roundUp(int64(len(a.ColIdx))*4, 256)
	l.end = l.val + int64(len(a.Val))*4
	return l
}

// stageCSR copies A to the device in one transfer through pinned memory and
// returns the device addresses of its arrays. It checks what the kernels
// rely on, so that bad input fails here and not as an illegal address
// that would spoil the context for every caller: RowPtr within [0, nnz]
// and every column index within [0, a.Cols).
func (w *cudaWorker) stageCSR(a *CSR) (rowptr, colidx, val cuPtr, err error) {
	l := layoutCSR(a)
	if err := w.growHost(&w.hin, l.end); err != nil {
		return 0, 0, 0, err
	}
	if err := w.growDev(&w.in, l.end); err != nil {
		return 0, 0, 0, err
	}
	nnz := int32(len(a.ColIdx))
	rp := unsafe.Slice((*int32)(unsafe.Add(w.hin.ptr, l.rowptr)), a.Rows+1)
	for i, v := range a.RowPtr {
		if v < 0 || v > nnz {
			return 0, 0, 0, shapeErr("csr RowPtr[%d]=%d outside [0,%d]", i, v, nnz)
		}
		rp[i] = v
	}
	ci := unsafe.Slice((*int32)(unsafe.Add(w.hin.ptr, l.colidx)), len(a.ColIdx))
	cols := uint32(a.Cols)
	for i, c := range a.ColIdx {
		if uint32(c) >= cols {
			return 0, 0, 0, shapeErr("csr column %d at entry %d out of range [0,%d)", c, i, a.Cols)
		}
		ci[i] = c
	}
	copy(unsafe.Slice((*float32)(unsafe.Add(w.hin.ptr, l.val)), len(a.Val)), a.Val)
	if err := cuMemcpyHtoDAsync(w.in.ptr, w.hin.ptr, l.end, w.stream); err != nil {
		return 0, 0, 0, err
	}
	base := w.in.ptr
	return base + cuPtr(l.rowptr), base + cuPtr(l.colidx), base + cuPtr(l.val), nil
}

// timed records the start event, runs the launches, records the stop event.
func (w *cudaWorker) timed(launches func() error) error {
	if err := cuEventRecord(w.start, w.stream); err != nil {
		return err
	}
	if err := launches(); err != nil {
		return err
	}
	w.timing = true
	return cuEventRecord(w.stop, w.stream)
}

// finish waits for the stream and adds the kernel time measured by timed.
func (w *cudaWorker) finish() error {
	if err := cuStreamSynchronize(w.stream); err != nil {
		return err
	}
	return w.kernelsDone()
}

// copyOut copies n float32 values from the device buffer src to dst through
// the pinned buffer, in outChunks pieces so that copying a piece out of
// pinned memory overlaps the transfer of the next. It waits for the work
// queued before it, which is then finished.
func (w *cudaWorker) copyOut(dst []float32, src cuPtr) error {
	n := int64(len(dst)) * 4
	if err := w.growHost(&w.hout, n); err != nil {
		return err
	}
	per := roundUp((n+outChunks-1)/outChunks, 256)
	for i := range int64(outChunks) {
		lo, hi := min(i*per, n), min((i+1)*per, n)
		if lo < hi {
			if err := cuMemcpyDtoHAsync(unsafe.Add(w.hout.ptr, lo), src+cuPtr(lo), hi-lo, w.stream); err != nil {
				return err
			}
		}
		if err := cuEventRecord(w.chunk[i], w.stream); err != nil {
			return err
		}
	}
	if err := w.kernelsDone(); err != nil {
		return err
	}
	pinned := unsafe.Slice((*float32)(w.hout.ptr), len(dst))
	for i := range int64(outChunks) {
		lo, hi := min(i*per, n)/4, min((i+1)*per, n)/4
		if err := cuEventSynchronize(w.chunk[i]); err != nil {
			return err
		}
		copy(dst[lo:hi], pinned[lo:hi])
	}
	return nil
}

// kernelsDone waits for the stop event of timed (the kernels, not the
// copies queued after them) and adds the kernel time.
func (w *cudaWorker) kernelsDone() error {
	if !w.timing {
		return nil
	}
	if err := cuEventSynchronize(w.stop); err != nil {
		return err
	}
	w.timing = false
	ms, err := cuEventElapsed(w.start, w.stop)
	if err != nil {
		return err
	}
	w.b.kernelNS.Add(int64(float64(ms) * 1e6))
	return nil
}

// wrap gives a worker's error the operation's context.
func wrap(op string, err error) error {
	if err == nil || errors.Is(err, ErrShape) || errors.Is(err, ErrClosed) {
		return err
	}
	return fmt.Errorf("kernels: cuda: %s: %w", op, err)
}

// rowGrid is the grid of the row kernels: a warp per row, a column tile per
// grid row.
func rowGrid(rows, cols int) (gx, gy int) {
	return (rows + rowsPerBlock - 1) / rowsPerBlock, (cols + tileCols - 1) / tileCols
}

// --- projections and the encode path ---------------------------------------

type cudaProjection struct {
	b          *cudaBackend
	rows, cols int

	mu     sync.RWMutex // held for reading by calls that use ptr
	ptr    devBuf
	closed bool
}

func (p *cudaProjection) Rows() int { return p.rows }
func (p *cudaProjection) Cols() int { return p.cols }

// Close frees the projection's device memory. After the backend's Close
// that memory is already gone with the context, and Close does nothing.
func (p *cudaProjection) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	err := p.b.call(func(w *cudaWorker) error {
		w.freeDev(&p.ptr)
		return nil
	})
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return wrap("close projection", err)
}

func (b *cudaBackend) NewProjection(p []float32, rows, cols int) (Projection, error) {
	if rows < 0 || cols <= 0 || len(p) != rows*cols {
		return nil, shapeErr("projection %d×%d with %d values", rows, cols, len(p))
	}
	proj := &cudaProjection{b: b, rows: rows, cols: cols}
	if len(p) == 0 {
		return proj, nil
	}
	err := b.call(func(w *cudaWorker) error {
		n := int64(len(p)) * 4
		ptr, err := cuMemAlloc(n) // exact: projections are made once and kept
		if err != nil {
			return err
		}
		proj.ptr = devBuf{ptr: ptr, size: n}
		b.deviceBytes.Add(n)
		// From Go (pageable) memory: the call returns once p is staged, and
		// the stream is finished before p's owner gets it back.
		if err := cuMemcpyHtoDAsync(proj.ptr.ptr, unsafe.Pointer(&p[0]), n, w.stream); err != nil {
			w.freeDev(&proj.ptr)
			return err
		}
		if err := w.finish(); err != nil {
			w.freeDev(&proj.ptr)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, wrap(fmt.Sprintf("new projection %d×%d", rows, cols), err)
	}
	return proj, nil
}

func (b *cudaBackend) SparseProject(p Projection, a *CSR, out []float32) error {
	return b.project(p, a, out, false)
}

// SparseProjectNormalize implements ProjectNormalizer: one kernel when the
// projection has at most 256 columns, else the projection and the
// normalisation kernels back to back on the device.
func (b *cudaBackend) SparseProjectNormalize(p Projection, a *CSR, out []float32) error {
	return b.project(p, a, out, true)
}

func (b *cudaBackend) project(p Projection, a *CSR, out []float32, normalize bool) error {
	cp, ok := p.(*cudaProjection)
	if !ok || cp.b != b {
		return shapeErr("projection of type %T is not from this cuda backend", p)
	}
	k := cp.cols
	if a.Cols != cp.rows {
		return shapeErr("A has %d columns, projection has %d rows", a.Cols, cp.rows)
	}
	if len(out) != a.Rows*k {
		return shapeErr("out has %d values, want %d×%d", len(out), a.Rows, k)
	}
	if err := checkCSR(a); err != nil {
		return err
	}
	cp.mu.RLock()
	defer cp.mu.RUnlock()
	if cp.closed {
		return ErrClosed
	}
	if a.Rows == 0 {
		return nil
	}
	err := b.call(func(w *cudaWorker) error {
		rowptr, colidx, val, err := w.stageCSR(a)
		if err != nil {
			return err
		}
		if err := w.growDev(&w.out, int64(len(out))*4); err != nil {
			return err
		}
		gx, gy := rowGrid(a.Rows, k)
		fused := normalize && gy == 1
		if err := w.timed(func() error {
			if err := launch("sparse_project_f32", b.fn.project, gx, gy, 1, blockThreads, w.stream,
				argPtr(rowptr), argPtr(colidx), argPtr(val), argPtr(cp.ptr.ptr), argPtr(w.out.ptr),
				argInt(a.Rows), argInt(k), argInt(boolInt(fused))); err != nil {
				return err
			}
			if normalize && !fused {
				return launch("normalize_rows_f32", b.fn.normalize, gx, 1, 1, blockThreads, w.stream,
					argPtr(w.out.ptr), argInt(a.Rows), argInt(k))
			}
			return nil
		}); err != nil {
			return err
		}
		return w.copyOut(out, w.out.ptr)
	})
	return wrap("sparse project", err)
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

func (b *cudaBackend) NormalizeRows(x []float32, cols int) error {
	if cols <= 0 || len(x)%cols != 0 {
		return shapeErr("%d values do not form rows of %d", len(x), cols)
	}
	if len(x) == 0 {
		return nil
	}
	rows := len(x) / cols
	err := b.call(func(w *cudaWorker) error {
		n := int64(len(x)) * 4
		if err := w.growHost(&w.hin, n); err != nil {
			return err
		}
		if err := w.growDev(&w.out, n); err != nil {
			return err
		}
		copy(unsafe.Slice((*float32)(w.hin.ptr), len(x)), x)
		if err := cuMemcpyHtoDAsync(w.out.ptr, w.hin.ptr, n, w.stream); err != nil {
			return err
		}
		gx, _ := rowGrid(rows, cols)
		if err := w.timed(func() error {
			return launch("normalize_rows_f32", b.fn.normalize, gx, 1, 1, blockThreads, w.stream,
				argPtr(w.out.ptr), argInt(rows), argInt(cols))
		}); err != nil {
			return err
		}
		return w.copyOut(x, w.out.ptr)
	})
	return wrap("normalize rows", err)
}

// --- the fit path (float64) ---------------------------------------------------

// toDevice copies d's values to the device buffer buf from Go memory.
func (w *cudaWorker) toDevice(buf *devBuf, d []float64) error {
	n := int64(len(d)) * 8
	if err := w.growDev(buf, n); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	return cuMemcpyHtoDAsync(buf.ptr, unsafe.Pointer(&d[0]), n, w.stream)
}

// fromDevice copies the device buffer's first len(d) values into d (Go
// memory: the call returns when the copy is done) and finishes the stream.
func (w *cudaWorker) fromDevice(d []float64, buf cuPtr) error {
	if len(d) > 0 {
		if err := cuMemcpyDtoHAsync(unsafe.Pointer(&d[0]), buf, int64(len(d))*8, w.stream); err != nil {
			return err
		}
	}
	return w.finish()
}

// csrDense runs one of the CSR × dense kernels: out (outRows × b.Cols) from
// A and b, zeroing out first when the kernel accumulates into it.
func (b *cudaBackend) csrDense(op, name string, fn func() cuFunction, zero bool, a *CSR, in, out Dense) error {
	if len(out.Data) == 0 {
		return nil
	}
	err := b.call(func(w *cudaWorker) error {
		rowptr, colidx, val, err := w.stageCSR(a)
		if err != nil {
			return err
		}
		if err := w.toDevice(&w.db, in.Data); err != nil {
			return err
		}
		if err := w.growDev(&w.dc, int64(len(out.Data))*8); err != nil {
			return err
		}
		if zero {
			if err := cuMemsetZeroAsync(w.dc.ptr, int64(len(out.Data))*8, w.stream); err != nil {
				return err
			}
		}
		gx, gy := rowGrid(a.Rows, in.Cols)
		if err := w.timed(func() error {
			return launch(name, fn(), gx, gy, 1, blockThreads, w.stream,
				argPtr(rowptr), argPtr(colidx), argPtr(val), argPtr(w.db.ptr), argPtr(w.dc.ptr),
				argInt(a.Rows), argInt(in.Cols))
		}); err != nil {
			return err
		}
		return w.fromDevice(out.Data, w.dc.ptr)
	})
	return wrap(op, err)
}

func (b *cudaBackend) SparseMulDense(a *CSR, in, out Dense) error {
	if err := checkCSR(a); err != nil {
		return err
	}
	if err := checkDense("B", in, a.Cols, in.Cols); err != nil {
		return err
	}
	if err := checkDense("out", out, a.Rows, in.Cols); err != nil {
		return err
	}
	return b.csrDense("sparse mul dense", "csr_mul_dense_f64", func() cuFunction { return b.fn.csrMul }, false, a, in, out)
}

func (b *cudaBackend) SparseTMulDense(a *CSR, in, out Dense) error {
	if err := checkCSR(a); err != nil {
		return err
	}
	if err := checkDense("B", in, a.Rows, in.Cols); err != nil {
		return err
	}
	if err := checkDense("out", out, a.Cols, in.Cols); err != nil {
		return err
	}
	return b.csrDense("sparse-transposed mul dense", "csr_tmul_dense_f64", func() cuFunction { return b.fn.csrTMul }, true, a, in, out)
}

func (b *cudaBackend) SparseGram(a *CSR, in, out Dense) error {
	if err := checkCSR(a); err != nil {
		return err
	}
	if err := checkDense("B", in, a.Cols, in.Cols); err != nil {
		return err
	}
	if err := checkDense("out", out, a.Cols, in.Cols); err != nil {
		return err
	}
	return b.csrDense("sparse gram", "csr_gram_f64", func() cuFunction { return b.fn.csrGram }, true, a, in, out)
}

// gemmSplit chooses how many K ranges gemm_f64 splits the product into, so
// that a C of few tiles (the fit's l×l Qᵀ·Y) still gives every
// multiprocessor work; each range is a multiple of 16 long and at least
// 256 unless K is shorter.
func gemmSplit(m, n, k, sms int) (splits, kchunk int) {
	tiles := ((m + gemmTile - 1) / gemmTile) * ((n + gemmTile - 1) / gemmTile)
	splits = 1
	if target := 2 * sms; tiles < target {
		splits = min((target+tiles-1)/tiles, (k+255)/256)
	}
	splits = max(splits, 1)
	kchunk = int(roundUp(int64((k+splits-1)/splits), 16))
	splits = (k + kchunk - 1) / kchunk
	return splits, kchunk
}

func (b *cudaBackend) Gemm(transA, transB bool, a, bm, c Dense) error {
	m, n, ka, done, err := gemmShape(transA, transB, a, bm, c)
	if done || err != nil {
		return err
	}
	gx, gy := (m+gemmTile-1)/gemmTile, (n+gemmTile-1)/gemmTile
	if gy > 65535 {
		return shapeErr("gemm: C has %d columns, more than the grid allows", n)
	}
	splits, kchunk := gemmSplit(m, n, ka, b.info.Multiprocessors)
	err = b.call(func(w *cudaWorker) error {
		if err := w.toDevice(&w.da, a.Data); err != nil {
			return err
		}
		if err := w.toDevice(&w.db, bm.Data); err != nil {
			return err
		}
		if err := w.growDev(&w.dc, int64(len(c.Data))*8); err != nil {
			return err
		}
		if splits > 1 {
			if err := cuMemsetZeroAsync(w.dc.ptr, int64(len(c.Data))*8, w.stream); err != nil {
				return err
			}
		}
		if err := w.timed(func() error {
			return launch("gemm_f64", b.fn.gemm, gx, gy, splits, blockThreads, w.stream,
				argInt(boolInt(transA)), argInt(boolInt(transB)), argInt(m), argInt(n), argInt(ka), argInt(kchunk),
				argPtr(w.da.ptr), argInt(a.Cols), argPtr(w.db.ptr), argInt(bm.Cols), argPtr(w.dc.ptr))
		}); err != nil {
			return err
		}
		return w.fromDevice(c.Data, w.dc.ptr)
	})
	return wrap("gemm", err)
}
