package pipeline

import (
	"context"
	"errors"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/workloads"
)

// The exactly-once logic against the in-memory Store, DeadLetters and Committer, with
// no Kafka at all: a memLog is the raw topic, and the pipeline's real loop reads it
// from the committed offsets on, as a consumer group member would after a restart.
//
// Each test is written to fail against a deliberately broken pipeline; the closing
// note of the redesign says how that was shown (commit before write, the offset skip
// in Profile.Apply removed, the spool replayed after newer batches).

const memTopic = "raw"

// memLog is a raw topic of three partitions in memory.
type memLog struct {
	recs    []*kgo.Record // in produce order; offsets count per partition
	valid   map[string]event.Event
	invalid int
}

func newMemLog(t *testing.T, n int, malformed float64) *memLog {
	t.Helper()
	gen, err := workloads.NewGenerator(workloads.GeneratorConfig{Seed: 7, Products: 200, Users: 25, MalformedFraction: malformed})
	if err != nil {
		t.Fatal(err)
	}
	l := &memLog{valid: map[string]event.Event{}}
	next := map[int32]int64{}
	base := time.Now().Add(-time.Minute)
	for i := range n {
		intended := base.Add(time.Duration(i) * time.Millisecond)
		rec := gen.Next(intended)
		h := fnv.New32a()
		h.Write(rec.Key)
		part := int32(h.Sum32() % 3)
		l.recs = append(l.recs, &kgo.Record{Topic: memTopic, Partition: part, Offset: next[part], Key: rec.Key, Value: rec.Value,
			Headers: []kgo.RecordHeader{
				{Key: event.HeaderEventID, Value: []byte(rec.EventID)},
				{Key: event.HeaderIntended, Value: strconv.AppendInt(nil, intended.UnixNano(), 10)},
				{Key: event.HeaderSent, Value: strconv.AppendInt(nil, intended.UnixNano(), 10)},
			}})
		next[part]++
		if rec.Malformed {
			l.invalid++
		} else {
			l.valid[rec.EventID] = rec.Event
		}
	}
	return l
}

// memSource hands out the records a consumer resuming from the committed offsets reads,
// max at a time; once they are all out it calls done and then only waits.
type memSource struct {
	recs []*kgo.Record
	done func()
	once sync.Once
}

func (s *memSource) Poll(ctx context.Context, max int) ([]*kgo.Record, error) {
	if len(s.recs) == 0 {
		s.once.Do(s.done)
		<-ctx.Done()
		return nil, nil
	}
	n := min(max, len(s.recs))
	out := s.recs[:n:n]
	s.recs = s.recs[n:]
	return out, nil
}

func (s *memSource) AllowRebalance() {}

// hashEmbedder is a deterministic stand-in for the model: a unit vector drawn from the
// text's hash, so equal texts embed equally and different ones differently.
type hashEmbedder struct{ dim int }

func (e hashEmbedder) Encode(docs []embed.Doc, out []float32) error {
	for i, d := range docs {
		h := fnv.New64a()
		h.Write([]byte(d.Text))
		x := h.Sum64() | 1
		var n float64
		row := out[i*e.dim : (i+1)*e.dim]
		for j := range row {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			row[j] = float32(int64(x%2001)-1000) / 1000
			n += float64(row[j]) * float64(row[j])
		}
		for j := range row {
			row[j] /= float32(math.Sqrt(n))
		}
	}
	return nil
}

const memDim = 8

// memWorld is what outlives a pipeline process: the topic, the committed offsets, the
// dead letters and the Store.
type memWorld struct {
	log     *memLog
	store   *MemoryStore
	dead    *MemoryDeadLetters
	commits *MemoryCommitter
}

func newMemWorld(t *testing.T, n int, malformed float64) *memWorld {
	return &memWorld{log: newMemLog(t, n, malformed), store: NewMemoryStore(), dead: &MemoryDeadLetters{}, commits: &MemoryCommitter{}}
}

func memConfig() Config {
	cfg := DefaultConfig()
	cfg.Kafka.Topic, cfg.Kafka.DLQTopic = memTopic, memTopic+".dlq"
	cfg.Batch.Interval, cfg.Batch.MaxSize = time.Hour, 50 // batches cut by size only
	cfg.Qdrant.UpsertBatch = 20
	cfg.HealthAddr = ""
	cfg.Retry.BaseDelay, cfg.Retry.MaxDelay = time.Millisecond, 2*time.Millisecond
	cfg.Breaker.CoolDown = 20 * time.Millisecond
	return cfg
}

// run starts a pipeline process over w: it resumes from the committed offsets and runs
// until every record was handed out and the batch in hand is finished, or until it
// returns on its own (an injected fault). It returns Run's error and the pipeline.
func (w *memWorld) run(t *testing.T, cfg Config, opts ...Opt) (*Pipeline, error) {
	t.Helper()
	p, err := New(cfg, Deps{Store: w.store, Dim: memDim,
		NewEmbedder: func(func(error)) (Embedder, error) { return hashEmbedder{memDim}, nil }}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	stop, cancelStop := context.WithCancel(ctx)
	defer cancelStop()
	p.src = &memSource{recs: w.commits.Redeliver(w.log.recs), done: cancelStop}
	p.dead, p.commits = w.dead, w.commits
	if err := p.openSpool(cfg); err != nil {
		t.Fatal(err)
	}
	defer p.closeSpool()
	if err := p.startUp(stop); err != nil {
		t.Fatal(err)
	}
	err = p.loop(stop)
	if ctx.Err() != nil {
		t.Fatalf("pipeline did not finish in time: %+v", p.Stats().Counters())
	}
	if isStopped(err) {
		err = nil
	}
	return p, err
}

// expectedProfiles folds every valid event into its user's profile in partition order,
// once: what an exactly-once pipeline leaves behind.
func (w *memWorld) expectedProfiles(halfLife time.Duration) map[string]*Profile {
	out := map[string]*Profile{}
	vec := make([]float32, memDim)
	for _, r := range w.log.recs {
		id := headerString(r, event.HeaderEventID)
		ev, ok := w.log.valid[id]
		if !ok {
			continue
		}
		_ = hashEmbedder{memDim}.Encode([]embed.Doc{{Text: ev.EmbedText(), Lang: ev.Locale}}, vec)
		pr := out[ev.UserID]
		if pr == nil {
			pr = NewProfile(ev.UserID, memDim)
			out[ev.UserID] = pr
		}
		pr.Apply(vec, &ev, Position{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}, halfLife)
	}
	return out
}

// checkExactlyOnce asserts that the Store holds one point per valid event, at its
// position, the dead letters one record per malformed one, every offset is committed,
// and every profile equals the exactly-once recomputation, bit for bit.
func (w *memWorld) checkExactlyOnce(t *testing.T, cfg Config) {
	t.Helper()
	pts := w.store.Events()
	if got, want := slices.Sorted(maps.Keys(pts)), slices.Sorted(maps.Keys(w.log.valid)); !slices.Equal(got, want) {
		t.Errorf("store holds %d event points, want the %d valid events", len(got), len(want))
	}
	for _, r := range w.log.recs {
		if pt, ok := pts[headerString(r, event.HeaderEventID)]; ok && (pt.At.Partition != r.Partition || pt.At.Offset != r.Offset) {
			t.Errorf("event point %s at %d/%d, consumed at %d/%d", pt.Event.EventID, pt.At.Partition, pt.At.Offset, r.Partition, r.Offset)
		}
	}
	dead := map[string]bool{}
	for _, r := range w.dead.Sent() {
		dead[headerString(r, event.HeaderEventID)] = true
	}
	if len(dead) != w.log.invalid {
		t.Errorf("%d distinct dead letters, want %d", len(dead), w.log.invalid)
	}
	if rest := w.commits.Redeliver(w.log.recs); len(rest) > 0 {
		t.Errorf("%d records left uncommitted", len(rest))
	}
	got, want := w.store.Profiles(), w.expectedProfiles(cfg.Profiles.HalfLife)
	if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
		t.Fatalf("profiles of users %v, want %v", g, w)
	}
	for u, w := range want {
		g := got[u]
		if g.Events != w.Events || g.LastPartition != w.LastPartition || g.LastOffset != w.LastOffset || !slices.Equal(g.Sum, w.Sum) {
			t.Errorf("profile %s: %d events, last %d/%d, sum %v; want %d events, last %d/%d, sum %v",
				u, g.Events, g.LastPartition, g.LastOffset, g.Sum[:2], w.Events, w.LastPartition, w.LastOffset, w.Sum[:2])
		}
	}
}

// TestMemCrashBetweenWriteAndCommit: a process dies after the Store acknowledged a
// batch (events only, or events and profiles) but before its offsets were committed;
// the next process is handed the batch again and the end state is exactly once.
func TestMemCrashBetweenWriteAndCommit(t *testing.T) {
	t.Parallel()
	for _, point := range []string{FaultAfterUpsert, FaultBeforeCommit} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			w := newMemWorld(t, 400, 0.05)
			cfg := memConfig()
			_, err := w.run(t, cfg, WithFault(Fault{Point: point, Batch: 3}))
			if !errors.Is(err, ErrFault) {
				t.Fatalf("first process: %v, want the injected fault", err)
			}
			redelivered := len(w.commits.Redeliver(w.log.recs))
			if want := len(w.log.recs) - 2*cfg.Batch.MaxSize; redelivered != want {
				t.Fatalf("%d records to redeliver after a crash in batch 3, want %d (batch 3 onwards)", redelivered, want)
			}
			before := w.store.Writes()
			p, err := w.run(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if w.store.Writes() <= before || p.Stats().Counters().Consumed != int64(redelivered) {
				t.Errorf("the second process consumed %d records, want %d (batch 3 again, then the rest)", p.Stats().Counters().Consumed, redelivered)
			}
			w.checkExactlyOnce(t, cfg)
		})
	}
}

// TestMemRedeliveryChangesNothing: every record is handed to the pipeline a second
// time (a group that lost its offsets), by the same process (profiles cached) and by a
// new one (profiles read back from the Store): nothing changes, and every valid event
// is counted as a profile skip.
func TestMemRedeliveryChangesNothing(t *testing.T) {
	t.Parallel()
	for _, warm := range []bool{false, true} {
		t.Run(map[bool]string{false: "new process", true: "same process"}[warm], func(t *testing.T) {
			t.Parallel()
			w := newMemWorld(t, 300, 0.05)
			cfg := memConfig()
			first, err := w.run(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			w.checkExactlyOnce(t, cfg)
			skipsBefore := first.Stats().Counters().ProfileSkips
			w.commits = &MemoryCommitter{} // every offset forgotten: all of it comes again
			var again *Pipeline
			if warm {
				again = first
				ctx, cancel := context.WithCancel(t.Context())
				again.src = &memSource{recs: w.log.recs, done: cancel}
				again.commits = w.commits
				if err := again.loop(ctx); err != nil && !isStopped(err) {
					t.Fatal(err)
				}
			} else if again, err = w.run(t, cfg); err != nil {
				t.Fatal(err)
			}
			w.checkExactlyOnce(t, cfg)
			c := again.Stats().Counters()
			if warm {
				c.ProfileSkips -= skipsBefore
			}
			if c.ProfileSkips != int64(len(w.log.valid)) {
				t.Errorf("%d profile skips on redelivery, want one per valid event (%d)", c.ProfileSkips, len(w.log.valid))
			}
		})
	}
}

// TestMemSpoolReplayedBeforeNewerBatches: the Store is down for one batch, which goes
// to the spool and is committed; newer batches of the same users must wait until the
// spooled one is written, or the profiles' offset skip would drop its updates.
func TestMemSpoolReplayedBeforeNewerBatches(t *testing.T) {
	t.Parallel()
	w := newMemWorld(t, 400, 0.02)
	cfg := memConfig()
	cfg.Spool.Enabled, cfg.Spool.Dir = true, t.TempDir()
	batches := 0
	observe := WithBatchObserver(func([]EventTimes) {
		// Called from the pipeline's goroutine after each committed (or replayed) batch.
		batches++
		switch batches {
		case 1:
			w.store.SetDown(status.Error(codes.Unavailable, "qdrant is down"))
		case 2:
			w.store.SetDown(nil) // batch 2 is in the spool now, its offsets committed
		}
	})
	p, err := w.run(t, cfg, observe)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Stats().Counters()
	if c.SpooledBatches != 1 || c.ReplayedBatches != 1 || c.Replayed != c.Spooled || c.SpoolPending != 0 {
		t.Errorf("spooled %d batches (%d events), replayed %d (%d events), %d pending: want one spooled and replayed",
			c.SpooledBatches, c.Spooled, c.ReplayedBatches, c.Replayed, c.SpoolPending)
	}
	w.checkExactlyOnce(t, cfg)
}
