package reports

import (
	"fmt"

	"github.com/vectorstream/vectorstream/harness"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// MemoryPlot draws the anonymous resident memory (RssAnon) of every process of the
// run, one line each, as timeline.csv's rss_anon_bytes_<name> columns hold it; the
// legend names each process, says what ran in it and gives the growth of its peak
// from the load window's second quarter to its last.
func MemoryPlot(res *harness.Result) (*plot.Plot, error) {
	if len(res.Processes) == 0 {
		return nil, fmt.Errorf("memory: %w: no process memory recorded (runs from before RssAnon sampling)", ErrNoData)
	}
	p := NewPlot(titled(res, "anonymous resident memory (RssAnon) per process"), timeAxis, "RssAnon (MiB)")
	faultBands(p, res)
	var legend []LegendEntry
	for i, pm := range res.Processes {
		var xys plotter.XYs
		for _, r := range res.Timeline {
			if v, ok := r.RSSAnon[pm.Name]; ok {
				xys = append(xys, plotter.XY{X: float64(r.Second), Y: float64(v) / (1 << 20)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		l, err := line(xys, Color(i), 2)
		if err != nil {
			return nil, fmt.Errorf("memory: %w", err)
		}
		p.Add(l)
		legend = append(legend, LegendEntry{memoryLabel(pm), []plot.Thumbnailer{l}})
	}
	if len(legend) == 0 {
		return nil, fmt.Errorf("memory: %w: no RssAnon sample in the timeline", ErrNoData)
	}
	phaseLines(p, res)
	timelineX(p, res.Timeline)
	p.Y.Min = 0
	reserveLegendSpace(p, len(legend), DefaultHeight)
	SetLegend(p, legend...)
	return p, nil
}

// memoryLabel names a process with its peak and its growth over the load window.
func memoryLabel(pm harness.ProcessMemory) string {
	s := fmt.Sprintf("%s: peak %.0f MiB", pm.What, float64(pm.PeakBytes)/(1<<20))
	if pm.QuarterPeakBytes[1] > 0 {
		s += fmt.Sprintf(", last quarter's peak %+.0f%% on the second's", 100*pm.Growth)
	}
	return s
}

// memoryCaption says how to read MemoryPlot.
func memoryCaption(res *harness.Result) string {
	return "Anonymous resident memory (RssAnon: heap, stacks and anonymous mappings, not file pages the kernel may drop) of the harness and of every process it started, sampled once a second. " +
		"A run whose processes do not grow with its length keeps each line flat once warmed up; the legend compares each process's peak in the last quarter of the load window with its peak in the second quarter." + faultCaption(res)
}
