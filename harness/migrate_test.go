package harness

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/pipeline/retry"
)

// The recorded layout is what Scenario encodes: a field added, removed or renamed
// without a migration step and an updated scenarioFields fails here.
func TestScenarioFieldsAreTheCurrentLayout(t *testing.T) {
	t.Parallel()
	got := jsonFields(reflect.TypeFor[Scenario]())
	var added, gone []string
	for _, p := range got {
		if !slices.Contains(scenarioFields, p) {
			added = append(added, p)
		}
	}
	for _, p := range scenarioFields {
		if !slices.Contains(got, p) {
			gone = append(gone, p)
		}
	}
	if len(added)+len(gone) > 0 {
		t.Errorf("Scenario's JSON fields are not scenarioFields (schema_version %d): new %q, gone %q.\n"+
			"Add a step for version %d to scenarioMigrations (the lacked fields with the values the runs of that version had), "+
			"increment ScenarioSchemaVersion, and set scenarioFields to the new layout.",
			ScenarioSchemaVersion, added, gone, ScenarioSchemaVersion)
	}
}

func TestScenarioMigrationTableIsComplete(t *testing.T) {
	t.Parallel()
	if len(scenarioMigrations) != ScenarioSchemaVersion-1 {
		t.Fatalf("%d migration steps for schema_version %d: want one per older version", len(scenarioMigrations), ScenarioSchemaVersion)
	}
	for i, m := range scenarioMigrations {
		if m.Version != i+1 {
			t.Errorf("step %d migrates version %d, want %d (oldest first, none skipped)", i, m.Version, i+1)
		}
		for _, f := range m.Lacked {
			known := slices.ContainsFunc(scenarioFields, func(p string) bool { return p == f.Path || strings.HasPrefix(p, f.Path+".") })
			if !known || f.Set == nil || f.Was == "" {
				t.Errorf("version %d lacked %q: want a field of the current layout, what its runs did, and its value", m.Version, f.Path)
			}
		}
	}
}

// recordedV1 is the default scenario as version 1 recorded it (the oldest committed
// baselines, e.g. results/seed-baseline/baseline-20261126): no schema_version, no
// replication factor, security, breaker, spool or retry policies; retry as attempts
// and backoff.
func recordedV1(t *testing.T, edit func(tree map[string]any)) []byte {
	t.Helper()
	b, err := json.Marshal(DefaultScenario())
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(b, &tree); err != nil {
		t.Fatal(err)
	}
	delete(tree, "schema_version")
	delete(tree["kafka"].(map[string]any), "replication_factor")
	delete(tree["infra"].(map[string]any), "Security")
	p := tree["pipeline"].(map[string]any)
	delete(p, "breaker")
	delete(p, "spool")
	p["retry"] = map[string]any{"attempts": 5, "backoff": int64(100 * time.Millisecond)}
	tree["name"] = "seed-baseline"
	if edit != nil {
		edit(tree)
	}
	if b, err = json.Marshal(tree); err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeScenario(t *testing.T, b []byte) Scenario {
	t.Helper()
	var sc Scenario
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	if sc.SchemaVersion != ScenarioSchemaVersion {
		t.Errorf("schema_version %d after migration, want %d", sc.SchemaVersion, ScenarioSchemaVersion)
	}
	if err := sc.Validate(); err != nil {
		t.Errorf("the migrated scenario is invalid: %v", err)
	}
	return sc
}

// One case per schema version: a recording of it, migrated, holds what its run ran with.
func TestScenarioMigrations(t *testing.T) {
	t.Parallel()
	t.Run("v1 before named retry policies", func(t *testing.T) {
		t.Parallel()
		sc := decodeScenario(t, recordedV1(t, func(tree map[string]any) {
			tree["seed"] = 7
			tree["pipeline"].(map[string]any)["retry"] = map[string]any{"attempts": 4, "backoff": int64(50 * time.Millisecond)}
		}))
		if sc.Seed != 7 || sc.Name != "seed-baseline" {
			t.Errorf("recorded values lost: seed %d, name %q", sc.Seed, sc.Name)
		}
		if sc.Kafka.ReplicationFactor != 1 {
			t.Errorf("replication_factor %d, want 1", sc.Kafka.ReplicationFactor)
		}
		r := sc.Pipeline.Retry
		if r.Policy != "DEFAULT" || r.KafkaPolicy != "DEFAULT" || r.Strategy != "EXPONENTIAL" || r.Attempts != 4 ||
			r.BaseDelay != 50*time.Millisecond || r.MaxDelay != 200*time.Millisecond || r.AttemptTimeout != MaxDuration {
			t.Errorf("retry %+v: want 4 tries waiting 50, 100, 200 ms uncapped and no per-try bound, for both policies", r)
		}
		qp, kp, err := r.Policies()
		if err != nil {
			t.Fatal(err)
		}
		for name, pol := range map[string]retry.Policy{"qdrant": qp, "kafka": kp} {
			for i := 1; i < pol.Attempts; i++ {
				if got, want := pol.Delay(i, nil), 50*time.Millisecond<<(i-1); got != want {
					t.Errorf("%s policy: wait after try %d is %v, want %v (backoff doubled)", name, i, got, want)
				}
			}
		}
		if b := sc.Pipeline.Breaker; b.FailureThreshold != math.MaxUint32 || b.FailureRatio != 0 {
			t.Errorf("breaker %+v: the run had none, want one that never trips", b)
		}
		if sc.Pipeline.Spool.Enabled {
			t.Error("spool enabled: the run had none")
		}
		if sc.Infra.Security != (infra.Security{Timeout: 30 * time.Second}) {
			t.Errorf("security %+v: want none, 30 s to answer", sc.Infra.Security)
		}
	})
	t.Run("v1 with the defaults of attempts and backoff", func(t *testing.T) {
		t.Parallel()
		sc := decodeScenario(t, recordedV1(t, func(tree map[string]any) {
			tree["pipeline"].(map[string]any)["retry"] = map[string]any{}
		}))
		if r := sc.Pipeline.Retry; r.Attempts != 5 || r.BaseDelay != 100*time.Millisecond || r.MaxDelay != 800*time.Millisecond {
			t.Errorf("retry %+v: want v1's default 5 tries from 100 ms", r)
		}
	})
	t.Run("v1 recorded with breaker, spool and policies", func(t *testing.T) {
		t.Parallel()
		// The later 2026-11-26 baselines (faults-*): the fields are there and win.
		sc := decodeScenario(t, recordedV1(t, func(tree map[string]any) {
			k := tree["kafka"].(map[string]any)
			k["replication_factor"] = 3
			tree["infra"].(map[string]any)["Security"] = map[string]any{"kafka_tls": map[string]any{"enabled": false}}
			p := tree["pipeline"].(map[string]any)
			p["retry"] = map[string]any{"policy": "AGGRESSIVE", "kafka_policy": "NETWORK", "attempt_timeout": int64(2 * time.Second)}
			p["breaker"] = map[string]any{"failure_threshold": 3, "failure_ratio": 0, "min_requests": 0, "window": 0, "cool_down": int64(time.Second), "half_open_probes": 2}
			p["spool"] = map[string]any{"enabled": true, "dir": "/tmp/s"}
		}))
		if sc.Kafka.ReplicationFactor != 3 {
			t.Errorf("replication_factor %d, want the recorded 3", sc.Kafka.ReplicationFactor)
		}
		if r := sc.Pipeline.Retry; r.Policy != "AGGRESSIVE" || r.KafkaPolicy != "NETWORK" || r.AttemptTimeout != 2*time.Second || r.Strategy != "" || r.Attempts != 0 || r.BaseDelay != 0 {
			t.Errorf("retry %+v: want the recorded policies, no overrides", r)
		}
		if b := sc.Pipeline.Breaker; b.FailureThreshold != 3 || b.HalfOpenProbes != 2 || b.CoolDown != time.Second {
			t.Errorf("breaker %+v: want the recorded one", b)
		}
		if s := sc.Pipeline.Spool; !s.Enabled || s.Dir != "/tmp/s" {
			t.Errorf("spool %+v: want the recorded one", s)
		}
		if sc.Infra.Security.Timeout != 0 {
			t.Errorf("security timeout %v: recorded with security, 0 is the default it ran with", sc.Infra.Security.Timeout)
		}
	})
	t.Run("v2 before the engine server", func(t *testing.T) {
		t.Parallel()
		for mode, want := range map[string]string{"embedded": QdrantStoreStandin, "auto": QdrantStoreStandin, "external": ""} {
			tree := map[string]any{"schema_version": 2, "name": "v2", "infra": map[string]any{"mode": mode}}
			b, err := json.Marshal(tree)
			if err != nil {
				t.Fatal(err)
			}
			var sc Scenario
			if err := json.Unmarshal(b, &sc); err != nil {
				t.Fatal(err)
			}
			if sc.Infra.QdrantStore != want {
				t.Errorf("mode %s recorded by v2: qdrant_store %q, want %q (v2's embedded Qdrant was the stand-in)", mode, sc.Infra.QdrantStore, want)
			}
		}
	})
	t.Run("v3 with qdrant_control", func(t *testing.T) {
		t.Parallel()
		tree := map[string]any{"schema_version": 3, "name": "v3", "infra": map[string]any{"mode": "external", "qdrant_control": "http://127.0.0.1:1"},
			"faults": []any{map[string]any{"kind": "qdrant_errors", "at": int64(time.Second), "duration": int64(time.Second), "ratio": 0.5}}}
		b, err := json.Marshal(tree)
		if err != nil {
			t.Fatal(err)
		}
		var sc Scenario
		if err := json.Unmarshal(b, &sc); err != nil {
			t.Fatal(err)
		}
		if sc.SchemaVersion != ScenarioSchemaVersion || len(sc.Faults) != 1 || sc.Faults[0].Code != "" || sc.Infra.KafkaProxy != "" {
			t.Errorf("v3 recording migrated to %+v", sc)
		}
		if c, err := statusCode(sc.Faults[0].Code); err != nil || c != codes.Unavailable {
			t.Errorf("v3 qdrant_errors answers %v, %v; want UNAVAILABLE, as v3's did", c, err)
		}
	})
	t.Run("v6, the current layout", func(t *testing.T) {
		t.Parallel()
		want := DefaultScenario()
		want.Name, want.Seed = "now", 9
		want.Load.Rate = 0
		want.Load.Kind, want.Load.From, want.Load.To, want.Load.Over = "ramp", 10, 20, 0 // rate omitted, as recorded
		want.Pipeline.Retry.Strategy = "LINEAR"
		want.Infra.Security.Timeout = 0
		want.SchemaVersion = 0 // a scenario built in code: still recorded as the current version
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), `{"schema_version":6,`) {
			t.Errorf("recorded as %.40s…, want schema_version first", b)
		}
		var got Scenario
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		want.SchemaVersion = ScenarioSchemaVersion
		want.Embedding.Seed = 0 // not recorded: the fit takes the scenario's seed (EmbeddingConfig.Fit)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("the current layout does not read back as written:\n got %+v\nwant %+v", got, want)
		}
	})
}

func TestScenarioSchemaVersionRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, want string }{
		{`{"schema_version": 7, "name": "x"}`, "this build reads up to 6"},
		{`{"schema_version": 0}`, "want a whole number of at least 1"},
		{`{"schema_version": "2"}`, "want a whole number"},
		{`{"schema_version": 1.5}`, "want a whole number"},
		{`{"pipeline": {"retry": {"backoff": "soon"}}}`, "pipeline.retry"},
		{`{"pipeline": {"retry": {"attempts": 0, "backoff": 1}}}`, "pipeline.retry.attempts"},
	} {
		var sc Scenario
		if err := json.Unmarshal([]byte(tc.body), &sc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.body, err, tc.want)
		}
	}
}
