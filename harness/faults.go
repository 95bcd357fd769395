package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// FaultSpec is one fault of a scenario's `faults:` list. At counts from the start of
// the load (warm-up included), the time axis of the timeline and of every plot.
type FaultSpec struct {
	Kind     string        `yaml:"kind" json:"kind"`
	At       time.Duration `yaml:"at" json:"at"`
	Duration time.Duration `yaml:"duration" json:"duration"`
	// Latency is qdrant_slow's added latency per RPC.
	Latency time.Duration `yaml:"latency" json:"latency,omitempty"`
	// Ratio is qdrant_errors' share of failed RPCs and malformed_burst's share of
	// malformed events.
	Ratio float64 `yaml:"ratio" json:"ratio,omitempty"`
	// Code is the gRPC status qdrant_errors answers with, by gRPC's name for it
	// (UNAVAILABLE, RESOURCE_EXHAUSTED, ...); empty means UNAVAILABLE.
	Code string `yaml:"code" json:"code,omitempty"`
	// StopCommand and StartCommand stop and start the broker for kafka_broker_restart
	// (argv; default deploy/kafka/down.sh and deploy/kafka/up.sh).
	StopCommand  []string `yaml:"stop_command" json:"stop_command,omitempty"`
	StartCommand []string `yaml:"start_command" json:"start_command,omitempty"`
}

// FaultResult is what a fault did in a run: its actual window, and how long the
// pipeline took to recover from it.
type FaultResult struct {
	FaultSpec
	// StartS and EndS are the actual window, in seconds from the start of the load.
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// RTOSeconds is the recovery time: from the end of the fault until the e2e p99 of
	// every later second with acknowledged events is back under the recovery level
	// (Gates.RecoveryP99). Negative when it never came back.
	RTOSeconds float64 `json:"rto_s"`
	Recovered  bool    `json:"recovered"`
	// Error is set when the fault could not be injected or ended as asked.
	Error string `json:"error,omitempty"`
}

// faultRunner injects a scenario's faults at their times and records what happened.
// It owns the window every kind shares: it waits for At, begins the fault, holds it
// for Duration, ends it, and records the actual window and any error.
type faultRunner struct {
	specs   []FaultSpec
	faults  []Fault // nil where the kind is unknown (check reports it)
	targets faultTargets
	start   time.Time
	log     *slog.Logger

	mu      sync.Mutex
	results []FaultResult
	wg      sync.WaitGroup
}

// newFaultRunner prepares the faults of specs to act on targets; start is the
// start of the load, the origin of every At.
func newFaultRunner(specs []FaultSpec, targets faultTargets, start time.Time, log *slog.Logger) *faultRunner {
	fr := &faultRunner{
		specs:   specs,
		faults:  make([]Fault, len(specs)),
		targets: targets,
		start:   start,
		log:     log,
		results: make([]FaultResult, len(specs)),
	}
	for i, spec := range specs {
		fr.faults[i], _ = newFault(spec)
		fr.results[i] = FaultResult{FaultSpec: spec, RTOSeconds: -1}
	}
	return fr
}

// check fails before any load when a fault cannot be injected into this run.
func (fr *faultRunner) check() error {
	for i, f := range fr.faults {
		if f == nil {
			_, bad := newFault(fr.specs[i])
			return fmt.Errorf("%w: faults[%d].%w", exitcode.ErrConfig, i, bad[0])
		}
		if err := f.Ready(fr.targets); err != nil {
			return fmt.Errorf("%w: faults[%d]: %w", exitcode.ErrConfig, i, err)
		}
	}
	return nil
}

// run starts one goroutine per fault; finish waits for them.
func (fr *faultRunner) run(ctx context.Context) {
	for i := range fr.specs {
		fr.wg.Go(func() { fr.one(ctx, i) })
	}
}

func (fr *faultRunner) one(ctx context.Context, i int) {
	spec, f := fr.specs[i], fr.faults[i]
	if !sleepUntil(ctx, fr.start.Add(spec.At)) {
		return
	}
	begin := time.Now()
	fr.log.Info("fault begins", "kind", spec.Kind, "at", spec.At, "duration", spec.Duration)
	err := f.Begin(ctx, fr.targets)
	end := time.Now()
	if err == nil {
		sleepUntil(ctx, begin.Add(spec.Duration))
		// A fault is always ended, even when the run is being cancelled. A crash ends
		// when the new process is started: its start-up (model load, joining the
		// group) is recovery. A broker restart ends when the broker answers again.
		end = time.Now()
		err = f.End(context.WithoutCancel(ctx), fr.targets)
		if _, early := f.(endsWhenEndCalled); !early {
			end = time.Now()
		}
	}
	fr.log.Info("fault ends", "kind", spec.Kind, "err", err)
	fr.mu.Lock()
	defer fr.mu.Unlock()
	r := &fr.results[i]
	r.StartS, r.EndS = begin.Sub(fr.start).Seconds(), end.Sub(fr.start).Seconds()
	if err != nil {
		r.Error = err.Error()
	}
}

// finish waits for every fault to have ended (cancel the context run was given first
// to end them early) and returns the results.
func (fr *faultRunner) finish() []FaultResult {
	fr.wg.Wait()
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return append([]FaultResult(nil), fr.results...)
}

// sleepUntil waits until t or ctx's end; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// recoveryLevel is the e2e p99 under which a second counts as recovered.
func (s *Scenario) recoveryLevel() time.Duration {
	switch {
	case s.Gates.RecoveryP99 > 0:
		return s.Gates.RecoveryP99
	case s.Gates.MaxE2EP99 > 0:
		return s.Gates.MaxE2EP99
	}
	return 30 * time.Second
}

// recoveryTimes fills in each fault's RTO from the timeline: the first second after
// the fault's end from which on every second that acknowledged events has its e2e p99
// under level, up to the start of the next fault (whose effects are its own). Seconds
// that acknowledged nothing neither recover nor break recovery. The timeline's
// resolution is one second, and a second counts from its end, so the RTO is an upper
// bound, at most a second above the truth.
func recoveryTimes(faults []FaultResult, rows []TimelineRow, level time.Duration) {
	lim := ms(level)
	for i := range faults {
		f := &faults[i]
		if f.Error != "" || f.EndS == 0 {
			continue
		}
		// Row k covers the second (k-1, k] after the load start. A fault still in
		// force when this one ends is recovered from together with it.
		until := f.EndS
		for _, g := range faults {
			if g.Error == "" && g.StartS < f.EndS && g.EndS > until {
				until = g.EndS
			}
		}
		first, last := int(math.Ceil(until)), math.MaxInt
		for _, g := range faults {
			if g.StartS >= until {
				last = min(last, int(math.Floor(g.StartS)))
			}
		}
		rec, judged := recovered(rows, first, last, lim)
		if !judged {
			// Nothing was acknowledged between this fault and the next: their effects
			// cannot be told apart, and this one recovers with the next.
			rec, _ = recovered(rows, first, math.MaxInt, lim)
		}
		if rec < 0 {
			continue
		}
		f.Recovered = true
		f.RTOSeconds = math.Max(0, float64(rec)-f.EndS)
	}
}

// recovered returns the first second in [first, last] from which on every second
// that acknowledged events has its p99 under lim (-1 if none), and whether any second
// in the range acknowledged events at all.
func recovered(rows []TimelineRow, first, last int, lim float64) (rec int, judged bool) {
	rec = -1
	for k := len(rows) - 1; k >= 0; k-- {
		r := rows[k]
		if r.Second > last {
			continue
		}
		if r.Second < first {
			break
		}
		if r.Written+r.DeadLettered == 0 {
			continue
		}
		judged = true
		if r.E2EP99MS > lim {
			break
		}
		rec = r.Second
	}
	return rec, judged
}

// faultProblems lists the faults that did not run as asked.
func faultProblems(faults []FaultResult) error {
	var errs []error
	for i, f := range faults {
		if f.Error != "" {
			errs = append(errs, fmt.Errorf("faults[%d] %s: %s", i, f.Kind, f.Error))
		}
	}
	return errors.Join(errs...)
}
