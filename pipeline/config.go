package pipeline

import (
	"errors"
	"fmt"
	"time"
)

// Config is the pipeline's configuration. It is the schema of configs/app_config.yaml
// and of the `pipeline:` section of a scenario. The settings marked live may be changed
// while the pipeline runs (Pipeline.Reload, SIGHUP); the others need a restart.
type Config struct {
	Kafka     KafkaConfig     `yaml:"kafka" json:"kafka"`
	Batch     BatchConfig     `yaml:"batch" json:"batch"`
	Qdrant    QdrantConfig    `yaml:"qdrant" json:"qdrant"`
	Profiles  ProfileConfig   `yaml:"profiles" json:"profiles"`
	Validator ValidatorConfig `yaml:"validator" json:"validator"`
	Retry     RetryConfig     `yaml:"retry" json:"retry"`
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
}

// ProfileConfig shapes the per-user behaviour vectors.
type ProfileConfig struct {
	// HalfLife is the event-time half-life of a profile's memory.
	HalfLife time.Duration `yaml:"half_life" json:"half_life"`
}

// ValidatorConfig bounds what an acceptable event looks like.
type ValidatorConfig struct {
	MaxBytes  int           `yaml:"max_bytes" json:"max_bytes"`
	MaxPast   time.Duration `yaml:"max_past" json:"max_past"`
	MaxFuture time.Duration `yaml:"max_future" json:"max_future"`
}

// RetryConfig bounds how often a failed Qdrant or DLQ write is retried before the batch
// is abandoned (uncommitted, so it is redelivered).
type RetryConfig struct {
	Attempts int           `yaml:"attempts" json:"attempts"`
	Backoff  time.Duration `yaml:"backoff" json:"backoff"`
}

// DefaultConfig returns the defaults every file and override is applied over.
func DefaultConfig() Config {
	return Config{
		Kafka:      KafkaConfig{Topic: "raw_data", DLQTopic: "raw_data.dlq", Group: "vectorstream-pipeline", SessionTimeout: 45 * time.Second},
		Batch:      BatchConfig{Interval: time.Second, MaxSize: 2000},
		Qdrant:     QdrantConfig{EventsCollection: "ecommerce_events", ProfilesCollection: "user_profiles", UpsertBatch: 500},
		Profiles:   ProfileConfig{HalfLife: time.Hour},
		Validator:  ValidatorConfig{MaxBytes: 16 << 10, MaxPast: 24 * time.Hour, MaxFuture: time.Hour},
		Retry:      RetryConfig{Attempts: 5, Backoff: 100 * time.Millisecond},
		Workers:    2,
		HealthAddr: "127.0.0.1:8088",
		LogLevel:   "info",
	}
}

// FieldProblem is one invalid setting, named by its dotted path below the config root.
type FieldProblem struct {
	Path string
	Msg  string
}

func (p FieldProblem) Error() string { return p.Path + ": " + p.Msg }

// Problems returns every invalid setting at once; nil means valid.
func (c Config) Problems() []FieldProblem {
	var ps []FieldProblem
	bad := func(path, format string, args ...any) {
		ps = append(ps, FieldProblem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Kafka.Topic == "" {
		bad("kafka.topic", "must not be empty")
	}
	if c.Kafka.DLQTopic == "" {
		bad("kafka.dlq_topic", "must not be empty")
	}
	if c.Kafka.DLQTopic == c.Kafka.Topic {
		bad("kafka.dlq_topic", "must differ from kafka.topic")
	}
	if c.Kafka.Group == "" {
		bad("kafka.group", "must not be empty")
	}
	if c.Kafka.SessionTimeout < 6*time.Second || c.Kafka.SessionTimeout > 30*time.Minute {
		// Kafka's group.min.session.timeout.ms and group.max.session.timeout.ms defaults.
		bad("kafka.session_timeout", "must be in [6s, 30m] (the broker's default limits), got %v", c.Kafka.SessionTimeout)
	}
	if c.Batch.Interval <= 0 {
		bad("batch.interval", "must be > 0, got %v", c.Batch.Interval)
	}
	if c.Batch.MaxSize < 1 || c.Batch.MaxSize > 1_000_000 {
		bad("batch.max_size", "must be in [1, 1000000], got %d", c.Batch.MaxSize)
	}
	if c.Qdrant.EventsCollection == "" {
		bad("qdrant.events_collection", "must not be empty")
	}
	if c.Qdrant.ProfilesCollection == "" {
		bad("qdrant.profiles_collection", "must not be empty")
	}
	if c.Qdrant.ProfilesCollection == c.Qdrant.EventsCollection {
		bad("qdrant.profiles_collection", "must differ from qdrant.events_collection")
	}
	if c.Qdrant.UpsertBatch < 1 || c.Qdrant.UpsertBatch > 100_000 {
		bad("qdrant.upsert_batch", "must be in [1, 100000], got %d", c.Qdrant.UpsertBatch)
	}
	if c.Profiles.HalfLife <= 0 {
		bad("profiles.half_life", "must be > 0, got %v", c.Profiles.HalfLife)
	}
	if c.Validator.MaxBytes < 256 {
		bad("validator.max_bytes", "must be >= 256, got %d", c.Validator.MaxBytes)
	}
	if c.Validator.MaxPast <= 0 {
		bad("validator.max_past", "must be > 0, got %v", c.Validator.MaxPast)
	}
	if c.Validator.MaxFuture <= 0 {
		bad("validator.max_future", "must be > 0, got %v", c.Validator.MaxFuture)
	}
	if c.Retry.Attempts < 1 {
		bad("retry.attempts", "must be >= 1, got %d", c.Retry.Attempts)
	}
	if c.Retry.Backoff < 0 {
		bad("retry.backoff", "must be >= 0, got %v", c.Retry.Backoff)
	}
	if c.Workers < 1 || c.Workers > 256 {
		bad("workers", "must be in [1, 256], got %d", c.Workers)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	return ps
}

// Validate returns all problems joined, or nil.
func (c Config) Validate() error {
	var errs []error
	for _, p := range c.Problems() {
		errs = append(errs, p)
	}
	return errors.Join(errs...)
}
