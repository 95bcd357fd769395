package reports

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"sort"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/vectorstream/vectorstream/harness"
)

// ErrNoData means a plot has nothing to draw: the result lacks the timeline rows,
// histograms or breakdown it needs.
var ErrNoData = errors.New("no data to plot")

// StageLabel is the human name of a stage for legends and tables.
func StageLabel(stage string) string {
	switch stage {
	case "send_delay":
		return "send delay"
	case "kafka_transit":
		return "Kafka transit"
	case "batch_wait":
		return "batch wait"
	case "load_send_delay":
		return "send delay (load generator)"
	case harness.StageE2E:
		return "end to end"
	case harness.StageDLQ:
		return "dead-letter (e2e)"
	}
	return stage
}

// StageColor is the colour a stage has in every plot; e2e is black.
func StageColor(stage string) color.Color {
	for i, s := range harness.BreakdownStages {
		if s == stage {
			return Color(i)
		}
	}
	return Color(len(palette) - 1)
}

// titled returns title with the scenario and, for embedded stand-ins, a warning
// appended, so that a PNG seen on its own still says what it measured.
func titled(res *harness.Result, title string) string {
	t := title
	if res.Scenario.Name != "" {
		t = res.Scenario.Name + ": " + t
	}
	if l := res.Environment.StandIns.Label(); l != "" {
		t += "  [" + l + "]"
	}
	return t
}

const timeAxis = "time since load start (s)"

// phaseLines marks the end of the warm-up and the end of the load on a timeline.
func phaseLines(p *plot.Plot, res *harness.Result) {
	w := res.Scenario.Warmup.Seconds()
	if w > 0 {
		p.Add(VerticalLine{X: w, Label: "warm-up ends"})
	}
	if d := res.Scenario.Duration.Seconds(); d > 0 {
		p.Add(VerticalLine{X: w + d, Label: "load stops"})
	}
}

// faultBands shades the window of every fault of res on a timeline plot, labelled with
// the fault's kind. Call it right after NewPlot, so that the bands lie behind the data.
// A label moves down one line for each earlier fault whose window overlaps its own.
func faultBands(p *plot.Plot, res *harness.Result) {
	for i, f := range res.Faults {
		from, to := f.StartS, math.Max(f.EndS, f.StartS)
		row := 0
		for _, g := range res.Faults[:i] {
			if g.StartS <= to && math.Max(g.EndS, g.StartS) >= from {
				row++
			}
		}
		p.Add(Band{From: from, To: to, Label: f.Kind, Row: row})
	}
}

func timelineXYs(rows []harness.TimelineRow, f func(harness.TimelineRow) float64) plotter.XYs {
	xys := make(plotter.XYs, len(rows))
	for i, r := range rows {
		xys[i] = plotter.XY{X: float64(r.Second), Y: f(r)}
	}
	return xys
}

func timelineX(p *plot.Plot, rows []harness.TimelineRow) {
	p.X.Min = 0
	p.X.Max = float64(rows[len(rows)-1].Second)
}

// ThroughputWindow is the moving window, in whole seconds, over which ThroughputPlot
// averages the events written and dead-lettered. Those arrive one micro-batch at a
// time, so a window holds one batch more or less depending on where the batches fall
// and its average wavers by up to one batch interval over the window's length: ten
// batch intervals keep that near 10 %. The window is at least 1 s, and at most 10 s so
// that it does not blur the warm-up's end, the load's end or a fault.
func ThroughputWindow(res *harness.Result) int {
	iv := res.Scenario.Pipeline.Batch.Interval
	w := int((10*iv + time.Second - 1) / time.Second)
	return min(max(w, 1), 10)
}

// MovingRate is the mean per second of f over each window of win seconds of rows
// (those whose second lies in (s−win, s]), drawn at the window's middle, win/2 s before
// its end, so that the average neither leads nor lags what it averages. Seconds before
// the first row count as 0 (the load had not started); windows whose middle lies
// before 0 are left out, and so are the last win/2 s, which no whole window covers.
// With win 1 it is f of each row.
func MovingRate(rows []harness.TimelineRow, win int, f func(harness.TimelineRow) float64) plotter.XYs {
	if len(rows) == 0 || win < 1 {
		return nil
	}
	var xys plotter.XYs
	sum, j := 0.0, 0
	for _, r := range rows {
		sum += f(r)
		for rows[j].Second <= r.Second-win {
			sum -= f(rows[j])
			j++
		}
		if x := float64(r.Second) - float64(win)/2; x >= 0 {
			xys = append(xys, plotter.XY{X: x, Y: sum / float64(win)})
		}
	}
	return xys
}

// countLabel states a total from Result.Counts and the part of it that belongs to the
// warm-up.
func countLabel(total, warmup int64) string {
	if warmup == 0 {
		return fmt.Sprintf("%d in all", total)
	}
	return fmt.Sprintf("%d in all, of which warm-up %d", total, warmup)
}

// rateName names a rate drawn over win seconds.
func rateName(what string, win int) string {
	if win <= 1 {
		return what + " per second"
	}
	return fmt.Sprintf("%s, %d s moving average", what, win)
}

// throughputLine is one line of ThroughputPlot.
type throughputLine struct {
	name   string
	xys    plotter.XYs
	col    color.Color
	width  float64
	dashes []float64
}

// throughputSeries are the lines ThroughputPlot draws, before the burst line.
func throughputSeries(res *harness.Result) []throughputLine {
	rows, c, win := res.Timeline, res.Counts, ThroughputWindow(res)
	return []throughputLine{
		{fmt.Sprintf("offered per second (schedule; %s)", countLabel(c.Offered, c.Warmup.Offered)),
			timelineXYs(rows, func(r harness.TimelineRow) float64 { return float64(r.Offered) }), color.RGBA{0xb0, 0xb0, 0xb0, 0xff}, 5, nil},
		{fmt.Sprintf("produced to Kafka per second (%s)", countLabel(c.Produced, c.Warmup.Produced)),
			timelineXYs(rows, func(r harness.TimelineRow) float64 { return float64(r.Produced) }), Color(0), 1.5, []float64{6, 3}},
		{fmt.Sprintf("%s (%s)", rateName("written to Qdrant", win), countLabel(c.Written, c.Warmup.Written)),
			MovingRate(rows, win, func(r harness.TimelineRow) float64 { return float64(r.Written) }), Color(2), 1.8, nil},
		{fmt.Sprintf("%s (%s)", rateName("dead-lettered", win), countLabel(c.DeadLettered, c.Warmup.DeadLettered)),
			MovingRate(rows, win, func(r harness.TimelineRow) float64 { return float64(r.DeadLettered) }), Color(3), 1.2, nil},
	}
}

// ThroughputPlot draws events per second over the run, from Result.Timeline: offered by
// the schedule and produced to Kafka, each second's own count; written to Qdrant and
// dead-lettered, which arrive per micro-batch, as a moving average over
// ThroughputWindow seconds, so that batches aliased onto the seconds do not show as
// dips. The legend gives the run's totals with their warm-up part.
func ThroughputPlot(res *harness.Result) (*plot.Plot, error) {
	rows := res.Timeline
	if len(rows) == 0 {
		return nil, fmt.Errorf("throughput: %w: empty timeline", ErrNoData)
	}
	p := NewPlot(titled(res, "throughput"), timeAxis, "events/s")
	faultBands(p, res)
	series := throughputSeries(res)
	var legend []LegendEntry
	for _, s := range series {
		if len(s.xys) == 0 {
			continue // a timeline shorter than the window
		}
		l, err := line(s.xys, s.col, s.width, s.dashes...)
		if err != nil {
			return nil, fmt.Errorf("throughput: %w", err)
		}
		p.Add(l)
		legend = append(legend, LegendEntry{s.name, []plot.Thumbnailer{l}})
	}
	// Micro-batches of a second or more write in bursts; spreading each burst over the
	// seconds since the previous one shows the rate the batches sustain.
	if iv := res.Scenario.Pipeline.Batch.Interval; iv >= 2*time.Second {
		if xys := burstRate(rows); len(xys) > 0 {
			l, err := line(xys, Color(5), 2, 2, 2)
			if err != nil {
				return nil, fmt.Errorf("throughput: %w", err)
			}
			p.Add(l)
			legend = append(legend, LegendEntry{fmt.Sprintf("written, each batch spread over the time since the last (interval %v)", iv), []plot.Thumbnailer{l}})
		}
	}
	phaseLines(p, res)
	timelineX(p, rows)
	p.Y.Min = 0
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
	reserveLegendSpace(p, len(legend), DefaultHeight)
	SetLegend(p, legend...)
	return p, nil
}

// burstRate turns writes that arrive in bursts (runs of seconds with writes) into a
// step line: each burst's events divided by the seconds since the previous burst ended,
// held over those seconds.
func burstRate(rows []harness.TimelineRow) plotter.XYs {
	var xys plotter.XYs
	prevEnd := 0
	if len(rows) > 0 {
		prevEnd = rows[0].Second - 1
	}
	for i := 0; i < len(rows); {
		if rows[i].Written == 0 {
			i++
			continue
		}
		var sum int64
		j := i
		for ; j < len(rows) && rows[j].Written > 0; j++ {
			sum += rows[j].Written
		}
		end := rows[j-1].Second
		rate := float64(sum) / float64(end-prevEnd)
		xys = append(xys, plotter.XY{X: float64(prevEnd), Y: rate}, plotter.XY{X: float64(end), Y: rate})
		prevEnd, i = end, j
	}
	return xys
}

// LatencyTimelinePlot draws the e2e latency p50, p99 and max of the events finished in
// each second; seconds in which none finished are left out. The y axis is logarithmic
// when the values span more than a decade.
func LatencyTimelinePlot(res *harness.Result) (*plot.Plot, error) {
	var rows []harness.TimelineRow
	for _, r := range res.Timeline {
		if r.E2EMaxMS > 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("latency timeline: %w: no second has e2e latencies", ErrNoData)
	}
	lo, hi := math.Inf(1), 0.0
	for _, r := range rows {
		for _, v := range []float64{r.E2EP50MS, r.E2EP99MS, r.E2EMaxMS} {
			if v > 0 {
				lo = math.Min(lo, v)
			}
			hi = math.Max(hi, v)
		}
	}
	logY := hi/lo > 10
	yLabel := "end-to-end latency (ms)"
	if logY {
		yLabel = "end-to-end latency (ms, log scale)"
	}
	p := NewPlot(titled(res, "end-to-end latency per second (intended send → Qdrant ack)"), timeAxis, yLabel)
	faultBands(p, res)
	series := []struct {
		name  string
		f     func(harness.TimelineRow) float64
		col   color.Color
		width float64
	}{
		{"max per second", func(r harness.TimelineRow) float64 { return r.E2EMaxMS }, Color(3), 1},
		{"p99 per second", func(r harness.TimelineRow) float64 { return r.E2EP99MS }, Color(1), 1.8},
		{"p50 per second", func(r harness.TimelineRow) float64 { return r.E2EP50MS }, Color(0), 1.8},
	}
	points := len(rows) <= 150 || len(rows) < len(res.Timeline)/2
	var legend []LegendEntry
	for _, s := range series {
		xys := timelineXYs(rows, s.f)
		if logY {
			for i := range xys {
				xys[i].Y = math.Max(xys[i].Y, 0.001)
			}
		}
		l, err := line(xys, s.col, s.width)
		if err != nil {
			return nil, fmt.Errorf("latency timeline: %w", err)
		}
		p.Add(l)
		th := []plot.Thumbnailer{l}
		if points {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("latency timeline: %w", err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: s.col, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			th = append(th, sc)
		}
		legend = append(legend, LegendEntry{s.name, th})
	}
	phaseLines(p, res)
	timelineX(p, res.Timeline)
	if logY {
		LatencyAxis(p, lo, hi)
	} else {
		p.Y.Min = 0
	}
	// Largest first in the legend reads top-down like the lines.
	reserveLegendSpace(p, len(legend), DefaultHeight)
	SetLegend(p, legend...)
	return p, nil
}

// DecodeHistograms decodes every histogram in res (HdrHistogram V2, base64,
// microseconds), by name.
func DecodeHistograms(res *harness.Result) (map[string]*hdrhistogram.Histogram, error) {
	out := make(map[string]*hdrhistogram.Histogram, len(res.Histograms))
	names := make([]string, 0, len(res.Histograms))
	for n := range res.Histograms {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h, err := hdrhistogram.Decode([]byte(res.Histograms[n]))
		if err != nil {
			return nil, fmt.Errorf("reports: decode histogram %q: %w", n, err)
		}
		out[n] = h
	}
	return out, nil
}

// LatencyPercentilesPlot draws the HdrHistogram percentile distribution of the e2e
// latency and of each stage: x is the percentile on a log 1/(1−p) axis, y the latency
// in ms on a log axis.
func LatencyPercentilesPlot(res *harness.Result) (*plot.Plot, error) {
	hs, err := DecodeHistograms(res)
	if err != nil {
		return nil, fmt.Errorf("latency percentiles: %w", err)
	}
	p := NewPlot(titled(res, "latency per event by percentile, after warm-up"),
		"percentile (log scale of 1/(1−p))", "latency (ms, log scale)")
	var legend []LegendEntry
	lo, hi, maxX := math.Inf(1), 0.0, 0.0
	for _, st := range append([]string{harness.StageE2E}, harness.BreakdownStages...) {
		h := hs[st]
		if h == nil || h.TotalCount() == 0 {
			continue
		}
		xys := PercentileCurve(h)
		width := 1.8
		if st == harness.StageE2E {
			width = 3
		}
		l, err := line(xys, StageColor(st), width)
		if err != nil {
			return nil, fmt.Errorf("latency percentiles: %s: %w", st, err)
		}
		p.Add(l)
		for _, xy := range xys {
			lo, hi, maxX = math.Min(lo, xy.Y), math.Max(hi, xy.Y), math.Max(maxX, xy.X)
		}
		pc := harness.PercentilesOf(h)
		legend = append(legend, LegendEntry{fmt.Sprintf("%s per event: p50 %s, p99 %s, max %s ms", StageLabel(st), FormatMS(pc.P50), FormatMS(pc.P99), FormatMS(pc.Max)),
			[]plot.Thumbnailer{l}})
	}
	if len(legend) == 0 {
		return nil, fmt.Errorf("latency percentiles: %w: no e2e or stage histogram has values", ErrNoData)
	}
	PercentileAxis(p, maxX)
	LatencyAxis(p, lo, hi)
	reserveLegendSpace(p, len(legend), DefaultHeight)
	SetLegend(p, legend...)
	return p, nil
}

// FormatMS prints milliseconds with about three significant digits.
func FormatMS(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// StageBreakdownPlot draws stacked bars of the mean time each stage took for the
// events whose e2e latency lay near the p50 and near the p99 (Result.Stages); unlike
// percentiles these means add up to the bar's height, the mean e2e of those events.
func StageBreakdownPlot(res *harness.Result) (*plot.Plot, error) {
	var keys, names []string
	for _, k := range []string{"p50", "p99"} {
		if b, ok := res.Stages[k]; ok && len(b) > 0 {
			keys = append(keys, k)
			names = append(names, fmt.Sprintf("events near e2e %s\n(mean e2e %s ms)", k, FormatMS(b[harness.StageE2E])))
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("stage breakdown: %w: result has no stage_breakdown", ErrNoData)
	}
	p := NewPlot(titled(res, "where the time goes: mean time per stage"), "", "mean time in stage (ms)")
	p.X.Tick.Label.Font.Size = labelSize
	var below *plotter.BarChart
	var legend []LegendEntry
	total := make([]float64, len(keys))
	for _, st := range harness.BreakdownStages {
		vs := make(plotter.Values, len(keys))
		for i, k := range keys {
			vs[i] = math.Max(res.Stages[k][st], 0)
			total[i] += vs[i]
		}
		b, err := plotter.NewBarChart(vs, vg.Points(150))
		if err != nil {
			return nil, fmt.Errorf("stage breakdown: %s: %w", st, err)
		}
		b.Color = StageColor(st)
		b.LineStyle.Color = color.White
		b.LineStyle.Width = vg.Points(0.5)
		if below != nil {
			b.StackOn(below)
		}
		below = b
		p.Add(b)
		label := StageLabel(st) + " mean:"
		for i, k := range keys {
			sep := ","
			if i == 0 {
				sep = ""
			}
			label += fmt.Sprintf("%s %s ms near e2e %s", sep, FormatMS(vs[i]), k)
		}
		// Top of the stack first, as the bars read.
		legend = append([]LegendEntry{{label, []plot.Thumbnailer{b}}}, legend...)
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.7, float64(len(keys))-0.3
	p.Y.Min = 0
	for _, t := range total {
		p.Y.Max = math.Max(p.Y.Max, t)
	}
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
	p.Legend.Left, p.Legend.XOffs = false, -p.Legend.XOffs
	reserveLegendSpace(p, len(legend), DefaultHeight)
	SetLegend(p, legend...)
	return p, nil
}

const mib = 1 << 20

// MeasuredProcess names the process (or processes) whose CPU, memory, GC pauses and
// goroutines the timeline records, as plots and tables must say it: the pipeline's own
// process(es), or the harness process, with whatever ran inside it beside the pipeline.
func MeasuredProcess(res *harness.Result) string {
	in := res.Scenario.Infra
	switch {
	case in.PipelineProcess && in.PipelineProcesses > 1:
		return fmt.Sprintf("the %d pipeline processes, summed", in.PipelineProcesses)
	case in.PipelineProcess:
		return "the pipeline process"
	case res.Environment.StandIns.Any() && !in.Process:
		return "the harness process (pipeline, load generator and stand-ins together)"
	}
	return "the harness process (pipeline and load generator together)"
}

// measuredProcessShort is MeasuredProcess in few enough words for a plot title.
func measuredProcessShort(res *harness.Result) string {
	in := res.Scenario.Infra
	switch {
	case in.PipelineProcess && in.PipelineProcesses > 1:
		return fmt.Sprintf("%d pipeline processes", in.PipelineProcesses)
	case in.PipelineProcess:
		return "the pipeline process"
	case res.Environment.StandIns.Any() && !in.Process:
		return "the harness process (pipeline + load + stand-ins)"
	}
	return "the harness process (pipeline + load)"
}

// ResourcesPlot draws the measured process's resource use (MeasuredProcess) per second
// as four panels:
// CPU (% of one core), heap and RSS (MiB), GC pause (ms per second) and goroutines.
// Draw them with WriteGridPNG.
func ResourcesPlot(res *harness.Result) ([][]*plot.Plot, error) {
	rows := res.Timeline
	if len(rows) == 0 {
		return nil, fmt.Errorf("resources: %w: empty timeline", ErrNoData)
	}
	panel := func(title, yLabel string, ss ...struct {
		name string
		f    func(harness.TimelineRow) float64
	}) (*plot.Plot, error) {
		p := NewPlot(title, timeAxis, yLabel)
		p.Title.TextStyle.Font.Size = labelSize + 1
		faultBands(p, res)
		var legend []LegendEntry
		for i, s := range ss {
			l, err := line(timelineXYs(rows, s.f), Color(i), 1.6)
			if err != nil {
				return nil, fmt.Errorf("resources: %s: %w", title, err)
			}
			p.Add(l)
			legend = append(legend, LegendEntry{s.name, []plot.Thumbnailer{l}})
		}
		phaseLines(p, res)
		timelineX(p, rows)
		p.Y.Min = 0
		if p.Y.Max <= 0 {
			p.Y.Max = 1
		}
		if len(ss) > 1 {
			reserveLegendSpace(p, len(legend), DefaultHeight*2/3)
			SetLegend(p, legend...)
		} else if len(res.Faults) > 0 {
			reserveLegendSpace(p, 1, DefaultHeight*2/3) // room for the fault labels
		}
		return p, nil
	}
	type s = struct {
		name string
		f    func(harness.TimelineRow) float64
	}
	cores := res.Environment.CPUCores
	cpu, err := panel(fmt.Sprintf("CPU (100%% = one core; machine has %d)", cores), "CPU (% of one core)",
		s{"cpu", func(r harness.TimelineRow) float64 { return r.CPUPercent }})
	if err != nil {
		return nil, err
	}
	mem, err := panel("memory", "memory (MiB)",
		s{"RSS", func(r harness.TimelineRow) float64 { return float64(r.RSSBytes) / mib }},
		s{"Go heap in use", func(r harness.TimelineRow) float64 { return float64(r.HeapBytes) / mib }})
	if err != nil {
		return nil, err
	}
	gc, err := panel("GC pauses", "GC pause (ms per second)",
		s{"gc", func(r harness.TimelineRow) float64 { return r.GCPauseMS }})
	if err != nil {
		return nil, err
	}
	gor, err := panel("goroutines", "goroutines",
		s{"goroutines", func(r harness.TimelineRow) float64 { return float64(r.Goroutines) }})
	if err != nil {
		return nil, err
	}
	return [][]*plot.Plot{{cpu, mem}, {gc, gor}}, nil
}

// EfficiencyWindow is the moving window over which EfficiencyPlot sums written events
// and CPU time: at least 5 s, and at least two micro-batch intervals, so that batches
// do not turn the rate into spikes.
func EfficiencyWindow(res *harness.Result) int {
	w := int(math.Ceil(2 * res.Scenario.Pipeline.Batch.Interval.Seconds()))
	return max(w, 5)
}

// Efficiency is written events per CPU-second of the measured process (MeasuredProcess;
// events/s per core actually used) over the rows whose second lies in (from, to]; 0 when no CPU
// time was recorded there.
func Efficiency(rows []harness.TimelineRow, from, to int) float64 {
	var written, cpu float64
	for _, r := range rows {
		if r.Second > from && r.Second <= to {
			written += float64(r.Written)
			cpu += r.CPUPercent / 100
		}
	}
	if cpu <= 0 {
		return 0
	}
	return written / cpu
}

// EfficiencyPlot draws events written per second per CPU core the measured process
// (MeasuredProcess) actually used (written per second ÷ (CPU% / 100)), over a moving window (see
// EfficiencyWindow), with the mean over the measured window as a dashed line.
func EfficiencyPlot(res *harness.Result) (*plot.Plot, error) {
	rows := res.Timeline
	win := EfficiencyWindow(res)
	var xys plotter.XYs
	for _, r := range rows {
		if r.Second < win {
			continue
		}
		if e := Efficiency(rows, r.Second-win, r.Second); e > 0 {
			xys = append(xys, plotter.XY{X: float64(r.Second), Y: e})
		}
	}
	if len(xys) == 0 {
		return nil, fmt.Errorf("efficiency: %w: no window with both written events and CPU time", ErrNoData)
	}
	p := NewPlot(titled(res, "efficiency per CPU core of "+measuredProcessShort(res)), timeAxis, "events written/s per core used")
	faultBands(p, res)
	l, err := line(xys, Color(2), 2)
	if err != nil {
		return nil, fmt.Errorf("efficiency: %w", err)
	}
	p.Add(l)
	legend := []LegendEntry{{fmt.Sprintf("written ÷ CPU-seconds, %d s moving window", win), []plot.Thumbnailer{l}}}
	w := int(res.Scenario.Warmup.Seconds())
	d := int(res.Scenario.Duration.Seconds())
	if mean := Efficiency(rows, w, w+d); mean > 0 && d > 0 {
		m, err := line(plotter.XYs{{X: float64(w), Y: mean}, {X: float64(w + d), Y: mean}}, Color(3), 1.5, 6, 4)
		if err != nil {
			return nil, fmt.Errorf("efficiency: %w", err)
		}
		p.Add(m)
		legend = append(legend, LegendEntry{fmt.Sprintf("measured window: %.0f events/s per core", mean), []plot.Thumbnailer{m}})
	}
	phaseLines(p, res)
	timelineX(p, rows)
	p.Y.Min = 0
	reserveLegendSpace(p, len(legend), DefaultHeight)
	SetLegend(p, legend...)
	return p, nil
}

// Figure is one PNG of a report: a single plot or a grid of panels.
type Figure struct {
	// File is the PNG's name in the run folder, e.g. "throughput.png".
	File string
	// Title is a short heading; Caption says how to read the figure.
	Title, Caption string
	// Plot or Grid (rows of panels) is drawn, at Width × Height.
	Plot          *plot.Plot
	Grid          [][]*plot.Plot
	GridTitle     string
	Width, Height vg.Length
}

// WritePNG draws the figure to w as PNG.
func (f *Figure) WritePNG(w io.Writer) error {
	if f.Grid != nil {
		return WriteGridPNG(w, f.GridTitle, f.Grid, f.Width, f.Height)
	}
	return WritePNG(w, f.Plot, f.Width, f.Height)
}

// Missing is a figure a report could not draw, and why.
type Missing struct {
	File   string
	Reason string
}

// RunFigureFiles are the PNG files a run report may hold, in the order it shows them.
var RunFigureFiles = []string{"throughput.png", "latency_timeline.png", "latency_percentiles.png",
	"stage_breakdown.png", "resources.png", "memory.png", "efficiency.png"}

// ContainersFigureFile is the figure a containers-mode run's report adds, after
// memory.png: each container's CPU and memory.
const ContainersFigureFile = "containers.png"

// RunFigures builds every figure of a run report. A figure whose data the result lacks
// (ErrNoData) is listed in missing instead; any other error is returned.
func RunFigures(res *harness.Result) (figs []Figure, missing []Missing, err error) {
	single := func(file, title, caption string, f func(*harness.Result) (*plot.Plot, error)) error {
		p, err := f(res)
		if errors.Is(err, ErrNoData) {
			missing = append(missing, Missing{file, err.Error()})
			return nil
		}
		if err != nil {
			return err
		}
		figs = append(figs, Figure{File: file, Title: title, Caption: caption, Plot: p, Width: DefaultWidth, Height: DefaultHeight})
		return nil
	}
	steps := []func() error{
		func() error {
			return single("throughput.png", "Throughput", throughputCaption(res), ThroughputPlot)
		},
		func() error {
			return single("latency_timeline.png", "End-to-end latency over time", "p50, p99 and max per second: of the events finished in each second (those intended after the warm-up), measured from the intended send time (no coordinated omission). Not the run's per-event percentiles of the latency table. Seconds in which no event finished are left out."+faultCaption(res), LatencyTimelinePlot)
		},
		func() error {
			return single("latency_percentiles.png", "Latency distribution", latencyPercentilesCaption(res), LatencyPercentilesPlot)
		},
		func() error {
			return single("stage_breakdown.png", "Stage breakdown", "Mean time per stage of the events whose e2e latency lay near the e2e p50 and near the e2e p99 (after warm-up). These means add up to the mean e2e of those events; they are not the stages' own percentiles per event, which the latency table and the distribution plot give.", StageBreakdownPlot)
		},
		func() error {
			grid, err := ResourcesPlot(res)
			if errors.Is(err, ErrNoData) {
				missing = append(missing, Missing{"resources.png", err.Error()})
				return nil
			}
			if err != nil {
				return err
			}
			figs = append(figs, Figure{File: "resources.png", Title: "Resource use", Caption: resourcesCaption(res),
				Grid: grid, GridTitle: titled(res, "resource use of "+measuredProcessShort(res)), Width: DefaultWidth, Height: DefaultHeight * 4 / 3})
			return nil
		},
		func() error {
			return single("memory.png", "Memory per process", memoryCaption(res), MemoryPlot)
		},
		func() error {
			if len(res.Environment.Containers) == 0 {
				return nil // not a containers-mode run: no figure to miss
			}
			grid, err := ContainersPlot(res)
			if errors.Is(err, ErrNoData) {
				missing = append(missing, Missing{ContainersFigureFile, err.Error()})
				return nil
			}
			if err != nil {
				return err
			}
			figs = append(figs, Figure{File: ContainersFigureFile, Title: "Containers", Caption: containersCaption(res),
				Grid: grid, GridTitle: titled(res, "CPU and memory per container"), Width: DefaultWidth, Height: DefaultHeight * 2 / 3})
			return nil
		},
		func() error {
			return single("efficiency.png", "Efficiency", fmt.Sprintf("Events written per CPU-second of %s (events/s per core actually used), summed over a %d s moving window.", MeasuredProcess(res), EfficiencyWindow(res))+faultCaption(res), EfficiencyPlot)
		},
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, nil, fmt.Errorf("reports: %w", err)
		}
	}
	return figs, missing, nil
}

func throughputCaption(res *harness.Result) string {
	win := ThroughputWindow(res)
	c := "Events per second, warm-up included: offered by the open-loop schedule and acknowledged by Kafka (produced), each second's own count"
	if win > 1 {
		c += fmt.Sprintf("; written to Qdrant and dead-lettered as a %d s moving average (ten micro-batch intervals of %v, at least 1 s, at most 10 s), since they arrive one batch at a time and a single second holds one batch more or less", win, res.Scenario.Pipeline.Batch.Interval)
	} else {
		c += "; written to Qdrant and dead-lettered likewise per second (micro-batches of " + res.Scenario.Pipeline.Batch.Interval.String() + ")"
	}
	c += ". The legend's totals are the whole run's, with the part intended during the warm-up."
	if res.Scenario.Pipeline.Batch.Interval >= 2*time.Second {
		c += " The dotted line spreads each batch's writes over the time since the previous batch."
	}
	return c + faultCaption(res)
}

func latencyPercentilesCaption(res *harness.Result) string {
	c := "HdrHistogram percentile plot of every event intended after the warm-up"
	if e2e, ok := res.Latency[harness.StageE2E]; ok {
		c += fmt.Sprintf(" (%d events end to end)", e2e.Count)
	}
	return c + ": the further right, the rarer. Stage curves show each stage's own distribution per event; percentiles of stages do not add up to e2e."
}

func resourcesCaption(res *harness.Result) string {
	c := "CPU, memory, GC pauses and goroutines of " + MeasuredProcess(res) + ", sampled once a second."
	switch in := res.Scenario.Infra; {
	case !in.PipelineProcess && res.Environment.StandIns.Qdrant && !in.Process:
		c += " The pipeline ran inside the harness process, beside the load generator and the embedded Kafka and Qdrant stand-ins: their CPU and memory are included."
	case !in.PipelineProcess && res.Environment.StandIns.Kafka && !in.Process:
		c += " The pipeline ran inside the harness process, beside the load generator and the embedded Kafka stand-in: their CPU and memory are included (the Qdrant engine server's are not: it is a process of its own)."
	case !in.PipelineProcess:
		c += " The pipeline ran inside the harness process, beside the load generator: its CPU and memory are included."
	}
	return c + faultCaption(res)
}

// faultCaption is the sentence a timeline figure's caption ends with when the run
// injected faults.
func faultCaption(res *harness.Result) string {
	if len(res.Faults) == 0 {
		return ""
	}
	return " Shaded bands are the windows of the injected faults, labelled with their kind."
}
