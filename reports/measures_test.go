package reports

import (
	"bytes"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"

	"github.com/vectorstream/vectorstream/harness"
)

// batchedTimeline is a timeline of secs seconds in which batches of size events are
// written every period from offset on: a constant rate that arrives in steps.
func batchedTimeline(secs int, offset, period time.Duration, size int64) []harness.TimelineRow {
	rows := make([]harness.TimelineRow, secs)
	for i := range rows {
		rows[i].Second = i + 1
	}
	for at := offset; at < time.Duration(secs)*time.Second; at += period {
		rows[int(at/time.Second)].Written += size
	}
	return rows
}

// maxDeviation is the largest |y − want| / want over xys.
func maxDeviation(xys plotter.XYs, want float64) float64 {
	d := 0.0
	for _, xy := range xys {
		d = math.Max(d, math.Abs(xy.Y-want)/want)
	}
	return d
}

// TestWrittenRateDoesNotAlias: a pipeline with a 500 ms batch trigger whose batches
// take 33 ms each commits every 533 ms, 2000 events/s. Its per-second counts hold one
// or two batches and dip to half the rate; the throughput plot's written line, a
// moving average over ThroughputWindow seconds, stays within one batch over that
// window of the rate (7 % here).
func TestWrittenRateDoesNotAlias(t *testing.T) {
	t.Parallel()
	const rate = 2000.0
	period := 533 * time.Millisecond
	size := int64(rate * period.Seconds())
	rows := batchedTimeline(60, 200*time.Millisecond, period, size)
	truth := float64(size) / period.Seconds()

	res := syntheticResult(t)
	res.Scenario.Pipeline.Batch.Interval = 500 * time.Millisecond
	res.Timeline = rows
	res.Faults = nil
	win := ThroughputWindow(res)
	if win != 5 {
		t.Fatalf("window %d s for 500 ms batches, want 5 s (ten intervals)", win)
	}

	written := func(r harness.TimelineRow) float64 { return float64(r.Written) }
	raw := MovingRate(rows, 1, written)
	if d := maxDeviation(raw, truth); d < 0.4 {
		t.Fatalf("raw per-second written deviates at most %.0f%% from %v/s: the batches do not alias as this test needs", 100*d, truth)
	}
	drawn := MovingRate(rows, win, written)
	// Each point sits at its window's middle; the first windows reach before the load
	// started, the last win/2 s have no whole window.
	if len(drawn) != len(rows)-win/2 || drawn[0].X != 0.5 || drawn[len(drawn)-1].X != float64(len(rows))-float64(win)/2 {
		t.Errorf("%d points from %v s to %v s for %d rows and a %d s window", len(drawn), drawn[0].X, drawn[len(drawn)-1].X, len(rows), win)
	}
	var inside plotter.XYs // the windows after the load's first second
	for _, xy := range drawn {
		if xy.X-float64(win)/2 >= 1 {
			inside = append(inside, xy)
		}
	}
	if d := maxDeviation(inside, truth); d > 0.07 {
		t.Errorf("%d s moving average deviates %.1f%% from %v/s, want at most 7%%", win, 100*d, truth)
	}

	// The plot draws exactly that series, and says so.
	var line *throughputLine
	for _, s := range throughputSeries(res) {
		if strings.HasPrefix(s.name, "written to Qdrant") {
			line = &s
		}
	}
	if line == nil || !slices.Equal(line.xys, drawn) {
		t.Errorf("the throughput plot does not draw the moving average of written: %+v", line)
	}
	p, err := ThroughputPlot(res)
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Join(legendNames(p), "\n")
	if !strings.Contains(names, "written to Qdrant, 5 s moving average") {
		t.Errorf("legend does not name the window:\n%s", names)
	}
	figs, _, err := RunFigures(res)
	if err != nil {
		t.Fatal(err)
	}
	if c := figs[0].Caption; figs[0].File != "throughput.png" || !strings.Contains(c, "5 s moving average") {
		t.Errorf("throughput caption %q does not name the window", c)
	}
}

func TestThroughputWindow(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		interval time.Duration
		want     int
	}{{50 * time.Millisecond, 1}, {100 * time.Millisecond, 1}, {200 * time.Millisecond, 2}, {250 * time.Millisecond, 3},
		{500 * time.Millisecond, 5}, {time.Second, 10}, {10 * time.Second, 10}} {
		res := &harness.Result{}
		res.Scenario.Pipeline.Batch.Interval = tt.interval
		if got := ThroughputWindow(res); got != tt.want {
			t.Errorf("interval %v: window %d s, want %d s", tt.interval, got, tt.want)
		}
	}
}

// legendNames draws p and returns the texts it writes: its legend entries and its
// other labels.
func legendNames(p *plot.Plot) []string {
	var rec recorder.Canvas
	p.Draw(draw.NewCanvas(&rec, DefaultWidth, DefaultHeight))
	var out []string
	for _, a := range rec.Actions {
		if fs, ok := a.(*recorder.FillString); ok {
			out = append(out, fs.String)
		}
	}
	return out
}

// TestLatencyMeasuresHaveOneNameEach: the stage breakdown's means near an e2e
// percentile, the per-event percentiles and the per-second percentiles each have their
// own name, so that no two different numbers read "upsert p99".
func TestLatencyMeasuresHaveOneNameEach(t *testing.T) {
	t.Parallel()
	res := syntheticResult(t)
	bareP99 := regexp.MustCompile(`(^|[^e] )p99 [0-9]`) // "p99 210" not preceded by "e2e"

	// stageTexts are the texts of p that start with a stage's label: its legend.
	stageTexts := func(p *plot.Plot, stages []string) []string {
		var out []string
		for _, txt := range legendNames(p) {
			for _, st := range stages {
				if strings.HasPrefix(txt, StageLabel(st)+" ") {
					out = append(out, txt)
				}
			}
		}
		if len(out) != len(stages) {
			t.Fatalf("legend %q: want one entry per stage of %v", out, stages)
		}
		return out
	}
	bd, err := StageBreakdownPlot(res)
	if err != nil {
		t.Fatal(err)
	}
	bdNames := stageTexts(bd, harness.BreakdownStages)
	for _, n := range bdNames {
		if !strings.Contains(n, " mean: ") || !strings.Contains(n, "ms near e2e p50") || !strings.Contains(n, "ms near e2e p99") {
			t.Errorf("breakdown legend %q does not say it is a mean near an e2e percentile", n)
		}
	}
	if !slices.Contains(bdNames, "upsert mean: 25.0 ms near e2e p50, 210 ms near e2e p99") {
		t.Errorf("breakdown legend %q lacks upsert's", bdNames)
	}

	pc, err := LatencyPercentilesPlot(res)
	if err != nil {
		t.Fatal(err)
	}
	pcNames := stageTexts(pc, append([]string{harness.StageE2E}, harness.BreakdownStages...))
	for _, n := range pcNames {
		if !strings.Contains(n, " per event: p50 ") {
			t.Errorf("percentile legend %q does not say per event", n)
		}
	}

	lt, err := LatencyTimelinePlot(res)
	if err != nil {
		t.Fatal(err)
	}
	perSecond := 0
	for _, n := range legendNames(lt) {
		switch {
		case n == "p50" || n == "p99" || n == "max":
			t.Errorf("latency timeline legend %q does not say per second", n)
		case strings.HasSuffix(n, " per second"):
			perSecond++
		}
	}
	if perSecond != 3 {
		t.Errorf("latency timeline: %d legend entries per second, want 3 (p50, p99, max)", perSecond)
	}

	var b bytes.Buffer
	if err := WriteRunHTML(&b, res); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		"Latency per event, after warm-up (ms)", `<th class="num">events</th>`, "(20000 end to end)",
		"mean stage times of the events near the e2e p50 and near the e2e p99",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, n := range append(bdNames, pcNames...) {
		if bareP99.MatchString(n) && !strings.Contains(n, "per event") {
			t.Errorf("legend %q has a bare stage p99", n)
		}
	}
}

// TestCountsSayWhatTheyInclude: counts are the whole run's, with their warm-up part
// beside them, in the report's table and in the throughput legend.
func TestCountsSayWhatTheyInclude(t *testing.T) {
	t.Parallel()
	res := syntheticResult(t)
	var b bytes.Buffer
	if err := WriteRunHTML(&b, res); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		"Counts (whole run, warm-up included)", "of which warm-up",
		`<td>offered</td><td class="num ">35000</td><td class="num">5000</td>`,
		`<td>written</td><td class="num ok">34650</td><td class="num">4950</td>`,
		`<td>dead-lettered</td><td class="num ok">350</td><td class="num">50</td>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	p, err := ThroughputPlot(res)
	if err != nil {
		t.Fatal(err)
	}
	names := strings.Join(legendNames(p), "\n")
	for _, want := range []string{"35000 in all, of which warm-up 5000", "34650 in all, of which warm-up 4950"} {
		if !strings.Contains(names, want) {
			t.Errorf("throughput legend lacks %q:\n%s", want, names)
		}
	}

	// A result from before the warm-up was counted says so rather than showing 0.
	res.Counts.Warmup = harness.WarmupCounts{}
	b.Reset()
	if err := WriteRunHTML(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `<td>offered</td><td class="num ">35000</td><td class="num">not recorded</td>`) {
		t.Error("a result without warm-up counts does not say they were not recorded")
	}
}

// TestGateValuesCarryTheirUnit: the report's gate table gives actual and limit with
// their unit, as the summary does.
func TestGateValuesCarryTheirUnit(t *testing.T) {
	t.Parallel()
	res := syntheticResult(t)
	var b bytes.Buffer
	if err := WriteRunHTML(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<td><code>max_e2e_p99</code></td><td class="num">612 ms</td><td class="num">500 ms</td>`,
		`<td><code>min_throughput_eps</code></td><td class="num">998 events/s</td><td class="num">990 events/s</td>`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
