package harness

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/pipeline/breaker"
)

// ScenarioSchemaVersion is the layout of the scenario this build records in a run's
// result.json, written there as the scenario's "schema_version". A recorded scenario
// without one is version 1: the layout of the committed 2026-11-26 baselines.
const ScenarioSchemaVersion = 6

// scenarioFields is the current layout (ScenarioSchemaVersion): the JSON path of every
// field a recorded scenario may hold, "[]" marking the elements of a list. The JSON
// field set of Scenario is checked against it (TestScenarioFieldsAreTheCurrentLayout),
// so a change to Scenario's JSON fails that test until it is recorded here, with its
// migration (scenarioMigrations).
var scenarioFields = []string{
	"description",
	"drain_timeout",
	"duration",
	"embedding.backend",
	"embedding.dimensions",
	"embedding.max_vocab",
	"embedding.min_df",
	"embedding.model",
	"embedding.oversample",
	"embedding.power_iters",
	"faults[].at",
	"faults[].code",
	"faults[].duration",
	"faults[].kind",
	"faults[].latency",
	"faults[].ratio",
	"faults[].start_command",
	"faults[].stop_command",
	"file",
	"gates.max_dlq_fraction",
	"gates.max_e2e_p50",
	"gates.max_e2e_p99",
	"gates.max_rto",
	"gates.min_achieved_ratio",
	"gates.min_throughput_eps",
	"gates.recovery_p99",
	"infra.Security.kafka_sasl.mechanism",
	"infra.Security.kafka_sasl.password_env",
	"infra.Security.kafka_sasl.password_file",
	"infra.Security.kafka_sasl.username",
	"infra.Security.kafka_tls.ca_file",
	"infra.Security.kafka_tls.cert_file",
	"infra.Security.kafka_tls.enabled",
	"infra.Security.kafka_tls.insecure_skip_verify",
	"infra.Security.kafka_tls.key_file",
	"infra.Security.kafka_tls.min_version",
	"infra.Security.kafka_tls.server_name",
	"infra.Security.qdrant_api_key_env",
	"infra.Security.qdrant_api_key_file",
	"infra.Security.qdrant_tls.ca_file",
	"infra.Security.qdrant_tls.cert_file",
	"infra.Security.qdrant_tls.enabled",
	"infra.Security.qdrant_tls.insecure_skip_verify",
	"infra.Security.qdrant_tls.key_file",
	"infra.Security.qdrant_tls.min_version",
	"infra.Security.qdrant_tls.server_name",
	"infra.Security.timeout",
	"infra.brokers",
	"infra.containers.kafka_image",
	"infra.containers.limits.kafka.cpus",
	"infra.containers.limits.kafka.memory",
	"infra.containers.limits.pipeline.cpus",
	"infra.containers.limits.pipeline.memory",
	"infra.containers.limits.qdrant.cpus",
	"infra.containers.limits.qdrant.memory",
	"infra.containers.pipeline_image",
	"infra.containers.qdrant_image",
	"infra.kafka_proxy",
	"infra.load_processes",
	"infra.mode",
	"infra.pipeline_process",
	"infra.pipeline_processes",
	"infra.process",
	"infra.qdrant_addr",
	"infra.qdrant_store",
	"kafka.partitions",
	"kafka.producer_linger",
	"kafka.replication_factor",
	"load.from",
	"load.kind",
	"load.over",
	"load.rate",
	"load.spike_at",
	"load.spike_for",
	"load.spike_rate",
	"load.steps[].at",
	"load.steps[].rate",
	"load.to",
	"name",
	"pipeline.batch.interval",
	"pipeline.batch.max_size",
	"pipeline.breaker.cool_down",
	"pipeline.breaker.failure_ratio",
	"pipeline.breaker.failure_threshold",
	"pipeline.breaker.half_open_probes",
	"pipeline.breaker.min_requests",
	"pipeline.breaker.window",
	"pipeline.health_addr",
	"pipeline.kafka.dlq_topic",
	"pipeline.kafka.group",
	"pipeline.kafka.session_timeout",
	"pipeline.kafka.topic",
	"pipeline.log_level",
	"pipeline.profiles.coalesce",
	"pipeline.profiles.half_life",
	"pipeline.qdrant.deleted_threshold",
	"pipeline.qdrant.events_collection",
	"pipeline.qdrant.hnsw.ef_construct",
	"pipeline.qdrant.hnsw.m",
	"pipeline.qdrant.indexing_threshold",
	"pipeline.qdrant.max_segment_size",
	"pipeline.qdrant.on_disk",
	"pipeline.qdrant.on_disk_payload",
	"pipeline.qdrant.payload_pad_bytes",
	"pipeline.qdrant.profiles_collection",
	"pipeline.qdrant.retention",
	"pipeline.qdrant.upsert_batch",
	"pipeline.qdrant.wait",
	"pipeline.retry.attempt_timeout",
	"pipeline.retry.attempts",
	"pipeline.retry.base_delay",
	"pipeline.retry.kafka_policy",
	"pipeline.retry.max_delay",
	"pipeline.retry.policy",
	"pipeline.retry.strategy",
	"pipeline.spool.dir",
	"pipeline.spool.enabled",
	"pipeline.validator.max_bytes",
	"pipeline.validator.max_future",
	"pipeline.validator.max_past",
	"pipeline.workers",
	"repeat",
	"schema_version",
	"seed",
	"sweep.parameter",
	"sweep.values",
	"validity.late_threshold",
	"validity.max_late_fraction",
	"validity.max_send_delay_p99",
	"validity.max_throughput_drift",
	"verify.min_cosine",
	"verify.sample_vectors",
	"warmup",
	"workload.locales",
	"workload.malformed_fraction",
	"workload.products",
	"workload.transitions",
	"workload.typo_rate",
	"workload.users",
}

// A scenarioMigration carries a recorded scenario of one schema version to the next.
type scenarioMigration struct {
	// Version is the layout migrated from; the step leaves Version+1.
	Version int
	// Lacked are the fields that Version did not record (or not always: version 1
	// grew during the day its baselines were recorded), each with the value a run of
	// Version ran with. They are that version's defaults.
	Lacked []lackedField
	// Forward rewrites what Version recorded that the next version reads differently
	// or not at all (a retired field); nil when nothing is.
	Forward func(sc *Scenario, rec recording) error
}

// A lackedField is a field an older layout did not record, and the value a run of
// that layout had.
type lackedField struct {
	// Path is the field's JSON path, or that of an object whose fields all came at
	// once.
	Path string
	// Was is what a run without the field did.
	Was string
	// Set gives the scenario that value.
	Set func(*Scenario)
}

// scenarioMigrations are the steps from every older layout of a recorded scenario to
// ScenarioSchemaVersion, one per version, oldest first. A recording of version v is
// loaded as: the Lacked defaults of the steps from v on (each only where the recording
// has no value), then the recorded JSON over them, then each step's Forward in turn,
// from v to the current layout. A default that later changed keeps, for the older
// version, the value its runs had, not the new default.
//
// Every later change to Scenario's JSON fields (a field added, removed, renamed, or a
// default that a recording relies on changed) must add a step here: the version it
// migrates from becomes the old ScenarioSchemaVersion, which is then incremented,
// and scenarioFields is updated to the new layout. TestScenarioFieldsAreTheCurrentLayout
// fails until scenarioFields matches Scenario, and TestScenarioMigrations has one case
// per version.
var scenarioMigrations = []scenarioMigration{
	{
		// Version 1: the committed 2026-11-26 baselines, which carry no schema_version.
		// They were recorded over a day in which these fields were added; the older ones
		// lack them.
		Version: 1,
		Lacked: []lackedField{
			{Path: "kafka.replication_factor", Was: "1: topics on the embedded single broker, and none created elsewhere",
				Set: func(s *Scenario) { s.Kafka.ReplicationFactor = 1 }},
			{Path: "infra.Security", Was: "no TLS, SASL or API key; external services had the 30 s of the topic set-up to answer, with no earlier check of its own",
				Set: func(s *Scenario) { s.Infra.Security = infra.Security{Timeout: 30 * time.Second} }},
			{Path: "pipeline.retry.policy", Was: "one retry loop of pipeline.retry.attempts tries (see retryV1)",
				Set: func(s *Scenario) { s.Pipeline.Retry.Policy = "DEFAULT" }},
			{Path: "pipeline.retry.kafka_policy", Was: "the dead-letter produce retried as the Qdrant writes; offset commits were tried once",
				Set: func(s *Scenario) { s.Pipeline.Retry.KafkaPolicy = "DEFAULT" }},
			{Path: "pipeline.retry.attempt_timeout", Was: "no bound on one try but the run's own; the longest run's length stands for it",
				Set: func(s *Scenario) { s.Pipeline.Retry.AttemptTimeout = MaxDuration }},
			{Path: "pipeline.breaker", Was: "no circuit breaker: the one given trips only after 2^32-1 consecutive failures",
				Set: func(s *Scenario) { s.Pipeline.Breaker = breakerNeverOpens() }},
			{Path: "pipeline.spool", Was: "no spool",
				Set: func(s *Scenario) { s.Pipeline.Spool.Enabled, s.Pipeline.Spool.Dir = false, "spool" }},
		},
		Forward: retryV1,
	},
	{
		// Version 2: before the Qdrant engine server, every embedded run's Qdrant was
		// the Go stand-in. infra.qdrant_store is omitted when empty, so it is set in
		// Forward, once the recorded mode is known, not as a Lacked default.
		Version: 2,
		Lacked: []lackedField{
			{Path: "pipeline.qdrant.on_disk", Was: "Qdrant's defaults: vectors and HNSW graphs in memory",
				Set: func(s *Scenario) { s.Pipeline.Qdrant.OnDisk = false }},
		},
		Forward: func(sc *Scenario, rec recording) error {
			if !rec.has("infra.qdrant_store") && (sc.Infra.Mode == infra.ModeEmbedded || sc.Infra.Mode == "auto") {
				sc.Infra.QdrantStore = QdrantStoreStandin
			}
			return nil
		},
	},
	{
		// Version 3: qdrant_* faults acted on the Go stand-in's own injection hooks,
		// reached in external mode through infra.qdrant_control (the control URL of
		// `vectorstream infra serve`). From version 4 they act on a fault proxy the
		// harness puts in front of any Qdrant, so the retired qdrant_control has
		// nothing to carry; qdrant_errors' code (new) was UNAVAILABLE, its empty
		// value. infra.kafka_proxy is new and empty for a run without Kafka faults.
		// The capacity knobs pipeline.qdrant.{on_disk_payload, hnsw, indexing_threshold,
		// wait, payload_pad_bytes} and pipeline.profiles.coalesce are new; unset, as in every version 3
		// recording, they are what those runs had: Qdrant's defaults, upserts with
		// wait=true, one profile write per user per batch.
		Version: 3,
	},
	{
		// Version 4: the containers mode ran apache/kafka and qdrant/qdrant with
		// ports mapped on a bridge network, and had no settings of its own. From
		// version 5 infra.containers names the images (the project's own by
		// default) and each container's limits; a version 4 recording has none,
		// and no containers-mode run was ever recorded (it never ran), so empty
		// is what every version 4 run had.
		Version: 4,
	},
	{
		// Version 5: the pipeline kept every event point. From version 6
		// pipeline.qdrant.retention may bound the events collection to a window of
		// event time, and pipeline.qdrant.{max_segment_size, deleted_threshold}
		// shape the optimizer's segments; unset, as in every version 5 recording,
		// they keep every point and Qdrant's defaults.
		Version: 5,
	},
}

// breakerNeverOpens is the breaker of a run that had none: it opens after
// math.MaxUint32 consecutive failures and on no ratio, the closest the configuration
// comes to off; the rest is the default, which such a breaker never reaches.
func breakerNeverOpens() breaker.Config {
	b := breaker.DefaultConfig("")
	b.FailureThreshold, b.FailureRatio, b.MinRequests, b.Window = math.MaxUint32, 0, 0, 0
	return b
}

// retryV1 carries the retry settings of a run from before named policies (a recording
// with pipeline.retry.backoff and no pipeline.retry.policy): every Qdrant write and
// dead-letter produce was tried pipeline.retry.attempts times (default 5), waiting
// pipeline.retry.backoff (default 100 ms) after the first failure and twice as long
// after each next, with no cap and no jitter. That is the EXPONENTIAL strategy from
// backoff, capped where no wait of those attempts reaches, for both policies.
func retryV1(sc *Scenario, rec recording) error {
	if rec.has("pipeline.retry.policy") {
		return nil // recorded with named policies already
	}
	var v1 struct {
		Pipeline struct {
			Retry struct {
				Attempts *int           `json:"attempts"`
				Backoff  *time.Duration `json:"backoff"`
			} `json:"retry"`
		} `json:"pipeline"`
	}
	if err := json.Unmarshal(rec.raw, &v1); err != nil {
		return fmt.Errorf("pipeline.retry: %w", err)
	}
	attempts, backoff := 5, 100*time.Millisecond
	if a := v1.Pipeline.Retry.Attempts; a != nil {
		attempts = *a
	}
	if b := v1.Pipeline.Retry.Backoff; b != nil {
		backoff = *b
	}
	if attempts < 1 {
		return fmt.Errorf("pipeline.retry.attempts: must be >= 1, got %d", attempts)
	}
	if backoff < 0 {
		return fmt.Errorf("pipeline.retry.backoff: must be >= 0, got %v", backoff)
	}
	backoff = max(backoff, time.Nanosecond) // 0 retried at once; a policy waits at least 1 ns
	longest := backoff
	for range attempts - 2 {
		if longest > math.MaxInt64/2 {
			longest = math.MaxInt64
			break
		}
		longest *= 2
	}
	r := &sc.Pipeline.Retry
	r.Strategy, r.Attempts, r.BaseDelay, r.MaxDelay = "EXPONENTIAL", attempts, backoff, longest
	return nil
}

// MarshalJSON encodes the scenario with "schema_version": ScenarioSchemaVersion first:
// a scenario in memory is always in the current layout.
func (s Scenario) MarshalJSON() ([]byte, error) {
	type fields Scenario // the fields without these methods
	return json.Marshal(struct {
		SchemaVersion int `json:"schema_version"`
		fields
	}{ScenarioSchemaVersion, fields(s)})
}

// UnmarshalJSON decodes a recorded scenario of any schema version up to
// ScenarioSchemaVersion and migrates it to the current layout (scenarioMigrations).
// A newer version is refused: this build does not know what its fields mean.
func (s *Scenario) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil // as encoding/json leaves a struct it is given null for
	}
	sc, err := migrateScenario(b)
	if err != nil {
		return err
	}
	*s = sc
	return nil
}

// migrateScenario is a recorded scenario in the current layout: the defaults of its
// version where it has no value, the recording over them, then forward step by step.
func migrateScenario(b []byte) (Scenario, error) {
	type fields Scenario // decoded without UnmarshalJSON
	rec, err := newRecording(b)
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario: %w", err)
	}
	v, err := rec.version()
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario: %w", err)
	}
	var sc Scenario
	steps := scenarioMigrations[v-1:]
	for _, m := range steps {
		for _, f := range m.Lacked {
			if !rec.has(f.Path) {
				f.Set(&sc)
			}
		}
	}
	if err := json.Unmarshal(b, (*fields)(&sc)); err != nil {
		return Scenario{}, fmt.Errorf("scenario (schema_version %d): %w", v, err)
	}
	for _, m := range steps {
		if m.Forward == nil {
			continue
		}
		if err := m.Forward(&sc, rec); err != nil {
			return Scenario{}, fmt.Errorf("scenario: migrate schema_version %d to %d: %w", m.Version, m.Version+1, err)
		}
	}
	sc.SchemaVersion = ScenarioSchemaVersion
	return sc, nil
}

// recording is a recorded scenario as JSON, for asking which fields it holds.
type recording struct {
	raw  []byte
	tree map[string]any
}

func newRecording(b []byte) (recording, error) {
	rec := recording{raw: b}
	if err := json.Unmarshal(b, &rec.tree); err != nil {
		return rec, err
	}
	if rec.tree == nil {
		return rec, errors.New("null, want an object")
	}
	return rec, nil
}

// version is the recording's schema_version: 1 when it has none.
func (r recording) version() (int, error) {
	v, ok := r.tree["schema_version"]
	if !ok {
		return 1, nil
	}
	n, ok := v.(float64)
	if !ok || n != math.Trunc(n) || n < 1 {
		return 0, fmt.Errorf("schema_version: %v, want a whole number of at least 1", v)
	}
	if n > ScenarioSchemaVersion {
		return 0, fmt.Errorf("schema_version %v: this build reads up to %d (recorded by a newer vectorstream?)", n, ScenarioSchemaVersion)
	}
	return int(n), nil
}

// has reports whether the recording holds a value at the dotted JSON path.
func (r recording) has(path string) bool {
	var node any = r.tree
	for part := range strings.SplitSeq(path, ".") {
		m, ok := node.(map[string]any)
		if !ok {
			return false
		}
		if node, ok = m[part]; !ok {
			return false
		}
	}
	return true
}

// jsonFields returns the JSON path of every field encoding/json writes for a value of
// type t (with omitempty values present), sorted; "[]" marks the elements of a list.
// Maps, and types that encode themselves, are single fields.
func jsonFields(t reflect.Type) []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if prefix != "" && encodesItself(t) {
			out = append(out, prefix)
			return
		}
		switch t.Kind() {
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" || (!f.IsExported() && !f.Anonymous) {
					continue
				}
				if f.Anonymous && name == "" {
					walk(f.Type, prefix) // promoted fields
					continue
				}
				if name == "" {
					name = f.Name
				}
				walk(f.Type, join(prefix, name))
			}
		case reflect.Slice, reflect.Array:
			if e := t.Elem(); e.Kind() == reflect.Struct && !encodesItself(e) {
				walk(e, prefix+"[]")
				return
			}
			out = append(out, prefix)
		default:
			out = append(out, prefix)
		}
	}
	walk(t, "")
	slices.Sort(out)
	return slices.Compact(out)
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// encodesItself reports whether encoding/json leaves a value of type t to the type's
// own MarshalJSON or MarshalText.
func encodesItself(t reflect.Type) bool {
	for _, i := range []reflect.Type{reflect.TypeFor[json.Marshaler](), reflect.TypeFor[encoding.TextMarshaler]()} {
		if t.Implements(i) || reflect.PointerTo(t).Implements(i) {
			return true
		}
	}
	return false
}
