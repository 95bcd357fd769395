package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/perf/benchfmt"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Names of the crossover report's files.
const (
	CrossoverHTML = "crossover.html"
	CrossoverPNG  = "crossover.png"
)

// CPUBackend is the backend name of the CPU side of a crossover; every other backend
// of an encode benchmark is a GPU.
const CPUBackend = "cpu"

// Units of the encode benchmarks (kerneltest.BenchEncode) that a crossover reads.
const (
	unitEvents       = "events/s"
	unitKernelEvents = "kernel-events/s"
)

// EncodeBench is the encode sweep of one or more benchmark files: a point per dim,
// backend and batch size, and the files' configuration lines that say where it ran.
type EncodeBench struct {
	// Config holds the files' "key: value" configuration lines (goos, goarch, cpu,
	// pkg, …) in order of first appearance, each with its distinct values.
	Config []BenchConfig
	// Points are sorted by Dim, Backend and Batch.
	Points []EncodePoint
}

// BenchConfig is one configuration key of a benchmark file and its distinct values.
type BenchConfig struct {
	Key    string
	Values []string
}

// EncodePoint is one configuration of the encode sweep, "dim=<Dim>/<Backend>-<Batch>",
// over every line that measured it.
type EncodePoint struct {
	Dim     int
	Backend string
	Batch   int
	// Events is the median events/s (rows per second, transfers included) over N lines,
	// and EventsMin and EventsMax its range.
	Events, EventsMin, EventsMax float64
	N                            int
	// Kernel is the median kernel-events/s (device time in kernels only) over KernelN
	// lines; 0 when KernelN is 0, as on the CPU.
	Kernel  float64
	KernelN int
}

// encodeKey identifies an EncodePoint.
type encodeKey struct {
	dim     int
	backend string
	batch   int
}

// parseEncodeName splits an encode benchmark name, "BenchmarkX/dim=<d>/<backend>-<batch>"
// with an optional "-<GOMAXPROCS>" suffix, into its dim, backend and batch size. ok is
// false for any other benchmark.
func parseEncodeName(name benchfmt.Name) (k encodeKey, ok bool) {
	_, parts := name.Parts()
	dim, backend := -1, ""
	batch := 0
	for _, p := range parts {
		s := string(p)
		if !strings.HasPrefix(s, "/") {
			continue // "-<GOMAXPROCS>"
		}
		s = s[1:]
		if v, found := strings.CutPrefix(s, "dim="); found {
			d, err := strconv.Atoi(v)
			if err != nil || d <= 0 {
				return k, false
			}
			dim = d
			continue
		}
		i := strings.LastIndexByte(s, '-')
		if i <= 0 {
			return k, false
		}
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || n <= 0 {
			return k, false
		}
		backend, batch = s[:i], n
	}
	if dim < 0 || backend == "" {
		return k, false
	}
	return encodeKey{dim, backend, batch}, true
}

// resultValue returns r's measurement in unit as written in the file (benchfmt tidies
// units such as "kernel-ns/op" and keeps the original beside).
func resultValue(r *benchfmt.Result, unit string) (float64, bool) {
	for _, v := range r.Values {
		if v.OrigUnit == unit {
			return v.OrigValue, true
		}
		if v.OrigUnit == "" && v.Unit == unit {
			return v.Value, true
		}
	}
	return 0, false
}

// ParseEncodeBench reads Go benchmark output (the format of golang.org/x/perf/benchfmt)
// holding the encode sweep, BenchmarkEncodeCPU and BenchmarkEncodeCUDA lines
// ("dim=<d>/<backend>-<batch>"), and returns a point per dim, backend and batch with
// the medians of its events/s and kernel-events/s over repeated lines (-test.count).
// Other benchmarks, lines without events/s and lines that are not benchmark results
// are skipped; a malformed benchmark line is an error. It is an error too when r holds
// no encode benchmark at all.
func ParseEncodeBench(r io.Reader) (EncodeBench, error) {
	return parseEncodeBench(r, "input")
}

// parseEncodeBench is ParseEncodeBench naming the input in errors.
func parseEncodeBench(r io.Reader, name string) (EncodeBench, error) {
	var eb EncodeBench
	events := map[encodeKey][]float64{}
	kernel := map[encodeKey][]float64{}
	var keys []encodeKey
	br := benchfmt.NewReader(r, name)
	for br.Scan() {
		switch rec := br.Result().(type) {
		case *benchfmt.SyntaxError:
			return EncodeBench{}, fmt.Errorf("crossover: %w", rec)
		case *benchfmt.Result:
			k, ok := parseEncodeName(rec.Name)
			if !ok {
				continue
			}
			ev, ok := resultValue(rec, unitEvents)
			if !ok {
				continue
			}
			for _, c := range rec.Config {
				if c.File {
					eb.addConfig(c.Key, string(c.Value))
				}
			}
			if _, seen := events[k]; !seen {
				keys = append(keys, k)
			}
			events[k] = append(events[k], ev)
			if kv, ok := resultValue(rec, unitKernelEvents); ok {
				kernel[k] = append(kernel[k], kv)
			}
		}
	}
	if err := br.Err(); err != nil {
		return EncodeBench{}, fmt.Errorf("crossover: %w", err)
	}
	if len(keys) == 0 {
		return EncodeBench{}, fmt.Errorf("crossover: %s: no encode benchmark lines (dim=<d>/<backend>-<batch> with events/s)", name)
	}
	for _, k := range keys {
		ev := events[k]
		p := EncodePoint{Dim: k.dim, Backend: k.backend, Batch: k.batch, N: len(ev),
			Events: median(ev), EventsMin: slices.Min(ev), EventsMax: slices.Max(ev)}
		if kv := kernel[k]; len(kv) > 0 {
			p.Kernel, p.KernelN = median(kv), len(kv)
		}
		eb.Points = append(eb.Points, p)
	}
	eb.sortPoints()
	return eb, nil
}

// ReadEncodeBench parses the benchmark files at paths ("-" is standard input) as one
// sweep (see ParseEncodeBench): repeated lines across files are repeats.
func ReadEncodeBench(paths []string, stdin io.Reader) (EncodeBench, error) {
	var all []io.Reader
	for _, p := range paths {
		if p == "-" {
			all = append(all, stdin)
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return EncodeBench{}, fmt.Errorf("crossover: %w", err)
		}
		// A file ends its last line, so that the next file's first line stands alone.
		all = append(all, bytes.NewReader(b), strings.NewReader("\n"))
	}
	return parseEncodeBench(io.MultiReader(all...), strings.Join(paths, ","))
}

func (eb *EncodeBench) addConfig(key, value string) {
	for i := range eb.Config {
		if eb.Config[i].Key == key {
			if !slices.Contains(eb.Config[i].Values, value) {
				eb.Config[i].Values = append(eb.Config[i].Values, value)
			}
			return
		}
	}
	eb.Config = append(eb.Config, BenchConfig{Key: key, Values: []string{value}})
}

func (eb *EncodeBench) sortPoints() {
	slices.SortFunc(eb.Points, func(a, b EncodePoint) int {
		if a.Dim != b.Dim {
			return a.Dim - b.Dim
		}
		if c := strings.Compare(a.Backend, b.Backend); c != 0 {
			return c
		}
		return a.Batch - b.Batch
	})
}

// median returns the middle of v (the mean of the two middle values when len(v) is
// even); v must not be empty. It does not change v.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// CrossoverBatch is one batch size of a CrossoverRow. A figure that was not measured is
// 0.
type CrossoverBatch struct {
	Batch int
	// CPU is the CPU backend's median events/s; GPU the GPU's with transfers (host to
	// device and back) and GPUKernel the GPU's kernel-only events/s.
	CPU, GPU, GPUKernel float64
	// Speedup is GPU / CPU, when both were measured.
	Speedup float64
	// GPUWins is true when the GPU with transfers beat the CPU at this batch.
	GPUWins bool
}

// CrossoverRow is the CPU against one GPU backend at one embedding dimension, batch
// size by batch size.
type CrossoverRow struct {
	Dim int
	// GPU is the GPU backend's name; empty when the dim has no GPU points.
	GPU     string
	Batches []CrossoverBatch
	// WinsFrom is the smallest batch size from which on the GPU (with transfers) beats
	// the CPU at that batch and at every larger one measured on both; 0 when it does not
	// win at the largest, or when either side was not measured.
	WinsFrom int
	// CPUMeasured and GPUMeasured say whether the dim has points of each side.
	CPUMeasured, GPUMeasured bool
	// BestSpeedup is the largest GPU / CPU over the batches measured on both, at
	// BestBatch; 0 when there are none.
	BestSpeedup float64
	BestBatch   int
}

// Verdict says where the GPU starts to win: "GPU wins from batch N", "GPU never wins in
// the measured range", "CPU never measured" or "GPU never measured".
func (r CrossoverRow) Verdict() string {
	switch {
	case !r.CPUMeasured:
		return "CPU never measured"
	case !r.GPUMeasured:
		return "GPU never measured"
	case r.WinsFrom > 0:
		s := fmt.Sprintf("GPU wins from batch %d", r.WinsFrom)
		if b := r.commonBatches(); len(b) > 0 && b[0] == r.WinsFrom {
			s += " (the smallest measured)"
		}
		return s
	case r.BestBatch == 0:
		return "CPU and GPU measured at no common batch size"
	}
	return "GPU never wins in the measured range"
}

// Summary is the verdict with the best speed-up, as one line for a terminal:
// "dim 128: GPU wins from batch 4096 (x3.2 at 65536)", or "dim 64: GPU never wins in
// the measured range (best x0.8 at 262144)".
func (r CrossoverRow) Summary() string {
	s := fmt.Sprintf("dim %d: %s", r.Dim, r.Verdict())
	if r.GPU != "" && r.GPU != "cuda" {
		s = fmt.Sprintf("dim %d (%s): %s", r.Dim, r.GPU, r.Verdict())
	}
	switch {
	case r.WinsFrom > 0:
		s += fmt.Sprintf(" (x%.1f at %d)", r.BestSpeedup, r.BestBatch)
	case r.BestBatch > 0:
		s += fmt.Sprintf(" (best x%.1f at %d)", r.BestSpeedup, r.BestBatch)
	}
	return s
}

func (r CrossoverRow) commonBatches() []int {
	var b []int
	for _, c := range r.Batches {
		if c.CPU > 0 && c.GPU > 0 {
			b = append(b, c.Batch)
		}
	}
	return b
}

// Crossover compares the CPU with every GPU backend of eb at each dim: a row per dim and
// GPU backend (one row with GPU empty for a dim measured on the CPU alone), ordered by
// dim and backend, each with a CrossoverBatch per batch size measured on either side.
func Crossover(eb EncodeBench) []CrossoverRow {
	type side struct {
		events, kernel float64
	}
	cpu := map[int]map[int]side{}
	gpus := map[int]map[string]map[int]side{}
	var dims []int
	for _, p := range eb.Points {
		if !slices.Contains(dims, p.Dim) {
			dims = append(dims, p.Dim)
		}
		s := side{p.Events, p.Kernel}
		if p.Backend == CPUBackend {
			if cpu[p.Dim] == nil {
				cpu[p.Dim] = map[int]side{}
			}
			cpu[p.Dim][p.Batch] = s
			continue
		}
		if gpus[p.Dim] == nil {
			gpus[p.Dim] = map[string]map[int]side{}
		}
		if gpus[p.Dim][p.Backend] == nil {
			gpus[p.Dim][p.Backend] = map[int]side{}
		}
		gpus[p.Dim][p.Backend][p.Batch] = s
	}
	slices.Sort(dims)
	var rows []CrossoverRow
	for _, dim := range dims {
		names := make([]string, 0, len(gpus[dim]))
		for n := range gpus[dim] {
			names = append(names, n)
		}
		slices.Sort(names)
		if len(names) == 0 {
			names = []string{""}
		}
		for _, name := range names {
			g := gpus[dim][name]
			row := CrossoverRow{Dim: dim, GPU: name, CPUMeasured: len(cpu[dim]) > 0, GPUMeasured: len(g) > 0}
			var batches []int
			for b := range cpu[dim] {
				batches = append(batches, b)
			}
			for b := range g {
				if _, ok := cpu[dim][b]; !ok {
					batches = append(batches, b)
				}
			}
			slices.Sort(batches)
			for _, b := range batches {
				c := CrossoverBatch{Batch: b, CPU: cpu[dim][b].events, GPU: g[b].events, GPUKernel: g[b].kernel}
				if c.CPU > 0 && c.GPU > 0 {
					c.Speedup = c.GPU / c.CPU
					c.GPUWins = c.GPU > c.CPU
					if c.Speedup > row.BestSpeedup {
						row.BestSpeedup, row.BestBatch = c.Speedup, b
					}
				}
				row.Batches = append(row.Batches, c)
			}
			// From the largest batch measured on both down, while the GPU wins.
			for i := len(row.Batches) - 1; i >= 0; i-- {
				c := row.Batches[i]
				if c.CPU == 0 || c.GPU == 0 {
					continue
				}
				if !c.GPUWins {
					break
				}
				row.WinsFrom = c.Batch
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// crossoverTitle is the plot's and page's title when the caller gives none.
const crossoverTitle = "Encode throughput by batch size: CPU vs GPU"

// log2Ticks label every power of two on a log x axis with its plain value.
type log2Ticks struct{}

func (log2Ticks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	var ticks []plot.Tick
	for e := int(math.Ceil(math.Log2(lo) - 1e-9)); e <= int(math.Floor(math.Log2(hi)+1e-9)); e++ {
		ticks = append(ticks, plot.Tick{Value: math.Exp2(float64(e)), Label: strconv.Itoa(1 << e)})
	}
	return ticks
}

// CrossoverPlot draws events/s (millions, log) against batch size (log2) for every row:
// a colour per row, the CPU solid, the GPU with transfers dashed and the GPU's kernels
// alone dotted, with a vertical marker at each row's crossover.
func CrossoverPlot(rows []CrossoverRow, title string) (*plot.Plot, error) {
	if title == "" {
		title = crossoverTitle
	}
	p := NewPlot(title, "batch size (rows, log₂ scale)", "million events/s (log scale)")
	lo, hi := math.Inf(1), math.Inf(-1)
	bLo, bHi := math.Inf(1), math.Inf(-1)
	styles := []struct {
		name   string
		pick   func(CrossoverBatch) float64
		dashes []float64
	}{
		{"CPU", func(c CrossoverBatch) float64 { return c.CPU }, nil},
		{"GPU with transfers", func(c CrossoverBatch) float64 { return c.GPU }, []float64{6, 3}},
		{"GPU kernels only", func(c CrossoverBatch) float64 { return c.GPUKernel }, []float64{1.5, 2.5}},
	}
	var legend []LegendEntry
	var markers []VerticalLine
	for i, r := range rows {
		col := Color(i)
		drawn := false
		for _, s := range styles {
			var xys plotter.XYs
			for _, c := range r.Batches {
				if v := s.pick(c); v > 0 {
					xys = append(xys, plotter.XY{X: float64(c.Batch), Y: v / 1e6})
					lo, hi = math.Min(lo, v/1e6), math.Max(hi, v/1e6)
					bLo, bHi = math.Min(bLo, float64(c.Batch)), math.Max(bHi, float64(c.Batch))
				}
			}
			if len(xys) == 0 {
				continue
			}
			l, err := line(xys, col, 2, s.dashes...)
			if err != nil {
				return nil, fmt.Errorf("crossover: plot: %w", err)
			}
			pts, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, fmt.Errorf("crossover: plot: %w", err)
			}
			pts.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			p.Add(l, pts)
			drawn = true
		}
		if !drawn {
			continue
		}
		name := fmt.Sprintf("dim %d", r.Dim)
		if r.GPU != "" && r.GPU != "cuda" {
			name += " (" + r.GPU + ")"
		}
		legend = append(legend, LegendEntry{Name: name, Thumbs: []plot.Thumbnailer{&plotter.Line{
			LineStyle: draw.LineStyle{Color: col, Width: vg.Points(6)}}}})
		if r.WinsFrom > 0 {
			markers = append(markers, VerticalLine{X: float64(r.WinsFrom), Color: col,
				Label: fmt.Sprintf("dim %d: GPU wins from %d", r.Dim, r.WinsFrom)})
		}
	}
	if len(legend) == 0 {
		return nil, fmt.Errorf("crossover: plot: %w", ErrNoData)
	}
	for _, m := range markers {
		p.Add(m)
	}
	for _, s := range styles {
		l := &plotter.Line{LineStyle: draw.LineStyle{Color: guideGray, Width: vg.Points(2)}}
		for _, d := range s.dashes {
			l.Dashes = append(l.Dashes, vg.Points(d))
		}
		legend = append(legend, LegendEntry{Name: s.name, Thumbs: []plot.Thumbnailer{l}})
	}
	p.X.Scale = logScale{}
	p.X.Min, p.X.Max = bLo/1.3, bHi*1.3
	p.X.Tick.Marker = log2Ticks{}
	p.Y.Scale = logScale{}
	// Just below the decade, so that no value is the axis's linear midpoint (see logScale).
	p.Y.Min = math.Pow(10, math.Floor(math.Log10(lo)+1e-9)) * (1 - 1e-9)
	p.Y.Max = math.Max(hi*1.3, p.Y.Min*10)
	p.Y.Tick.Marker = decadeTicks{}
	reserveLegendSpace(p, len(legend), DefaultHeight)
	SetLegend(p, legend...)
	return p, nil
}

//go:embed templates/crossover.html.tmpl
var crossoverTemplateText string

var crossoverTemplate = template.Must(template.New(CrossoverHTML).Funcs(template.FuncMap{
	"css": StyleCSS,
}).Parse(crossoverTemplateText))

type crossoverHTMLCell struct {
	Batch, CPU, GPU, Kernel, Speedup string
	Wins, Crossover                  bool
}

type crossoverHTMLRow struct {
	Name, Verdict string
	Won           bool
	Cells         []crossoverHTMLCell
}

type crossoverHTMLData struct {
	Title, Plot   string
	Width, Height int
	Config        []kv
	Rows          []crossoverHTMLRow
}

// crossoverNum prints events/s with thousands grouped, or "—" when not measured.
func crossoverNum(v float64) string {
	if v <= 0 {
		return "—"
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// WriteCrossover writes crossover.png and crossover.html into dir (creating it): the
// plot of CrossoverPlot, and per dim a table of the CPU's events/s, the GPU's with
// transfers and with its kernels alone, and the speed-up at every batch size, the
// crossover batch highlighted, under the machine the files name (goos, goarch, cpu,
// pkg). The page refers to the PNG by relative path and loads nothing from elsewhere.
// title heads both; empty gives a default.
func WriteCrossover(dir string, eb EncodeBench, title string) error {
	rows := Crossover(eb)
	if len(rows) == 0 {
		return fmt.Errorf("crossover: report: %w", ErrNoData)
	}
	if title == "" {
		title = crossoverTitle
	}
	p, err := CrossoverPlot(rows, title)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("crossover: report: %w", err)
	}
	if err := SavePNG(filepath.Join(dir, CrossoverPNG), p, DefaultWidth, DefaultHeight); err != nil {
		return fmt.Errorf("crossover: report: %w", err)
	}
	data := crossoverHTMLData{Title: title, Plot: CrossoverPNG,
		Width: int(DefaultWidth.Dots(DPI) + 0.5), Height: int(DefaultHeight.Dots(DPI) + 0.5)}
	for _, c := range eb.Config {
		data.Config = append(data.Config, kv{Key: c.Key, Value: strings.Join(c.Values, "; ")})
	}
	for _, r := range rows {
		hr := crossoverHTMLRow{Name: fmt.Sprintf("dim %d", r.Dim), Verdict: r.Verdict(), Won: r.WinsFrom > 0}
		if r.GPU != "" {
			hr.Name += " — cpu vs " + r.GPU
		}
		for _, c := range r.Batches {
			cell := crossoverHTMLCell{Batch: strconv.Itoa(c.Batch), CPU: crossoverNum(c.CPU), GPU: crossoverNum(c.GPU),
				Kernel: crossoverNum(c.GPUKernel), Speedup: "—", Wins: c.GPUWins, Crossover: c.Batch == r.WinsFrom}
			if c.Speedup > 0 {
				cell.Speedup = fmt.Sprintf("×%.2f", c.Speedup)
			}
			hr.Cells = append(hr.Cells, cell)
		}
		data.Rows = append(data.Rows, hr)
	}
	var b bytes.Buffer
	if err := crossoverTemplate.Execute(&b, data); err != nil {
		return fmt.Errorf("crossover: report: html: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, CrossoverHTML), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("crossover: report: %w", err)
	}
	return nil
}
