package pipeline

import (
	"context"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/event"
)

// expiry is the state of the retention (QdrantConfig.Retention): the newest event
// time written, and whether an event write has landed since the last sweep began.
// The write stage reports every successful event write to it; a goroutine of Run
// sweeps every RetentionEvery. Safe for concurrent use; a nil *expiry (no
// retention) ignores writes.
type expiry struct {
	window time.Duration
	stats  *Stats

	mu     sync.Mutex
	newest time.Time // the newest event timestamp written
	writes uint64    // event writes that succeeded
	swept  uint64    // of those, the ones the last completed sweep began after
}

func newExpiry(window time.Duration, stats *Stats) *expiry {
	if window <= 0 {
		return nil
	}
	return &expiry{window: window, stats: stats}
}

// wrote records that evs are stored.
func (e *expiry) wrote(evs []event.Event) {
	if e == nil || len(evs) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range evs {
		if evs[i].Timestamp.After(e.newest) {
			e.newest = evs[i].Timestamp
		}
	}
	if e.writes == e.swept {
		e.stats.addCounters(Counters{ExpirePending: 1})
	}
	e.writes++
}

// due returns the cutoff of a sweep to make now (the newest event time written
// minus the window, in whole milliseconds so that Qdrant's microsecond datetimes
// and the verification's nanoseconds agree on every point) and the writes it will
// cover; ok is false when nothing was written since the last sweep.
func (e *expiry) due() (cutoff time.Time, upTo uint64, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.writes == e.swept {
		return time.Time{}, 0, false
	}
	return RetentionCutoff(e.newest, e.window), e.writes, true
}

// done records a completed sweep at cutoff that began after upTo writes.
func (e *expiry) done(cutoff time.Time, upTo uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := Counters{ExpireSweeps: 1, ExpireCutoff: cutoff.UnixNano()}
	if upTo > e.swept {
		e.swept = upTo
		if e.swept == e.writes {
			c.ExpirePending = -1
		}
	}
	e.stats.addCounters(c)
}

// RetentionCutoff is the cutoff of the retention after newest was written: the
// points of events before it are deleted.
func RetentionCutoff(newest time.Time, window time.Duration) time.Time {
	return newest.Add(-window).Truncate(time.Millisecond)
}

// runExpiry sweeps every RetentionEvery until ctx ends. A sweep that fails is
// logged; the next one covers its points.
func (c *core) runExpiry(ctx context.Context) {
	if c.expiry == nil {
		return
	}
	t := time.NewTicker(c.Config().Qdrant.RetentionEvery())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cutoff, upTo, ok := c.expiry.due()
		if !ok {
			continue
		}
		var cnt Counters
		err := c.callStore(ctx, &cnt, "expire events", func(ctx context.Context) error { return c.store.Expire(ctx, cutoff) })
		c.stats.addCounters(cnt)
		if err != nil {
			if ctx.Err() == nil {
				c.o.log.Warn("retention: expire failed; the next sweep tries again", "cutoff", cutoff, "err", err)
			}
			continue
		}
		c.expiry.done(cutoff, upTo)
	}
}
