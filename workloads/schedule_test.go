package workloads_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/vectorstream/vectorstream/workloads"
)

func dur(d time.Duration) workloads.Duration { return workloads.Duration(d) }

func mustSchedule(t *testing.T, p workloads.Profile, d time.Duration) *workloads.Schedule {
	t.Helper()
	s, err := workloads.NewSchedule(p, d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScheduleExact(t *testing.T) {
	t.Parallel()
	type at struct {
		i    int64
		want time.Duration
	}
	ms := time.Millisecond
	cases := []struct {
		name  string
		p     workloads.Profile
		d     time.Duration
		count int64
		at    []at
		rate  map[time.Duration]float64
	}{
		{
			name: "constant", p: workloads.Profile{Kind: "constant", Rate: 1000}, d: 10 * time.Second, count: 10000,
			at:   []at{{0, 0}, {1, ms}, {999, 999 * ms}, {1000, time.Second}, {10000, 10 * time.Second}},
			rate: map[time.Duration]float64{0: 1000, 5 * time.Second: 1000},
		},
		{
			name: "constant fractional", p: workloads.Profile{Kind: "constant", Rate: 3}, d: time.Second, count: 3,
			at: []at{{1, 333333333}, {2, 666666667}, {3, time.Second}},
		},
		{
			// N(t) = 5t², At(i) = sqrt(i/5) s
			name: "ramp", p: workloads.Profile{Kind: "ramp", From: 0, To: 100, Over: dur(10 * time.Second)}, d: 10 * time.Second, count: 500,
			at: []at{{0, 0}, {5, time.Second}, {20, 2 * time.Second}, {45, 3 * time.Second}, {125, 5 * time.Second}, {500, 10 * time.Second},
				{7, time.Duration(math.Round(math.Sqrt(7.0/5) * 1e9))},
				{600, 11 * time.Second}}, // after the ramp: 100/s
			rate: map[time.Duration]float64{0: 0, 5 * time.Second: 50, 10 * time.Second: 100, time.Hour: 100},
		},
		{
			// ramp down 100→0 over 10s: N(t) = 100t − 5t², total 500, then nothing
			name: "ramp down", p: workloads.Profile{Kind: "ramp", From: 100, To: 0, Over: dur(10 * time.Second)}, d: 20 * time.Second, count: 500,
			at: []at{{100, time.Duration(math.Round((10 - math.Sqrt(80)) * 1e9))}, {375, 5 * time.Second}, {499, time.Duration(math.Round((10 - math.Sqrt(0.2)) * 1e9))}, {500, workloads.Never}},
		},
		{
			// ramp over the whole run when over is 0
			name: "ramp whole run", p: workloads.Profile{Kind: "ramp", From: 0, To: 100}, d: 10 * time.Second, count: 500,
			at: []at{{5, time.Second}, {500, 10 * time.Second}},
		},
		{
			// 100/s for 2s, 200/s for 1s, pause for 1s, then 50/s
			name: "step",
			p: workloads.Profile{Kind: "step", Rate: 100, Steps: []workloads.Step{
				{At: dur(2 * time.Second), Rate: 200}, {At: dur(3 * time.Second), Rate: 0}, {At: dur(4 * time.Second), Rate: 50}}},
			d: 6 * time.Second, count: 200 + 200 + 0 + 100,
			at:   []at{{199, 1990 * ms}, {200, 2 * time.Second}, {201, 2005 * ms}, {399, 2995 * ms}, {400, 4 * time.Second}, {401, 4020 * ms}, {500, 6 * time.Second}},
			rate: map[time.Duration]float64{time.Second: 100, 2 * time.Second: 200, 3500 * ms: 0, 4 * time.Second: 50},
		},
		{
			name: "step at zero", p: workloads.Profile{Kind: "step", Rate: 1, Steps: []workloads.Step{{At: 0, Rate: 10}}}, d: time.Second, count: 10,
			at: []at{{1, 100 * ms}},
		},
		{
			// 10/s, 100/s during [5s, 7s), then 10/s: 50 + 200 + 30
			name: "spike", p: workloads.Profile{Kind: "spike", Rate: 10, SpikeRate: 100, SpikeAt: dur(5 * time.Second), SpikeFor: dur(2 * time.Second)}, d: 10 * time.Second, count: 280,
			at:   []at{{49, 4900 * ms}, {50, 5 * time.Second}, {51, 5010 * ms}, {250, 7 * time.Second}, {251, 7100 * ms}, {280, 10 * time.Second}},
			rate: map[time.Duration]float64{4999 * ms: 10, 5 * time.Second: 100, 6999 * ms: 100, 7 * time.Second: 10},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSchedule(t, tc.p, tc.d)
			if got := s.Count(); got != tc.count {
				t.Errorf("Count() = %d, want %d", got, tc.count)
			}
			for _, a := range tc.at {
				if got := s.At(a.i); got != a.want {
					t.Errorf("At(%d) = %v, want %v", a.i, got, a.want)
				}
			}
			for off, want := range tc.rate {
				if got := s.RateAt(off); math.Abs(got-want) > 1e-9 {
					t.Errorf("RateAt(%v) = %v, want %v", off, got, want)
				}
			}
			// Count agrees with At, and At never decreases.
			c := s.Count()
			if c > 0 && s.At(c-1) >= tc.d {
				t.Errorf("At(Count-1) = %v >= duration", s.At(c-1))
			}
			if s.At(c) < tc.d {
				t.Errorf("At(Count) = %v < duration", s.At(c))
			}
			for i := int64(1); i <= c; i++ {
				if s.At(i) < s.At(i-1) {
					t.Fatalf("At(%d) = %v < At(%d) = %v", i, s.At(i), i-1, s.At(i-1))
				}
			}
		})
	}
}

func TestProfileValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		p    workloads.Profile
		want []string
	}{
		{workloads.Profile{Kind: "constant"}, []string{"rate: must be > 0"}},
		{workloads.Profile{Kind: "constant", Rate: 1, From: 2}, []string{"from: not used"}},
		{workloads.Profile{Kind: "ramp", From: -1}, []string{"from: must be >= 0"}},
		{workloads.Profile{Kind: "ramp"}, []string{"to: from and to cannot both be 0"}},
		{workloads.Profile{Kind: "step", Rate: 1}, []string{"steps: must list"}},
		{workloads.Profile{Kind: "step", Rate: 1, Steps: []workloads.Step{{At: dur(2 * time.Second), Rate: 1}, {At: dur(time.Second), Rate: -1}}},
			[]string{"steps[1].at: must be after steps[0].at", "steps[1].rate: must be >= 0"}},
		{workloads.Profile{Kind: "spike", Rate: 1}, []string{"spike_rate: must be > 0", "spike_for: must be > 0"}},
		{workloads.Profile{Kind: "sine"}, []string{`kind: unknown "sine"`}},
		{workloads.Profile{}, []string{"kind: missing"}},
		{workloads.Profile{Kind: "constant", Rate: math.NaN()}, []string{"rate: must be > 0"}},
	}
	for _, tc := range cases {
		err := tc.p.Validate()
		if err == nil {
			t.Errorf("%+v: no error", tc.p)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q lacks %q", tc.p, err, w)
			}
		}
		if _, err := workloads.NewSchedule(tc.p, time.Second); err == nil {
			t.Errorf("NewSchedule accepted %+v", tc.p)
		}
	}
	if _, err := workloads.NewSchedule(workloads.Profile{Kind: "constant", Rate: 1}, 0); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Errorf("zero duration: %v", err)
	}
}

func TestProfileYAMLAndJSON(t *testing.T) {
	t.Parallel()
	const y = `
kind: step
rate: 100
steps:
  - at: 30s
    rate: 500
  - at: 1m30s
    rate: 0
`
	var p workloads.Profile
	if err := yaml.Unmarshal([]byte(y), &p); err != nil {
		t.Fatal(err)
	}
	want := workloads.Profile{Kind: "step", Rate: 100, Steps: []workloads.Step{{At: dur(30 * time.Second), Rate: 500}, {At: dur(90 * time.Second), Rate: 0}}}
	if p.Kind != want.Kind || p.Rate != want.Rate || len(p.Steps) != 2 || p.Steps[0] != want.Steps[0] || p.Steps[1] != want.Steps[1] {
		t.Fatalf("yaml: got %+v, want %+v", p, want)
	}
	out, err := yaml.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "at: 30s") {
		t.Errorf("yaml marshal: %s", out)
	}
	if err := yaml.Unmarshal([]byte("kind: spike\nspike_at: soon\n"), &p); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Errorf("bad yaml duration: %v", err)
	}

	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"at":"30s"`) {
		t.Errorf("json marshal: %s", js)
	}
	var back workloads.Profile
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Steps[1].At != want.Steps[1].At {
		t.Errorf("json round trip: %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"kind":"spike","spike_for":5}`), &back); err == nil {
		t.Error("json accepted a bare number duration")
	}
}
