package harness

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/pipeline"
	"github.com/vectorstream/vectorstream/workloads"
)

// smallScenario is a few seconds of load. Its validity limits are loose: these tests
// check what a run does and verifies, on a machine also running other tests under the
// race detector, not how fast it is.
func smallScenario() *Scenario {
	sc := DefaultScenario()
	sc.Name = "test"
	sc.Warmup, sc.Duration = time.Second, 3*time.Second
	// A step profile at one rate: the same load, but not a constant one, so these
	// tests do not judge throughput drift, which in a 3 s run hangs on how many
	// batches a busy machine commits per second (judge's own tests cover it on
	// synthetic results; the scenarios CI runs judge it for real).
	sc.Load = workloads.Profile{Kind: workloads.ProfileStep, Rate: 400, Steps: []workloads.Step{{At: workloads.Duration(2 * time.Second), Rate: 400}}}
	sc.Workload.Products, sc.Workload.Users = 400, 100
	sc.Workload.MalformedFraction = 0.05
	sc.Embedding.Dim = 32
	sc.Pipeline.Batch.Interval = 100 * time.Millisecond
	sc.Pipeline.HealthAddr = ""
	sc.Validity.MaxSendDelayP99 = 2 * time.Second
	sc.Validity.LateThreshold = 2 * time.Second
	sc.Validity.MaxThroughputDrift = 10
	sc.Gates = Gates{MinAchievedRatio: 0.5, MaxE2EP99: 30 * time.Second}
	return &sc
}

func TestEmbeddedRunPassesAndVerifies(t *testing.T) {
	t.Parallel()
	sc := smallScenario()
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := Run(t.Context(), sc, Options{RunID: "t1"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	v := res.Verification
	if !v.Passed || v.Lost != 0 || v.Unexpected != 0 || v.DLQMissing != 0 || v.ProfilesBad != 0 || v.VectorsChecked == 0 {
		t.Fatalf("verification %+v", v)
	}
	c := res.Counts
	if c.Offered != 1600 || c.Produced != c.Offered || c.Valid+c.Malformed != c.Produced || c.Written != c.Valid || c.DeadLettered != c.Malformed {
		t.Errorf("counts %+v do not add up", c)
	}
	if c.Malformed == 0 {
		t.Error("no malformed events: the DLQ path was not exercised")
	}
	// One second of warm-up at 400/s: of what was written and dead-lettered, exactly
	// the warm-up's 400 events are not in the latency histograms.
	if w := c.Warmup; w.Offered != 400 || w.Produced != 400 || w.Written+w.DeadLettered != 400 {
		t.Errorf("warm-up counts %+v, want 400 offered, produced and finished (counts %+v)", w, c)
	}
	if !res.Environment.StandIns.Kafka || res.Environment.Kafka == "" || len(res.Notes) == 0 {
		t.Errorf("embedded stand-ins not labelled: %+v %v", res.Environment, res.Notes)
	}
	if e2e := res.Latency["e2e"]; e2e.Count == 0 || e2e.P50 <= 0 || e2e.Max < e2e.P99 {
		t.Errorf("e2e latency %+v", e2e)
	}
	if len(res.Timeline) < 4 {
		t.Errorf("timeline has %d rows for a 4 s run", len(res.Timeline))
	}

	// The run folder reads back.
	dir := filepath.Join(t.TempDir(), "run")
	if err := res.WriteRunDir(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Counts != res.Counts || len(back.Timeline) != len(res.Timeline) || back.Histograms["e2e"] != res.Histograms["e2e"] {
		t.Error("result.json / timeline.csv do not round-trip")
	}
}

func TestDroppedWritesMakeTheRunInvalid(t *testing.T) {
	t.Parallel()
	sc := smallScenario()
	sc.Workload.MalformedFraction = 0
	res, err := Run(t.Context(), sc, Options{
		RunID: "t2",
		BeforeVerify: func(ctx context.Context, env *infra.Env, qc *qdrant.Client) error {
			// Lose a "batch": delete ten stored event points behind the pipeline's back,
			// and store one that no event produced.
			coll := sc.Pipeline.Qdrant.EventsCollection
			pts, err := qc.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: coll, Limit: qdrant.PtrOf(uint32(10)), WithVectors: qdrant.NewWithVectors(true)})
			if err != nil {
				return err
			}
			ids := make([]*qdrant.PointId, len(pts))
			for i, p := range pts {
				ids[i] = p.GetId()
			}
			_, err = qc.Delete(ctx, &qdrant.DeletePoints{CollectionName: coll, Wait: qdrant.PtrOf(true), Points: qdrant.NewPointsSelector(ids...)})
			if err != nil {
				return err
			}
			_, err = qc.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: coll, Wait: qdrant.PtrOf(true), Points: []*qdrant.PointStruct{{
				Id: qdrant.NewIDUUID("00000000-0000-4000-8000-000000000001"), Vectors: qdrant.NewVectorsDense(pipeline.VectorOf(pts[0].GetVectors())),
			}}})
			return err
		},
	})
	if !errors.Is(err, exitcode.ErrInvalid) {
		t.Fatalf("got %v, want an invalid run", err)
	}
	if res == nil || res.Verification.Passed || res.Verification.Lost != 10 || res.Verification.Unexpected != 1 || res.Validity.Valid || res.Passed {
		t.Fatalf("verification %+v validity %+v", res.Verification, res.Validity)
	}
}

func TestGateFailureIsReported(t *testing.T) {
	t.Parallel()
	sc := smallScenario()
	sc.Gates.MaxE2EP99 = time.Microsecond // no pipeline acknowledges in a microsecond
	res, err := Run(t.Context(), sc, Options{RunID: "t3"})
	if !errors.Is(err, exitcode.ErrGate) {
		t.Fatalf("got %v, want a failed gate", err)
	}
	if !res.Validity.Valid || res.Passed {
		t.Errorf("validity %+v passed %v: a gate failure is a valid, failed run", res.Validity, res.Passed)
	}
}

func TestCommitRateMeasuresBetweenCommits(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	// A 10 s trigger at 1000 events/s: a staircase.
	var cs []pipeline.Commit
	for k := 1; k <= 9; k++ {
		cs = append(cs, pipeline.Commit{At: t0.Add(time.Duration(k)*10*time.Second + 300*time.Millisecond), Cumulative: int64(k) * 10000})
	}
	for _, w := range []struct{ from, to time.Duration }{{0, 90 * time.Second}, {5 * time.Second, 60 * time.Second}, {25 * time.Second, 55 * time.Second}} {
		if got := commitRate(cs, t0.Add(w.from), t0.Add(w.to)); got != 1000 {
			t.Errorf("window %v–%v: %v events/s, want 1000", w.from, w.to, got)
		}
	}
	if got := commitRate(cs, t0, t0.Add(15*time.Second)); got != 0 {
		t.Errorf("one commit in the window: got %v, want 0 (unknown)", got)
	}
}

func TestReadRunDirNamesWhatIsWrong(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(dir, "result.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "timeline.csv"), []byte(strings.Join(TimelineHeader, ",")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"schema_version": 1, "run_id": "x", "scenario": {"na`, "truncated"},
		{`{"schema_version": 1, "run_id": }`, "damaged at byte"},
		{`{"schema_version": 7}`, "schema_version 7"},
		{`{"schema_version": 1, "run_id": "x", "latency": {}}`, "missing scenario.name"},
		{`{"schema_version": 1, "run_id": "x", "latency": {}}`, "histograms.e2e"},
	} {
		write(tc.body)
		_, err := ReadRunDir(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Join(dir, "result.json")) {
			t.Errorf("%s: got %v, want an error naming the file and %q", tc.body, err, tc.want)
		}
	}
}

func TestExternalRunsAreScopedAndCheckTopics(t *testing.T) {
	t.Parallel()
	env, err := infra.StartEmbedded(t.Context(), infra.EmbeddedConfig{Partitions: 1, Topics: []string{"pinned"}})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	sc := smallScenario()
	sc.Duration = 2 * time.Second
	sc.Infra = InfraConfig{Mode: "external", Brokers: env.KafkaBrokers, QdrantAddr: env.QdrantAddr()}
	res, err := Run(t.Context(), sc, Options{RunID: "ext1"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := res.Scenario.Pipeline.Kafka.Topic; got != "raw_data-ext1" {
		t.Errorf("topic %q, want the run-scoped raw_data-ext1", got)
	}
	if got := res.Scenario.Pipeline.Qdrant.EventsCollection; got != "ecommerce_events_ext1" {
		t.Errorf("collection %q, want ecommerce_events_ext1", got)
	}
	if !strings.Contains(res.Environment.Qdrant, "stand-in") || res.Environment.StandIns.Any() {
		t.Errorf("environment %+v: the Qdrant stand-in must be named as such", res.Environment)
	}

	// A pinned topic with another partition count is refused before any load.
	sc.Pipeline.Kafka.Topic, sc.Pipeline.Kafka.DLQTopic = "pinned", "pinned.dlq"
	_, err = Run(t.Context(), sc, Options{RunID: "ext2"})
	if !errors.Is(err, exitcode.ErrConfig) || !strings.Contains(err.Error(), "pinned exists with 1 partitions") {
		t.Errorf("got %v, want the partition mismatch reported", err)
	}
	// --recreate drops it and runs on fresh topics of the same names.
	res, err = Run(t.Context(), sc, Options{RunID: "ext3", Recreate: true})
	if err != nil {
		t.Fatalf("recreate: %v", err)
	}
	if res.Scenario.Pipeline.Kafka.Topic != "pinned" || !res.Verification.Passed {
		t.Errorf("recreate: topic %s, verification %+v", res.Scenario.Pipeline.Kafka.Topic, res.Verification)
	}
	// The pinned topic now holds that run's records: a new run must not verify them as its own.
	_, err = Run(t.Context(), sc, Options{RunID: "ext4"})
	if !errors.Is(err, exitcode.ErrConfig) || !strings.Contains(err.Error(), "pinned already holds") {
		t.Errorf("got %v, want the non-empty topic refused", err)
	}
}

// TestRetentionRunVerifiesTheWindow runs a scenario whose pipeline keeps 1 s of
// event time out of a 4 s stream: the verification expects exactly the points
// from the newest valid event's time minus 1 s on, counts the others as expired
// (not lost), and still checks every profile.
func TestRetentionRunVerifiesTheWindow(t *testing.T) {
	t.Parallel()
	sc := smallScenario()
	sc.Pipeline.Qdrant.Retention = time.Second
	res, err := Run(t.Context(), sc, Options{RunID: "retention"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	v, c := res.Verification, res.Counts
	if !v.Passed || v.Lost != 0 || v.Unexpected != 0 || v.ProfilesBad != 0 {
		t.Fatalf("verification %+v", v)
	}
	if v.Expired == 0 || v.ExpectedPoints == 0 || v.ExpectedPoints+v.Expired != c.Valid || v.StoredPoints != v.ExpectedPoints {
		t.Errorf("expired %d, expected %d, stored %d of %d valid: want the window to cut the stream", v.Expired, v.ExpectedPoints, v.StoredPoints, c.Valid)
	}
	if v.RetentionCutoff == nil || res.Pipeline.Counters.ExpireSweeps == 0 {
		t.Errorf("cutoff %v after %d sweeps: want the last sweep's", v.RetentionCutoff, res.Pipeline.Counters.ExpireSweeps)
	}
	if v.ExpectedProfiles != v.StoredProfiles || v.ExpectedProfiles == 0 {
		t.Errorf("profiles %d stored of %d: the retention keeps profiles", v.StoredProfiles, v.ExpectedProfiles)
	}
}
