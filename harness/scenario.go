package harness

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/event"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/internal/problem"
	"github.com/vectorstream/vectorstream/internal/yamlconf"
	"github.com/vectorstream/vectorstream/pipeline"
	"github.com/vectorstream/vectorstream/workloads"
)

// Scenario describes one benchmark run. It is decoded strictly from YAML: an unknown
// key, a wrong type or an out-of-range value fails before any load is offered, naming
// file, line and field, every problem at once. Precedence: --set flags over
// VECTORSTREAM_* environment variables over the file over the defaults.
type Scenario struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description,omitempty"`
	Seed        int64  `yaml:"seed" json:"seed"`
	// Duration is the measured part of the run; the load runs Warmup + Duration.
	Duration time.Duration `yaml:"duration" json:"duration"`
	Warmup   time.Duration `yaml:"warmup" json:"warmup"`
	// DrainTimeout bounds how long the pipeline may take to catch up after the load.
	DrainTimeout time.Duration     `yaml:"drain_timeout" json:"drain_timeout"`
	Load         workloads.Profile `yaml:"load" json:"load"`
	Workload     WorkloadConfig    `yaml:"workload" json:"workload"`
	Kafka        KafkaConfig       `yaml:"kafka" json:"kafka"`
	Pipeline     pipeline.Config   `yaml:"pipeline" json:"pipeline"`
	Embedding    EmbeddingConfig   `yaml:"embedding" json:"embedding"`
	Infra        InfraConfig       `yaml:"infra" json:"infra"`
	Verify       VerifyConfig      `yaml:"verify" json:"verify"`
	Validity     ValidityConfig    `yaml:"validity" json:"validity"`
	Gates        Gates             `yaml:"gates" json:"gates"`
	// Faults are injected while the load runs; the report marks their windows and
	// states the recovery time of each.
	Faults []FaultSpec `yaml:"faults" json:"faults,omitempty"`
	// Repeat runs the scenario (each sweep point) this many times, for medians and
	// significance in comparisons.
	Repeat int `yaml:"repeat" json:"repeat,omitempty"`
	// Sweep runs the scenario at several values of one field.
	Sweep *Sweep `yaml:"sweep,omitempty" json:"sweep,omitempty"`

	// File is where the scenario was read from.
	File string `yaml:"-" json:"file"`
	doc  *yamlconf.Doc

	// SchemaVersion is the layout of a scenario recorded in a run's result.json. Every
	// Scenario encoded as JSON carries ScenarioSchemaVersion whatever this field holds
	// (MarshalJSON); a recorded one without it is version 1, and decoding migrates an
	// older one to the current layout (migrate.go), leaving ScenarioSchemaVersion here.
	// Scenario files do not carry it: a file is always read in the current layout, and
	// the field stays 0.
	SchemaVersion int `yaml:"-" json:"schema_version"`
}

// WorkloadConfig shapes the synthetic shop.
type WorkloadConfig struct {
	Products          int                           `yaml:"products" json:"products"`
	Users             int                           `yaml:"users" json:"users"`
	MalformedFraction float64                       `yaml:"malformed_fraction" json:"malformed_fraction"`
	TypoRate          float64                       `yaml:"typo_rate" json:"typo_rate"`
	Locales           map[string]float64            `yaml:"locales,omitempty" json:"locales,omitempty"`
	Transitions       map[string]map[string]float64 `yaml:"transitions,omitempty" json:"transitions,omitempty"`
}

// KafkaConfig is what the harness needs of the raw topic beyond the pipeline's view.
type KafkaConfig struct {
	Partitions int `yaml:"partitions" json:"partitions"`
	// ReplicationFactor is used when the harness creates topics on an external cluster.
	ReplicationFactor int `yaml:"replication_factor" json:"replication_factor"`
	// ProducerLinger lets the load generator's client batch records.
	ProducerLinger time.Duration `yaml:"producer_linger" json:"producer_linger"`
}

// EmbeddingConfig selects the backend and fits the embedding model: the fit's own
// configuration (embed.FitConfig: dimensions, min_df, max_vocab, oversample,
// power_iters), the backend and an optional model file.
type EmbeddingConfig struct {
	embed.FitConfig `yaml:",inline"`
	Backend         string `yaml:"backend" json:"backend"`
	// Model is a model file to load; empty fits one on the scenario's catalog.
	Model string `yaml:"model" json:"model,omitempty"`
}

// Fit is the fit's configuration with the scenario's seed.
func (e EmbeddingConfig) Fit(seed int64) embed.FitConfig {
	c := e.FitConfig
	c.Seed = seed
	return c
}

// InfraConfig says where Kafka and Qdrant come from.
type InfraConfig struct {
	Mode string `yaml:"mode" json:"mode"`
	// Process runs the embedded services in a child process (`vectorstream infra
	// serve`), so their CPU and memory are not counted as the pipeline's.
	Process bool `yaml:"process" json:"process,omitempty"`
	// PipelineProcess runs the pipeline as its own process (`vectorstream pipeline`),
	// as it would be deployed; the harness reads its statistics over HTTP.
	PipelineProcess bool `yaml:"pipeline_process" json:"pipeline_process,omitempty"`
	// PipelineProcesses is how many pipeline processes share the consumer group when
	// PipelineProcess is set (scale-out); their statistics are merged into one result.
	PipelineProcesses int `yaml:"pipeline_processes" json:"pipeline_processes,omitempty"`
	// LoadProcesses splits the load between this many `vectorstream load` processes
	// (scale-out of the load generator); 0 or 1 sends from the harness itself.
	LoadProcesses int `yaml:"load_processes" json:"load_processes,omitempty"`
	// Brokers and QdrantAddr are used in external mode.
	Brokers    []string `yaml:"brokers,omitempty" json:"brokers,omitempty"`
	QdrantAddr string   `yaml:"qdrant_addr" json:"qdrant_addr,omitempty"`
	// KafkaProxy is where the Kafka fault proxy listens in external mode, for
	// kafka_* faults (host:port). The broker must advertise this address
	// (advertised.listeners), so that clients stay on the proxy once they read
	// the cluster's metadata; the run checks that before any load.
	KafkaProxy string `yaml:"kafka_proxy" json:"kafka_proxy,omitempty"`
	// QdrantStore is what serves Qdrant in the embedded mode: "engine", the
	// Qdrant engine server (Qdrant's storage engine qdrant-edge behind
	// VectorStream's gRPC server, a process of its own, built by `make
	// engine`), or "standin", the exact in-memory Go stand-in. Empty picks the
	// engine when it is built, else the stand-in; the scenario recorded in
	// result.json says which ran.
	QdrantStore string `yaml:"qdrant_store" json:"qdrant_store,omitempty"`
	// qdrantEngine is the engine binary QdrantStore "engine" resolved to.
	qdrantEngine string
	// Containers configures the containers mode: images and resource limits.
	Containers ContainersConfig `yaml:"containers" json:"containers,omitzero"`
	// Security is TLS, SASL and the Qdrant API key for external clusters; secrets come
	// from environment variables or files it names, never from the scenario.
	Security infra.Security `yaml:",inline" json:",inline"`
}

// ContainersConfig is infra.containers: which images the containers mode runs
// and under what limits. The defaults are the project's own images, built here
// by make images; apache/kafka and qdrant/qdrant work where a registry is
// reachable.
type ContainersConfig struct {
	KafkaImage  string `yaml:"kafka_image" json:"kafka_image,omitempty"`
	QdrantImage string `yaml:"qdrant_image" json:"qdrant_image,omitempty"`
	// PipelineImage runs the pipeline (infra.pipeline_process: true); its
	// vectorstream binary must be this harness's version (the default is the
	// image make images built from this source).
	PipelineImage string `yaml:"pipeline_image" json:"pipeline_image,omitempty"`
	// Limits are each container's cpus and memory, enforced by Docker.
	Limits ContainerLimits `yaml:"limits" json:"limits,omitzero"`
}

// ContainerLimits are the resource limits of each container of the containers mode.
type ContainerLimits struct {
	Kafka    infra.Limits `yaml:"kafka" json:"kafka,omitzero"`
	Qdrant   infra.Limits `yaml:"qdrant" json:"qdrant,omitzero"`
	Pipeline infra.Limits `yaml:"pipeline" json:"pipeline,omitzero"`
}

// VerifyConfig sizes the verification after the run.
type VerifyConfig struct {
	// SampleVectors is how many stored event vectors are compared to a fresh re-embedding.
	SampleVectors int `yaml:"sample_vectors" json:"sample_vectors"`
	// MinCosine is the least cosine similarity a stored vector or profile may have with
	// its recomputation.
	MinCosine float64 `yaml:"min_cosine" json:"min_cosine"`
}

// ValidityConfig are the limits beyond which a run measures the harness rather than the
// system, and is reported invalid (exit 4) instead of passed or failed.
type ValidityConfig struct {
	MaxSendDelayP99 time.Duration `yaml:"max_send_delay_p99" json:"max_send_delay_p99"`
	LateThreshold   time.Duration `yaml:"late_threshold" json:"late_threshold"`
	MaxLateFraction float64       `yaml:"max_late_fraction" json:"max_late_fraction"`
	// MaxThroughputDrift bounds |last third − first third| / first third at constant load.
	MaxThroughputDrift float64 `yaml:"max_throughput_drift" json:"max_throughput_drift"`
}

// Gates are the pass/fail criteria of a valid run. Zero disables a gate. Zero loss is
// not a gate: it is an invariant every run must hold (see Verify).
type Gates struct {
	MinThroughputEPS float64       `yaml:"min_throughput_eps" json:"min_throughput_eps,omitempty"`
	MinAchievedRatio float64       `yaml:"min_achieved_ratio" json:"min_achieved_ratio,omitempty"`
	MaxE2EP99        time.Duration `yaml:"max_e2e_p99" json:"max_e2e_p99,omitempty"`
	MaxE2EP50        time.Duration `yaml:"max_e2e_p50" json:"max_e2e_p50,omitempty"`
	MaxDLQFraction   float64       `yaml:"max_dlq_fraction" json:"max_dlq_fraction,omitempty"`
	// MaxRTO bounds every fault's recovery time (see FaultResult.RTOSeconds).
	MaxRTO time.Duration `yaml:"max_rto" json:"max_rto,omitempty"`
	// RecoveryP99 is the e2e p99 a second must be under to count as recovered from a
	// fault; zero means max_e2e_p99, or 30 s when that is not set either.
	RecoveryP99 time.Duration `yaml:"recovery_p99" json:"recovery_p99,omitempty"`
}

// DefaultScenario returns the values a scenario file is applied over.
func DefaultScenario() Scenario {
	return Scenario{
		Seed:         1,
		Duration:     30 * time.Second,
		Warmup:       5 * time.Second,
		DrainTimeout: 60 * time.Second,
		Load:         workloads.Profile{Kind: "constant", Rate: 1000},
		Workload:     WorkloadConfig{Products: 5000, Users: 2000, MalformedFraction: 0.01, TypoRate: 0.05},
		Kafka:        KafkaConfig{Partitions: 4, ReplicationFactor: 1, ProducerLinger: 2 * time.Millisecond},
		Pipeline:     pipeline.DefaultConfig(),
		Embedding:    EmbeddingConfig{FitConfig: embed.DefaultFitConfig(), Backend: "cpu"},
		Infra:        InfraConfig{Mode: "embedded"},
		Verify:       VerifyConfig{SampleVectors: 200, MinCosine: 0.9999},
		Validity:     ValidityConfig{MaxSendDelayP99: 50 * time.Millisecond, LateThreshold: 100 * time.Millisecond, MaxLateFraction: 0.01, MaxThroughputDrift: 0.10},
	}
}

// LoadScenario reads a scenario file, applies environment and flag overrides, and
// validates it. Every problem comes back at once, wrapped in exitcode.ErrConfig.
func LoadScenario(path string, sets []string) (*Scenario, error) {
	return loadScenario(path, sets, true)
}

func loadScenario(path string, sets []string, withSweep bool) (*Scenario, error) {
	sc := DefaultScenario()
	sc.Pipeline.HealthAddr = "127.0.0.1:0"
	ovs := yamlconf.EnvOverrides(&sc, "VECTORSTREAM_", os.LookupEnv)
	var errs []error
	for _, s := range sets {
		o, err := yamlconf.ParseSet(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ovs = append(ovs, o)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", exitcode.ErrConfig, errors.Join(errs...))
	}
	doc, err := yamlconf.LoadFile(path, &sc, ovs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
	}
	if doc.Empty() {
		return nil, fmt.Errorf("%w: %s: the scenario file is empty (a scenario names at least its load and duration; see scenarios/smoke.yaml)", exitcode.ErrConfig, path)
	}
	sc.File, sc.doc = path, doc
	if !withSweep {
		sc.Sweep = nil
	}
	if sc.Name == "" {
		base := path[strings.LastIndexByte(path, '/')+1:]
		sc.Name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
	}
	if sc.Sweep != nil {
		// Every point must be a valid scenario before any load is offered.
		var errs []error
		for _, v := range sc.Sweep.Values {
			if _, err := sc.Point(v, sets); err != nil {
				errs = append(errs, fmt.Errorf("sweep value %q: %w", v, err))
			}
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("%w: %w", exitcode.ErrConfig, errors.Join(errs...))
		}
	}
	return &sc, nil
}

// Point returns the scenario of one sweep value: the file re-read with the swept
// field set to value, after the other overrides.
func (s *Scenario) Point(value string, sets []string) (*Scenario, error) {
	if s.Sweep == nil {
		return s, nil
	}
	return loadScenario(s.File, append(append([]string{}, sets...), s.Sweep.Parameter+"="+value), false)
}

// Validate checks every value's range and returns all problems joined, each naming
// the field (and, for a scenario read from a file, the file and line).
func (s *Scenario) Validate() error {
	var errs []error
	for _, p := range s.Problems() {
		if s.doc != nil {
			errs = append(errs, s.doc.Errorf(p.Path, "%s", p.Msg))
		} else {
			errs = append(errs, p)
		}
	}
	return errors.Join(problem.Cap(errs)...)
}

// Fixed caps on a run's size, on top of what the machine can hold: beyond them a
// scenario is a typo, not a benchmark.
const (
	MaxDuration = 168 * time.Hour // warm-up plus duration
)

// SafeName reports whether s can name a scenario or run folder: 1 to 128 letters,
// digits, '.', '_', '-' or '=', not starting with '.' (so no "..", no separator: the
// results stay under their folder).
func SafeName(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-', c == '=':
		default:
			return false
		}
	}
	return true
}

// Problems returns every invalid setting of the scenario, composed from the problems
// of each of its parts under its key.
func (s *Scenario) Problems() []problem.Problem {
	var ps problem.List
	if s.Name != "" && !SafeName(s.Name) {
		ps.Add("name", "%q: a scenario name is 1 to 128 letters, digits, '.', '_', '-' or '=' (it names the results folder), not starting with '.'", s.Name)
	}
	if s.Repeat < 0 || s.Repeat > 100 {
		ps.Add("repeat", "must be in [1, 100], got %d", s.Repeat)
	}
	if sw := s.Sweep; sw != nil {
		ps.Under("sweep", sw.problems())
	}
	if s.Duration <= 0 {
		ps.Add("duration", "must be > 0, got %v", s.Duration)
	}
	if s.Warmup < 0 {
		ps.Add("warmup", "must be >= 0, got %v", s.Warmup)
	}
	if s.Warmup+s.Duration > MaxDuration {
		ps.Add("duration", "warmup + duration must be at most %v, got %v", MaxDuration, s.Warmup+s.Duration)
	}
	if s.DrainTimeout <= 0 {
		ps.Add("drain_timeout", "must be > 0, got %v", s.DrainTimeout)
	}
	ps.Under("load", s.Load.Problems())
	ps.Under("workload", s.Workload.problems())
	if _, err := s.GeneratorConfig(); err != nil {
		ps.Add("workload", "%v", err)
	}
	ps.Under("kafka", s.Kafka.problems())
	ps.Under("pipeline", s.Pipeline.Problems())
	ps.Under("embedding", s.Embedding.problems())
	ps.Under("infra", s.Infra.problems())
	ps.Under("verify", s.Verify.problems())
	ps.Under("validity", s.Validity.problems())
	ps.Under("gates", s.Gates.problems(len(s.Faults)))
	ps.Under("", s.checkFaults())
	return ps
}

func (sw *Sweep) problems() []problem.Problem {
	var ps problem.List
	if sw.Parameter == "" || strings.HasPrefix(sw.Parameter, "sweep") || sw.Parameter == "repeat" || sw.Parameter == "name" {
		ps.Add("parameter", "must name a scenario field such as load.rate, got %q", sw.Parameter)
	}
	if len(sw.Values) < 2 {
		ps.Add("values", "a sweep needs at least two values, got %d", len(sw.Values))
	}
	return ps
}

func (w WorkloadConfig) problems() []problem.Problem {
	var ps problem.List
	if w.Products < 1 {
		ps.Add("products", "must be >= 1, got %d", w.Products)
	}
	if w.Users < 1 {
		ps.Add("users", "must be >= 1, got %d", w.Users)
	}
	if w.MalformedFraction < 0 || w.MalformedFraction > 1 {
		ps.Add("malformed_fraction", "must be in [0, 1], got %v", w.MalformedFraction)
	}
	if w.TypoRate < 0 || w.TypoRate > 1 {
		ps.Add("typo_rate", "must be in [0, 1], got %v", w.TypoRate)
	}
	return ps
}

func (k KafkaConfig) problems() []problem.Problem {
	var ps problem.List
	if k.Partitions < 1 || k.Partitions > 10000 {
		ps.Add("partitions", "must be in [1, 10000], got %d", k.Partitions)
	}
	if k.ReplicationFactor < 1 || k.ReplicationFactor > 32 {
		ps.Add("replication_factor", "must be in [1, 32], got %d", k.ReplicationFactor)
	}
	if k.ProducerLinger < 0 {
		ps.Add("producer_linger", "must be >= 0, got %v", k.ProducerLinger)
	}
	return ps
}

func (e EmbeddingConfig) problems() []problem.Problem {
	var ps problem.List
	if e.Dim < 1 || e.Dim > 4096 {
		ps.Add("dimensions", "must be in [1, 4096], got %d", e.Dim)
	}
	switch e.Backend {
	case "cpu", "cuda", "auto":
	default:
		ps.Add("backend", "must be cpu, cuda or auto, got %q", e.Backend)
	}
	if e.MinDF < 1 {
		ps.Add("min_df", "must be >= 1, got %d", e.MinDF)
	}
	if e.MaxVocab < e.Dim {
		ps.Add("max_vocab", "must be >= embedding.dimensions (%d), got %d", e.Dim, e.MaxVocab)
	}
	if e.Oversample < 0 {
		ps.Add("oversample", "must be >= 0, got %d", e.Oversample)
	}
	if e.PowerIters < 0 {
		ps.Add("power_iters", "must be >= 0, got %d", e.PowerIters)
	}
	return ps
}

func (in InfraConfig) problems() []problem.Problem {
	var ps problem.List
	if n := in.PipelineProcesses; n < 0 || n > 64 || (n > 1 && !in.PipelineProcess) {
		ps.Add("pipeline_processes", "must be in [1, 64] and needs infra.pipeline_process: true, got %d", n)
	}
	if n := in.LoadProcesses; n < 0 || n > 64 {
		ps.Add("load_processes", "must be in [1, 64], got %d", n)
	}
	c := in.Containers
	if in.Mode != "containers" && in.Mode != "auto" && c != (ContainersConfig{}) {
		ps.Add("containers", "configures the containers mode, and the mode is %s", in.Mode)
	}
	for _, l := range []struct {
		path string
		l    infra.Limits
	}{{"containers.limits.kafka", c.Limits.Kafka}, {"containers.limits.qdrant", c.Limits.Qdrant}, {"containers.limits.pipeline", c.Limits.Pipeline}} {
		for _, msg := range l.l.Validate() {
			field, text, _ := strings.Cut(msg, ": ")
			ps.Add(l.path+"."+field, "%s", text)
		}
	}
	if c.Limits.Pipeline != (infra.Limits{}) && !in.PipelineProcess {
		ps.Add("containers.limits.pipeline", "limits the pipeline container, and the pipeline runs in the harness (set infra.pipeline_process: true)")
	}
	if in.Process && in.Mode != "embedded" && in.Mode != "auto" {
		ps.Add("process", "only the embedded mode can run in a child process")
	}
	switch in.QdrantStore {
	case "", QdrantStoreEngine, QdrantStoreStandin:
		if in.QdrantStore != "" && in.Mode != "embedded" && in.Mode != "auto" {
			ps.Add("qdrant_store", "only the embedded mode picks its Qdrant store, got %q in mode %s", in.QdrantStore, in.Mode)
		}
	default:
		ps.Add("qdrant_store", "must be engine or standin, got %q", in.QdrantStore)
	}
	switch in.Mode {
	case "embedded":
	case "external":
		if len(in.Brokers) == 0 {
			ps.Add("brokers", "external mode needs at least one broker address")
		}
		if in.QdrantAddr == "" {
			ps.Add("qdrant_addr", "external mode needs Qdrant's gRPC address (host:6334)")
		}
		ps.Under("", in.Security.Validate())
	case "containers", "auto":
		// containers needs a Docker daemon; auto falls back to embedded without one.
		if in.PipelineProcesses > 1 {
			ps.Add("pipeline_processes", "the containers mode runs one pipeline container, got %d", in.PipelineProcesses)
		}
	default:
		ps.Add("mode", "must be embedded, external, containers or auto, got %q", in.Mode)
	}
	return ps
}

func (v VerifyConfig) problems() []problem.Problem {
	var ps problem.List
	if v.SampleVectors < 0 {
		ps.Add("sample_vectors", "must be >= 0, got %d", v.SampleVectors)
	}
	if v.MinCosine <= 0 || v.MinCosine > 1 {
		ps.Add("min_cosine", "must be in (0, 1], got %v", v.MinCosine)
	}
	return ps
}

func (v ValidityConfig) problems() []problem.Problem {
	var ps problem.List
	if v.MaxSendDelayP99 <= 0 {
		ps.Add("max_send_delay_p99", "must be > 0, got %v", v.MaxSendDelayP99)
	}
	if v.LateThreshold <= 0 {
		ps.Add("late_threshold", "must be > 0, got %v", v.LateThreshold)
	}
	if v.MaxLateFraction < 0 || v.MaxLateFraction > 1 {
		ps.Add("max_late_fraction", "must be in [0, 1], got %v", v.MaxLateFraction)
	}
	if v.MaxThroughputDrift <= 0 {
		ps.Add("max_throughput_drift", "must be > 0, got %v", v.MaxThroughputDrift)
	}
	return ps
}

// problems checks the gates of a scenario with the given number of faults.
func (g Gates) problems(faults int) []problem.Problem {
	var ps problem.List
	nonNeg := func(path string, v time.Duration) {
		if v < 0 {
			ps.Add(path, "must be >= 0, got %v", v)
		}
	}
	fraction := func(path string, v float64) {
		if v < 0 || v > 1 {
			ps.Add(path, "must be in [0, 1], got %v", v)
		}
	}
	if g.MinThroughputEPS < 0 {
		ps.Add("min_throughput_eps", "must be >= 0, got %v", g.MinThroughputEPS)
	}
	fraction("min_achieved_ratio", g.MinAchievedRatio)
	nonNeg("max_e2e_p99", g.MaxE2EP99)
	nonNeg("max_e2e_p50", g.MaxE2EP50)
	fraction("max_dlq_fraction", g.MaxDLQFraction)
	nonNeg("max_rto", g.MaxRTO)
	nonNeg("recovery_p99", g.RecoveryP99)
	if g.MaxRTO > 0 && faults == 0 {
		ps.Add("max_rto", "bounds the recovery from faults, and the scenario has none")
	}
	return ps
}

// GeneratorConfig converts the workload section into the generator's configuration.
func (s *Scenario) GeneratorConfig() (workloads.GeneratorConfig, error) {
	w := s.Workload
	cfg := workloads.GeneratorConfig{
		Seed:              s.Seed,
		Products:          w.Products,
		Users:             w.Users,
		Locales:           w.Locales,
		MalformedFraction: w.MalformedFraction,
		TypoRate:          w.TypoRate,
		MaxEventBytes:     s.Pipeline.Validator.MaxBytes,
	}
	if s.Load.Validate() == nil {
		if err := s.applyBursts(&cfg); err != nil {
			return cfg, err
		}
	}
	if len(w.Transitions) > 0 {
		cfg.Transitions = map[event.EventType]map[event.EventType]float64{}
		for from, row := range w.Transitions {
			ft := event.EventType(from)
			if !ft.Valid() {
				return cfg, fmt.Errorf("transitions: unknown event type %q", from)
			}
			cfg.Transitions[ft] = map[event.EventType]float64{}
			for to, p := range row {
				tt := event.EventType(to)
				if !tt.Valid() {
					return cfg, fmt.Errorf("transitions.%s: unknown event type %q", from, to)
				}
				cfg.Transitions[ft][tt] = p
			}
		}
	}
	return cfg, cfg.Validate()
}

// NewGenerator returns the scenario's event generator and the configuration it runs
// with (regenerating the stream for verification needs the same configuration).
func (s *Scenario) NewGenerator() (*workloads.Generator, workloads.GeneratorConfig, error) {
	gcfg, err := s.GeneratorConfig()
	if err != nil {
		return nil, gcfg, fmt.Errorf("%w: workload: %w", exitcode.ErrConfig, err)
	}
	gen, err := workloads.NewGenerator(gcfg)
	if err != nil {
		return nil, gcfg, fmt.Errorf("%w: workload: %w", exitcode.ErrConfig, err)
	}
	return gen, gcfg, nil
}

// NewBackend returns the compute backend the scenario's embedding.backend names, and
// which one was chosen and why (embed.SelectBackend).
func (s *Scenario) NewBackend() (*embed.Backend, error) {
	be, err := embed.SelectBackend(s.Embedding.Backend)
	if err != nil {
		return nil, fmt.Errorf("%w: embedding.backend: %w", exitcode.ErrConfig, err)
	}
	return be, nil
}
