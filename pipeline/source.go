package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/event"
)

// source is where the loop's records come from: the consumer group's client
// (kafkaLog), or a list of records in tests.
type source interface {
	// Poll returns up to max records, or none when ctx ends first.
	Poll(ctx context.Context, max int) ([]*kgo.Record, error)
	// AllowRebalance lets a pending rebalance through (BlockRebalanceOnPoll): called
	// only when no batch is in hand.
	AllowRebalance()
}

// loop polls records, cuts them into micro-batches by size or interval, and runs each
// batch through the stages. Nothing new is pulled while spooled batches wait.
func (p *Pipeline) loop(ctx context.Context) error {
	var recs []*kgo.Record
	var consumed []int64
	var closeAt time.Time
	for {
		cfg := p.cfg.Load()
		if len(recs) > 0 && (len(recs) >= cfg.Batch.MaxSize || !time.Now().Before(closeAt) || ctx.Err() != nil) {
			// On a stop the batch in hand is finished, then the loop ends.
			if err := p.flush(ctx, recs, consumed); err != nil {
				return err
			}
			recs, consumed = recs[:0], consumed[:0]
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		if len(recs) == 0 {
			if err := p.drainSpool(ctx); err != nil {
				return err
			}
		}
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if len(recs) > 0 {
			pollCtx, cancel = context.WithDeadline(ctx, closeAt)
		}
		got, err := p.src.Poll(pollCtx, cfg.Batch.MaxSize-len(recs))
		cancel()
		if err != nil {
			return err
		}
		if len(got) == 0 {
			if len(recs) == 0 {
				p.src.AllowRebalance()
			}
			continue
		}
		now := time.Now()
		if len(recs) == 0 {
			closeAt = now.Add(cfg.Batch.Interval)
		}
		for _, r := range got {
			recs = append(recs, r)
			consumed = append(consumed, now.UnixNano())
		}
	}
}

// Poll implements source. Fetch errors the client retries are logged; one the broker
// gives for good (no authorisation, a session timeout outside its limits) ends the
// run, since retrying forever would only hide it.
func (k kafkaLog) Poll(ctx context.Context, max int) ([]*kgo.Record, error) {
	fetches := k.cl.PollRecords(ctx, max)
	if fetches.IsClientClosed() {
		return nil, errors.New("pipeline: kafka client closed")
	}
	var ferr, fatal error
	fetches.EachError(func(topic string, part int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		err = fmt.Errorf("fetch %s/%d: %w", topic, part, err)
		if ke, ok := errors.AsType[*kerr.Error](err); ok && !ke.Retriable {
			fatal = errors.Join(fatal, err)
			return
		}
		ferr = errors.Join(ferr, err)
	})
	if fatal != nil {
		return nil, fmt.Errorf("pipeline: kafka: %w", fatal)
	}
	if ferr != nil {
		k.log.Warn("fetch errors", "err", ferr)
	}
	return fetches.Records(), nil
}

// AllowRebalance implements source.
func (k kafkaLog) AllowRebalance() { k.cl.AllowRebalance() }

// flush processes the batch in hand, then lets a pending rebalance through. A batch is
// finished even when ctx is cancelled meanwhile (SIGINT/SIGTERM): its writes run on a
// context of their own, each try bounded by retry.attempt_timeout, so a stop never
// leaves a half-written batch behind. Only a batch held while Qdrant or the broker is
// unavailable is abandoned on a stop, uncommitted: Kafka redelivers it.
func (p *Pipeline) flush(ctx context.Context, recs []*kgo.Record, consumed []int64) error {
	err := p.process(ctx, recs, consumed)
	if errors.Is(err, errStopped) {
		p.o.log.Warn("stopped with a held batch uncommitted: it will be redelivered", "err", err)
		return err
	}
	if err != nil {
		return err
	}
	p.src.AllowRebalance()
	return nil
}

// process is one micro-batch through the stages, in order: validate → dead-letter →
// embed → write → commit. The stages other than validate do I/O on a context that a
// stop does not cancel (ctx still ends a wait for an unavailable dependency).
func (p *Pipeline) process(ctx context.Context, recs []*kgo.Record, consumed []int64) (err error) {
	p.batchNo++
	b := newBatch(p.batchNo, recs, consumed)
	defer func() {
		if err != nil {
			// An abandoned batch counts only its retries; its records come again.
			p.stats.addCounters(Counters{Retries: b.c.Retries})
		}
	}()
	cfg := p.cfg.Load()
	validate(b, p.validator, cfg.Kafka.DLQTopic)
	if err := p.deadLetter(ctx, b); err != nil {
		return err
	}
	if err := p.embed(b); err != nil {
		return err
	}
	if err := p.write(ctx, b); err != nil {
		return err
	}
	return p.commit(ctx, b)
}

// Position is where a record lies in Kafka.
type Position struct {
	Topic     string
	Partition int32
	Offset    int64
}

// batch is one micro-batch on its way through the stages. The source fills recs and
// times; validate fills events, at, valid and dead; embed fills vecs; write and commit
// read them. A batch replayed from the spool has no recs: its valid events, positions,
// vectors and times come from the spool.
type batch struct {
	no    int
	recs  []*kgo.Record // as consumed; nil for a replayed batch
	times []EventTimes  // one per record (per valid event for a replayed batch)

	events []event.Event // the valid events, in record order
	at     []Position    // the Kafka position of each valid event
	valid  []int         // the index in times of each valid event
	vecs   []float32     // len(events)·dim, filled by embed

	dead    []*kgo.Record  // dead letters, one per rejected record
	reasons []event.Reason // their rejection reasons, counted in metrics once committed

	// Stage boundaries, Unix nanoseconds.
	closed, validated, embedded, written, committed int64

	c       Counters
	held    bool // counted in Counters.Held already
	spooled bool // the valid events went to the spool; their latencies end at the replay
}

func newBatch(no int, recs []*kgo.Record, consumed []int64) *batch {
	b := &batch{no: no, recs: recs, times: make([]EventTimes, len(recs)), closed: time.Now().UnixNano()}
	b.c.Batches, b.c.Consumed = 1, int64(len(recs))
	for i, r := range recs {
		t := &b.times[i]
		t.EventID = headerString(r, event.HeaderEventID)
		t.Partition, t.Offset = r.Partition, r.Offset
		t.Consumed, t.Closed = consumed[i], b.closed
		var ok1, ok2 bool
		t.Intended, ok1 = headerInt(r, event.HeaderIntended)
		t.Sent, ok2 = headerInt(r, event.HeaderSent)
		if !ok1 || !ok2 {
			// Not from our generator: time it from the broker's timestamp.
			b.c.MissingHeaders++
			t.Intended, t.Sent = r.Timestamp.UnixNano(), r.Timestamp.UnixNano()
		}
	}
	return b
}

// stamp writes the batch's stage boundaries into its events' times.
func (b *batch) stamp() {
	for i := range b.times {
		t := &b.times[i]
		t.Validated = b.validated
		if !t.DeadLettered {
			t.Embedded, t.Upserted, t.Committed = b.embedded, b.written, b.committed
		}
	}
}

func headerInt(r *kgo.Record, key string) (int64, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			v, err := strconv.ParseInt(string(h.Value), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

func headerString(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
