package harness

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/infra"
)

// needDocker skips t unless a Docker daemon answers with the project's images
// (fails it when VECTORSTREAM_REQUIRE_DOCKER is set: CI starts one and builds them).
func needDocker(t *testing.T) {
	t.Helper()
	ok, why := infra.DockerAvailable(t.Context())
	if ok {
		sc := DefaultScenario()
		ok, why = autoPicksContainers(t.Context(), &sc)
	}
	if !ok {
		if os.Getenv("VECTORSTREAM_REQUIRE_DOCKER") != "" {
			t.Fatalf("VECTORSTREAM_REQUIRE_DOCKER is set but %s", why)
		}
		t.Skipf("%s: the containers mode needs Docker and its images (make docker-up images)", why)
	}
}

func TestContainersScenarioChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*Scenario)
		want string
	}{
		{"containers settings outside the containers mode", func(s *Scenario) { s.Infra.Containers.KafkaImage = "apache/kafka:4.4.0" },
			"infra.containers: configures the containers mode, and the mode is embedded"},
		{"a memory Docker cannot read", func(s *Scenario) {
			s.Infra.Mode, s.Infra.PipelineProcess = infra.ModeContainers, true
			s.Infra.Containers.Limits.Pipeline.Memory = "lots"
		}, "infra.containers.limits.pipeline.memory: "},
		{"below Docker's floor", func(s *Scenario) {
			s.Infra.Mode = infra.ModeContainers
			s.Infra.Containers.Limits.Kafka.Memory = "1m"
		}, "infra.containers.limits.kafka.memory: Docker needs at least 6m"},
		{"negative cpus", func(s *Scenario) {
			s.Infra.Mode = infra.ModeContainers
			s.Infra.Containers.Limits.Qdrant.CPUs = -1
		}, "infra.containers.limits.qdrant.cpus: must be > 0"},
		{"pipeline limits with the pipeline in the harness", func(s *Scenario) {
			s.Infra.Mode = infra.ModeContainers
			s.Infra.Containers.Limits.Pipeline.CPUs = 1
		}, "infra.containers.limits.pipeline: limits the pipeline container, and the pipeline runs in the harness"},
		{"a pipeline group", func(s *Scenario) {
			s.Infra.Mode, s.Infra.PipelineProcess, s.Infra.PipelineProcesses = infra.ModeContainers, true, 2
		}, "infra.pipeline_processes: the containers mode runs one pipeline container, got 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := smallScenario()
			tc.edit(sc)
			err := sc.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
		})
	}
	sc := smallScenario()
	sc.Infra.Mode, sc.Infra.PipelineProcess = infra.ModeContainers, true
	sc.Infra.Containers.Limits.Pipeline = infra.Limits{CPUs: 0.5, Memory: "512m"}
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
}

// containersScenario is smallScenario in the containers mode, the pipeline in its
// own container.
func containersScenario() *Scenario {
	sc := smallScenario()
	sc.Infra.Mode, sc.Infra.PipelineProcess = infra.ModeContainers, true
	sc.Pipeline.Kafka.SessionTimeout = 6 * time.Second
	return sc
}

// TestContainersRunRecordsWhatRan runs the pipeline in its container, Kafka and
// Qdrant in theirs: the run verifies, and its result names each container's image
// (ID and recipe hash), the limits asked and enforced, Docker's stats over time,
// and keeps each container's output in the run's folder.
func TestContainersRunRecordsWhatRan(t *testing.T) {
	needDocker(t)
	sc := containersScenario()
	sc.Infra.Containers.Limits.Pipeline = infra.Limits{CPUs: 1, Memory: "512m"}
	dir := t.TempDir()
	res, err := Run(t.Context(), sc, Options{RunID: "containers", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Verification; !v.Passed || v.Lost != 0 {
		t.Fatalf("verification %+v", v)
	}
	env := res.Environment
	if env.InfraMode != infra.ModeContainers || env.Docker == nil || env.Docker.ServerVersion == "" || env.Docker.StorageDriver == "" {
		t.Fatalf("environment %+v, docker %+v", env, env.Docker)
	}
	var roles []string
	for _, c := range env.Containers {
		roles = append(roles, c.Role)
		if c.Image.ID == "" || c.Image.Recipe == "" {
			t.Errorf("%s: image %+v has no ID or recipe hash", c.Name, c.Image)
		}
		if c.PeakMemoryBytes == 0 || c.OOMKilled {
			t.Errorf("%s: peak memory %d, OOM-killed %v", c.Name, c.PeakMemoryBytes, c.OOMKilled)
		}
		if b, err := os.ReadFile(filepath.Join(dir, c.Log)); err != nil || len(b) == 0 {
			t.Errorf("%s: log %s: %d bytes, %v", c.Name, c.Log, len(b), err)
		}
		if c.Role == "pipeline" && (c.EnforcedCPUs != 1 || c.EnforcedMemoryBytes != 512<<20 || c.ExitCode != 0) {
			t.Errorf("pipeline container: enforced cpus %v, memory %d, exit %d; want 1, %d, 0", c.EnforcedCPUs, c.EnforcedMemoryBytes, c.ExitCode, 512<<20)
		}
	}
	if !slices.Equal(roles, []string{"kafka", "qdrant", "pipeline"}) {
		t.Errorf("containers %v, want kafka, qdrant, pipeline", roles)
	}
	sampled := map[string]bool{}
	for _, r := range res.Timeline {
		for role := range r.ContainerMem {
			sampled[role] = true
		}
	}
	if len(sampled) != 3 {
		t.Errorf("Docker stats sampled for %v, want all three containers", sampled)
	}
}

// TestContainersPipelineOOMKilled gives the pipeline container 64 MiB and
// micro-batches of up to 50,000 events: the kernel kills it, and the run says so.
func TestContainersPipelineOOMKilled(t *testing.T) {
	needDocker(t)
	sc := containersScenario()
	sc.Infra.Containers.Limits.Pipeline.Memory = "64m"
	sc.Load.Rate, sc.Load.Steps[0].Rate = 10000, 10000
	sc.Warmup, sc.Duration = time.Second, 10*time.Second
	sc.Pipeline.Batch.Interval, sc.Pipeline.Batch.MaxSize = 5*time.Second, 50000
	sc.DrainTimeout = time.Minute
	_, err := Run(t.Context(), sc, Options{RunID: "oom"})
	if err == nil || !strings.Contains(err.Error(), "the pipeline container was OOM-killed") || !strings.Contains(err.Error(), "64m") {
		t.Fatalf("run error %v, want the pipeline container's OOM kill under its 64m limit", err)
	}
}
