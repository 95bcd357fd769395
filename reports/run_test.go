package reports

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/net/html"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/cmpimg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"

	"github.com/vectorstream/vectorstream/harness"
)

// regen (-regen) rewrites the golden images in testdata/ from the current code. The flag
// is defined by cmpimg, which this package's tests import anyway.
var regen = cmpimg.GenerateTestData

// goldenDelta is how far a pixel's colour may drift (YIQ, normalised) before a golden
// image differs: enough for anti-aliasing that differs across CPUs (FMA on arm64),
// far too little for a line, bar or label that moved.
const goldenDelta = 0.1

// synthHistogram records n values v(i) = base + spread·i²/(n−i+n/100) microseconds,
// i = 0…n−1: a long tail spanning decades, in integer arithmetic so that every
// platform records the same values.
func synthHistogram(t testing.TB, base, spread, n int64) (string, harness.Percentiles) {
	t.Helper()
	h := hdrhistogram.New(1, 3_600_000_000, 3)
	for i := range n {
		if err := h.RecordValue(base + spread*i*i/(n*(n-i+n/100))); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return string(enc), harness.PercentilesOf(h)
}

// syntheticResult is a fixed, made-up run: 40 seconds of timeline and histograms of
// fixed values, with the embedded stand-ins and one failed gate.
func syntheticResult(t testing.TB) *harness.Result {
	t.Helper()
	sc := harness.DefaultScenario()
	sc.Name = "golden"
	sc.Description = "A synthetic run for golden images."
	sc.File = "scenarios/golden.yaml"
	sc.Warmup, sc.Duration = 5*time.Second, 30*time.Second
	sc.Pipeline.Batch.Interval = 200 * time.Millisecond
	sc.Gates = harness.Gates{MinThroughputEPS: 990, MaxE2EP99: 500 * time.Millisecond}
	res := &harness.Result{
		SchemaVersion: harness.SchemaVersion,
		RunID:         "golden-1",
		Scenario:      sc,
		Environment: harness.Environment{
			GitRevision: "0123456789abcdef0123456789abcdef01234567", GoVersion: "go1.26.0", OS: "linux", Arch: "amd64",
			Kernel: "6.1.0", Hostname: "bench", CPUModel: "Test CPU", CPUCores: 4, GOMAXPROCS: 4, MemoryBytes: 16 << 30,
			GPU: "none detected", InfraMode: "embedded", Kafka: "kfake (embedded stand-in, in-process)",
			Qdrant: "qdrantfake (embedded stand-in for Qdrant 1.17, in-memory)", StandIns: harness.StandIns{Kafka: true, Qdrant: true}, EmbeddingBackend: "cpu",
		},
		Started:      time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		Finished:     time.Date(2026, 11, 26, 12, 0, 41, 0, time.UTC),
		MeasureStart: time.Date(2026, 11, 26, 12, 0, 5, 0, time.UTC),
		MeasureEnd:   time.Date(2026, 11, 26, 12, 0, 35, 0, time.UTC),
		Counts: harness.Counts{Offered: 35000, Produced: 35000, Valid: 34650, Malformed: 350, Consumed: 35020,
			Written: 34650, DeadLettered: 350, Redelivered: 20, Batches: 180, Retries: 2,
			Warmup: harness.WarmupCounts{Offered: 5000, Produced: 5000, Written: 4950, DeadLettered: 50}},
		Throughput: harness.Throughput{OfferedEPS: 1000, ProducedEPS: 1000, AchievedEPS: 998.5, AchievedRatio: 0.9985,
			FirstThirdEPS: 1001, LastThirdEPS: 996},
		Latency:    map[string]harness.Percentiles{},
		Histograms: map[string]string{},
		Verification: harness.Verification{Passed: true, ExpectedPoints: 34650, StoredPoints: 34650, ExpectedDLQ: 350,
			DLQRecords: 350, VectorsChecked: 200, MinVectorCos: 0.99999, ExpectedProfiles: 2000, StoredProfiles: 2000, MinProfileCos: 0.99998},
		Validity: harness.Validity{Valid: true, SendDelayP99MS: 1.2, LateFraction: 0.0001, ThroughputDrift: 0.005},
		Gates: []harness.GateResult{
			{Name: "min_throughput_eps", Limit: 990, Actual: 998.5, Unit: "events/s", Passed: true},
			{Name: "max_e2e_p99", Limit: 500, Actual: 612.3, Unit: "ms", Passed: false},
		},
		Passed: false,
		Notes:  []string{"synthetic"},
		Stages: map[string]harness.StageBreakdown{
			"p50": {"send_delay": 0.5, "kafka_transit": 2.1, "batch_wait": 98, "validate": 1.5, "embed": 6.2, "upsert": 25, "e2e": 133.3},
			"p99": {"send_delay": 1.1, "kafka_transit": 40, "batch_wait": 190, "validate": 2.5, "embed": 9.8, "upsert": 210, "e2e": 453.4},
		},
	}
	for _, h := range []struct {
		name                string
		base, spread, count int64
	}{
		{"e2e", 20_000, 6_000, 20_000},
		{"send_delay", 200, 200, 20_000},
		{"kafka_transit", 800, 1_500, 20_000},
		{"batch_wait", 5_000, 2_000, 20_000},
		{"validate", 900, 60, 2_000},
		{"embed", 4_000, 300, 2_000},
		{"upsert", 10_000, 3_000, 2_000},
		{"commit", 300, 100, 2_000},
		{"dlq", 30_000, 5_000, 200},
		{"load_send_delay", 200, 200, 20_000},
	} {
		res.Histograms[h.name], res.Latency[h.name] = synthHistogram(t, h.base, h.spread, h.count)
	}
	for s := 1; s <= 40; s++ {
		r := harness.TimelineRow{Second: s}
		if s <= 35 {
			r.Offered = 1000
			r.Produced = 1000 + int64(s%3-1)*15
		}
		if s >= 2 && s <= 37 {
			r.Written = 990 + int64((s*7)%11)*3 - 15
			r.DeadLettered = 10 + int64(s%4)
			r.Consumed = r.Written + r.DeadLettered
			p50 := 110 + float64((s*13)%17)*4
			if s > 20 && s < 26 {
				p50 *= 3 // a slow patch
			}
			r.E2EP50MS, r.E2EP99MS, r.E2EMaxMS = p50, 2.8*p50+float64(s%5)*10, 3.5*p50+float64(s%7)*12
		}
		r.Lag = int64((s * 37) % 200)
		r.CPUPercent = 60 + float64((s*11)%9)*4
		r.HeapBytes = uint64(40+(s*17)%23) << 20
		r.RSSBytes = uint64(90+s) << 20
		r.GCPauseMS = float64((s*5)%7) * 0.2
		r.Goroutines = 30 + (s*3)%5
		r.RSSAnon = map[string]uint64{"harness": uint64(60+s%3) << 20, "infra": uint64(100+min(s, 20)*8) << 20}
		if s >= 2 {
			r.RSSAnon["pipeline"] = uint64(80+(s*7)%5) << 20
		}
		res.Timeline = append(res.Timeline, r)
	}
	res.Processes = []harness.ProcessMemory{
		{Name: "harness", What: "harness process (load generator)", PeakBytes: 62 << 20, QuarterPeakBytes: [4]uint64{62 << 20, 62 << 20, 62 << 20, 62 << 20}},
		{Name: "infra", What: "vectorstream infra serve (Kafka and Qdrant stand-ins)", PeakBytes: 260 << 20,
			QuarterPeakBytes: [4]uint64{164 << 20, 236 << 20, 260 << 20, 260 << 20}, Growth: 0.1017},
		{Name: "pipeline", What: "vectorstream pipeline", PeakBytes: 84 << 20, QuarterPeakBytes: [4]uint64{84 << 20, 84 << 20, 84 << 20, 84 << 20}},
	}
	return res
}

func TestGoldenImages(t *testing.T) {
	res := syntheticResult(t)
	figs, missing, err := RunFigures(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 0 || len(figs) != len(RunFigureFiles) {
		t.Fatalf("figures %d, missing %v; want all of %v", len(figs), missing, RunFigureFiles)
	}
	for i := range figs {
		f := &figs[i]
		t.Run(f.File, func(t *testing.T) { checkGolden(t, "run_"+strings.TrimSuffix(f.File, ".png"), f) })
	}
}

// checkGolden draws f and compares it with testdata/<name>_golden.png, or rewrites that
// file with -regen.
func checkGolden(t *testing.T, name string, f *Figure) {
	t.Helper()
	var got bytes.Buffer
	if err := f.WritePNG(&got); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+"_golden.png")
	if *regen {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -run %s -regen to create it)", err, strings.Split(t.Name(), "/")[0])
	}
	ok, err := cmpimg.EqualApprox("png", got.Bytes(), want, goldenDelta)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		out := filepath.Join(os.TempDir(), "vectorstream-reports-got_"+name+".png")
		_ = os.WriteFile(out, got.Bytes(), 0o644)
		t.Errorf("%s differs from %s; got written to %s (run with -regen if the change is intended)", f.File, path, out)
	}
}

// faultedResult is syntheticResult with two injected faults, one that the pipeline
// recovered from and one that it did not, and the spool and resilience counters of
// an outage.
func faultedResult(t testing.TB) *harness.Result {
	t.Helper()
	res := syntheticResult(t)
	res.Scenario.Name = "golden-faults"
	res.Faults = []harness.FaultResult{
		{FaultSpec: harness.FaultSpec{Kind: harness.FaultQdrantDown, At: 12 * time.Second, Duration: 6 * time.Second},
			StartS: 12.02, EndS: 18.05, RTOSeconds: 4.25, Recovered: true},
		{FaultSpec: harness.FaultSpec{Kind: harness.FaultQdrantSlow, At: 26 * time.Second, Duration: 5 * time.Second, Latency: 250 * time.Millisecond},
			StartS: 26.01, EndS: 31.03, RTOSeconds: -1, Recovered: false, Error: "qdrant control: end slow: connection refused"},
	}
	v := &res.Verification
	v.Spooled, v.Replayed, v.SpooledBatches, v.ReplayedBatches, v.SpoolPending, v.RPO = 5400, 5400, 27, 27, 0, 0
	c := &res.Counts
	c.Held, c.BreakerOpens, c.BackendFallbacks = 3, 2, 1
	// Nothing is written while Qdrant is down; the spool replays it afterwards.
	for i := range res.Timeline {
		r := &res.Timeline[i]
		switch {
		case r.Second > 12 && r.Second <= 18:
			r.Written, r.E2EP50MS, r.E2EP99MS, r.E2EMaxMS = 0, 0, 0, 0
			r.HeapBytes += uint64(r.Second-12) * 12 << 20
		case r.Second > 18 && r.Second <= 21:
			r.Written += 2000
			r.E2EP50MS, r.E2EP99MS, r.E2EMaxMS = 3000, 6500, 7000
		}
	}
	return res
}

// TestGoldenFaultImages draws timeline figures of a run with faults: each fault's
// window is a shaded band behind the lines, labelled with its kind.
func TestGoldenFaultImages(t *testing.T) {
	figs, missing, err := RunFigures(faultedResult(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 0 {
		t.Fatalf("missing %v", missing)
	}
	golden := map[string]bool{"throughput.png": true, "resources.png": true}
	for i := range figs {
		f := &figs[i]
		if !golden[f.File] {
			continue
		}
		delete(golden, f.File)
		t.Run(f.File, func(t *testing.T) { checkGolden(t, "run_faults_"+strings.TrimSuffix(f.File, ".png"), f) })
	}
	if len(golden) != 0 {
		t.Errorf("figures %v not drawn", golden)
	}
}

// TestFaultBands draws every timeline plot on a recording canvas: each fault's window
// is filled in the band colour, before any data line (so behind it), and labelled
// with its kind; a run without faults has no band.
func TestFaultBands(t *testing.T) {
	check := func(t *testing.T, name string, p *plot.Plot, faults []harness.FaultResult) {
		t.Helper()
		var rec recorder.Canvas
		p.Draw(draw.NewCanvas(&rec, DefaultWidth, DefaultHeight))
		fills, firstData, lastFill := 0, -1, -1
		labels := map[string]int{}
		for i, a := range rec.Actions {
			switch a := a.(type) {
			case *recorder.SetColor:
				if a.Color == color.Color(faultFill) {
					fills++
					lastFill = i
				}
				for _, pc := range palette[:len(palette)-1] {
					if a.Color == color.Color(pc) && firstData < 0 {
						firstData = i
					}
				}
			case *recorder.FillString:
				labels[a.String]++
			}
		}
		if fills != len(faults) {
			t.Errorf("%s: %d bands, want %d", name, fills, len(faults))
		}
		if fills > 0 && (firstData < 0 || lastFill > firstData) {
			t.Errorf("%s: a band is drawn after the data (band at action %d, first data colour at %d)", name, lastFill, firstData)
		}
		for _, f := range faults {
			if labels[f.Kind] != 1 {
				t.Errorf("%s: label %q drawn %d times, want once", name, f.Kind, labels[f.Kind])
			}
		}
	}
	for _, tt := range []struct {
		name string
		res  *harness.Result
	}{{"faults", faultedResult(t)}, {"no faults", syntheticResult(t)}} {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []struct {
				name string
				plot func(*harness.Result) (*plot.Plot, error)
			}{{"throughput", ThroughputPlot}, {"latency timeline", LatencyTimelinePlot}, {"efficiency", EfficiencyPlot}} {
				p, err := f.plot(tt.res)
				if err != nil {
					t.Fatal(err)
				}
				check(t, f.name, p, tt.res.Faults)
			}
			grid, err := ResourcesPlot(tt.res)
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range grid {
				for _, p := range row {
					check(t, "resources: "+p.Title.Text, p, tt.res.Faults)
				}
			}
		})
	}
}

func TestFaultsReport(t *testing.T) {
	dir := t.TempDir()
	res := faultedResult(t)
	if err := WriteRunReport(dir, res); err != nil {
		t.Fatal(err)
	}
	_, text := checkReportDir(t, dir)
	for _, want := range []string{
		"Faults and recovery", "qdrant_down", "qdrant_slow", "latency 250ms", "planned at 12s for 6s",
		"12.0–18.1 s", "26.0–31.0 s", "4.2 s", "not recovered", "qdrant control: end slow: connection refused",
		"RPO: 0 events lost", "spooled 5400 events in 27 batches, replayed 5400 in 27, pending 0",
		"circuit breaker opens", "backend fallbacks", "batches held in memory",
		"Recovery: qdrant_down RTO 4.2 s; qdrant_slow RTO not recovered — RPO 0 events lost.",
		"Shaded bands are the windows of the injected faults",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report text lacks %q", want)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<span class="fail">not recovered</span>`, `<span class="pass">0 events lost</span>`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("report.html lacks %s", want)
		}
	}

	res.Verification.RPO = 17
	var buf bytes.Buffer
	if err := WriteRunHTML(&buf, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `<span class="fail">17 events lost</span>`) {
		t.Error("an RPO above 0 is not shown as a failure")
	}

	buf.Reset()
	if err := WriteRunHTML(&buf, syntheticResult(t)); err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"Faults and recovery", "RPO:", "Recovery:"} {
		if strings.Contains(buf.String(), absent) {
			t.Errorf("a run without faults or spooling shows %q", absent)
		}
	}
}

// TestRenderDeterministic draws every figure twice: same result, same bytes.
func TestRenderDeterministic(t *testing.T) {
	draw := func() [][]byte {
		figs, _, err := RunFigures(syntheticResult(t))
		if err != nil {
			t.Fatal(err)
		}
		var out [][]byte
		for i := range figs {
			var b bytes.Buffer
			if err := figs[i].WritePNG(&b); err != nil {
				t.Fatal(err)
			}
			out = append(out, b.Bytes())
		}
		return out
	}
	a, b := draw(), draw()
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("figure %s differs between two renderings", RunFigureFiles[i])
		}
	}
}

// checkReportDir parses dir/report.html and checks that every <img> refers to a PNG
// beside it whose size matches the tag, that nothing loads from elsewhere, and returns
// the image sources.
func checkReportDir(t *testing.T, dir string) (srcs []string, text string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("report.html does not parse: %v", err)
	}
	var walk func(n *html.Node)
	var sb strings.Builder
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
		}
		if n.Type == html.ElementNode {
			attrs := map[string]string{}
			for _, a := range n.Attr {
				attrs[a.Key] = a.Val
				if a.Key == "src" || a.Key == "href" {
					if strings.Contains(a.Val, "//") || strings.HasPrefix(a.Val, "/") {
						t.Errorf("<%s %s=%q> refers outside the run folder", n.Data, a.Key, a.Val)
					}
				}
			}
			switch n.Data {
			case "link":
				t.Errorf("report has a <link> (%v): styles must be inline", attrs)
			case "script":
				if attrs["src"] != "" {
					t.Errorf("report loads a script from %q", attrs["src"])
				}
			case "img":
				src := attrs["src"]
				srcs = append(srcs, src)
				f, err := os.Open(filepath.Join(dir, src))
				if err != nil {
					t.Errorf("img %q: %v", src, err)
					break
				}
				cfg, err := png.DecodeConfig(f)
				f.Close()
				if err != nil {
					t.Errorf("img %q is not a PNG: %v", src, err)
					break
				}
				if w, h := strconv.Itoa(cfg.Width), strconv.Itoa(cfg.Height); attrs["width"] != w || attrs["height"] != h {
					t.Errorf("img %q is %sx%s, tag says %sx%s", src, w, h, attrs["width"], attrs["height"])
				}
				if attrs["alt"] == "" {
					t.Errorf("img %q has no alt text", src)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return srcs, sb.String()
}

func TestWriteRunReport(t *testing.T) {
	dir := t.TempDir()
	res := syntheticResult(t)
	if err := WriteRunReport(dir, res); err != nil {
		t.Fatal(err)
	}
	srcs, text := checkReportDir(t, dir)
	if strings.Join(srcs, " ") != strings.Join(RunFigureFiles, " ") {
		t.Errorf("images %v, want %v", srcs, RunFigureFiles)
	}
	for _, want := range []string{
		"Embedded stand-ins, not Kafka or Qdrant", "kfake (embedded stand-in", "FAILED",
		"gate max_e2e_p99 failed: actual 612 ms, limit 500 ms", "0123456789abcdef", "go1.26.0",
		"Test CPU, 4 cores", "A synthetic run for golden images.", "batch:", "interval: 200ms",
		"dead-lettered", "lost", "redelivered", "user profiles", "Kafka transit", "p99.9",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report text lacks %q", want)
		}
	}
}

func TestVerdict(t *testing.T) {
	res := syntheticResult(t)
	tests := []struct {
		name   string
		mod    func(*harness.Result)
		want   string
		reason string
	}{
		{"gate failed", func(*harness.Result) {}, "FAILED", "gate max_e2e_p99 failed"},
		{"passed", func(r *harness.Result) { r.Passed, r.Gates = true, r.Gates[:1] }, "PASSED", "1 of 1 gates passed"},
		{"invalid", func(r *harness.Result) {
			r.Validity = harness.Validity{Reasons: []string{"load generator send delay p99 90 ms exceeds 50ms"}}
		}, "INVALID", "send delay p99 90 ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := *res
			r.Gates = append([]harness.GateResult(nil), res.Gates...)
			tt.mod(&r)
			v, reasons := Verdict(&r)
			if v != tt.want || !strings.Contains(strings.Join(reasons, "\n"), tt.reason) {
				t.Errorf("Verdict = %s %q, want %s with %q", v, reasons, tt.want, tt.reason)
			}
		})
	}
}

// TestReportWithoutData: a result with no timeline and no histograms still gets a
// report, which says what it could not draw, and stale PNGs are removed.
func TestReportWithoutData(t *testing.T) {
	dir := t.TempDir()
	res := syntheticResult(t)
	res.Timeline, res.Histograms, res.Stages = nil, nil, nil
	stale := filepath.Join(dir, "throughput.png")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteRunReport(dir, res); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale throughput.png was not removed: %v", err)
	}
	srcs, text := checkReportDir(t, dir)
	if len(srcs) != 0 {
		t.Errorf("images %v in a report without data", srcs)
	}
	if !strings.Contains(text, "Not drawn") || !strings.Contains(text, "empty timeline") {
		t.Errorf("report does not say what it could not draw")
	}
	if _, err := ThroughputPlot(res); !errors.Is(err, ErrNoData) {
		t.Errorf("ThroughputPlot without timeline: %v, want ErrNoData", err)
	}
}

// TestCommittedRuns draws the reports of the runs committed under results/.
func TestCommittedRuns(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "results", "*", "*", "result.json"))
	if len(files) == 0 {
		t.Skip("no committed runs under results/")
	}
	for _, f := range files {
		src := filepath.Dir(f)
		t.Run(filepath.Base(filepath.Dir(src))+"/"+filepath.Base(src), func(t *testing.T) {
			t.Parallel()
			res, err := harness.ReadRunDir(src)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := WriteRunReport(dir, res); err != nil {
				t.Fatal(err)
			}
			if srcs, _ := checkReportDir(t, dir); len(srcs) == 0 {
				t.Error("no figures")
			}
		})
	}
}

// browser finds a Chromium or Chrome on PATH.
func browser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

var imagesLoaded = regexp.MustCompile(`data-images-loaded="(\d+)/(\d+)"`)

// TestChromiumRender opens a report in headless Chromium: the page's inline script
// counts the images that loaded (complete, with a natural width) into
// body[data-images-loaded], which --dump-dom shows; then it takes a screenshot.
// Set VECTORSTREAM_REPORT_SCREENSHOT to a file name to keep the screenshot.
func TestChromiumRender(t *testing.T) {
	bin := browser()
	if bin == "" && os.Getenv("VECTORSTREAM_REQUIRE_CHROMIUM") != "" {
		t.Fatal("VECTORSTREAM_REQUIRE_CHROMIUM is set but no chromium is on PATH")
	}
	if bin == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH; install Debian's: apt-get install -y chromium")
	}
	dir := t.TempDir()
	if err := WriteRunReport(dir, syntheticResult(t)); err != nil {
		t.Fatal(err)
	}
	page := "file://" + filepath.Join(dir, ReportFile)
	run := func(extra ...string) (stdout, stderr []byte) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
			"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}, extra...)
		cmd := exec.CommandContext(ctx, bin, append(args, page)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %v: %v\n%s", bin, extra, err, errb.Bytes())
		}
		return out.Bytes(), errb.Bytes()
	}
	dom, stderr := run("--virtual-time-budget=5000", "--dump-dom")
	m := imagesLoaded.FindSubmatch(dom)
	if m == nil {
		t.Fatalf("dumped DOM has no data-images-loaded: the inline script did not run\n%.2000s", dom)
	}
	if string(m[1]) != string(m[2]) || string(m[2]) != strconv.Itoa(len(RunFigureFiles)) {
		t.Errorf("images loaded %s/%s, want %d/%d", m[1], m[2], len(RunFigureFiles), len(RunFigureFiles))
	}
	for _, bad := range []string{"Uncaught", "ERR_FILE_NOT_FOUND", "Failed to load resource"} {
		if bytes.Contains(stderr, []byte(bad)) {
			t.Errorf("chromium reported %q:\n%s", bad, stderr)
		}
	}

	shot := filepath.Join(t.TempDir(), "screenshot.png")
	run("--hide-scrollbars", "--window-size=1280,4000", "--virtual-time-budget=5000", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 3000 {
		t.Errorf("screenshot is %v, want about 1280x4000", b)
	}
	if colours := distinctColours(img, 64); colours < 10 {
		t.Errorf("screenshot has %d colours: the page looks blank", colours)
	}
	if keep := os.Getenv("VECTORSTREAM_REPORT_SCREENSHOT"); keep != "" {
		b, _ := os.ReadFile(shot)
		if err := os.WriteFile(keep, b, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// distinctColours counts the colours on a grid of pixels every step apart.
func distinctColours(img image.Image, step int) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += step {
		for x := b.Min.X; x < b.Max.X; x += step / 4 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

func TestMeasuredProcessNamesWhatTheTimelineRecords(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		infra    harness.InfraConfig
		embedded bool
		want     string
	}{
		{harness.InfraConfig{Mode: "embedded"}, true, "the harness process (pipeline, load generator and stand-ins together)"},
		{harness.InfraConfig{Mode: "embedded", Process: true}, true, "the harness process (pipeline and load generator together)"},
		{harness.InfraConfig{Mode: "external"}, false, "the harness process (pipeline and load generator together)"},
		{harness.InfraConfig{Mode: "embedded", PipelineProcess: true}, true, "the pipeline process"},
		{harness.InfraConfig{Mode: "external", PipelineProcess: true, PipelineProcesses: 2}, false, "the 2 pipeline processes, summed"},
	} {
		res := &harness.Result{}
		res.Scenario.Infra, res.Environment.StandIns = c.infra, harness.StandIns{Kafka: c.embedded, Qdrant: c.embedded}
		if got := MeasuredProcess(res); got != c.want {
			t.Errorf("%+v: %q, want %q", c.infra, got, c.want)
		}
	}
}
