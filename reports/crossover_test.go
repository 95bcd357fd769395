package reports

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const crossoverTestdata = "testdata/crossover/bench-encode.txt"

func crossoverParse(t *testing.T) EncodeBench {
	t.Helper()
	f, err := os.Open(crossoverTestdata)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	eb, err := ParseEncodeBench(f)
	if err != nil {
		t.Fatal(err)
	}
	return eb
}

func crossoverPoint(t *testing.T, eb EncodeBench, dim int, backend string, batch int) EncodePoint {
	t.Helper()
	for _, p := range eb.Points {
		if p.Dim == dim && p.Backend == backend && p.Batch == batch {
			return p
		}
	}
	t.Fatalf("no point dim=%d/%s-%d", dim, backend, batch)
	return EncodePoint{}
}

func TestCrossoverParse(t *testing.T) {
	t.Parallel()
	eb := crossoverParse(t)
	// 3 dims × 6 batches on the CPU, 6 + 6 + 2 on CUDA; BenchmarkCPU/axpy is skipped.
	if len(eb.Points) != 18+14 {
		t.Errorf("%d points, want 32", len(eb.Points))
	}
	for _, tc := range []struct {
		dim             int
		backend         string
		batch, n        int
		events, kernel  float64
		eventsMin, eMax float64
	}{
		// Real CPU lines, two repeats: the median is their mean.
		{64, "cpu", 4096, 2, (3274121 + 3624460) / 2.0, 0, 3274121, 3624460},
		{128, "cpu", 262144, 2, (683681 + 641146) / 2.0, 0, 641146, 683681},
		// Synthetic CUDA lines, three repeats at 4096.
		{64, "cuda", 4096, 3, 5e6, 5e7, 4.8e6, 9e6},
		{512, "cuda", 65536, 1, 8e6, 2e7, 8e6, 8e6},
	} {
		p := crossoverPoint(t, eb, tc.dim, tc.backend, tc.batch)
		if p.N != tc.n || p.Events != tc.events || p.Kernel != tc.kernel || p.EventsMin != tc.eventsMin || p.EventsMax != tc.eMax {
			t.Errorf("dim=%d/%s-%d: got %+v, want n %d events %v kernel %v range %v–%v",
				tc.dim, tc.backend, tc.batch, p, tc.n, tc.events, tc.kernel, tc.eventsMin, tc.eMax)
		}
		if tc.backend == "cuda" && p.KernelN != tc.n {
			t.Errorf("dim=%d/%s-%d: kernel n %d, want %d", tc.dim, tc.backend, tc.batch, p.KernelN, tc.n)
		}
	}
	want := map[string]string{"goos": "linux", "goarch": "amd64", "cpu": "AMD EPYC", "pkg": "github.com/vectorstream/vectorstream/kernels"}
	for _, c := range eb.Config {
		if w, ok := want[c.Key]; ok {
			if len(c.Values) != 1 || c.Values[0] != w {
				t.Errorf("config %s = %q, want %q", c.Key, c.Values, w)
			}
			delete(want, c.Key)
		}
	}
	if len(want) > 0 {
		t.Errorf("config lines missing: %v (got %+v)", want, eb.Config)
	}
}

func TestCrossoverRepeatsAcrossFiles(t *testing.T) {
	t.Parallel()
	eb, err := ReadEncodeBench([]string{crossoverTestdata, "-"}, strings.NewReader(
		"cpu: Other CPU\nBenchmarkEncodeCPU/dim=64/cpu-4096-2 20 1 ns/op 1000 events/s"))
	if err != nil {
		t.Fatal(err)
	}
	p := crossoverPoint(t, eb, 64, "cpu", 4096)
	if p.N != 3 || p.Events != 3274121 || p.EventsMin != 1000 {
		t.Errorf("three repeats over two inputs: got %+v, want n 3, median 3274121, min 1000", p)
	}
	for _, c := range eb.Config {
		if c.Key == "cpu" && strings.Join(c.Values, ";") != "AMD EPYC;Other CPU" {
			t.Errorf("cpu labels %q, want both machines", c.Values)
		}
	}
}

func TestCrossoverParseErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"no encode lines": "goos: linux\nBenchmarkCPU/axpy-1024-2 10 5 ns/op\nPASS\n",
		"empty":           "",
		"malformed":       "BenchmarkEncodeCPU/dim=64/cpu-256-2 20 x ns/op 5 events/s\n",
	} {
		if _, err := ParseEncodeBench(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCrossoverPerDim(t *testing.T) {
	t.Parallel()
	rows := Crossover(crossoverParse(t))
	want := []struct {
		dim      int
		gpu      string
		winsFrom int
		verdict  string
		summary  string
	}{
		{64, "cuda", 4096, "GPU wins from batch 4096", "dim 64: GPU wins from batch 4096 (x9.1 at 262144)"},
		{128, "cuda", 0, "GPU never wins in the measured range", "dim 128: GPU never wins in the measured range (best x1.2 at 16384)"},
		{256, "", 0, "GPU never measured", "dim 256: GPU never measured"},
		{512, "cuda", 0, "CPU never measured", "dim 512: CPU never measured"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Dim != w.dim || r.GPU != w.gpu || r.WinsFrom != w.winsFrom || r.Verdict() != w.verdict || r.Summary() != w.summary {
			t.Errorf("row %d: dim %d gpu %q wins from %d, %q, %q; want %+v", i, r.Dim, r.GPU, r.WinsFrom, r.Verdict(), r.Summary(), w)
		}
	}
	// dim 64: the GPU wins at 256 (noise) and loses at 1024, so the crossover is 4096.
	d64 := rows[0]
	if len(d64.Batches) != 6 || !d64.Batches[0].GPUWins || d64.Batches[1].GPUWins {
		t.Errorf("dim 64 batches %+v: want a win at 256 and a loss at 1024", d64.Batches)
	}
	b := d64.Batches[2]
	if b.Batch != 4096 || b.GPU != 5e6 || b.GPUKernel != 5e7 || math.Abs(b.Speedup-5e6/b.CPU) > 1e-12 {
		t.Errorf("dim 64 batch 4096: %+v", b)
	}
	// dim 128: the GPU wins at 16384 but not at the two larger batches.
	for _, c := range rows[1].Batches {
		if c.GPUWins != (c.Batch == 16384) {
			t.Errorf("dim 128 batch %d: GPU wins %v", c.Batch, c.GPUWins)
		}
	}
	// dim 512: GPU points only, no speed-ups.
	for _, c := range rows[3].Batches {
		if c.CPU != 0 || c.Speedup != 0 || c.GPUWins {
			t.Errorf("dim 512 batch %+v: want no CPU figure", c)
		}
	}
}

func TestCrossoverWinsAtEveryBatch(t *testing.T) {
	t.Parallel()
	eb, err := ParseEncodeBench(strings.NewReader(`BenchmarkEncodeCPU/dim=8/cpu-256-2 1 1 ns/op 10 events/s
BenchmarkEncodeCPU/dim=8/cpu-1024-2 1 1 ns/op 10 events/s
BenchmarkEncodeCUDA/dim=8/cuda-256-2 1 1 ns/op 20 events/s
BenchmarkEncodeCUDA/dim=8/cuda-1024-2 1 1 ns/op 40 events/s
`))
	if err != nil {
		t.Fatal(err)
	}
	rows := Crossover(eb)
	if len(rows) != 1 || rows[0].WinsFrom != 256 || rows[0].Verdict() != "GPU wins from batch 256 (the smallest measured)" ||
		rows[0].BestBatch != 1024 || rows[0].BestSpeedup != 4 {
		t.Errorf("rows %+v, verdict %q", rows, rows[0].Verdict())
	}
}

func TestWriteCrossover(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteCrossover(dir, crossoverParse(t), "Encode crossover test"); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, CrossoverPNG))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("crossover.png: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1152 || b.Dy() != 576 {
		t.Errorf("crossover.png is %v, want 1152×576", b)
	}
	if n := distinctColours(img, 4); n < 5 {
		t.Errorf("crossover.png has %d colours: blank?", n)
	}
	html, err := os.ReadFile(filepath.Join(dir, CrossoverHTML))
	if err != nil {
		t.Fatal(err)
	}
	text := string(html)
	for _, want := range []string{
		"<h1>Encode crossover test</h1>",
		`<img src="crossover.png"`,
		"<strong>dim 64 — cpu vs cuda:</strong> GPU wins from batch 4096",
		"<strong>dim 128 — cpu vs cuda:</strong> GPU never wins in the measured range",
		"<strong>dim 256:</strong> GPU never measured",
		"<strong>dim 512 — cpu vs cuda:</strong> CPU never measured",
		// The crossover row of dim 64: CPU median, GPU median, kernel median, speed-up.
		`<tr class="crossover"><td class="num">4096 ← crossover</td><td class="num">3,449,291</td><td class="num gpu">5,000,000</td><td class="num">50,000,000</td><td class="num">×1.45</td></tr>`,
		`<tr class="wins"><td class="num">256</td>`,
		"host→device", "device→host", "same process",
		"<th>cpu</th><td>AMD EPYC</td>", "<th>goarch</th><td>amd64</td>",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("crossover.html lacks %q", want)
		}
	}
	if n := strings.Count(text, `class="crossover"`); n != 1 {
		t.Errorf("%d crossover rows, want 1 (dim 64 only)", n)
	}
	if strings.Contains(text, "http://") || strings.Contains(text, "https://") {
		t.Error("crossover.html loads something from elsewhere")
	}
}

// FuzzCrossoverParse: ParseEncodeBench never panics; every point it returns has at
// least one line and its median within its range; Crossover and the summaries of any
// parse never panic, and a crossover is a batch measured on both sides.
func FuzzCrossoverParse(f *testing.F) {
	seed, err := os.ReadFile(crossoverTestdata)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add("BenchmarkEncodeCUDA/dim=1/cuda-1-1 1 1 ns/op 1 events/s 2 kernel-events/s\n")
	f.Add("BenchmarkEncodeCPU/dim=0/cpu-x 1 NaN events/s\n")
	f.Fuzz(func(t *testing.T, in string) {
		eb, err := ParseEncodeBench(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, p := range eb.Points {
			if p.N < 1 || p.Dim <= 0 || p.Batch <= 0 {
				t.Errorf("point %+v", p)
			}
			if !math.IsNaN(p.Events) && (p.Events < p.EventsMin || p.Events > p.EventsMax) {
				t.Errorf("median outside its range: %+v", p)
			}
		}
		for _, r := range Crossover(eb) {
			_ = r.Summary()
			if r.WinsFrom == 0 {
				continue
			}
			found := false
			for _, c := range r.Batches {
				found = found || (c.Batch == r.WinsFrom && c.CPU > 0 && c.GPU > 0 && c.GPUWins)
			}
			if !found {
				t.Errorf("crossover %d not a batch the GPU won: %+v", r.WinsFrom, r)
			}
		}
	})
}
