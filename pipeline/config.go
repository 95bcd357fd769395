package pipeline

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/internal/problem"
	"github.com/vectorstream/vectorstream/pipeline/breaker"
	"github.com/vectorstream/vectorstream/pipeline/retry"
)

// Config is the pipeline's configuration. It is the schema of configs/app_config.yaml
// and of the `pipeline:` section of a scenario. The settings marked live may be changed
// while the pipeline runs (Pipeline.Reload, SIGHUP); the others need a restart.
type Config struct {
	Kafka     KafkaConfig           `yaml:"kafka" json:"kafka"`
	Batch     BatchConfig           `yaml:"batch" json:"batch"`
	Qdrant    QdrantConfig          `yaml:"qdrant" json:"qdrant"`
	Profiles  ProfileConfig         `yaml:"profiles" json:"profiles"`
	Validator event.ValidatorConfig `yaml:"validator" json:"validator"`
	Retry     RetryConfig           `yaml:"retry" json:"retry"`
	// Breaker guards the Qdrant calls, and the Kafka writes (dead-letter produce, offset
	// commits).
	Breaker breaker.Config `yaml:"breaker" json:"breaker"`
	// Spool keeps batches that Qdrant would not take, so their offsets can be
	// committed; without it such a batch is held in memory until Qdrant answers.
	Spool SpoolConfig `yaml:"spool" json:"spool"`
	// Workers is the number of goroutines that embed and upsert one batch in parallel.
	Workers int `yaml:"workers" json:"workers"`
	// HealthAddr is where /health/* and /metrics listen; port 0 picks a free one, "" disables.
	HealthAddr string `yaml:"health_addr" json:"health_addr"`
	// LogLevel is debug, info, warn or error (live).
	LogLevel string `yaml:"log_level" json:"log_level"`
}

// KafkaConfig names the topics and the consumer group.
type KafkaConfig struct {
	Topic    string `yaml:"topic" json:"topic"`
	DLQTopic string `yaml:"dlq_topic" json:"dlq_topic"`
	Group    string `yaml:"group" json:"group"`
	// SessionTimeout is how long the group waits for a silent member (a crashed
	// pipeline) before giving its partitions to another.
	SessionTimeout time.Duration `yaml:"session_timeout" json:"session_timeout"`
}

// BatchConfig is the micro-batch trigger: a batch closes when it holds MaxSize events or
// Interval after its first event arrived, whichever comes first.
type BatchConfig struct {
	Interval time.Duration `yaml:"interval" json:"interval"` // live
	MaxSize  int           `yaml:"max_size" json:"max_size"` // live
}

// QdrantConfig names the collections and the size of one upsert request.
type QdrantConfig struct {
	EventsCollection   string `yaml:"events_collection" json:"events_collection"`
	ProfilesCollection string `yaml:"profiles_collection" json:"profiles_collection"`
	UpsertBatch        int    `yaml:"upsert_batch" json:"upsert_batch"` // live
	// OnDisk creates the collections with their vectors and HNSW graphs on disk
	// (Qdrant's vectors on_disk and hnsw_config.on_disk; payloads are on disk by
	// default), so Qdrant's memory holds caches only. False keeps Qdrant's
	// defaults: both in memory. Collections that exist are left as they are.
	OnDisk bool `yaml:"on_disk" json:"on_disk,omitempty"`
	// OnDiskPayload keeps the payloads on disk (true, Qdrant's default when
	// unset) or in memory (false): Qdrant's on_disk_payload.
	OnDiskPayload *bool `yaml:"on_disk_payload" json:"on_disk_payload,omitempty"`
	// HNSW is the HNSW graph's shape for new collections; zero values keep
	// Qdrant's (m 16, ef_construct 100).
	HNSW HNSWConfig `yaml:"hnsw" json:"hnsw"`
	// IndexingThreshold is Qdrant's optimizers_config.indexing_threshold, in KB
	// of vectors: a segment holding more gets an HNSW index built by the
	// optimizer; 0 turns indexing off (searches scan). Unset keeps Qdrant's
	// default (10,000 KB).
	IndexingThreshold *uint64 `yaml:"indexing_threshold" json:"indexing_threshold,omitempty"`
	// MaxSegmentSize is Qdrant's optimizers_config.max_segment_size, in KB of
	// vectors: the optimizer merges no segments into a larger one. It does not
	// cap the appendable segment: one that grew past it while the optimizer was
	// busy is indexed whole. Unset keeps Qdrant's default (derived from the
	// number of CPUs).
	MaxSegmentSize *uint64 `yaml:"max_segment_size" json:"max_segment_size,omitempty"`
	// DeletedThreshold is Qdrant's optimizers_config.deleted_threshold: the
	// fraction of a segment's points deleted before the optimizer rebuilds it
	// without them. Unset keeps Qdrant's 0.2; a store expiring points in time
	// order (Retention) wants more, so that a segment is rebuilt once, nearly
	// empty, rather than several times as its oldest points go.
	DeletedThreshold *float64 `yaml:"deleted_threshold" json:"deleted_threshold,omitempty"`
	// Wait is the upserts' wait flag: true (the default) answers once the points
	// are applied and searchable; false once Qdrant has them in its write-ahead
	// log, so a search may miss them for a while after the offsets are
	// committed (durable, not yet visible).
	Wait *bool `yaml:"wait" json:"wait,omitempty"`
	// PayloadPadBytes adds a "pad" field of that many bytes to every event
	// point's payload: the payload size knob of the capacity sweeps, standing
	// for the attributes a real catalogue would store. 0 adds none.
	PayloadPadBytes int `yaml:"payload_pad_bytes" json:"payload_pad_bytes,omitempty"`
	// Retention keeps the events collection to the last Retention of event time,
	// as a TTL would (Qdrant has none): every Retention/10 (between 1 s and 10 s)
	// the pipeline deletes the event points whose timestamp is older than the
	// newest event it has written minus Retention, by a filter on a datetime
	// payload index of "timestamp" it creates. Profiles are kept. 0 (the
	// default) keeps every point.
	Retention time.Duration `yaml:"retention" json:"retention,omitempty"`
}

// RetentionEvery is how often the retention deletes expired points: a tenth of
// Retention, between 1 s and 10 s.
func (q QdrantConfig) RetentionEvery() time.Duration {
	return min(max(q.Retention/10, time.Second), 10*time.Second)
}

// HNSWConfig is the shape of an HNSW graph (Qdrant's hnsw_config).
type HNSWConfig struct {
	// M is the number of edges per node; 0 keeps Qdrant's 16.
	M uint64 `yaml:"m" json:"m,omitempty"`
	// EfConstruct is the neighbours considered while building; 0 keeps
	// Qdrant's 100.
	EfConstruct uint64 `yaml:"ef_construct" json:"ef_construct,omitempty"`
}

// Waits reports the upserts' wait flag (Wait; default true).
func (q QdrantConfig) Waits() bool { return q.Wait == nil || *q.Wait }

// ProfileConfig shapes the per-user behaviour vectors.
type ProfileConfig struct {
	// HalfLife is the event-time half-life of a profile's memory.
	HalfLife time.Duration `yaml:"half_life" json:"half_life"`
	// Coalesce writes each user's profile once per batch, after all of the
	// batch's events are folded in (true, the default). False writes it once
	// per event (its latest state each time): what a pipeline that does not
	// coalesce costs Qdrant, for the capacity sweep.
	Coalesce *bool `yaml:"coalesce" json:"coalesce,omitempty"`
}

// RetryConfig picks a named retry policy (package retry: DEFAULT, AGGRESSIVE,
// CONSERVATIVE, NETWORK) and may override its numbers; zero values keep the policy's.
// Qdrant writes and reads follow Policy; the dead-letter produce and the offset commits
// follow KafkaPolicy.
type RetryConfig struct {
	Policy      string        `yaml:"policy" json:"policy"`
	KafkaPolicy string        `yaml:"kafka_policy" json:"kafka_policy"`
	Strategy    string        `yaml:"strategy" json:"strategy,omitempty"`
	Attempts    int           `yaml:"attempts" json:"attempts,omitempty"`
	BaseDelay   time.Duration `yaml:"base_delay" json:"base_delay,omitempty"`
	MaxDelay    time.Duration `yaml:"max_delay" json:"max_delay,omitempty"`
	// AttemptTimeout bounds one try of one RPC.
	AttemptTimeout time.Duration `yaml:"attempt_timeout" json:"attempt_timeout"`
}

// Policies returns the retry policies for Qdrant and for Kafka (dead-letter produce,
// offset commits).
func (r RetryConfig) Policies() (qdrantP, kafkaP retry.Policy, err error) {
	build := func(name string) (retry.Policy, error) {
		p, err := retry.Named(name)
		if err != nil {
			return p, err
		}
		if r.Strategy != "" {
			if p.Strategy, err = retry.ParseStrategy(r.Strategy); err != nil {
				return p, err
			}
		}
		if r.Attempts > 0 {
			p.Attempts = r.Attempts
		}
		if r.BaseDelay > 0 {
			p.Base = r.BaseDelay
		}
		if r.MaxDelay > 0 {
			p.Max = r.MaxDelay
		}
		return p, p.Validate()
	}
	if qdrantP, err = build(r.Policy); err != nil {
		return
	}
	kafkaP, err = build(r.KafkaPolicy)
	return
}

// BreakerFor returns the breaker section as the named breaker's configuration.
func (c Config) BreakerFor(name string) breaker.Config {
	b := c.Breaker
	b.Name = name
	return b
}

// SpoolConfig is the local backup spool (package spool).
type SpoolConfig struct {
	// Enabled turns the spool on. A batch whose Qdrant writes exhaust their retries
	// (or meet an open breaker) is then appended to the spool, fsynced, and its
	// offsets committed; the spool is replayed before the next batch.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Dir holds the spool; one pipeline process per directory (it is locked). Empty
	// means the default of Config.SpoolDir: under the user's cache directory, per
	// consumer group. A harness run gives each pipeline process one under the run's
	// folder.
	Dir string `yaml:"dir" json:"dir"`
}

// SpoolDir returns the spool's directory: spool.dir when it is set, else
// <user cache directory>/vectorstream/spool/<kafka.group> (os.UserCacheDir:
// $XDG_CACHE_HOME or ~/.cache on Linux). Keyed by the consumer group, a pipeline
// restarted in its group finds the spool its predecessor left, and nothing is written
// in the working directory. A second member of the group on the same machine needs a
// spool.dir of its own (the first one holds the lock).
func (c Config) SpoolDir() (string, error) {
	if c.Spool.Dir != "" {
		return c.Spool.Dir, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("spool.dir is not set and there is no user cache directory to put the spool in: %w", err)
	}
	return filepath.Join(cache, "vectorstream", "spool", pathSafe(c.Kafka.Group)), nil
}

// pathSafe turns a consumer group name into one path element: every byte outside
// [A-Za-z0-9._-] becomes '_', and a name of dots alone ("..") is made harmless.
func pathSafe(name string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
	if strings.Trim(safe, ".") == "" {
		safe = strings.ReplaceAll(safe, ".", "_")
	}
	return safe
}

// DefaultConfig returns the defaults every file and override is applied over.
func DefaultConfig() Config {
	return Config{
		Kafka:      KafkaConfig{Topic: "raw_data", DLQTopic: "raw_data.dlq", Group: "vectorstream-pipeline", SessionTimeout: 45 * time.Second},
		Batch:      BatchConfig{Interval: time.Second, MaxSize: 2000},
		Qdrant:     QdrantConfig{EventsCollection: "ecommerce_events", ProfilesCollection: "user_profiles", UpsertBatch: 500},
		Profiles:   ProfileConfig{HalfLife: time.Hour},
		Validator:  event.DefaultValidatorConfig(),
		Retry:      RetryConfig{Policy: "DEFAULT", KafkaPolicy: "NETWORK", AttemptTimeout: 30 * time.Second},
		Breaker:    breaker.DefaultConfig(""),
		Spool:      SpoolConfig{}, // Dir: see Config.SpoolDir
		Workers:    2,
		HealthAddr: "127.0.0.1:8088",
		LogLevel:   "info",
	}
}

// Problems returns every invalid setting at once; nil means valid.
func (c Config) Problems() []problem.Problem {
	var ps problem.List
	c.Kafka.problems(&ps)
	c.Batch.problems(&ps)
	c.Qdrant.problems(&ps)
	if c.Profiles.HalfLife <= 0 {
		ps.Add("profiles.half_life", "must be > 0, got %v", c.Profiles.HalfLife)
	}
	if c.Validator.MaxBytes < 256 {
		ps.Add("validator.max_bytes", "must be >= 256, got %d", c.Validator.MaxBytes)
	}
	if c.Validator.MaxPast <= 0 {
		ps.Add("validator.max_past", "must be > 0, got %v", c.Validator.MaxPast)
	}
	if c.Validator.MaxFuture <= 0 {
		ps.Add("validator.max_future", "must be > 0, got %v", c.Validator.MaxFuture)
	}
	c.resilienceProblems(&ps)
	if c.Workers < 1 || c.Workers > 256 {
		ps.Add("workers", "must be in [1, 256], got %d", c.Workers)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		ps.Add("log_level", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	return ps
}

func (k KafkaConfig) problems(ps *problem.List) {
	if k.Topic == "" {
		ps.Add("kafka.topic", "must not be empty")
	}
	if k.DLQTopic == "" {
		ps.Add("kafka.dlq_topic", "must not be empty")
	}
	if k.DLQTopic == k.Topic {
		ps.Add("kafka.dlq_topic", "must differ from kafka.topic")
	}
	if k.Group == "" {
		ps.Add("kafka.group", "must not be empty")
	}
	if k.SessionTimeout < 6*time.Second || k.SessionTimeout > 30*time.Minute {
		// Kafka's group.min.session.timeout.ms and group.max.session.timeout.ms defaults.
		ps.Add("kafka.session_timeout", "must be in [6s, 30m] (the broker's default limits), got %v", k.SessionTimeout)
	}
}

func (b BatchConfig) problems(ps *problem.List) {
	if b.Interval <= 0 {
		ps.Add("batch.interval", "must be > 0, got %v", b.Interval)
	}
	if b.MaxSize < 1 || b.MaxSize > 1_000_000 {
		ps.Add("batch.max_size", "must be in [1, 1000000], got %d", b.MaxSize)
	}
}

func (q QdrantConfig) problems(ps *problem.List) {
	if q.EventsCollection == "" {
		ps.Add("qdrant.events_collection", "must not be empty")
	}
	if q.ProfilesCollection == "" {
		ps.Add("qdrant.profiles_collection", "must not be empty")
	}
	if q.ProfilesCollection == q.EventsCollection {
		ps.Add("qdrant.profiles_collection", "must differ from qdrant.events_collection")
	}
	if q.UpsertBatch < 1 || q.UpsertBatch > 100_000 {
		ps.Add("qdrant.upsert_batch", "must be in [1, 100000], got %d", q.UpsertBatch)
	}
	if q.PayloadPadBytes < 0 || q.PayloadPadBytes > 1<<20 {
		ps.Add("qdrant.payload_pad_bytes", "must be in [0, 1048576], got %d", q.PayloadPadBytes)
	}
	if d := q.DeletedThreshold; d != nil && (*d <= 0 || *d > 1) {
		ps.Add("qdrant.deleted_threshold", "must be in (0, 1], got %v", *d)
	}
	if q.Retention != 0 && q.Retention < time.Second {
		ps.Add("qdrant.retention", "must be 0 (keep every point) or at least 1s, got %v", q.Retention)
	}
	// Qdrant's own limits (its validation of hnsw_config).
	if m := q.HNSW.M; m != 0 && m < 4 || m > 10_000 {
		ps.Add("qdrant.hnsw.m", "must be 0 (Qdrant's 16) or in [4, 10000], got %d", m)
	}
	if ef := q.HNSW.EfConstruct; ef != 0 && ef < 4 {
		ps.Add("qdrant.hnsw.ef_construct", "must be 0 (Qdrant's 100) or at least 4, got %d", ef)
	}
}

// resilienceProblems checks retry, breaker and spool.
func (c Config) resilienceProblems(ps *problem.List) {
	if _, _, err := c.Retry.Policies(); err != nil {
		ps.Add("retry", "%v", err)
	}
	if c.Retry.Attempts < 0 {
		ps.Add("retry.attempts", "must be >= 0 (0 keeps the policy's), got %d", c.Retry.Attempts)
	}
	if c.Retry.AttemptTimeout <= 0 {
		ps.Add("retry.attempt_timeout", "must be > 0, got %v", c.Retry.AttemptTimeout)
	}
	if err := c.BreakerFor(BreakerQdrant).Validate(); err != nil {
		ps.Add("breaker", "%v", err)
	}
}

// Validate returns all problems joined, or nil.
func (c Config) Validate() error {
	return errors.Join(problem.List(c.Problems()).Errors()...)
}
