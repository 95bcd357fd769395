package harness

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/internal/problem"
)

var allFaultKinds = []string{FaultKafkaBrokerRestart, FaultMalformedBurst, FaultPipelineCrash, FaultQdrantDown, FaultQdrantErrors, FaultQdrantSlow}

func TestFaultRegistry(t *testing.T) {
	t.Parallel()
	if got := faultKindNames(); !slices.Equal(got, allFaultKinds) {
		t.Errorf("registered kinds %q, want %q", got, allFaultKinds)
	}
	for _, kind := range allFaultKinds {
		if f, bad := newFault(FaultSpec{Kind: kind}); f == nil || bad != nil {
			t.Errorf("%s: newFault = %v, %v", kind, f, bad)
		}
	}
	sc := DefaultScenario()
	sc.Faults = []FaultSpec{{Kind: FaultQdrantDown, At: time.Second, Duration: time.Second}, {Kind: "meteor", At: time.Second, Duration: time.Second}}
	ps := sc.checkFaults()
	if len(ps) != 1 || ps[0].Path != "faults[1].kind" {
		t.Fatalf("problems %v, want one at faults[1].kind", ps)
	}
	want := `unknown fault "meteor" (want one of ` + strings.Join(allFaultKinds, ", ") + ")"
	if ps[0].Msg != want {
		t.Errorf("unknown kind: %q, want %q", ps[0].Msg, want)
	}
}

// messages returns the problems as "path: msg".
func messages(ps []problem.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Error()
	}
	return out
}

func TestFaultCheck(t *testing.T) {
	t.Parallel()
	external := func(sc *Scenario) { sc.Infra.Mode = infra.ModeExternal }
	process := func(sc *Scenario) { sc.Infra.PipelineProcess = true }
	win := FaultSpec{At: time.Second, Duration: time.Second}
	with := func(kind string, edit func(*FaultSpec)) FaultSpec {
		f := win
		f.Kind = kind
		if edit != nil {
			edit(&f)
		}
		return f
	}
	for _, tc := range []struct {
		name  string
		spec  FaultSpec
		scen  func(*Scenario)
		wants []string // each a prefix of one problem, in order; none: valid
	}{
		{"qdrant_down ok", with(FaultQdrantDown, nil), nil, nil},
		{"qdrant_down external without control", with(FaultQdrantDown, nil), external,
			[]string{"kind: qdrant_down makes the Qdrant stand-in misbehave: in external mode it needs infra.qdrant_control"}},
		{"qdrant_down external with control", with(FaultQdrantDown, nil), func(sc *Scenario) { external(sc); sc.Infra.QdrantControl = "http://127.0.0.1:1" }, nil},
		{"qdrant_down commands", with(FaultQdrantDown, func(f *FaultSpec) { f.StartCommand = []string{"true"} }), nil,
			[]string{"stop_command: only kafka_broker_restart runs commands"}},
		{"qdrant_slow ok", with(FaultQdrantSlow, func(f *FaultSpec) { f.Latency = time.Second }), nil, nil},
		{"qdrant_slow no latency", with(FaultQdrantSlow, nil), nil, []string{"latency: qdrant_slow needs a latency in (0, 1m], got 0s"}},
		{"qdrant_slow too slow", with(FaultQdrantSlow, func(f *FaultSpec) { f.Latency = 2 * time.Minute }), external,
			[]string{"latency: qdrant_slow needs a latency in (0, 1m], got 2m0s", "kind: qdrant_slow makes"}},
		{"qdrant_errors ok", with(FaultQdrantErrors, func(f *FaultSpec) { f.Ratio = 1 }), nil, nil},
		{"qdrant_errors ratio", with(FaultQdrantErrors, func(f *FaultSpec) { f.Ratio = 2 }), nil, []string{"ratio: qdrant_errors needs a ratio in (0, 1], got 2"}},
		{"malformed_burst ok", with(FaultMalformedBurst, func(f *FaultSpec) { f.Ratio = 0.5 }), nil, nil},
		{"malformed_burst ratio and window", with(FaultMalformedBurst, func(f *FaultSpec) { f.At, f.Duration = -time.Second, 0 }), nil,
			[]string{"ratio: malformed_burst needs a ratio in (0, 1], got 0", "at: must be >= 0, got -1s", "duration: must be > 0 (pipeline_crash: >= 0"}},
		{"kafka_broker_restart ok", with(FaultKafkaBrokerRestart, func(f *FaultSpec) { f.StopCommand = []string{"true"} }), external, nil},
		{"kafka_broker_restart embedded", with(FaultKafkaBrokerRestart, nil), nil,
			[]string{`kind: kafka_broker_restart needs infra.mode external (a real broker that stop_command and start_command control), got "embedded"`}},
		{"pipeline_crash ok, zero duration", with(FaultPipelineCrash, func(f *FaultSpec) { f.Duration = 0 }), process, nil},
		{"pipeline_crash in process", with(FaultPipelineCrash, nil), nil, []string{"kind: pipeline_crash kills a pipeline process"}},
		{"pipeline_crash two processes", with(FaultPipelineCrash, nil), func(sc *Scenario) { process(sc); sc.Infra.PipelineProcesses = 2 }, []string{"kind: pipeline_crash kills"}},
		{"pipeline_crash negative duration, commands", with(FaultPipelineCrash, func(f *FaultSpec) { f.Duration, f.StopCommand = -time.Second, []string{"x"} }), process,
			[]string{"stop_command: only kafka_broker_restart", "duration: must be > 0 (pipeline_crash: >= 0, the time before the new process starts), got -1s"}},
		{"after the load", with(FaultQdrantDown, func(f *FaultSpec) { f.At = 35 * time.Second }), nil,
			[]string{"duration: the fault must end before the load does: at 35s + duration 1s > warmup + duration = 35s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := DefaultScenario()
			if tc.scen != nil {
				tc.scen(&sc)
			}
			f, bad := newFault(tc.spec)
			if bad != nil {
				t.Fatal(bad)
			}
			got := messages(f.Check(&sc))
			if len(got) != len(tc.wants) {
				t.Fatalf("problems %q, want %d: %q", got, len(tc.wants), tc.wants)
			}
			for i, w := range tc.wants {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("problem %d: %q, want it to start with %q", i, got[i], w)
				}
			}
		})
	}
}

// recordingQdrant is an infra.QdrantFaults that records what it was told.
type recordingQdrant struct {
	mu    sync.Mutex
	calls []string
	ins   []infra.Injection
}

func (r *recordingQdrant) Inject(_ context.Context, in infra.Injection) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls, r.ins = append(r.calls, "inject "+in.Kind), append(r.ins, in)
	return nil
}

func (r *recordingQdrant) Clear(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "clear")
	return nil
}

// slowCrasher is a crasher whose restart takes restart.
type slowCrasher struct {
	restart time.Duration
	killErr error
}

func (c slowCrasher) Kill(context.Context) error { return c.killErr }
func (c slowCrasher) Restart(context.Context) error {
	time.Sleep(c.restart) // inside a synctest bubble: fake time
	return nil
}

func TestFaultRunnerWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &recordingQdrant{}
		env := &infra.Env{QdrantFaults: q, QdrantLabel: "test"}
		specs := []FaultSpec{
			{Kind: FaultQdrantSlow, At: time.Second, Duration: 2 * time.Second, Latency: 300 * time.Millisecond},
			{Kind: FaultPipelineCrash, At: 4 * time.Second, Duration: time.Second},
			{Kind: FaultQdrantErrors, At: 7 * time.Second, Duration: time.Second, Ratio: 0.25},
			{Kind: FaultMalformedBurst, At: 9 * time.Second, Duration: time.Second, Ratio: 0.5},
		}
		fr := newFaultRunner(specs, env, slowCrasher{restart: 3 * time.Second}, time.Now(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := fr.check(); err != nil {
			t.Fatal(err)
		}
		fr.run(t.Context())
		res := fr.finish()
		wantCalls := []string{"inject slow", "clear", "inject errors", "clear"}
		if !slices.Equal(q.calls, wantCalls) {
			t.Errorf("qdrant calls %q, want %q", q.calls, wantCalls)
		}
		wantIns := []infra.Injection{{Kind: infra.InjectSlow, Latency: 300 * time.Millisecond}, {Kind: infra.InjectErrors, Ratio: 0.25}}
		if !slices.Equal(q.ins, wantIns) {
			t.Errorf("injections %+v, want %+v", q.ins, wantIns)
		}
		// The crash's window closes when the restart begins, not when it returns.
		wantWin := [][2]float64{{1, 3}, {4, 5}, {7, 8}, {9, 10}}
		for i, r := range res {
			if r.StartS != wantWin[i][0] || r.EndS != wantWin[i][1] || r.Error != "" || r.RTOSeconds != -1 {
				t.Errorf("fault %d (%s): %+v, want window %v, no error, RTO -1", i, r.Kind, r, wantWin[i])
			}
		}
	})
}

func TestFaultRunnerErrors(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Ready: a Qdrant fault against a Qdrant that cannot misbehave, a crash with no
	// process, an unknown kind.
	for _, tc := range []struct {
		spec FaultSpec
		want string
	}{
		{FaultSpec{Kind: FaultQdrantDown}, "bad configuration: faults[0]: qdrant_down needs the Qdrant stand-in (embedded, or infra serve's control_url as infra.qdrant_control); real Qdrant cannot be told to misbehave"},
		{FaultSpec{Kind: FaultPipelineCrash}, "bad configuration: faults[0]: pipeline_crash needs the pipeline in a process of its own"},
		{FaultSpec{Kind: "meteor"}, `bad configuration: faults[0].kind: unknown fault "meteor"`},
	} {
		fr := newFaultRunner([]FaultSpec{tc.spec}, &infra.Env{QdrantLabel: "real Qdrant"}, nil, time.Now(), discard)
		err := fr.check()
		if !errors.Is(err, exitcode.ErrConfig) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: check = %v, want exitcode.ErrConfig starting %q", tc.spec.Kind, err, tc.want)
		}
	}
	// A fault that cannot begin records its error and is not ended.
	synctest.Test(t, func(t *testing.T) {
		specs := []FaultSpec{{Kind: FaultPipelineCrash, At: time.Second, Duration: time.Second}}
		fr := newFaultRunner(specs, &infra.Env{}, slowCrasher{killErr: errors.New("no such process")}, time.Now(), discard)
		fr.run(t.Context())
		r := fr.finish()[0]
		if r.Error != "no such process" || r.StartS != 1 || r.EndS != 1 {
			t.Errorf("failed fault: %+v", r)
		}
	})
}
