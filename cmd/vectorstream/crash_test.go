package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestPipelineProcessCrashAfterUpsertThenRestart kills a real pipeline process with
// VECTORSTREAM_FAULT right after Qdrant acknowledged a batch and before its offsets were
// committed, restarts it, and checks that every event is in Qdrant exactly once and that
// no profile absorbed the replayed events twice.
func TestPipelineProcessCrashAfterUpsertThenRestart(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	topic := "crash-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	env := testInfra(t, topic, 2)

	// The stream and the model.
	gen, err := workloads.NewGenerator(workloads.GeneratorConfig{Seed: 9, Products: 200, Users: 30, MalformedFraction: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	var docs []embed.Doc
	for _, p := range gen.CatalogFor("en-US") {
		docs = append(docs, embed.Doc{Text: workloads.ProductText(&p), Lang: "en-US"})
	}
	model, err := embed.Fit(ctx, docs, embed.FitConfig{Dim: 8, MinDF: 1, MaxVocab: 1000, Oversample: 8, PowerIters: 2, Seed: 1}, kernels.NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	modelPath, cfgPath := filepath.Join(dir, "m.vsm"), filepath.Join(dir, "app.yaml")
	if err := model.Save(modelPath); err != nil {
		t.Fatal(err)
	}
	cfg := "kafka: {topic: " + topic + ", dlq_topic: " + topic + ".dlq, group: " + topic + ", session_timeout: 6s}\nbatch: {interval: 20ms, max_size: 100}\nhealth_addr: \"\"\nlog_level: warn\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cl, err := infra.NewKafkaClient(env, kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	perUser := map[string]int64{}
	valid := map[string]bool{}
	var krs []*kgo.Record
	now := time.Now()
	for range 400 {
		rec := gen.Next(now)
		if !rec.Malformed {
			perUser[rec.Event.UserID]++
			valid[pipeline.EventPointID(rec.EventID)] = true
		}
		ns := strconv.AppendInt(nil, now.UnixNano(), 10)
		krs = append(krs, &kgo.Record{Key: rec.Key, Value: rec.Value, Headers: []kgo.RecordHeader{
			{Key: pipeline.HeaderEventID, Value: []byte(rec.EventID)}, {Key: pipeline.HeaderIntended, Value: ns}, {Key: pipeline.HeaderSent, Value: ns}}})
	}
	if err := cl.ProduceSync(ctx, krs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	pipelineCmd := func(fault string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, self, "pipeline", "--config", cfgPath, "--model", modelPath,
			"--brokers", env.KafkaBrokers[0], "--qdrant", env.QdrantAddr())
		cmd.Env = append(os.Environ(), "VECTORSTREAM_TEST_MAIN=1", "VECTORSTREAM_FAULT="+fault)
		cmd.Stderr = os.Stderr
		return cmd
	}
	adm := kadm.NewClient(cl)
	committed := func() int64 {
		offs, err := adm.FetchOffsets(ctx, topic)
		if err != nil {
			return 0 // no group yet
		}
		var n int64
		offs.Each(func(o kadm.OffsetResponse) { n += o.At })
		return n
	}

	// First run: dies in batch 2, after the upsert, before the commit.
	err = pipelineCmd(pipeline.FaultAfterUpsert + ":2").Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != pipeline.ExitCodeFault {
		t.Fatalf("first run: %v, want exit code %d", err, pipeline.ExitCodeFault)
	}
	if n := committed(); n != 100 {
		t.Fatalf("after the crash %d records are committed, want batch 1's 100", n)
	}

	// Second run: consumes the rest, including the crashed batch again.
	cmd := pipelineCmd("")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(60 * time.Second)
	for committed() < int64(len(krs)) {
		select {
		case <-deadline:
			t.Fatalf("restarted pipeline committed %d of %d records", committed(), len(krs))
		case <-tick.C:
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("restarted pipeline: %v", err)
	}

	qc, err := infra.NewQdrantClient(env)
	if err != nil {
		t.Fatal(err)
	}
	defer qc.Close()
	points := scrollAll(ctx, t, qc, "ecommerce_events")
	if len(points) != len(valid) {
		t.Errorf("%d event points, want %d", len(points), len(valid))
	}
	for _, pt := range points {
		if !valid[pt.GetId().GetUuid()] {
			t.Errorf("unexpected point %s", pt.GetId().GetUuid())
		}
	}
	profiles := scrollAll(ctx, t, qc, "user_profiles")
	if len(profiles) != len(perUser) {
		t.Errorf("%d profiles, want %d", len(profiles), len(perUser))
	}
	for _, pt := range profiles {
		u := pt.GetPayload()["user_id"].GetStringValue()
		if got := pt.GetPayload()["events"].GetIntegerValue(); got != perUser[u] {
			t.Errorf("profile %s absorbed %d events, want %d", u, got, perUser[u])
		}
	}
}

func scrollAll(ctx context.Context, t *testing.T, qc *qdrant.Client, collection string) []*qdrant.RetrievedPoint {
	t.Helper()
	limit := uint32(10000)
	pts, err := qc.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: collection, Limit: &limit, WithPayload: qdrant.NewWithPayload(true)})
	if err != nil {
		t.Fatal(err)
	}
	return pts
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
