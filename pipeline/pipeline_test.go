package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/pipeline"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestDeadLettersCarryReasonAndSource(t *testing.T) {
	t.Parallel()
	r := newRig(t, 600, 0.2)
	cfg := r.config()
	p, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{} // event id → index into r.recs
	for i, rec := range r.recs {
		if rec.Malformed {
			want[rec.EventID] = i
		}
	}
	if len(want) < 60 {
		t.Fatalf("only %d malformed records generated; the test needs a real mix", len(want))
	}
	cl, err := infra.NewKafkaClient(r.env, kgo.ConsumeTopics(cfg.Kafka.DLQTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	got := 0
	reasons := map[event.Reason]int{}
	for got < len(want) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d dead letters", got, len(want))
		}
		fs.EachRecord(func(dl *kgo.Record) {
			got++
			h := map[string]string{}
			for _, kv := range dl.Headers {
				h[kv.Key] = string(kv.Value)
			}
			i, ok := want[h[event.HeaderEventID]]
			if !ok {
				t.Errorf("dead letter for event %q that was not malformed", h[event.HeaderEventID])
				return
			}
			rec, src := r.recs[i], r.pos[i]
			if h[event.HeaderDLQReason] != string(rec.Reason) {
				t.Errorf("event %s (%s): reason %q, want %q", rec.EventID, rec.Kind, h[event.HeaderDLQReason], rec.Reason)
			}
			if h[event.HeaderDLQPartition] != strconv.Itoa(int(src.Partition)) || h[event.HeaderDLQOffset] != strconv.FormatInt(src.Offset, 10) || h[event.HeaderDLQTopic] != r.topic {
				t.Errorf("event %s: source %s/%s/%s, want %s/%d/%d", rec.EventID, h[event.HeaderDLQTopic], h[event.HeaderDLQPartition], h[event.HeaderDLQOffset], r.topic, src.Partition, src.Offset)
			}
			if string(dl.Value) != string(rec.Value) {
				t.Errorf("event %s: dead letter body differs from the original record", rec.EventID)
			}
			reasons[rec.Reason]++
		})
	}
	if len(reasons) < 5 {
		t.Errorf("dead letters cover only %d reasons (%v); want the generator's whole mix", len(reasons), reasons)
	}
	c := p.Stats().Counters()
	if c.DeadLettered != int64(len(want)) || c.Valid != int64(len(r.recs)-len(want)) {
		t.Errorf("counters %+v, want %d dead-lettered and %d valid", c, len(want), len(r.recs)-len(want))
	}
	r.checkExactlyOnce(t, cfg)
}

func TestReplayIsIdempotent(t *testing.T) {
	t.Parallel()
	r := newRig(t, 400, 0.05)
	cfg := r.config()
	if _, err := r.run(t, cfg); err != nil {
		t.Fatal(err)
	}
	before := r.points(t, cfg.Qdrant.ProfilesCollection)
	beforeEvents := len(r.points(t, cfg.Qdrant.EventsCollection))

	// A new group reads the whole topic again: every event is delivered twice.
	cfg.Kafka.Group += "-replay"
	p, err := r.run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := r.valid()
	if c := p.Stats().Counters(); c.ProfileSkips != int64(len(evs)) {
		t.Errorf("replay applied %d events to profiles again; want all %d skipped", int64(len(evs))-c.ProfileSkips, len(evs))
	}
	if n := len(r.points(t, cfg.Qdrant.EventsCollection)); n != beforeEvents {
		t.Errorf("replay changed the event point count from %d to %d", beforeEvents, n)
	}
	after := r.points(t, cfg.Qdrant.ProfilesCollection)
	if len(after) != len(before) {
		t.Fatalf("replay changed the profile count from %d to %d", len(before), len(after))
	}
	for id, b := range before {
		a := after[id]
		if fmt.Sprint(pipeline.VectorOf(a.GetVectors())) != fmt.Sprint(pipeline.VectorOf(b.GetVectors())) ||
			a.GetPayload()["events"].GetIntegerValue() != b.GetPayload()["events"].GetIntegerValue() {
			t.Errorf("profile %s changed on replay", id)
		}
	}
	r.checkExactlyOnce(t, cfg)
}

func TestCrashThenRestartWritesEveryEventOnce(t *testing.T) {
	t.Parallel()
	for _, point := range []string{pipeline.FaultAfterUpsert, pipeline.FaultBeforeCommit, pipeline.FaultAfterCommit} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, 500, 0.02)
			cfg := r.config()
			first, err := r.run(t, cfg, pipeline.WithFault(pipeline.Fault{Point: point, Batch: 3}))
			if !errors.Is(err, pipeline.ErrFault) {
				t.Fatalf("first run: got %v, want the injected fault", err)
			}
			if c := first.Stats().Counters(); c.Commits != 2 {
				t.Fatalf("first run committed %d batches before the fault in batch 3, want 2", c.Commits)
			}
			second, err := r.run(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			c := second.Stats().Counters()
			switch point {
			case pipeline.FaultAfterUpsert:
				// Events were written, profiles were not: the replayed batch updates them once.
				if c.ProfileSkips != 0 {
					t.Errorf("restart skipped %d profile updates; the crashed batch never wrote profiles", c.ProfileSkips)
				}
			case pipeline.FaultBeforeCommit:
				// Profiles were written but not committed: the replay must not apply them twice.
				if c.ProfileSkips == 0 {
					t.Error("restart applied the uncommitted batch to profiles again instead of skipping it")
				}
			}
			r.checkExactlyOnce(t, cfg)
		})
	}
}

func TestStagesAddUpToEndToEnd(t *testing.T) {
	t.Parallel()
	r := newRig(t, 300, 0.05)
	var events []pipeline.EventTimes
	_, err := r.run(t, r.config(), pipeline.WithBatchObserver(func(ts []pipeline.EventTimes) {
		events = append(events, ts...)
	}))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, e := range events {
		if e.DeadLettered {
			continue
		}
		checked++
		d := e.Durations()
		var sum time.Duration
		for _, st := range pipeline.BreakdownStages() {
			if d[st] < 0 {
				t.Errorf("event %s: stage %s is negative (%v)", e.EventID, st, d[st])
			}
			sum += d[st]
		}
		if diff := sum - d[pipeline.StageE2E]; diff > time.Millisecond || diff < -time.Millisecond {
			t.Errorf("event %s: stages add up to %v, e2e is %v", e.EventID, sum, d[pipeline.StageE2E])
		}
		if d[pipeline.StageCommit] < 0 {
			t.Errorf("event %s: committed before Qdrant acknowledged", e.EventID)
		}
	}
	if checked == 0 {
		t.Fatal("no valid events observed")
	}
}

func TestQdrantRefusalAbandonsBatchUncommitted(t *testing.T) {
	t.Parallel()
	r := newRig(t, 200, 0)
	cfg := r.config()
	cfg.Retry.Attempts = 2
	r.env.QdrantServer.SetFault(func(method string) error {
		if method == "/qdrant.Points/Upsert" {
			return status.Error(codes.InvalidArgument, "disk full")
		}
		return nil
	})
	p, err := r.run(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v, want the pipeline to stop on Qdrant's refusal", err)
	}
	// A refusal is not retried, does not open the breaker and is never spooled.
	if c := p.Stats().Counters(); c.Commits != 0 || c.Retries != 0 || c.BreakerOpens != 0 || c.Spooled != 0 {
		t.Errorf("counters %+v: want no retry, no breaker opening, no commit", c)
	}
	// Qdrant is back: a restart writes everything, nothing was lost.
	r.env.QdrantServer.SetFault(nil)
	if _, err := r.run(t, cfg); err != nil {
		t.Fatal(err)
	}
	r.checkExactlyOnce(t, cfg)
}

// TestRebalanceWhenAMemberJoinsAndLeaves runs two pipelines in one consumer group: B
// starts alone, A joins after B's first batch (partitions move to A), and B leaves once
// half the stream is committed (its partitions move back to A, which must reload the
// profiles B wrote). Every event must still be in Qdrant exactly once and every
// profile equal its recomputation.
func TestRebalanceWhenAMemberJoinsAndLeaves(t *testing.T) {
	t.Parallel()
	r := newRig(t, 3000, 0.02)
	cfg := r.config()
	cfg.Batch.MaxSize = 50
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	ctxB, stopB := context.WithCancel(ctx)
	defer stopB()
	var total int64
	for _, end := range r.ends {
		total += end
	}
	var (
		mu        sync.Mutex
		committed int64
		next      = map[int32]int64{}
		aJoin     = make(chan struct{})
		once      sync.Once
	)
	observe := func(member string) func([]pipeline.EventTimes) {
		return func(ts []pipeline.EventTimes) {
			mu.Lock()
			defer mu.Unlock()
			committed += int64(len(ts))
			for _, e := range ts {
				next[e.Partition] = max(next[e.Partition], e.Offset+1)
			}
			if member == "B" {
				once.Do(func() { close(aJoin) })
				if committed >= total/2 {
					stopB() // B leaves the group
				}
			}
			all := true
			for p, end := range r.ends {
				all = all && next[p] >= end
			}
			if all {
				cancel()
			}
		}
	}
	b, err := pipeline.New(cfg, r.deps(), pipeline.WithBatchObserver(observe("B")))
	if err != nil {
		t.Fatal(err)
	}
	a, err := pipeline.New(cfg, r.deps(), pipeline.WithBatchObserver(observe("A")))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var errA, errB error
	wg.Go(func() { errB = b.Run(ctxB) })
	select {
	case <-aJoin:
	case <-ctx.Done():
		t.Fatal("B committed nothing")
	}
	wg.Go(func() { errA = a.Run(ctx) })
	wg.Wait()
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("the group did not reach the end of the topic: A %+v B %+v", a.Stats().Counters(), b.Stats().Counters())
	}
	if errA != nil || errB != nil {
		t.Fatalf("A: %v, B: %v", errA, errB)
	}
	ca, cb := a.Stats().Counters(), b.Stats().Counters()
	if ca.Commits == 0 || cb.Commits == 0 {
		t.Fatalf("both members must have worked: A %d batches, B %d", ca.Commits, cb.Commits)
	}
	t.Logf("A consumed %d records in %d batches, B %d in %d", ca.Consumed, ca.Commits, cb.Consumed, cb.Commits)
	r.checkExactlyOnce(t, cfg)
}
