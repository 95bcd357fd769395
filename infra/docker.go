package infra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Labels the harness puts on every container it starts, so that it can find and
// remove what a killed harness left (Docker finds them by label; see
// Docker.RemoveOrphans). Testcontainers' reaper (Ryuk) is not used: it is an image
// to pull, and no registry is reachable where the project's images are built.
const (
	labelOwner = "org.vectorstream.owner"      // "<hostname>:<pid>" of the process that started it
	labelRun   = "org.vectorstream.run"        // the run it belongs to, when the caller says
	labelRole  = "org.vectorstream.role"       // kafka, qdrant, pipeline, ...
	LabelImage = "org.vectorstream.recipe"     // LabelImage is the recipe hash deploy/images/build.sh puts on its images.
	hostNet    = container.NetworkMode("host") // every container shares the host's loopback
)

// Docker is a Docker daemon as the containers mode uses it: through
// testcontainers-go, every container on the host network (no network is ever
// created: the daemon runs with no bridge and containers bind loopback ports),
// no reaper, and the harness owning the cleanup.
type Docker struct {
	provider *testcontainers.DockerProvider
	cli      client.APIClient
	// Info is what the daemon says of itself, for the run's environment.
	Info DockerInfo
}

// DockerInfo is the daemon's version and set-up, recorded with a run.
type DockerInfo struct {
	Host          string `json:"host"`
	ServerVersion string `json:"server_version"`
	APIVersion    string `json:"api_version"`
	StorageDriver string `json:"storage_driver"`
	CgroupVersion string `json:"cgroup_version"`
	CgroupDriver  string `json:"cgroup_driver"`
	NCPU          int    `json:"ncpu"`
	MemTotal      int64  `json:"mem_total_bytes"`
}

// ownCleanup turns off testcontainers' reaper for this process (it reads the
// setting once, at its first use) unless the user set it, and silences its
// package-wide logger, which writes to stderr (infra does not log).
var ownCleanup = sync.OnceFunc(func() {
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		_ = os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	tclog.SetDefault(tclog.NewNoopLogger())
})

// ConnectDocker connects to the daemon testcontainers finds (DOCKER_HOST, the
// Docker context, the default sockets) and asks it what it is. Its error carries
// exitcode.Unreachable when no daemon answers.
func ConnectDocker(ctx context.Context) (*Docker, error) {
	if ok, why := DockerAvailable(ctx); !ok {
		return nil, noDaemon(why)
	}
	p, err := testcontainers.NewDockerProvider(testcontainers.WithDefaultBridgeNetwork(string(hostNet)),
		testcontainers.WithLogger(tclog.NewNoopLogger()))
	if err != nil {
		return nil, noDaemon(oneLine(err))
	}
	d := &Docker{provider: p, cli: p.Client()}
	info, err := d.cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, noDaemon(oneLine(err))
	}
	d.Info = DockerInfo{Host: d.cli.DaemonHost(), ServerVersion: info.Info.ServerVersion, APIVersion: d.cli.ClientVersion(),
		StorageDriver: info.Info.Driver, CgroupVersion: info.Info.CgroupVersion, CgroupDriver: info.Info.CgroupDriver,
		NCPU: info.Info.NCPU, MemTotal: info.Info.MemTotal}
	return d, nil
}

// Image is an image a run used, as the daemon has it: imported images have no
// registry digest, so the image ID and the recipe hash of deploy/images/build.sh
// (LabelImage) say what ran.
type Image struct {
	Ref    string `json:"ref"`
	ID     string `json:"id"`
	Recipe string `json:"recipe,omitempty"`
	// Revision is the source revision of a vectorstream image (its
	// org.vectorstream.revision label).
	Revision string `json:"revision,omitempty"`
	// Digests are the registry digests of a pulled image (none for a built one).
	Digests []string `json:"digests,omitempty"`
}

// Image looks ref up on the daemon; a missing image is an error that says how
// to build the project's own (nothing is pulled unless the image is missing and
// a registry answers, as testcontainers does).
func (d *Docker) Image(ctx context.Context, ref string) (Image, error) {
	ins, err := d.cli.ImageInspect(ctx, ref)
	if err != nil {
		return Image{Ref: ref}, err
	}
	img := Image{Ref: ref, ID: ins.ID, Digests: ins.RepoDigests}
	if ins.Config != nil {
		img.Recipe = ins.Config.Labels[LabelImage]
		img.Revision = ins.Config.Labels["org.vectorstream.revision"]
	}
	return img, nil
}

// Limits are a container's resource limits, enforced by Docker (cgroups).
type Limits struct {
	// CPUs is the share of CPUs the container may use (0.5: half a core); 0: no limit.
	CPUs float64 `yaml:"cpus,omitempty" json:"cpus,omitempty"`
	// Memory is the memory limit, in Docker's notation ("512m", "1g"); "": none.
	// Swap is held to the same (no swap beyond it), so the limit is what the
	// container gets.
	Memory string `yaml:"memory,omitempty" json:"memory,omitempty"`
}

// MemoryBytes parses Memory; 0 for no limit.
func (l Limits) MemoryBytes() (int64, error) {
	if l.Memory == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(l.Memory)
	if err != nil {
		return 0, fmt.Errorf("memory %q: %w", l.Memory, err)
	}
	return n, nil
}

// Validate names what is wrong with l (the field names are the scenario's).
func (l Limits) Validate() []string {
	var out []string
	if l.CPUs < 0 {
		out = append(out, fmt.Sprintf("cpus: must be > 0, got %g", l.CPUs))
	}
	if n, err := l.MemoryBytes(); err != nil {
		out = append(out, "memory: "+err.Error())
	} else if l.Memory != "" && n < 6<<20 {
		// Docker's own floor.
		out = append(out, fmt.Sprintf("memory: Docker needs at least 6m, got %q", l.Memory))
	}
	return out
}

// ContainerSpec is one container to run.
type ContainerSpec struct {
	// Role names the container in logs, labels and results (kafka, qdrant, pipeline).
	Role  string
	Image string
	// Entrypoint and Cmd replace the image's when set.
	Entrypoint, Cmd []string
	Env             map[string]string
	// Binds are host folders mounted in the container ("host:container[:ro]").
	Binds []string
	// StopSignal is what Stop sends first (the image's when empty; Docker's
	// default is SIGTERM).
	StopSignal string
	Limits     Limits
	// Run labels the container with the run it belongs to.
	Run string
	// Ready waits until the container serves (a log line, or a real protocol
	// check on its loopback port); nil: started is enough.
	Ready wait.Strategy
	// LogDir receives <LogName>.log, the container's output, when it is removed.
	LogDir string
	// LogName names the log file; Role when empty.
	LogName string
}

// Container is a running container of the harness's.
type Container struct {
	d     *Docker
	c     *testcontainers.DockerContainer
	spec  ContainerSpec
	Image Image
	// ID is Docker's container ID.
	ID string
	// EnforcedCPUs and EnforcedMemory are the limits Docker reports it set on
	// the container (its HostConfig's NanoCpus and Memory, read back after the
	// start): 0 for none.
	EnforcedCPUs   float64
	EnforcedMemory int64

	final atomic.Pointer[State] // its state just before Remove

	statsMu   sync.Mutex
	lastCPU   uint64
	lastRead  time.Time
	removeOne sync.Once
}

// Run creates and starts spec's container on the host network, with its
// limits, and waits for spec.Ready. On failure the container (if any) is
// removed, its log kept in spec.LogDir.
func (d *Docker) Run(ctx context.Context, spec ContainerSpec) (*Container, error) {
	// The project's images are built here, never pulled: a missing one is an
	// error that says how to build it. Another (apache/kafka, qdrant/qdrant)
	// testcontainers pulls where a registry answers.
	img, imgErr := d.Image(ctx, spec.Image)
	if imgErr != nil && strings.HasPrefix(spec.Image, "vectorstream/") {
		return nil, fmt.Errorf("%s: image %s: %s: build the project's images with make images (deploy/images/build.sh)", spec.Role, spec.Image, oneLine(imgErr))
	}
	mem, err := spec.Limits.MemoryBytes()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Role, err)
	}
	host, _ := os.Hostname()
	labels := map[string]string{labelOwner: host + ":" + strconv.Itoa(os.Getpid()), labelRole: spec.Role}
	if spec.Run != "" {
		labels[labelRun] = spec.Run
	}
	req := testcontainers.ContainerRequest{
		Image: spec.Image, Entrypoint: spec.Entrypoint, Cmd: spec.Cmd, Env: spec.Env, Labels: labels,
		WaitingFor: spec.Ready,
		ConfigModifier: func(c *container.Config) {
			if spec.StopSignal != "" {
				c.StopSignal = spec.StopSignal
			}
		},
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.NetworkMode = hostNet
			hc.Binds = append(hc.Binds, spec.Binds...)
			hc.NanoCPUs = int64(spec.Limits.CPUs * 1e9)
			if mem > 0 {
				hc.Memory, hc.MemorySwap = mem, mem
			}
		},
	}
	ctr, err := d.provider.CreateContainer(ctx, req)
	dc, _ := ctr.(*testcontainers.DockerContainer)
	if dc == nil {
		if err == nil {
			err = errors.New("no container")
		}
		return nil, fmt.Errorf("%s: create container of %s: %w", spec.Role, spec.Image, err)
	}
	if imgErr != nil { // pulled just now
		img, _ = d.Image(ctx, spec.Image)
	}
	c := &Container{d: d, c: dc, spec: spec, Image: img, ID: dc.GetContainerID()}
	if err == nil {
		err = dc.Start(ctx)
	}
	if err != nil {
		c.Remove()
		return nil, fmt.Errorf("%s (%s): %w%s", spec.Role, spec.Image, err, c.logTail())
	}
	if ins, err := d.cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{}); err == nil && ins.Container.HostConfig != nil {
		c.EnforcedCPUs = float64(ins.Container.HostConfig.NanoCPUs) / 1e9
		c.EnforcedMemory = ins.Container.HostConfig.Memory
	}
	return c, nil
}

// Final is the container's state just before it was removed (nil before).
func (c *Container) Final() *State { return c.final.Load() }

// logTail is the end of the container's saved log, for an error message.
func (c *Container) logTail() string {
	if c.spec.LogDir == "" {
		return ""
	}
	b, err := os.ReadFile(c.LogPath())
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return "; its last lines:\n" + strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// Role is the container's role.
func (c *Container) Role() string { return c.spec.Role }

// Limits are the limits it runs under.
func (c *Container) Limits() Limits { return c.spec.Limits }

// LogPath is where Remove saves its output ("" when it keeps none).
func (c *Container) LogPath() string {
	if c.spec.LogDir == "" {
		return ""
	}
	return filepath.Join(c.spec.LogDir, orRole(c.spec.LogName, c.spec.Role)+".log")
}

// LogDir is the folder of its saved output ("" for none).
func (c *Container) LogDir() string { return c.spec.LogDir }

// RunLabel is the run it is labelled with.
func (c *Container) RunLabel() string { return c.spec.Run }

func orRole(name, role string) string {
	if name == "" {
		return role
	}
	return name
}

// State is a container's state as Docker reports it.
type State struct {
	Running   bool
	Pid       int // on the host; 0 when not running
	ExitCode  int
	OOMKilled bool
	Status    string
}

// State asks Docker for c's state.
func (c *Container) State(ctx context.Context) (State, error) {
	ins, err := c.d.cli.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
	if err != nil {
		return State{}, fmt.Errorf("%s: inspect: %w", c.spec.Role, err)
	}
	st := ins.Container.State
	if st == nil {
		return State{}, fmt.Errorf("%s: inspect: no state", c.spec.Role)
	}
	return State{Running: st.Running, Pid: st.Pid, ExitCode: st.ExitCode, OOMKilled: st.OOMKilled, Status: string(st.Status)}, nil
}

// Kill sends sig (e.g. SIGKILL, SIGINT) to the container's main process.
func (c *Container) Kill(ctx context.Context, sig syscall.Signal) error {
	name := sigName(sig)
	if _, err := c.d.cli.ContainerKill(ctx, c.ID, client.ContainerKillOptions{Signal: name}); err != nil {
		return fmt.Errorf("%s: kill %s: %w", c.spec.Role, name, err)
	}
	return nil
}

func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return strconv.Itoa(int(sig))
}

// Stop stops the container (its stop signal, then SIGKILL after timeout); it
// stays, with its file system, for Start.
func (c *Container) Stop(ctx context.Context, timeout time.Duration) error {
	if err := c.c.Stop(ctx, &timeout); err != nil {
		return fmt.Errorf("%s: stop: %w", c.spec.Role, err)
	}
	return nil
}

// Start starts a stopped container again (same file system, same ports).
func (c *Container) Start(ctx context.Context) error {
	if err := c.c.Start(ctx); err != nil {
		return fmt.Errorf("%s: start: %w", c.spec.Role, err)
	}
	return nil
}

// Wait blocks until the container's main process has exited, or ctx ends.
func (c *Container) Wait(ctx context.Context) (State, error) {
	res := c.d.cli.ContainerWait(ctx, c.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case err := <-res.Error:
		if err != nil {
			return State{}, fmt.Errorf("%s: wait: %w", c.spec.Role, err)
		}
	case <-res.Result:
	case <-ctx.Done():
		return State{}, ctx.Err()
	}
	return c.State(ctx)
}

// Stdout follows the container's standard output from its start (not its
// standard error), until it exits or ctx ends.
func (c *Container) Stdout(ctx context.Context) (io.ReadCloser, error) {
	rc, err := c.d.cli.ContainerLogs(ctx, c.ID, client.ContainerLogsOptions{ShowStdout: true, Follow: true})
	if err != nil {
		return nil, fmt.Errorf("%s: logs: %w", c.spec.Role, err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(pw, io.Discard, rc)
		_ = rc.Close()
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// Sample is a container's resource use at one time, from Docker's stats (as
// `docker stats` shows them).
type Sample struct {
	// CPUCores is the CPU the container used since the previous sample, in
	// cores (0.5: half a core); the first sample has none (-1).
	CPUCores float64
	// MemoryBytes is its memory use less the inactive page cache, as docker
	// stats counts it; MemoryLimit is the limit it ran under (the host's memory
	// when none).
	MemoryBytes, MemoryLimit uint64
}

// Stats takes one sample of c's resource use (Docker's one-shot stats).
func (c *Container) Stats(ctx context.Context) (Sample, error) {
	res, err := c.d.cli.ContainerStats(ctx, c.ID, client.ContainerStatsOptions{})
	if err != nil {
		return Sample{}, fmt.Errorf("%s: stats: %w", c.spec.Role, err)
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return Sample{}, fmt.Errorf("%s: stats: %w", c.spec.Role, err)
	}
	s := Sample{CPUCores: -1, MemoryLimit: st.MemoryStats.Limit, MemoryBytes: st.MemoryStats.Usage}
	// cgroup v1 names it total_inactive_file, v2 inactive_file (docker stats subtracts it).
	for _, k := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := st.MemoryStats.Stats[k]; ok && v <= s.MemoryBytes {
			s.MemoryBytes -= v
			break
		}
	}
	c.statsMu.Lock()
	defer c.statsMu.Unlock()
	cpu := st.CPUStats.CPUUsage.TotalUsage
	if !c.lastRead.IsZero() && st.Read.After(c.lastRead) && cpu >= c.lastCPU {
		s.CPUCores = float64(cpu-c.lastCPU) / float64(st.Read.Sub(c.lastRead).Nanoseconds())
	}
	if !st.Read.IsZero() {
		c.lastCPU, c.lastRead = cpu, st.Read
	}
	return s, nil
}

// Remove saves the container's output to spec.LogDir and removes it (killed
// first if it runs), once; bounded to 30 s. Errors are dropped: Remove runs on
// the way out, and RemoveOrphans takes what is left.
func (c *Container) Remove() {
	c.removeOne.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if st, err := c.State(ctx); err == nil {
			c.final.Store(&st)
		}
		if c.spec.LogDir != "" {
			_ = c.saveLogs(ctx)
		}
		_ = testcontainers.TerminateContainer(c.c, testcontainers.StopContext(ctx), testcontainers.StopTimeout(0))
	})
}

func (c *Container) saveLogs(ctx context.Context) error {
	rc, err := c.d.cli.ContainerLogs(ctx, c.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := os.MkdirAll(c.spec.LogDir, 0o750); err != nil {
		return err
	}
	f, err := os.Create(c.LogPath())
	if err != nil {
		return err
	}
	_, err = stdcopy.StdCopy(f, f, rc)
	return errors.Join(err, f.Close())
}

// RemoveOrphans removes the containers of the harness's label whose owner is a
// process of this host that no longer runs: what a killed harness (SIGKILL, a
// crash) left behind. It returns how many it removed.
func (d *Docker) RemoveOrphans(ctx context.Context) (int, error) {
	list, err := d.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", labelOwner)})
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	host, _ := os.Hostname()
	n := 0
	for _, s := range list.Items {
		owner := s.Labels[labelOwner]
		h, pidText, ok := strings.Cut(owner, ":")
		pid, perr := strconv.Atoi(pidText)
		if !ok || perr != nil || h != host || processAlive(pid) {
			continue
		}
		if _, err := d.cli.ContainerRemove(ctx, s.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err == nil {
			n++
		}
	}
	return n, nil
}

// processAlive reports whether pid is a live process of this host.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Networks lists the daemon's networks by name (a test checks that nothing but
// host and none exist after the containers ran).
func (d *Docker) Networks(ctx context.Context) ([]string, error) {
	res, err := d.cli.NetworkList(ctx, client.NetworkListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(res.Items))
	for _, n := range res.Items {
		out = append(out, n.Name)
	}
	return out, nil
}

// Close releases the connection to the daemon.
func (d *Docker) Close() { _ = d.provider.Close() }
