package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
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
	// Dir is the run's folder. The run keeps its temporary state there while it runs
	// (each pipeline process's spool, in Dir/spool) and removes it when it ends. Empty:
	// a folder under os.TempDir.
	Dir string
}

// Run executes one scenario end to end, one phase after the other: infra → model →
// pipeline → offer → drain → collect → verify → judge. It returns the result even
// when the run is invalid or a gate failed; err then wraps exitcode.ErrInvalid or exitcode.ErrGate.
// Other errors mean no result.
func Run(ctx context.Context, sc *Scenario, o Options) (*Result, error) {
	resolved := *sc
	fellBack, err := ResolveQdrantStore(&resolved)
	if err != nil {
		return nil, err
	}
	r := newRun(ctx, &resolved, o)
	defer r.close()
	if fellBack != "" {
		r.note("%s", fellBack)
		r.log.Info(fellBack)
	}
	phases := []func(context.Context) error{r.startInfra, r.prepareModel, r.startPipeline, r.offer, r.drain, r.collect, r.verify}
	for _, phase := range phases {
		if err := phase(ctx); err != nil {
			return nil, err
		}
	}
	r.judge()
	return r.res, r.res.Err()
}

// run is one scenario's run under way. Each phase fills in what the later ones use;
// close undoes, in reverse, what they started.
type run struct {
	sc  *Scenario
	o   Options
	log *slog.Logger
	res *Result
	// undo holds what close runs, last first.
	undo []func()

	env        *infra.Env                // startInfra
	wire       *wire                     // startInfra: the fault proxies, if any
	proxies    []ProxyResult             // startInfra: what they cost
	qc         *qdrant.Client            // startInfra
	gen        *workloads.Generator      // prepareModel
	gcfg       workloads.GeneratorConfig // prepareModel
	backend    *embed.Backend            // prepareModel
	model      *embed.Model              // prepareModel
	pl         *pipelines                // startPipeline
	lg         *loadGen                  // offer
	faults     *faultRunner              // offer
	smp        *sampler                  // offer
	host       *hostSampler              // offer
	loadErr    error                     // offer: why the load stopped early, reported after the drain
	stopFaults context.CancelFunc        // offer
	drainErr   error                     // drain: a drain that did not finish, noted
	procs      *procTable                // the harness and every process it starts
}

func newRun(ctx context.Context, sc *Scenario, o Options) *run {
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
	return &run{sc: sc, o: o, log: log, res: res, procs: newProcTable()}
}

// onClose registers fn for close.
func (r *run) onClose(fn func()) { r.undo = append(r.undo, fn) }

func (r *run) close() {
	for _, fn := range slices.Backward(r.undo) {
		fn()
	}
}

func (r *run) note(format string, args ...any) {
	r.res.Notes = append(r.res.Notes, fmt.Sprintf(format, args...))
}

// startInfra brings up Kafka and Qdrant (embedded, containers or external), connects
// a Qdrant client and, in external mode, creates the run's topics and collections.
func (r *run) startInfra(ctx context.Context) error {
	w, err := newWire(r.sc)
	if err != nil {
		return err
	}
	r.wire = w
	r.onClose(w.close)
	env, err := startInfra(ctx, r.sc, r.o.Self, r.procs, w.kafkaAdvertise(), r.o.Dir, r.res.RunID)
	if err != nil {
		return err
	}
	r.env = env
	r.onClose(env.Close)
	if env.Mode == infra.ModeExternal {
		// Name the services at their own addresses, before any proxy is put in front.
		qc, err := infra.NewQdrantClient(env)
		if err != nil {
			return err
		}
		err = prepareExternal(ctx, r.sc, env, qc, r.o.Recreate)
		qc.Close()
		if err != nil {
			return err
		}
		switch l := env.QdrantLabel; {
		case strings.Contains(l, "stand-in"):
			r.note("Qdrant was the embedded stand-in (%s): upsert numbers are not Qdrant's.", l)
		case strings.Contains(l, "not a Qdrant server"):
			r.note("Qdrant was %s: Qdrant's storage engine, without a Qdrant server's REST API, cluster layer or request scheduling.", l)
		}
	}
	if r.proxies, err = w.attach(ctx, r.sc, env); err != nil {
		return err
	}
	for _, p := range r.proxies {
		r.note("faults acted on the wire: the %s (listening on %s, forwarding to %s) added %.0f µs to a round trip at the median, measured before the load (%d round trips each way)",
			p.What, p.Listen, p.Upstream, float64(p.Overhead.AddedP50)/1e3, p.Overhead.Samples)
	}
	envr := &r.res.Environment
	envr.InfraMode = env.Mode
	envr.Kafka, envr.Qdrant = env.KafkaLabel, env.QdrantLabel
	envr.QdrantStore = r.sc.Infra.QdrantStore
	if env.Containers != nil {
		envr.Docker = &env.Containers.Docker.Info
		r.note("Kafka, Qdrant%s ran in Docker containers (Docker %s, %s storage, cgroup %s): %s; %s",
			map[bool]string{true: " and the pipeline", false: ""}[r.sc.Infra.PipelineProcess],
			envr.Docker.ServerVersion, envr.Docker.StorageDriver, envr.Docker.CgroupVersion, env.KafkaLabel, env.QdrantLabel)
	}
	if env.Mode == infra.ModeEmbedded {
		envr.StandIns = StandIns{Kafka: true, Qdrant: !env.QdrantEngine}
		if env.QdrantEngine {
			r.note("Kafka was an embedded stand-in (%s): its numbers are not Kafka's. Qdrant was %s: Qdrant's storage engine, without a Qdrant server's REST API, cluster layer or request scheduling.", env.KafkaLabel, env.QdrantLabel)
		} else {
			r.note("Kafka and Qdrant were embedded stand-ins (%s; %s): these numbers are not Kafka's or Qdrant's.", env.KafkaLabel, env.QdrantLabel)
		}
	}
	if env.Picked != "" {
		r.note("infra %s", env.Picked)
	}
	r.log.Info("infra up", "mode", env.Mode, "kafka", env.KafkaLabel, "qdrant", env.QdrantLabel, "picked", env.Picked)
	// The run's own client, and the in-process pipeline's, go through the proxy
	// when there is one.
	if r.qc, err = infra.NewQdrantClient(env); err != nil {
		return err
	}
	r.onClose(func() { r.qc.Close() })
	return nil
}

// prepareModel builds the event generator, picks the embedding backend and loads or
// fits the model.
func (r *run) prepareModel(ctx context.Context) error {
	var err error
	if r.gen, r.gcfg, err = r.sc.NewGenerator(); err != nil {
		return err
	}
	if r.backend, err = r.sc.NewBackend(); err != nil {
		return err
	}
	r.onClose(func() { r.backend.Close() })
	sel := r.backend.Selection
	r.res.Environment.EmbeddingBackend = r.backend.Name()
	r.res.Environment.BackendSelection = &sel
	r.log.Info("embedding backend", "selection", sel.String())
	fitStart := time.Now()
	if r.model, err = loadOrFit(ctx, r.sc, r.gen, r.backend); err != nil {
		return err
	}
	secs := time.Since(fitStart).Seconds()
	r.res.Extra["model_fit_seconds"] = secs
	r.res.Extra["model_vocabulary"] = float64(r.model.VocabSize())
	r.log.Info("model ready", "dim", r.model.Dim(), "vocab", r.model.VocabSize(), "seconds", secs)
	return nil
}

// startPipeline starts the pipeline the scenario asks for (newPipelines) and waits
// until it has joined its consumer group.
func (r *run) startPipeline(ctx context.Context) error {
	pl, err := newPipelines(ctx, r)
	if err != nil {
		return err
	}
	r.pl = pl
	r.onClose(func() { _ = pl.stop() })
	if !r.sc.Pipeline.Qdrant.Waits() {
		r.note("upserts did not wait (pipeline.qdrant.wait: false): Qdrant acknowledged each once it was in its write-ahead log, and the offsets were committed then, so the events were durable but a search could miss them until Qdrant applied them; e2e latency here ends at that acknowledgement, not at visibility")
	}
	if err := waitReady(ctx, pl.handle, 30*time.Second); err != nil {
		return errors.Join(err, pl.stop())
	}
	return nil
}

// collect ends the run's measurement: the sampler, the pipeline's final statistics,
// the pipeline itself; then it sums the run up and computes each fault's recovery.
// A load that stopped early fails the run here, once the pipeline is stopped.
func (r *run) collect(ctx context.Context) error {
	r.smp.stop()
	final, finalErr := r.pl.handle.Final(ctx)
	pipeErr := r.pl.stop()
	r.res.Finished = time.Now().UTC()
	if r.loadErr != nil {
		return r.loadErr
	}
	if finalErr != nil && pipeErr != nil {
		// The pipeline died: why it did comes first (an OOM kill, an exit code).
		return fmt.Errorf("pipeline stopped: %w (and its statistics could not be read: %v)", pipeErr, finalErr)
	}
	if finalErr != nil {
		return fmt.Errorf("pipeline statistics: %w", finalErr)
	}
	if pipeErr != nil {
		r.note("pipeline stopped with an error: %s", pipeErr.Error())
	}
	if r.drainErr != nil {
		r.note("%s", r.drainErr.Error())
	}
	r.res.Timeline = r.smp.rows
	summarise(r.res, r.sc, r.lg, final)
	r.res.Validity.Host = r.hostLoad()
	r.smp.printEnd(r.res)
	if d, ok := r.backend.Device(); ok && r.res.Environment.BackendSelection.Device != nil {
		r.res.Environment.BackendSelection.Device = &d // device memory at the end of the run
	}
	if cause := r.backend.FallbackCause(); cause != nil {
		r.note("the embedding backend failed mid-run and the rest of the run embedded on the CPU: %s", cause.Error())
	}
	rows := r.res.Timeline
	if r.smp.tail != nil {
		rows = append(slices.Clip(rows), *r.smp.tail)
	}
	recoveryTimes(r.res.Faults, rows, r.sc.recoveryLevel())
	loadSeconds := int((r.sc.Warmup + r.sc.Duration) / time.Second)
	r.res.Processes = processMemory(rows, r.procs.Names(), loadSeconds, r.processWhat)
	r.res.Environment.Containers = containerResults(ctx, r.env.Containers, rows, loadSeconds, r.o.Dir)
	r.res.Proxies = r.wire.results(r.proxies)
	return nil
}

// processWhat says what ran in the process called name.
func (r *run) processWhat(name string) string {
	switch {
	case name == procHarness:
		in := []string{"load generator"}
		if !r.sc.Infra.PipelineProcess {
			in = append(in, "pipeline")
		}
		if r.env.Mode == infra.ModeEmbedded && !r.sc.Infra.Process {
			in = append(in, map[bool]string{false: "Kafka and Qdrant stand-ins", true: "Kafka stand-in"}[r.env.QdrantEngine])
		}
		if r.sc.Infra.LoadProcesses > 1 {
			in[0] = "load coordinator"
		}
		return "harness process (" + strings.Join(in, ", ") + ")"
	case name == procInfra && r.env.QdrantEngine:
		return "vectorstream infra serve (Kafka stand-in; the Qdrant engine server is its child, counted on its own)"
	case name == procInfra:
		return "vectorstream infra serve (Kafka and Qdrant stand-ins)"
	case name == procQdrantEngine:
		return "qdrant-engine (Qdrant's storage engine qdrant-edge behind VectorStream's gRPC server)"
	case strings.HasPrefix(name, procLoad):
		return "vectorstream load --part (a share of the load)"
	case name == procKafkaContainer:
		return "Kafka (its container's main process: " + r.env.KafkaLabel + ")"
	case name == procQdrantContainer:
		return "Qdrant (its container's main process: " + r.env.QdrantLabel + ")"
	case r.env.Containers != nil:
		return "vectorstream pipeline (its container's main process)"
	}
	return "vectorstream pipeline"
}

// verify checks by identity what the run left in Qdrant and the dead-letter topic.
func (r *run) verify(ctx context.Context) error {
	if r.o.BeforeVerify != nil {
		if err := r.o.BeforeVerify(ctx, r.env, r.qc); err != nil {
			return fmt.Errorf("before verify: %w", err)
		}
	}
	r.log.Info("verifying")
	vf := &verifier{sc: r.sc, rec: r.lg.record(r.gcfg), env: r.env, qc: r.qc,
		enc: embed.NewEncoder(r.model, r.backend.Backend), dim: r.model.Dim()}
	r.res.Verification, r.res.Counts.Valid, r.res.Counts.Malformed = vf.run(ctx, r.res.Pipeline.Counters)
	// How far Qdrant's optimizer got: the points of the events collection in
	// HNSW-indexed segments when the run was verified (Qdrant indexes in the
	// background, so a run can end with much of its data unindexed).
	if info, err := r.qc.GetCollectionInfo(ctx, r.sc.Pipeline.Qdrant.EventsCollection); err == nil {
		r.res.Extra["qdrant_events_points"] = float64(info.GetPointsCount())
		r.res.Extra["qdrant_events_indexed_vectors"] = float64(info.GetIndexedVectorsCount())
		r.res.Extra["qdrant_events_segments"] = float64(info.GetSegmentsCount())
	}
	return nil
}

// judge decides validity and evaluates the gates.
func (r *run) judge() { judge(r.res, r.sc) }

// FitModel loads the scenario's model file, or fits a model on its catalog.
func FitModel(ctx context.Context, sc *Scenario) (*embed.Model, error) {
	gen, _, err := sc.NewGenerator()
	if err != nil {
		return nil, err
	}
	be, err := sc.NewBackend()
	if err != nil {
		return nil, err
	}
	defer be.Close()
	return loadOrFit(ctx, sc, gen, be)
}
