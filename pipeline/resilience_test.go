package pipeline_test

import (
	"context"
	"io"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/kernels"
	"github.com/vectorstream/vectorstream/kernels/kerneltest"
	"github.com/vectorstream/vectorstream/pipeline"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// waitFor polls cond every 5 ms until it holds; after 30 s it reports an error and
// returns false, and when stop is closed it returns false quietly. Used where the
// pipeline reports progress only through counters. Safe to call from any goroutine
// that the test joins before it returns.
func waitFor(t *testing.T, stop <-chan struct{}, what string, cond func() bool) bool {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-stop:
			return false
		case <-deadline:
			t.Errorf("timed out waiting for %s", what)
			return false
		}
	}
	return true
}

// downAfterFirstBatch is a batch observer that takes Qdrant down once the first batch
// is committed, so the outage meets a pipeline in full flight.
func downAfterFirstBatch(t *testing.T, r *rig) pipeline.Opt {
	var once sync.Once
	return pipeline.WithBatchObserver(func([]pipeline.EventTimes) {
		once.Do(func() {
			r.env.QdrantServer.SetFault(func(string) error { return status.Error(codes.Unavailable, "down") })
		})
	})
}

// committedTotal is the number of records the group has committed.
func committedTotal(t *testing.T, r *rig, group string) int64 {
	var n int64
	for _, o := range r.committed(t, group) {
		n += o
	}
	return n
}

// TestQdrantOutageHoldsBatch: without a spool, a batch that Qdrant will not take is
// held (uncommitted, nothing new pulled) until Qdrant answers again; then everything
// lands exactly once.
func TestQdrantOutageHoldsBatch(t *testing.T) {
	t.Parallel()
	r := newRig(t, 400, 0.02)
	cfg := r.config()
	stats := pipeline.NewStats()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(func() {
		defer r.env.QdrantServer.SetFault(nil)
		if !waitFor(t, stop, "a held batch", func() bool { return stats.Counters().Held > 0 }) {
			return
		}
		// The held batch is not committed: the group's offsets cover exactly the
		// records of the batches committed before the outage.
		c := stats.Counters()
		if got := committedTotal(t, r, cfg.Kafka.Group); got != c.Consumed {
			t.Errorf("while Qdrant was down: %d records committed, the pipeline finished %d", got, c.Consumed)
		}
	})
	if _, err := r.run(t, cfg, pipeline.WithStats(stats), downAfterFirstBatch(t, r)); err != nil {
		t.Fatal(err)
	}
	c := stats.Counters()
	if c.BreakerOpens == 0 || c.Spooled != 0 {
		t.Errorf("counters %+v: want the breaker to have opened and nothing spooled", c)
	}
	r.checkExactlyOnce(t, cfg)
}

// TestQdrantOutageSpoolsAndReplays: with a spool, batches Qdrant will not take are
// spooled and their offsets committed while Qdrant is down; once it is back the spool
// is replayed before anything new, and events and profiles are exact.
func TestQdrantOutageSpoolsAndReplays(t *testing.T) {
	t.Parallel()
	r := newRig(t, 600, 0.02)
	cfg := r.config()
	cfg.Spool.Enabled, cfg.Spool.Dir = true, t.TempDir()
	stats := pipeline.NewStats()
	reg := prometheus.NewRegistry()
	var p *pipeline.Pipeline
	ready := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(func() {
		defer r.env.QdrantServer.SetFault(nil)
		// Batch 1 was committed before the outage; batch 2 is spooled, then committed.
		if !waitFor(t, stop, "a spooled and committed batch", func() bool {
			c := stats.Counters()
			return c.SpooledBatches > 0 && c.Commits >= 2
		}) {
			return
		}
		// Its offsets are committed although Qdrant does not have its events.
		c := stats.Counters()
		if got := committedTotal(t, r, cfg.Kafka.Group); got != c.Consumed || c.Written >= c.Valid {
			t.Errorf("after spooling: %d records committed, %d consumed, %d of %d written", got, c.Consumed, c.Written, c.Valid)
		}
		<-ready
		// Visible on the health endpoints and the metrics while Qdrant is down: the
		// breaker is OPEN, or HALF_OPEN between a cool-down and its failing probe, never
		// CLOSED.
		srv := httptest.NewServer(p.Handler())
		defer srv.Close()
		for path, want := range map[string]*regexp.Regexp{
			"/health/qdrant": regexp.MustCompile(`"state":"(OPEN|HALF_OPEN)"`),
			"/health/ready":  regexp.MustCompile(`"spool_pending":[1-9]`),
			"/metrics": regexp.MustCompile(`(?s)vectorstream_breaker_state\{breaker="qdrant"\} [12]\n.*` +
				`vectorstream_breaker_transitions_total\{breaker="qdrant",from="closed",to="open"\} [1-9]`),
		} {
			resp, err := srv.Client().Get(srv.URL + path)
			if err != nil {
				t.Error(err)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !want.Match(body) {
				t.Errorf("GET %s: %s, want it to contain %s", path, body, want)
			}
		}
	})
	var err error
	p, err = pipeline.New(cfg, r.deps(), pipeline.WithStats(stats), pipeline.WithRegistry(reg), downAfterFirstBatch(t, r))
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, stop, "every event in Qdrant", func() bool {
		c := stats.Counters()
		return c.Written == c.Valid && c.Consumed == r.total() && c.SpoolPending == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c := stats.Counters()
	if c.Spooled == 0 || c.Replayed != c.Spooled || c.ReplayedBatches != c.SpooledBatches {
		t.Errorf("counters %+v: want spooled > 0 and replayed = spooled", c)
	}
	r.checkExactlyOnce(t, cfg)
}

// TestSpoolReplayedAfterRestart: a pipeline stopped while Qdrant is down leaves its
// spool behind; the next one replays it before it consumes anything.
func TestSpoolReplayedAfterRestart(t *testing.T) {
	t.Parallel()
	r := newRig(t, 300, 0)
	cfg := r.config()
	cfg.Spool.Enabled, cfg.Spool.Dir = true, t.TempDir()
	stats := pipeline.NewStats()
	p, err := pipeline.New(cfg, r.deps(), pipeline.WithStats(stats), downAfterFirstBatch(t, r))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, nil, "a spooled batch", func() bool { return stats.Counters().SpooledBatches > 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	spooled := stats.Counters().Spooled
	r.env.QdrantServer.SetFault(nil)
	p2, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c := p2.Stats().Counters(); c.Replayed != spooled {
		t.Errorf("restart replayed %d events, want the %d spooled", c.Replayed, spooled)
	}
	r.checkExactlyOnce(t, cfg)
}

// total is the number of records in the raw topic.
func (r *rig) total() int64 {
	var n int64
	for _, end := range r.ends {
		n += end
	}
	return n
}

// TestBackendFallback: the embedding backend fails mid-run (a GPU out of memory, here
// injected into the CPU backend): the batch fails cleanly, is embedded again on the
// CPU, the fallback is counted once, and nothing is lost.
func TestBackendFallback(t *testing.T) {
	t.Parallel()
	r := newRig(t, 600, 0.02)
	cfg := r.config()
	faulty := kerneltest.NewFaulty(r.be, 3)
	fb := kernels.NewFallback(faulty, nil)
	deps := r.deps()
	deps.NewEmbedder = func(onFallback func(error)) (pipeline.Embedder, error) {
		return embed.NewEncoder(r.model, fb, embed.OnFallback(onFallback)), nil
	}
	stats := pipeline.NewStats()
	p, err := pipeline.New(cfg, deps, pipeline.WithStats(stats))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, nil, "every event in Qdrant", func() bool {
		c := stats.Counters()
		return c.Consumed == r.total() && c.Written == c.Valid
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := stats.Counters(); c.BackendFallbacks != 1 || faulty.Failed() == 0 || fb.Cause() == nil || fb.Name() != "cpu" {
		t.Errorf("fallbacks %d, injected failures %d, cause %v: want one fallback after an injected failure", c.BackendFallbacks, faulty.Failed(), fb.Cause())
	}
	r.checkExactlyOnce(t, cfg)
}
