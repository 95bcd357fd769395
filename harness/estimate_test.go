package harness

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/workloads"
)

func estimateOf(t *testing.T, sc Scenario) Estimate {
	t.Helper()
	e, err := EstimateRun(&sc)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEstimateRefusesWhatCannotFitAndNamesTheFields(t *testing.T) {
	box := Machine{MemAvailable: 20 << 30, DiskFree: 60 << 30, DiskAt: "/cache"}
	sc := DefaultScenario()
	if err := estimateOf(t, sc).Fits(box); err != nil {
		t.Fatalf("the default scenario does not fit 20 GiB: %v", err)
	}

	long := DefaultScenario()
	long.Load = workloads.Profile{Kind: workloads.ProfileConstant, Rate: 1e7}
	long.Duration = 168 * time.Hour
	err := estimateOf(t, long).Fits(box)
	if !errors.Is(err, exitcode.ErrConfig) {
		t.Fatalf("got %v, want a configuration error", err)
	}
	events := "6048050000000 events" // 10M/s over 168 h and the default 5 s warm-up
	for _, want := range []string{events, "memory: about", "20.0 GiB available", "load.rate, warmup, duration", "disk under /cache", "--force"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from: %v", want, err)
		}
	}

	shop := DefaultScenario()
	shop.Workload.Products = 10_000_000
	err = estimateOf(t, shop).Fits(box)
	if err == nil || !strings.Contains(err.Error(), "catalog and model fit in the harness process") || !strings.Contains(err.Error(), "workload.products") {
		t.Fatalf("a 10M-product catalog: %v", err)
	}
	if strings.Contains(err.Error(), "disk") {
		t.Fatalf("the catalog is memory, not disk: %v", err)
	}
	if err := estimateOf(t, shop).Fits(Machine{}); err != nil {
		t.Fatalf("a machine that could not be measured refused a run: %v", err)
	}
}

// TestEstimateCountsOnlyWhatRunsHere: the embedded Kafka log is bounded by retention,
// and external services are not this machine's.
func TestEstimateCountsOnlyWhatRunsHere(t *testing.T) {
	sc := DefaultScenario()
	sc.Duration = 24 * time.Hour
	part := func(e Estimate, what string) EstimatePart {
		for _, p := range e.Parts {
			if strings.HasPrefix(p.What, what) {
				return p
			}
		}
		return EstimatePart{}
	}
	k := part(estimateOf(t, sc), "embedded Kafka log")
	if k.Disk <= 0 || k.Disk > 2*int64(sc.Kafka.Partitions)*(72<<20) {
		t.Fatalf("embedded Kafka over a day: %d bytes, want at most its retention", k.Disk)
	}
	sc.Infra.Mode = "external"
	if p := part(estimateOf(t, sc), "embedded Kafka log"); p.Disk != 0 {
		t.Fatalf("external Kafka counted on this machine: %+v", p)
	}
}
