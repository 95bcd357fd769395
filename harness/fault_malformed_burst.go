package harness

import (
	"context"

	"github.com/vectorstream/vectorstream/internal/problem"
	"github.com/vectorstream/vectorstream/workloads"
)

// FaultMalformedBurst makes a share Ratio of the events sent in the window
// malformed. It is in the stream itself (see applyBursts): Begin and End do
// nothing.
const FaultMalformedBurst = "malformed_burst"

func init() { registerFault(FaultMalformedBurst, newMalformedBurst) }

// malformedBurst is a malformed_burst fault.
type malformedBurst struct{ spec FaultSpec }

func newMalformedBurst(spec FaultSpec) Fault { return malformedBurst{spec} }

// Check needs a ratio in (0, 1].
func (f malformedBurst) Check(s *Scenario) []problem.Problem {
	l := checkRatio(f.spec)
	l = append(l, checkNoCommands(f.spec)...)
	return append(l, checkWindow(s, f.spec, false)...)
}

// Ready always succeeds: the burst needs nothing but the load generator.
func (malformedBurst) Ready(faultTargets) error { return nil }

// Begin does nothing: the generator already planted the burst.
func (malformedBurst) Begin(context.Context, faultTargets) error { return nil }

// End does nothing.
func (malformedBurst) End(context.Context, faultTargets) error { return nil }

// applyBursts turns the scenario's malformed_burst faults into stream positions of
// the generator, so that regenerating the stream for verification reproduces them.
func (s *Scenario) applyBursts(cfg *workloads.GeneratorConfig) error {
	var sched *workloads.Schedule
	for _, f := range s.Faults {
		if f.Kind != FaultMalformedBurst {
			continue
		}
		if sched == nil {
			var err error
			if sched, err = workloadsSchedule(s); err != nil {
				return err
			}
		}
		cfg.MalformedBursts = append(cfg.MalformedBursts, workloads.MalformedBurst{
			From: sched.CountBefore(f.At), To: sched.CountBefore(f.At + f.Duration), Fraction: f.Ratio,
		})
	}
	return nil
}
