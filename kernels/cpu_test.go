package kernels_test

import (
	"testing"

	"github.com/vectorstream/vectorstream/kernels"
	"github.com/vectorstream/vectorstream/kernels/kerneltest"
)

func TestCPUConformance(t *testing.T) {
	kerneltest.Run(t, kernels.NewCPU)
}

func BenchmarkCPU(b *testing.B) {
	kerneltest.Bench(b, kernels.NewCPU)
}

func TestNew(t *testing.T) {
	for _, kind := range []string{"cpu", "CPU", "auto", ""} {
		be, err := kernels.New(kind)
		if err != nil {
			t.Fatalf("New(%q): %v", kind, err)
		}
		if kind != "auto" && kind != "" && be.Name() != "cpu" {
			t.Errorf("New(%q).Name() = %q, want cpu", kind, be.Name())
		}
		if err := be.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if _, err := kernels.New("tpu"); err == nil {
		t.Error(`New("tpu"): no error`)
	}
}
