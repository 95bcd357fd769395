package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/event"
)

// Embedder turns a batch of documents into L2-normalised vectors, dim floats each.
// *embed.Encoder satisfies it (and absorbs a GPU→CPU fallback: see embed.OnFallback).
// One Embedder is used by one goroutine at a time.
type Embedder interface {
	Encode(docs []embed.Doc, out []float32) error
}

// Deps are what the pipeline needs from the outside world.
type Deps struct {
	// KafkaOpts connect to the cluster (seed brokers, TLS, SASL); the pipeline adds its
	// consumer-group options.
	KafkaOpts []kgo.Opt
	// Qdrant is a connected client; the pipeline writes through NewQdrantStore over it
	// unless Store is set.
	Qdrant *qdrant.Client
	// Store, when set, takes the writes instead of Qdrant (MemoryStore in tests).
	Store Store
	// Dim is the embedding dimension.
	Dim int
	// NewEmbedder makes one embedder per worker. onFallback is to be called when the
	// embedder's GPU failed and the batch was encoded again on the CPU (pass it to
	// embed.OnFallback); the pipeline logs and counts it.
	NewEmbedder func(onFallback func(error)) (Embedder, error)
	// EmbedCalls is how many parallel calls one batch is embedded in; 0 means one per
	// worker. A GPU backend wants 1: the whole batch in one kernel launch.
	EmbedCalls int
}

// Pipeline consumes raw events, validates them, dead-letters the bad ones, embeds the
// good ones in micro-batches, writes events and user profiles to the Store (Qdrant) and
// commits offsets only after the Store acknowledged. The stages run over one batch
// value, one file each: source.go (poll, cut, run the stages), validate.go,
// deadletter.go, embed.go, write.go, commit.go.
type Pipeline struct {
	core
	deps      Deps
	embedders []Embedder

	// owned by the Run goroutine: the consumer group's client as the three seams
	src     source
	dead    DeadLetters
	commits Committer
	batchNo int
	vecBuf  []float32

	fellBack atomic.Bool // the embedding backend switched from the GPU to the CPU
	ready    atomic.Bool
	live     atomic.Pointer[kgo.Client] // the Run goroutine's client, for health checks
}

// New builds a pipeline; nothing connects until Run.
func New(cfg Config, deps Deps, opts ...Opt) (*Pipeline, error) {
	if deps.Store == nil && deps.Qdrant != nil {
		deps.Store = NewQdrantStore(deps.Qdrant, cfg.Qdrant)
	}
	if deps.Store == nil || deps.NewEmbedder == nil || deps.Dim < 1 {
		return nil, errors.New("pipeline: Deps needs Qdrant (or a Store), NewEmbedder and Dim")
	}
	p := &Pipeline{deps: deps}
	if err := p.core.init(cfg, deps.Store, deps.Dim, opts); err != nil {
		return nil, err
	}
	onFallback := func(err error) {
		if p.fellBack.CompareAndSwap(false, true) {
			p.stats.addCounters(Counters{BackendFallbacks: 1})
			p.o.log.Error("embedding backend failed: the batch was embedded again on the CPU, as will be the rest of the run", "err", err)
		}
	}
	for range cfg.Workers {
		e, err := deps.NewEmbedder(onFallback)
		if err != nil {
			return nil, fmt.Errorf("pipeline: new embedder: %w", err)
		}
		p.embedders = append(p.embedders, e)
	}
	return p, nil
}

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
	defer p.closeSpool()
	if err := p.startUp(ctx); err != nil {
		if isStopped(err) || ctx.Err() != nil {
			return nil // stopped while waiting for Qdrant
		}
		return err
	}
	cl, err := kgo.NewClient(p.kafkaOpts(cfg)...)
	if err != nil {
		return fmt.Errorf("pipeline: kafka client: %w", err)
	}
	kl := kafkaLog{cl: cl, log: p.o.log}
	p.src, p.dead, p.commits = kl, kl, kl
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
	ectx, stopExpiry := context.WithCancel(ctx)
	var expiring sync.WaitGroup
	expiring.Go(func() { p.runExpiry(ectx) })
	err = p.loop(ctx)
	stopExpiry()
	expiring.Wait()
	if errors.Is(err, errStopped) {
		return nil
	}
	return err
}

// startUp waits for the Store (a pipeline started while Qdrant is down waits rather
// than crash-looping), makes its collections, then replays the spool: batches spooled
// before a crash go first, their offsets are committed and newer events of the same
// users must not overtake them.
func (p *Pipeline) startUp(ctx context.Context) error {
	err := p.untilAvailable(ctx, nil, p.guard.qdrant.b, "start-up", func() error {
		var c Counters
		return p.callStore(ctx, &c, "check collections", func(ctx context.Context) error { return p.store.Prepare(ctx, p.dim) })
	})
	if err != nil {
		return err
	}
	return p.drainSpool(ctx)
}

func (p *Pipeline) kafkaOpts(cfg Config) []kgo.Opt {
	reassigned := func(context.Context, *kgo.Client, map[string][]int32) { p.profiles.invalidate() }
	return append(append([]kgo.Opt{}, p.deps.KafkaOpts...),
		kgo.ConsumerGroup(cfg.Kafka.Group),
		kgo.SessionTimeout(cfg.Kafka.SessionTimeout),
		kgo.HeartbeatInterval(min(3*time.Second, cfg.Kafka.SessionTimeout/3)),
		kgo.ConsumeTopics(cfg.Kafka.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchMaxWait(100*time.Millisecond),
		kgo.ProducerLinger(0),
		kgo.OnPartitionsAssigned(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
			reassigned(ctx, cl, m)
			p.ready.Store(true) // joined the group (called even with nothing assigned)
		}),
		kgo.OnPartitionsRevoked(reassigned),
		kgo.OnPartitionsLost(reassigned),
	)
}

// core is what every user of the write path needs, the pipeline and a spool replay
// alike: configuration, statistics, metrics, the guard (retry, breakers, spool), the
// validator, the Store and the user-profile cache.
type core struct {
	cfg       atomic.Pointer[Config]
	o         options
	stats     *Stats
	metrics   *metrics
	validator *event.Validator
	level     *slog.LevelVar
	guard     *guard
	store     Store
	dim       int
	profiles  *profileCache
	expiry    *expiry // nil without qdrant.retention
}

func (c *core) init(cfg Config, store Store, dim int, opts []Opt) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("pipeline config: %w", err)
	}
	c.o = defaultOptions()
	for _, o := range opts {
		o.apply(&c.o)
	}
	c.level = c.o.level
	if err := c.level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("pipeline config: log_level: %w", err)
	}
	c.cfg.Store(&cfg)
	c.stats = c.o.stats
	if c.stats == nil {
		c.stats = NewStats()
	}
	var err error
	if c.metrics, err = newMetrics(c.o.registry, c.stats); err != nil {
		return err
	}
	c.validator = event.NewValidator(cfg.Validator)
	if c.guard, err = newGuard(cfg, c.o.log, c.stats, c.metrics); err != nil {
		return err
	}
	c.store, c.dim, c.profiles = store, dim, newProfileCache(dim)
	c.expiry = newExpiry(cfg.Qdrant.Retention, c.stats)
	return nil
}

// Stats returns the pipeline's statistics.
func (c *core) Stats() *Stats { return c.stats }

// Config returns the configuration in force.
func (c *core) Config() Config { return *c.cfg.Load() }

// Wiring is what a production pipeline is built from: the cluster, a connected Qdrant
// client, and the model on the backend embed.SelectBackend chose.
type Wiring struct {
	// KafkaOpts connect to the cluster (seed brokers, TLS, SASL).
	KafkaOpts []kgo.Opt
	Qdrant    *qdrant.Client
	Model     *embed.Model
	Backend   *embed.Backend
}

// Wire builds a pipeline over real Kafka and Qdrant with one encoder per worker on
// w's backend (one call per batch on a GPU). It is the one wiring of a pipeline,
// shared by `vectorstream pipeline` and the harness's in-process pipeline.
func Wire(cfg Config, w Wiring, opts ...Opt) (*Pipeline, error) {
	return New(cfg, Deps{
		KafkaOpts: w.KafkaOpts,
		Qdrant:    w.Qdrant,
		Dim:       w.Model.Dim(),
		NewEmbedder: func(onFallback func(error)) (Embedder, error) {
			return embed.NewEncoder(w.Model, w.Backend.Backend, embed.OnFallback(onFallback)), nil
		},
		EmbedCalls: w.Backend.Calls(),
	}, opts...)
}
