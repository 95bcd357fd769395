package harness

import (
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vectorstream/vectorstream/internal/measure"
)

// hostSeries builds one sample a second from start: second k has the given host
// busy and nice shares, load average, and harness CPU and run-queue wait (cores),
// its threads put on a CPU 1000 times a second.
type hostSecond struct {
	busy, nice, load float64
	cpu, wait        float64
}

func hostSeries(start time.Time, cores int, secs []hostSecond) []measure.HostSample {
	const ticksPerSec = 100
	s := measure.HostSample{At: start, Cores: cores, HostOK: true, WaitOK: true}
	out := []measure.HostSample{s}
	for _, x := range secs {
		s.At = s.At.Add(time.Second)
		total := uint64(ticksPerSec * cores)
		s.Ticks.Total += total
		s.Ticks.Busy += uint64(math.Round(x.busy * float64(total)))
		s.Ticks.Nice += uint64(math.Round(x.nice * float64(total)))
		s.LoadAvg = x.load
		s.Runnable = int(math.Round(x.load))
		s.CPU += time.Duration(x.cpu * float64(time.Second))
		s.RunQueueWait += time.Duration(x.wait * float64(time.Second))
		s.Slices += 1000 // the threads were put on a CPU 1000 times a second
		out = append(out, s)
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestSummariseHostWindowAndThirds(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Two seconds of warm-up (ignored), then a 6 s window: the first third idle-ish,
	// the middle busier, the last third saturated; then a second of drain (ignored).
	secs := []hostSecond{
		{busy: 1, load: 50, cpu: 2, wait: 2}, {busy: 1, load: 50, cpu: 2, wait: 2}, // warm-up
		{busy: 0.2, load: 1, cpu: 0.2}, {busy: 0.3, load: 1, cpu: 0.2},
		{busy: 0.5, load: 2, cpu: 0.4, wait: 0.1}, {busy: 0.6, load: 3, cpu: 0.4, wait: 0.1},
		{busy: 1, nice: 0.5, load: 6, cpu: 0.3, wait: 0.5}, {busy: 0.9, nice: 0.5, load: 8, cpu: 0.5, wait: 0.3},
		{busy: 1, load: 50, cpu: 2, wait: 2}, // drain
	}
	from, to := start.Add(2*time.Second), start.Add(8*time.Second)
	pipeline := []TimelineRow{{Second: 2, CPUPercent: 900}, {Second: 3, CPUPercent: 50}, {Second: 5, CPUPercent: 150}, {Second: 9, CPUPercent: 900}}
	h := summariseHost(hostSeries(start, 2, secs), start, from, to, pipeline)
	if h == nil {
		t.Fatal("nil summary")
	}
	if h.Cores != 2 || h.Samples != 6 {
		t.Errorf("cores %d samples %d, want 2 and 6", h.Cores, h.Samples)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"load_avg_mean", h.LoadAvgMean, (1 + 1 + 2 + 3 + 6 + 8) / 6.0},
		{"load_avg_max", h.LoadAvgMax, 8},
		{"cpu_busy_percent", h.CPUBusyPercent, 100 * (0.2 + 0.3 + 0.5 + 0.6 + 1 + 0.9) / 6},
		{"cpu_busy_max_percent", h.CPUBusyMaxPercent, 100},
		{"cpu_nice_percent", h.CPUNicePercent, 100 * 1.0 / 6},
		{"first third", h.CPUBusyFirstThirdPercent, 25},
		{"last third", h.CPUBusyLastThirdPercent, 95},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	hp, ok := h.process(ProcessHarness)
	if !ok || !near(hp.CPUCores, 2.0/6) || !near(hp.CPUCoresMax, 0.5) || hp.RunQueueWaitCores == nil || !near(*hp.RunQueueWaitCores, 1.0/6) {
		t.Errorf("harness = %+v (wait %v), want 0.333 core, max 0.5, wait 0.167", hp, hp.RunQueueWaitCores)
	}
	// 1 s of wait over 6000 times on a CPU in the window.
	if r := hp.RunQueueWaitPerRunMS; r == nil || !near(*r, 1000.0/6000) {
		t.Errorf("wait per run = %v, want 0.1667 ms", r)
	}
	pp, ok := h.process(ProcessPipeline)
	if !ok || !near(pp.CPUCores, 1) || !near(pp.CPUCoresMax, 1.5) {
		t.Errorf("pipeline = %+v (ok %v), want the rows of seconds 3 and 5 only: 1 core, max 1.5", pp, ok)
	}
}

func TestSummariseHostNothingMeasured(t *testing.T) {
	t.Parallel()
	start := time.Now()
	if h := summariseHost(hostSeries(start, 2, nil), start, start, start.Add(time.Second), nil); h != nil {
		t.Errorf("no interval in the window: %+v, want nil", h)
	}
	// Without /proc (HostOK, WaitOK false) the harness's CPU is still summed; the
	// host's figures and the wait are marked as not measured.
	s := hostSeries(start, 4, []hostSecond{{busy: 1, cpu: 0.5}, {busy: 1, cpu: 0.5}})
	for i := range s {
		s[i].HostOK, s[i].WaitOK = false, false
	}
	h := summariseHost(s, start, start, start.Add(2*time.Second), nil)
	if h == nil || h.Samples != 0 || len(h.Processes) != 1 || !near(h.Processes[0].CPUCores, 0.5) || h.Processes[0].RunQueueWaitCores != nil || h.Processes[0].RunQueueWaitPerRunMS != nil {
		t.Errorf("no host counters: %+v", h)
	}
}

func TestHostSamplerTicksOnTheTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now().Add(300 * time.Millisecond) // the load starts a little later
		n := 0
		read := func() measure.HostSample {
			n++
			return measure.HostSample{At: time.Now(), Cores: 2, CPU: time.Duration(n) * 100 * time.Millisecond}
		}
		s := startHostSampler(t.Context(), start, read)
		time.Sleep(300*time.Millisecond + 3500*time.Millisecond)
		s.stop()
		s.stop() // a second stop returns too
		if len(s.samples) != 4 {
			t.Fatalf("%d samples, want a baseline and 3 ticks", len(s.samples))
		}
		for k, smp := range s.samples[1:] {
			if want := start.Add(time.Duration(k+1) * time.Second); !smp.At.Equal(want) {
				t.Errorf("tick %d at %v, want %v", k+1, smp.At.Sub(start), want.Sub(start))
			}
		}
		// The window after the first tick: two whole seconds of 0.1 s CPU each (the
		// baseline's interval, 1.3 s long, lies before it).
		h := s.load(start.Add(time.Second), start.Add(3*time.Second), nil)
		if h == nil || !near(h.Processes[0].CPUCores, 0.1) {
			t.Errorf("load = %+v, want the harness at 0.1 core", h)
		}
	})
}

// invalidBySendDelay is a run whose load generator fell behind (send delay p99
// 96.8 ms against the default 50 ms) and that verification passed, with host load h.
func invalidBySendDelay(h *HostLoad) (*Result, *Scenario) {
	sc := DefaultScenario()
	res := &Result{
		Throughput:   Throughput{FirstThirdEPS: 2000, LastThirdEPS: 2000},
		Verification: Verification{Passed: true},
		Validity:     Validity{SendDelayP99MS: 96.8, Host: h},
	}
	return res, &sc
}

func ptr(v float64) *float64 { return &v }

func TestInvalidReasonNamesTheMeasuredCause(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		host  *HostLoad
		want  []string
		never []string
	}{{
		name: "saturated machine",
		host: &HostLoad{Cores: 2, Samples: 20, LoadAvgMean: 7.4, LoadAvgMax: 9.2, CPUBusyPercent: 99, CPUNicePercent: 3,
			Processes: []ProcessLoad{{Name: ProcessHarness, CPUCores: 0.2, CPUCoresMax: 0.27, RunQueueWaitCores: ptr(0.92), RunQueueWaitPerRunMS: ptr(0.41)}}},
		want: []string{"send delay p99 96.8 ms > 50 ms", "host load avg 7.40 (max 9.20) on 2 cores", "CPU 99% busy (3% niced)",
			"the harness process got 0.20 core (max 0.27) while its threads waited 0.92 s a second for a CPU, 0.410 ms each time on average", "the machine was saturated, not the pipeline"},
		never: []string{"the harness itself was the limit"},
	}, {
		name: "harness-limited on an idle machine",
		host: &HostLoad{Cores: 2, Samples: 20, LoadAvgMean: 0.8, LoadAvgMax: 1.1, CPUBusyPercent: 35, CPUNicePercent: 0,
			Processes: []ProcessLoad{{Name: ProcessHarness, CPUCores: 0.95, CPUCoresMax: 1.0, RunQueueWaitCores: ptr(0.18), RunQueueWaitPerRunMS: ptr(0.041)}}},
		want: []string{"send delay p99 96.8 ms > 50 ms", "host load avg 0.80 (max 1.10) on 2 cores", "CPU 35% busy",
			"got 0.95 core (max 1.00) while its threads waited 0.18 s a second for a CPU, 0.041 ms each time", "(the host was not saturated)", "the harness itself was the limit, not the machine"},
		never: []string{"the machine was saturated"},
	}, {
		name: "nice hogs: the host busy, the harness got its CPU",
		host: &HostLoad{Cores: 2, Samples: 20, LoadAvgMean: 2.5, LoadAvgMax: 3.1, CPUBusyPercent: 100, CPUNicePercent: 80,
			Processes: []ProcessLoad{{Name: ProcessHarness, CPUCores: 0.4, CPUCoresMax: 0.5, RunQueueWaitCores: ptr(0.35), RunQueueWaitPerRunMS: ptr(0.092)}}},
		want:  []string{"CPU 100% busy (80% niced)", "waited 0.35 s a second for a CPU, 0.092 ms each time", "the host was busy, but the harness process got the CPU it asked for", "the harness itself was the limit"},
		never: []string{"the machine was saturated"},
	}, {
		name: "saturated, wait not measured",
		host: &HostLoad{Cores: 2, Samples: 20, LoadAvgMean: 4, LoadAvgMax: 5, CPUBusyPercent: 97,
			Processes: []ProcessLoad{{Name: ProcessHarness, CPUCores: 0.3, CPUCoresMax: 0.4}}},
		want: []string{"got 0.30 core (max 0.40) (its wait for a CPU not measured)", "the machine was saturated"},
	}, {
		name: "not measured",
		want: []string{"send delay p99 96.8 ms > 50 ms", "the host's load was not measured, so the cause is unknown"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, sc := invalidBySendDelay(tc.host)
			judgeValidity(res, sc)
			if res.Validity.Valid || len(res.Validity.Reasons) != 1 {
				t.Fatalf("valid %v, reasons %q: want invalid for the send delay alone (the limit is unchanged)", res.Validity.Valid, res.Validity.Reasons)
			}
			reason := res.Validity.Reasons[0]
			t.Log(reason)
			for _, w := range tc.want {
				if !strings.Contains(reason, w) {
					t.Errorf("reason %q\n lacks %q", reason, w)
				}
			}
			for _, w := range tc.never {
				if strings.Contains(reason, w) {
					t.Errorf("reason %q\n says %q", reason, w)
				}
			}
		})
	}
}

func TestDriftReasonNamesTheThirds(t *testing.T) {
	t.Parallel()
	sc := DefaultScenario()
	host := func(busyLast float64, wait *float64) *HostLoad {
		return &HostLoad{Cores: 2, Samples: 20, LoadAvgMean: 1.5, LoadAvgMax: 2.5, CPUBusyPercent: 92,
			CPUBusyFirstThirdPercent: 80, CPUBusyLastThirdPercent: busyLast,
			Processes: []ProcessLoad{{Name: ProcessHarness, CPUCores: 0.6, CPUCoresMax: 0.9, RunQueueWaitCores: wait, RunQueueWaitPerRunMS: ptr(0.2)}}}
	}
	for _, tc := range []struct {
		name string
		host *HostLoad
		want string
	}{
		{"starved in the last third", host(100, ptr(1.5)), "the machine was saturated, not the pipeline"},
		{"got its CPU", host(100, ptr(0.3)), "the pipeline itself slowed, not the machine"},
	} {
		res := &Result{
			Throughput:   Throughput{FirstThirdEPS: 2000, LastThirdEPS: 1500},
			Verification: Verification{Passed: true},
			Validity:     Validity{ThroughputDrift: 0.25, Host: tc.host},
		}
		judgeValidity(res, &sc)
		if res.Validity.Valid || len(res.Validity.Reasons) != 1 {
			t.Fatalf("%s: valid %v, reasons %q", tc.name, res.Validity.Valid, res.Validity.Reasons)
		}
		r := res.Validity.Reasons[0]
		for _, w := range []string{"differs from the first third (2000/s) by 25.0%", "80% in the first third and 100% in the last", tc.want} {
			if !strings.Contains(r, w) {
				t.Errorf("%s: reason %q\n lacks %q", tc.name, r, w)
			}
		}
	}
}

func TestSummaryStatesTheHostOfAValidRun(t *testing.T) {
	t.Parallel()
	res := &Result{
		Validity: Validity{Valid: true, SendDelayP99MS: 7.5, Host: &HostLoad{Cores: 2, Samples: 20, LoadAvgMean: 6.39, LoadAvgMax: 6.77,
			CPUBusyPercent: 100, CPUNicePercent: 13, Processes: []ProcessLoad{{Name: ProcessHarness, CPUCores: 0.26, CPUCoresMax: 0.43, RunQueueWaitCores: ptr(0.29), RunQueueWaitPerRunMS: ptr(0.09)}}}},
		Verification: Verification{Passed: true},
		Passed:       true,
	}
	var b strings.Builder
	PrintSummary(&b, res)
	want := "\nhost load avg 6.39 (max 6.77) on 2 cores, CPU 100% busy (13% niced); the harness process got 0.26 core (max 0.43) while its threads waited 0.29 s a second for a CPU, 0.090 ms each time on average\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, b.String())
	}
}
