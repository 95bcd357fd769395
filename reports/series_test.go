package reports

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/cmpimg"
	"gonum.org/v1/plot/vg"

	"github.com/vectorstream/vectorstream/harness"
)

// The -regen flag (rewrite the golden image) is cmpimg.GenerateTestData, which the
// cmpimg package registers itself.

// seriesSynth is a rate sweep of six points with three repeats each: the pipeline keeps
// up to 16000 events/s and saturates near 18000, where latency turns up (a hockey stick).
func seriesSynth(t testing.TB) (*harness.Series, [][]*harness.Result) {
	s := &harness.Series{SchemaVersion: harness.SchemaVersion, Scenario: "sweep-rate", RunID: "golden", Parameter: "load.rate", Sustainable: 3}
	var runs [][]*harness.Result
	for i, rate := range []float64{4000, 8000, 12000, 16000, 20000, 24000} {
		pt := harness.SeriesPoint{Value: strconv.FormatFloat(rate, 'f', 0, 64), Passed: i <= 3}
		var rs []*harness.Result
		for k := range 3 {
			jitter := 1 + 0.01*float64(k-1)
			achieved := math.Min(rate, 18000) * jitter
			p99 := 150 * jitter
			if rate > 16000 {
				p99 = 150 * math.Pow(10, (rate-16000)/4000) * jitter
			}
			r := cmpSynth(t, achieved, p99, "cpu", 5000)
			r.Throughput.OfferedEPS = rate
			r.Passed, r.Validity.Valid = i <= 3, i <= 4
			pt.Runs = append(pt.Runs, "run"+strconv.Itoa(k))
			rs = append(rs, r)
		}
		s.Points = append(s.Points, pt)
		runs = append(runs, rs)
	}
	return s, runs
}

func TestThroughputLatencyGolden(t *testing.T) {
	s, runs := seriesSynth(t)
	title, grid, err := ThroughputLatencyPlots(s, runs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, "sustainable: 16000 events/s") {
		t.Errorf("title %q does not name the sustainable rate", title)
	}
	var got bytes.Buffer
	if err := WriteGridPNG(&got, title, grid, DefaultWidth, 9*vg.Inch); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "series_throughput_latency_golden.png")
	if *cmpimg.GenerateTestData {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run ThroughputLatencyGolden -regen to create it)", err)
	}
	ok, err := cmpimg.Equal("png", got.Bytes(), want)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		bad := filepath.Join(t.TempDir(), "throughput_latency.png")
		_ = os.WriteFile(bad, got.Bytes(), 0o644)
		t.Errorf("throughput_latency.png differs from %s; got %s (regenerate with -regen if intended)", golden, bad)
	}
}

func TestWriteSeriesReport(t *testing.T) {
	t.Parallel()
	s, runs := seriesSynth(t)
	dir := t.TempDir()
	if err := WriteSeriesReport(dir, s, runs); err != nil {
		t.Fatal(err)
	}
	cmpCheckImages(t, dir, SeriesHTML, 1)
	b, err := os.ReadFile(filepath.Join(dir, SeriesHTML))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "sustainable: 16000 events/s") || !strings.Contains(string(b), `class="sustainable"`) {
		t.Errorf("series.html does not name and mark the sustainable point")
	}
	if !strings.Contains(string(b), "<td>3/3</td>") || !strings.Contains(string(b), "<td>0/3</td>") {
		t.Errorf("series.html lacks the valid/passed counts")
	}
}

func TestSeriesNonRateParameter(t *testing.T) {
	t.Parallel()
	s := &harness.Series{SchemaVersion: harness.SchemaVersion, Scenario: "batch", Parameter: "pipeline.batch.interval", Sustainable: -1}
	var runs [][]*harness.Result
	for _, v := range []string{"50ms", "100ms", "1s"} {
		s.Points = append(s.Points, harness.SeriesPoint{Value: v, Runs: []string{v}})
		runs = append(runs, []*harness.Result{cmpSynth(t, 1000, 100, "cpu", 1000)})
	}
	title, _, err := ThroughputLatencyPlots(s, runs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, "sustainable: none") {
		t.Errorf("title %q should say no point was sustainable", title)
	}
	if err := WriteSeriesReport(t.TempDir(), s, runs); err != nil {
		t.Fatal(err)
	}
	s.Sustainable = 7
	if _, _, err := ThroughputLatencyPlots(s, runs); err == nil {
		t.Error("an out-of-range sustainable index was accepted")
	}
}
