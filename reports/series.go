package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/vectorstream/vectorstream/harness"
)

// Names of the sweep report's files.
const (
	SeriesHTML             = "series.html"
	ThroughputLatencyPNG   = "throughput_latency.png"
	seriesRateParameter    = "load.rate"
	seriesSustainableColor = 3
)

//go:embed series.tmpl.html
var seriesTemplateText string

var seriesTemplate = template.Must(template.New(SeriesHTML).Parse(seriesTemplateText))

// seriesStat is one figure of one point: the median and range over its repeats.
type seriesStat struct {
	Median, Min, Max float64
	N                int
}

func seriesStatOf(rs []*harness.Result, f func(*harness.Result) float64) seriesStat {
	v := make([]float64, 0, len(rs))
	for _, r := range rs {
		if x := f(r); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return seriesStat{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	slices.Sort(v)
	n := len(v)
	m := v[n/2]
	if n%2 == 0 {
		m = (v[n/2-1] + v[n/2]) / 2
	}
	return seriesStat{Median: m, Min: v[0], Max: v[n-1], N: n}
}

// seriesPoint is one swept value with its figures.
type seriesPoint struct {
	Value                                string
	X                                    float64
	Offered, Achieved, P50, P99          seriesStat
	Valid, Passed, Runs                  int
	PointPassed, Sustainable, HasResults bool
}

// seriesAxis says what the x axis shows: the offered load, a number of the swept
// parameter, or (when values are not numbers) their positions.
type seriesAxis struct {
	label   string
	nominal []string
	rate    bool
}

func seriesPoints(s *harness.Series, runs [][]*harness.Result) ([]seriesPoint, seriesAxis, error) {
	if len(runs) != len(s.Points) {
		return nil, seriesAxis{}, fmt.Errorf("series: %d points but results for %d", len(s.Points), len(runs))
	}
	if s.Sustainable < -1 || s.Sustainable >= len(s.Points) {
		return nil, seriesAxis{}, fmt.Errorf("series: sustainable index %d outside the %d points", s.Sustainable, len(s.Points))
	}
	axis := seriesAxis{rate: s.Parameter == "" || s.Parameter == seriesRateParameter}
	pts := make([]seriesPoint, len(s.Points))
	numeric, durations := true, true
	for i, sp := range s.Points {
		rs := runs[i]
		for k, r := range rs {
			if r == nil {
				return nil, seriesAxis{}, fmt.Errorf("series: point %q: run %d is nil", sp.Value, k+1)
			}
		}
		p := seriesPoint{Value: sp.Value, PointPassed: sp.Passed, Sustainable: i == s.Sustainable, Runs: len(rs), HasResults: len(rs) > 0}
		p.Offered = seriesStatOf(rs, func(r *harness.Result) float64 { return r.Throughput.OfferedEPS })
		p.Achieved = seriesStatOf(rs, func(r *harness.Result) float64 { return r.Throughput.AchievedEPS })
		lat := func(pick func(harness.Percentiles) float64) func(*harness.Result) float64 {
			return func(r *harness.Result) float64 {
				if l, ok := r.Latency[harness.StageE2E]; ok {
					return pick(l)
				}
				return math.NaN()
			}
		}
		p.P50 = seriesStatOf(rs, lat(func(l harness.Percentiles) float64 { return l.P50 }))
		p.P99 = seriesStatOf(rs, lat(func(l harness.Percentiles) float64 { return l.P99 }))
		for _, r := range rs {
			if r.Validity.Valid {
				p.Valid++
			}
			if r.Passed {
				p.Passed++
			}
		}
		if _, err := strconv.ParseFloat(sp.Value, 64); err != nil {
			numeric = false
		}
		if _, err := time.ParseDuration(sp.Value); err != nil {
			durations = false
		}
		pts[i] = p
	}
	for i := range pts {
		switch {
		case axis.rate && !math.IsNaN(pts[i].Offered.Median) && pts[i].Offered.Median > 0:
			pts[i].X = pts[i].Offered.Median
		case numeric:
			pts[i].X, _ = strconv.ParseFloat(pts[i].Value, 64)
		case durations:
			d, _ := time.ParseDuration(pts[i].Value)
			pts[i].X = float64(d) / float64(time.Millisecond)
		default:
			pts[i].X = float64(i)
		}
	}
	switch {
	case axis.rate:
		axis.label = "offered load (events/s)"
	case numeric:
		axis.label = s.Parameter
	case durations:
		axis.label = s.Parameter + " (ms)"
	default:
		axis.label = s.Parameter
		for _, p := range pts {
			axis.nominal = append(axis.nominal, p.Value)
		}
	}
	if axis.rate {
		for _, p := range pts {
			if p.X == 0 {
				axis.rate = false
			}
		}
	}
	return pts, axis, nil
}

// seriesSustainableText names the sustainable point: "sustainable: 16000 events/s".
func seriesSustainableText(s *harness.Series, pts []seriesPoint, axis seriesAxis) string {
	if s.Sustainable < 0 {
		return "sustainable: none (no point passed every run)"
	}
	p := pts[s.Sustainable]
	if axis.rate {
		v := p.Value
		if _, err := strconv.ParseFloat(v, 64); err != nil || v == "" {
			v = strconv.FormatFloat(p.Offered.Median, 'f', 0, 64)
		}
		return "sustainable: " + v + " events/s"
	}
	return fmt.Sprintf("sustainable: %s = %s", s.Parameter, p.Value)
}

// seriesErrorBars draws median points with min–max error bars and a connecting line.
func seriesErrorBars(pts []seriesPoint, pick func(seriesPoint) seriesStat, col int, shape draw.GlyphDrawer, logY bool) (*plotter.Line, *plotter.Scatter, *plotter.YErrorBars, error) {
	var xys plotter.XYs
	var errs plotter.YErrors
	for _, p := range pts {
		st := pick(p)
		if math.IsNaN(st.Median) || (logY && st.Min <= 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: p.X, Y: st.Median})
		errs = append(errs, struct{ Low, High float64 }{st.Median - st.Min, st.Max - st.Median})
	}
	if len(xys) == 0 {
		return nil, nil, nil, nil
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, nil, nil, err
	}
	l.Color, l.Width = Color(col), vg.Points(1.5)
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, nil, nil, err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: Color(col), Radius: vg.Points(3.5), Shape: shape}
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYer
		plotter.YErrorer
	}{xys, errs})
	if err != nil {
		return nil, nil, nil, err
	}
	eb.LineStyle.Color, eb.LineStyle.Width = Color(col), vg.Points(1)
	eb.CapWidth = vg.Points(6)
	return l, sc, eb, nil
}

// seriesSustainableMark rings the sustainable point.
func seriesSustainableMark(x, y float64) (*plotter.Scatter, error) {
	sc, err := plotter.NewScatter(plotter.XYs{{X: x, Y: y}})
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: Color(seriesSustainableColor), Radius: vg.Points(9), Shape: draw.RingGlyph{}}
	return sc, nil
}

// ThroughputLatencyPlots returns the two panels of the throughput–latency curve (the
// "hockey stick"): achieved events/s against the offered load (or the swept parameter),
// and e2e p50 and p99 on a log axis below it, medians with min–max error bars over the
// repeats, the sustainable point ringed and named. title is the grid's title.
func ThroughputLatencyPlots(s *harness.Series, runs [][]*harness.Result) (title string, grid [][]*plot.Plot, err error) {
	pts, axis, err := seriesPoints(s, runs)
	if err != nil {
		return "", nil, err
	}
	sus := seriesSustainableText(s, pts, axis)
	what := s.Scenario
	if s.Parameter != "" {
		what += ", sweep of " + s.Parameter
	}
	title = fmt.Sprintf("%s — %s", what, sus)

	top := NewPlot("Achieved throughput", axis.label, "achieved (events/s)")
	bottom := NewPlot("End-to-end latency", axis.label, "e2e latency (ms, log)")
	var topLegend, bottomLegend []LegendEntry
	if axis.rate {
		hi := 0.0
		for _, p := range pts {
			hi = math.Max(hi, p.X)
		}
		ideal, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: hi * 1.05, Y: hi * 1.05}})
		if err != nil {
			return "", nil, fmt.Errorf("series: %w", err)
		}
		ideal.Color, ideal.Width, ideal.Dashes = Color(7), vg.Points(1), []vg.Length{vg.Points(4), vg.Points(3)}
		top.Add(ideal)
		topLegend = append(topLegend, LegendEntry{Name: "achieved = offered", Thumbs: []plot.Thumbnailer{ideal}})
	}
	l, sc, eb, err := seriesErrorBars(pts, func(p seriesPoint) seriesStat { return p.Achieved }, 0, draw.CircleGlyph{}, false)
	if err != nil {
		return "", nil, fmt.Errorf("series: achieved: %w", err)
	}
	if l != nil {
		top.Add(l, eb, sc)
		topLegend = append(topLegend, LegendEntry{Name: "achieved (median, min–max)", Thumbs: []plot.Thumbnailer{l, sc}})
	}
	lo, hi := math.Inf(1), 0.0
	for j, c := range []struct {
		name  string
		pick  func(seriesPoint) seriesStat
		shape draw.GlyphDrawer
	}{{"e2e p50 per event", func(p seriesPoint) seriesStat { return p.P50 }, draw.CircleGlyph{}}, {"e2e p99 per event", func(p seriesPoint) seriesStat { return p.P99 }, draw.TriangleGlyph{}}} {
		l, sc, eb, err := seriesErrorBars(pts, c.pick, 1+j, c.shape, true)
		if err != nil {
			return "", nil, fmt.Errorf("series: %s: %w", c.name, err)
		}
		if l == nil {
			continue
		}
		for _, p := range pts {
			if st := c.pick(p); !math.IsNaN(st.Median) && st.Min > 0 {
				lo, hi = math.Min(lo, st.Min), math.Max(hi, st.Max)
			}
		}
		bottom.Add(l, eb, sc)
		bottomLegend = append(bottomLegend, LegendEntry{Name: c.name + " (median, min–max)", Thumbs: []plot.Thumbnailer{l, sc}})
	}
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	LatencyAxis(bottom, lo, hi*3)
	top.Y.Min = 0
	if s.Sustainable >= 0 {
		p := pts[s.Sustainable]
		for _, pl := range []*plot.Plot{top, bottom} {
			pl.Add(VerticalLine{X: p.X, Label: sus, Color: Color(seriesSustainableColor)})
		}
		if !math.IsNaN(p.Achieved.Median) {
			mark, err := seriesSustainableMark(p.X, p.Achieved.Median)
			if err != nil {
				return "", nil, fmt.Errorf("series: %w", err)
			}
			top.Add(mark)
			topLegend = append(topLegend, LegendEntry{Name: sus, Thumbs: []plot.Thumbnailer{mark}})
		}
		if !math.IsNaN(p.P99.Median) && p.P99.Median > 0 {
			mark, err := seriesSustainableMark(p.X, p.P99.Median)
			if err != nil {
				return "", nil, fmt.Errorf("series: %w", err)
			}
			bottom.Add(mark)
		}
	}
	if axis.nominal != nil {
		top.NominalX(axis.nominal...)
		bottom.NominalX(axis.nominal...)
	}
	// Both panels share the x range, so the points line up.
	xlo, xhi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		xlo, xhi = math.Min(xlo, p.X), math.Max(xhi, p.X)
	}
	if !math.IsInf(xlo, 0) {
		pad := math.Max((xhi-xlo)*0.05, 0.5)
		if axis.rate {
			xlo = 0
		} else {
			xlo -= pad
		}
		for _, pl := range []*plot.Plot{top, bottom} {
			pl.X.Min, pl.X.Max = xlo, xhi+pad
		}
	}
	SetLegend(top, topLegend...)
	// Bottom right: the latency panel's legend stays clear of the low, flat part of the curve.
	bottom.Legend.Top, bottom.Legend.Left = false, false
	bottom.Legend.XOffs, bottom.Legend.YOffs = vg.Points(-6), vg.Points(6)
	SetLegend(bottom, bottomLegend...)
	return title, [][]*plot.Plot{{top}, {bottom}}, nil
}

type seriesHTMLRow struct {
	Value, Offered, Achieved, Range, P50, P99, Valid, Passed string
	Sustainable, Failed                                      bool
}

type seriesHTMLData struct {
	Scenario, RunID, Parameter, Sustainable, Plot string
	Rows                                          []seriesHTMLRow
	Repeats                                       bool
}

// WriteSeriesReport writes series.html and throughput_latency.png into dir (creating
// it) for a sweep or repeats: the throughput–latency curve with the sustainable point
// marked and named, and a table per point of the offered and achieved events/s, e2e p50
// and p99 (medians, with the achieved range over repeats) and how many runs were valid
// and passed. runs holds each point's results, as harness.ReadSeries returns them.
func WriteSeriesReport(dir string, s *harness.Series, runs [][]*harness.Result) error {
	if s == nil {
		return fmt.Errorf("series: report: no series")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("series: report: %w", err)
	}
	title, grid, err := ThroughputLatencyPlots(s, runs)
	if err != nil {
		return fmt.Errorf("series: report: %w", err)
	}
	if err := SaveGridPNG(filepath.Join(dir, ThroughputLatencyPNG), title, grid, DefaultWidth, 9*vg.Inch); err != nil {
		return fmt.Errorf("series: report: %w", err)
	}
	pts, axis, err := seriesPoints(s, runs)
	if err != nil {
		return fmt.Errorf("series: report: %w", err)
	}
	data := seriesHTMLData{Scenario: s.Scenario, RunID: s.RunID, Parameter: s.Parameter,
		Sustainable: seriesSustainableText(s, pts, axis), Plot: ThroughputLatencyPNG}
	for _, p := range pts {
		row := seriesHTMLRow{Value: p.Value, Offered: cmpNum(p.Offered.Median), Achieved: cmpNum(p.Achieved.Median),
			P50: cmpNum(p.P50.Median), P99: cmpNum(p.P99.Median),
			Valid: fmt.Sprintf("%d/%d", p.Valid, p.Runs), Passed: fmt.Sprintf("%d/%d", p.Passed, p.Runs),
			Sustainable: p.Sustainable, Failed: !p.PointPassed}
		if p.Runs > 1 {
			data.Repeats = true
			row.Range = cmpNum(p.Achieved.Min) + "–" + cmpNum(p.Achieved.Max)
		}
		data.Rows = append(data.Rows, row)
	}
	var b bytes.Buffer
	if err := seriesTemplate.Execute(&b, data); err != nil {
		return fmt.Errorf("series: report: html: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, SeriesHTML), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("series: report: %w", err)
	}
	return nil
}
