package harness

import (
	"context"
	"fmt"
	"io"
	"time"

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

	rows []TimelineRow
}

func newSampler(lg *loadGen, ph pipelineHandle, start time.Time, sc *Scenario, progress io.Writer) *sampler {
	return &sampler{lg: lg, ph: ph, start: start, sc: sc, progress: progress}
}

func (s *sampler) run(ctx context.Context) {
	var prev pipeline.ProcessSample
	var prevC pipeline.Counters
	var prevAcked int64
	total := s.sc.Warmup + s.sc.Duration
	for k := 1; ; k++ {
		next := s.start.Add(time.Duration(k) * time.Second)
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		c, h, ps, err := s.ph.Interval(ctx)
		if err != nil {
			// Keep the row (the load generator's numbers hold); the pipeline's columns
			// repeat the last sample.
			h, c, ps = pipeline.NewHistogram(), prevC, prev
		}
		acked := s.lg.acked.Load()
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
		}
		if wall > 0 && !prev.At.IsZero() {
			row.CPUPercent = 100 * float64(ps.CPU-prev.CPU) / float64(wall)
		}
		if h.TotalCount() > 0 {
			row.E2EP50MS = float64(h.ValueAtQuantile(50)) / 1000
			row.E2EP99MS = float64(h.ValueAtQuantile(99)) / 1000
			row.E2EMaxMS = float64(h.Max()) / 1000
		}
		s.rows = append(s.rows, row)
		prev, prevC, prevAcked = ps, c, acked
		if s.progress != nil {
			phase := "load"
			elapsed := time.Duration(k) * time.Second
			remaining := total - elapsed
			if elapsed <= s.sc.Warmup {
				phase = "warm-up"
			}
			if remaining < 0 {
				phase, remaining = "drain", 0
			}
			fmt.Fprintf(s.progress, "%-7s %4ds elapsed %4ds left  offered %6d/s  written %6d/s  dlq %4d/s  e2e p99 %8.1f ms  lag %6d  cpu %5.0f%%\n",
				phase, k, int(remaining.Seconds()), row.Offered, row.Written, row.DeadLettered, row.E2EP99MS, row.Lag, row.CPUPercent)
		}
	}
}
