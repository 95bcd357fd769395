package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/workloads"
)

// What one unit of a scenario costs, per process. They are upper estimates, from
// the RssAnon and disk use of measured runs (results/soak-10k-15m for the
// per-event costs; the catalog's from a 1,000,000-product run at 3.5 GB): the
// estimate exists to refuse a scenario that cannot fit, not to predict a peak.
const (
	estProcessBase   = 160 << 20 // a Go process of ours: runtime, model, histograms, clients
	estPositionBytes = 16        // harness: where Kafka put each event (load generator)
	estProductBytes  = 3584      // harness: catalog and the TF-IDF + SVD fit over it
	estUserBytes     = 256       // per user, besides its profile vector (pipeline cache, verifier)
	estDeadLetter    = 200       // harness verifier: a malformed event's id and reason
	estKafkaRecord   = 700       // embedded Kafka: one raw_data record with its headers, uncompressed
	estQdrantPayload = 400       // Qdrant stand-in: one point's payload and index entry, on disk
	estQdrantCache   = 96 << 20  // Qdrant stand-in: its index's memtables and block cache
	// The Qdrant engine server, from results/soak-10k-1h-keep-all's first minutes (128
	// dimensions): ~900 B a point on disk besides the vector (payload storage,
	// HNSW links, id tracker), the optimizer's temporary segments, and the id
	// tracker's and versions' memory per point.
	estEnginePoint    = 512
	estEngineTemp     = 1 << 30
	estEngineBase     = 512 << 20
	estEnginePointMem = 32
)

// EstimatePart is one thing the run will hold: in which process, how much memory
// and disk, and the scenario fields it grows with.
type EstimatePart struct {
	Process string   `json:"process"`
	What    string   `json:"what"`
	Memory  int64    `json:"memory_bytes"`
	Disk    int64    `json:"disk_bytes"`
	Fields  []string `json:"fields,omitempty"`
}

// Estimate is what a scenario needs of the machine, before any load.
type Estimate struct {
	Events int64          `json:"events"`
	Parts  []EstimatePart `json:"parts"`
	Memory int64          `json:"memory_bytes"`
	Disk   int64          `json:"disk_bytes"`
}

// EstimateRun estimates the memory and disk sc needs on this machine: only what
// runs here counts (external services are someone else's machine).
func EstimateRun(sc *Scenario) (Estimate, error) {
	sched, err := workloads.NewSchedule(sc.Load, sc.Warmup+sc.Duration)
	if err != nil {
		return Estimate{}, fmt.Errorf("%w: load: %w", exitcode.ErrConfig, err)
	}
	n := sched.Count()
	e := Estimate{Events: n}
	events := []string{"load.rate", "warmup", "duration"}
	dim := int64(sc.Embedding.Dim)
	users := int64(sc.Workload.Users)
	profile := users * (dim*4*2 + estUserBytes)
	add := func(proc, what string, mem, disk int64, fields ...string) {
		e.Parts = append(e.Parts, EstimatePart{Process: proc, What: what, Memory: mem, Disk: disk, Fields: fields})
	}
	add(procHarness, "process", estProcessBase, 0)
	add(procHarness, "where Kafka put each event", n*estPositionBytes, 0, events...)
	add(procHarness, "catalog and model fit", int64(sc.Workload.Products)*estProductBytes, 0, "workload.products")
	add(procHarness, "user profiles, recomputed by the verifier", profile, 0, "workload.users", "embedding.dimensions")
	add(procHarness, "dead letters the verifier expects", int64(float64(n)*sc.Workload.MalformedFraction)*estDeadLetter, 0,
		append(events, "workload.malformed_fraction")...)
	pipe := procHarness
	if sc.Infra.PipelineProcess {
		pipe = procPipeline
		for range max(1, sc.Infra.PipelineProcesses) {
			add(pipe, "process", estProcessBase, 0)
		}
	}
	add(pipe, "profile cache", profile, 0, "workload.users", "embedding.dimensions")
	if sc.Infra.Mode == infra.ModeEmbedded || sc.Infra.Mode == "" {
		host := procHarness
		if sc.Infra.Process {
			host = procInfra
			add(host, "process", estProcessBase, 0)
		}
		parts := int64(sc.Kafka.Partitions)
		kafka := min(n*estKafkaRecord, 2*parts*(infra.DefaultRetentionBytes+8<<20))
		add(host, "embedded Kafka log on disk (bounded by retention)", 0, kafka, append(events, "kafka.partitions")...)
		points := n + users
		if engine, _ := qdrantStoreOf(sc); engine {
			what := "of every point"
			if ret := sc.Pipeline.Qdrant.Retention; ret > 0 {
				// The engine vacuums deleted points away: it holds the window, and
				// the deleted points of segments not yet rebuilt, allowed for as half
				// a window more (a margin, not a measurement: soak-10k-1h's 30 s
				// window held about 550 MiB of engine RssAnon).
				span := sc.Warmup + sc.Duration
				points = min(n, int64(float64(n)*1.5*ret.Seconds()/span.Seconds())) + users
				what = "of the retention's window"
				events = append(events, "pipeline.qdrant.retention")
			}
			add(procQdrantEngine, "process, segments being built", estEngineBase, estEngineTemp)
			add(procQdrantEngine, "id tracker and versions "+what, points*estEnginePointMem, 0, events...)
			add(procQdrantEngine, "Qdrant engine segments (vectors, payloads, HNSW) "+what, 0, points*(dim*4+estEnginePoint),
				append(events, "embedding.dimensions")...)
		} else {
			add(host, "Qdrant stand-in index caches", estQdrantCache, 0)
			add(host, "Qdrant stand-in points", 0, points*(dim*4+estQdrantPayload), append(events, "embedding.dimensions")...)
		}
	}
	for _, p := range e.Parts {
		e.Memory += p.Memory
		e.Disk += p.Disk
	}
	return e, nil
}

// Machine is what this machine offers a run: memory available now (MemAvailable)
// and free disk where the stand-ins keep their data.
type Machine struct {
	MemAvailable int64
	DiskFree     int64
	DiskAt       string
}

// ThisMachine measures Machine; a value it cannot read is 0 (not checked).
func ThisMachine() Machine {
	m := Machine{DiskAt: infra.DataRoot()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemAvailable = memAvailable(b)
	}
	var st syscall.Statfs_t
	if err := os.MkdirAll(m.DiskAt, 0o755); err == nil && syscall.Statfs(m.DiskAt, &st) == nil {
		m.DiskFree = int64(st.Bavail) * int64(st.Bsize)
	}
	return m
}

func memAvailable(meminfo []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("MemAvailable:")); ok {
			f := bytes.Fields(rest)
			if len(f) == 2 {
				kb, _ := strconv.ParseInt(string(f[0]), 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// Fits refuses, as a configuration error, an estimate that does not fit m: it
// names the memory or disk needed and available, the largest parts, and the
// scenario fields they grow with.
func (e Estimate) Fits(m Machine) error {
	var problems []string
	if m.MemAvailable > 0 && e.Memory > m.MemAvailable {
		problems = append(problems, fmt.Sprintf("memory: about %s needed, %s available; %s",
			bytesText(e.Memory), bytesText(m.MemAvailable), e.largest(func(p EstimatePart) int64 { return p.Memory })))
	}
	if m.DiskFree > 0 && e.Disk > m.DiskFree {
		problems = append(problems, fmt.Sprintf("disk under %s: about %s needed, %s free; %s",
			m.DiskAt, bytesText(e.Disk), bytesText(m.DiskFree), e.largest(func(p EstimatePart) int64 { return p.Disk })))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: the scenario does not fit this machine (%d events): %s. Lower the fields named, or pass --force to run anyway",
		exitcode.ErrConfig, e.Events, strings.Join(problems, "; "))
}

// largest names the two biggest parts by size, with their fields.
func (e Estimate) largest(size func(EstimatePart) int64) string {
	parts := append([]EstimatePart(nil), e.Parts...)
	sort.SliceStable(parts, func(i, j int) bool { return size(parts[i]) > size(parts[j]) })
	var out []string
	for _, p := range parts[:min(2, len(parts))] {
		if size(p) == 0 {
			break
		}
		s := fmt.Sprintf("%s in the %s process: %s", p.What, p.Process, bytesText(size(p)))
		if len(p.Fields) > 0 {
			s += " (" + strings.Join(p.Fields, ", ") + ")"
		}
		out = append(out, s)
	}
	return "largest: " + strings.Join(out, ", ")
}

func bytesText(b int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, u := float64(b), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[u]
}

// CheckFits estimates every run of sc (each sweep point) and refuses one that does
// not fit this machine. sets are the --set overrides sc was loaded with.
func CheckFits(sc *Scenario, sets []string) error {
	points := []*Scenario{sc}
	if sc.Sweep != nil {
		points = points[:0]
		for _, v := range sc.Sweep.Values {
			p, err := sc.Point(v, sets)
			if err != nil {
				return err
			}
			points = append(points, p)
		}
	}
	m := ThisMachine()
	for i, p := range points {
		e, err := EstimateRun(p)
		if err != nil {
			return err
		}
		if err := e.Fits(m); err != nil {
			if sc.Sweep != nil {
				return fmt.Errorf("sweep %s=%s: %w", sc.Sweep.Parameter, sc.Sweep.Values[i], err)
			}
			return err
		}
	}
	return nil
}
