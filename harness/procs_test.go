package harness

import (
	"bytes"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestProcessMemoryQuarters(t *testing.T) {
	// 8 s of load, then 2 s of drain: quarters are seconds 1-2, 3-4, 5-6, 7-8.
	var rows []TimelineRow
	for s := 1; s <= 10; s++ {
		m := map[string]uint64{"harness": 100, "infra": uint64(100 * s)}
		if s == 5 {
			delete(m, "infra") // a second it could not be read
		}
		rows = append(rows, TimelineRow{Second: s, RSSAnon: m})
	}
	got := processMemory(rows, []string{"harness", "infra", "pipeline"}, 8, func(n string) string { return "what " + n })
	want := []ProcessMemory{
		{Name: "harness", What: "what harness", PeakBytes: 100, QuarterPeakBytes: [4]uint64{100, 100, 100, 100}},
		{Name: "infra", What: "what infra", PeakBytes: 1000, QuarterPeakBytes: [4]uint64{200, 400, 600, 800}, Growth: 1},
		{Name: "pipeline", What: "what pipeline"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestTimelineCSVCarriesRSSAnonPerProcess(t *testing.T) {
	rows := []TimelineRow{
		{Second: 1, RSSAnon: map[string]uint64{"infra": 7, "harness": 5}},
		{Second: 2, RSSAnon: map[string]uint64{"harness": 6, "pipeline": 9}},
		{Second: 3},
	}
	var buf bytes.Buffer
	if err := WriteTimelineCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(buf.String(), "\n")
	if !strings.HasSuffix(header, ",rss_anon_bytes_harness,rss_anon_bytes_infra,rss_anon_bytes_pipeline") {
		t.Fatalf("header %q", header)
	}
	back, err := ReadTimelineCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rows) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, rows)
	}
	// A timeline from before the RssAnon columns still reads.
	old := strings.Join(TimelineHeader, ",") + "\n1,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n"
	if r, err := ReadTimelineCSV(strings.NewReader(old)); err != nil || len(r) != 1 || r[0].RSSAnon != nil {
		t.Fatalf("old timeline: %+v, %v", r, err)
	}
	if _, err := ReadTimelineCSV(strings.NewReader(strings.Join(TimelineHeader, ",") + ",bogus\n")); err == nil {
		t.Fatal("an unknown column was accepted")
	}
}

func TestProcTableSamplesLiveProcesses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RssAnon is read from /proc")
	}
	pt := newProcTable()
	pt.started("pipeline", os.Getpid()) // any live process will do
	pt.started("infra", 1<<30)          // no such process: left out
	s := pt.sample()
	if s["harness"] == 0 || s["pipeline"] == 0 {
		t.Fatalf("sample %v", s)
	}
	if _, ok := s["infra"]; ok {
		t.Fatalf("a process that does not exist was sampled: %v", s)
	}
	pt.ended("pipeline")
	if _, ok := pt.sample()["pipeline"]; ok {
		t.Fatal("an ended process was sampled")
	}
	if got := pt.Names(); !reflect.DeepEqual(got, []string{"harness", "pipeline", "infra"}) {
		t.Fatalf("names %v", got)
	}
	var none *procTable
	none.started("x", 1)
	if none.sample() != nil || none.Names() != nil {
		t.Fatal("a nil table recorded something")
	}
}
