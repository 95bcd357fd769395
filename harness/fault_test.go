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
	"github.com/vectorstream/vectorstream/infra/faultproxy"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/internal/problem"
	"google.golang.org/grpc/codes"
)

var allFaultKinds = []string{FaultKafkaBrokerRestart, FaultKafkaLatency, FaultKafkaPartition, FaultMalformedBurst, FaultPipelineCrash,
	FaultQdrantDown, FaultQdrantErrors, FaultQdrantPartition, FaultQdrantSlow}

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
		{"qdrant_down external", with(FaultQdrantDown, nil), external, nil},
		{"qdrant_down external with TLS", with(FaultQdrantDown, nil), func(sc *Scenario) { external(sc); sc.Infra.Security.QdrantTLS.Enabled = true },
			[]string{"kind: qdrant_down puts a plaintext fault proxy in front of Qdrant, and infra.qdrant_tls is enabled"}},
		{"qdrant_partition containers", with(FaultQdrantPartition, nil), func(sc *Scenario) { sc.Infra.Mode = infra.ModeContainers },
			[]string{"kind: qdrant_partition needs infra.mode embedded or external"}},
		{"qdrant_down commands", with(FaultQdrantDown, func(f *FaultSpec) { f.StartCommand = []string{"true"} }), nil,
			[]string{"stop_command: only kafka_broker_restart runs commands"}},
		{"qdrant_slow ok", with(FaultQdrantSlow, func(f *FaultSpec) { f.Latency = time.Second }), nil, nil},
		{"qdrant_slow no latency", with(FaultQdrantSlow, nil), nil, []string{"latency: qdrant_slow needs a latency in (0, 1m], got 0s"}},
		{"qdrant_slow too slow", with(FaultQdrantSlow, func(f *FaultSpec) { f.Latency = 2 * time.Minute }), external,
			[]string{"latency: qdrant_slow needs a latency in (0, 1m], got 2m0s"}},
		{"qdrant_errors ok", with(FaultQdrantErrors, func(f *FaultSpec) { f.Ratio = 1 }), nil, nil},
		{"qdrant_errors ratio", with(FaultQdrantErrors, func(f *FaultSpec) { f.Ratio = 2 }), nil, []string{"ratio: qdrant_errors needs a ratio in (0, 1], got 2"}},
		{"qdrant_errors code", with(FaultQdrantErrors, func(f *FaultSpec) { f.Ratio, f.Code = 0.5, "resource_exhausted" }), nil, nil},
		{"qdrant_errors bad code", with(FaultQdrantErrors, func(f *FaultSpec) { f.Ratio, f.Code = 0.5, "OK" }), nil,
			[]string{`code: unknown gRPC status "OK"`}},
		{"kafka_partition ok", with(FaultKafkaPartition, nil), nil, nil},
		{"kafka_partition external without proxy", with(FaultKafkaPartition, nil), func(sc *Scenario) { external(sc); sc.Infra.Brokers = []string{"a:1", "b:2"} },
			[]string{"kind: kafka_partition in external mode needs infra.kafka_proxy", "kind: kafka_partition in external mode needs a single broker"}},
		{"kafka_partition external", with(FaultKafkaPartition, nil), func(sc *Scenario) {
			external(sc)
			sc.Infra.Brokers, sc.Infra.KafkaProxy = []string{"127.0.0.1:9092"}, "127.0.0.1:19092"
		}, nil},
		{"kafka_latency ok", with(FaultKafkaLatency, func(f *FaultSpec) { f.Latency = 50 * time.Millisecond }), nil, nil},
		{"kafka_latency none", with(FaultKafkaLatency, nil), nil, []string{"latency: kafka_latency needs a latency in [1ms, 1m], got 0s"}},
		{"malformed_burst ok", with(FaultMalformedBurst, func(f *FaultSpec) { f.Ratio = 0.5 }), nil, nil},
		{"malformed_burst ratio and window", with(FaultMalformedBurst, func(f *FaultSpec) { f.At, f.Duration = -time.Second, 0 }), nil,
			[]string{"ratio: malformed_burst needs a ratio in (0, 1], got 0", "at: must be >= 0, got -1s", "duration: must be > 0 (pipeline_crash: >= 0"}},
		{"kafka_broker_restart ok", with(FaultKafkaBrokerRestart, func(f *FaultSpec) { f.StopCommand = []string{"true"} }), external, nil},
		{"kafka_broker_restart embedded", with(FaultKafkaBrokerRestart, nil), nil,
			[]string{`kind: kafka_broker_restart needs infra.mode external (a real broker that stop_command and start_command control) or containers (the Kafka container is stopped and started), got "embedded"`}},
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

// recordingWire is a fault proxy that records what it was told.
type recordingWire struct {
	mu    sync.Mutex
	calls []string
	ins   []faultproxy.GRPCFault
	tcp   []faultproxy.TCPFault
}

func (r *recordingWire) Inject(in faultproxy.GRPCFault) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls, r.ins = append(r.calls, "inject "+in.Kind), append(r.ins, in)
	return nil
}

// recordingKafka is the Kafka side of a recordingWire.
type recordingKafka struct{ *recordingWire }

func (r recordingKafka) Inject(in faultproxy.TCPFault) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls, r.tcp = append(r.calls, "inject kafka "+in.Kind), append(r.tcp, in)
	return nil
}

func (r *recordingWire) Clear() error {
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
		q := &recordingWire{}
		specs := []FaultSpec{
			{Kind: FaultQdrantSlow, At: time.Second, Duration: 2 * time.Second, Latency: 300 * time.Millisecond},
			{Kind: FaultPipelineCrash, At: 4 * time.Second, Duration: time.Second},
			{Kind: FaultQdrantErrors, At: 7 * time.Second, Duration: time.Second, Ratio: 0.25},
			{Kind: FaultMalformedBurst, At: 9 * time.Second, Duration: time.Second, Ratio: 0.5},
			{Kind: FaultKafkaPartition, At: 11 * time.Second, Duration: time.Second},
		}
		targets := faultTargets{qdrant: q, kafka: recordingKafka{q}, pipeline: slowCrasher{restart: 3 * time.Second}}
		fr := newFaultRunner(specs, targets, time.Now(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err := fr.check(); err != nil {
			t.Fatal(err)
		}
		fr.run(t.Context())
		res := fr.finish()
		wantCalls := []string{"inject slow", "clear", "inject errors", "clear", "inject kafka partition", "clear"}
		if !slices.Equal(q.calls, wantCalls) {
			t.Errorf("qdrant calls %q, want %q", q.calls, wantCalls)
		}
		wantIns := []faultproxy.GRPCFault{{Kind: faultproxy.GRPCSlow, Latency: 300 * time.Millisecond}, {Kind: faultproxy.GRPCErrors, Ratio: 0.25, Code: codes.Unavailable}}
		if !slices.Equal(q.ins, wantIns) {
			t.Errorf("injections %+v, want %+v", q.ins, wantIns)
		}
		// The crash's window closes when the restart begins, not when it returns.
		wantWin := [][2]float64{{1, 3}, {4, 5}, {7, 8}, {9, 10}, {11, 12}}
		for i, r := range res {
			if r.StartS != wantWin[i][0] || r.EndS != wantWin[i][1] || r.Error != "" || r.RTOSeconds != -1 {
				t.Errorf("fault %d (%s): %+v, want window %v, no error, RTO -1", i, r.Kind, r, wantWin[i])
			}
		}
	})
}

func TestFaultRunnerErrors(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Ready: a Qdrant or Kafka fault with no proxy in front of the service, a crash
	// with no process, an unknown kind.
	for _, tc := range []struct {
		spec FaultSpec
		want string
	}{
		{FaultSpec{Kind: FaultQdrantDown}, "bad configuration: faults[0]: qdrant_down: no fault proxy in front of Qdrant"},
		{FaultSpec{Kind: FaultKafkaLatency}, "bad configuration: faults[0]: kafka_latency: no fault proxy in front of Kafka"},
		{FaultSpec{Kind: FaultPipelineCrash}, "bad configuration: faults[0]: pipeline_crash needs the pipeline in a process of its own"},
		{FaultSpec{Kind: "meteor"}, `bad configuration: faults[0].kind: unknown fault "meteor"`},
	} {
		fr := newFaultRunner([]FaultSpec{tc.spec}, faultTargets{}, time.Now(), discard)
		err := fr.check()
		if !errors.Is(err, exitcode.ErrConfig) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: check = %v, want exitcode.ErrConfig starting %q", tc.spec.Kind, err, tc.want)
		}
	}
	// A fault that cannot begin records its error and is not ended.
	synctest.Test(t, func(t *testing.T) {
		specs := []FaultSpec{{Kind: FaultPipelineCrash, At: time.Second, Duration: time.Second}}
		fr := newFaultRunner(specs, faultTargets{pipeline: slowCrasher{killErr: errors.New("no such process")}}, time.Now(), discard)
		fr.run(t.Context())
		r := fr.finish()[0]
		if r.Error != "no such process" || r.StartS != 1 || r.EndS != 1 {
			t.Errorf("failed fault: %+v", r)
		}
	})
}
