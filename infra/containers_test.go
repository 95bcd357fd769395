package infra_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// needDocker skips t unless a Docker daemon answers (fails it when
// VECTORSTREAM_REQUIRE_DOCKER is set: CI starts one).
func needDocker(t *testing.T) {
	t.Helper()
	if ok, why := infra.DockerAvailable(t.Context()); !ok {
		if os.Getenv("VECTORSTREAM_REQUIRE_DOCKER") != "" {
			t.Fatalf("VECTORSTREAM_REQUIRE_DOCKER is set but %s", why)
		}
		t.Skipf("%s: containers mode needs Docker (make docker-up)", why)
	}
}

// startContainers starts the containers mode for t and, when t ends, removes
// them and checks that the daemon has no network but host and none: the
// containers use the host's, and nothing may create a bridge.
func startContainers(t *testing.T, cfg infra.ContainersConfig) *infra.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	env, err := infra.StartContainers(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := env.Containers.Docker
	t.Cleanup(func() {
		env.Close()
		dd, err := infra.ConnectDocker(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer dd.Close()
		nets, err := dd.Networks(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nets {
			if n != "host" && n != "none" {
				t.Errorf("the daemon has network %q: containers must use the host network only (networks: %v)", n, nets)
			}
		}
	})
	if d.Info.ServerVersion == "" || d.Info.StorageDriver == "" {
		t.Errorf("docker info %+v", d.Info)
	}
	return env
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
	// Two at once, as two containers-mode runs on one daemon: each picks its
	// own loopback ports.
	for _, name := range []string{"a", "b"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			containersRoundTrip(t)
		})
	}
}

func containersRoundTrip(t *testing.T) {
	ctx := t.Context()
	logs := t.TempDir()
	env := startContainers(t, infra.ContainersConfig{Partitions: 2, Topics: []string{"raw_data"}, LogDir: logs, Run: t.Name()})
	if env.Mode != infra.ModeContainers || env.Picked != "" || len(env.KafkaBrokers) != 1 || env.QdrantPort == 0 || !env.QdrantEngine {
		t.Fatalf("env = %+v", env)
	}
	for _, c := range []*infra.Container{env.Containers.Kafka, env.Containers.Qdrant} {
		if c.Image.ID == "" || c.Image.Recipe == "" {
			t.Errorf("%s: image %+v: no ID or recipe hash (built by make images?)", c.Role(), c.Image)
		}
		if st, err := c.State(ctx); err != nil || !st.Running || st.Pid == 0 {
			t.Errorf("%s: state %+v, %v", c.Role(), st, err)
		}
	}
	if !strings.HasPrefix(env.KafkaLabel, "Kafka 4.4.0 (vectorstream/kafka:4.4.0 container, image ") ||
		!strings.Contains(env.QdrantLabel, "vectorstream/qdrant:edge-0.7.0 container") || !strings.Contains(env.QdrantLabel, "not a Qdrant server") {
		t.Fatalf("labels %q, %q", env.KafkaLabel, env.QdrantLabel)
	}
	if !strings.HasPrefix(env.KafkaBrokers[0], "127.0.0.1:") || env.QdrantHost != "127.0.0.1" {
		t.Fatalf("not on loopback: kafka %v, qdrant %s", env.KafkaBrokers, env.QdrantAddr())
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

	// Close removes the containers and keeps their output.
	kafkaID := env.Containers.Kafka.ID
	env.Close()
	b, err := os.ReadFile(filepath.Join(logs, "kafka.log"))
	if err != nil || !strings.Contains(string(b), "Kafka Server started") {
		t.Errorf("kafka.log (%d bytes, %v) does not say the broker started", len(b), err)
	}
	if fi, err := os.Stat(filepath.Join(logs, "qdrant.log")); err != nil {
		t.Errorf("qdrant.log: %v", err)
	} else {
		t.Logf("qdrant.log: %d bytes", fi.Size())
	}
	if _, err := env.Containers.Kafka.State(ctx); err == nil {
		t.Errorf("the Kafka container %s is still there after Close", kafkaID)
	}
}

// TestContainerLimits runs a busy loop in a container limited to half a CPU and
// 64 MiB: Docker reports both limits set, and its stats never show the loop
// above about half a core (on a busy machine it may get less, never more).
func TestContainerLimits(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	d, err := infra.ConnectDocker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := d.Run(ctx, infra.ContainerSpec{Role: "busy", Image: infra.DefaultKafkaImage, Entrypoint: []string{"bash", "-c", "while :; do :; done"},
		Limits: infra.Limits{CPUs: 0.5, Memory: "64m"}, Run: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Remove()
	if c.EnforcedCPUs != 0.5 || c.EnforcedMemory != 64<<20 {
		t.Fatalf("Docker enforces cpus %v, memory %d; want 0.5 and %d", c.EnforcedCPUs, c.EnforcedMemory, 64<<20)
	}
	if _, err := c.Stats(ctx); err != nil { // the baseline of the CPU deltas
		t.Fatal(err)
	}
	var peak float64
	for range 4 {
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(time.Second):
		}
		s, err := c.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.MemoryLimit != 64<<20 {
			t.Errorf("stats memory limit %d, want %d", s.MemoryLimit, 64<<20)
		}
		peak = max(peak, s.CPUCores)
	}
	t.Logf("busy loop under cpus 0.5: peak %.2f cores over 1 s samples", peak)
	// CFS enforces the quota per 100 ms period: a 1 s sample is within a few
	// percent of 0.5 at most.
	if peak > 0.6 {
		t.Errorf("a container limited to 0.5 CPU used %.2f cores", peak)
	}
	if peak <= 0 {
		t.Errorf("no CPU use seen from a busy loop: stats %v", peak)
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
	// A daemon without the project's images is no reason to try containers.
	want := infra.ModeEmbedded
	if dockerOK && !strings.Contains(env.Picked, "has no image") {
		want = infra.ModeContainers
	}
	if env.Mode != want || !strings.HasPrefix(env.Picked, "auto: "+want+": "+why) {
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
	want := "infra mode containers: no Docker daemon: run make docker-up (" + why + ")"
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
