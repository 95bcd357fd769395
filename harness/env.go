package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
)

// Environment is where a run's numbers came from.
type Environment struct {
	GitRevision string `json:"git_revision"`
	GitDirty    bool   `json:"git_dirty"`
	GoVersion   string `json:"go_version"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	Kernel      string `json:"kernel,omitempty"`
	Hostname    string `json:"hostname,omitempty"`
	CPUModel    string `json:"cpu_model"`
	CPUCores    int    `json:"cpu_cores"`
	GOMAXPROCS  int    `json:"gomaxprocs"`
	MemoryBytes uint64 `json:"memory_bytes"`
	GPU         string `json:"gpu"`
	InfraMode   string `json:"infra_mode"`
	Kafka       string `json:"kafka"`
	Qdrant      string `json:"qdrant"`
	// StandIns says which of Kafka and Qdrant were embedded stand-ins, whose
	// numbers are not Kafka's or Qdrant's. Qdrant's engine server (QdrantStore
	// "engine") is Qdrant's storage engine, not a stand-in.
	StandIns StandIns `json:"embedded_stand_ins"`
	// QdrantStore is what served Qdrant in the embedded mode (infra.qdrant_store).
	QdrantStore string `json:"qdrant_store,omitempty"`
	// Docker is the daemon of a containers-mode run: version, storage driver,
	// cgroups.
	Docker *infra.DockerInfo `json:"docker,omitempty"`
	// Containers are the containers of a containers-mode run: images (ID and
	// recipe hash), limits asked and enforced, resource use and how each ended.
	Containers       []ContainerResult `json:"containers,omitempty"`
	EmbeddingBackend string            `json:"embedding_backend"`
	// BackendSelection is which backend embedding.backend chose and why (auto picks
	// CUDA only when built in and a device answers), with the GPU and its memory.
	BackendSelection *embed.Selection `json:"backend_selection,omitempty"`
}

// StandIns says which services were embedded stand-ins.
type StandIns struct {
	Kafka  bool `json:"kafka"`
	Qdrant bool `json:"qdrant"`
}

// Any reports whether any service was a stand-in.
func (s StandIns) Any() bool { return s.Kafka || s.Qdrant }

// Label names the stand-ins for a plot title or a table, "" when none.
func (s StandIns) Label() string {
	switch {
	case s.Kafka && s.Qdrant:
		return "embedded Kafka/Qdrant stand-ins"
	case s.Kafka:
		return "embedded Kafka stand-in; Qdrant's engine"
	case s.Qdrant:
		return "embedded Qdrant stand-in"
	}
	return ""
}

// UnmarshalJSON reads the object, or the one boolean results recorded before
// the engine server (true: both were stand-ins).
func (s *StandIns) UnmarshalJSON(b []byte) error {
	var both bool
	if err := json.Unmarshal(b, &both); err == nil {
		*s = StandIns{Kafka: both, Qdrant: both}
		return nil
	}
	type plain StandIns
	return json.Unmarshal(b, (*plain)(s))
}

// CaptureEnvironment describes this machine and build.
func CaptureEnvironment(ctx context.Context) Environment {
	e := Environment{
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		CPUCores:   runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GPU:        "none detected",
	}
	e.Hostname, _ = os.Hostname()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				e.GitRevision = s.Value
			case "vcs.modified":
				e.GitDirty = s.Value == "true"
			}
		}
	}
	if e.GitRevision == "" {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output(); err == nil {
			e.GitRevision = strings.TrimSpace(string(out))
		}
		if out, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil {
			e.GitDirty = len(strings.TrimSpace(string(out))) > 0
		}
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		e.Kernel = utsString(u.Release[:])
	}
	e.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		n, _ := strconv.ParseUint(strings.Fields(kb)[0], 10, 64)
		e.MemoryBytes = n * 1024
	}
	return e
}

func utsString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
