package harness

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/pipeline"
)

// pipelines is the pipeline of a run, however it runs: in this process, as one child
// process, as a consumer group of child processes, or as a child process that a
// pipeline_crash fault kills and restarts (crash is then set).
type pipelines struct {
	handle pipelineHandle
	crash  crasher // nil unless the scenario crashes the pipeline
	// stopOnce stops the pipeline and everything that serves it, once.
	stopOnce func() error
}

func (p *pipelines) stop() error { return p.stopOnce() }

// newPipelines is the one constructor of a run's pipeline: it picks in-process, child,
// group or restartable from the scenario. Each process gets a spool directory of its
// own (a pipeline_crash restart reuses its predecessor's).
func newPipelines(ctx context.Context, r *run) (*pipelines, error) {
	config, err := spoolConfigs(r)
	if err != nil {
		return nil, err
	}
	sc := r.sc
	pl := &pipelines{}
	switch {
	case sc.Infra.PipelineProcess && sc.hasFault(FaultPipelineCrash):
		rs, err := newRestartable(ctx, func(ctx context.Context) (*childProcess, error) {
			return startChild(ctx, childSpec{self: r.o.Self, sc: sc, cfg: config(0), env: r.env, model: r.model, backend: r.backend.Name(),
				proc: procTag{r.procs, procPipeline}})
		})
		if err != nil {
			return nil, err
		}
		pl.handle, pl.crash = rs, rs
		if r.env.Containers != nil {
			r.note("the pipeline ran in a container of its own, which a pipeline_crash fault killed with SIGKILL (docker kill) and replaced with a new container of the same image; the killed container's statistics are those it reported just before the kill")
		} else {
			r.note("the pipeline ran as a process of its own, which a pipeline_crash fault killed with SIGKILL and replaced; the killed process's statistics are those it reported just before the kill")
		}
	case sc.Infra.PipelineProcess:
		if pl.handle, err = startChildren(ctx, r, config); err != nil {
			return nil, err
		}
	default:
		if pl.handle, err = startInProcessPipeline(ctx, r, config(0)); err != nil {
			return nil, err
		}
	}
	pl.stopOnce = once(pl.handle.Stop)
	return pl, nil
}

// spoolConfigs returns the pipeline configuration of the i-th pipeline process: with
// a spool directory of its own when the spool is on, under the run's folder
// (Options.Dir), removed when the run closes.
func spoolConfigs(r *run) (func(i int) pipeline.Config, error) {
	sc := r.sc
	if !sc.Pipeline.Spool.Enabled {
		return func(int) pipeline.Config { return sc.Pipeline }, nil
	}
	root, err := runTempDir(r.o.Dir, "spool")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	r.onClose(func() { os.RemoveAll(root) })
	return func(i int) pipeline.Config {
		c := sc.Pipeline
		c.Spool.Dir = filepath.Join(root, fmt.Sprintf("pipeline-%d", i))
		return c
	}, nil
}

// runTempDir creates the folder name in the run's folder dir for temporary state, or
// a fresh one under os.TempDir when the run has no folder.
func runTempDir(dir, name string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "vectorstream-"+name+"-")
	}
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(path, 0o750); err != nil {
		return "", err
	}
	return path, nil
}

// startChildren starts infra.pipeline_processes child processes in one consumer group.
func startChildren(ctx context.Context, r *run, config func(int) pipeline.Config) (pipelineHandle, error) {
	n := max(1, r.sc.Infra.PipelineProcesses)
	var members []pipelineHandle
	for k := range n {
		name := procPipeline
		if n > 1 {
			name = fmt.Sprintf("%s-%d", procPipeline, k+1)
		}
		child, err := startChild(ctx, childSpec{self: r.o.Self, sc: r.sc, cfg: config(len(members)), env: r.env, model: r.model, backend: r.backend.Name(),
			proc: procTag{r.procs, name}})
		if err != nil {
			for _, m := range members {
				m.Stop()
			}
			return nil, err
		}
		members = append(members, child)
	}
	if r.env.Containers != nil {
		r.note("the pipeline ran in a container of its own; the timeline's CPU, memory and goroutines are its process's")
	} else {
		r.note("the pipeline ran as %d process(es) of its own in one consumer group; the timeline's CPU, memory and goroutines are theirs, added up, and their histograms are merged", n)
	}
	if n == 1 {
		return members[0], nil
	}
	return newGroup(members), nil
}

// startInProcessPipeline runs the pipeline in a goroutine of the harness, wired as
// `vectorstream pipeline` wires it (pipeline.Wire), with its health server when the
// configuration names an address (stopped when the run closes).
func startInProcessPipeline(ctx context.Context, r *run, cfg pipeline.Config) (pipelineHandle, error) {
	stats := pipeline.NewStats()
	// The pipeline's log_level must not move the harness's level: give it a level
	// variable of its own; the harness's handler still filters by --log-level.
	plog := r.log.With("component", "pipeline")
	opts := append([]pipeline.Opt{pipeline.WithStats(stats), pipeline.WithLogger(plog, new(slog.LevelVar))}, r.o.PipelineOpts...)
	p, err := pipeline.Wire(cfg, pipeline.Wiring{
		KafkaOpts: append([]kgo.Opt{kgo.SeedBrokers(r.env.KafkaBrokers...)}, r.env.KafkaOpts...),
		Qdrant:    r.qc, Model: r.model, Backend: r.backend,
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
	}
	if r.o.OnPipeline != nil {
		r.o.OnPipeline(p)
	}
	h := startInProcess(ctx, p, stats)
	r.note("the pipeline ran inside the harness process: the timeline's CPU, memory and goroutines include the load generator%s",
		map[bool]string{true: " and the embedded services", false: ""}[r.env.Mode == infra.ModeEmbedded && !r.sc.Infra.Process])
	if cfg.HealthAddr == "" {
		return h, nil
	}
	hctx, stopHealth := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		err := p.Serve(hctx, cfg.HealthAddr, func(a net.Addr) {
			r.log.Info("health and metrics", "addr", "http://"+a.String()+"/health")
		})
		if err != nil {
			r.log.Warn("health server", "err", err)
		}
	})
	r.onClose(func() { stopHealth(); wg.Wait() })
	return h, nil
}

// once returns a function that calls fn the first time and returns its error then,
// and nil afterwards.
func once(fn func() error) func() error {
	var o sync.Once
	return func() error {
		var err error
		o.Do(func() { err = fn() })
		return err
	}
}
