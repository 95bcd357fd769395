//go:build !cuda || !cgo

package kernels_test

import (
	"errors"
	"testing"

	"github.com/vectorstream/vectorstream/kernels"
)

func TestNewCUDAWithoutTag(t *testing.T) {
	be, err := kernels.New("cuda")
	if be != nil || !errors.Is(err, kernels.ErrNoCUDA) {
		t.Fatalf(`New("cuda") = %v, %v; want nil, ErrNoCUDA`, be, err)
	}
	if got, want := err.Error(), "built without CUDA support: rebuild with -tags cuda"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	auto, err := kernels.New("auto")
	if err != nil || auto.Name() != "cpu" {
		t.Fatalf(`New("auto") = %v, %v; want the cpu backend`, auto, err)
	}
	if kernels.CUDAAvailable() {
		t.Error("CUDAAvailable() = true without the cuda tag")
	}
}
