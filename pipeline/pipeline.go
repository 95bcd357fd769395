package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/kernels"
	"github.com/vectorstream/vectorstream/pipeline/breaker"
)

// Embedder turns a batch of documents into L2-normalised vectors, dim floats each.
// *embed.Encoder satisfies it. One Embedder is used by one goroutine at a time.
type Embedder interface {
	Encode(docs []embed.Doc, out []float32) error
}

// Deps are what the pipeline needs from the outside world.
type Deps struct {
	// KafkaOpts connect to the cluster (seed brokers, TLS, SASL); the pipeline adds its
	// consumer-group options.
	KafkaOpts []kgo.Opt
	// Qdrant is a connected client.
	Qdrant *qdrant.Client
	// Dim is the embedding dimension.
	Dim int
	// NewEmbedder makes one embedder per worker.
	NewEmbedder func() (Embedder, error)
	// EmbedCalls is how many parallel calls one batch is embedded in; 0 means one per
	// worker. A GPU backend wants 1: the whole batch in one kernel launch.
	EmbedCalls int
}

// Pipeline consumes raw events, validates them, dead-letters the bad ones, embeds the
// good ones in micro-batches, upserts events and user profiles into Qdrant and commits
// offsets only after Qdrant acknowledged.
type Pipeline struct {
	cfg       atomic.Pointer[Config]
	deps      Deps
	o         options
	stats     *Stats
	metrics   *metrics
	validator *event.Validator
	embedders []Embedder
	level     *slog.LevelVar
	guard     *guard

	// owned by the Run goroutine
	kafka    *kgo.Client
	profiles map[string]*Profile
	batchNo  int
	vecBuf   []float32

	invalidate atomic.Bool // set by rebalance callbacks: drop cached profiles
	fellBack   atomic.Bool // the embedding backend switched from the GPU to the CPU
	ready      atomic.Bool
	live       atomic.Pointer[kgo.Client] // the Run goroutine's client, for health checks
}

// New builds a pipeline; nothing connects until Run.
func New(cfg Config, deps Deps, opts ...Opt) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pipeline config: %w", err)
	}
	if deps.Qdrant == nil || deps.NewEmbedder == nil || deps.Dim < 1 {
		return nil, errors.New("pipeline: Deps needs Qdrant, NewEmbedder and Dim")
	}
	p := &Pipeline{deps: deps, o: defaultOptions(), profiles: map[string]*Profile{}}
	for _, o := range opts {
		o.apply(&p.o)
	}
	p.level = p.o.level
	if err := p.level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("pipeline config: log_level: %w", err)
	}
	p.cfg.Store(&cfg)
	p.stats = p.o.stats
	if p.stats == nil {
		p.stats = NewStats()
	}
	var err error
	if p.metrics, err = newMetrics(p.o.registry, p.stats); err != nil {
		return nil, err
	}
	p.validator = event.NewValidator(cfg.Validator)
	if p.guard, err = p.newGuard(cfg); err != nil {
		return nil, err
	}
	for range cfg.Workers {
		e, err := deps.NewEmbedder()
		if err != nil {
			return nil, fmt.Errorf("pipeline: new embedder: %w", err)
		}
		p.embedders = append(p.embedders, e)
	}
	return p, nil
}

// Stats returns the pipeline's statistics.
func (p *Pipeline) Stats() *Stats { return p.stats }

// Config returns the configuration in force.
func (p *Pipeline) Config() Config { return *p.cfg.Load() }

// Ready reports whether the pipeline has joined its consumer group (its collections
// exist by then). The group join happens on the first poll.
func (p *Pipeline) Ready() bool { return p.ready.Load() }

// Reload applies the settings that are safe to change live (log level, batch interval
// and size, upsert batch) and logs each change with its old and new value. It refuses a
// new configuration that changes anything else.
func (p *Pipeline) Reload(next Config) error {
	if err := next.Validate(); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	old := *p.cfg.Load()
	live := old
	live.LogLevel, live.Batch, live.Qdrant.UpsertBatch = next.LogLevel, next.Batch, next.Qdrant.UpsertBatch
	if live != next {
		return errors.New("reload: only log_level, batch.interval, batch.max_size and qdrant.upsert_batch can change without a restart")
	}
	if err := p.level.UnmarshalText([]byte(next.LogLevel)); err != nil {
		return fmt.Errorf("reload: log_level: %w", err)
	}
	p.cfg.Store(&live)
	logChange := func(key string, o, n any) {
		if o != n {
			p.o.log.Info("config reloaded", "key", key, "old", o, "new", n)
		}
	}
	logChange("log_level", old.LogLevel, next.LogLevel)
	logChange("batch.interval", old.Batch.Interval, next.Batch.Interval)
	logChange("batch.max_size", old.Batch.MaxSize, next.Batch.MaxSize)
	logChange("qdrant.upsert_batch", old.Qdrant.UpsertBatch, next.Qdrant.UpsertBatch)
	return nil
}

// Run consumes until ctx is cancelled or a batch cannot be written. On cancellation the
// batch in hand is finished and committed; on an error it is abandoned uncommitted, so
// Kafka redelivers it to whoever consumes next.
func (p *Pipeline) Run(ctx context.Context) error {
	cfg := p.Config()
	// The spool first, so that the batches it holds count as pending from the start
	// (a harness draining the pipeline must not see 0 while they wait).
	if err := p.openSpool(cfg); err != nil {
		return err
	}
	if sp := p.guard.spool; sp != nil {
		defer func() {
			sp.Close()
			p.guard.spool = nil
		}()
	}
	// A pipeline started while Qdrant is down waits for it rather than crash-looping.
	for {
		var c Counters
		err := p.callQdrant(ctx, &c, "check collections", func(ctx context.Context) error { return p.ensureCollections(ctx, cfg) })
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil // stopped while waiting
		}
		if !unavailable(err) {
			return err
		}
		if err := p.hold(ctx, p.guard.qdrantB, "start-up"); err != nil {
			return nil
		}
	}
	if p.guard.spool != nil {
		// Batches spooled before a crash go first: their offsets are committed, and
		// newer events of the same users must not overtake them.
		if err := p.replaySpool(ctx); err != nil {
			if errors.Is(err, errStopped) {
				return nil
			}
			return err
		}
	}
	opts := append([]kgo.Opt{}, p.deps.KafkaOpts...)
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Kafka.Group),
		kgo.SessionTimeout(cfg.Kafka.SessionTimeout),
		kgo.HeartbeatInterval(min(3*time.Second, cfg.Kafka.SessionTimeout/3)),
		kgo.ConsumeTopics(cfg.Kafka.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.ProducerLinger(0),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
			p.invalidate.Store(true)
			p.ready.Store(true) // joined the group (called even with nothing assigned)
		}),
		kgo.OnPartitionsRevoked(func(context.Context, *kgo.Client, map[string][]int32) { p.invalidate.Store(true) }),
		kgo.OnPartitionsLost(func(context.Context, *kgo.Client, map[string][]int32) { p.invalidate.Store(true) }),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("pipeline: kafka client: %w", err)
	}
	p.kafka = cl
	p.live.Store(cl)
	defer func() {
		p.ready.Store(false)
		p.live.Store(nil)
		cl.CloseAllowingRebalance()
	}()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("pipeline: kafka: %w", err)
	}
	p.o.log.Info("pipeline running", "topic", cfg.Kafka.Topic, "group", cfg.Kafka.Group, "workers", cfg.Workers,
		"batch_interval", cfg.Batch.Interval, "batch_max", cfg.Batch.MaxSize)
	return p.loop(ctx)
}

type pending struct {
	recs     []*kgo.Record
	consumed []int64
	closeAt  time.Time
}

func (p *Pipeline) loop(ctx context.Context) error {
	var b pending
	for {
		cfg := p.cfg.Load()
		if len(b.recs) > 0 && (len(b.recs) >= cfg.Batch.MaxSize || !time.Now().Before(b.closeAt)) {
			if err := p.flush(ctx, &b); err != nil {
				return err
			}
			continue
		}
		if ctx.Err() != nil {
			if len(b.recs) > 0 {
				return p.flush(ctx, &b) // finish the batch in hand, then stop
			}
			return nil
		}
		if sp := p.guard.spool; sp != nil && len(b.recs) == 0 {
			// Backpressure: nothing new is pulled while spooled batches wait.
			if n, _ := sp.Pending(); n > 0 {
				if err := p.replaySpool(ctx); err != nil {
					if errors.Is(err, errStopped) {
						return nil
					}
					return err
				}
				continue
			}
		}
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if len(b.recs) > 0 {
			pollCtx, cancel = context.WithDeadline(ctx, b.closeAt)
		}
		fetches := p.kafka.PollRecords(pollCtx, cfg.Batch.MaxSize-len(b.recs))
		cancel()
		now := time.Now()
		if fetches.IsClientClosed() {
			return errors.New("pipeline: kafka client closed")
		}
		var ferr, fatal error
		fetches.EachError(func(topic string, part int32, err error) {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return
			}
			err = fmt.Errorf("fetch %s/%d: %w", topic, part, err)
			var ke *kerr.Error
			if errors.As(err, &ke) && !ke.Retriable {
				fatal = errors.Join(fatal, err)
				return
			}
			ferr = errors.Join(ferr, err)
		})
		if fatal != nil {
			// The broker refuses us for good (e.g. a session timeout outside its limits,
			// no authorisation): retrying forever would only hide it.
			return fmt.Errorf("pipeline: kafka: %w", fatal)
		}
		if ferr != nil {
			p.o.log.Warn("fetch errors", "err", ferr)
		}
		recs := fetches.Records()
		if len(recs) == 0 {
			if len(b.recs) == 0 {
				p.kafka.AllowRebalance()
			}
			continue
		}
		if len(b.recs) == 0 {
			b.closeAt = now.Add(cfg.Batch.Interval)
		}
		ns := now.UnixNano()
		for _, r := range recs {
			b.recs = append(b.recs, r)
			b.consumed = append(b.consumed, ns)
		}
	}
}

// flush processes the batch in hand, then lets a pending rebalance through. A batch is
// finished even when ctx is cancelled meanwhile (SIGINT/SIGTERM): its writes run on a
// context of their own, each try bounded by retry.attempt_timeout, so a stop never
// leaves a half-written batch behind. Only a batch held while Qdrant or the broker is
// unavailable is abandoned on a stop, uncommitted: Kafka redelivers it.
func (p *Pipeline) flush(ctx context.Context, b *pending) error {
	err := p.processBatch(ctx, b.recs, b.consumed)
	b.recs, b.consumed = b.recs[:0], b.consumed[:0]
	if errors.Is(err, errStopped) {
		p.o.log.Warn("stopped with a held batch uncommitted: it will be redelivered", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	p.kafka.AllowRebalance()
	return nil
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

// processBatch is one micro-batch: validate → dead-letter → embed → upsert events →
// upsert profiles → commit.
func (p *Pipeline) processBatch(runCtx context.Context, recs []*kgo.Record, consumed []int64) (err error) {
	ctx := context.WithoutCancel(runCtx)
	cfg := p.cfg.Load()
	p.batchNo++
	batch := p.batchNo
	closed := time.Now().UnixNano()
	var c Counters
	defer func() {
		if err != nil {
			// An abandoned batch counts only its retries; its records come again.
			p.stats.addCounters(Counters{Retries: c.Retries})
		}
	}()
	c.Batches = 1
	c.Consumed = int64(len(recs))

	times := make([]EventTimes, len(recs))
	for i, r := range recs {
		t := &times[i]
		t.EventID = headerString(r, event.HeaderEventID)
		t.Partition, t.Offset = r.Partition, r.Offset
		t.Consumed, t.Closed = consumed[i], closed
		var ok1, ok2 bool
		t.Intended, ok1 = headerInt(r, event.HeaderIntended)
		t.Sent, ok2 = headerInt(r, event.HeaderSent)
		if !ok1 || !ok2 {
			// Not from our generator: time it from the broker's timestamp.
			c.MissingHeaders++
			t.Intended, t.Sent = r.Timestamp.UnixNano(), r.Timestamp.UnixNano()
		}
	}

	// Validate.
	now := time.Unix(0, closed)
	events := make([]event.Event, 0, len(recs))
	validIdx := make([]int, 0, len(recs))
	var dead []*kgo.Record
	var dlqReasons []string // counted in metrics once the batch is committed
	for i, r := range recs {
		ev, rej := p.validator.Validate(r.Value, now)
		if rej != nil {
			times[i].DeadLettered = true
			dead = append(dead, deadLetter(r, rej, cfg.Kafka.DLQTopic))
			dlqReasons = append(dlqReasons, string(rej.Reason))
			continue
		}
		events = append(events, ev)
		validIdx = append(validIdx, i)
	}
	held := false // counted once per batch in Counters.Held
	holdBatch := func(b *breaker.Breaker, what string) error {
		if !held {
			held = true
			p.stats.addCounters(Counters{Held: 1})
		}
		return p.hold(runCtx, b, what)
	}
	// Dead letters are at least once: a try re-sends only the records the broker did
	// not acknowledge, but a record whose acknowledgement was lost goes out again.
	for unsent := dead; len(unsent) > 0; {
		err := p.call(ctx, &c, "dead-letter", p.guard.kafkaB, p.guard.kafkaP, func(ctx context.Context) error {
			res := p.kafka.ProduceSync(ctx, unsent...)
			var failed []*kgo.Record
			for _, r := range res {
				if r.Err != nil {
					failed = append(failed, r.Record)
				}
			}
			unsent = failed
			return res.FirstErr()
		})
		if err == nil {
			break
		}
		if !unavailable(err) {
			return fmt.Errorf("batch %d: dead-letter %d records: %w", batch, len(dead), err)
		}
		if err := holdBatch(p.guard.kafkaB, fmt.Sprintf("batch %d", batch)); err != nil {
			return err
		}
	}
	c.DeadLettered = int64(len(dead))
	c.Valid = int64(len(events))
	validated := time.Now().UnixNano()

	// Embed, split across the workers.
	dim := p.deps.Dim
	if cap(p.vecBuf) < len(events)*dim {
		p.vecBuf = make([]float32, len(events)*dim)
	}
	vecs := p.vecBuf[:len(events)*dim]
	err = p.embed(events, vecs, dim)
	if errors.Is(err, kernels.ErrFellBack) {
		// The GPU failed (e.g. out of memory): the backend has switched to the CPU for
		// good, and the batch is embedded again there.
		if p.fellBack.CompareAndSwap(false, true) {
			p.stats.addCounters(Counters{BackendFallbacks: 1})
		}
		p.o.log.Error("embedding backend failed: falling back to the CPU for the rest of the run", "batch", batch, "err", err)
		err = p.embed(events, vecs, dim)
	}
	if err != nil {
		return fmt.Errorf("batch %d: embed: %w", batch, err)
	}
	embedded := time.Now().UnixNano()

	// Upsert events, then profiles. While Qdrant is unavailable the batch goes to the
	// spool (its offsets may then be committed) or, without one, is held here: either
	// way nothing new is pulled until Qdrant answers.
	spooled := false
	for {
		err := p.upsertEvents(ctx, &c, cfg, events, recs, validIdx, vecs, dim)
		if err == nil {
			if err := p.o.fault.hit(FaultAfterUpsert, batch); err != nil {
				return err
			}
			err = p.updateProfiles(ctx, &c, cfg, events, recs, validIdx, vecs, dim)
		}
		if err == nil {
			c.Written = int64(len(events))
			break
		}
		clear(p.profiles) // the cache may hold updates Qdrant never got
		if !unavailable(err) {
			return fmt.Errorf("batch %d: %w", batch, err)
		}
		if p.guard.spool != nil {
			for i := range times {
				times[i].Validated, times[i].Embedded = validated, embedded
			}
			if serr := p.spoolBatch(batch, recs, validIdx, times, vecs, dim); serr != nil {
				return fmt.Errorf("batch %d: qdrant unavailable (%v), and the spool failed: %w", batch, err, serr)
			}
			spooled = true
			p.o.log.Warn("qdrant unavailable: batch spooled", "batch", batch, "events", len(events), "err", err)
			break
		}
		if err := holdBatch(p.guard.qdrantB, fmt.Sprintf("batch %d", batch)); err != nil {
			return err
		}
	}
	upserted := time.Now().UnixNano()
	if err := p.o.fault.hit(FaultBeforeCommit, batch); err != nil {
		return err
	}

	// Commit.
	for {
		err := p.call(ctx, &c, "commit offsets", p.guard.kafkaB, p.guard.kafkaP, func(ctx context.Context) error {
			return p.kafka.CommitRecords(ctx, recs...)
		})
		if err == nil {
			break
		}
		if !unavailable(err) {
			return fmt.Errorf("batch %d: commit offsets: %w", batch, err)
		}
		if err := holdBatch(p.guard.kafkaB, fmt.Sprintf("batch %d's commit", batch)); err != nil {
			return err
		}
	}
	c.Commits = 1
	committed := time.Now().UnixNano()
	if err := p.o.fault.hit(FaultAfterCommit, batch); err != nil {
		return err
	}

	for i := range times {
		t := &times[i]
		t.Validated = validated
		if !t.DeadLettered {
			t.Embedded, t.Upserted, t.Committed = embedded, upserted, committed
		}
	}
	if spooled {
		// The valid events' latencies end when their replay is acknowledged.
		dl := times[:0:0]
		for _, t := range times {
			if t.DeadLettered {
				dl = append(dl, t)
			}
		}
		times = dl
	}
	p.stats.commitBatch(c, times)
	for _, reason := range dlqReasons {
		p.metrics.dlq.WithLabelValues(reason).Inc()
	}
	for _, fn := range p.o.onBatch {
		fn(times)
	}
	p.o.log.Debug("batch committed", "batch", batch, "events", len(recs), "dead_lettered", len(dead),
		"embed_ms", float64(embedded-validated)/1e6, "upsert_ms", float64(upserted-embedded)/1e6)
	return nil
}

func deadLetter(r *kgo.Record, rej *event.Rejection, topic string) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(r.Headers)+6)
	hs = append(hs, r.Headers...)
	hs = append(hs,
		kgo.RecordHeader{Key: event.HeaderDLQReason, Value: []byte(rej.Reason)},
		kgo.RecordHeader{Key: event.HeaderDLQField, Value: []byte(rej.Field)},
		kgo.RecordHeader{Key: event.HeaderDLQDetail, Value: []byte(rej.Detail)},
		kgo.RecordHeader{Key: event.HeaderDLQTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: event.HeaderDLQPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		kgo.RecordHeader{Key: event.HeaderDLQOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
	)
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: hs}
}

// embed encodes the events' texts, one contiguous share per worker.
func (p *Pipeline) embed(events []event.Event, vecs []float32, dim int) error {
	docs := make([]embed.Doc, len(events))
	for i := range events {
		docs[i] = embed.Doc{Text: events[i].EmbedText(), Lang: events[i].Locale}
	}
	n := len(p.embedders)
	if c := p.deps.EmbedCalls; c > 0 && c < n {
		n = c
	}
	if len(docs) < 64*n {
		n = max(1, len(docs)/64)
	}
	if n == 1 {
		return p.embedders[0].Encode(docs, vecs)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for w := range n {
		lo, hi := w*len(docs)/n, (w+1)*len(docs)/n
		wg.Go(func() {
			errs[w] = p.embedders[w].Encode(docs[lo:hi], vecs[lo*dim:hi*dim])
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
