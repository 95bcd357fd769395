package pipeline

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/pipeline/breaker"
	"github.com/vectorstream/vectorstream/pipeline/retry"
	"github.com/vectorstream/vectorstream/pipeline/spool"
)

// Names of the pipeline's circuit breakers (the breaker label of its metrics).
const (
	BreakerQdrant = "qdrant"
	BreakerKafka  = "kafka" // the dead-letter produce and the offset commits
)

// guard is how the pipeline survives a failing Qdrant or broker: a retry policy and a
// circuit breaker per dependency, and the optional backup spool.
type guard struct {
	qdrantP, kafkaP retry.Policy
	timeout         time.Duration
	qdrantB, kafkaB *breaker.Breaker
	spool           *spool.Spool // nil: hold the batch in memory instead
}

func (p *Pipeline) newGuard(cfg Config) (*guard, error) {
	qp, dp, err := cfg.Retry.Policies()
	if err != nil {
		return nil, fmt.Errorf("pipeline config: retry: %w", err)
	}
	g := &guard{qdrantP: qp, kafkaP: dp, timeout: cfg.Retry.AttemptTimeout}
	// Only transient errors say something about the dependency's health; a refused
	// request (INVALID_ARGUMENT) is our problem and must not open the breaker.
	failure := breaker.WithIsFailure(func(err error) bool {
		return err != nil && !errors.Is(err, context.Canceled) && retry.Retryable(err)
	})
	onChange := breaker.WithOnStateChange(func(name string, from, to breaker.State) {
		p.o.log.Warn("circuit breaker", "breaker", name, "from", from.String(), "to", to.String())
		if to == breaker.Open {
			p.stats.addCounters(Counters{BreakerOpens: 1})
		}
	})
	for _, b := range []struct {
		name string
		dst  **breaker.Breaker
	}{{BreakerQdrant, &g.qdrantB}, {BreakerKafka, &g.kafkaB}} {
		br, err := breaker.New(cfg.Breaker.For(b.name), failure, onChange, breaker.WithMetrics(p.metrics.breakers))
		if err != nil {
			return nil, fmt.Errorf("pipeline config: breaker: %w", err)
		}
		*b.dst = br
	}
	return g, nil
}

// call runs op through breaker b and retry policy pol, each try bounded by the
// attempt timeout. An open breaker ends the retries at once (waiting out a cool-down
// one retry at a time would only burn the attempts).
func (p *Pipeline) call(ctx context.Context, c *Counters, what string, b *breaker.Breaker, pol retry.Policy, op func(context.Context) error) error {
	return retry.Do(ctx, pol, func(ctx context.Context) error {
		err := b.Execute(ctx, func(ctx context.Context) error {
			actx, cancel := context.WithTimeout(ctx, p.guard.timeout)
			defer cancel()
			return op(actx)
		})
		if errors.Is(err, breaker.ErrOpen) {
			// HALF_OPEN with its probe in flight (parallel chunks): wait for the probe's
			// outcome and try again; OPEN: stop retrying, the caller holds or spools.
			if b.State() == breaker.HalfOpen && b.WaitUntilAllowed(ctx) == nil {
				return err
			}
			return retry.Permanent(err)
		}
		return err
	}, retry.OnRetry(func(attempt int, err error, delay time.Duration) {
		c.Retries++
		p.o.log.Warn("retrying", "op", what, "attempt", attempt, "delay", delay, "err", err)
	}))
}

// callQdrant is call for a Qdrant RPC.
func (p *Pipeline) callQdrant(ctx context.Context, c *Counters, what string, op func(context.Context) error) error {
	return p.call(ctx, c, what, p.guard.qdrantB, p.guard.qdrantP, op)
}

// unavailable reports whether err means the dependency is down for now (retries
// spent, or its breaker open), as opposed to a request it refuses or a shutdown.
func unavailable(err error) bool {
	return errors.Is(err, breaker.ErrOpen) || errors.Is(err, retry.ErrExhausted)
}

// errStopped is returned when a shutdown ends the wait for a dependency: the batch in
// hand is abandoned uncommitted and Kafka redelivers it.
var errStopped = errors.New("stopped while waiting for a dependency")

// hold waits until breaker b lets a probe through. ctx is the run's context: a
// shutdown ends the wait with errStopped. Rebalances wait too (BlockRebalanceOnPoll):
// what is in hand — an uncommitted batch, or spooled batches whose offsets are
// committed but whose events Qdrant does not have yet — must not move to another
// member, which would write newer profile updates before these.
func (p *Pipeline) hold(ctx context.Context, b *breaker.Breaker, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", errStopped, err)
	}
	p.o.log.Warn("dependency unavailable: pulling no records until it answers", "breaker", b.Name(), "state", b.State().String(), "holding", what)
	if err := b.WaitUntilAllowed(ctx); err != nil {
		return fmt.Errorf("%w: %w", errStopped, err)
	}
	return nil
}

// spooledBatch is what the spool keeps of a batch: its valid events as consumed, their
// vectors and their times so far. Replaying it needs neither Kafka nor the model.
type spooledBatch struct {
	Batch                       int
	Closed, Validated, Embedded int64
	Dim                         int
	Events                      []spooledEvent
}

type spooledEvent struct {
	Topic                    string
	Partition                int32
	Offset                   int64
	Key, Value               []byte
	EventID                  string
	Intended, Sent, Consumed int64
	Vector                   []float32
}

// spoolBatch appends the batch's valid events to the spool (fsynced before it
// returns), so that its offsets may be committed.
func (p *Pipeline) spoolBatch(batch int, recs []*kgo.Record, idx []int, times []EventTimes, vecs []float32, dim int) error {
	sb := spooledBatch{Batch: batch, Dim: dim, Events: make([]spooledEvent, len(idx))}
	offsets := make([]spool.Offset, len(idx))
	for i, j := range idx {
		r, t := recs[j], &times[j]
		sb.Closed, sb.Validated, sb.Embedded = t.Closed, t.Validated, t.Embedded
		sb.Events[i] = spooledEvent{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value,
			EventID: t.EventID, Intended: t.Intended, Sent: t.Sent, Consumed: t.Consumed, Vector: vecs[i*dim : (i+1)*dim]}
		offsets[i] = spool.Offset{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&sb); err != nil {
		return fmt.Errorf("encode batch %d for the spool: %w", batch, err)
	}
	if err := p.guard.spool.Append(spool.Record{Offsets: offsets, Payload: buf.Bytes()}); err != nil {
		return err
	}
	// Counted the moment it is durable, whatever happens to the commit after.
	p.stats.addCounters(Counters{Spooled: int64(len(idx)), SpooledBatches: 1, SpoolPending: 1})
	return nil
}

// replaySpool writes every spooled batch to Qdrant, oldest first, waiting for the
// Qdrant breaker between tries. It returns once the spool is empty, with errStopped
// when ctx ends first, or with the spool's error when it is damaged (a torn or corrupt
// record is reported, never replayed).
func (p *Pipeline) replaySpool(ctx context.Context) error {
	sp := p.guard.spool
	for {
		if n, _ := sp.Pending(); n == 0 {
			return nil
		}
		if err := p.hold(ctx, p.guard.qdrantB, "the backup spool"); err != nil {
			return err
		}
		// The record in hand is finished even when a shutdown comes meanwhile, like a
		// batch; the next one is not started.
		rctx := context.WithoutCancel(ctx)
		_, err := sp.Replay(rctx, func(rec spool.Record) error {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("%w: %w", errStopped, err)
			}
			return p.replayBatch(rctx, rec.Payload)
		})
		switch {
		case err == nil:
			p.o.log.Info("backup spool replayed")
		case errors.Is(err, errStopped):
			return err
		case unavailable(err):
			p.o.log.Warn("spool replay interrupted: Qdrant unavailable again", "err", err)
		default:
			return fmt.Errorf("replay spool: %w", err)
		}
	}
}

// ReplaySpool replays the backup spool into Qdrant once, without consuming from Kafka
// (`vectorstream backup replay`). It returns how many batches and events it wrote.
func (p *Pipeline) ReplaySpool(ctx context.Context) (batches, events int64, err error) {
	cfg := p.Config()
	if err := p.ensureCollections(ctx, cfg); err != nil {
		return 0, 0, err
	}
	if err := p.openSpool(cfg); err != nil {
		return 0, 0, err
	}
	defer p.guard.spool.Close()
	before := p.stats.Counters()
	_, err = p.guard.spool.Replay(ctx, func(rec spool.Record) error { return p.replayBatch(ctx, rec.Payload) })
	after := p.stats.Counters()
	return after.ReplayedBatches - before.ReplayedBatches, after.Replayed - before.Replayed, err
}

func (p *Pipeline) openSpool(cfg Config) error {
	if !cfg.Spool.Enabled || p.guard.spool != nil {
		return nil
	}
	sp, err := spool.Open(cfg.Spool.Dir)
	if err != nil {
		return fmt.Errorf("pipeline: spool: %w", err)
	}
	p.guard.spool = sp
	if n, _ := sp.Pending(); n > 0 {
		p.o.log.Warn("backup spool holds batches from an earlier run: replaying them before consuming", "dir", cfg.Spool.Dir, "batches", n)
		p.stats.addCounters(Counters{SpoolPending: int64(n)})
	}
	return nil
}

// replayBatch writes one spooled batch: its events and their users' profiles.
func (p *Pipeline) replayBatch(ctx context.Context, payload []byte) error {
	var sb spooledBatch
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&sb); err != nil {
		return fmt.Errorf("decode spooled batch: %w", err)
	}
	if sb.Dim != p.deps.Dim {
		return fmt.Errorf("spooled batch %d holds %d-dimensional vectors, the model makes %d", sb.Batch, sb.Dim, p.deps.Dim)
	}
	cfg := p.cfg.Load()
	n := len(sb.Events)
	events := make([]event.Event, 0, n)
	recs := make([]*kgo.Record, n)
	idx := make([]int, n)
	vecs := make([]float32, 0, n*sb.Dim)
	times := make([]EventTimes, n)
	// Validated again at the batch's own time, so the replay decodes exactly what was
	// accepted then (an event does not grow stale in the spool).
	at := time.Unix(0, sb.Closed)
	for i, e := range sb.Events {
		ev, rej := p.validator.Validate(e.Value, at)
		if rej != nil {
			return fmt.Errorf("spooled batch %d: event %s no longer decodes: %s", sb.Batch, e.EventID, rej.Reason)
		}
		events = append(events, ev)
		recs[i] = &kgo.Record{Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Key: e.Key, Value: e.Value}
		idx[i] = i
		vecs = append(vecs, e.Vector...)
		times[i] = EventTimes{EventID: e.EventID, Partition: e.Partition, Offset: e.Offset, Intended: e.Intended, Sent: e.Sent,
			Consumed: e.Consumed, Closed: sb.Closed, Validated: sb.Validated, Embedded: sb.Embedded}
	}
	var c Counters
	err := p.upsertEvents(ctx, &c, cfg, events, recs, idx, vecs, sb.Dim)
	if err == nil {
		err = p.updateProfiles(ctx, &c, cfg, events, recs, idx, vecs, sb.Dim)
	}
	if err != nil {
		clear(p.profiles) // the cache may hold updates Qdrant never got
		p.stats.addCounters(Counters{Retries: c.Retries})
		return err
	}
	now := time.Now().UnixNano()
	for i := range times {
		times[i].Upserted, times[i].Committed = now, now
	}
	c.Written = int64(n)
	c.Replayed, c.ReplayedBatches, c.SpoolPending = int64(n), 1, -1
	p.stats.replayedBatch(c, times)
	for _, fn := range p.o.onBatch {
		fn(times)
	}
	return nil
}
