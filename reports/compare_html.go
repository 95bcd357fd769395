package reports

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
)

// CompareHTML is the name of the comparison page.
const CompareHTML = "compare.html"

//go:embed compare.tmpl.html
var cmpTemplateText string

var cmpTemplate = template.Must(template.New(CompareHTML).Parse(cmpTemplateText))

type cmpHTMLCell struct {
	Text, Class string
}

type cmpHTMLEnv struct {
	Label, Git, Go, CPU, Cores, Memory, GPU, Infra, Kafka, Qdrant, Backend string
}

type cmpHTMLData struct {
	Title, Baseline, Repeats string
	Warnings, Differences    []string
	Notes                    []string
	Header                   []string
	Rows                     [][]cmpHTMLCell
	Alpha                    float64
	Plots                    []cmpPlot
	Envs                     []cmpHTMLEnv
	StandIns                 bool
}

// WriteCompareHTML writes compare.html into dir (creating it), with the overlaid plots
// beside it as PNGs referenced by relative path: throughput over time, e2e p99 over time,
// e2e percentile curves, and, when the runs hold more than one embedding backend or
// batch size, events/s and per-batch embed latency by backend and batch size. The page
// loads nothing from elsewhere.
func WriteCompareHTML(dir string, c *Comparison) error {
	if c == nil || len(c.Runs) == 0 {
		return fmt.Errorf("compare: html: empty comparison")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("compare: html: %w", err)
	}
	plots, err := cmpWritePlots(dir, c.Runs)
	if err != nil {
		return err
	}
	header, rows := c.cmpTable()
	data := cmpHTMLData{
		Title:       cmpTitle(c),
		Baseline:    c.Runs[0].Label,
		Repeats:     c.cmpRepeats(),
		Warnings:    c.Warnings,
		Differences: c.Differences,
		Notes:       c.Notes,
		Header:      header,
		Alpha:       CompareAlpha,
		Plots:       plots,
	}
	for i, row := range rows {
		cells := make([]cmpHTMLCell, len(row))
		for j, text := range row {
			cells[j] = cmpHTMLCell{Text: text, Class: cmpCellClass(j, text, c.Rows[i].Verdict)}
		}
		data.Rows = append(data.Rows, cells)
	}
	for _, run := range c.Runs {
		for k, r := range run.Results {
			e := r.Environment
			git := e.GitRevision
			if len(git) > 12 {
				git = git[:12]
			}
			if e.GitDirty {
				git += " (dirty)"
			}
			data.Envs = append(data.Envs, cmpHTMLEnv{
				Label: run.Label + cmpRepeat(run, k), Git: git, Go: e.GoVersion, CPU: e.CPUModel,
				Cores:  fmt.Sprintf("%d / %d", e.CPUCores, e.GOMAXPROCS),
				Memory: fmt.Sprintf("%.1f GiB", float64(e.MemoryBytes)/(1<<30)), GPU: e.GPU,
				Infra: e.InfraMode, Kafka: e.Kafka, Qdrant: e.Qdrant, Backend: e.EmbeddingBackend,
			})
			data.StandIns = data.StandIns || e.StandIns.Any()
		}
	}
	var b bytes.Buffer
	if err := cmpTemplate.Execute(&b, data); err != nil {
		return fmt.Errorf("compare: html: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, CompareHTML), b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("compare: html: %w", err)
	}
	return nil
}

func cmpTitle(c *Comparison) string {
	labels := make([]string, len(c.Runs))
	for i, r := range c.Runs {
		labels[i] = r.Label
	}
	return strings.Join(labels, " vs ")
}

// cmpCellClass styles a table cell: names left, significant changes green or red,
// failed verdicts red, untested significance grey.
func cmpCellClass(col int, text string, verdict bool) string {
	switch {
	case col == 0:
		return "name"
	case strings.Contains(text, "* worse"):
		return "worse"
	case strings.Contains(text, "*"):
		return "sig"
	case verdict && strings.Contains(text, "FAIL"):
		return "fail"
	case text == "n/a" || strings.HasSuffix(text, "~"):
		return "muted"
	}
	return ""
}
