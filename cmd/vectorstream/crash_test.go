package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/exitcode"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
	"github.com/vectorstream/vectorstream/kernels"
	"github.com/vectorstream/vectorstream/pipeline"
	"github.com/vectorstream/vectorstream/workloads"
)

// procRig is a produced stream, a model and a pipeline configuration for tests that
// run `vectorstream pipeline` as real processes (the test binary stands in for it).
type procRig struct {
	self, topic        string
	env                *infra.Env
	cfgPath, modelPath string
	records            int64
	perUser            map[string]int64
	valid              map[string]bool
	adm                *kadm.Client
}

func newProcRig(t *testing.T, n, batch int) *procRig {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	r := &procRig{self: self, topic: "proc-" + strconv.FormatInt(time.Now().UnixNano(), 36), perUser: map[string]int64{}, valid: map[string]bool{}}
	r.env = testInfra(t, r.topic, 2)
	gen, err := workloads.NewGenerator(workloads.GeneratorConfig{Seed: 9, Products: 200, Users: 30, MalformedFraction: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	var docs []embed.Doc
	for _, p := range gen.CatalogFor("en-US") {
		docs = append(docs, embed.Doc{Text: event.ProductText(&p), Lang: "en-US"})
	}
	model, err := embed.Fit(ctx, docs, embed.FitConfig{Dim: 8, MinDF: 1, MaxVocab: 1000, Oversample: 8, PowerIters: 2, Seed: 1}, kernels.NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r.modelPath, r.cfgPath = filepath.Join(dir, "m.vsm"), filepath.Join(dir, "app.yaml")
	if err := model.Save(r.modelPath); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("kafka: {topic: %s, dlq_topic: %s.dlq, group: %s, session_timeout: 6s}\nbatch: {interval: 20ms, max_size: %d}\nhealth_addr: 127.0.0.1:0\nlog_level: warn\n", r.topic, r.topic, r.topic, batch)
	if err := os.WriteFile(r.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cl, err := infra.NewKafkaClient(r.env, kgo.DefaultProduceTopic(r.topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	r.adm = kadm.NewClient(cl)
	var krs []*kgo.Record
	now := time.Now()
	for range n {
		rec := gen.Next(now)
		if !rec.Malformed {
			r.perUser[rec.Event.UserID]++
			r.valid[pipeline.EventPointID(rec.EventID)] = true
		}
		ns := strconv.AppendInt(nil, now.UnixNano(), 10)
		krs = append(krs, &kgo.Record{Key: rec.Key, Value: rec.Value, Headers: []kgo.RecordHeader{
			{Key: event.HeaderEventID, Value: []byte(rec.EventID)}, {Key: event.HeaderIntended, Value: ns}, {Key: event.HeaderSent, Value: ns}}})
	}
	if err := cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	r.records = int64(n)
	return r
}

// pipeline returns a `vectorstream pipeline` command; with announce its stdout carries
// the health address.
func (r *procRig) pipeline(ctx context.Context, fault string) *exec.Cmd {
	args := childproc.PipelineArgs{Config: r.cfgPath, Model: r.modelPath, Backend: "cpu",
		Brokers: r.env.KafkaBrokers[:1], Qdrant: r.env.QdrantAddr()}
	cmd := exec.CommandContext(ctx, r.self, args.Argv()...)
	cmd.Env = append(os.Environ(), "VECTORSTREAM_TEST_MAIN=1", "VECTORSTREAM_FAULT="+fault)
	cmd.Stderr = os.Stderr
	return cmd
}

// committed is how many records the group has committed.
func (r *procRig) committed(ctx context.Context) int64 {
	offs, err := r.adm.FetchOffsets(ctx, r.topic)
	if err != nil {
		return 0 // no group yet, or a coordinator still starting
	}
	var n int64
	offs.Each(func(o kadm.OffsetResponse) { n += o.At })
	return n
}

// waitCommitted waits until the group has committed at least n records.
func (r *procRig) waitCommitted(t *testing.T, n int64) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(60 * time.Second)
	for r.committed(t.Context()) < n {
		select {
		case <-deadline:
			t.Fatalf("the group committed %d of %d records", r.committed(t.Context()), n)
		case <-tick.C:
		}
	}
}

// stop interrupts a pipeline process (it finishes its batch and leaves the group).
func stop(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("pipeline process: %v", err)
	}
}

// checkExactlyOnce asserts every valid event is one point and no profile absorbed an
// event twice.
func (r *procRig) checkExactlyOnce(t *testing.T) {
	t.Helper()
	qc, err := infra.NewQdrantClient(r.env)
	if err != nil {
		t.Fatal(err)
	}
	defer qc.Close()
	points := scrollAll(t.Context(), t, qc, "ecommerce_events")
	if len(points) != len(r.valid) {
		t.Errorf("%d event points, want %d", len(points), len(r.valid))
	}
	for _, pt := range points {
		if !r.valid[pt.GetId().GetUuid()] {
			t.Errorf("unexpected point %s", pt.GetId().GetUuid())
		}
	}
	profiles := scrollAll(t.Context(), t, qc, "user_profiles")
	if len(profiles) != len(r.perUser) {
		t.Errorf("%d profiles, want %d", len(profiles), len(r.perUser))
	}
	for _, pt := range profiles {
		u := pt.GetPayload()["user_id"].GetStringValue()
		if got := pt.GetPayload()["events"].GetIntegerValue(); got != r.perUser[u] {
			t.Errorf("profile %s absorbed %d events, want %d", u, got, r.perUser[u])
		}
	}
}

// announced reads the health address a pipeline process prints with --announce.
func announced(t *testing.T, out io.Reader) string {
	t.Helper()
	addr, err := childproc.ReadAnnouncement(out)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestPipelineProcessCrashAfterUpsertThenRestart kills a real pipeline process with
// VECTORSTREAM_FAULT right after Qdrant acknowledged a batch and before its offsets were
// committed, restarts it, and checks that every event is in Qdrant exactly once and that
// no profile absorbed the replayed events twice.
func TestPipelineProcessCrashAfterUpsertThenRestart(t *testing.T) {
	r := newProcRig(t, 400, 100)
	ctx := t.Context()

	// First run: dies in batch 2, after the upsert, before the commit.
	err := r.pipeline(ctx, pipeline.FaultAfterUpsert+":2").Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitcode.Fault {
		t.Fatalf("first run: %v, want exit code %d", err, exitcode.Fault)
	}
	if n := r.committed(ctx); n != 100 {
		t.Fatalf("after the crash %d records are committed, want batch 1's 100", n)
	}

	// Second run: consumes the rest, including the crashed batch again.
	cmd := r.pipeline(ctx, "")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.waitCommitted(t, r.records)
	stop(t, cmd)
	r.checkExactlyOnce(t)
}

// TestPipelineProcessesRebalance runs two pipeline processes in one consumer group: B
// joins while A consumes and leaves half way, so partitions move twice. Verification
// by identity must still pass.
func TestPipelineProcessesRebalance(t *testing.T) {
	r := newProcRig(t, 20000, 20)
	ctx := t.Context()
	a := r.pipeline(ctx, "")
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	r.waitCommitted(t, 200)
	b := r.pipeline(ctx, "")
	bout, err := b.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	bAddr := announced(t, bout)
	// Wait until B has committed work of its own, then make it leave.
	client := childproc.NewClient(bAddr)
	var st childproc.RemoteStats
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for st.Snapshot.Counters.Commits == 0 {
		if r.committed(ctx) >= r.records {
			t.Fatal("A consumed the whole topic before B was given a partition")
		}
		select {
		case <-deadline:
			t.Fatal("B committed nothing within 30 s")
		case <-tick.C:
		}
		if st, err = client.Final(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stop(t, b)
	r.waitCommitted(t, r.records)
	stop(t, a)
	t.Logf("B consumed %d records in %d batches before leaving", st.Snapshot.Counters.Consumed, st.Snapshot.Counters.Batches)
	r.checkExactlyOnce(t)
}

func scrollAll(ctx context.Context, t *testing.T, qc *qdrant.Client, collection string) []*qdrant.RetrievedPoint {
	t.Helper()
	limit := uint32(5000)
	var all []*qdrant.RetrievedPoint
	var offset *qdrant.PointId
	for {
		pts, next, err := qc.ScrollAndOffset(ctx, &qdrant.ScrollPoints{CollectionName: collection, Limit: &limit, Offset: offset, WithPayload: qdrant.NewWithPayload(true)})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, pts...)
		if next == nil {
			return all
		}
		offset = next
	}
}

// testInfra gives a test its own topics and an in-memory Qdrant; Kafka is the embedded
// kfake, or the real cluster named by VECTORSTREAM_KAFKA_BROKERS (CI starts one).
func testInfra(t *testing.T, topic string, partitions int) *infra.Env {
	t.Helper()
	topics := []string{topic, topic + ".dlq"}
	brokers := os.Getenv("VECTORSTREAM_KAFKA_BROKERS")
	if brokers == "" {
		env, err := infra.StartEmbedded(t.Context(), infra.EmbeddedConfig{Partitions: partitions, Topics: topics})
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
	cl, err := infra.NewKafkaClient(env)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, name := range topics {
		resp, err := kadm.NewClient(cl).CreateTopic(t.Context(), int32(partitions), 1, nil, name)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create topic %s on %s: %v", name, brokers, err)
		}
	}
	return env
}
