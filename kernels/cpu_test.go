package kernels_test

import (
	"math"
	"math/rand/v2"
	"strings"
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

func TestSelect(t *testing.T) {
	for _, tc := range []struct{ kind, requested string }{{"cpu", "cpu"}, {" CPU ", "cpu"}, {"", "auto"}, {"auto", "auto"}} {
		be, sel, err := kernels.Select(tc.kind)
		if err != nil {
			t.Fatalf("Select(%q): %v", tc.kind, err)
		}
		if sel.Requested != tc.requested || sel.Backend != be.Name() || sel.Reason == "" {
			t.Errorf("Select(%q) = %+v with backend %q", tc.kind, sel, be.Name())
		}
		if sel.Backend == "cpu" && sel.Device != nil {
			t.Errorf("Select(%q): cpu with a device %v", tc.kind, sel.Device)
		}
		if sel.Backend == "cuda" && sel.Device == nil {
			t.Errorf("Select(%q): cuda without a device", tc.kind)
		}
		if tc.requested == "cpu" && sel.Reason != "requested cpu" {
			t.Errorf("Select(%q).Reason = %q", tc.kind, sel.Reason)
		}
		if tc.requested == "auto" && sel.Backend == "cpu" && !strings.HasPrefix(sel.Reason, "cuda: ") {
			t.Errorf("Select(%q).Reason = %q, want it to say why not cuda", tc.kind, sel.Reason)
		}
		t.Logf("Select(%q): %v", tc.kind, sel)
		be.Close()
	}
	if _, sel, err := kernels.Select("tpu"); err == nil || sel.Backend != "" {
		t.Errorf(`Select("tpu") = %+v, %v; want an error`, sel, err)
	}
}

func TestProjectNormalizeCPU(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	be := kernels.NewCPU()
	const vocab, dim = 40, 9
	p := kerneltest.RandomFloat32(r, vocab*dim)
	proj, err := be.NewProjection(p, vocab, dim)
	if err != nil {
		t.Fatal(err)
	}
	a := kerneltest.RandomCSR(r, 30, vocab, 5, 0.2)
	want := make([]float32, a.Rows*dim)
	kerneltest.NaiveProject(a, p, dim, want)
	kerneltest.NaiveNormalizeRows(want, dim)
	got := make([]float32, len(want))
	for i := range got {
		got[i] = float32(math.NaN())
	}
	if _, ok := be.(kernels.ProjectNormalizer); !ok {
		t.Fatal("the cpu backend does not fuse")
	}
	if err := kernels.ProjectNormalize(be, proj, a, got); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-6) {
			t.Fatalf("out[%d] = %g, want %g", i, got[i], want[i])
		}
	}
}

// BenchmarkEncodeCPU is the encode sweep on the CPU backend, one goroutine:
// its events/s is per core.
func BenchmarkEncodeCPU(b *testing.B) {
	kerneltest.BenchEncode(b, kernels.NewCPU())
}
