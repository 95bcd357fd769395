package infra_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// needDocker skips t unless a Docker daemon answers.
func needDocker(t *testing.T) {
	t.Helper()
	if ok, why := infra.DockerAvailable(t.Context()); !ok {
		t.Skipf("%s: containers mode needs Docker", why)
	}
}

// noDocker skips t when a Docker daemon answers: t checks the behaviour
// without one.
func noDocker(t *testing.T) string {
	t.Helper()
	ok, why := infra.DockerAvailable(t.Context())
	if ok {
		t.Skipf("%s: this test checks the behaviour without Docker", why)
	}
	return why
}

func TestContainersRoundTrip(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	env, err := infra.Start(ctx, infra.ModeContainers, infra.EmbeddedConfig{Partitions: 2, Topics: []string{"raw_data"}}, infra.External{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	if env.Mode != infra.ModeContainers || env.Picked != "" || len(env.KafkaBrokers) != 1 || env.QdrantPort == 0 {
		t.Fatalf("env = %+v", env)
	}
	if env.KafkaLabel != "Kafka 4.1.0 (apache/kafka container)" || env.QdrantLabel != "Qdrant 1.17.1 (qdrant/qdrant container)" {
		t.Fatalf("labels %q, %q", env.KafkaLabel, env.QdrantLabel)
	}

	kc := kafkaClient(t, env, kgo.ConsumeTopics("raw_data"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	topics, err := kadm.NewClient(kc).ListTopics(ctx, "raw_data")
	if err != nil || len(topics["raw_data"].Partitions) != 2 {
		t.Fatalf("raw_data: %v, %v (want 2 partitions)", topics, err)
	}
	if err := kc.ProduceSync(ctx, &kgo.Record{Topic: "raw_data", Value: []byte("hello")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pollCtx, pollCancel := context.WithTimeout(ctx, 30*time.Second)
	defer pollCancel()
	var got []string
	for len(got) == 0 && pollCtx.Err() == nil {
		fs := kc.PollFetches(pollCtx)
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	if len(got) != 1 || got[0] != "hello" {
		t.Fatalf("consumed %q, want [hello]", got)
	}

	qc, err := infra.NewQdrantClient(env)
	if err != nil {
		t.Fatal(err)
	}
	defer qc.Close()
	err = qc.CreateCollection(ctx, &qdrant.CreateCollection{
		CollectionName: "rt",
		VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 3, Distance: qdrant.Distance_Cosine}),
	})
	if err != nil {
		t.Fatal(err)
	}
	wait := true
	_, err = qc.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "rt", Wait: &wait, Points: []*qdrant.PointStruct{
		{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectorsDense([]float32{1, 0, 0})},
		{Id: qdrant.NewIDNum(2), Vectors: qdrant.NewVectorsDense([]float32{0, 1, 0})},
	}})
	if err != nil {
		t.Fatal(err)
	}
	exact := true
	if n, err := qc.Count(ctx, &qdrant.CountPoints{CollectionName: "rt", Exact: &exact}); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
}

func TestStartAuto(t *testing.T) {
	ctx := t.Context()
	dockerOK, why := infra.DockerAvailable(ctx)
	env, err := infra.Start(ctx, infra.ModeAuto, infra.EmbeddedConfig{Topics: []string{"raw_data"}}, infra.External{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	want := infra.ModeEmbedded
	if dockerOK {
		want = infra.ModeContainers
	}
	if env.Mode != want || env.Picked != "auto: "+want+": "+why {
		t.Fatalf("mode %q, picked %q; want %s because %s", env.Mode, env.Picked, want, why)
	}
	if !dockerOK && (env.KafkaCluster == nil || !strings.Contains(env.Picked, "no Docker daemon answers")) {
		t.Fatalf("fallback: picked %q, kafka cluster %v", env.Picked, env.KafkaCluster)
	}
	t.Logf("picked %q", env.Picked)
}

func TestStartContainersWithoutDocker(t *testing.T) {
	why := noDocker(t)
	env, err := infra.Start(t.Context(), infra.ModeContainers, infra.EmbeddedConfig{}, infra.External{})
	if err == nil {
		env.Close()
		t.Fatal("containers mode started without Docker")
	}
	if got := exitcode.Of(err); got != exitcode.Unreachable {
		t.Fatalf("exit %d for a missing Docker daemon, want %d (a missing prerequisite)", got, exitcode.Unreachable)
	}
	want := "infra mode containers: " + why + ": use embedded or external"
	if err.Error() != want {
		t.Fatalf("error %q\nwant  %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error spans lines: %q", err)
	}
}

func TestDockerAvailableExplains(t *testing.T) {
	ok, why := infra.DockerAvailable(t.Context())
	if why == "" || strings.Contains(why, "\n") {
		t.Fatalf("explanation %q", why)
	}
	t.Logf("docker available: %v: %s", ok, why)
}

func TestContainersConfigValidate(t *testing.T) {
	err := infra.ContainersConfig{Partitions: -1, Topics: []string{""}, Timeout: -time.Second}.Validate()
	for _, want := range []string{"partitions -1 out of range", "topics[0] is empty", "timeout -1s is negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
	if err := (infra.ContainersConfig{}).Validate(); err != nil {
		t.Fatal(err)
	}
}
