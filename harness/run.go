package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/internal/exitcode"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/kernels"
	"github.com/vectorstream/vectorstream/pipeline"
	"github.com/vectorstream/vectorstream/workloads"
)

// Options tune one run beyond its scenario.
type Options struct {
	// Log receives structured progress; nil discards.
	Log *slog.Logger
	// Progress, when set, receives a human-readable line every ProgressEvery (default 1 s).
	Progress      io.Writer
	ProgressEvery time.Duration
	// RunID names the run; empty derives one from the start time.
	RunID string
	// PipelineOpts are passed to the in-process pipeline (tests inject faults here).
	PipelineOpts []pipeline.Opt
	// BeforeVerify runs after the drain and before verification; tests use it to
	// tamper with what was written and check that verification notices.
	BeforeVerify func(ctx context.Context, env *infra.Env, qc *qdrant.Client) error
	// Self is the vectorstream binary, used to start `vectorstream infra serve` when a
	// scenario asks for the embedded services in their own process.
	Self string
	// Recreate lets a run against external infrastructure delete existing topics and
	// collections of the names it uses (pinned names; run-scoped ones are new anyway).
	Recreate bool
	// OnPipeline is called with the in-process pipeline once it exists (for SIGHUP
	// reloads and health checks).
	OnPipeline func(*pipeline.Pipeline)
}

// Run executes one scenario end to end: infra → model → pipeline → open-loop load →
// drain → verify → gates. It returns the result even when the run is invalid or a
// gate failed; err then wraps exitcode.ErrInvalid or exitcode.ErrGate. Other errors mean no result.
func Run(ctx context.Context, sc *Scenario, o Options) (*Result, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	res := &Result{SchemaVersion: SchemaVersion, Scenario: *sc, Started: time.Now().UTC(), Extra: map[string]float64{}}
	res.RunID = o.RunID
	if res.RunID == "" {
		res.RunID = res.Started.Format("20060102T150405Z")
	}
	if sc.Infra.Mode == infra.ModeExternal {
		scoped := *sc
		ScopeToRun(&scoped, res.RunID)
		sc = &scoped
		res.Scenario = scoped
	}
	res.Environment = CaptureEnvironment(ctx)
	res.Environment.EmbeddingBackend = sc.Embedding.Backend

	// Infrastructure.
	env, err := startInfra(ctx, sc, o.Self)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	res.Environment.InfraMode = env.Mode
	res.Environment.Kafka, res.Environment.Qdrant = env.KafkaLabel, env.QdrantLabel
	res.Environment.Embedded = env.Mode == infra.ModeEmbedded
	if res.Environment.Embedded {
		res.Notes = append(res.Notes, "Kafka and Qdrant were embedded stand-ins ("+env.KafkaLabel+"; "+env.QdrantLabel+"): these numbers are not Kafka's or Qdrant's.")
	}
	if env.Picked != "" {
		res.Notes = append(res.Notes, "infra "+env.Picked)
	}
	log.Info("infra up", "mode", env.Mode, "kafka", env.KafkaLabel, "qdrant", env.QdrantLabel, "picked", env.Picked)

	// Workload and model.
	gen, gcfg, err := sc.NewGenerator()
	if err != nil {
		return nil, err
	}
	be, sel, err := sc.NewBackend()
	if err != nil {
		return nil, err
	}
	defer be.Close()
	res.Environment.EmbeddingBackend = be.Name()
	res.Environment.BackendSelection = &sel
	log.Info("embedding backend", "selection", sel.String())
	fitStart := time.Now()
	model, err := loadOrFit(ctx, sc, gen, be)
	if err != nil {
		return nil, err
	}
	res.Extra["model_fit_seconds"] = time.Since(fitStart).Seconds()
	res.Extra["model_vocabulary"] = float64(model.VocabSize())
	log.Info("model ready", "dim", model.Dim(), "vocab", model.VocabSize(), "seconds", time.Since(fitStart).Seconds())

	qc, err := infra.NewQdrantClient(env)
	if err != nil {
		return nil, err
	}
	defer qc.Close()
	if env.Mode == infra.ModeExternal {
		if err := prepareExternal(ctx, sc, env, qc, o.Recreate); err != nil {
			return nil, err
		}
		res.Environment.Kafka, res.Environment.Qdrant = env.KafkaLabel, env.QdrantLabel
		if strings.Contains(env.QdrantLabel, "stand-in") {
			res.Notes = append(res.Notes, "Qdrant was the embedded stand-in ("+env.QdrantLabel+"): upsert numbers are not Qdrant's.")
		}
	}

	// Pipeline, in this process or its own. Each process gets a fresh spool directory
	// of its own (a pipeline_crash restart reuses its predecessor's).
	pcfg := func(i int) pipeline.Config { return sc.Pipeline }
	if sc.Pipeline.Spool.Enabled {
		spoolRoot, err := os.MkdirTemp("", "vectorstream-spool-")
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		defer os.RemoveAll(spoolRoot)
		pcfg = func(i int) pipeline.Config {
			c := sc.Pipeline
			c.Spool.Dir = filepath.Join(spoolRoot, fmt.Sprintf("pipeline-%d", i))
			return c
		}
	}
	var ph pipelineHandle
	var crash crasher
	if sc.Infra.PipelineProcess && sc.hasFault(FaultPipelineCrash) {
		r, err := newRestartable(ctx, func(ctx context.Context) (*childProcess, error) {
			return startChild(ctx, o.Self, sc, pcfg(0), env, model, be.Name())
		})
		if err != nil {
			return nil, err
		}
		ph, crash = r, r
		res.Notes = append(res.Notes, "the pipeline ran as a process of its own, which a pipeline_crash fault killed with SIGKILL and replaced; the killed process's statistics are those it reported just before the kill")
	} else if sc.Infra.PipelineProcess {
		n := max(1, sc.Infra.PipelineProcesses)
		var members []pipelineHandle
		for range n {
			child, err := startChild(ctx, o.Self, sc, pcfg(len(members)), env, model, be.Name())
			if err != nil {
				for _, m := range members {
					m.Stop()
				}
				return nil, err
			}
			members = append(members, child)
		}
		ph = members[0]
		if n > 1 {
			ph = newGroup(members)
		}
		res.Notes = append(res.Notes, fmt.Sprintf("the pipeline ran as %d process(es) of its own in one consumer group; the timeline's CPU, memory and goroutines are theirs, added up, and their histograms are merged", n))
	} else {
		stats := pipeline.NewStats()
		deps := pipeline.Deps{
			KafkaOpts: append([]kgo.Opt{kgo.SeedBrokers(env.KafkaBrokers...)}, env.KafkaOpts...),
			Qdrant:    qc,
			Dim:       model.Dim(),
			NewEmbedder: func(onFallback func(error)) (pipeline.Embedder, error) {
				return embed.NewEncoder(model, be, embed.OnFallback(onFallback)), nil
			},
			EmbedCalls: embed.Calls(sel),
		}
		// The pipeline's log_level must not move the harness's level: give it a
		// level variable of its own; the harness's handler still filters by --log-level.
		popts := append([]pipeline.Opt{pipeline.WithStats(stats), pipeline.WithLogger(log.With("component", "pipeline"), new(slog.LevelVar))}, o.PipelineOpts...)
		p, err := pipeline.New(pcfg(0), deps, popts...)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
		}
		if o.OnPipeline != nil {
			o.OnPipeline(p)
		}
		ph = startInProcess(ctx, p, stats)
		res.Notes = append(res.Notes, "the pipeline ran inside the harness process: the timeline's CPU, memory and goroutines include the load generator"+
			map[bool]string{true: " and the embedded services", false: ""}[env.Mode == infra.ModeEmbedded && !sc.Infra.Process])
		if sc.Pipeline.HealthAddr != "" {
			hctx, stopHealth := context.WithCancel(ctx)
			var wg sync.WaitGroup
			defer func() { stopHealth(); wg.Wait() }()
			wg.Go(func() {
				err := p.Serve(hctx, sc.Pipeline.HealthAddr, func(a net.Addr) {
					log.Info("health and metrics", "addr", "http://"+a.String()+"/health")
				})
				if err != nil {
					log.Warn("health server", "err", err)
				}
			})
		}
	}
	stopped := false
	stopPipeline := func() error {
		if stopped {
			return nil
		}
		stopped = true
		return ph.Stop()
	}
	defer stopPipeline()
	if err := waitReady(ctx, ph, 30*time.Second); err != nil {
		return nil, errors.Join(err, stopPipeline())
	}

	// Load.
	sched, err := workloadsSchedule(sc)
	if err != nil {
		return nil, err
	}
	producer, err := infra.NewKafkaClient(env,
		kgo.ProducerLinger(sc.Kafka.ProducerLinger),
		kgo.MaxBufferedRecords(1<<16),
		kgo.DefaultProduceTopic(sc.Pipeline.Kafka.Topic),
	)
	if err != nil {
		return nil, err
	}
	defer producer.Close()
	lead := 100 * time.Millisecond
	loadProcs := max(1, sc.Infra.LoadProcesses)
	if loadProcs > 1 {
		lead = 2 * time.Second // the load processes start and build their generators first
	}
	start := time.Now().Add(lead).Truncate(time.Millisecond)
	measureFrom := start.Add(sc.Warmup)
	measureTo := measureFrom.Add(sc.Duration)
	if err := ph.MeasureFrom(ctx, measureFrom); err != nil {
		return nil, err
	}
	res.MeasureStart, res.MeasureEnd = measureFrom.UTC(), measureTo.UTC()
	lg := newLoadGen(producer, sc.Pipeline.Kafka.Topic, gen, sched, start, measureFrom, measureTo, sc.Validity.LateThreshold)
	faults := newFaultRunner(sc.Faults, env, crash, start, log)
	if err := faults.check(); err != nil {
		return nil, err
	}
	fctx, stopFaults := context.WithCancel(ctx)
	defer stopFaults()
	faults.run(fctx)
	if loadProcs > 1 {
		release, err := lg.countFromEndOffsets(ctx, env, sc.Pipeline.Kafka.Topic)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	smp := newSampler(lg, ph, start, sc, o.Progress, o.ProgressEvery, be.Name())
	sctx, stopSampler := context.WithCancel(ctx)
	samplerDone := make(chan struct{})
	go func() { defer close(samplerDone); smp.run(sctx) }()
	log.Info("load started", "events", sched.Count(), "profile", sc.Load.Kind, "warmup", sc.Warmup, "duration", sc.Duration)
	var loadErr error
	if loadProcs > 1 {
		loadErr = runLoadProcesses(ctx, o.Self, sc, env, lg, loadProcs)
		res.Notes = append(res.Notes, fmt.Sprintf("the load came from %d load generator processes, each sending one event in %d of the one seeded stream", loadProcs, loadProcs))
	} else {
		loadErr = lg.run(ctx)
	}

	// Drain: wait until the pipeline has committed every produced record and
	// replayed its spool. Faults have ended by now (they end before the load does).
	if loadErr != nil {
		stopFaults() // the run is over: end the faults now
	}
	res.Faults = faults.finish()
	var drainErr error
	if crash != nil {
		// A killed process's counters stop at its last report; Kafka's committed
		// offsets are the truth.
		drainErr = waitDrainedKafka(ctx, env, ph, sc.Pipeline.Kafka.Group, sc.Pipeline.Kafka.Topic, lg, sc.DrainTimeout)
	} else {
		drainErr = waitDrained(ctx, ph, lg, sc.DrainTimeout)
	}
	stopSampler()
	<-samplerDone
	final, finalErr := ph.Final(ctx)
	pipeErr := stopPipeline()
	res.Finished = time.Now().UTC()
	if loadErr != nil {
		return nil, loadErr
	}
	if finalErr != nil {
		return nil, fmt.Errorf("pipeline statistics: %w", finalErr)
	}
	if pipeErr != nil {
		res.Notes = append(res.Notes, "pipeline stopped with an error: "+pipeErr.Error())
	}
	if drainErr != nil {
		res.Notes = append(res.Notes, drainErr.Error())
	}

	// Results.
	res.Timeline = smp.rows
	summarise(res, sc, lg, final)
	if dr, ok := be.(kernels.DeviceReporter); ok && res.Environment.BackendSelection.Device != nil {
		d := dr.Device() // device memory at the end of the run
		res.Environment.BackendSelection.Device = &d
	}
	if fb, ok := be.(*kernels.Fallback); ok && fb.Cause() != nil {
		res.Notes = append(res.Notes, "the embedding backend failed mid-run and the rest of the run embedded on the CPU: "+fb.Cause().Error())
	}
	rows := res.Timeline
	if smp.tail != nil {
		rows = append(slices.Clip(rows), *smp.tail)
	}
	recoveryTimes(res.Faults, rows, sc.recoveryLevel())
	if o.BeforeVerify != nil {
		if err := o.BeforeVerify(ctx, env, qc); err != nil {
			return nil, fmt.Errorf("before verify: %w", err)
		}
	}
	log.Info("verifying")
	res.Verification = verify(ctx, sc, env, qc, embed.NewEncoder(model, be), model.Dim(), lg, gcfg, res)
	judge(res, sc)
	return res, res.Err()
}

// Err returns nil for a passed run, an exitcode.ErrInvalid or exitcode.ErrGate error otherwise.
func (r *Result) Err() error {
	if !r.Validity.Valid {
		return fmt.Errorf("%w: %v", exitcode.ErrInvalid, r.Validity.Reasons)
	}
	var failed []string
	for _, g := range r.Gates {
		if !g.Passed {
			failed = append(failed, fmt.Sprintf("%s: %s %s (limit %s)", g.Name, num(g.Actual), g.Unit, num(g.Limit)))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %v", exitcode.ErrGate, failed)
	}
	return nil
}

func startInfra(ctx context.Context, sc *Scenario, self string) (*infra.Env, error) {
	emb := infra.EmbeddedConfig{Partitions: sc.Kafka.Partitions, Topics: []string{sc.Pipeline.Kafka.Topic, sc.Pipeline.Kafka.DLQTopic}}
	var ext infra.External
	switch {
	case sc.Infra.Mode == infra.ModeExternal:
		host, portS, err := net.SplitHostPort(sc.Infra.QdrantAddr)
		if err != nil {
			return nil, fmt.Errorf("%w: infra.qdrant_addr: %w", exitcode.ErrConfig, err)
		}
		port, err := strconv.Atoi(portS)
		if err != nil {
			return nil, fmt.Errorf("%w: infra.qdrant_addr: port: %w", exitcode.ErrConfig, err)
		}
		if port == 6333 {
			return nil, fmt.Errorf("%w: infra.qdrant_addr %s: 6333 is Qdrant's REST port; VectorStream speaks gRPC, on 6334 by default", exitcode.ErrConfig, sc.Infra.QdrantAddr)
		}
		ext = infra.External{Brokers: sc.Infra.Brokers, QdrantHost: host, QdrantPort: port, Security: sc.Infra.Security, QdrantControl: sc.Infra.QdrantControl}
	case sc.Infra.Process:
		return serveChild(ctx, sc, self)
	}
	env, err := infra.Start(ctx, sc.Infra.Mode, emb, ext)
	if err != nil {
		return nil, fmt.Errorf("infra: %w", err)
	}
	if env.Mode == infra.ModeExternal {
		// One clear error per service that does not answer, within the timeout.
		if err := infra.Check(ctx, env, sc.Infra.Security.EffectiveTimeout()); err != nil {
			env.Close()
			return nil, fmt.Errorf("%w: %w", exitcode.ErrUnreachable, err)
		}
	}
	return env, nil
}

// serveChild runs the embedded services as `vectorstream infra serve` in a child
// process and connects to them. Closing the Env stops the child.
func serveChild(ctx context.Context, sc *Scenario, self string) (*infra.Env, error) {
	if self == "" {
		return nil, errors.New("infra.process: the harness was not told where the vectorstream binary is")
	}
	args := []string{"infra", "serve", "--kafka", "127.0.0.1:0", "--qdrant", "127.0.0.1:0",
		"--partitions", strconv.Itoa(sc.Kafka.Partitions), "--topic", sc.Pipeline.Kafka.Topic, "--topic", sc.Pipeline.Kafka.DLQTopic}
	cmd := exec.Command(self, args...)
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("infra serve: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("infra serve: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	si, err := infra.ReadServeInfo(out)
	if err != nil {
		stop()
		return nil, fmt.Errorf("infra serve: %w", err)
	}
	ext, err := si.External()
	if err != nil {
		stop()
		return nil, err
	}
	env := infra.Connect(ext)
	env.Mode = infra.ModeEmbedded
	for _, l := range []*string{&env.KafkaLabel, &env.QdrantLabel} {
		*l = strings.Replace(*l, "in-process", "own process", 1)
		*l = strings.TrimSuffix(*l, ")") + ", vectorstream infra serve)"
	}
	env.OnClose(stop)
	return env, nil
}

// loadOrFit loads the scenario's model file or fits one on the catalog.
func loadOrFit(ctx context.Context, sc *Scenario, gen *workloads.Generator, be kernels.Backend) (*embed.Model, error) {
	if sc.Embedding.Model != "" {
		m, err := embed.Load(sc.Embedding.Model)
		if err != nil {
			return nil, fmt.Errorf("%w: embedding.model: %w", exitcode.ErrConfig, err)
		}
		if m.Dim() != sc.Embedding.Dimensions {
			return nil, fmt.Errorf("%w: embedding.model %s has %d dimensions, embedding.dimensions is %d", exitcode.ErrConfig, sc.Embedding.Model, m.Dim(), sc.Embedding.Dimensions)
		}
		return m, nil
	}
	docs := CatalogDocs(gen)
	e := sc.Embedding
	m, err := embed.Fit(ctx, docs, embed.FitConfig{Dim: e.Dimensions, MinDF: e.MinDF, MaxVocab: e.MaxVocab,
		Oversample: e.Oversample, PowerIters: e.PowerIters, Seed: sc.Seed}, be)
	if err != nil {
		return nil, fmt.Errorf("fit model: %w", err)
	}
	return m, nil
}

// CatalogDocs returns the documents a model is fitted on: every product's embedding
// text as the users of each configured locale see it, in that locale's language.
func CatalogDocs(gen *workloads.Generator) []embed.Doc {
	locales := slices.Sorted(maps.Keys(gen.Config().Locales))
	var docs []embed.Doc
	for _, loc := range locales {
		cat := gen.CatalogFor(loc)
		for i := range cat {
			docs = append(docs, embed.Doc{Text: event.ProductText(&cat[i]), Lang: loc})
		}
	}
	return docs
}

func waitReady(ctx context.Context, ph pipelineHandle, timeout time.Duration) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(timeout)
	for !ph.Ready(ctx) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ph.Done():
			return errors.New("pipeline stopped before it was ready")
		case <-deadline:
			return fmt.Errorf("pipeline not ready after %v", timeout)
		case <-t.C:
		}
	}
	return nil
}

// waitDrained waits until the pipeline has committed as many records as Kafka
// acknowledged to the load generator. It asks every 100 ms (cheaply: counters only),
// and a failed question is asked again until the deadline.
func waitDrained(ctx context.Context, ph pipelineHandle, lg *loadGen, timeout time.Duration) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(timeout)
	var c pipeline.Counters
	var lastErr error
	for {
		if got, err := ph.Counters(ctx); err != nil {
			lastErr = err
		} else {
			c, lastErr = got, nil
			if c.Consumed >= lg.acked.Load() && c.SpoolPending == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ph.Done():
			return fmt.Errorf("drain: pipeline stopped with %d of %d records committed", c.Consumed, lg.acked.Load())
		case <-deadline:
			return errors.Join(fmt.Errorf("drain: %d of %d records committed, %d spooled batches waiting, after %v", c.Consumed, lg.acked.Load(), c.SpoolPending, timeout), lastErr)
		case <-t.C:
		}
	}
}

// FitModel loads the scenario's model file, or fits a model on its catalog.
func FitModel(ctx context.Context, sc *Scenario) (*embed.Model, error) {
	gen, _, err := sc.NewGenerator()
	if err != nil {
		return nil, err
	}
	be, _, err := sc.NewBackend()
	if err != nil {
		return nil, err
	}
	defer be.Close()
	return loadOrFit(ctx, sc, gen, be)
}

// workloadsSchedule is the scenario's open-loop schedule over warm-up and duration.
func workloadsSchedule(sc *Scenario) (*workloads.Schedule, error) {
	sched, err := workloads.NewSchedule(sc.Load, sc.Warmup+sc.Duration)
	if err != nil {
		return nil, fmt.Errorf("%w: load: %w", exitcode.ErrConfig, err)
	}
	return sched, nil
}
