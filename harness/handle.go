package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/measure"
	"github.com/vectorstream/vectorstream/pipeline"
	"gopkg.in/yaml.v3"
)

// pipelineHandle is the harness's view of a running pipeline, in this process or in a
// child process; the run does not care which.
type pipelineHandle interface {
	// Ready reports whether the pipeline has joined its group and can consume.
	Ready(ctx context.Context) bool
	// MeasureFrom makes its histograms ignore events intended before t.
	MeasureFrom(ctx context.Context, t time.Time) error
	// Counters returns the running totals.
	Counters(ctx context.Context) (pipeline.Counters, error)
	// Interval returns the totals, the e2e histogram since the previous call and the
	// resource use of the process the pipeline runs in.
	Interval(ctx context.Context) (pipeline.Counters, *hdrhistogram.Histogram, measure.ProcessSample, error)
	// Final returns the histograms, counters and batch commits.
	Final(ctx context.Context) (childproc.RemoteStats, error)
	// Done is closed when the pipeline has stopped.
	Done() <-chan struct{}
	// Stop stops the pipeline, waits for it and returns why it stopped, if not asked to.
	Stop() error
}

// inProcess runs the pipeline in a goroutine of the harness.
type inProcess struct {
	p      *pipeline.Pipeline
	stats  *pipeline.Stats
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func startInProcess(ctx context.Context, p *pipeline.Pipeline, stats *pipeline.Stats) *inProcess {
	ctx, cancel := context.WithCancel(ctx)
	h := &inProcess{p: p, stats: stats, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.err = p.Run(ctx)
	}()
	return h
}

func (h *inProcess) Ready(context.Context) bool { return h.p.Ready() }
func (h *inProcess) MeasureFrom(_ context.Context, t time.Time) error {
	h.stats.MeasureFrom(t)
	return nil
}
func (h *inProcess) Counters(context.Context) (pipeline.Counters, error) {
	return h.stats.Counters(), nil
}
func (h *inProcess) Interval(context.Context) (pipeline.Counters, *hdrhistogram.Histogram, measure.ProcessSample, error) {
	return h.stats.Counters(), h.stats.TakeInterval(), measure.SampleProcess(), nil
}
func (h *inProcess) Final(context.Context) (childproc.RemoteStats, error) {
	snap, err := h.stats.Snapshot()
	return childproc.RemoteStats{Snapshot: snap, Commits: h.stats.Commits()}, err
}
func (h *inProcess) Done() <-chan struct{} { return h.done }
func (h *inProcess) Stop() error {
	h.cancel()
	<-h.done
	return h.err
}

// childProcess runs `vectorstream pipeline` as its own process (or container) and
// talks to it over its health address (childproc.Client).
type childProcess struct {
	ctl    childControl
	client *childproc.Client
	done   chan struct{}
	err    error
	dir    string
	mu     sync.Mutex
}

// childControl signals a pipeline process: an os process of the harness's, or
// the main process of a container.
type childControl interface {
	// interrupt asks it to finish (SIGINT: it completes and commits the batch in hand).
	interrupt() error
	// kill ends it at once (SIGKILL).
	kill() error
}

// osProcess is a child process of the harness.
type osProcess struct{ p *os.Process }

func (o osProcess) interrupt() error { return o.p.Signal(os.Interrupt) }
func (o osProcess) kill() error      { return o.p.Kill() }

// childSpec is what a pipeline process is started with.
type childSpec struct {
	self    string          // the vectorstream binary
	sc      *Scenario       // its infra section: the mode and, external, the security settings
	cfg     pipeline.Config // the pipeline's configuration; its health address becomes a free port
	env     *infra.Env      // the Kafka and Qdrant it connects to
	model   *embed.Model
	backend string  // the embedding backend: cpu, cuda or auto
	proc    procTag // where the process's memory is sampled
}

// startChild writes the model and the pipeline configuration into a temporary folder
// and starts `spec.self pipeline` on them, connected to spec.env. It returns once the
// process announced its health address, or ctx ended.
func startChild(ctx context.Context, spec childSpec) (*childProcess, error) {
	if spec.self == "" && spec.env.Containers == nil {
		return nil, errors.New("infra.pipeline_process: the harness was not told where the vectorstream binary is")
	}
	dir, err := os.MkdirTemp("", "vectorstream-pipeline-")
	if err != nil {
		return nil, fmt.Errorf("pipeline process: %w", err)
	}
	if spec.env.Containers != nil && spec.cfg.Spool.Dir != "" {
		// Mounted in the container at the same path, which must be absolute.
		if spec.cfg.Spool.Dir, err = filepath.Abs(spec.cfg.Spool.Dir); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pipeline container: spool: %w", err)
		}
	}
	args, err := writeChildFiles(dir, spec)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if spec.env.Containers != nil {
		return launchContainer(ctx, spec, args.Argv(), dir)
	}
	return launchChild(ctx, spec.self, args.Argv(), dir, spec.proc)
}

// writeChildFiles writes what the process reads (model, configuration and, in external
// mode, the security settings) into dir and returns the process's arguments.
func writeChildFiles(dir string, spec childSpec) (childproc.PipelineArgs, error) {
	args := childproc.PipelineArgs{Config: filepath.Join(dir, "app_config.yaml"), Model: filepath.Join(dir, "model.vsm"),
		Backend: spec.backend, Brokers: spec.env.KafkaBrokers, Qdrant: spec.env.QdrantAddr()}
	if err := spec.model.Save(args.Model); err != nil {
		return args, fmt.Errorf("pipeline process: %w", err)
	}
	cfg := spec.cfg
	cfg.HealthAddr = "127.0.0.1:0"
	if err := writeYAML(args.Config, cfg, 0o644); err != nil {
		return args, fmt.Errorf("pipeline process: config: %w", err)
	}
	if spec.sc.Infra.Mode == infra.ModeExternal {
		args.Security = filepath.Join(dir, "security.yaml")
		if err := writeYAML(args.Security, spec.sc.Infra.Security, 0o600); err != nil {
			return args, fmt.Errorf("pipeline process: security: %w", err)
		}
	}
	return args, nil
}

func writeYAML(path string, v any, perm os.FileMode) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, perm)
}

// launchChild starts self with argv and waits for its announcement; the process owns
// dir from then on (Stop removes it), and dir is removed when it does not start.
func launchChild(ctx context.Context, self string, argv []string, dir string, proc procTag) (*childProcess, error) {
	cmd := exec.Command(self, argv...)
	cmd.Env = childproc.Env(os.Environ(), childproc.CmdPipeline)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pipeline process: %w", err)
	}
	proc.started(cmd.Process.Pid)
	return awaitAnnouncement(ctx, osProcess{cmd.Process}, out, dir, func() error {
		err := cmd.Wait()
		proc.ended()
		return err
	})
}

// awaitAnnouncement reads the child's health address from its standard output
// out and returns its handle; exited waits for the child to exit and says why.
func awaitAnnouncement(ctx context.Context, ctl childControl, out io.Reader, dir string, exited func() error) (*childProcess, error) {
	h := &childProcess{ctl: ctl, done: make(chan struct{}), dir: dir}
	type announced struct {
		addr string
		err  error
	}
	annc := make(chan announced, 1)
	go func() {
		defer close(h.done)
		addr, err := childproc.ReadAnnouncement(out)
		annc <- announced{addr, err}
		_, _ = io.Copy(io.Discard, out)
		h.err = exited()
	}()
	select {
	case a := <-annc:
		if a.err != nil {
			// Why it exited (an exit code, an OOM kill) says more than the
			// missing announcement.
			if stopErr := h.Stop(); stopErr != nil {
				return nil, fmt.Errorf("%w (%v)", stopErr, a.err)
			}
			return nil, fmt.Errorf("pipeline process: %w", a.err)
		}
		h.client = childproc.NewClient(a.addr)
		return h, nil
	case <-ctx.Done():
		_ = h.Stop()
		return nil, fmt.Errorf("pipeline process: waiting for its health address: %w", ctx.Err())
	}
}

func (h *childProcess) Ready(ctx context.Context) bool { return h.client.Ready(ctx) }
func (h *childProcess) MeasureFrom(ctx context.Context, t time.Time) error {
	return h.client.MeasureFrom(ctx, t)
}
func (h *childProcess) Counters(ctx context.Context) (pipeline.Counters, error) {
	return h.client.Counters(ctx)
}
func (h *childProcess) Interval(ctx context.Context) (pipeline.Counters, *hdrhistogram.Histogram, measure.ProcessSample, error) {
	return h.client.Interval(ctx)
}
func (h *childProcess) Final(ctx context.Context) (childproc.RemoteStats, error) {
	return h.client.Final(ctx)
}
func (h *childProcess) Done() <-chan struct{} { return h.done }

// Stop asks the child to finish (SIGINT: it completes and commits the batch in hand)
// and waits for it.
func (h *childProcess) Stop() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.done:
	default:
		_ = h.ctl.interrupt()
		select {
		case <-h.done:
		case <-time.After(3 * time.Minute): // longer than a batch may take
			_ = h.ctl.kill()
			<-h.done
		}
	}
	os.RemoveAll(h.dir)
	if h.err != nil {
		return fmt.Errorf("pipeline process: %w", h.err)
	}
	return nil
}

// group is several pipeline processes in one consumer group, seen as one pipeline:
// counters are summed, histograms merged (never averaged), resource use added up.
type group struct {
	members []pipelineHandle
	done    chan struct{} // closed when any member stops
}

func newGroup(members []pipelineHandle) *group {
	g := &group{members: members, done: make(chan struct{})}
	var once sync.Once
	for _, h := range members {
		go func() {
			<-h.Done()
			once.Do(func() { close(g.done) })
		}()
	}
	return g
}

func (g *group) Ready(ctx context.Context) bool {
	for _, h := range g.members {
		if !h.Ready(ctx) {
			return false
		}
	}
	return true
}

func (g *group) MeasureFrom(ctx context.Context, t time.Time) error {
	for _, h := range g.members {
		if err := h.MeasureFrom(ctx, t); err != nil {
			return err
		}
	}
	return nil
}

func (g *group) Counters(ctx context.Context) (pipeline.Counters, error) {
	var sum pipeline.Counters
	for _, h := range g.members {
		c, err := h.Counters(ctx)
		if err != nil {
			return pipeline.Counters{}, err
		}
		sum.Add(c)
	}
	return sum, nil
}

func (g *group) Interval(ctx context.Context) (pipeline.Counters, *hdrhistogram.Histogram, measure.ProcessSample, error) {
	var sum pipeline.Counters
	merged := measure.NewHistogram()
	var ps measure.ProcessSample
	for _, h := range g.members {
		c, hist, p, err := h.Interval(ctx)
		if err != nil {
			return pipeline.Counters{}, nil, ps, err
		}
		sum.Add(c)
		merged.Merge(hist)
		ps.At = p.At
		ps.CPU += p.CPU
		ps.HeapBytes += p.HeapBytes
		ps.RSSBytes += p.RSSBytes
		ps.GCPause += p.GCPause
		ps.GCCycles += p.GCCycles
		ps.Goroutines += p.Goroutines
	}
	return sum, merged, ps, nil
}

// Final merges the members' statistics (see mergeStats).
func (g *group) Final(ctx context.Context) (childproc.RemoteStats, error) {
	all := make([]childproc.RemoteStats, 0, len(g.members))
	for _, h := range g.members {
		st, err := h.Final(ctx)
		if err != nil {
			return childproc.RemoteStats{}, err
		}
		all = append(all, st)
	}
	return mergeStats(all)
}

// Done is closed when any member stops: the group is no longer what was asked for.
func (g *group) Done() <-chan struct{} { return g.done }

func (g *group) Stop() error {
	var errs []error
	for _, h := range g.members {
		errs = append(errs, h.Stop())
	}
	return errors.Join(errs...)
}
