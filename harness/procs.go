package harness

import (
	"math"
	"os"
	"slices"
	"sync"

	"github.com/vectorstream/vectorstream/internal/measure"
)

// The names of a run's processes in the process table (and timeline.csv's
// rss_anon_bytes_<name> columns): pipeline processes are procPipeline, or
// procPipeline-k in a group; load processes procLoad-k.
const (
	procHarness  = "harness"
	procInfra    = "infra"
	procPipeline = "pipeline"
	procLoad     = "load"
	// procQdrantEngine is the Qdrant engine server, a child of the harness or
	// of `vectorstream infra serve`.
	procQdrantEngine = "qdrant-engine"
)

// procTable names the processes of a run, the harness first, with the pid each has
// now, so the sampler can read every one's anonymous memory once a second. A name
// keeps its column when its process is replaced (a pipeline_crash restart). The
// zero of *procTable (nil) records nothing.
type procTable struct {
	mu    sync.Mutex
	names []string       // in the order they first started
	pids  map[string]int // 0 once the process ended
}

func newProcTable() *procTable {
	return &procTable{names: []string{procHarness}, pids: map[string]int{procHarness: os.Getpid()}}
}

// started records that name now runs as pid.
func (t *procTable) started(name string, pid int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.pids[name]; !ok {
		t.names = append(t.names, name)
	}
	t.pids[name] = pid
}

// ended records that name's process is gone.
func (t *procTable) ended(name string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.pids[name]; ok {
		t.pids[name] = 0
	}
}

// sample returns the RssAnon of every process that runs now, by name; a process
// that cannot be read (it just ended, or there is no /proc) is left out.
func (t *procTable) sample() map[string]uint64 {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	pids := make(map[string]int, len(t.pids))
	for n, p := range t.pids {
		if p > 0 {
			pids[n] = p
		}
	}
	t.mu.Unlock()
	out := make(map[string]uint64, len(pids))
	for n, p := range pids {
		if v, err := measure.RSSAnon(p); err == nil {
			out[n] = v
		}
	}
	return out
}

// Names returns the process names in the order they first started.
func (t *procTable) Names() []string {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.names)
}

// procTag is where a child process records itself: its table and name.
type procTag struct {
	t    *procTable
	name string
}

func (g procTag) started(pid int) { g.t.started(g.name, pid) }
func (g procTag) ended()          { g.t.ended(g.name) }

// ProcessMemory is one process of a run with its anonymous resident memory
// (RssAnon) over the load window: warm-up and measured seconds, split in quarters.
type ProcessMemory struct {
	// Name is the process's column in timeline.csv (rss_anon_bytes_<name>).
	Name string `json:"name"`
	// What says what ran in it.
	What string `json:"what"`
	// PeakBytes is the highest RssAnon sampled in the whole run, drain included.
	PeakBytes uint64 `json:"peak_rss_anon_bytes"`
	// QuarterPeakBytes are the highest RssAnon in each quarter of the load window.
	QuarterPeakBytes [4]uint64 `json:"load_quarter_peak_rss_anon_bytes"`
	// Growth is the last quarter's peak over the second quarter's, minus one
	// (0.05: 5 % more); NaN-free: 0 when the second quarter has no sample.
	Growth float64 `json:"rss_anon_growth"`
}

// processMemory sums up the timeline's RssAnon columns, one ProcessMemory a name.
func processMemory(rows []TimelineRow, names []string, loadSeconds int, what func(string) string) []ProcessMemory {
	out := make([]ProcessMemory, 0, len(names))
	for _, n := range names {
		pm := ProcessMemory{Name: n, What: what(n)}
		for _, r := range rows {
			v, ok := r.RSSAnon[n]
			if !ok {
				continue
			}
			pm.PeakBytes = max(pm.PeakBytes, v)
			if loadSeconds > 0 && r.Second >= 1 && r.Second <= loadSeconds {
				q := min(3, (r.Second-1)*4/loadSeconds)
				pm.QuarterPeakBytes[q] = max(pm.QuarterPeakBytes[q], v)
			}
		}
		if q2 := pm.QuarterPeakBytes[1]; q2 > 0 {
			pm.Growth = float64(pm.QuarterPeakBytes[3])/float64(q2) - 1
			pm.Growth = math.Round(pm.Growth*1e4) / 1e4
		}
		out = append(out, pm)
	}
	return out
}
