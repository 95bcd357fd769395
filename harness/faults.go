package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/workloads"
)

// Fault kinds a scenario can inject (see FaultSpec).
const (
	FaultQdrantDown         = "qdrant_down"          // every Qdrant RPC fails with UNAVAILABLE
	FaultQdrantSlow         = "qdrant_slow"          // every Qdrant RPC waits latency first
	FaultQdrantErrors       = "qdrant_errors"        // a share ratio of Qdrant RPCs fail with UNAVAILABLE
	FaultKafkaBrokerRestart = "kafka_broker_restart" // stop_command at the start, start_command at the end (external mode)
	FaultPipelineCrash      = "pipeline_crash"       // kill -9 the pipeline process; a new one starts after duration
	FaultMalformedBurst     = "malformed_burst"      // a share ratio of the events sent in the window is malformed
)

var faultKinds = []string{FaultQdrantDown, FaultQdrantSlow, FaultQdrantErrors, FaultKafkaBrokerRestart, FaultPipelineCrash, FaultMalformedBurst}

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

// validateFaults adds a problem for every fault that cannot run in this scenario.
func (s *Scenario) validateFaults(bad func(path, format string, args ...any)) {
	total := s.Warmup + s.Duration
	for i, f := range s.Faults {
		p := fmt.Sprintf("faults[%d]", i)
		switch f.Kind {
		case FaultQdrantDown:
		case FaultQdrantSlow:
			if f.Latency <= 0 || f.Latency > time.Minute {
				bad(p+".latency", "qdrant_slow needs a latency in (0, 1m], got %v", f.Latency)
			}
		case FaultQdrantErrors, FaultMalformedBurst:
			if !(f.Ratio > 0 && f.Ratio <= 1) {
				bad(p+".ratio", "%s needs a ratio in (0, 1], got %v", f.Kind, f.Ratio)
			}
		case FaultKafkaBrokerRestart:
			if s.Infra.Mode != infra.ModeExternal {
				bad(p+".kind", "kafka_broker_restart needs infra.mode external (a real broker that stop_command and start_command control), got %q", s.Infra.Mode)
			}
		case FaultPipelineCrash:
			if !s.Infra.PipelineProcess || s.Infra.PipelineProcesses > 1 {
				bad(p+".kind", "pipeline_crash kills a pipeline process: it needs infra.pipeline_process: true and one process")
			}
		default:
			bad(p+".kind", "unknown fault %q (want one of %s)", f.Kind, strings.Join(faultKinds, ", "))
			continue
		}
		if strings.HasPrefix(f.Kind, "qdrant_") && s.Infra.Mode == infra.ModeExternal && s.Infra.QdrantControl == "" {
			bad(p+".kind", "%s makes the Qdrant stand-in misbehave: in external mode it needs infra.qdrant_control (the control_url `vectorstream infra serve` prints)", f.Kind)
		}
		if f.Kind != FaultKafkaBrokerRestart && (len(f.StopCommand) > 0 || len(f.StartCommand) > 0) {
			bad(p+".stop_command", "only kafka_broker_restart runs commands")
		}
		if f.At < 0 {
			bad(p+".at", "must be >= 0, got %v", f.At)
		}
		if f.Duration < 0 || (f.Duration == 0 && f.Kind != FaultPipelineCrash) {
			bad(p+".duration", "must be > 0 (pipeline_crash: >= 0, the time before the new process starts), got %v", f.Duration)
		}
		if f.At+f.Duration > total {
			bad(p+".duration", "the fault must end before the load does: at %v + duration %v > warmup + duration = %v", f.At, f.Duration, total)
		}
	}
}

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

// crasher kills the pipeline process and starts a new one (pipeline_crash).
type crasher interface {
	Kill(ctx context.Context) error
	Restart(ctx context.Context) error
}

// faultRunner injects a scenario's faults at their times and records what happened.
type faultRunner struct {
	specs []FaultSpec
	env   *infra.Env
	crash crasher
	start time.Time
	log   *slog.Logger

	mu      sync.Mutex
	results []FaultResult
	wg      sync.WaitGroup
}

func newFaultRunner(specs []FaultSpec, env *infra.Env, crash crasher, start time.Time, log *slog.Logger) *faultRunner {
	fr := &faultRunner{specs: specs, env: env, crash: crash, start: start, log: log, results: make([]FaultResult, len(specs))}
	for i, f := range specs {
		fr.results[i] = FaultResult{FaultSpec: f, RTOSeconds: -1}
	}
	return fr
}

// check fails before any load when a fault cannot be injected into this Env.
func (fr *faultRunner) check() error {
	for i, f := range fr.specs {
		if strings.HasPrefix(f.Kind, "qdrant_") && fr.env.QdrantFaults == nil {
			return fmt.Errorf("%w: faults[%d]: %s needs the Qdrant stand-in (embedded, or infra serve's control_url as infra.qdrant_control); %s cannot be told to misbehave", exitcode.ErrConfig, i, f.Kind, fr.env.QdrantLabel)
		}
		if f.Kind == FaultPipelineCrash && fr.crash == nil {
			return fmt.Errorf("%w: faults[%d]: pipeline_crash needs the pipeline in a process of its own", exitcode.ErrConfig, i)
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
	f := fr.specs[i]
	if !sleepUntil(ctx, fr.start.Add(f.At)) {
		return
	}
	begin := time.Now()
	fr.log.Info("fault begins", "kind", f.Kind, "at", f.At, "duration", f.Duration)
	err := fr.begin(ctx, f)
	end := time.Now()
	if err == nil {
		sleepUntil(ctx, begin.Add(f.Duration))
		// A fault is always ended, even when the run is being cancelled. A crash ends
		// when the new process is started: its start-up (model load, joining the
		// group) is recovery. A broker restart ends when the broker answers again.
		end = time.Now()
		err = fr.end(context.WithoutCancel(ctx), f)
		if f.Kind != FaultPipelineCrash {
			end = time.Now()
		}
	}
	fr.log.Info("fault ends", "kind", f.Kind, "err", err)
	fr.mu.Lock()
	defer fr.mu.Unlock()
	r := &fr.results[i]
	r.StartS, r.EndS = begin.Sub(fr.start).Seconds(), end.Sub(fr.start).Seconds()
	if err != nil {
		r.Error = err.Error()
	}
}

func (fr *faultRunner) begin(ctx context.Context, f FaultSpec) error {
	switch f.Kind {
	case FaultQdrantDown:
		return fr.env.QdrantFaults.Inject(ctx, qdrantfake.Injection{Kind: qdrantfake.InjectDown})
	case FaultQdrantSlow:
		return fr.env.QdrantFaults.Inject(ctx, qdrantfake.Injection{Kind: qdrantfake.InjectSlow, Latency: f.Latency})
	case FaultQdrantErrors:
		return fr.env.QdrantFaults.Inject(ctx, qdrantfake.Injection{Kind: qdrantfake.InjectErrors, Ratio: f.Ratio})
	case FaultKafkaBrokerRestart:
		return runCommand(ctx, f.StopCommand, []string{"bash", "deploy/kafka/down.sh"})
	case FaultPipelineCrash:
		return fr.crash.Kill(ctx)
	}
	return nil // malformed_burst is in the stream itself
}

func (fr *faultRunner) end(ctx context.Context, f FaultSpec) error {
	switch f.Kind {
	case FaultQdrantDown, FaultQdrantSlow, FaultQdrantErrors:
		return fr.env.QdrantFaults.Clear(ctx)
	case FaultKafkaBrokerRestart:
		return runCommand(ctx, f.StartCommand, []string{"bash", "deploy/kafka/up.sh"})
	case FaultPipelineCrash:
		return fr.crash.Restart(ctx)
	}
	return nil
}

// finish waits for every fault to have ended (cancel the context run was given first
// to end them early) and returns the results.
func (fr *faultRunner) finish() []FaultResult {
	fr.wg.Wait()
	fr.mu.Lock()
	defer fr.mu.Unlock()
	return append([]FaultResult(nil), fr.results...)
}

func runCommand(ctx context.Context, argv, def []string) error {
	if len(argv) == 0 {
		argv = def
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(lastLines(string(out), 5)))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
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

// hasFault reports whether the scenario injects a fault of the kind.
func (s *Scenario) hasFault(kind string) bool {
	for _, f := range s.Faults {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

// waitDrainedKafka waits until the group's committed offsets reach the topic's end
// offsets, the topic holds every record the load generator had acknowledged, and the
// running pipeline's spool is empty. It asks every 250 ms.
func waitDrainedKafka(ctx context.Context, env *infra.Env, ph pipelineHandle, group, topic string, lg *loadGen, timeout time.Duration) error {
	cl, err := infra.NewKafkaClient(env)
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(timeout)
	var lag, total int64
	var pending int64
	var lastErr error
	for {
		lag, total, lastErr = groupLag(ctx, adm, group, topic)
		if lastErr == nil {
			c, err := ph.Counters(ctx)
			pending, lastErr = c.SpoolPending, err
			if lastErr == nil && lag == 0 && total >= lg.acked.Load() && pending == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ph.Done():
			return fmt.Errorf("drain: pipeline stopped with %d records not committed", lag)
		case <-deadline:
			return errors.Join(fmt.Errorf("drain: %d of %d records not committed, %d spooled batches waiting, after %v", lag, total, pending, timeout), lastErr)
		case <-t.C:
		}
	}
}

// groupLag returns the records of topic not yet committed by group, and the records
// in the topic.
func groupLag(ctx context.Context, adm *kadm.Client, group, topic string) (lag, total int64, err error) {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, 0, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0, 0, fmt.Errorf("offsets of group %s: %w", group, err)
	}
	var errs []error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, o.Err)
			return
		}
		total += o.Offset
		committed := int64(0)
		if c, ok := offs.Lookup(o.Topic, o.Partition); ok && c.Err == nil && c.At >= 0 {
			committed = c.At
		}
		lag += max(0, o.Offset-committed)
	})
	return lag, total, errors.Join(errs...)
}
