package reports

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Sizes and resolution of the PNGs. At DPI 96 a DefaultWidth × DefaultHeight plot is
// 1152 × 576 pixels, which an HTML page shows at full width without scaling text away.
const (
	DefaultWidth  = 12 * vg.Inch
	DefaultHeight = 6 * vg.Inch
	DPI           = 96
)

// Font sizes of every plot, in points.
const (
	titleSize  = 15
	labelSize  = 12
	tickSize   = 10
	legendSize = 10
)

// palette is Okabe and Ito's colour-blind-safe palette, black last.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xC9, 0xB2, 0x00, 0xff}, // dark yellow (Okabe-Ito yellow darkened to read on white)
	{0x00, 0x00, 0x00, 0xff}, // black
}

// Color returns the i-th colour of the report palette (colour-blind safe), cycling.
func Color(i int) color.Color {
	return palette[((i%len(palette))+len(palette))%len(palette)]
}

// gray is used for reference lines and grids.
var (
	gridGray  = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	guideGray = color.RGBA{0x80, 0x80, 0x80, 0xff}
)

// NewPlot returns a plot in the report style: a title, axis labels (state the unit in
// them), the report's font sizes, a light grid behind the data and the legend in the
// top-left corner. Add data, then call SetLegend last.
func NewPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = titleSize
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = labelSize
		a.Label.Padding = vg.Points(4)
		a.Tick.Label.Font.Size = tickSize
	}
	p.Legend.TextStyle.Font.Size = legendSize
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), vg.Points(-6)
	p.Legend.Padding = vg.Points(2)
	p.Legend.ThumbnailWidth = vg.Points(24)
	p.X.Tick.Marker, p.Y.Tick.Marker = plainTicks{}, plainTicks{}
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridGray, gridGray
	g.Vertical.Width, g.Horizontal.Width = vg.Points(0.5), vg.Points(0.5)
	p.Add(g)
	return p
}

// LegendEntry is one line of a legend: its text and what its thumbnail draws.
type LegendEntry struct {
	Name   string
	Thumbs []plot.Thumbnailer
}

// SetLegend adds entries to p's legend in order, over a white backdrop so that data
// beneath the legend does not run through its text. Call it after adding all data: the
// legend is drawn as the last plotter, on the data area, placed as p.Legend says (Top,
// Left, XOffs, YOffs) and styled by it.
func SetLegend(p *plot.Plot, entries ...LegendEntry) {
	if len(entries) == 0 {
		return
	}
	l := plot.NewLegend()
	l.TextStyle, l.Padding, l.ThumbnailWidth = p.Legend.TextStyle, p.Legend.Padding, p.Legend.ThumbnailWidth
	l.Top, l.Left, l.XOffs, l.YOffs, l.YPosition = p.Legend.Top, p.Legend.Left, p.Legend.XOffs, p.Legend.YOffs, p.Legend.YPosition
	names := make([]string, len(entries))
	for i, e := range entries {
		l.Add(e.Name, e.Thumbs...)
		names[i] = e.Name
	}
	p.Add(&legendPlotter{legend: l, names: names})
}

// legendPlotter draws a legend with a backdrop on the data area. Drawing the legend
// itself (rather than through plot.Plot's own) puts the backdrop exactly under it.
type legendPlotter struct {
	legend plot.Legend
	names  []string
}

func (b *legendPlotter) Plot(c draw.Canvas, _ *plot.Plot) {
	l := &b.legend
	sty := l.TextStyle
	var width, enth vg.Length
	for _, n := range b.names {
		r := sty.Rectangle(n)
		width = max(width, r.Max.X)
		enth = max(enth, r.Max.Y)
	}
	em := sty.Rectangle(" ").Max.X
	width += l.ThumbnailWidth + em
	n := vg.Length(len(b.names))
	height := n*enth + (n-1)*l.Padding
	descent := sty.FontExtents().Descent
	var r vg.Rectangle
	if l.Left {
		r.Min.X = c.Min.X + l.XOffs
	} else {
		r.Min.X = c.Max.X + l.XOffs - width
	}
	if l.Top {
		r.Max.Y = c.Max.Y + l.YOffs - descent
		r.Min.Y = r.Max.Y - height
	} else {
		r.Min.Y = c.Min.Y + l.YOffs
		r.Max.Y = r.Min.Y + height
	}
	r.Max.X = r.Min.X + width
	pad := vg.Points(4)
	r.Min.X, r.Min.Y, r.Max.X, r.Max.Y = r.Min.X-pad, r.Min.Y-pad, r.Max.X+pad, r.Max.Y+pad
	path := r.Path()
	c.SetColor(color.NRGBA{0xff, 0xff, 0xff, 0xe6})
	c.Fill(path)
	c.SetLineStyle(draw.LineStyle{Color: gridGray, Width: vg.Points(0.5)})
	c.Stroke(path)
	l.Draw(c)
}

// reserveLegendSpace raises p.Y.Max so that a legend of n entries at the top of a plot
// drawn height tall lies above every data point; a log axis then ends at the next
// whole decade. It works on linear and log axes and runs after the data are added and
// the axis scale is set.
func reserveLegendSpace(p *plot.Plot, n int, height vg.Length) {
	sty := p.Legend.TextStyle
	entry := sty.Rectangle("Xg").Max.Y + p.Legend.Padding
	need := vg.Length(n)*entry - p.Legend.YOffs + vg.Points(12)
	title := p.Title.TextStyle.Rectangle("Xg").Size().Y + p.Title.Padding
	xAxis := p.X.Label.TextStyle.Rectangle("Xg").Size().Y + p.X.Tick.Label.Rectangle("0").Size().Y + vg.Points(24)
	area := height - title - xAxis
	if area <= need {
		return
	}
	f := float64(need / area)
	if _, isLog := p.Y.Scale.(logScale); isLog {
		lo, hi := math.Log10(p.Y.Min), math.Log10(p.Y.Max)
		p.Y.Max = math.Pow(10, lo+(hi-lo)/(1-f))
		return
	}
	p.Y.Max = p.Y.Min + (p.Y.Max-p.Y.Min)/(1-f)
}

// plainTicks label about eight round values ("25", "2.5", not "25.00") on a linear
// axis, with four or five minor ticks between them.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / 8
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step, minor := 10*mag, 5
	for _, m := range []struct {
		f     float64
		minor int
	}{{1, 5}, {2, 4}, {2.5, 5}, {5, 5}} {
		if m.f*mag >= raw {
			step, minor = m.f*mag, m.minor
			break
		}
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/step-1e-9) * step
	for i := -1; ; i++ {
		v := first + float64(i)*step
		if v > hi+step*1e-9 {
			break
		}
		if v >= lo-step*1e-9 {
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(round(v, step), 'g', 8, 64)})
		}
		for k := 1; k < minor; k++ {
			if mv := v + float64(k)*step/float64(minor); mv > lo && mv < hi {
				ticks = append(ticks, plot.Tick{Value: mv})
			}
		}
	}
	return ticks
}

// round rounds v to the decimal precision of step, so that 0.30000000000000004 prints
// as 0.3.
func round(v, step float64) float64 {
	d := math.Pow(10, math.Max(0, -math.Floor(math.Log10(step))+1))
	return math.Round(v*d) / d
}

// LatencyAxis makes p's y axis logarithmic from the decade below lo to a little above
// hi (milliseconds; lo is clamped to 0.001 ms, one microsecond), every decade labelled,
// and 2 and 5 of each decade too when it spans three decades or less.
func LatencyAxis(p *plot.Plot, lo, hi float64) {
	lo = math.Max(lo, 0.001)
	hi = math.Max(hi, lo*10)
	p.Y.Scale = logScale{}
	// Just below the decade, so that no data value is the axis's linear midpoint (see logScale).
	p.Y.Min = math.Pow(10, math.Floor(math.Log10(lo)+1e-9)) * (1 - 1e-9)
	p.Y.Max = hi * 1.2
	p.Y.Tick.Marker = decadeTicks{}
}

// logScale is plot.LogScale except at the linear midpoint of the axis, which it puts in
// the middle. gonum/plot sizes the box of a centred axis label at Norm((min+max)/2)
// while drawing the label at the centre; on a log axis that point lies near the end,
// and the box pushes the data area away from the title or the right edge. A value
// exactly at the linear midpoint would be misplaced; LatencyAxis and PercentileAxis
// start their axes a hair below a power of ten, so that no latency or percentile is.
type logScale struct{}

func (logScale) Normalize(lo, hi, x float64) float64 {
	if x == 0.5*(lo+hi) {
		return 0.5
	}
	return plot.LogScale{}.Normalize(lo, hi, x)
}

// decadeTicks labels every power of ten and marks 2…9 of each decade as minor ticks,
// with plain numbers ("0.01", "100", "10000") rather than exponents up to 10⁶.
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	// Over three decades or less, 2× and 5× are labelled too.
	few := hi/lo <= 1001
	var ticks []plot.Tick
	for e := int(math.Floor(math.Log10(lo) + 1e-9)); e <= int(math.Ceil(math.Log10(hi)-1e-9)); e++ {
		d := math.Pow(10, float64(e))
		if d >= lo*(1-1e-9) && d <= hi*(1+1e-9) {
			ticks = append(ticks, plot.Tick{Value: d, Label: decadeLabel(e)})
		}
		for m := 2; m < 10; m++ {
			if v := float64(m) * d; v > lo && v < hi {
				t := plot.Tick{Value: v}
				if few && (m == 2 || m == 5) {
					t.Label = strconv.FormatFloat(round(v, d), 'g', 8, 64)
				}
				ticks = append(ticks, t)
			}
		}
	}
	return ticks
}

func decadeLabel(e int) string {
	if e >= -4 && e <= 6 {
		return strconv.FormatFloat(math.Pow(10, float64(e)), 'f', -1, 64)
	}
	return "1e" + strconv.Itoa(e)
}

// PercentileAxis makes p's x axis the HdrHistogram percentile axis: x = 1/(1−p) on a
// log scale from 1 (0%) to maxX, labelled 0%, 90%, 99%, 99.9%, …
func PercentileAxis(p *plot.Plot, maxX float64) {
	maxX = math.Max(maxX, 100)
	p.X.Scale = logScale{}
	p.X.Min = 1 - 1e-9 // see logScale
	p.X.Max = math.Pow(10, math.Ceil(math.Log10(maxX)-1e-9))
	p.X.Tick.Marker = percentileTicks{}
}

// percentileTicks labels x = 10^k as the percentile 100·(1−10^−k).
type percentileTicks struct{}

func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for k := 0; math.Pow(10, float64(k)) <= hi*(1+1e-9); k++ {
		d := math.Pow(10, float64(k))
		label := "0%"
		if k > 0 {
			label = strconv.FormatFloat(100*(1-1/d), 'f', k-2, 64) + "%"
			if k < 2 {
				label = strconv.FormatFloat(100*(1-1/d), 'f', 0, 64) + "%"
			}
		}
		if d >= lo*(1-1e-9) {
			ticks = append(ticks, plot.Tick{Value: d, Label: label})
		}
		for m := 2; m < 10; m++ {
			if v := float64(m) * d; v > lo && v < hi {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	return ticks
}

// PercentileCurve returns the percentile curve of a histogram of microseconds, for
// drawing on a PercentileAxis: x = 1/(1−q) for quantiles q from 0 up to 1−1/count
// (at most 99.9999%), 40 points a decade, y = the value at q in milliseconds, never
// below 0.001 ms so that it fits a log axis. It is empty when h is.
func PercentileCurve(h *hdrhistogram.Histogram) plotter.XYs {
	n := h.TotalCount()
	if n == 0 {
		return nil
	}
	maxX := math.Min(float64(n), 1e6)
	var xys plotter.XYs
	const perDecade = 40
	steps := int(math.Ceil(math.Log10(maxX) * perDecade))
	for i := 0; i <= steps; i++ {
		x := math.Min(math.Pow(10, float64(i)/perDecade), maxX)
		q := 1 - 1/x
		v := float64(h.ValueAtQuantile(100*q)) / 1000
		xys = append(xys, plotter.XY{X: x, Y: math.Max(v, 0.001)})
	}
	return xys
}

// VerticalLine is a plotter that marks x = X with a dashed line across the data area
// and a label at its top, such as the end of the warm-up.
type VerticalLine struct {
	X     float64
	Label string
	Color color.Color
}

// Plot implements plot.Plotter.
func (v VerticalLine) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x := trX(v.X)
	if x < c.Min.X || x > c.Max.X {
		return
	}
	col := v.Color
	if col == nil {
		col = guideGray
	}
	c.StrokeLine2(draw.LineStyle{Color: col, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}, x, c.Min.Y, x, c.Max.Y)
	if v.Label != "" {
		sty := text.Style{Color: col, Font: font.From(plot.DefaultFont, tickSize), XAlign: draw.XLeft, YAlign: draw.YBottom,
			Rotation: math.Pi / 2, Handler: p.TextHandler}
		c.FillText(sty, vg.Point{X: x - vg.Points(3), Y: c.Min.Y + vg.Points(4)}, v.Label)
	}
}

// Band is a plotter that shades the x range [From, To] over the whole height of the
// data area, such as the window of an injected fault, with Label in small text at its
// top. Add it right after NewPlot so that it lies behind the data; Row moves the label
// down by as many lines, so that the labels of overlapping bands do not cover each
// other. A band narrower than 3 points is drawn 3 points wide, so that a short window
// still shows.
type Band struct {
	From, To float64
	Label    string
	Row      int
	// Fill is the band's colour, translucent; Ink the label's. Nil gives faultFill and
	// faultInk.
	Fill, Ink color.Color
}

// The colours of fault bands: a light translucent vermillion, and a dark one for text.
var (
	faultFill = color.NRGBA{0xE0, 0x3C, 0x1E, 0x30}
	faultInk  = color.NRGBA{0xA8, 0x26, 0x0E, 0xff}
)

// Plot implements plot.Plotter.
func (b Band) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	x0, x1 := trX(min(b.From, b.To)), trX(max(b.From, b.To))
	if minW := vg.Points(3); x1-x0 < minW {
		mid := (x0 + x1) / 2
		x0, x1 = mid-minW/2, mid+minW/2
	}
	if x1 < c.Min.X || x0 > c.Max.X {
		return
	}
	x0, x1 = max(x0, c.Min.X), min(x1, c.Max.X)
	fill, ink := b.Fill, b.Ink
	if fill == nil {
		fill = faultFill
	}
	if ink == nil {
		ink = faultInk
	}
	r := vg.Rectangle{Min: vg.Point{X: x0, Y: c.Min.Y}, Max: vg.Point{X: x1, Y: c.Max.Y}}
	c.SetColor(fill)
	c.Fill(r.Path())
	if b.Label != "" {
		sty := text.Style{Color: ink, Font: font.From(plot.DefaultFont, tickSize), XAlign: draw.XLeft, YAlign: draw.YTop,
			Handler: p.TextHandler}
		line := sty.Rectangle("Xg").Size().Y
		c.FillText(sty, vg.Point{X: x0 + vg.Points(3), Y: c.Max.Y - vg.Points(3) - vg.Length(b.Row)*line}, b.Label)
	}
}

// line returns a line plotter for xys in the given colour and width, dashed when dashes
// are given.
func line(xys plotter.XYs, col color.Color, width float64, dashes ...float64) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = col
	l.Width = vg.Points(width)
	for _, d := range dashes {
		l.Dashes = append(l.Dashes, vg.Points(d))
	}
	return l, nil
}

// WritePNG draws p at width × height and writes it to w as PNG at DPI dots per inch.
// The output depends only on p: gonum/plot's fonts are built in.
func WritePNG(w io.Writer, p *plot.Plot, width, height vg.Length) error {
	c := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))
	p.Draw(draw.New(c))
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return fmt.Errorf("reports: encode png: %w", err)
	}
	return nil
}

// SavePNG writes p as a PNG file at path (see WritePNG).
func SavePNG(path string, p *plot.Plot, width, height vg.Length) error {
	return saveWith(path, func(w io.Writer) error { return WritePNG(w, p, width, height) })
}

// WriteGridPNG draws plots as a grid of panels, row by row, with their axes aligned,
// under one title, and writes it to w as PNG. A nil plot leaves its cell empty.
func WriteGridPNG(w io.Writer, title string, rows [][]*plot.Plot, width, height vg.Length) error {
	c := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(DPI))
	dc := draw.New(c)
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	if title != "" {
		sty := text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, titleSize), XAlign: draw.XCenter, YAlign: draw.YTop,
			Handler: plot.DefaultTextHandler}
		dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - vg.Points(4)}, title)
		dc.Max.Y -= sty.Rectangle(title).Size().Y + vg.Points(12)
	}
	cols := 0
	for _, r := range rows {
		cols = max(cols, len(r))
	}
	if len(rows) == 0 || cols == 0 {
		return fmt.Errorf("reports: grid %q has no panels", title)
	}
	tiles := draw.Tiles{Rows: len(rows), Cols: cols, PadX: vg.Points(18), PadY: vg.Points(18),
		PadLeft: vg.Points(4), PadRight: vg.Points(8), PadBottom: vg.Points(4)}
	full := make([][]*plot.Plot, len(rows))
	for i, r := range rows {
		full[i] = make([]*plot.Plot, cols)
		copy(full[i], r)
	}
	canvases := plot.Align(full, tiles, dc)
	for i := range full {
		for j, p := range full[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return fmt.Errorf("reports: encode png: %w", err)
	}
	return nil
}

// SaveGridPNG writes a grid of plots as a PNG file at path (see WriteGridPNG).
func SaveGridPNG(path, title string, rows [][]*plot.Plot, width, height vg.Length) error {
	return saveWith(path, func(w io.Writer) error { return WriteGridPNG(w, title, rows, width, height) })
}

func saveWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		f.Close()
		return fmt.Errorf("reports: %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("reports: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("reports: %s: %w", path, err)
	}
	return nil
}
