package harness

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/pipeline"
)

// SchemaVersion is the version of result.json's layout.
const SchemaVersion = 1

// Result is everything one run leaves behind in result.json.
type Result struct {
	SchemaVersion int         `json:"schema_version"`
	RunID         string      `json:"run_id"`
	Scenario      Scenario    `json:"scenario"`
	Environment   Environment `json:"environment"`
	Started       time.Time   `json:"started"`
	Finished      time.Time   `json:"finished"`
	// MeasureStart and MeasureEnd bound the measured window (after warm-up, until the
	// load stopped).
	MeasureStart time.Time `json:"measure_start"`
	MeasureEnd   time.Time `json:"measure_end"`

	Counts       Counts                    `json:"counts"`
	Throughput   Throughput                `json:"throughput"`
	Latency      map[string]Percentiles    `json:"latency"`
	Histograms   map[string]string         `json:"histograms"`
	Pipeline     pipeline.Snapshot         `json:"-"`
	Verification Verification              `json:"verification"`
	Validity     Validity                  `json:"validity"`
	Gates        []GateResult              `json:"gates"`
	Passed       bool                      `json:"passed"`
	Notes        []string                  `json:"notes,omitempty"`
	Extra        map[string]float64        `json:"extra,omitempty"`
	Timeline     []TimelineRow             `json:"-"`
	Stages       map[string]StageBreakdown `json:"stage_breakdown,omitempty"`
	// Faults are the faults injected, with their actual windows and recovery times.
	Faults []FaultResult `json:"faults,omitempty"`
	// Processes are the processes of the run (the harness and every one it started)
	// with their anonymous resident memory over the load window.
	Processes []ProcessMemory `json:"processes,omitempty"`
	// Proxies are the fault proxies the run put in the path (none without faults
	// on the wire), with what each hop cost.
	Proxies []ProxyResult `json:"proxies,omitempty"`
}

// Counts are the run's totals.
type Counts struct {
	Offered       int64 `json:"offered"`
	Produced      int64 `json:"produced"`
	ProduceErrors int64 `json:"produce_errors"`
	Valid         int64 `json:"valid"`
	Malformed     int64 `json:"malformed"`
	Consumed      int64 `json:"consumed"`
	Written       int64 `json:"written"`
	DeadLettered  int64 `json:"dead_lettered"`
	Redelivered   int64 `json:"redelivered"`
	Batches       int64 `json:"batches"`
	Retries       int64 `json:"retries"`
	// BreakerOpens counts circuit breaker openings, Held the batches held in memory
	// while a dependency was down (no spool), BackendFallbacks GPU → CPU switches.
	BreakerOpens     int64 `json:"breaker_opens"`
	Held             int64 `json:"held_batches"`
	BackendFallbacks int64 `json:"backend_fallbacks"`
	// Warmup is the part of the counts above that belongs to the warm-up: events the
	// schedule intended before the measured window. The totals include it; latency
	// percentiles and throughput leave it out.
	Warmup WarmupCounts `json:"warmup"`
}

// WarmupCounts are the events of a run's totals that the schedule intended during the
// warm-up.
type WarmupCounts struct {
	Offered      int64 `json:"offered"`
	Produced     int64 `json:"produced"`
	Written      int64 `json:"written"`
	DeadLettered int64 `json:"dead_lettered"`
}

// Throughput is measured over the window after warm-up.
type Throughput struct {
	OfferedEPS  float64 `json:"offered_eps"`
	ProducedEPS float64 `json:"produced_eps"`
	// AchievedEPS counts events the pipeline finished (written or dead-lettered) in the
	// window, per second.
	AchievedEPS   float64 `json:"achieved_eps"`
	AchievedRatio float64 `json:"achieved_ratio"`
	FirstThirdEPS float64 `json:"first_third_eps"`
	LastThirdEPS  float64 `json:"last_third_eps"`
}

// Percentiles of one latency histogram, in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// StageBreakdown is the mean time (ms) each stage took for the events whose e2e
// latency lay near a percentile; unlike percentiles, these means add up.
type StageBreakdown map[string]float64

// PercentilesOf summarises a microsecond histogram.
func PercentilesOf(h *hdrhistogram.Histogram) Percentiles {
	ms := func(v int64) float64 { return float64(v) / 1000 }
	return Percentiles{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P95: ms(h.ValueAtQuantile(95)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()),
		Mean: h.Mean() / 1000,
	}
}

// Verification is the identity check of what Qdrant and the DLQ hold.
type Verification struct {
	Passed bool `json:"passed"`
	// Points: the event point ids equal the valid event ids produced.
	ExpectedPoints int64 `json:"expected_points"`
	StoredPoints   int64 `json:"stored_points"`
	Lost           int64 `json:"lost"`
	Unexpected     int64 `json:"unexpected"`
	// Retention (pipeline.qdrant.retention): the valid events older than the
	// pipeline's last cutoff, whose points must be gone (they are not in
	// ExpectedPoints), and that cutoff, which must be the newest valid event's
	// time minus the retention.
	Expired         int64      `json:"expired,omitempty"`
	RetentionCutoff *time.Time `json:"retention_cutoff,omitempty"`
	// DLQ: the dead letters are exactly the malformed events, with the right reasons.
	ExpectedDLQ  int64 `json:"expected_dlq"`
	DLQRecords   int64 `json:"dlq_records"`
	DLQMissing   int64 `json:"dlq_missing"`
	DLQWrong     int64 `json:"dlq_wrong_reason"`
	DLQUnknown   int64 `json:"dlq_unexpected"`
	DLQDuplicate int64 `json:"dlq_duplicates"`
	// Vectors: a sample of stored vectors equals a fresh re-embedding.
	VectorsChecked int     `json:"vectors_checked"`
	VectorsBad     int     `json:"vectors_bad"`
	MinVectorCos   float64 `json:"min_vector_cosine"`
	// Profiles: every profile equals a recomputation from the produced events.
	ExpectedProfiles int64   `json:"expected_profiles"`
	StoredProfiles   int64   `json:"stored_profiles"`
	ProfilesBad      int64   `json:"profiles_bad"`
	MinProfileCos    float64 `json:"min_profile_cosine"`
	// Spool: everything spooled during the run was replayed, and nothing waits.
	Spooled         int64 `json:"spooled"`
	Replayed        int64 `json:"replayed"`
	SpooledBatches  int64 `json:"spooled_batches"`
	ReplayedBatches int64 `json:"replayed_batches"`
	SpoolPending    int64 `json:"spool_pending"`
	// RPO is the events lost: valid events not in Qdrant plus malformed ones not in the
	// dead-letter topic. Every run must have 0.
	RPO      int64    `json:"rpo_events"`
	Problems []string `json:"problems,omitempty"`
}

// Validity says whether the run measured the system and not the harness.
type Validity struct {
	Valid           bool    `json:"valid"`
	SendDelayP99MS  float64 `json:"send_delay_p99_ms"`
	LateFraction    float64 `json:"late_fraction"`
	ThroughputDrift float64 `json:"throughput_drift"`
	// Host is what the machine and the run's processes did during the measured
	// window: the cause a failed timing check names. Absent when not measured.
	Host    *HostLoad `json:"host,omitempty"`
	Reasons []string  `json:"reasons,omitempty"`
}

// HostLoad sums up the host's load and the CPU the run's processes got over the
// measured window, from one sample a second (see docs/results.md for the units).
type HostLoad struct {
	// Cores is runtime.NumCPU of the harness process.
	Cores int `json:"cores"`
	// Samples counts the one-second intervals the host's figures come from.
	Samples int `json:"samples"`
	// LoadAvgMean and LoadAvgMax are the 1-minute load average (/proc/loadavg) at
	// the samples; it lags a change in load by about a minute.
	LoadAvgMean float64 `json:"load_avg_mean"`
	LoadAvgMax  float64 `json:"load_avg_max"`
	// RunnableMean and RunnableMax are the tasks runnable at the sample's instant
	// (the sampler's own thread included): the load without the average's lag.
	RunnableMean float64 `json:"runnable_mean"`
	RunnableMax  int     `json:"runnable_max"`
	// CPUBusyPercent is the share of all cores' time that was busy (/proc/stat;
	// 100 = every core busy), CPUBusyMaxPercent its highest one-second value, and
	// CPUNicePercent the part of it that niced processes used.
	CPUBusyPercent    float64 `json:"cpu_busy_percent"`
	CPUBusyMaxPercent float64 `json:"cpu_busy_max_percent"`
	CPUNicePercent    float64 `json:"cpu_nice_percent"`
	// CPUBusyFirstThirdPercent and CPUBusyLastThirdPercent are the busy share in the
	// thirds of the window that throughput drift compares.
	CPUBusyFirstThirdPercent float64 `json:"cpu_busy_first_third_percent"`
	CPUBusyLastThirdPercent  float64 `json:"cpu_busy_last_third_percent"`
	// Processes are the CPU the run's processes got: the harness always, the
	// pipeline when it ran as processes of its own.
	Processes []ProcessLoad `json:"processes"`
}

// Names of ProcessLoad.
const (
	// ProcessHarness is the harness process: the load generator, and whatever ran
	// inside it (an in-process pipeline, embedded Kafka and Qdrant).
	ProcessHarness = "harness"
	// ProcessPipeline is the pipeline's own processes, added up.
	ProcessPipeline = "pipeline"
)

// ProcessLoad is the CPU one of the run's processes got over the measured window.
type ProcessLoad struct {
	Name string `json:"name"`
	// CPUCores is the mean CPU time per wall second (1 = one core), CPUCoresMax its
	// highest one-second value.
	CPUCores    float64 `json:"cpu_cores"`
	CPUCoresMax float64 `json:"cpu_cores_max"`
	// RunQueueWaitCores is the mean time per wall second its threads were runnable
	// but waited for a CPU (/proc/<pid>/task/*/schedstat, summed over its threads,
	// so it may exceed the cores): CPU time it asked for and did not get. Absent
	// when not measured.
	RunQueueWaitCores *float64 `json:"runqueue_wait_cores,omitempty"`
	// RunQueueWaitPerRunMS is its threads' mean wait for a CPU each time they were
	// put on one (ms): the scheduling latency they met, which does not grow with the
	// number of threads as RunQueueWaitCores does. Absent when not measured.
	RunQueueWaitPerRunMS *float64 `json:"runqueue_wait_per_run_ms,omitempty"`
}

// process returns the named process's load, and whether it was measured.
func (h *HostLoad) process(name string) (ProcessLoad, bool) {
	for _, p := range h.Processes {
		if p.Name == name {
			return p, true
		}
	}
	return ProcessLoad{}, false
}

// GateResult is one gate's verdict.
type GateResult struct {
	Name   string  `json:"name"`
	Limit  float64 `json:"limit"`
	Actual float64 `json:"actual"`
	Unit   string  `json:"unit"`
	Passed bool    `json:"passed"`
}

// TimelineRow is one second of the run.
type TimelineRow struct {
	Second       int     `json:"second"`
	Offered      int64   `json:"offered"`
	Produced     int64   `json:"produced"`
	Consumed     int64   `json:"consumed"`
	Written      int64   `json:"written"`
	DeadLettered int64   `json:"dead_lettered"`
	E2EP50MS     float64 `json:"e2e_p50_ms"`
	E2EP99MS     float64 `json:"e2e_p99_ms"`
	E2EMaxMS     float64 `json:"e2e_max_ms"`
	Lag          int64   `json:"consumer_lag"`
	CPUPercent   float64 `json:"cpu_percent"`
	HeapBytes    uint64  `json:"heap_bytes"`
	RSSBytes     uint64  `json:"rss_bytes"`
	GCPauseMS    float64 `json:"gc_pause_ms"`
	Goroutines   int     `json:"goroutines"`
	// RSSAnon is the anonymous resident memory of each process of the run, by
	// name (see ProcessMemory): in timeline.csv one rss_anon_bytes_<name>
	// column each, empty where the process did not run that second.
	RSSAnon map[string]uint64 `json:"rss_anon_bytes,omitempty"`
	// ContainerCPU and ContainerMem are each container's CPU (in cores) and
	// memory (bytes, less the inactive page cache) that second, by role, from
	// Docker's stats (containers mode): in timeline.csv the
	// container_cpu_cores_<role> and container_mem_bytes_<role> columns.
	ContainerCPU map[string]float64 `json:"container_cpu_cores,omitempty"`
	ContainerMem map[string]uint64  `json:"container_mem_bytes,omitempty"`
}

// The timeline.csv columns of a process's RssAnon and a container's CPU and memory.
const (
	rssAnonColumn      = "rss_anon_bytes_"
	containerCPUColumn = "container_cpu_cores_"
	containerMemColumn = "container_mem_bytes_"
)

// TimelineHeader is the header row of timeline.csv.
var TimelineHeader = []string{"second", "offered", "produced", "consumed", "written", "dead_lettered",
	"e2e_p50_ms", "e2e_p99_ms", "e2e_max_ms", "consumer_lag", "cpu_percent", "heap_bytes", "rss_bytes",
	"gc_pause_ms", "goroutines"}

func (r TimelineRow) record() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{strconv.Itoa(r.Second), i(r.Offered), i(r.Produced), i(r.Consumed), i(r.Written),
		i(r.DeadLettered), f(r.E2EP50MS), f(r.E2EP99MS), f(r.E2EMaxMS), i(r.Lag), f(r.CPUPercent),
		strconv.FormatUint(r.HeapBytes, 10), strconv.FormatUint(r.RSSBytes, 10), f(r.GCPauseMS), strconv.Itoa(r.Goroutines)}
}

// WriteTimelineCSV writes rows with TimelineHeader and then one RssAnon column per
// process named in the rows, in the order they first appear (the harness first).
func WriteTimelineCSV(w io.Writer, rows []TimelineRow) error {
	procs := timelineProcs(rows)
	ctrs := timelineContainers(rows)
	cw := csv.NewWriter(w)
	header := slices.Clone(TimelineHeader)
	for _, p := range procs {
		header = append(header, rssAnonColumn+p)
	}
	for _, c := range ctrs {
		header = append(header, containerCPUColumn+c, containerMemColumn+c)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		rec := r.record()
		for _, p := range procs {
			v, ok := r.RSSAnon[p]
			rec = append(rec, map[bool]string{true: strconv.FormatUint(v, 10)}[ok])
		}
		for _, c := range ctrs {
			cpu, ok := r.ContainerCPU[c]
			rec = append(rec, map[bool]string{true: strconv.FormatFloat(cpu, 'f', 4, 64)}[ok])
			mem, ok := r.ContainerMem[c]
			rec = append(rec, map[bool]string{true: strconv.FormatUint(mem, 10)}[ok])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadTimelineCSV reads what WriteTimelineCSV wrote.
func ReadTimelineCSV(r io.Reader) ([]TimelineRow, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	if len(recs) == 0 || len(recs[0]) < len(TimelineHeader) || !slices.Equal(recs[0][:len(TimelineHeader)], TimelineHeader) {
		return nil, fmt.Errorf("timeline: header does not start with %v", TimelineHeader)
	}
	// Runs recorded before the RssAnon columns have none; later ones one a
	// process, and in containers mode two a container.
	extra := recs[0][len(TimelineHeader):]
	for _, col := range extra {
		ok := false
		for _, prefix := range []string{rssAnonColumn, containerCPUColumn, containerMemColumn} {
			if name, found := strings.CutPrefix(col, prefix); found && name != "" {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("timeline: column %q is not %s<process>, %s<container> or %s<container>", col, rssAnonColumn, containerCPUColumn, containerMemColumn)
		}
	}
	var rows []TimelineRow
	for n, rec := range recs[1:] {
		var r TimelineRow
		var errs [15]error
		pi := func(k int) int64 { v, err := strconv.ParseInt(rec[k], 10, 64); errs[k] = err; return v }
		pu := func(k int) uint64 { v, err := strconv.ParseUint(rec[k], 10, 64); errs[k] = err; return v }
		pf := func(k int) float64 { v, err := strconv.ParseFloat(rec[k], 64); errs[k] = err; return v }
		r.Second = int(pi(0))
		r.Offered, r.Produced, r.Consumed, r.Written, r.DeadLettered = pi(1), pi(2), pi(3), pi(4), pi(5)
		r.E2EP50MS, r.E2EP99MS, r.E2EMaxMS = pf(6), pf(7), pf(8)
		r.Lag, r.CPUPercent, r.HeapBytes, r.RSSBytes, r.GCPauseMS = pi(9), pf(10), pu(11), pu(12), pf(13)
		r.Goroutines = int(pi(14))
		for k, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("timeline row %d, column %s: %w", n+2, TimelineHeader[k], err)
			}
		}
		for k, col := range extra {
			cell := rec[len(TimelineHeader)+k]
			if cell == "" {
				continue
			}
			if err := r.setExtra(col, cell); err != nil {
				return nil, fmt.Errorf("timeline row %d, column %s: %w", n+2, col, err)
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// setExtra sets the value of one of the per-process or per-container columns.
func (r *TimelineRow) setExtra(col, cell string) error {
	if p, ok := strings.CutPrefix(col, rssAnonColumn); ok {
		v, err := strconv.ParseUint(cell, 10, 64)
		if err != nil {
			return err
		}
		if r.RSSAnon == nil {
			r.RSSAnon = map[string]uint64{}
		}
		r.RSSAnon[p] = v
		return nil
	}
	if c, ok := strings.CutPrefix(col, containerCPUColumn); ok {
		v, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			return err
		}
		if r.ContainerCPU == nil {
			r.ContainerCPU = map[string]float64{}
		}
		r.ContainerCPU[c] = v
		return nil
	}
	c, _ := strings.CutPrefix(col, containerMemColumn)
	v, err := strconv.ParseUint(cell, 10, 64)
	if err != nil {
		return err
	}
	if r.ContainerMem == nil {
		r.ContainerMem = map[string]uint64{}
	}
	r.ContainerMem[c] = v
	return nil
}

// timelineContainers returns the containers named in rows, in the order they
// first appear (by role within a row).
func timelineContainers(rows []TimelineRow) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		names := slices.Sorted(maps.Keys(r.ContainerMem))
		for _, c := range slices.Sorted(maps.Keys(r.ContainerCPU)) {
			if !slices.Contains(names, c) {
				names = append(names, c)
			}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// timelineProcs returns the processes named in rows' RssAnon, the harness first,
// then in the order they first appear (by name within a row).
func timelineProcs(rows []TimelineRow) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rows {
		names := slices.Sorted(maps.Keys(r.RSSAnon))
		if i := slices.Index(names, procHarness); i > 0 {
			names = slices.Insert(slices.Delete(names, i, i+1), 0, procHarness)
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// WriteRunDir writes result.json and timeline.csv into dir.
func (r *Result) WriteRunDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("results: encode: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "result.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "timeline.csv"))
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if err := WriteTimelineCSV(f, r.Timeline); err != nil {
		f.Close()
		return fmt.Errorf("results: timeline: %w", err)
	}
	return f.Close()
}

// missing lists the parts of a result that every finished run has and this one lacks.
func (r *Result) missing() []string {
	var m []string
	check := func(ok bool, name string) {
		if !ok {
			m = append(m, name)
		}
	}
	check(r.RunID != "", "run_id")
	check(r.Scenario.Name != "", "scenario.name")
	check(r.Scenario.Duration > 0, "scenario.duration")
	check(!r.Started.IsZero(), "started")
	check(!r.Finished.IsZero(), "finished")
	check(r.Environment.GoVersion != "", "environment.go_version")
	check(r.Environment.InfraMode != "", "environment.infra_mode")
	for _, name := range append([]string{StageE2E}, BreakdownStages...) {
		_, ok := r.Latency[name]
		check(ok, "latency."+name)
		check(r.Histograms[name] != "", "histograms."+name)
	}
	check(r.Validity.Valid || len(r.Validity.Reasons) > 0, "validity (neither valid nor a reason)")
	return m
}

// ReadRunDir reads result.json and timeline.csv back.
func ReadRunDir(dir string) (*Result, error) {
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		// A folder that is not a run is the caller's mistake (exit code 2).
		return nil, fmt.Errorf("%w: results: %w", exitcode.ErrConfig, err)
	}
	path := filepath.Join(dir, "result.json")
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			if strings.HasSuffix(se.Error(), "unexpected end of JSON input") {
				return nil, fmt.Errorf("results: %s: truncated after %d bytes (a run that did not finish writing?): %w", path, len(b), err)
			}
			return nil, fmt.Errorf("results: %s: damaged at byte %d of %d: %w", path, se.Offset, len(b), err)
		}
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	if r.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("results: %s: schema_version %d, this build reads %d", path, r.SchemaVersion, SchemaVersion)
	}
	if missing := r.missing(); len(missing) > 0 {
		return nil, fmt.Errorf("results: %s: incomplete, missing %s", path, strings.Join(missing, ", "))
	}
	f, err := os.Open(filepath.Join(dir, "timeline.csv"))
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	if r.Timeline, err = ReadTimelineCSV(f); err != nil {
		return nil, fmt.Errorf("results: %s: %w", dir, err)
	}
	return &r, nil
}

// Verdict is a run's outcome.
type Verdict string

// The outcomes of a run.
const (
	Passed  Verdict = "PASSED"  // valid, and every gate passed
	Failed  Verdict = "FAILED"  // valid, and a gate failed (exit code 99)
	Invalid Verdict = "INVALID" // the run did not measure the system (exit code 4)
)

// Verdict returns the run's outcome and the reasons behind it. It is the one place a
// result's outcome is decided from its validity and gates: Err, the summary and the
// report all state it.
func (r *Result) Verdict() (Verdict, []string) {
	var failed []string
	for _, g := range r.Gates {
		if !g.Passed {
			failed = append(failed, fmt.Sprintf("gate %s failed: actual %s %s, limit %s %s", g.Name, num(g.Actual), g.Unit, num(g.Limit), g.Unit))
		}
	}
	switch {
	case !r.Validity.Valid:
		reasons := slices.Clone(r.Validity.Reasons)
		if len(reasons) == 0 {
			reasons = append(reasons, "the result is marked invalid without a reason")
		}
		return Invalid, append(reasons, failed...)
	case !r.Passed:
		if len(failed) == 0 {
			failed = append(failed, "the result is marked failed")
		}
		return Failed, failed
	}
	return Passed, []string{fmt.Sprintf("valid run; %d of %d gates passed; verification %s", len(r.Gates), len(r.Gates), passFail(r.Verification.Passed))}
}

// Err returns nil for a passed run, an error wrapping exitcode.ErrInvalid or exitcode.ErrGate otherwise.
func (r *Result) Err() error {
	switch v, reasons := r.Verdict(); v {
	case Invalid:
		return fmt.Errorf("%w: %v", exitcode.ErrInvalid, reasons)
	case Failed:
		return fmt.Errorf("%w: %v", exitcode.ErrGate, reasons)
	}
	return nil
}

// Stage names as result.json keys latency, histograms and stage_breakdown by: the
// pipeline's (pipeline.Stage), which are their one definition.
var (
	// BreakdownStages are the stages that add up to an event's end-to-end latency, in
	// pipeline order.
	BreakdownStages = stageNames(pipeline.BreakdownStages())
	// StageE2E is the end-to-end latency: intended send time to Qdrant's ack.
	StageE2E = pipeline.StageE2E.String()
	// StageCommit is the offset commit after Qdrant's ack (not part of e2e).
	StageCommit = pipeline.StageCommit.String()
	// StageDLQ is a dead letter's latency: intended send time to the broker's ack.
	StageDLQ = pipeline.StageDLQ.String()
)

func stageNames(stages []pipeline.Stage) []string {
	out := make([]string, len(stages))
	for i, st := range stages {
		out[i] = st.String()
	}
	return out
}
