package harness

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/measure"
	"github.com/vectorstream/vectorstream/pipeline"
)

// sampler writes one timeline row per second of the run, from the load generator's
// and the pipeline's counters and this process's resource use.
type sampler struct {
	lg       *loadGen
	ph       pipelineHandle
	start    time.Time
	sc       *Scenario
	progress io.Writer
	every    int // progress line every this many seconds
	backend  string
	procs    *procTable
	ctrs     *infra.ContainerSet // containers mode: whose Docker stats each row records

	rows []TimelineRow
	tail *TimelineRow // the part-second after the last row, when the run stopped
	// committed holds, per sample, the records committed by then: the progress
	// lines' achieved rate is commitRate over it, as the summary's is over the commits.
	committed []pipeline.Commit

	cancel context.CancelFunc
	done   chan struct{}
}

// samplerConfig is what a sampler reads (the load generator, whose start is the
// timeline's zero, and the pipeline) and where it reports progress (every: the period
// of the progress lines, default 1 s; backend: named in them).
type samplerConfig struct {
	lg       *loadGen
	ph       pipelineHandle
	sc       *Scenario
	progress io.Writer
	every    time.Duration
	backend  string
	procs    *procTable // whose RssAnon each row records
	ctrs     *infra.ContainerSet
}

// startSampler starts sampling one row a second until stop.
func startSampler(ctx context.Context, c samplerConfig) *sampler {
	s := &sampler{lg: c.lg, ph: c.ph, start: c.lg.start, sc: c.sc, progress: c.progress, every: max(1, int(c.every/time.Second)),
		backend: c.backend, procs: c.procs, ctrs: c.ctrs, done: make(chan struct{})}
	ctx, s.cancel = context.WithCancel(ctx)
	go func() {
		defer close(s.done)
		s.run(ctx)
	}()
	return s
}

// stop ends the sampling after one last look at the part-second since the last row,
// and waits for it. It may be called more than once.
func (s *sampler) stop() {
	s.cancel()
	<-s.done
}

func (s *sampler) run(ctx context.Context) {
	// A baseline, so the first row's GC pause and CPU are that second's, not the
	// process's whole life (model fitting included).
	prevC, _, prev, err := s.ph.Interval(ctx)
	if err != nil {
		prev = measure.ProcessSample{}
	}
	var prevAcked int64
	for k := 1; ; k++ {
		next := s.start.Add(time.Duration(k) * time.Second)
		t := time.NewTimer(time.Until(next))
		final := false
		select {
		case <-ctx.Done():
			t.Stop()
			// One last look at the part-second since the last row: it is kept apart
			// (tail), for recovery times, since its counts cover less than a second.
			final = true
			next = time.Now()
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
		case <-t.C:
		}
		c, h, ps, err := s.ph.Interval(ctx)
		if err != nil {
			// Keep the row (the load generator's numbers hold); the pipeline's columns
			// repeat the last sample.
			h, c, ps = measure.NewHistogram(), prevC, prev
		}
		acked := s.lg.ackedSoFar()
		wall := ps.At.Sub(prev.At)
		row := TimelineRow{
			Second:       k,
			Offered:      s.lg.offeredBefore(next) - s.lg.offeredBefore(next.Add(-time.Second)),
			Produced:     acked - prevAcked,
			Consumed:     c.Consumed - prevC.Consumed,
			Written:      c.Written - prevC.Written,
			DeadLettered: c.DeadLettered - prevC.DeadLettered,
			Lag:          acked - c.Consumed,
			HeapBytes:    ps.HeapBytes,
			RSSBytes:     ps.RSSBytes,
			GCPauseMS:    float64(ps.GCPause-prev.GCPause) / 1e6,
			Goroutines:   ps.Goroutines,
			RSSAnon:      s.procs.sample(),
		}
		row.ContainerCPU, row.ContainerMem = sampleContainers(ctx, s.ctrs)
		if wall > 0 && !prev.At.IsZero() {
			row.CPUPercent = 100 * float64(ps.CPU-prev.CPU) / float64(wall)
		}
		if h.TotalCount() > 0 {
			row.E2EP50MS = float64(h.ValueAtQuantile(50)) / 1000
			row.E2EP99MS = float64(h.ValueAtQuantile(99)) / 1000
			row.E2EMaxMS = float64(h.Max()) / 1000
		}
		if final {
			s.tail = &row
			return
		}
		s.rows = append(s.rows, row)
		s.committed = append(s.committed, pipeline.Commit{At: next, Cumulative: c.Consumed})
		prev, prevC, prevAcked = ps, c, acked
		if s.progress != nil && k%s.every == 0 {
			s.printSecond(k, row, c.DeadLettered)
		}
	}
}

// printSecond writes the progress line of second k: phase, elapsed and remaining
// time, the achieved rate so far (from the batch commits) and row's numbers.
func (s *sampler) printSecond(k int, row TimelineRow, deadLettered int64) {
	total := s.sc.Warmup + s.sc.Duration
	phase := "load"
	elapsed := time.Duration(k) * time.Second
	remaining := total - elapsed
	if elapsed <= s.sc.Warmup {
		phase = "warm-up"
	}
	if remaining < 0 {
		phase, remaining = "drain", 0
	}
	achieved := "-"
	if eps := commitRate(s.committed, s.lg.measureFrom, s.lg.measureTo); eps > 0 {
		achieved = strconv.FormatFloat(eps, 'f', 0, 64)
	}
	fmt.Fprintf(s.progress, "%-7s %4ds elapsed %4ds left  achieved %6s/s after warm-up  | this second: offered %6d/s consumed %6d/s e2e p99 %8.1f ms cpu %4.0f%%  | dlq %6d in all  lag %6d  backend %s\n",
		phase, k, int(remaining.Seconds()), achieved, row.Offered, row.Consumed, row.E2EP99MS, row.CPUPercent, deadLettered, row.Lag, s.backend)
}

// printEnd writes the last progress line, once the run is summed up: the achieved
// rate from the batch commits, the summary's own figure (achievedText), which the
// per-second lines approach from their one-second samples.
func (s *sampler) printEnd(res *Result) {
	if s.progress == nil {
		return
	}
	t := res.Throughput
	fmt.Fprintf(s.progress, "%-7s %s (%.1f%% of offered %.0f/s), from the batch commits as in the summary  dlq %d in all\n",
		"end", achievedText(t.AchievedEPS), 100*t.AchievedRatio, t.OfferedEPS, res.Counts.DeadLettered)
}

// sampleContainers takes one Docker stats sample of every running container of
// set, at once, within 900 ms: CPU in cores by role (none for a container's first
// sample, which has nothing to compare with) and memory in bytes. A nil set
// gives nils.
func sampleContainers(ctx context.Context, set *infra.ContainerSet) (map[string]float64, map[string]uint64) {
	if set == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 900*time.Millisecond)
	defer cancel()
	all := set.All()
	samples := make([]infra.Sample, len(all))
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, c := range all {
		wg.Go(func() { samples[i], errs[i] = c.Stats(ctx) })
	}
	wg.Wait()
	cpu, mem := map[string]float64{}, map[string]uint64{}
	for i, c := range all {
		// A removed container (a crashed pipeline's) answers with an error, or
		// with no memory at all.
		if errs[i] != nil || samples[i].MemoryBytes == 0 {
			continue
		}
		mem[c.Role()] = samples[i].MemoryBytes
		if samples[i].CPUCores >= 0 {
			cpu[c.Role()] = samples[i].CPUCores
		}
	}
	return cpu, mem
}
