package reports

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchmath"

	"github.com/vectorstream/vectorstream/harness"
)

// CompareAlpha is the significance level of the comparison: a change is marked
// significant when the Mann–Whitney U test's p-value is at most this (benchstat's default).
const CompareAlpha = 0.05

// compareConfidence is the confidence level of the spread (benchstat's default).
const compareConfidence = 0.95

// Run is one configuration under comparison: a label and the results of one or more
// runs of it. Several results are repeats of the same configuration; their spread is
// the run-to-run noise against which changes are judged.
type Run struct {
	Label   string
	Results []*harness.Result
}

// Comparison sets runs side by side against the first, the baseline. Build it with
// Compare; print it with WriteTable, or draw it with WriteCompareHTML.
type Comparison struct {
	Runs []Run
	// Rows are the key figures, one per row, each with a cell per run.
	Rows []CompareRow
	// Warnings say where the runs' environments differ (machine, infra mode, versions,
	// embedding backend) or a git tree was dirty: numbers from such runs are not like for
	// like.
	Warnings []string
	// Differences say which scenario settings differ between the runs; often that is
	// the point of the comparison, so they are facts, not warnings.
	Differences []string
	// Notes are the statistics' own caveats (too few repeats for a confidence interval
	// or for a significant result), as benchstat prints them.
	Notes []string
}

// Better says which direction of a figure is an improvement.
type Better int

// Directions of improvement.
const (
	Neither Better = iota
	Higher
	Lower
)

// CompareRow is one key figure of every run.
type CompareRow struct {
	Name   string
	Unit   string
	Better Better
	// Verdict rows (verification, validity, gates) hold pass/fail counts, not numbers.
	Verdict bool
	Cells   []CompareCell
}

// CompareCell is one figure of one run.
type CompareCell struct {
	// Values are the figure of each repeat that has it, ascending.
	Values []float64
	// Median is the centre of Values; NaN when no repeat has the figure.
	Median float64
	// Min and Max bound Values.
	Min, Max float64
	// Spread is benchstat's "± x%": the 95% confidence interval of the median relative to
	// it ("∞" when there are too few repeats for one); empty for a single run.
	Spread string
	// Change is the change of Median against the baseline's, in percent; NaN for the
	// baseline itself or when the baseline is 0 or missing.
	Change float64
	// Tested is true when both this run and the baseline have at least two repeats, so
	// that a significance test means something.
	Tested bool
	// P is the Mann–Whitney U test's p-value when Tested.
	P float64
	// Significant is true when Tested and P <= CompareAlpha.
	Significant bool
	// Passed and Total count the repeats that passed, for verdict rows.
	Passed, Total int
}

type cmpMetric struct {
	name, unit string
	better     Better
	value      func(*harness.Result) (float64, bool)
	verdict    func(*harness.Result) bool
	// faults marks a row shown only when some run injected faults.
	faults bool
}

// cmpStages are the stages whose p99 the comparison lists.
var cmpStages = harness.BreakdownStages

func cmpLatency(stage string, pick func(harness.Percentiles) float64) func(*harness.Result) (float64, bool) {
	return func(r *harness.Result) (float64, bool) {
		p, ok := r.Latency[stage]
		if !ok {
			return 0, false
		}
		return pick(p), true
	}
}

func cmpMetrics() []cmpMetric {
	ms := []cmpMetric{
		{name: "achieved", unit: "events/s", better: Higher, value: func(r *harness.Result) (float64, bool) { return r.Throughput.AchievedEPS, true }},
		{name: "offered", unit: "events/s", value: func(r *harness.Result) (float64, bool) { return r.Throughput.OfferedEPS, true }},
		{name: "e2e p50 per event", unit: "ms", better: Lower, value: cmpLatency(harness.StageE2E, func(p harness.Percentiles) float64 { return p.P50 })},
		{name: "e2e p99 per event", unit: "ms", better: Lower, value: cmpLatency(harness.StageE2E, func(p harness.Percentiles) float64 { return p.P99 })},
		{name: "e2e p99.9 per event", unit: "ms", better: Lower, value: cmpLatency(harness.StageE2E, func(p harness.Percentiles) float64 { return p.P999 })},
		{name: "e2e max", unit: "ms", better: Lower, value: cmpLatency(harness.StageE2E, func(p harness.Percentiles) float64 { return p.Max })},
	}
	for _, st := range cmpStages {
		ms = append(ms, cmpMetric{name: st + " p99 per event", unit: "ms", better: Lower,
			value: cmpLatency(st, func(p harness.Percentiles) float64 { return p.P99 })})
	}
	ms = append(ms,
		cmpMetric{name: "dead-lettered, warm-up included", unit: "events", value: func(r *harness.Result) (float64, bool) { return float64(r.Counts.DeadLettered), true }},
		cmpMetric{name: "CPU mean", unit: "%", better: Lower, value: cmpCPUMean},
		cmpMetric{name: "heap max", unit: "MiB", better: Lower, value: cmpHeapMax},
		cmpMetric{name: "RPO", unit: "events lost", better: Lower, faults: true, value: func(r *harness.Result) (float64, bool) { return float64(r.Verification.RPO), true }},
		cmpMetric{name: "worst RTO", unit: "s", better: Lower, faults: true, value: cmpWorstRTO},
		cmpMetric{name: "recovered from every fault", faults: true, verdict: cmpRecovered},
		cmpMetric{name: "verification", verdict: func(r *harness.Result) bool { return r.Verification.Passed }},
		cmpMetric{name: "validity", verdict: func(r *harness.Result) bool { return r.Validity.Valid }},
		cmpMetric{name: "gates", verdict: func(r *harness.Result) bool { return r.Passed }},
	)
	return ms
}

// cmpWindow returns the timeline rows of the measured window (after warm-up, while the
// load ran), or every row when the window holds none.
func cmpWindow(r *harness.Result) []harness.TimelineRow {
	lo, hi := int(r.Scenario.Warmup.Seconds()), int((r.Scenario.Warmup + r.Scenario.Duration).Seconds())
	var rows []harness.TimelineRow
	for _, row := range r.Timeline {
		if row.Second > lo && row.Second <= hi {
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return r.Timeline
	}
	return rows
}

func cmpCPUMean(r *harness.Result) (float64, bool) {
	rows := cmpWindow(r)
	if len(rows) == 0 {
		return 0, false
	}
	var sum float64
	for _, row := range rows {
		sum += row.CPUPercent
	}
	return sum / float64(len(rows)), true
}

func cmpHeapMax(r *harness.Result) (float64, bool) {
	if len(r.Timeline) == 0 {
		return 0, false
	}
	var m uint64
	for _, row := range r.Timeline {
		m = max(m, row.HeapBytes)
	}
	return float64(m) / (1 << 20), true
}

// cmpWorstRTO is the longest recovery time of the faults a run recovered from (the
// "recovered from every fault" row counts the others); a run without faults has none.
func cmpWorstRTO(r *harness.Result) (float64, bool) {
	worst, ok := 0.0, false
	for _, f := range r.Faults {
		if f.Recovered && f.RTOSeconds >= 0 {
			worst, ok = math.Max(worst, f.RTOSeconds), true
		}
	}
	return worst, ok
}

// cmpRecovered is true when a run recovered from every fault it injected.
func cmpRecovered(r *harness.Result) bool {
	for _, f := range r.Faults {
		if !f.Recovered || f.RTOSeconds < 0 {
			return false
		}
	}
	return true
}

// Compare sets runs side by side against runs[0], the baseline. With at least two repeats
// in both a run and the baseline, each change is tested with the Mann–Whitney U test
// (golang.org/x/perf/benchmath, as benchstat does); otherwise its significance is not
// tested and reads "n/a".
func Compare(runs []Run) (*Comparison, error) {
	if len(runs) == 0 {
		return nil, errors.New("compare: no runs")
	}
	c := &Comparison{Runs: slices.Clone(runs)}
	for i := range c.Runs {
		if c.Runs[i].Label == "" {
			c.Runs[i].Label = fmt.Sprintf("run %d", i+1)
		}
		if len(c.Runs[i].Results) == 0 {
			return nil, fmt.Errorf("compare: %s: no results", c.Runs[i].Label)
		}
		for k, r := range c.Runs[i].Results {
			if r == nil {
				return nil, fmt.Errorf("compare: %s: result %d is nil", c.Runs[i].Label, k+1)
			}
		}
	}
	notes := map[string]bool{}
	note := func(err error) {
		if err != nil && !notes[err.Error()] {
			notes[err.Error()] = true
			c.Notes = append(c.Notes, err.Error())
		}
	}
	th := benchmath.DefaultThresholds
	th.CompareAlpha = CompareAlpha
	faults := false
	for _, run := range c.Runs {
		for _, r := range run.Results {
			faults = faults || len(r.Faults) > 0
		}
	}
	for _, m := range cmpMetrics() {
		if m.faults && !faults {
			continue
		}
		row := CompareRow{Name: m.name, Unit: m.unit, Better: m.better, Verdict: m.verdict != nil}
		var base *benchmath.Sample
		for i, run := range c.Runs {
			var cell CompareCell
			cell.Median, cell.Change, cell.Min, cell.Max = math.NaN(), math.NaN(), math.NaN(), math.NaN()
			if m.verdict != nil {
				for _, r := range run.Results {
					cell.Total++
					if m.verdict(r) {
						cell.Passed++
					}
				}
				row.Cells = append(row.Cells, cell)
				continue
			}
			for _, r := range run.Results {
				if v, ok := m.value(r); ok && !math.IsNaN(v) {
					cell.Values = append(cell.Values, v)
				}
			}
			sample := benchmath.NewSample(slices.Clone(cell.Values), &th)
			cell.Values = sample.Values
			if n := len(cell.Values); n > 0 {
				cell.Min, cell.Max = cell.Values[0], cell.Values[n-1]
				if n == 1 {
					cell.Median = cell.Values[0]
				} else {
					sum := benchmath.AssumeNothing.Summary(sample, compareConfidence)
					cell.Median = sum.Center
					cell.Spread = "± " + sum.PctRangeString()
					for _, w := range sum.Warnings {
						note(w)
					}
				}
			}
			if i == 0 {
				base = sample
			} else {
				cell.Change = cmpChange(row.Cells[0].Median, cell.Median)
				if len(base.Values) >= 2 && len(sample.Values) >= 2 {
					cmp := benchmath.AssumeNothing.Compare(base, sample)
					cell.Tested, cell.P = true, cmp.P
					cell.Significant = cmp.P <= cmp.Alpha
					for _, w := range cmp.Warnings {
						note(w)
					}
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		c.Rows = append(c.Rows, row)
	}
	c.Warnings = cmpEnvWarnings(c.Runs)
	c.Differences = cmpScenarioDifferences(c.Runs)
	return c, nil
}

// cmpChange is the change from base to v in percent.
func cmpChange(base, v float64) float64 {
	switch {
	case math.IsNaN(base) || math.IsNaN(v):
		return math.NaN()
	case base == v:
		return 0
	case base == 0:
		return math.NaN()
	}
	return (v/base - 1) * 100
}

type cmpField struct {
	name  string
	value func(*harness.Result) string
}

var cmpEnvFields = []cmpField{
	{"cpu_model", func(r *harness.Result) string { return r.Environment.CPUModel }},
	{"cpu_cores", func(r *harness.Result) string { return strconv.Itoa(r.Environment.CPUCores) }},
	{"gomaxprocs", func(r *harness.Result) string { return strconv.Itoa(r.Environment.GOMAXPROCS) }},
	{"gpu", func(r *harness.Result) string { return r.Environment.GPU }},
	{"infra_mode", func(r *harness.Result) string { return r.Environment.InfraMode }},
	{"kafka", func(r *harness.Result) string { return r.Environment.Kafka }},
	{"qdrant", func(r *harness.Result) string { return r.Environment.Qdrant }},
	{"go_version", func(r *harness.Result) string { return r.Environment.GoVersion }},
	{"embedding_backend", func(r *harness.Result) string { return r.Environment.EmbeddingBackend }},
}

var cmpScenarioFields = []cmpField{
	{"scenario", func(r *harness.Result) string { return r.Scenario.Name }},
	{"load.kind", func(r *harness.Result) string { return r.Scenario.Load.Kind }},
	{"load.rate", func(r *harness.Result) string { return cmpNum(r.Scenario.Load.Rate) }},
	{"duration", func(r *harness.Result) string { return r.Scenario.Duration.String() }},
	{"pipeline.batch.interval", func(r *harness.Result) string { return r.Scenario.Pipeline.Batch.Interval.String() }},
	{"pipeline.batch.max_size", func(r *harness.Result) string { return strconv.Itoa(r.Scenario.Pipeline.Batch.MaxSize) }},
	{"pipeline.workers", func(r *harness.Result) string { return strconv.Itoa(r.Scenario.Pipeline.Workers) }},
	{"kafka.partitions", func(r *harness.Result) string { return strconv.Itoa(r.Scenario.Kafka.Partitions) }},
	{"embedding.backend", func(r *harness.Result) string { return r.Scenario.Embedding.Backend }},
	{"embedding.dimensions", func(r *harness.Result) string { return strconv.Itoa(r.Scenario.Embedding.Dim) }},
	{"seed", func(r *harness.Result) string { return strconv.FormatInt(r.Scenario.Seed, 10) }},
}

// cmpFieldDiffs lists, for each field whose value is not the same in every result, the
// values per run label ("cpu_cores: base 2, new 4").
func cmpFieldDiffs(runs []Run, fields []cmpField) []string {
	var out []string
	for _, f := range fields {
		seen := map[string]bool{}
		var parts []string
		for _, run := range runs {
			var vals []string
			for _, r := range run.Results {
				v := f.value(r)
				seen[v] = true
				if !slices.Contains(vals, v) {
					vals = append(vals, v)
				}
			}
			for k := range vals {
				vals[k] = strconv.Quote(vals[k])
			}
			parts = append(parts, fmt.Sprintf("%s %s", run.Label, strings.Join(vals, " and ")))
		}
		if len(seen) > 1 {
			out = append(out, fmt.Sprintf("%s: %s", f.name, strings.Join(parts, "; ")))
		}
	}
	return out
}

func cmpEnvWarnings(runs []Run) []string {
	w := cmpFieldDiffs(runs, cmpEnvFields)
	for i := range w {
		w[i] = "environments differ in " + w[i]
	}
	for _, run := range runs {
		for k, r := range run.Results {
			if r.Environment.GitDirty {
				rev := r.Environment.GitRevision
				if len(rev) > 12 {
					rev = rev[:12]
				}
				w = append(w, fmt.Sprintf("%s%s was built from a dirty git tree (revision %s plus uncommitted changes)", run.Label, cmpRepeat(run, k), rev))
			}
		}
	}
	return w
}

func cmpScenarioDifferences(runs []Run) []string { return cmpFieldDiffs(runs, cmpScenarioFields) }

func cmpRepeat(run Run, k int) string {
	if len(run.Results) == 1 {
		return ""
	}
	return fmt.Sprintf(" (repeat %d)", k+1)
}

// cmpNum formats a figure with as many decimals as its size deserves.
func cmpNum(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "—"
	case a == 0 || a >= 1000 || a == math.Trunc(a):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// Value is the cell's figure as printed: the median, or "passed/total" for verdicts.
func (cell CompareCell) Value(row CompareRow) string {
	if row.Verdict {
		if cell.Total == 1 {
			if cell.Passed == 1 {
				return "pass"
			}
			return "FAIL"
		}
		s := fmt.Sprintf("%d/%d pass", cell.Passed, cell.Total)
		if cell.Passed < cell.Total {
			s += " FAIL"
		}
		return s
	}
	return cmpNum(cell.Median)
}

// ChangeString is the change against the baseline as printed ("+12.3%"; "?" when the
// baseline is 0 or missing).
func (cell CompareCell) ChangeString() string {
	if math.IsNaN(cell.Change) {
		return "?"
	}
	if cell.Change == 0 {
		return "0%"
	}
	return fmt.Sprintf("%+.1f%%", cell.Change)
}

// Significance is the verdict of the test as printed: "n/a" when not tested, "p=0.421 ~"
// when the change is within the noise, and "p=0.008 * better" (or "worse") when it is
// significant.
func (cell CompareCell) Significance(row CompareRow) string {
	if !cell.Tested {
		return "n/a"
	}
	s := fmt.Sprintf("p=%.3f", cell.P)
	if !cell.Significant {
		return s + " ~"
	}
	s += " *"
	switch {
	case row.Better == Higher && cell.Change > 0, row.Better == Lower && cell.Change < 0:
		s += " better"
	case row.Better == Higher && cell.Change < 0, row.Better == Lower && cell.Change > 0:
		s += " worse"
	}
	return s
}

// cmpTable is the comparison laid out as text cells: a header row and a row per figure.
func (c *Comparison) cmpTable() (header []string, rows [][]string) {
	header = []string{"metric", "unit", c.Runs[0].Label + " (baseline)", "±"}
	for _, run := range c.Runs[1:] {
		header = append(header, run.Label, "±", "vs base", "significance")
	}
	for _, row := range c.Rows {
		line := []string{row.Name, row.Unit}
		for i, cell := range row.Cells {
			spread := cell.Spread
			if row.Verdict || spread == "" {
				spread = ""
			}
			line = append(line, cell.Value(row), spread)
			if i == 0 {
				continue
			}
			if row.Verdict {
				line = append(line, "", "")
				continue
			}
			line = append(line, cell.ChangeString(), cell.Significance(row))
		}
		rows = append(rows, line)
	}
	return header, rows
}

// cmpRepeats describes how many repeats each run has.
func (c *Comparison) cmpRepeats() string {
	var parts []string
	for _, run := range c.Runs {
		parts = append(parts, fmt.Sprintf("%s n=%d", run.Label, len(run.Results)))
	}
	return strings.Join(parts, ", ")
}

// WriteTable prints the comparison as an aligned text table: the environment warnings,
// the scenario differences, and a row per key figure with each run's median, its spread,
// the change against the baseline and the significance of that change.
func (c *Comparison) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "comparison of %d runs against the baseline %s (%s)\n", len(c.Runs), c.Runs[0].Label, c.cmpRepeats())
	for _, warn := range c.Warnings {
		fmt.Fprintf(&b, "WARNING: %s\n", warn)
	}
	for _, d := range c.Differences {
		fmt.Fprintf(&b, "scenario differs: %s\n", d)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	header, rows := c.cmpTable()
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("compare: table: %w", err)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "values are medians over repeats; ± is the 95%% confidence interval of the median; "+
		"significance: Mann–Whitney U test, * marks p <= %.2f, ~ a change within the noise, n/a a run without repeats\n", CompareAlpha)
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("compare: table: %w", err)
	}
	return nil
}

// LoadRuns reads what `vectorstream compare` is given: a run folder, a result.json, or a
// series folder (one holding series.json). A run folder or result.json is a run of its
// own; a series folder of repeats is one run with every repeat, and a sweep one run per
// point. Labels are the last two elements of each path. Errors from reading a result are
// returned wrapped, with the file that failed named by the harness.
func LoadRuns(paths []string) ([]Run, error) {
	var runs []Run
	for _, p := range paths {
		dir := p
		if fi, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("compare: %w", err)
		} else if !fi.IsDir() {
			dir = filepath.Dir(p)
		}
		label := cmpLabel(dir)
		if _, err := os.Stat(filepath.Join(dir, harness.SeriesFile)); err == nil {
			s, results, err := harness.ReadSeries(dir)
			if err != nil {
				return nil, fmt.Errorf("compare: %s: %w", p, err)
			}
			for i, pt := range s.Points {
				if len(results[i]) == 0 {
					continue
				}
				l := label
				if len(s.Points) > 1 || pt.Value != "" {
					l = fmt.Sprintf("%s@%s", label, pt.Value)
				}
				runs = append(runs, Run{Label: l, Results: results[i]})
			}
			continue
		}
		r, err := harness.ReadRunDir(dir)
		if err != nil {
			return nil, fmt.Errorf("compare: %s: %w", p, err)
		}
		runs = append(runs, Run{Label: label, Results: []*harness.Result{r}})
	}
	cmpUniqueLabels(runs)
	return runs, nil
}

func cmpLabel(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	base := filepath.Base(abs)
	parent := filepath.Base(filepath.Dir(abs))
	if parent == "." || parent == string(filepath.Separator) {
		return base
	}
	return parent + "/" + base
}

// cmpUniqueLabels makes labels unique by numbering repeats of one ("x", "x #2").
func cmpUniqueLabels(runs []Run) {
	count := map[string]int{}
	for i := range runs {
		count[runs[i].Label]++
		if n := count[runs[i].Label]; n > 1 {
			runs[i].Label = fmt.Sprintf("%s #%d", runs[i].Label, n)
		}
	}
}
