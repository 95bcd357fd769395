package measure

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseLoadavg(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		load     float64
		runnable int
		ok       bool
	}{
		{"9.20 4.10 1.57 5/152 29925\n", 9.2, 5, true},
		{"0.00 0.00 0.00 1/1 1", 0, 1, true},
		{"", 0, 0, false},
		{"x 0 0 1/2 3", 0, 0, false},
		{"1 0 0 12 3", 0, 0, false},
	} {
		load, run, err := ParseLoadavg(tc.in)
		if (err == nil) != tc.ok || load != tc.load || run != tc.runnable {
			t.Errorf("ParseLoadavg(%q) = %v, %v, %v; want %v, %v, ok %v", tc.in, load, run, err, tc.load, tc.runnable, tc.ok)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	// user nice system idle iowait irq softirq steal guest guest_nice
	got, err := ParseProcStat("cpu  100 20 30 400 5 6 7 8 9 10\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
	if err != nil {
		t.Fatal(err)
	}
	want := CPUTicks{Busy: 100 + 20 + 30 + 6 + 7 + 8, Nice: 20, Total: 100 + 20 + 30 + 6 + 7 + 8 + 400 + 5}
	if got != want {
		t.Errorf("ParseProcStat = %+v, want %+v", got, want)
	}
	if old, err := ParseProcStat("cpu 1 2 3 4\n"); err != nil || old.Total != 10 || old.Busy != 6 {
		t.Errorf("four-column cpu line: %+v, %v", old, err)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5", "cpu 1 x 3 4 5"} {
		if _, err := ParseProcStat(bad); err == nil {
			t.Errorf("ParseProcStat(%q): no error", bad)
		}
	}
}

func TestParseSchedstat(t *testing.T) {
	t.Parallel()
	if w, k, err := ParseSchedstat("260097 243605 4\n"); err != nil || w != 243605*time.Nanosecond || k != 4 {
		t.Errorf("ParseSchedstat = %v, %v, %v; want 243.605µs, 4", w, k, err)
	}
	for _, bad := range []string{"12", "1 2", "1 -2 3", "1 2 x"} {
		if _, _, err := ParseSchedstat(bad); err == nil {
			t.Errorf("ParseSchedstat(%q): no error", bad)
		}
	}
}

func TestHostBusy(t *testing.T) {
	t.Parallel()
	a := HostSample{HostOK: true, Ticks: CPUTicks{Busy: 100, Nice: 10, Total: 1000}}
	b := HostSample{HostOK: true, Ticks: CPUTicks{Busy: 190, Nice: 55, Total: 1100}}
	busy, nice, ok := HostBusy(a, b)
	if !ok || busy != 0.9 || nice != 0.45 {
		t.Errorf("HostBusy = %v, %v, %v; want 0.9, 0.45, true", busy, nice, ok)
	}
	if _, _, ok := HostBusy(a, a); ok {
		t.Error("no tick passed: ok")
	}
	if _, _, ok := HostBusy(HostSample{}, b); ok {
		t.Error("sample without host counters: ok")
	}
}

func TestSampleHostOnLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	s := SampleHost()
	if !s.HostOK || s.Cores < 1 || s.Runnable < 1 || s.Ticks.Total == 0 || s.CPU <= 0 {
		t.Errorf("SampleHost on Linux = %+v", s)
	}
	if _, err := os.Stat("/proc/self/schedstat"); err == nil && (!s.WaitOK || s.Slices == 0) {
		t.Errorf("schedstats present, but the run-queue wait was not read: %+v", s)
	}
}
