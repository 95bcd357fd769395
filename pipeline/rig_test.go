package pipeline_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
	"github.com/vectorstream/vectorstream/kernels"
	"github.com/vectorstream/vectorstream/pipeline"
	"github.com/vectorstream/vectorstream/workloads"
)

// rig is embedded Kafka and Qdrant holding a produced stream, and what a test needs to
// run pipelines over it and check what they wrote.
type rig struct {
	topic string
	env   *infra.Env
	qc    *qdrant.Client
	model *embed.Model
	be    kernels.Backend
	recs  []workloads.Record
	pos   []kgo.Record // partition and offset of each produced record
	ends  map[int32]int64
	// extra are valid events that reached the raw topic after the stream (dead letters
	// re-injected by a DLQ replay), with their positions, in topic order.
	extra    []event.Event
	extraPos []kgo.Record
}

func newRig(t *testing.T, n int, malformed float64) *rig {
	t.Helper()
	return newRigWith(t, n, workloads.GeneratorConfig{Seed: 3, Products: 300, Users: 40, MalformedFraction: malformed})
}

// newRigWith is newRig with a generator configuration of the test's own.
func newRigWith(t *testing.T, n int, gcfg workloads.GeneratorConfig) *rig {
	t.Helper()
	ctx := t.Context()
	topic := "raw-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	env := startInfra(t, topic)
	qc, err := infra.NewQdrantClient(env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qc.Close() })
	gen, err := workloads.NewGenerator(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	var docs []embed.Doc
	for _, loc := range []string{"en-US", "tr-TR"} {
		for _, p := range gen.CatalogFor(loc) {
			docs = append(docs, embed.Doc{Text: event.ProductText(&p), Lang: loc})
		}
	}
	be := kernels.NewCPU()
	t.Cleanup(func() { be.Close() })
	model, err := embed.Fit(ctx, docs, embed.FitConfig{Dim: 16, MinDF: 1, MaxVocab: 5000, Oversample: 8, PowerIters: 2, Seed: 1}, be)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{topic: topic, env: env, qc: qc, model: model, be: be, ends: map[int32]int64{}}
	cl, err := infra.NewKafkaClient(env, kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	base := time.Now().Add(-time.Minute)
	var krs []*kgo.Record
	for i := range n {
		intended := base.Add(time.Duration(i) * time.Millisecond)
		rec := gen.Next(intended)
		r.recs = append(r.recs, rec)
		krs = append(krs, &kgo.Record{Key: rec.Key, Value: rec.Value, Headers: []kgo.RecordHeader{
			{Key: event.HeaderEventID, Value: []byte(rec.EventID)},
			{Key: event.HeaderIntended, Value: strconv.AppendInt(nil, intended.UnixNano(), 10)},
			{Key: event.HeaderSent, Value: strconv.AppendInt(nil, intended.Add(time.Millisecond).UnixNano(), 10)},
		}})
	}
	res := cl.ProduceSync(ctx, krs...)
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	// ProduceSync reports in completion order; map results back to the stream.
	index := map[*kgo.Record]int{}
	for i, kr := range krs {
		index[kr] = i
	}
	r.pos = make([]kgo.Record, n)
	for _, pr := range res {
		r.pos[index[pr.Record]] = *pr.Record
		r.ends[pr.Record.Partition] = max(r.ends[pr.Record.Partition], pr.Record.Offset+1)
	}
	return r
}

// startInfra gives a test its own raw and dead-letter topics (3 partitions) and an
// in-memory Qdrant. Kafka is the embedded kfake, or the real cluster named by
// VECTORSTREAM_KAFKA_BROKERS (CI starts one), so the same tests run against both.
func startInfra(t *testing.T, topic string) *infra.Env {
	t.Helper()
	brokers := os.Getenv("VECTORSTREAM_KAFKA_BROKERS")
	if brokers == "" {
		env, err := infra.StartEmbedded(t.Context(), infra.EmbeddedConfig{Partitions: 3, Topics: []string{topic, topic + ".dlq"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(env.Close)
		return env
	}
	qs, err := qdrantfake.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { qs.Close() })
	host, port, _ := net.SplitHostPort(qs.Addr())
	portN, _ := strconv.Atoi(port)
	env := infra.Connect(infra.External{Brokers: strings.Split(brokers, ","), QdrantHost: host, QdrantPort: portN})
	env.Mode = infra.ModeEmbedded // the Qdrant side is the stand-in: skip the version check
	env.QdrantServer = qs
	cl, err := infra.NewKafkaClient(env)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, name := range []string{topic, topic + ".dlq"} {
		resp, err := kadm.NewClient(cl).CreateTopic(t.Context(), 3, 1, nil, name)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create topic %s on %s: %v", name, brokers, err)
		}
	}
	return env
}

func (r *rig) config() pipeline.Config {
	cfg := testConfig()
	cfg.Kafka.Topic, cfg.Kafka.DLQTopic, cfg.Kafka.Group = r.topic, r.topic+".dlq", r.topic+"-group"
	return cfg
}

func testConfig() pipeline.Config {
	cfg := pipeline.DefaultConfig()
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Batch.Interval = 20 * time.Millisecond
	cfg.Batch.MaxSize = 100
	cfg.Qdrant.UpsertBatch = 40
	cfg.HealthAddr = ""
	cfg.Retry.BaseDelay, cfg.Retry.MaxDelay = time.Millisecond, 2*time.Millisecond
	cfg.Breaker.CoolDown = 50 * time.Millisecond
	return cfg
}

// run runs a pipeline until it has committed up to the end of every partition, or until
// it returns on its own (a fault or an error). It returns Run's error.
func (r *rig) run(t *testing.T, cfg pipeline.Config, opts ...pipeline.Opt) (*pipeline.Pipeline, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	next := r.committed(t, cfg.Kafka.Group)
	complete := func() bool {
		for p, end := range r.ends {
			if next[p] < end {
				return false
			}
		}
		return true
	}
	if complete() {
		t.Fatal("nothing left to consume for this group")
	}
	done := func(ts []pipeline.EventTimes) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range ts {
			next[e.Partition] = max(next[e.Partition], e.Offset+1)
		}
		if complete() {
			cancel()
		}
	}
	p, err := pipeline.New(cfg, r.deps(), append(opts, pipeline.WithBatchObserver(done))...)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(ctx)
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatalf("pipeline did not reach the end of the topic in time: %v", p.Stats().Counters())
	}
	return p, err
}

func (r *rig) deps() pipeline.Deps {
	return pipeline.Deps{
		KafkaOpts: []kgo.Opt{kgo.SeedBrokers(r.env.KafkaBrokers...)},
		Qdrant:    r.qc, Dim: r.model.Dim(),
		NewEmbedder: func(func(error)) (pipeline.Embedder, error) { return embed.NewEncoder(r.model, r.be), nil },
	}
}

// committed returns the group's committed offsets by partition of the raw topic.
func (r *rig) committed(t *testing.T, group string) map[int32]int64 {
	t.Helper()
	cl, err := infra.NewKafkaClient(r.env)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := map[int32]int64{}
	// A fresh broker creates its offsets topic on first use and answers
	// COORDINATOR_NOT_AVAILABLE until then: retriable errors are retried, for a while.
	var offs kadm.OffsetResponses
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		offs, err = kadm.NewClient(cl).FetchOffsets(t.Context(), group)
		if !kerr.IsRetriable(err) {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("fetch offsets of %s: %v", group, err)
		case <-tick.C:
		}
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		return out // a new group: nothing committed
	}
	if err != nil {
		t.Fatal(err)
	}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == r.topic && o.Err == nil {
			out[o.Partition] = o.At
		}
	})
	return out
}

// valid returns the valid records' events and Kafka positions, in stream order.
func (r *rig) valid() ([]event.Event, []kgo.Record) {
	var evs []event.Event
	var pos []kgo.Record
	for i, rec := range r.recs {
		if !rec.Malformed {
			evs = append(evs, rec.Event)
			pos = append(pos, r.pos[i])
		}
	}
	return append(evs, r.extra...), append(pos, r.extraPos...)
}

// points returns every point of a collection by id.
func (r *rig) points(t *testing.T, collection string) map[string]*qdrant.RetrievedPoint {
	t.Helper()
	out := map[string]*qdrant.RetrievedPoint{}
	limit := uint32(1000)
	var offset *qdrant.PointId
	for {
		pts, next, err := r.qc.ScrollAndOffset(t.Context(), &qdrant.ScrollPoints{CollectionName: collection, Limit: &limit, Offset: offset,
			WithPayload: qdrant.NewWithPayload(true), WithVectors: qdrant.NewWithVectors(true)})
		if err != nil {
			t.Fatal(err)
		}
		for _, pt := range pts {
			out[pt.GetId().GetUuid()] = pt
		}
		if next == nil {
			return out
		}
		offset = next
	}
}

// expectedProfiles recomputes every profile from the valid events in Kafka order.
func (r *rig) expectedProfiles(t *testing.T, halfLife time.Duration) map[string]*pipeline.Profile {
	t.Helper()
	evs, pos := r.valid()
	enc := embed.NewEncoder(r.model, r.be)
	dim := r.model.Dim()
	out := map[string]*pipeline.Profile{}
	vec := make([]float32, dim)
	for i := range evs {
		if err := enc.Encode([]embed.Doc{{Text: evs[i].EmbedText(), Lang: evs[i].Locale}}, vec); err != nil {
			t.Fatal(err)
		}
		p, ok := out[evs[i].UserID]
		if !ok {
			p = pipeline.NewProfile(evs[i].UserID, dim)
			out[evs[i].UserID] = p
		}
		p.Apply(vec, &evs[i], pipeline.Position{Partition: pos[i].Partition, Offset: pos[i].Offset}, halfLife)
	}
	return out
}

// checkExactlyOnce asserts that the events collection holds exactly one point per valid
// event and that every profile equals its recomputation.
func (r *rig) checkExactlyOnce(t *testing.T, cfg pipeline.Config) {
	t.Helper()
	evs, _ := r.valid()
	pts := r.points(t, cfg.Qdrant.EventsCollection)
	want := map[string]bool{}
	for _, e := range evs {
		want[pipeline.EventPointID(e.EventID)] = true
	}
	if len(pts) != len(want) {
		t.Errorf("events collection holds %d points, want %d", len(pts), len(want))
	}
	for id := range want {
		if _, ok := pts[id]; !ok {
			t.Errorf("event point %s missing", id)
		}
	}
	stored := map[string]*pipeline.Profile{}
	for _, pt := range r.points(t, cfg.Qdrant.ProfilesCollection) {
		p, err := pipeline.ProfileFromPoint(pt)
		if err != nil {
			t.Fatal(err)
		}
		stored[p.UserID] = p
	}
	exp := r.expectedProfiles(t, cfg.Profiles.HalfLife)
	if got, want := slices.Sorted(maps.Keys(stored)), slices.Sorted(maps.Keys(exp)); !slices.Equal(got, want) {
		t.Fatalf("profiles for users %v, want %v", got, want)
	}
	for u, want := range exp {
		got := stored[u]
		if got.Events != want.Events || got.LastOffset != want.LastOffset || got.LastPartition != want.LastPartition {
			t.Errorf("profile %s: events %d last %d/%d, want events %d last %d/%d", u, got.Events, got.LastPartition, got.LastOffset, want.Events, want.LastPartition, want.LastOffset)
		}
		for i := range want.Sum {
			if d := got.Sum[i] - want.Sum[i]; d > 1e-4 || d < -1e-4 {
				t.Errorf("profile %s: component %d = %v, want %v", u, i, got.Sum[i], want.Sum[i])
				break
			}
		}
	}
}
