package harness

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/measure"
	"github.com/vectorstream/vectorstream/pipeline"
)

// restartable is a pipeline process that a pipeline_crash fault kills with SIGKILL and
// replaces with a new one. It is one pipelineHandle over all incarnations: counters
// are summed, and the statistics of a killed incarnation are those it reported just
// before the kill (the events it acknowledged in its last moments are verified, but
// their latencies are not in the histograms).
type restartable struct {
	start func(ctx context.Context) (*childProcess, error)

	mu     sync.Mutex
	cur    *childProcess // nil between a kill and the restart
	past   []childproc.RemoteStats
	pastC  pipeline.Counters
	from   time.Time
	killed *childProcess // the incarnation Kill is killing: its end is expected
	done   chan struct{} // closed when an incarnation stops that was not killed, or a restart fails
	once   sync.Once
}

func newRestartable(ctx context.Context, start func(ctx context.Context) (*childProcess, error)) (*restartable, error) {
	r := &restartable{start: start, done: make(chan struct{})}
	c, err := start(ctx)
	if err != nil {
		return nil, err
	}
	r.adopt(c)
	return r, nil
}

func (r *restartable) adopt(c *childProcess) {
	r.cur = c
	go func() {
		<-c.Done()
		r.mu.Lock()
		killed := r.killed == c
		r.mu.Unlock()
		if !killed {
			r.stopped()
		}
	}()
}

func (r *restartable) stopped() { r.once.Do(func() { close(r.done) }) }

// Kill takes the statistics of the running process, then kills it with SIGKILL: it
// finishes nothing, commits nothing and flushes nothing.
func (r *restartable) Kill(ctx context.Context) error {
	r.mu.Lock()
	c := r.cur
	r.mu.Unlock()
	if c == nil {
		return errors.New("pipeline_crash: no pipeline process is running")
	}
	st, err := c.Final(ctx)
	if err != nil {
		return fmt.Errorf("pipeline_crash: statistics before the kill: %w", err)
	}
	r.mu.Lock()
	r.killed = c
	r.mu.Unlock()
	if err := c.ctl.kill(); err != nil {
		r.mu.Lock()
		r.killed = nil
		r.mu.Unlock()
		return fmt.Errorf("pipeline_crash: kill: %w", err)
	}
	<-c.Done()
	_ = c.Stop() // removes its folder; the process is gone
	// SpoolPending and ExpirePending are levels, not totals: the next incarnation
	// reports the spool, and sweeps what it writes.
	st.Snapshot.Counters.SpoolPending, st.Snapshot.Counters.ExpirePending = 0, 0
	r.mu.Lock()
	r.past = append(r.past, st)
	r.pastC.Add(st.Snapshot.Counters)
	r.cur = nil
	r.mu.Unlock()
	return nil
}

// Restart starts a new process. It does not wait for the process to join the group:
// that wait (the dead member's session timeout, among others) is part of the recovery
// the run measures.
func (r *restartable) Restart(ctx context.Context) error {
	c, err := r.start(ctx)
	if err != nil {
		// Nothing consumes any more: the run must see it stop, not wait out its drain
		// (the error itself is the fault's, in the result).
		r.stopped()
		return fmt.Errorf("pipeline_crash: restart: %w", err)
	}
	r.mu.Lock()
	from := r.from
	r.adopt(c)
	r.mu.Unlock()
	if !from.IsZero() {
		if err := c.MeasureFrom(ctx, from); err != nil {
			return fmt.Errorf("pipeline_crash: restart: %w", err)
		}
	}
	return nil
}

func (r *restartable) current() (*childProcess, pipeline.Counters) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur, r.pastC
}

var errRestarting = errors.New("pipeline process is being restarted")

func (r *restartable) Ready(ctx context.Context) bool {
	c, _ := r.current()
	return c != nil && c.Ready(ctx)
}

func (r *restartable) MeasureFrom(ctx context.Context, t time.Time) error {
	r.mu.Lock()
	r.from = t
	r.mu.Unlock()
	c, _ := r.current()
	if c == nil {
		return errRestarting
	}
	return c.MeasureFrom(ctx, t)
}

func (r *restartable) Counters(ctx context.Context) (pipeline.Counters, error) {
	c, past := r.current()
	if c == nil {
		return past, errRestarting
	}
	got, err := c.Counters(ctx)
	past.Add(got)
	return past, err
}

func (r *restartable) Interval(ctx context.Context) (pipeline.Counters, *hdrhistogram.Histogram, measure.ProcessSample, error) {
	c, past := r.current()
	if c == nil {
		return past, nil, measure.ProcessSample{}, errRestarting
	}
	got, h, ps, err := c.Interval(ctx)
	past.Add(got)
	return past, h, ps, err
}

// Final merges the statistics of every incarnation; with none running (a restart
// that failed) it is those of the killed ones.
func (r *restartable) Final(ctx context.Context) (childproc.RemoteStats, error) {
	c, _ := r.current()
	r.mu.Lock()
	all := append([]childproc.RemoteStats(nil), r.past...)
	r.mu.Unlock()
	if c != nil {
		st, err := c.Final(ctx)
		if err != nil {
			return st, err
		}
		all = append(all, st)
	}
	return mergeStats(all)
}

func (r *restartable) Done() <-chan struct{} { return r.done }

func (r *restartable) Stop() error {
	c, _ := r.current()
	if c == nil {
		return nil
	}
	return c.Stop()
}

// mergeStats merges the statistics of several pipelines (group members, or the
// incarnations of one): histograms and counters are merged, and batch commits are put
// in time order and re-accumulated, so throughput is measured over all of them.
func mergeStats(all []childproc.RemoteStats) (childproc.RemoteStats, error) {
	var out childproc.RemoteStats
	type delta struct {
		at time.Time
		n  int64
	}
	var ds []delta
	for _, st := range all {
		if err := out.Snapshot.Merge(st.Snapshot); err != nil {
			return out, err
		}
		var prev int64
		for _, c := range st.Commits {
			ds = append(ds, delta{c.At, c.Cumulative - prev})
			prev = c.Cumulative
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].at.Before(ds[j].at) })
	var cum int64
	for _, d := range ds {
		cum += d.n
		out.Commits = append(out.Commits, pipeline.Commit{At: d.at, Cumulative: cum})
	}
	return out, nil
}
