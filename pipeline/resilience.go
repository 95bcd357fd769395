package pipeline

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/pipeline/breaker"
	"github.com/vectorstream/vectorstream/pipeline/retry"
	"github.com/vectorstream/vectorstream/pipeline/spool"
)

// Names of the pipeline's circuit breakers (the breaker label of its metrics).
const (
	BreakerQdrant = "qdrant"
	BreakerKafka  = "kafka" // the dead-letter produce and the offset commits
)

// dependency is how calls to one dependency are guarded: a circuit breaker and a
// retry policy.
type dependency struct {
	b   *breaker.Breaker
	pol retry.Policy
}

// guard is how the pipeline survives a failing Qdrant or broker: a breaker and retry
// policy per dependency, and the optional backup spool.
type guard struct {
	qdrant, kafka dependency
	timeout       time.Duration
	spool         *spool.Spool // nil: hold the batch in memory instead
}

func newGuard(cfg Config, log *slog.Logger, stats *Stats, m *metrics) (*guard, error) {
	qp, kp, err := cfg.Retry.Policies()
	if err != nil {
		return nil, fmt.Errorf("pipeline config: retry: %w", err)
	}
	g := &guard{qdrant: dependency{pol: qp}, kafka: dependency{pol: kp}, timeout: cfg.Retry.AttemptTimeout}
	// Only transient errors say something about the dependency's health; a refused
	// request (INVALID_ARGUMENT) is our problem and must not open the breaker.
	failure := breaker.WithIsFailure(func(err error) bool {
		return err != nil && !errors.Is(err, context.Canceled) && retry.Retryable(err)
	})
	onChange := breaker.WithOnStateChange(func(name string, from, to breaker.State) {
		log.Warn("circuit breaker", "breaker", name, "from", from.String(), "to", to.String())
		if to == breaker.Open {
			stats.addCounters(Counters{BreakerOpens: 1})
		}
	})
	for name, d := range map[string]*dependency{BreakerQdrant: &g.qdrant, BreakerKafka: &g.kafka} {
		if d.b, err = breaker.New(cfg.BreakerFor(name), failure, onChange, breaker.WithMetrics(m.breakers)); err != nil {
			return nil, fmt.Errorf("pipeline config: breaker: %w", err)
		}
	}
	return g, nil
}

// call runs op through dependency d's breaker and retry policy, each try bounded by
// the attempt timeout. An open breaker ends the retries at once (waiting out a
// cool-down one retry at a time would only burn the attempts).
func (c *core) call(ctx context.Context, counters *Counters, what string, d dependency, op func(context.Context) error) error {
	return retry.Do(ctx, d.pol, func(ctx context.Context) error {
		err := d.b.Execute(ctx, func(ctx context.Context) error {
			actx, cancel := context.WithTimeout(ctx, c.guard.timeout)
			defer cancel()
			return op(actx)
		})
		if errors.Is(err, breaker.ErrOpen) {
			// HALF_OPEN with its probe in flight (parallel chunks): wait for the probe's
			// outcome and try again; OPEN: stop retrying, the caller holds or spools.
			if d.b.State() == breaker.HalfOpen && d.b.WaitUntilAllowed(ctx) == nil {
				return err
			}
			return retry.Permanent(err)
		}
		return err
	}, retry.OnRetry(func(attempt int, err error, delay time.Duration) {
		counters.Retries++
		c.o.log.Warn("retrying", "op", what, "attempt", attempt, "delay", delay, "err", err)
	}))
}

// callStore is call for a Store request (the Qdrant dependency).
func (c *core) callStore(ctx context.Context, counters *Counters, what string, op func(context.Context) error) error {
	return c.call(ctx, counters, what, c.guard.qdrant, op)
}

// unavailable reports whether err means the dependency is down for now (retries
// spent, or its breaker open), as opposed to a request it refuses or a shutdown.
func unavailable(err error) bool {
	return errors.Is(err, breaker.ErrOpen) || errors.Is(err, retry.ErrExhausted)
}

// errStopped is returned when a shutdown ends the wait for a dependency: the batch in
// hand is abandoned uncommitted and Kafka redelivers it.
var errStopped = errors.New("stopped while waiting for a dependency")

func isStopped(err error) bool { return errors.Is(err, errStopped) }

// untilAvailable runs op until it succeeds or fails other than by its dependency being
// unavailable; between tries it holds the batch b (counted once in Counters.Held; nil
// for none) until breaker br lets a probe through. ctx is the run's context: a
// shutdown ends the wait with errStopped.
func (c *core) untilAvailable(ctx context.Context, b *batch, br *breaker.Breaker, what string, op func() error) error {
	for {
		err := op()
		if err == nil || !unavailable(err) {
			return err
		}
		if b != nil && !b.held {
			b.held = true
			c.stats.addCounters(Counters{Held: 1})
		}
		if err := c.hold(ctx, br, what); err != nil {
			return err
		}
	}
}

// hold waits until breaker br lets a probe through, or ctx ends (errStopped).
// Rebalances wait too (BlockRebalanceOnPoll): what is in hand — an uncommitted batch,
// or spooled batches whose offsets are committed but whose events Qdrant does not have
// yet — must not move to another member, which would write newer profile updates
// before these.
func (c *core) hold(ctx context.Context, br *breaker.Breaker, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", errStopped, err)
	}
	c.o.log.Warn("dependency unavailable: pulling no records until it answers", "breaker", br.Name(), "state", br.State().String(), "holding", what)
	if err := br.WaitUntilAllowed(ctx); err != nil {
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

// spoolBatch appends b's valid events to the spool (fsynced before it returns), so
// that its offsets may be committed.
func (c *core) spoolBatch(b *batch) error {
	sb := spooledBatch{Batch: b.no, Dim: c.dim, Closed: b.closed, Validated: b.validated, Embedded: b.embedded,
		Events: make([]spooledEvent, len(b.events))}
	offsets := make([]spool.Offset, len(b.events))
	for i, j := range b.valid {
		r, t := b.recs[j], &b.times[j]
		sb.Events[i] = spooledEvent{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value,
			EventID: t.EventID, Intended: t.Intended, Sent: t.Sent, Consumed: t.Consumed, Vector: b.vecs[i*c.dim : (i+1)*c.dim]}
		offsets[i] = spool.Offset{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&sb); err != nil {
		return fmt.Errorf("encode batch %d for the spool: %w", b.no, err)
	}
	if err := c.guard.spool.Append(spool.Record{Offsets: offsets, Payload: buf.Bytes()}); err != nil {
		return err
	}
	b.spooled = true
	// Counted the moment it is durable, whatever happens to the commit after.
	c.stats.addCounters(Counters{Spooled: int64(len(b.events)), SpooledBatches: 1, SpoolPending: 1})
	return nil
}

// drainSpool writes every spooled batch to the Store, oldest first, waiting for the
// Qdrant breaker between tries. It returns once the spool is empty (at once without a
// spool), with errStopped when ctx ends first, or with the spool's error when it is
// damaged (a torn or corrupt record is reported, never replayed).
func (c *core) drainSpool(ctx context.Context) error {
	sp := c.guard.spool
	for sp != nil {
		if n, _ := sp.Pending(); n == 0 {
			return nil
		}
		if err := c.hold(ctx, c.guard.qdrant.b, "the backup spool"); err != nil {
			return err
		}
		// The record in hand is finished even when a shutdown comes meanwhile, like a
		// batch; the next one is not started.
		rctx := context.WithoutCancel(ctx)
		_, err := sp.Replay(rctx, func(rec spool.Record) error {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("%w: %w", errStopped, err)
			}
			return c.replayBatch(rctx, rec.Payload)
		})
		switch {
		case err == nil:
			c.o.log.Info("backup spool replayed")
		case isStopped(err):
			return err
		case unavailable(err):
			c.o.log.Warn("spool replay interrupted: Qdrant unavailable again", "err", err)
		default:
			return fmt.Errorf("replay spool: %w", err)
		}
	}
	return nil
}

// ReplaySpool replays the backup spool at cfg.SpoolDir into store once, without Kafka
// and without embedding (spooled batches carry their vectors): `vectorstream backup
// replay`. dim is the dimension of the spooled vectors. It returns how many batches
// and events it wrote. A directory that does not exist is an error matching
// fs.ErrNotExist, and is not created: a replay never makes a spool.
func ReplaySpool(ctx context.Context, cfg Config, store Store, dim int, opts ...Opt) (batches, events int64, err error) {
	var c core
	cfg.Spool.Enabled = true
	dir, err := cfg.SpoolDir()
	if err != nil {
		return 0, 0, fmt.Errorf("pipeline: replay spool: %w", err)
	}
	if _, err := os.Stat(dir); err != nil {
		return 0, 0, fmt.Errorf("pipeline: replay spool: no spool at %s (spool.dir): %w", dir, err)
	}
	cfg.Spool.Dir = dir
	if err := c.init(cfg, store, dim, opts); err != nil {
		return 0, 0, err
	}
	if err := c.openSpool(cfg); err != nil {
		return 0, 0, err
	}
	defer c.closeSpool()
	if err := store.Prepare(ctx, dim); err != nil {
		return 0, 0, err
	}
	_, err = c.guard.spool.Replay(ctx, func(rec spool.Record) error { return c.replayBatch(ctx, rec.Payload) })
	got := c.stats.Counters()
	return got.ReplayedBatches, got.Replayed, err
}

func (c *core) openSpool(cfg Config) error {
	if !cfg.Spool.Enabled || c.guard.spool != nil {
		return nil
	}
	dir, err := cfg.SpoolDir()
	if err != nil {
		return fmt.Errorf("pipeline: spool: %w", err)
	}
	sp, err := spool.Open(dir)
	if err != nil {
		return fmt.Errorf("pipeline: spool: %w", err)
	}
	c.guard.spool = sp
	if n, _ := sp.Pending(); n > 0 {
		c.o.log.Warn("backup spool holds batches from an earlier run: replaying them before consuming", "dir", dir, "batches", n)
		c.stats.addCounters(Counters{SpoolPending: int64(n)})
	}
	return nil
}

func (c *core) closeSpool() {
	if sp := c.guard.spool; sp != nil {
		sp.Close()
		c.guard.spool = nil
	}
}

// replayBatch writes one spooled batch to the Store, as the write stage writes a
// batch: its events, then their users' profiles.
func (c *core) replayBatch(ctx context.Context, payload []byte) error {
	b, err := c.unspool(payload)
	if err != nil {
		return err
	}
	if err := c.writeBatch(ctx, b); err != nil {
		c.stats.addCounters(Counters{Retries: b.c.Retries})
		return err
	}
	now := time.Now().UnixNano()
	for i := range b.times {
		b.times[i].Upserted, b.times[i].Committed = now, now
	}
	n := int64(len(b.events))
	b.c.Written, b.c.Replayed, b.c.ReplayedBatches, b.c.SpoolPending = n, n, 1, -1
	c.stats.replayedBatch(b.c, b.times)
	c.observe(b.times)
	return nil
}

// unspool decodes a spooled batch. Its events are validated again at the batch's own
// time, so the replay decodes exactly what was accepted then (an event does not grow
// stale in the spool).
func (c *core) unspool(payload []byte) (*batch, error) {
	var sb spooledBatch
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&sb); err != nil {
		return nil, fmt.Errorf("decode spooled batch: %w", err)
	}
	if sb.Dim != c.dim {
		return nil, fmt.Errorf("spooled batch %d holds %d-dimensional vectors, the model makes %d", sb.Batch, sb.Dim, c.dim)
	}
	n := len(sb.Events)
	b := &batch{no: sb.Batch, events: make([]event.Event, n), at: make([]Position, n), times: make([]EventTimes, n),
		vecs: make([]float32, 0, n*sb.Dim)}
	at := time.Unix(0, sb.Closed)
	for i, e := range sb.Events {
		ev, rej := c.validator.Validate(e.Value, at)
		if rej != nil {
			return nil, fmt.Errorf("spooled batch %d: event %s no longer decodes: %s", sb.Batch, e.EventID, rej.Reason)
		}
		b.events[i] = ev
		b.at[i] = Position{Topic: e.Topic, Partition: e.Partition, Offset: e.Offset}
		b.vecs = append(b.vecs, e.Vector...)
		b.times[i] = EventTimes{EventID: e.EventID, Partition: e.Partition, Offset: e.Offset, Intended: e.Intended, Sent: e.Sent,
			Consumed: e.Consumed, Closed: sb.Closed, Validated: sb.Validated, Embedded: sb.Embedded}
	}
	return b, nil
}
