package pipeline_test

import (
	"slices"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/pipeline"
	"github.com/vectorstream/vectorstream/workloads"
)

// TestDLQReplayThenProfilesExact: events dead-lettered as stale (timestamp a year
// old) are re-injected by a DLQ replay with a validator that accepts them, and a
// pipeline with that validator writes them: every event point is then there exactly
// once, and every profile equals its recomputation from the stream plus the
// re-injected events, in topic order.
func TestDLQReplayThenProfilesExact(t *testing.T) {
	t.Parallel()
	r := newRigWith(t, 500, workloads.GeneratorConfig{Seed: 4, Products: 300, Users: 40, MalformedFraction: 0.05,
		MalformedKinds: []workloads.MalformedKind{workloads.MalTimestampPast}})
	cfg := r.config()
	if _, err := r.run(t, cfg); err != nil {
		t.Fatal(err)
	}
	var stale int
	for _, rec := range r.recs {
		if rec.Malformed {
			stale++
		}
	}
	if stale == 0 {
		t.Fatal("the stream has no stale events")
	}

	// The fixed validator accepts events up to two years old.
	fixed := cfg
	fixed.Validator.MaxPast = 2 * 365 * 24 * time.Hour
	kopts := []kgo.Opt{kgo.SeedBrokers(r.env.KafkaBrokers...)}
	rep, err := pipeline.ReplayDLQ(t.Context(), kopts, pipeline.ReplayOptions{DLQTopic: cfg.Kafka.DLQTopic, Validator: fixed.Validator})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reinjected != int64(stale) || rep.StillInvalid != 0 {
		t.Fatalf("replay %+v: want %d re-injected, none still invalid", rep, stale)
	}

	// Where the re-injected records landed, and what they decode to.
	r.collectReinjected(t, fixed)
	if len(r.extra) != stale {
		t.Fatalf("%d re-injected records in the raw topic, want %d", len(r.extra), stale)
	}
	if _, err := r.run(t, fixed); err != nil {
		t.Fatal(err)
	}
	r.checkExactlyOnce(t, fixed)
}

// collectReinjected reads the raw topic past the stream's end and records the events
// there (as the validator of cfg decodes them) with their positions.
func (r *rig) collectReinjected(t *testing.T, cfg pipeline.Config) {
	t.Helper()
	ends := r.endOffsets(t)
	offsets := map[string]map[int32]kgo.Offset{r.topic: {}}
	for p := range ends {
		offsets[r.topic][p] = kgo.NewOffset().At(r.ends[p]) // 0 for a partition the stream left empty
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.env.KafkaBrokers...), kgo.ConsumePartitions(offsets))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	v := event.NewValidator(cfg.Validator)
	var got []kgo.Record
	remaining := func() bool {
		for p, end := range ends {
			if r.ends[p] < end {
				return true
			}
		}
		return false
	}
	for remaining() {
		fs := cl.PollFetches(t.Context())
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(rec *kgo.Record) {
			got = append(got, *rec)
			r.ends[rec.Partition] = max(r.ends[rec.Partition], rec.Offset+1)
		})
	}
	// Topic order per partition is what the pipeline applies; across partitions the
	// users differ, so any interleaving recomputes the same profiles.
	slices.SortFunc(got, func(a, b kgo.Record) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.Offset - b.Offset)
	})
	for _, rec := range got {
		ev, rej := v.Validate(rec.Value, time.Now())
		if rej != nil {
			t.Fatalf("re-injected record %d/%d does not validate: %s", rec.Partition, rec.Offset, rej.Reason)
		}
		r.extra = append(r.extra, ev)
		r.extraPos = append(r.extraPos, rec)
	}
}

// endOffsets returns the raw topic's end offset by partition now.
func (r *rig) endOffsets(t *testing.T) map[int32]int64 {
	t.Helper()
	cl, err := infra.NewKafkaClient(r.env)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(t.Context(), r.topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}
