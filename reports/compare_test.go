package reports

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/vectorstream/vectorstream/harness"
)

// cmpSynth is a deterministic result: achieved eps, e2e p99 in ms, on the given backend
// and batch size, with a short timeline and an encoded e2e histogram.
func cmpSynth(t testing.TB, eps, p99 float64, backend string, batch int) *harness.Result {
	t.Helper()
	r := &harness.Result{SchemaVersion: harness.SchemaVersion, RunID: "synthetic"}
	r.Scenario.Name = "synthetic"
	r.Scenario.Duration, r.Scenario.Warmup = 10*time.Second, 2*time.Second
	r.Scenario.Load.Kind, r.Scenario.Load.Rate = "constant", math.Round(eps)
	r.Scenario.Pipeline.Batch.MaxSize = batch
	r.Scenario.Embedding.Backend = backend
	r.Environment = harness.Environment{GitRevision: "0123456789abcdef", GoVersion: "go1.26.0", CPUModel: "Test CPU",
		CPUCores: 8, GOMAXPROCS: 8, MemoryBytes: 16 << 30, GPU: "none detected", InfraMode: "embedded",
		Kafka: "kfake (embedded stand-in)", Qdrant: "qdrantfake (embedded stand-in)", StandIns: harness.StandIns{Kafka: true, Qdrant: true}, EmbeddingBackend: backend}
	r.Throughput = harness.Throughput{OfferedEPS: math.Round(eps), ProducedEPS: eps, AchievedEPS: eps, AchievedRatio: 1}
	h := hdrhistogram.New(1, 3_600_000_000, 3)
	for i := 1; i <= 1000; i++ {
		// Values from p99/10 up to p99·1.5, so the histogram's p99 is close to p99.
		v := p99 / 10 * 1000 * (1 + 9*float64(i)/990)
		if i > 990 {
			v = p99 * 1000 * (1 + 0.05*float64(i-990))
		}
		if err := h.RecordValue(int64(v)); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	r.Latency = map[string]harness.Percentiles{}
	r.Histograms = map[string]string{}
	for _, st := range append([]string{"e2e"}, cmpStages...) {
		r.Latency[st] = harness.Percentiles{Count: 1000, P50: p99 / 4, P90: p99 / 2, P95: p99 / 1.5, P99: p99, P999: p99 * 1.2, Max: p99 * 1.5}
		r.Histograms[st] = string(enc)
	}
	for s := 1; s <= 12; s++ {
		r.Timeline = append(r.Timeline, harness.TimelineRow{Second: s, Offered: int64(eps), Written: int64(eps) - 10, DeadLettered: 10,
			E2EP50MS: p99 / 4, E2EP99MS: p99 * (1 + 0.01*float64(s%3)), CPUPercent: 100, HeapBytes: uint64(64+s) << 20})
	}
	r.Verification.Passed, r.Validity.Valid, r.Passed = true, true, true
	return r
}

func cmpRow(t *testing.T, c *Comparison, name string) CompareRow {
	t.Helper()
	for _, r := range c.Rows {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no row %q", name)
	return CompareRow{}
}

func TestCompareChangePercent(t *testing.T) {
	t.Parallel()
	c, err := Compare([]Run{
		{Label: "before", Results: []*harness.Result{cmpSynth(t, 1000, 100, "cpu", 1000)}},
		{Label: "after", Results: []*harness.Result{cmpSynth(t, 1500, 50, "cpu", 1000)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		row    string
		change float64
	}{{"achieved", 50}, {"e2e p99 per event", -50}, {"e2e max", -50}, {"embed p99 per event", -50}, {"CPU mean", 0}} {
		cell := cmpRow(t, c, tc.row).Cells[1]
		if math.Abs(cell.Change-tc.change) > 1e-9 {
			t.Errorf("%s: change %v%%, want %v%%", tc.row, cell.Change, tc.change)
		}
	}
	if base := cmpRow(t, c, "achieved").Cells[0]; !math.IsNaN(base.Change) {
		t.Errorf("baseline change = %v, want NaN", base.Change)
	}
	if got := cmpRow(t, c, "achieved").Cells[1].ChangeString(); got != "+50.0%" {
		t.Errorf("change string %q, want +50.0%%", got)
	}
	if got := cmpChange(0, 5); !math.IsNaN(got) {
		t.Errorf("change from 0 = %v, want NaN", got)
	}
}

func TestCompareSingleRunsAreNotTested(t *testing.T) {
	t.Parallel()
	c, err := Compare([]Run{
		{Label: "a", Results: []*harness.Result{cmpSynth(t, 1000, 100, "cpu", 1000)}},
		{Label: "b", Results: []*harness.Result{cmpSynth(t, 3000, 10, "cpu", 1000)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range c.Rows {
		if row.Verdict {
			continue
		}
		if cell := row.Cells[1]; cell.Tested || cell.Significant || cell.Significance(row) != "n/a" {
			t.Errorf("%s: single runs tested=%v significant=%v %q; want n/a", row.Name, cell.Tested, cell.Significant, cell.Significance(row))
		}
	}
	var b bytes.Buffer
	if err := c.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "n/a") || strings.Contains(b.String(), "p=") {
		t.Errorf("table of single runs should say n/a and no p-value:\n%s", b.String())
	}
}

func cmpRepeats(t *testing.T, n int, eps, p99 []float64) []*harness.Result {
	var rs []*harness.Result
	for i := range n {
		rs = append(rs, cmpSynth(t, eps[i], p99[i], "cpu", 1000))
	}
	return rs
}

func TestCompareSignificance(t *testing.T) {
	t.Parallel()
	base := cmpRepeats(t, 5, []float64{1000, 1010, 990, 1005, 995}, []float64{100, 102, 98, 101, 99})
	t.Run("clearly different", func(t *testing.T) {
		faster := cmpRepeats(t, 5, []float64{2000, 2020, 1980, 2010, 1990}, []float64{50, 51, 49, 50.5, 49.5})
		c, err := Compare([]Run{{Label: "base", Results: base}, {Label: "fast", Results: faster}})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"achieved", "e2e p99 per event"} {
			row := cmpRow(t, c, name)
			cell := row.Cells[1]
			if !cell.Tested || !cell.Significant || cell.P > CompareAlpha {
				t.Errorf("%s: tested=%v significant=%v p=%v; want a significant change", name, cell.Tested, cell.Significant, cell.P)
			}
			if s := cell.Significance(row); !strings.Contains(s, "* better") {
				t.Errorf("%s: significance %q, want it marked better", name, s)
			}
		}
		if cell := cmpRow(t, c, "achieved").Cells[0]; cell.Median != 1000 || cell.Spread == "" {
			t.Errorf("baseline median %v spread %q, want 1000 and a spread", cell.Median, cell.Spread)
		}
		var b bytes.Buffer
		if err := c.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "p=0.008 * better") {
			t.Errorf("table lacks the significance marker:\n%s", b.String())
		}
	})
	t.Run("identical", func(t *testing.T) {
		same := cmpRepeats(t, 5, []float64{1000, 1010, 990, 1005, 995}, []float64{100, 102, 98, 101, 99})
		c, err := Compare([]Run{{Label: "base", Results: base}, {Label: "same", Results: same}})
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range c.Rows {
			if row.Verdict {
				continue
			}
			if cell := row.Cells[1]; !cell.Tested || cell.Significant {
				t.Errorf("%s: tested=%v significant=%v p=%v; want tested and not significant", row.Name, cell.Tested, cell.Significant, cell.P)
			}
		}
	})
}

func TestCompareEnvironmentWarning(t *testing.T) {
	t.Parallel()
	a := cmpSynth(t, 1000, 100, "cpu", 1000)
	b := cmpSynth(t, 1000, 100, "cuda", 1000)
	b.Environment.CPUCores, b.Environment.GitDirty = 16, true
	c, err := Compare([]Run{{Label: "a", Results: []*harness.Result{a}}, {Label: "b", Results: []*harness.Result{b}}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"WARNING: environments differ in cpu_cores", "embedding_backend", "dirty git tree"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	same, err := Compare([]Run{{Label: "a", Results: []*harness.Result{a}}, {Label: "a2", Results: []*harness.Result{cmpSynth(t, 900, 90, "cpu", 1000)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(same.Warnings) != 0 {
		t.Errorf("same environment warned: %v", same.Warnings)
	}
}

func TestCompareRejectsEmpty(t *testing.T) {
	t.Parallel()
	if _, err := Compare(nil); err == nil {
		t.Error("Compare(nil) succeeded")
	}
	if _, err := Compare([]Run{{Label: "x"}}); err == nil || !strings.Contains(err.Error(), "x") {
		t.Errorf("Compare of a run without results: %v", err)
	}
}

// cmpCheckImages fails unless every <img src> of the page exists beside it.
func cmpCheckImages(t *testing.T, dir, page string, wantAtLeast int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, page))
	if err != nil {
		t.Fatal(err)
	}
	srcs := regexp.MustCompile(`<img src="([^"]+)"`).FindAllStringSubmatch(string(b), -1)
	if len(srcs) < wantAtLeast {
		t.Fatalf("%s has %d images, want at least %d", page, len(srcs), wantAtLeast)
	}
	for _, m := range srcs {
		if strings.Contains(m[1], "/") || strings.Contains(m[1], ":") {
			t.Errorf("%s refers to %q, not a file beside it", page, m[1])
		}
		fi, err := os.Stat(filepath.Join(dir, m[1]))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s refers to %s: %v", page, m[1], err)
		}
	}
	if strings.Contains(string(b), "http://") || strings.Contains(string(b), "https://") {
		t.Errorf("%s loads something from elsewhere", page)
	}
}

func TestWriteCompareHTML(t *testing.T) {
	t.Parallel()
	c, err := Compare([]Run{
		{Label: "cpu", Results: cmpRepeats(t, 3, []float64{1000, 1010, 990}, []float64{100, 102, 98})},
		{Label: "cuda", Results: []*harness.Result{cmpSynth(t, 4000, 20, "cuda", 5000)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteCompareHTML(dir, c); err != nil {
		t.Fatal(err)
	}
	cmpCheckImages(t, dir, CompareHTML, 4)
	if _, err := os.Stat(filepath.Join(dir, CompareBackendsPNG)); err != nil {
		t.Errorf("two backends but no backend plot: %v", err)
	}
}

func TestCompareCommittedRuns(t *testing.T) {
	t.Parallel()
	paths := []string{"../results/seed-baseline/baseline-20261126", "../results/smoke/child1/result.json"}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("committed run %s not here: %v", p, err)
		}
	}
	runs, err := LoadRuns(paths)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compare(runs)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
	if !strings.Contains(b.String(), "seed-baseline/baseline-20261126 (baseline)") || !strings.Contains(b.String(), "smoke/child1") {
		t.Errorf("table lacks the run labels:\n%s", b.String())
	}
	dir := t.TempDir()
	if err := WriteCompareHTML(dir, c); err != nil {
		t.Fatal(err)
	}
	cmpCheckImages(t, dir, CompareHTML, 3)
}

func TestLoadRunsDamagedResult(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../results/smoke/child1/result.json")
	if err != nil {
		t.Skipf("committed run not here: %v", err)
	}
	for name, content := range map[string][]byte{
		"truncated": src[:len(src)/2],
		"partial":   []byte(`{"schema_version": 1, "run_id": "x"}`),
	} {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "result.json"), content, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadRuns([]string{dir})
		if err == nil {
			t.Fatalf("%s: LoadRuns succeeded", name)
		}
		if !strings.Contains(err.Error(), filepath.Join(dir, "result.json")) {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := LoadRuns([]string{filepath.Join(t.TempDir(), "absent")}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent folder: %v, want it to wrap os.ErrNotExist", err)
	}
}

// TestCompareFaults: the RPO, worst RTO and recovery rows appear only when some run
// injected faults, and a run that did not recover fails the recovery row.
func TestCompareFaults(t *testing.T) {
	t.Parallel()
	plain := cmpSynth(t, 1000, 100, "cpu", 1000)
	faulted := cmpSynth(t, 1000, 100, "cpu", 1000)
	faulted.Faults = []harness.FaultResult{
		{FaultSpec: harness.FaultSpec{Kind: harness.FaultQdrantDown}, StartS: 3, EndS: 6, RTOSeconds: 2.5, Recovered: true},
		{FaultSpec: harness.FaultSpec{Kind: harness.FaultQdrantSlow}, StartS: 7, EndS: 9, RTOSeconds: -1},
	}
	faulted.Verification.RPO = 3
	c, err := Compare([]Run{{Label: "plain", Results: []*harness.Result{plain}}, {Label: "faulted", Results: []*harness.Result{faulted}}})
	if err != nil {
		t.Fatal(err)
	}
	if rpo := cmpRow(t, c, "RPO"); rpo.Cells[0].Median != 0 || rpo.Cells[1].Median != 3 {
		t.Errorf("RPO medians %v, %v; want 0, 3", rpo.Cells[0].Median, rpo.Cells[1].Median)
	}
	if rto := cmpRow(t, c, "worst RTO"); !math.IsNaN(rto.Cells[0].Median) || rto.Cells[1].Median != 2.5 {
		t.Errorf("worst RTO medians %v, %v; want NaN, 2.5", rto.Cells[0].Median, rto.Cells[1].Median)
	}
	rec := cmpRow(t, c, "recovered from every fault")
	if got := rec.Cells[0].Value(rec) + " " + rec.Cells[1].Value(rec); got != "pass FAIL" {
		t.Errorf("recovery row %q, want \"pass FAIL\"", got)
	}

	c, err = Compare([]Run{{Label: "a", Results: []*harness.Result{plain}}, {Label: "b", Results: []*harness.Result{plain}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Rows {
		if r.Name == "RPO" || r.Name == "worst RTO" || r.Name == "recovered from every fault" {
			t.Errorf("row %q in a comparison without faults", r.Name)
		}
	}
}
