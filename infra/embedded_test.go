package infra_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
)

func startEmbedded(t testing.TB, cfg infra.EmbeddedConfig) *infra.Env {
	t.Helper()
	env, err := infra.StartEmbedded(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

func kafkaClient(t testing.TB, env *infra.Env, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	c, err := infra.NewKafkaClient(env, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestStartEmbedded(t *testing.T) {
	t.Parallel()
	env := startEmbedded(t, infra.EmbeddedConfig{Partitions: 3, Topics: []string{"raw_data", "raw_data.dlq"}})
	if env.Mode != infra.ModeEmbedded || len(env.KafkaBrokers) != 1 || env.QdrantPort == 0 {
		t.Fatalf("env = %+v", env)
	}
	if !strings.HasPrefix(env.KafkaLabel, "kfake v") || !strings.HasSuffix(env.KafkaLabel, "(embedded stand-in, in-process)") {
		t.Fatalf("kafka label %q", env.KafkaLabel)
	}
	if env.QdrantLabel != infra.QdrantFakeLabel {
		t.Fatalf("qdrant label %q", env.QdrantLabel)
	}
	for _, topic := range []string{"raw_data", "raw_data.dlq"} {
		if n := len(env.KafkaCluster.PartitionInfos(topic)); n != 3 {
			t.Fatalf("topic %s has %d partitions, want 3", topic, n)
		}
	}

	qc, err := infra.NewQdrantClient(env)
	if err != nil {
		t.Fatal(err)
	}
	defer qc.Close()
	hc, err := qc.HealthCheck(t.Context())
	if err != nil || hc.GetVersion() != qdrantfake.Version {
		t.Fatalf("health check: %v, %v", hc, err)
	}

	kc := kafkaClient(t, env)
	res := kc.ProduceSync(t.Context(), &kgo.Record{Topic: "raw_data", Value: []byte("x")})
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	env.Close()
	env.Close() // idempotent
	if c, err := net.DialTimeout("tcp", env.QdrantAddr(), time.Second); err == nil {
		c.Close()
		t.Fatal("qdrantfake still accepts connections after Close")
	}
}

func TestTopicConfigs(t *testing.T) {
	t.Parallel()
	env := startEmbedded(t, infra.EmbeddedConfig{
		Partitions: 2, Topics: []string{"raw_data"}, TopicConfigs: map[string]string{"retention.bytes": "1048576"},
	})
	ti := env.KafkaCluster.TopicInfo("raw_data")
	if ti == nil || len(env.KafkaCluster.PartitionInfos("raw_data")) != 2 {
		t.Fatal("raw_data not created with 2 partitions")
	}
	if v := ti.Configs["retention.bytes"]; v == nil || *v != "1048576" {
		t.Fatalf("topic configs = %v", ti.Configs)
	}
}

// TestRetentionBoundsTheEmbeddedLog: the embedded broker trims a topic's log to
// RetentionBytes per partition, as Kafka's log.retention.bytes does, so its
// memory does not grow with the run; the newest records stay readable.
func TestRetentionBoundsTheEmbeddedLog(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	env := startEmbedded(t, infra.EmbeddedConfig{Partitions: 1, Topics: []string{"raw_data"}, RetentionBytes: limit})
	if v := env.KafkaCluster.TopicInfo("raw_data").Configs["retention.bytes"]; v == nil || *v != "65536" {
		t.Fatalf("raw_data retention.bytes = %v, want 65536", v)
	}
	cl := kafkaClient(t, env, kgo.DefaultProduceTopic("raw_data"), kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.NoCompression())) // the limit is on stored bytes
	ctx := t.Context()
	value := []byte(strings.Repeat("x", 1000))
	const n = 1000 // ~1 MB, 16 times the limit
	for i := range n {
		// One batch per record, so retention can trim at record granularity.
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(30 * time.Second)
	for {
		starts, err := adm.ListStartOffsets(ctx, "raw_data")
		if err != nil {
			t.Fatal(err)
		}
		o, _ := starts.Lookup("raw_data", 0)
		// Kept: at most limit bytes of batches (each ~1.1 KB with its header).
		if kept := n - o.Offset; kept > 0 && kept <= limit/1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log start offset %d after 30 s: the log was not trimmed to %d bytes", o.Offset, limit)
		}
		// Not synchronisation: kfake trims on its own ticker; poll until it has.
		time.Sleep(50 * time.Millisecond)
	}
	ends, err := adm.ListEndOffsets(ctx, "raw_data")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup("raw_data", 0); o.Offset != n {
		t.Fatalf("end offset %d, want %d", o.Offset, n)
	}
}

func TestStartModes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	// ModeContainers and ModeAuto: containers_test.go.
	if _, err := infra.Start(ctx, "cloud", infra.EmbeddedConfig{}, infra.External{}); err == nil {
		t.Fatal("unknown mode accepted")
	}
	_, err := infra.Start(ctx, infra.ModeExternal, infra.EmbeddedConfig{}, infra.External{Brokers: []string{"nohost"}})
	if err == nil || !strings.Contains(err.Error(), `kafka broker "nohost"`) || !strings.Contains(err.Error(), "no qdrant host") {
		t.Fatalf("external validation: %v", err)
	}
	env, err := infra.Start(ctx, infra.ModeExternal, infra.EmbeddedConfig{}, infra.External{
		Brokers: []string{"k1:9092", "k2:9092"}, QdrantHost: "q",
	})
	if err != nil {
		t.Fatal(err)
	}
	if env.QdrantPort != infra.DefaultQdrantPort || env.QdrantAddr() != "q:6334" ||
		env.KafkaLabel != "Kafka (external, k1:9092,k2:9092)" || env.QdrantLabel != "Qdrant (external, q:6334)" {
		t.Fatalf("external env = %+v", env)
	}
	env.Close()
	if err := (infra.EmbeddedConfig{Topics: []string{""}, KafkaAddr: "nope"}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "topics[0]") || !strings.Contains(err.Error(), "kafka_addr") {
		t.Fatalf("embedded validation: %v", err)
	}
}

// consume polls cl until it has n records or the deadline passes.
func consume(t *testing.T, ctx context.Context, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d records of %d before timeout", len(out), n)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", topic, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

// TestConsumerGroupResume: kfake runs consumer groups (join, sync, commit,
// fetch offsets). A member consumes everything but commits only part of it,
// as a crash between write and commit would; the member that replaces it
// resumes from the committed offsets and replays exactly the uncommitted
// records.
func TestConsumerGroupResume(t *testing.T) {
	t.Parallel()
	const topic, group, n, committed = "raw_data", "pipeline", 1000, 600
	env := startEmbedded(t, infra.EmbeddedConfig{Partitions: 4, Topics: []string{topic}})
	ctx := t.Context()

	prod := kafkaClient(t, env, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(time.Millisecond))
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Key: fmt.Appendf(nil, "user-%d", i%97), Value: fmt.Appendf(nil, "event-%d", i)}
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	perPartition := map[int32]int{}
	for _, r := range recs {
		perPartition[r.Partition]++
	}
	if len(perPartition) != 4 {
		t.Fatalf("records landed on %d partitions, want 4", len(perPartition))
	}

	groupOpts := []kgo.Opt{
		kgo.ConsumeTopics(topic), kgo.ConsumerGroup(group), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100 * time.Millisecond),
	}
	first, err := infra.NewKafkaClient(env, groupOpts...)
	if err != nil {
		t.Fatal(err)
	}
	firstClosed := false
	t.Cleanup(func() {
		if !firstClosed {
			first.Close()
		}
	})
	got := consume(t, ctx, first, n)
	if len(got) != n {
		t.Fatalf("first member consumed %d records, want %d", len(got), n)
	}
	// Commit the first `committed` records in poll order: per partition that
	// is a prefix, so the committed offset is the next one after it.
	if err := first.CommitRecords(ctx, got[:committed]...); err != nil {
		t.Fatal(err)
	}
	wantNext := map[int32]int64{}
	for _, r := range got[:committed] {
		wantNext[r.Partition] = max(wantNext[r.Partition], r.Offset+1)
	}
	first.Close() // leaves the group
	firstClosed = true

	adm := kadm.NewClient(kafkaClient(t, env))
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if want := wantNext[o.Partition]; o.At != want {
			t.Fatalf("partition %d committed at %d, want %d", o.Partition, o.At, want)
		}
		sum += o.At
	})
	if sum != committed {
		t.Fatalf("committed offsets add up to %d, want %d", sum, committed)
	}

	second := kafkaClient(t, env, groupOpts...)
	replayed := consume(t, ctx, second, n-committed)
	if len(replayed) != n-committed {
		t.Fatalf("second member consumed %d records, want %d", len(replayed), n-committed)
	}
	seen := map[string]bool{}
	for _, r := range got[:committed] {
		seen[string(r.Value)] = true
	}
	for _, r := range replayed {
		if r.Offset < wantNext[r.Partition] {
			t.Fatalf("second member got committed record %d/%d", r.Partition, r.Offset)
		}
		if seen[string(r.Value)] {
			t.Fatalf("record %s delivered twice", r.Value)
		}
		seen[string(r.Value)] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct records seen, want %d", len(seen), n)
	}
	if err := second.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	gi := env.KafkaCluster.GroupInfo(group)
	if gi == nil {
		t.Fatal("kfake has no group info")
	}
}

func TestServe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- infra.Serve(ctx, infra.EmbeddedConfig{Topics: []string{"raw_data"}}, "", pw)
		pw.Close()
	}()
	si, err := infra.ReadServeInfo(pr)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if len(si.KafkaBrokers) != 1 || si.QdrantAddr == "" || si.KafkaLabel == "" || si.QdrantLabel == "" {
		t.Fatalf("serve info = %+v", si)
	}
	ext, err := si.External()
	if err != nil {
		t.Fatal(err)
	}
	env, err := infra.Start(t.Context(), infra.ModeExternal, infra.EmbeddedConfig{}, ext)
	if err != nil {
		t.Fatal(err)
	}
	if env.KafkaLabel != si.KafkaLabel || env.QdrantLabel != si.QdrantLabel {
		t.Fatalf("labels lost: %+v", env)
	}
	qc, err := infra.NewQdrantClient(env)
	if err != nil {
		t.Fatal(err)
	}
	err = qc.CreateCollection(t.Context(), &qdrant.CreateCollection{
		CollectionName: "ev", VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 4, Distance: qdrant.Distance_Cosine}),
	})
	if err != nil {
		qc.Close()
		t.Fatal(err)
	}
	qc.Close()
	// The debug endpoint serves the stand-ins' profiles.
	resp, err := http.Get(si.DebugURL + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("debug endpoint: %s", resp.Status)
	}
	kc, err := infra.NewKafkaClient(env)
	if err != nil {
		t.Fatal(err)
	}
	err = kc.ProduceSync(t.Context(), &kgo.Record{Topic: "raw_data", Value: []byte("x")}).FirstErr()
	kc.Close()
	if err != nil {
		t.Fatal(err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	for _, addr := range append([]string{si.QdrantAddr}, si.KafkaBrokers...) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("%s still accepts connections after serve returned", addr)
		}
	}
	_, err = io.ReadAll(pr)
	if err != nil && !errors.Is(err, io.ErrClosedPipe) {
		t.Fatal(err)
	}
}
