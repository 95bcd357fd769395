package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DeadLetters is where rejected records go: the dead-letter topic (the consumer's
// Kafka client), or MemoryDeadLetters in tests.
type DeadLetters interface {
	// Send produces recs and returns those the broker did not acknowledge (all of them
	// when err is not nil and nothing is known), with the first error.
	Send(ctx context.Context, recs []*kgo.Record) (unsent []*kgo.Record, err error)
}

// kafkaLog is the consumer-group client as the pipeline's source, dead letters and
// committer.
type kafkaLog struct {
	cl  *kgo.Client
	log *slog.Logger
}

// Send implements DeadLetters with one synchronous produce.
func (k kafkaLog) Send(ctx context.Context, recs []*kgo.Record) ([]*kgo.Record, error) {
	res := k.cl.ProduceSync(ctx, recs...)
	var failed []*kgo.Record
	for _, r := range res {
		if r.Err != nil {
			failed = append(failed, r.Record)
		}
	}
	return failed, res.FirstErr()
}

// deadLetter is the second stage: it sends b's dead letters and returns once the
// broker acknowledged every one, holding the batch while the broker is unavailable.
// Dead letters are at least once: a try re-sends only the records the broker did not
// acknowledge, but a record whose acknowledgement was lost goes out again.
func (p *Pipeline) deadLetter(ctx context.Context, b *batch) error {
	wctx := context.WithoutCancel(ctx)
	unsent := b.dead
	err := p.untilAvailable(ctx, b, p.guard.kafka.b, fmt.Sprintf("batch %d", b.no), func() error {
		if len(unsent) == 0 {
			return nil
		}
		return p.call(wctx, &b.c, "dead-letter", p.guard.kafka, func(ctx context.Context) error {
			var err error
			unsent, err = p.dead.Send(ctx, unsent)
			return err
		})
	})
	if err != nil && !isStopped(err) {
		return fmt.Errorf("batch %d: dead-letter %d records: %w", b.no, len(b.dead), err)
	}
	b.validated = time.Now().UnixNano()
	return err
}
