package reports

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot/vg"
	"gopkg.in/yaml.v3"

	"github.com/vectorstream/vectorstream/harness"
)

//go:embed templates/run.html.tmpl templates/style.css
var runTemplates embed.FS

// ReportFile is the name of the run report in a run folder.
const ReportFile = "report.html"

// StyleCSS is the report stylesheet, for other reports to inline in a <style> element
// so that they look alike and load nothing from elsewhere.
func StyleCSS() template.CSS {
	b, err := runTemplates.ReadFile("templates/style.css")
	if err != nil {
		panic(err) // embedded at build time
	}
	return template.CSS(b)
}

var runTemplate = template.Must(template.New("run.html.tmpl").Funcs(template.FuncMap{
	"ms":     FormatMS,
	"css":    StyleCSS,
	"mul100": func(v float64) float64 { return 100 * v },
	"pixels": func(l vg.Length) int { return int(l.Dots(DPI) + 0.5) },
}).ParseFS(runTemplates, "templates/run.html.tmpl"))

// Verdict is a run's outcome as the report states it (harness.Result.Verdict):
// "INVALID" when the run did not measure the system (validity failed), "FAILED" when
// a gate failed, else "PASSED", with the reasons behind it.
func Verdict(res *harness.Result) (verdict string, reasons []string) {
	v, reasons := res.Verdict()
	return string(v), reasons
}

func passFail(ok bool) string {
	if ok {
		return "passed"
	}
	return "FAILED"
}

// gateNum prints a gate value as the terminal summary does.
func gateNum(v float64) string {
	if v >= 100 || v <= -100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// withUnit appends a gate's unit to one of its values, as the summary prints them.
func withUnit(v, unit string) string {
	if unit == "" {
		return v
	}
	return v + " " + unit
}

type kv struct {
	Key, Value string
}

type checkRow struct {
	Name, Value, Expected, Note string
	// Warmup is the part of Value intended during the warm-up, for counts that have one.
	Warmup string
	// Status is "ok", "bad" or "" (informational).
	Status string
}

type latencyRow struct {
	Name, Label string
	E2E         bool
	P           harness.Percentiles
}

type gateRow struct {
	Name, Actual, Limit, Unit string
	Passed                    bool
}

type runView struct {
	Title        string
	Res          *harness.Result
	Verdict      string
	Reasons      []string
	Embedded     bool
	Scenario     []kv
	ScenarioYAML string
	Environment  []kv
	Gates        []gateRow
	Throughput   []kv
	Latency      []latencyRow
	Counts       []checkRow
	Verification []checkRow
	Problems     []string
	Figures      []Figure
	Missing      []Missing
	Extra        []kv
	Recovery     *recoveryView
}

// recoveryView is the "Faults and recovery" section: the injected faults, the data
// lost (RPO), the spool and the resilience counters of the pipeline.
type recoveryView struct {
	Faults []faultRow
	// Summary is one line per fault ("qdrant_down: RTO 4.2 s") for the gates area.
	Summary []faultSummary
	RPO     int64
	Spool   string
	// SpoolOK is false when spooled events were not all replayed or some still wait.
	SpoolOK  bool
	Counters []kv
}

type faultRow struct {
	Kind, Params, Window, RTO, Error string
	Recovered                        bool
}

type faultSummary struct {
	Kind, RTO string
	Recovered bool
}

// WriteRunReport draws every figure of res as PNG into dir and writes dir/report.html,
// which shows the verdict, scenario, environment, gates, summary tables, counts
// verification and the figures by relative path. PNGs of figures the result has no
// data for are removed, so that a stale image is never shown.
func WriteRunReport(dir string, res *harness.Result) error {
	if res == nil {
		return fmt.Errorf("reports: %s: no result", dir)
	}
	figs, missing, err := RunFigures(res)
	if err != nil {
		return fmt.Errorf("reports: %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	for i := range figs {
		f := &figs[i]
		if err := saveWith(filepath.Join(dir, f.File), f.WritePNG); err != nil {
			return err
		}
	}
	for _, m := range missing {
		if err := os.Remove(filepath.Join(dir, m.File)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("reports: remove stale %s: %w", m.File, err)
		}
	}
	var buf bytes.Buffer
	if err := writeRunHTML(&buf, res, figs, missing); err != nil {
		return fmt.Errorf("reports: %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ReportFile), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}

// WriteRunHTML writes the HTML of a run report to w, referring to the figures of
// RunFigures by file name without drawing them.
func WriteRunHTML(w io.Writer, res *harness.Result) error {
	figs, missing, err := RunFigures(res)
	if err != nil {
		return err
	}
	return writeRunHTML(w, res, figs, missing)
}

func writeRunHTML(w io.Writer, res *harness.Result, figs []Figure, missing []Missing) error {
	v := runView{Res: res, Figures: figs, Missing: missing, Embedded: res.Environment.StandIns.Any()}
	v.Title = fmt.Sprintf("%s — run %s", res.Scenario.Name, res.RunID)
	v.Verdict, v.Reasons = Verdict(res)
	v.Scenario, v.ScenarioYAML = scenarioView(res)
	v.Environment = environmentView(res)
	for _, g := range res.Gates {
		v.Gates = append(v.Gates, gateRow{Name: g.Name, Actual: withUnit(gateNum(g.Actual), g.Unit), Limit: withUnit(gateNum(g.Limit), g.Unit), Unit: g.Unit, Passed: g.Passed})
	}
	v.Throughput = throughputView(res)
	v.Latency = latencyView(res)
	v.Counts, v.Verification = countsView(res)
	v.Problems = res.Verification.Problems
	v.Recovery = recoveryOf(res)
	keys := make([]string, 0, len(res.Extra))
	for k := range res.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.Extra = append(v.Extra, kv{k, strconv.FormatFloat(res.Extra[k], 'g', 6, 64)})
	}
	if err := runTemplate.Execute(w, v); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return nil
}

func scenarioView(res *harness.Result) ([]kv, string) {
	sc := res.Scenario
	load := sc.Load.Kind
	if sc.Load.Rate > 0 {
		load += fmt.Sprintf(", %g events/s", sc.Load.Rate)
	}
	rows := []kv{
		{"name", sc.Name},
		{"description", sc.Description},
		{"file", sc.File},
		{"seed", strconv.FormatInt(sc.Seed, 10)},
		{"load", load},
		{"warm-up + measured", fmt.Sprintf("%v + %v (drain timeout %v)", sc.Warmup, sc.Duration, sc.DrainTimeout)},
		{"micro-batch", fmt.Sprintf("every %v or %d events", sc.Pipeline.Batch.Interval, sc.Pipeline.Batch.MaxSize)},
		{"embedding", fmt.Sprintf("%d dimensions, backend %s", sc.Embedding.Dim, sc.Embedding.Backend)},
		{"Kafka partitions", strconv.Itoa(sc.Kafka.Partitions)},
		{"malformed fraction", strconv.FormatFloat(sc.Workload.MalformedFraction, 'g', -1, 64)},
	}
	y, err := yaml.Marshal(sc)
	text := string(y)
	if err != nil {
		text = "cannot print the scenario: " + err.Error()
	}
	return rows, text
}

func environmentView(res *harness.Result) []kv {
	e := res.Environment
	rev := e.GitRevision
	if rev == "" {
		rev = "unknown"
	}
	if e.GitDirty {
		rev += " (with uncommitted changes)"
	}
	mem := ""
	if e.MemoryBytes > 0 {
		mem = fmt.Sprintf("%.1f GiB", float64(e.MemoryBytes)/(1<<30))
	}
	mode := e.InfraMode
	switch {
	case e.StandIns.Qdrant:
		mode += " — in-process stand-ins, not Kafka or Qdrant"
	case e.StandIns.Kafka:
		mode += " — Kafka an in-process stand-in; Qdrant its storage engine behind VectorStream's gRPC server, not a Qdrant server"
	}
	rows := []kv{
		{"git revision", rev},
		{"Go", e.GoVersion},
		{"OS / arch / kernel", strings.TrimSuffix(fmt.Sprintf("%s / %s / %s", e.OS, e.Arch, e.Kernel), " / ")},
		{"host", e.Hostname},
		{"CPU", fmt.Sprintf("%s, %d cores, GOMAXPROCS %d", e.CPUModel, e.CPUCores, e.GOMAXPROCS)},
		{"memory", mem},
		{"GPU", e.GPU},
		{"infra mode", mode},
		{"Kafka", e.Kafka},
		{"Qdrant", e.Qdrant},
		{"embedding backend", e.EmbeddingBackend},
		{"started", fmtTime(res.Started)},
		{"finished", fmtTime(res.Finished)},
		{"measured window", fmt.Sprintf("%s → %s", fmtTime(res.MeasureStart), fmtTime(res.MeasureEnd))},
	}
	return rows
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func throughputView(res *harness.Result) []kv {
	t := res.Throughput
	rows := []kv{
		{"offered", fmt.Sprintf("%.0f events/s", t.OfferedEPS)},
		{"produced (acknowledged by Kafka)", fmt.Sprintf("%.0f events/s", t.ProducedEPS)},
		{"achieved (records committed, between the first and last batch commit)", fmt.Sprintf("%.0f events/s (%.1f%% of offered)", t.AchievedEPS, 100*t.AchievedRatio)},
		{"first third / last third", fmt.Sprintf("%.0f / %.0f events/s (drift %.1f%%)", t.FirstThirdEPS, t.LastThirdEPS, 100*res.Validity.ThroughputDrift)},
	}
	w, d := int(res.Scenario.Warmup.Seconds()), int(res.Scenario.Duration.Seconds())
	if e := Efficiency(res.Timeline, w, w+d); e > 0 {
		rows = append(rows, kv{"efficiency (measured window)", fmt.Sprintf("%.0f events/s per CPU core used by %s", e, MeasuredProcess(res))})
	}
	rows = append(rows, kv{"load generator send delay p99", fmt.Sprintf("%s ms; %.3f%% of events late", FormatMS(res.Validity.SendDelayP99MS), 100*res.Validity.LateFraction)})
	return rows
}

func latencyView(res *harness.Result) []latencyRow {
	order := append(append([]string{harness.StageE2E}, harness.BreakdownStages...), harness.StageCommit, harness.StageDLQ, "load_send_delay")
	seen := map[string]bool{}
	var rows []latencyRow
	add := func(n string) {
		p, ok := res.Latency[n]
		if !ok || seen[n] {
			return
		}
		seen[n] = true
		rows = append(rows, latencyRow{Name: n, Label: StageLabel(n), E2E: n == harness.StageE2E, P: p})
	}
	for _, n := range order {
		add(n)
	}
	var rest []string
	for n := range res.Latency {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	for _, n := range rest {
		add(n)
	}
	return rows
}

func countsView(res *harness.Result) (counts, verify []checkRow) {
	c, v := res.Counts, res.Verification
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	zero := func(n int64) string {
		if n == 0 {
			return "ok"
		}
		return "bad"
	}
	eq := func(a, b int64) string {
		if a == b {
			return "ok"
		}
		return "bad"
	}
	// atLeast: exactly as expected is ok; more is informational when events were
	// redelivered (a replay writes again, idempotently); anything else is a problem.
	atLeast := func(got, want, redelivered int64) string {
		switch {
		case got == want:
			return "ok"
		case got > want && redelivered > 0:
			return ""
		}
		return "bad"
	}
	w := c.Warmup
	warm := func(n int64) string {
		if res.Scenario.Warmup <= 0 {
			return "no warm-up"
		}
		if w == (harness.WarmupCounts{}) {
			return "not recorded"
		}
		return i(n)
	}
	counts = []checkRow{
		{Name: "offered", Value: i(c.Offered), Warmup: warm(w.Offered), Note: "events the schedule intended to send"},
		{Name: "produced", Value: i(c.Produced), Warmup: warm(w.Produced), Expected: i(c.Offered), Status: eq(c.Produced, c.Offered), Note: "acknowledged by Kafka"},
		{Name: "produce errors", Value: i(c.ProduceErrors), Expected: "0", Status: zero(c.ProduceErrors)},
		{Name: "valid / malformed", Value: i(c.Valid) + " / " + i(c.Malformed), Note: "as generated"},
		{Name: "consumed", Value: i(c.Consumed), Note: "by the pipeline, redeliveries included"},
		{Name: "written", Value: i(c.Written), Warmup: warm(w.Written), Expected: i(c.Valid), Status: atLeast(c.Written, c.Valid, c.Redelivered), Note: "events upserted to Qdrant"},
		{Name: "dead-lettered", Value: i(c.DeadLettered), Warmup: warm(w.DeadLettered), Expected: i(c.Malformed), Status: atLeast(c.DeadLettered, c.Malformed, c.Redelivered)},
		{Name: "redelivered", Value: i(c.Redelivered), Note: "consumed more than once; idempotent writes make them harmless"},
		{Name: "batches / retries", Value: i(c.Batches) + " / " + i(c.Retries)},
	}
	verify = []checkRow{
		{Name: "event points stored", Value: i(v.StoredPoints), Expected: i(v.ExpectedPoints), Status: eq(v.StoredPoints, v.ExpectedPoints)},
		{Name: "lost", Value: i(v.Lost), Expected: "0", Status: zero(v.Lost), Note: "valid events produced but not in Qdrant"},
		{Name: "unexpected points", Value: i(v.Unexpected), Expected: "0", Status: zero(v.Unexpected), Note: "points in Qdrant no valid event produced (duplicates would show here)"},
		{Name: "DLQ records", Value: i(v.DLQRecords), Expected: i(v.ExpectedDLQ), Status: eq(v.DLQRecords, v.ExpectedDLQ)},
		{Name: "DLQ missing / wrong reason / unexpected", Value: i(v.DLQMissing) + " / " + i(v.DLQWrong) + " / " + i(v.DLQUnknown), Expected: "0 / 0 / 0",
			Status: zero(v.DLQMissing + v.DLQWrong + v.DLQUnknown)},
		{Name: "DLQ duplicates", Value: i(v.DLQDuplicate), Expected: "0", Status: zero(v.DLQDuplicate)},
		{Name: "vectors re-embedded", Value: fmt.Sprintf("%d checked, %d bad, min cosine %.6f", v.VectorsChecked, v.VectorsBad, v.MinVectorCos),
			Status: zero(int64(v.VectorsBad))},
		{Name: "user profiles", Value: fmt.Sprintf("%d stored, %d bad, min cosine %.6f", v.StoredProfiles, v.ProfilesBad, v.MinProfileCos),
			Expected: i(v.ExpectedProfiles), Status: eq(v.StoredProfiles-v.ProfilesBad, v.ExpectedProfiles)},
	}
	if v.RetentionCutoff != nil {
		verify = append(verify, checkRow{Name: "expired by the retention", Value: i(v.Expired),
			Note: fmt.Sprintf("valid events before the last sweep's cutoff %s (the newest event's time minus pipeline.qdrant.retention, %v): their points are gone, not lost",
				v.RetentionCutoff.Format(time.RFC3339), res.Scenario.Pipeline.Qdrant.Retention)})
	}
	return counts, verify
}

// recoveryOf returns the "Faults and recovery" section of res, or nil when the run
// injected no fault and its pipeline neither spooled, held, opened a breaker nor fell
// back to another backend.
func recoveryOf(res *harness.Result) *recoveryView {
	v, c := res.Verification, res.Counts
	active := v.Spooled+v.Replayed+v.SpoolPending+c.Held+c.BreakerOpens+c.BackendFallbacks > 0
	if len(res.Faults) == 0 && !active && v.RPO == 0 {
		return nil
	}
	rv := &recoveryView{RPO: v.RPO}
	for _, f := range res.Faults {
		row := faultRow{Kind: f.Kind, Params: faultParams(f.FaultSpec), Error: f.Error, Recovered: f.Recovered && f.RTOSeconds >= 0}
		row.Window = fmt.Sprintf("%.1f–%.1f s", f.StartS, f.EndS)
		row.RTO = "not recovered"
		if row.Recovered {
			row.RTO = fmt.Sprintf("%.1f s", f.RTOSeconds)
		}
		rv.Faults = append(rv.Faults, row)
		rv.Summary = append(rv.Summary, faultSummary{Kind: f.Kind, RTO: row.RTO, Recovered: row.Recovered})
	}
	rv.Spool = fmt.Sprintf("spooled %d events in %d batches, replayed %d in %d, pending %d",
		v.Spooled, v.SpooledBatches, v.Replayed, v.ReplayedBatches, v.SpoolPending)
	rv.SpoolOK = v.Replayed >= v.Spooled && v.SpoolPending == 0
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	rv.Counters = []kv{
		{"circuit breaker opens", i(c.BreakerOpens)},
		{"batches held in memory (no spool)", i(c.Held)},
		{"backend fallbacks (GPU → CPU)", i(c.BackendFallbacks)},
	}
	return rv
}

// faultParams prints what a fault was asked to do besides its kind and window.
func faultParams(f harness.FaultSpec) string {
	var ps []string
	if f.Latency > 0 {
		ps = append(ps, "latency "+f.Latency.String())
	}
	if f.Ratio > 0 {
		ps = append(ps, "ratio "+strconv.FormatFloat(f.Ratio, 'g', -1, 64))
	}
	ps = append(ps, fmt.Sprintf("planned at %v for %v", f.At, f.Duration))
	return strings.Join(ps, ", ")
}
