package harness

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vectorstream/vectorstream/embed"
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
	// Embedded is true when Kafka and Qdrant were in-process stand-ins, whose numbers
	// are not Kafka's or Qdrant's.
	Embedded         bool   `json:"embedded_stand_ins"`
	EmbeddingBackend string `json:"embedding_backend"`
	// BackendSelection is which backend embedding.backend chose and why (auto picks
	// CUDA only when built in and a device answers), with the GPU and its memory.
	BackendSelection *embed.Selection `json:"backend_selection,omitempty"`
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
