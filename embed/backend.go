package embed

import "github.com/vectorstream/vectorstream/kernels"

// Selection says which compute backend was chosen and why (kernels.Select).
type Selection = kernels.Selection

// Backend is the compute backend a run embeds on, as SelectBackend chose it.
type Backend struct {
	kernels.Backend
	// Selection is which backend was chosen, and why.
	Selection Selection
}

// SelectBackend returns the compute backend named kind (auto, cpu or cuda) and which
// one was chosen and why (kernels.Select). A GPU backend comes wrapped in
// kernels.NewFallback: a device failure mid-run moves the rest of the run to the CPU,
// and an Encoder over it encodes the failed batch again there (see Encoder.Encode).
// This is the one place the pipeline's backend is chosen, for the harness and for
// `vectorstream pipeline` alike.
func SelectBackend(kind string) (*Backend, error) {
	be, sel, err := kernels.Select(kind)
	if err != nil {
		return nil, err
	}
	if sel.Backend != kernels.KindCPU {
		be = kernels.NewFallback(be, nil)
	}
	return &Backend{Backend: be, Selection: sel}, nil
}

// Calls is how many parallel encode calls one batch is split into on this backend:
// 1 for a GPU (a single launch over the whole batch), 0 — one per worker — on the CPU.
func (b *Backend) Calls() int {
	if b.Selection.Backend != kernels.KindCPU {
		return 1
	}
	return 0
}

// Device reports the device the backend runs on and its memory now, when it runs on
// one.
func (b *Backend) Device() (kernels.DeviceInfo, bool) {
	if dr, ok := b.Backend.(kernels.DeviceReporter); ok {
		return dr.Device(), true
	}
	return kernels.DeviceInfo{}, false
}

// FallbackCause returns the device error that moved the backend to the CPU mid-run,
// or nil when it did not fall back.
func (b *Backend) FallbackCause() error {
	if fb, ok := b.Backend.(*kernels.Fallback); ok {
		return fb.Cause()
	}
	return nil
}
