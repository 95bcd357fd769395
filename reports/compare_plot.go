package reports

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/vectorstream/vectorstream/harness"
)

// The PNGs WriteCompareHTML draws beside compare.html.
const (
	CompareThroughputPNG  = "compare_throughput.png"
	CompareE2EP99PNG      = "compare_e2e_p99.png"
	ComparePercentilesPNG = "compare_e2e_percentiles.png"
	CompareBackendsPNG    = "compare_backends.png"
)

// cmpLine is a line plotter in colour col, dashed for repeats after the first.
func cmpLine(xys plotter.XYs, col color.Color, dashed bool) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = col
	l.Width = vg.Points(1.5)
	if dashed {
		l.Width = vg.Points(1)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	return l, nil
}

// cmpTimelinePlot draws one series of every result's timeline, in one colour per run.
func cmpTimelinePlot(runs []Run, title, yLabel string, y func(harness.TimelineRow) (float64, bool)) (*plot.Plot, float64, float64, error) {
	p := NewPlot(title, "time since start (s)", yLabel)
	var legend []LegendEntry
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, run := range runs {
		for k, r := range run.Results {
			var xys plotter.XYs
			for _, row := range r.Timeline {
				if v, ok := y(row); ok {
					xys = append(xys, plotter.XY{X: float64(row.Second), Y: v})
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
			if len(xys) == 0 {
				continue
			}
			l, err := cmpLine(xys, Color(i), k > 0)
			if err != nil {
				return nil, 0, 0, fmt.Errorf("%s: %w", run.Label, err)
			}
			p.Add(l)
			if k == 0 {
				name := run.Label
				if len(run.Results) > 1 {
					name += fmt.Sprintf(" (%d repeats)", len(run.Results))
				}
				legend = append(legend, LegendEntry{Name: name, Thumbs: []plot.Thumbnailer{l}})
			}
		}
	}
	SetLegend(p, legend...)
	return p, lo, hi, nil
}

func cmpThroughputPlot(runs []Run) (*plot.Plot, error) {
	p, _, hi, err := cmpTimelinePlot(runs, "Achieved throughput (written + dead-lettered per second)", "events/s",
		func(row harness.TimelineRow) (float64, bool) { return float64(row.Written + row.DeadLettered), true })
	if err != nil {
		return nil, err
	}
	p.Y.Min = 0
	if !math.IsInf(hi, 0) {
		p.Y.Max = hi * 1.25
	}
	return p, nil
}

func cmpE2EP99Plot(runs []Run) (*plot.Plot, error) {
	p, lo, hi, err := cmpTimelinePlot(runs, "End-to-end latency p99 per second", "e2e p99 per second (ms, log)",
		func(row harness.TimelineRow) (float64, bool) { return row.E2EP99MS, row.E2EP99MS > 0 })
	if err != nil {
		return nil, err
	}
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	LatencyAxis(p, lo, hi*3)
	return p, nil
}

// cmpMergedE2E merges, never averages, the e2e histograms of a run's repeats.
func cmpMergedE2E(run Run) (*hdrhistogram.Histogram, error) {
	var merged *hdrhistogram.Histogram
	for k, r := range run.Results {
		enc := r.Histograms[harness.StageE2E]
		if enc == "" {
			continue
		}
		h, err := hdrhistogram.Decode([]byte(enc))
		if err != nil {
			return nil, fmt.Errorf("%s%s: decode e2e histogram: %w", run.Label, cmpRepeat(run, k), err)
		}
		if merged == nil {
			merged = h
			continue
		}
		merged.Merge(h)
	}
	return merged, nil
}

func cmpPercentilePlot(runs []Run) (*plot.Plot, error) {
	p := NewPlot("End-to-end latency by percentile (repeats merged)", "percentile", "e2e latency (ms, log)")
	var legend []LegendEntry
	lo, hi, maxX := math.Inf(1), math.Inf(-1), 100.0
	for i, run := range runs {
		h, err := cmpMergedE2E(run)
		if err != nil {
			return nil, err
		}
		if h == nil {
			continue
		}
		xys := PercentileCurve(h)
		if len(xys) == 0 {
			continue
		}
		for _, xy := range xys {
			lo, hi, maxX = math.Min(lo, xy.Y), math.Max(hi, xy.Y), math.Max(maxX, xy.X)
		}
		l, err := cmpLine(xys, Color(i), false)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", run.Label, err)
		}
		l.Width = vg.Points(2)
		p.Add(l)
		legend = append(legend, LegendEntry{Name: fmt.Sprintf("%s (%d events)", run.Label, h.TotalCount()), Thumbs: []plot.Thumbnailer{l}})
	}
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	PercentileAxis(p, maxX)
	LatencyAxis(p, lo, hi*3)
	SetLegend(p, legend...)
	return p, nil
}

// cmpBackendKey is one embedding backend at one batch size.
type cmpBackendKey struct {
	backend string
	batch   int
}

func (k cmpBackendKey) String() string {
	b := k.backend
	if b == "" {
		b = "?"
	}
	return b + " / " + strconv.Itoa(k.batch)
}

func cmpResultBackend(r *harness.Result) cmpBackendKey {
	b := r.Environment.EmbeddingBackend
	if b == "" {
		b = r.Scenario.Embedding.Backend
	}
	return cmpBackendKey{backend: b, batch: r.Scenario.Pipeline.Batch.MaxSize}
}

// cmpNeedsBackendPlot is true when the runs hold more than one embedding backend or
// batch size.
func cmpNeedsBackendPlot(runs []Run) bool {
	backends, batches := map[string]bool{}, map[int]bool{}
	for _, run := range runs {
		for _, r := range run.Results {
			k := cmpResultBackend(r)
			backends[k.backend], batches[k.batch] = true, true
		}
	}
	return len(backends) > 1 || len(batches) > 1
}

// cmpBackendPanels draws events/s and the embed stage's p50 and p99 per event (each event's embed
// time is its batch's) for every backend and batch size, as grouped bars of medians.
func cmpBackendPanels(runs []Run) ([][]*plot.Plot, error) {
	group := map[cmpBackendKey][]*harness.Result{}
	var keys []cmpBackendKey
	for _, run := range runs {
		for _, r := range run.Results {
			k := cmpResultBackend(r)
			if _, ok := group[k]; !ok {
				keys = append(keys, k)
			}
			group[k] = append(group[k], r)
		}
	}
	slices.SortFunc(keys, func(a, b cmpBackendKey) int {
		if a.backend != b.backend {
			if a.backend < b.backend {
				return -1
			}
			return 1
		}
		return a.batch - b.batch
	})
	median := func(rs []*harness.Result, f func(*harness.Result) float64) float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, f(r))
		}
		slices.Sort(v)
		if n := len(v); n%2 == 1 {
			return v[n/2]
		}
		n := len(v)
		return (v[n/2-1] + v[n/2]) / 2
	}
	names := make([]string, len(keys))
	var eps, p50, p99 plotter.Values
	for i, k := range keys {
		names[i] = k.String()
		rs := group[k]
		eps = append(eps, median(rs, func(r *harness.Result) float64 { return r.Throughput.AchievedEPS }))
		p50 = append(p50, math.Max(median(rs, func(r *harness.Result) float64 { return r.Latency["embed"].P50 }), 0.001))
		p99 = append(p99, math.Max(median(rs, func(r *harness.Result) float64 { return r.Latency["embed"].P99 }), 0.001))
	}
	w := vg.Points(20)
	left := NewPlot("Achieved throughput", "backend / batch max size", "events/s")
	bars, err := plotter.NewBarChart(eps, w)
	if err != nil {
		return nil, fmt.Errorf("throughput bars: %w", err)
	}
	bars.Color, bars.LineStyle.Width = Color(0), 0
	left.Add(bars)
	left.NominalX(names...)
	left.Y.Min = 0
	for _, v := range eps {
		left.Y.Max = math.Max(left.Y.Max, v*1.15)
	}

	right := NewPlot("Embed stage latency per event (an event waits for its batch)", "backend / batch max size", "ms (log)")
	var legend []LegendEntry
	lo, hi := math.Inf(1), 0.0
	for j, s := range []struct {
		name  string
		vals  plotter.Values
		shape draw.GlyphDrawer
	}{{"p50", p50, draw.CircleGlyph{}}, {"p99", p99, draw.TriangleGlyph{}}} {
		xys := make(plotter.XYs, len(s.vals))
		for i, v := range s.vals {
			xys[i] = plotter.XY{X: float64(i), Y: v}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, fmt.Errorf("embed %s: %w", s.name, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: Color(2 + j), Radius: vg.Points(5), Shape: s.shape}
		right.Add(sc)
		legend = append(legend, LegendEntry{Name: "embed " + s.name + " per event", Thumbs: []plot.Thumbnailer{sc}})
	}
	right.NominalX(names...)
	right.X.Min, right.X.Max = -0.5, float64(len(names))-0.5
	LatencyAxis(right, lo/2, hi*3)
	SetLegend(right, legend...)
	return [][]*plot.Plot{{left, right}}, nil
}

// cmpPlot is one figure of compare.html.
type cmpPlot struct {
	File, Caption string
}

// cmpWritePlots draws the comparison's PNGs into dir and returns them in page order.
func cmpWritePlots(dir string, runs []Run) ([]cmpPlot, error) {
	var out []cmpPlot
	type single struct {
		file, caption string
		draw          func([]Run) (*plot.Plot, error)
	}
	for _, s := range []single{
		{CompareThroughputPNG, "Achieved events/s per second of each run (repeats dashed).", cmpThroughputPlot},
		{CompareE2EP99PNG, "End-to-end p99 latency per second of each run (repeats dashed).", cmpE2EP99Plot},
		{ComparePercentilesPNG, "End-to-end latency percentile curves, each run's repeats merged (HdrHistogram).", cmpPercentilePlot},
	} {
		p, err := s.draw(runs)
		if err != nil {
			return nil, fmt.Errorf("compare: %s: %w", s.file, err)
		}
		if err := SavePNG(filepath.Join(dir, s.file), p, DefaultWidth, DefaultHeight); err != nil {
			return nil, fmt.Errorf("compare: %w", err)
		}
		out = append(out, cmpPlot{File: s.file, Caption: s.caption})
	}
	if cmpNeedsBackendPlot(runs) {
		grid, err := cmpBackendPanels(runs)
		if err != nil {
			return nil, fmt.Errorf("compare: %s: %w", CompareBackendsPNG, err)
		}
		if err := SaveGridPNG(filepath.Join(dir, CompareBackendsPNG), "Embedding backend and batch size (medians over runs)", grid, DefaultWidth, DefaultHeight); err != nil {
			return nil, fmt.Errorf("compare: %w", err)
		}
		out = append(out, cmpPlot{File: CompareBackendsPNG, Caption: "Achieved events/s after warm-up, and the embed stage's p50 and p99 per event (every event waits for its whole batch to embed), medians over repeats, by embedding backend and batch max size."})
	}
	return out, nil
}
