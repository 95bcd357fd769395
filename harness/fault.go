package harness

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vectorstream/vectorstream/infra/faultproxy"
	"github.com/vectorstream/vectorstream/internal/problem"
)

// Fault is one kind of fault, made from its FaultSpec by the constructor its kind
// registered. Each kind lives in a file of its own (fault_<kind>.go) and registers
// itself in an init func, so adding a kind is adding a file. The window (waiting
// for At, holding for Duration, recording what happened) is the fault runner's,
// not the kind's.
type Fault interface {
	// Check returns what is wrong with this fault in scenario s, before anything
	// runs. Paths are relative to the fault's entry of `faults:` ("ratio", "kind").
	Check(s *Scenario) []problem.Problem
	// Ready reports, before any load, why the fault cannot act on t (nil if it can).
	Ready(t faultTargets) error
	// Begin starts the fault on t.
	Begin(ctx context.Context, t faultTargets) error
	// End ends it; it is always called once Begin succeeded, with a context that
	// the run's cancellation does not end.
	End(ctx context.Context, t faultTargets) error
}

// faultTargets are what faults act on: endpoints and processes of the run, in the
// terms of the packages that own them (never a fake's type).
type faultTargets struct {
	// qdrant and kafka are the fault proxies in front of Qdrant and Kafka (see
	// wire); nil when the scenario has no fault on that wire.
	qdrant qdrantWire
	kafka  kafkaWire
	// pipeline kills and restarts the pipeline process; nil unless the pipeline
	// runs as a restartable process of its own.
	pipeline crasher
	// broker stops and starts the Kafka broker's container (containers mode);
	// nil elsewhere, where kafka_broker_restart runs its commands.
	broker brokerRestarter
}

// brokerRestarter stops and starts the Kafka broker (kafka_broker_restart).
type brokerRestarter interface {
	Stop(ctx context.Context) error
	// Start returns once the broker answers.
	Start(ctx context.Context) error
}

// qdrantWire is the gRPC fault proxy in front of Qdrant (*faultproxy.GRPC), as
// the faults act on it.
type qdrantWire interface {
	Inject(faultproxy.GRPCFault) error
	Clear() error
}

// kafkaWire is the TCP fault proxy in front of Kafka (*faultproxy.TCP), as the
// faults act on it.
type kafkaWire interface {
	Inject(faultproxy.TCPFault) error
	Clear() error
}

// endsWhenEndCalled is implemented by kinds whose window closes when End is
// called rather than when it returns: a crash ends when the new process is
// started, and its start-up (model load, joining the group) is recovery.
type endsWhenEndCalled interface{ endsWhenEndCalled() }

// faultKinds maps each kind's name to its constructor.
var faultKinds = map[string]func(FaultSpec) Fault{}

// registerFault makes a kind known; each kind's file calls it from init.
func registerFault(kind string, newFault func(FaultSpec) Fault) {
	if _, dup := faultKinds[kind]; dup {
		panic("harness: fault kind " + kind + " registered twice")
	}
	faultKinds[kind] = newFault
}

// faultKindNames returns the names of the known kinds, sorted.
func faultKindNames() []string {
	names := make([]string, 0, len(faultKinds))
	for k := range faultKinds {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// newFault makes the fault spec asks for, or returns the problem of an unknown
// kind, which names the known ones.
func newFault(spec FaultSpec) (Fault, []problem.Problem) {
	mk, ok := faultKinds[spec.Kind]
	if !ok {
		return nil, []problem.Problem{{
			Path: "kind",
			Msg:  fmt.Sprintf("unknown fault %q (want one of %s)", spec.Kind, strings.Join(faultKindNames(), ", ")),
		}}
	}
	return mk(spec), nil
}

// checkFaults returns the problems of every fault of the scenario's `faults:`
// list, with paths such as "faults[2].ratio".
func (s *Scenario) checkFaults() []problem.Problem {
	var l problem.List
	for i, spec := range s.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		f, bad := newFault(spec)
		if bad != nil {
			l.Under(p, bad)
			continue
		}
		l.Under(p, f.Check(s))
	}
	return l
}

// checkWindow returns the problems of a fault's window in scenario s: it starts
// at or after the load and ends before the load does. instant allows a zero
// duration (pipeline_crash: the time before the new process starts).
func checkWindow(s *Scenario, f FaultSpec, instant bool) []problem.Problem {
	var l problem.List
	if f.At < 0 {
		l.Add("at", "must be >= 0, got %v", f.At)
	}
	if f.Duration < 0 || (f.Duration == 0 && !instant) {
		l.Add("duration", "must be > 0 (pipeline_crash: >= 0, the time before the new process starts), got %v", f.Duration)
	}
	if total := s.Warmup + s.Duration; f.At+f.Duration > total {
		l.Add("duration", "the fault must end before the load does: at %v + duration %v > warmup + duration = %v", f.At, f.Duration, total)
	}
	return l
}

// checkNoCommands returns a problem when a fault that runs no commands has some.
func checkNoCommands(f FaultSpec) []problem.Problem {
	if len(f.StopCommand) > 0 || len(f.StartCommand) > 0 {
		return []problem.Problem{{Path: "stop_command", Msg: "only kafka_broker_restart runs commands"}}
	}
	return nil
}

// checkRatio returns a problem when the fault's ratio is not a share in (0, 1].
func checkRatio(f FaultSpec) []problem.Problem {
	if !(f.Ratio > 0 && f.Ratio <= 1) {
		return []problem.Problem{{Path: "ratio", Msg: fmt.Sprintf("%s needs a ratio in (0, 1], got %v", f.Kind, f.Ratio)}}
	}
	return nil
}

// hasFault reports whether the scenario injects a fault of the kind.
func (s *Scenario) hasFault(kind string) bool {
	for _, f := range s.Faults {
		if f.Kind == kind {
			return true
		}
	}
	return false
}
