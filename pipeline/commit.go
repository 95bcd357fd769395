package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Committer records how far the pipeline has got: the consumer group's offsets in
// Kafka (the consumer's client), or MemoryCommitter in tests.
type Committer interface {
	// Commit marks every record up to and including each of recs' partitions' last
	// one as done, so the group resumes after them.
	Commit(ctx context.Context, recs []*kgo.Record) error
}

// Commit implements Committer with a synchronous offset commit.
func (k kafkaLog) Commit(ctx context.Context, recs []*kgo.Record) error {
	return k.cl.CommitRecords(ctx, recs...)
}

// commit is the last stage: once the Store acknowledged b (or the spool holds it), its
// offsets are committed, holding the batch while the broker is unavailable; then its
// counters and its events' stage times are recorded and the batch observers told.
func (p *Pipeline) commit(ctx context.Context, b *batch) error {
	wctx := context.WithoutCancel(ctx)
	err := p.untilAvailable(ctx, b, p.guard.kafka.b, fmt.Sprintf("batch %d's commit", b.no), func() error {
		return p.call(wctx, &b.c, "commit offsets", p.guard.kafka, func(ctx context.Context) error {
			return p.commits.Commit(ctx, b.recs)
		})
	})
	if err != nil {
		if isStopped(err) {
			return err
		}
		return fmt.Errorf("batch %d: commit offsets: %w", b.no, err)
	}
	b.c.Commits = 1
	b.committed = time.Now().UnixNano()
	if err := p.o.fault.hit(FaultAfterCommit, b.no); err != nil {
		return err
	}
	b.stamp()
	times := b.times
	if b.spooled {
		// The valid events' latencies end when their replay is acknowledged.
		times = times[:0:0]
		for _, t := range b.times {
			if t.DeadLettered {
				times = append(times, t)
			}
		}
	}
	p.stats.commitBatch(b.c, times)
	for _, reason := range b.reasons {
		p.metrics.dlq.WithLabelValues(string(reason)).Inc()
	}
	p.observe(times)
	p.o.log.Debug("batch committed", "batch", b.no, "events", len(b.recs), "dead_lettered", len(b.dead),
		"embed_ms", float64(b.embedded-b.validated)/1e6, "upsert_ms", float64(b.written-b.embedded)/1e6)
	return nil
}

// observe tells the batch observers (WithBatchObserver) about events just finished.
func (c *core) observe(times []EventTimes) {
	for _, fn := range c.o.onBatch {
		fn(times)
	}
}
