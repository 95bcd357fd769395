package harness

import (
	"strings"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/workloads"
)

func row(sec int, written int64, p99 float64) TimelineRow {
	return TimelineRow{Second: sec, Written: written, E2EP99MS: p99}
}

func TestRecoveryTimes(t *testing.T) {
	// Seconds 1..20: a fault 5–8 s spikes p99 until second 10; a second fault 14–16 s
	// spikes it until 18 and nothing is acknowledged at 15–16.
	var rows []TimelineRow
	for s := 1; s <= 20; s++ {
		p99, w := 100.0, int64(1000)
		switch {
		case s >= 6 && s <= 10:
			p99 = 8000
		case s == 15 || s == 16:
			p99, w = 0, 0
		case s >= 17 && s <= 18:
			p99 = 9000
		}
		rows = append(rows, row(s, w, p99))
	}
	faults := []FaultResult{
		{FaultSpec: FaultSpec{Kind: FaultQdrantErrors}, StartS: 5, EndS: 8},
		{FaultSpec: FaultSpec{Kind: FaultQdrantDown}, StartS: 14, EndS: 16.5},
		{FaultSpec: FaultSpec{Kind: FaultQdrantSlow}, StartS: 2, EndS: 3, Error: "refused"},
	}
	recoveryTimes(faults, rows, time.Second)
	// The first fault recovers at second 11 (its end is 8): 3 s; the second fault's
	// spike after 14 s is not held against it.
	if f := faults[0]; !f.Recovered || f.RTOSeconds != 3 {
		t.Errorf("first fault: recovered %v, RTO %v; want true, 3", f.Recovered, f.RTOSeconds)
	}
	if f := faults[1]; !f.Recovered || f.RTOSeconds != 19-16.5 {
		t.Errorf("second fault: recovered %v, RTO %v; want true, 2.5", f.Recovered, f.RTOSeconds)
	}
	if f := faults[2]; f.Recovered {
		t.Errorf("a fault that did not run recovered: %+v", f)
	}
	// A fault still in force when another ends: the other recovers with it.
	overlap := []FaultResult{
		{FaultSpec: FaultSpec{Kind: FaultQdrantSlow}, StartS: 4, EndS: 6},
		{FaultSpec: FaultSpec{Kind: FaultQdrantDown}, StartS: 5, EndS: 8},
	}
	recoveryTimes(overlap, rows[:12], time.Second)
	if f := overlap[0]; !f.Recovered || f.RTOSeconds != 11-6 {
		t.Errorf("overlapped fault: recovered %v, RTO %v; want true, 5 (recovered with the longer one)", f.Recovered, f.RTOSeconds)
	}
	// A fault whose effects last past the end of the timeline never recovers.
	never := []FaultResult{{FaultSpec: FaultSpec{Kind: FaultQdrantDown}, StartS: 18, EndS: 19}}
	rows[19].E2EP99MS = 5000
	recoveryTimes(never, rows, time.Second)
	if never[0].Recovered || never[0].RTOSeconds != 0 {
		t.Errorf("unrecovered fault: %+v", never[0])
	}
}

func TestFaultValidation(t *testing.T) {
	sc := DefaultScenario()
	sc.Faults = []FaultSpec{
		{Kind: "meteor", At: time.Second, Duration: time.Second},
		{Kind: FaultQdrantSlow, At: time.Second, Duration: time.Second},
		{Kind: FaultQdrantErrors, At: time.Second, Duration: time.Second, Ratio: 2},
		{Kind: FaultPipelineCrash, At: time.Second},
		{Kind: FaultKafkaBrokerRestart, At: time.Second, Duration: time.Second},
		{Kind: FaultQdrantDown, At: 30 * time.Second, Duration: 10 * time.Second},
		{Kind: FaultQdrantDown, At: time.Second, Duration: time.Second, StopCommand: []string{"true"}},
	}
	err := sc.Validate()
	if err == nil {
		t.Fatal("Validate accepted bad faults")
	}
	for _, want := range []string{
		"faults[0].kind: unknown fault \"meteor\"",
		"faults[1].latency",
		"faults[2].ratio",
		"faults[3].kind: pipeline_crash kills a pipeline process",
		"faults[4].kind: kafka_broker_restart needs infra.mode external",
		"faults[5].duration: the fault must end before the load does",
		"faults[6].stop_command",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	sc.Faults = []FaultSpec{{Kind: FaultQdrantDown, At: time.Second, Duration: time.Second}}
	if err := sc.Validate(); err != nil {
		t.Errorf("a good fault: %v", err)
	}
}

func TestMalformedBurstFromFault(t *testing.T) {
	sc := DefaultScenario()
	sc.Load = workloads.Profile{Kind: "constant", Rate: 100}
	sc.Warmup, sc.Duration = 0, 10*time.Second
	sc.Faults = []FaultSpec{{Kind: FaultMalformedBurst, At: 2 * time.Second, Duration: 3 * time.Second, Ratio: 0.5}}
	cfg, err := sc.GeneratorConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := []workloads.MalformedBurst{{From: 200, To: 500, Fraction: 0.5}}
	if len(cfg.MalformedBursts) != 1 || cfg.MalformedBursts[0] != want[0] {
		t.Errorf("bursts %+v, want %+v", cfg.MalformedBursts, want)
	}
}
