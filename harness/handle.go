package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/internal/measure"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
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
	Final(ctx context.Context) (pipeline.RemoteStats, error)
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
func (h *inProcess) Final(context.Context) (pipeline.RemoteStats, error) {
	snap, err := h.stats.Snapshot()
	return pipeline.RemoteStats{Snapshot: snap, Commits: h.stats.Commits()}, err
}
func (h *inProcess) Done() <-chan struct{} { return h.done }
func (h *inProcess) Stop() error {
	h.cancel()
	<-h.done
	return h.err
}

// childProcess runs `vectorstream pipeline` as its own process and talks to it over
// its health address.
type childProcess struct {
	cmd  *exec.Cmd
	base string
	http *http.Client
	done chan struct{}
	err  error
	dir  string
	mu   sync.Mutex
}

// startChild writes the model and the pipeline configuration into a temporary folder
// and starts `self pipeline` on them, connected to env.
func startChild(ctx context.Context, self string, sc *Scenario, pcfg pipeline.Config, env *infra.Env, model *embed.Model, backend string) (*childProcess, error) {
	if self == "" {
		return nil, errors.New("infra.pipeline_process: the harness was not told where the vectorstream binary is")
	}
	dir, err := os.MkdirTemp("", "vectorstream-pipeline-")
	if err != nil {
		return nil, fmt.Errorf("pipeline process: %w", err)
	}
	modelPath, cfgPath := filepath.Join(dir, "model.vsm"), filepath.Join(dir, "app_config.yaml")
	if err := model.Save(modelPath); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pipeline process: %w", err)
	}
	cfg := pcfg
	cfg.HealthAddr = "127.0.0.1:0"
	b, err := yaml.Marshal(cfg)
	if err == nil {
		err = os.WriteFile(cfgPath, b, 0o644)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pipeline process: config: %w", err)
	}
	args := []string{"pipeline", "--config", cfgPath, "--model", modelPath, "--backend", backend,
		"--brokers", strings.Join(env.KafkaBrokers, ","), "--qdrant", env.QdrantAddr(), "--announce"}
	if sc.Infra.Mode == infra.ModeExternal {
		secPath := filepath.Join(dir, "security.yaml")
		b, err := yaml.Marshal(sc.Infra.Security)
		if err == nil {
			err = os.WriteFile(secPath, b, 0o600)
		}
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pipeline process: security: %w", err)
		}
		args = append(args, "--security", secPath)
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pipeline process: %w", err)
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pipeline process: %w", err)
	}
	h := &childProcess{cmd: cmd, http: &http.Client{Timeout: 10 * time.Second}, done: make(chan struct{}), dir: dir}
	line, err := bufio.NewReader(out).ReadBytes('\n')
	var ann struct {
		HealthAddr string `json:"health_addr"`
	}
	if err == nil {
		err = json.Unmarshal(line, &ann)
	}
	go func() {
		defer close(h.done)
		_, _ = io.Copy(io.Discard, out)
		h.err = cmd.Wait()
	}()
	if err != nil || ann.HealthAddr == "" {
		h.Stop()
		return nil, fmt.Errorf("pipeline process: no address announced (%q): %v", line, err)
	}
	h.base = "http://" + ann.HealthAddr
	return h, nil
}

func (h *childProcess) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, h.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return fmt.Errorf("pipeline process: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("pipeline process: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(body))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

func (h *childProcess) Ready(ctx context.Context) bool {
	return h.do(ctx, http.MethodGet, "/health/ready", nil) == nil
}
func (h *childProcess) MeasureFrom(ctx context.Context, t time.Time) error {
	return h.do(ctx, http.MethodPost, "/debug/vectorstream/measure?from="+strconv.FormatInt(t.UnixNano(), 10), nil)
}
func (h *childProcess) Counters(ctx context.Context) (pipeline.Counters, error) {
	var c pipeline.Counters
	err := h.do(ctx, http.MethodGet, "/debug/vectorstream/counters", &c)
	return c, err
}
func (h *childProcess) Interval(ctx context.Context) (pipeline.Counters, *hdrhistogram.Histogram, measure.ProcessSample, error) {
	var iv pipeline.RemoteInterval
	if err := h.do(ctx, http.MethodPost, "/debug/vectorstream/interval", &iv); err != nil {
		return pipeline.Counters{}, nil, measure.ProcessSample{}, err
	}
	hist, err := hdrhistogram.Decode([]byte(iv.E2E))
	return iv.Counters, hist, iv.Process, err
}
func (h *childProcess) Final(ctx context.Context) (pipeline.RemoteStats, error) {
	var st pipeline.RemoteStats
	err := h.do(ctx, http.MethodGet, "/debug/vectorstream/stats", &st)
	return st, err
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
		_ = h.cmd.Process.Signal(os.Interrupt)
		select {
		case <-h.done:
		case <-time.After(3 * time.Minute): // longer than a batch may take
			_ = h.cmd.Process.Kill()
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
func (g *group) Final(ctx context.Context) (pipeline.RemoteStats, error) {
	all := make([]pipeline.RemoteStats, 0, len(g.members))
	for _, h := range g.members {
		st, err := h.Final(ctx)
		if err != nil {
			return pipeline.RemoteStats{}, err
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
