package harness

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/envvars"
)

// The containers mode: Kafka, Qdrant and (with infra.pipeline_process) the
// pipeline each in a Docker container on the host network, started through
// testcontainers-go (infra.StartContainers, infra.Docker). The harness and the
// load generator stay on the host.

// Process names of the containers' main processes in the process table.
const (
	procKafkaContainer  = "kafka"
	procQdrantContainer = "qdrant"
)

// containerLogDir is the run folder's sub-folder for the containers' output.
const containerLogDir = "containers"

// startContainers starts the containers mode's Kafka and Qdrant for sc, their
// output kept in the run's folder dir (when there is one).
func startContainers(ctx context.Context, sc *Scenario, procs *procTable, dir, runID string) (*infra.Env, error) {
	c := sc.Infra.Containers
	cfg := infra.ContainersConfig{Partitions: sc.Kafka.Partitions, Topics: []string{sc.Pipeline.Kafka.Topic, sc.Pipeline.Kafka.DLQTopic},
		KafkaImage: c.KafkaImage, QdrantImage: c.QdrantImage, KafkaLimits: c.Limits.Kafka, QdrantLimits: c.Limits.Qdrant, Run: runID}
	if dir != "" {
		cfg.LogDir = filepath.Join(dir, containerLogDir)
	}
	env, err := infra.StartContainers(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("infra: %w", err)
	}
	for name, ctr := range map[string]*infra.Container{procKafkaContainer: env.Containers.Kafka, procQdrantContainer: env.Containers.Qdrant} {
		if st, err := ctr.State(ctx); err == nil && st.Pid > 0 {
			procs.started(name, st.Pid)
		}
	}
	env.OnClose(func() { procs.ended(procKafkaContainer); procs.ended(procQdrantContainer) })
	return env, nil
}

// autoPicksContainers reports whether infra.mode auto runs the containers mode:
// a Docker daemon answers and has the images the scenario names.
func autoPicksContainers(ctx context.Context, sc *Scenario) (bool, string) {
	c := sc.Infra.Containers
	return infra.ContainersUsable(ctx, cmp.Or(c.KafkaImage, infra.DefaultKafkaImage), cmp.Or(c.QdrantImage, infra.DefaultQdrantImage))
}

// DefaultPipelineImage is the pipeline container's image unless
// infra.containers.pipeline_image names one: the image make images last built
// from this source (deploy/images/build.sh tags it also with its git revision,
// and labels it org.vectorstream.revision, which the run records).
const DefaultPipelineImage = "vectorstream/vectorstream:dev"

// containerControl signals the pipeline container's main process.
type containerControl struct{ c *infra.Container }

func (k containerControl) interrupt() error { return k.signal(syscall.SIGINT) }
func (k containerControl) kill() error      { return k.signal(syscall.SIGKILL) }

func (k containerControl) signal(sig syscall.Signal) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return k.c.Kill(ctx, sig)
}

// launchContainer runs `vectorstream pipeline argv` in the pipeline image, on the
// host network, with dir (the model and configuration) and the spool folder
// mounted at their own paths, and waits for its announcement on the
// container's standard output. The container is removed (its output saved in
// the run's folder) when the pipeline stops.
func launchContainer(ctx context.Context, spec childSpec, argv []string, dir string) (*childProcess, error) {
	set := spec.env.Containers
	image := cmp.Or(spec.sc.Infra.Containers.PipelineImage, DefaultPipelineImage)
	// A pipeline_crash restart's container is the set's k-th pipeline: its log
	// is pipeline-k.log.
	logName := "pipeline"
	if k := 1 + countRole(set, "pipeline"); k > 1 {
		logName = fmt.Sprintf("pipeline-%d", k)
	}
	binds := []string{dir + ":" + dir}
	if sd := spec.cfg.Spool.Dir; spec.cfg.Spool.Enabled && sd != "" {
		if err := os.MkdirAll(sd, 0o750); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pipeline container: spool: %w", err)
		}
		binds = append(binds, sd+":"+sd)
	}
	ctr, err := set.Docker.Run(ctx, infra.ContainerSpec{Role: "pipeline", LogName: logName, Image: image, Cmd: argv,
		Env: containerEnv(), Binds: binds, StopSignal: "SIGINT", Limits: spec.sc.Infra.Containers.Limits.Pipeline,
		Run: set.Kafka.RunLabel(), LogDir: set.Kafka.LogDir()})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pipeline container: %w", err)
	}
	set.Add(ctr)
	out, err := ctr.Stdout(ctx)
	if err != nil {
		ctr.Remove()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pipeline container: %w", err)
	}
	if st, err := ctr.State(ctx); err == nil && st.Pid > 0 {
		spec.proc.started(st.Pid)
	}
	limits := spec.sc.Infra.Containers.Limits.Pipeline
	return awaitAnnouncement(ctx, containerControl{ctr}, out, dir, func() error {
		defer spec.proc.ended()
		defer ctr.Remove()
		st, err := ctr.Wait(context.Background())
		switch {
		case err != nil:
			return err
		case st.OOMKilled:
			return fmt.Errorf("the pipeline container was OOM-killed: it needed more than its memory limit (infra.containers.limits.pipeline.memory: %s)", limits.Memory)
		case st.ExitCode != 0:
			return fmt.Errorf("the pipeline container exited with code %d", st.ExitCode)
		}
		return nil
	})
}

// countRole is how many containers of role set has started.
func countRole(set *infra.ContainerSet, role string) int {
	n := 0
	for _, c := range set.All() {
		if c.Role() == role {
			n++
		}
	}
	return n
}

// containerEnv is what the pipeline container's environment gets of the
// harness's: the VECTORSTREAM_ variables a pipeline process is given, and
// nothing of the host's own (PATH, HOME: the image is FROM scratch).
func containerEnv() map[string]string {
	out := map[string]string{}
	for _, kv := range childproc.Env(os.Environ(), childproc.CmdPipeline) {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envvars.Prefix) {
			out[name] = value
		}
	}
	return out
}

// containerBroker restarts the Kafka container for kafka_broker_restart: a
// stop (SIGTERM, then SIGKILL after 10 s) and a start of the same container,
// which keeps its storage and its ports.
type containerBroker struct {
	env   *infra.Env
	procs *procTable
}

func (b containerBroker) Stop(ctx context.Context) error {
	return b.env.Containers.Kafka.Stop(ctx, 10*time.Second)
}

// Start starts the container again and returns once the broker answers a
// metadata request.
func (b containerBroker) Start(ctx context.Context) error {
	k := b.env.Containers.Kafka
	if err := k.Start(ctx); err != nil {
		return err
	}
	if st, err := k.State(ctx); err == nil && st.Pid > 0 {
		b.procs.started(procKafkaContainer, st.Pid)
	}
	cl, err := infra.NewKafkaClient(b.env)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var last error
	for {
		mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, last = adm.BrokerMetadata(mctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ContainerResult is one container of a containers-mode run.
type ContainerResult struct {
	// Role is kafka, qdrant or pipeline; Name tells a restarted pipeline's
	// containers apart (pipeline, pipeline-2, ...), and names its log.
	Role string `json:"role"`
	Name string `json:"name"`
	// Image is what ran: imported images have no registry digest, so the image
	// ID and the recipe hash of deploy/images/build.sh say it.
	Image infra.Image `json:"image"`
	// Limits are those the scenario asked for; EnforcedCPUs and
	// EnforcedMemoryBytes those Docker reports it set (0: none).
	Limits              infra.Limits `json:"limits,omitzero"`
	EnforcedCPUs        float64      `json:"enforced_cpus"`
	EnforcedMemoryBytes int64        `json:"enforced_memory_bytes"`
	// MeanCPUCores and PeakCPUCores are the CPU its role used over the load
	// window (warm-up included), from Docker's stats once a second;
	// PeakMemoryBytes its highest memory use in the whole run.
	MeanCPUCores    float64 `json:"mean_cpu_cores"`
	PeakCPUCores    float64 `json:"peak_cpu_cores"`
	PeakMemoryBytes uint64  `json:"peak_memory_bytes"`
	// OOMKilled says the kernel killed it for passing its memory limit;
	// ExitCode is its exit status once it stopped (-1 while it ran).
	OOMKilled bool `json:"oom_killed"`
	ExitCode  int  `json:"exit_code"`
	// Log is its output, relative to the run's folder ("" when not kept).
	Log string `json:"log,omitempty"`
}

// containerResults sums up the containers of set from the timeline rows.
func containerResults(ctx context.Context, set *infra.ContainerSet, rows []TimelineRow, loadSeconds int, dir string) []ContainerResult {
	if set == nil {
		return nil
	}
	var out []ContainerResult
	for _, c := range set.All() {
		cr := ContainerResult{Role: c.Role(), Name: strings.TrimSuffix(filepath.Base(c.LogPath()), ".log"), Image: c.Image, Limits: c.Limits(),
			EnforcedCPUs: c.EnforcedCPUs, EnforcedMemoryBytes: c.EnforcedMemory, ExitCode: -1}
		if cr.Name == "" || cr.Name == "." {
			cr.Name = c.Role()
		}
		st := c.Final()
		if st == nil {
			if now, err := c.State(ctx); err == nil {
				st = &now
			}
		}
		if st != nil {
			cr.OOMKilled = st.OOMKilled
			if !st.Running {
				cr.ExitCode = st.ExitCode
			}
		}
		var sum float64
		var n int
		for _, r := range rows {
			if v, ok := r.ContainerCPU[c.Role()]; ok {
				cr.PeakCPUCores = max(cr.PeakCPUCores, v)
				if r.Second >= 1 && r.Second <= loadSeconds {
					sum += v
					n++
				}
			}
			cr.PeakMemoryBytes = max(cr.PeakMemoryBytes, r.ContainerMem[c.Role()])
		}
		if n > 0 {
			cr.MeanCPUCores = sum / float64(n)
		}
		if p := c.LogPath(); p != "" && dir != "" {
			if rel, err := filepath.Rel(dir, p); err == nil {
				cr.Log = rel
			}
		}
		out = append(out, cr)
	}
	return out
}
