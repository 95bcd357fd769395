package embed

import "github.com/vectorstream/vectorstream/kernels"

// SelectBackend returns the compute backend named kind (auto, cpu or cuda) and which
// one was chosen and why (kernels.Select). A GPU backend comes wrapped in
// kernels.NewFallback: a device failure mid-run moves the rest of the run to the CPU,
// and an Encoder over it encodes the failed batch again there (see Encoder.Encode).
// This is the one place the pipeline's backend is chosen, for the harness and for
// `vectorstream pipeline` alike.
func SelectBackend(kind string) (kernels.Backend, kernels.Selection, error) {
	be, sel, err := kernels.Select(kind)
	if err != nil {
		return nil, sel, err
	}
	if sel.Backend != kernels.KindCPU {
		be = kernels.NewFallback(be, nil)
	}
	return be, sel, nil
}

// Calls is how many parallel encode calls one batch is split into on sel's backend:
// 1 for a GPU (a single launch over the whole batch), 0 — one per worker — on the CPU.
func Calls(sel kernels.Selection) int {
	if sel.Backend != kernels.KindCPU {
		return 1
	}
	return 0
}
