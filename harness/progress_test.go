package harness

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/measure"
	"github.com/vectorstream/vectorstream/pipeline"
)

// batchedPipeline is a pipelineHandle that commits a batch of size records every
// period from start+offset, read off the (fake) clock: a steady rate that arrives in
// steps which do not line up with the sampler's seconds.
type batchedPipeline struct {
	start          time.Time
	offset, period time.Duration
	size           int64

	mu      sync.Mutex
	commits []pipeline.Commit
}

func (p *batchedPipeline) advance() pipeline.Counters {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for {
		at := p.start.Add(p.offset + time.Duration(len(p.commits))*p.period)
		if at.After(now) {
			break
		}
		p.commits = append(p.commits, pipeline.Commit{At: at, Cumulative: int64(len(p.commits)+1) * p.size})
	}
	return pipeline.Counters{Consumed: int64(len(p.commits)) * p.size}
}

func (p *batchedPipeline) Ready(context.Context) bool                   { return true }
func (p *batchedPipeline) MeasureFrom(context.Context, time.Time) error { return nil }
func (p *batchedPipeline) Counters(context.Context) (pipeline.Counters, error) {
	return p.advance(), nil
}
func (p *batchedPipeline) Interval(context.Context) (pipeline.Counters, *hdrhistogram.Histogram, measure.ProcessSample, error) {
	return p.advance(), measure.NewHistogram(), measure.ProcessSample{At: time.Now()}, nil
}
func (p *batchedPipeline) Final(context.Context) (childproc.RemoteStats, error) {
	p.advance()
	p.mu.Lock()
	defer p.mu.Unlock()
	return childproc.RemoteStats{Commits: append([]pipeline.Commit(nil), p.commits...)}, nil
}
func (p *batchedPipeline) Done() <-chan struct{} { return nil }
func (p *batchedPipeline) Stop() error           { return nil }

var achievedRe = regexp.MustCompile(`achieved +(\S+)/s after warm-up`)

// achievedIn returns the achieved rate a progress or summary line states.
func achievedIn(t *testing.T, line string) string {
	t.Helper()
	m := achievedRe.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no achieved rate in %q", line)
	}
	return m[1]
}

// TestProgressAchievedIsTheSummarys: the progress lines state the summary's measure
// (records committed per second after the warm-up, commitRate), not the second's own
// count, and the last progress line states the summary's very number. The pipeline
// commits 1066-record batches every 533 ms (a 500 ms trigger plus the batch's work):
// 2000/s, of which a one-second sample sees one or two batches.
func TestProgressAchievedIsTheSummarys(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		sc := DefaultScenario()
		sc.Warmup, sc.Duration = 5*time.Second, 30*time.Second
		sc.Load.Rate = 2000
		sched, err := workloadsSchedule(&sc)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		lg := &loadGen{sched: sched, start: start, measureFrom: start.Add(sc.Warmup), measureTo: start.Add(sc.Warmup + sc.Duration)}
		ph := &batchedPipeline{start: start, offset: 300 * time.Millisecond, period: 533 * time.Millisecond, size: 1066}
		var progress bytes.Buffer
		smp := startSampler(t.Context(), samplerConfig{lg: lg, ph: ph, sc: &sc, progress: &progress, every: time.Second, backend: "cpu"})
		time.Sleep(sc.Warmup + sc.Duration + 3*time.Second) // fake time: the load and a drain
		smp.stop()
		final, err := ph.Final(t.Context())
		if err != nil {
			t.Fatal(err)
		}

		res := &Result{Scenario: sc}
		res.Throughput.AchievedEPS = commitRate(final.Commits, lg.measureFrom, lg.measureTo)
		res.Throughput.OfferedEPS = sc.Load.Rate
		res.Throughput.AchievedRatio = res.Throughput.AchievedEPS / res.Throughput.OfferedEPS
		smp.printEnd(res)
		var summary bytes.Buffer
		PrintSummary(&summary, res)

		lines := strings.Split(strings.TrimSpace(progress.String()), "\n")
		var summaryLine string
		for l := range strings.SplitSeq(summary.String(), "\n") {
			if strings.HasPrefix(l, "throughput") {
				summaryLine = l
			}
		}
		want := achievedIn(t, summaryLine)
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "end") {
			t.Fatalf("last progress line %q is not the end line", last)
		}
		if got := achievedIn(t, last); got != want {
			t.Errorf("last progress line says achieved %s/s, the summary %s/s:\n%s\n%s", got, want, last, summaryLine)
		}

		// Every per-second line after the warm-up states the cumulative rate, within
		// one batch over the seconds measured so far; in the warm-up it states none.
		eps, _ := strconv.ParseFloat(want, 64)
		var thisSecond []float64
		for _, l := range lines[:len(lines)-1] {
			f := strings.Fields(l)
			k, _ := strconv.Atoi(strings.TrimSuffix(f[1], "s"))
			got := achievedIn(t, l)
			if k <= int(sc.Warmup.Seconds())+1 {
				if f[0] == "warm-up" && got != "-" {
					t.Errorf("warm-up line states an achieved rate: %q", l)
				}
				continue
			}
			v, err := strconv.ParseFloat(got, 64)
			if err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			measured := float64(min(k, int((sc.Warmup+sc.Duration).Seconds())) - int(sc.Warmup.Seconds()))
			if tol := float64(ph.size)/measured + 1; v < eps-tol || v > eps+tol {
				t.Errorf("second %d: achieved %v/s, summary %v/s (tolerance %.0f)", k, v, eps, tol)
			}
			m := regexp.MustCompile(`consumed +(\d+)/s`).FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("no consumed count in %q", l)
			}
			c, _ := strconv.ParseFloat(m[1], 64)
			if f[0] == "load" {
				thisSecond = append(thisSecond, c)
			}
		}
		// The second's own count, shown beside it under its own name, is the staircase.
		lo, hi := thisSecond[0], thisSecond[0]
		for _, c := range thisSecond {
			lo, hi = min(lo, c), max(hi, c)
		}
		if lo > 0.6*eps || hi < 0.9*eps {
			t.Errorf("per-second consumed ranged %v–%v: the batches did not alias as this test needs", lo, hi)
		}
	})
}
