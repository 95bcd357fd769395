package measure

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HostSample is the machine's load and this process's share of the CPU at one
// instant, read from Linux's /proc. A part that could not be read is left zero and its
// flag false (on other systems all of them), so callers report "not measured" rather
// than a zero load.
type HostSample struct {
	At time.Time
	// Cores is runtime.NumCPU: the cores this process may run on.
	Cores int

	// HostOK: LoadAvg and Runnable come from /proc/loadavg, the CPU ticks from the
	// aggregate "cpu" line of /proc/stat (USER_HZ ticks summed over all cores).
	HostOK   bool
	LoadAvg  float64 // 1-minute load average
	Runnable int     // tasks runnable at this instant, this process's sampling thread included
	Ticks    CPUTicks

	// CPU is this process's user + system time so far (getrusage, all its threads).
	CPU time.Duration
	// WaitOK: RunQueueWait is the time this process's threads were runnable but
	// waiting for a CPU so far, summed over /proc/self/task/*/schedstat (kernel
	// schedstats).
	WaitOK       bool
	RunQueueWait time.Duration
	// Slices is how many times its threads were put on a CPU so far (schedstat's
	// third field): RunQueueWait over Slices is their mean wait for a CPU each time.
	Slices uint64
}

// CPUTicks are /proc/stat's counters for all cores together, in USER_HZ ticks.
type CPUTicks struct {
	// Busy is user + nice + system + irq + softirq + steal; guest time is already in
	// user and nice. Nice is the part of Busy spent by niced processes.
	Busy, Nice uint64
	// Total is Busy plus idle and iowait.
	Total uint64
}

// SampleHost reads the host's load and this process's CPU time and run-queue wait.
// It is cheap (three small /proc reads and getrusage; no stop-the-world), so it may
// run every second beside SampleProcess.
func SampleHost() HostSample {
	s := HostSample{At: time.Now(), Cores: runtime.NumCPU()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	la, errL := os.ReadFile("/proc/loadavg")
	st, errS := os.ReadFile("/proc/stat")
	if errL == nil && errS == nil {
		var err1, err2 error
		s.LoadAvg, s.Runnable, err1 = ParseLoadavg(string(la))
		s.Ticks, err2 = ParseProcStat(string(st))
		s.HostOK = err1 == nil && err2 == nil
	}
	s.RunQueueWait, s.Slices, s.WaitOK = runQueueWait("/proc/self/task")
	return s
}

// runQueueWait sums the run-queue wait of every thread under dir (/proc/<pid>/task):
// /proc/<pid>/schedstat alone is the main thread's, which a Go program leaves mostly
// asleep. A thread that ended takes its wait with it; Go seldom ends threads.
func runQueueWait(dir string) (wait time.Duration, slices uint64, ok bool) {
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, false
	}
	n := 0
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended meanwhile
		}
		if w, k, err := ParseSchedstat(string(b)); err == nil {
			wait += w
			slices += k
			n++
		}
	}
	return wait, slices, n > 0
}

var errFormat = errors.New("measure: unexpected /proc format")

// ParseLoadavg reads /proc/loadavg ("0.52 0.58 0.59 2/345 12345"): the 1-minute load
// average and the number of tasks runnable now.
func ParseLoadavg(s string) (load1 float64, runnable int, err error) {
	f := strings.Fields(s)
	if len(f) < 4 {
		return 0, 0, errFormat
	}
	if load1, err = strconv.ParseFloat(f[0], 64); err != nil {
		return 0, 0, errFormat
	}
	run, _, ok := strings.Cut(f[3], "/")
	if !ok {
		return 0, 0, errFormat
	}
	if runnable, err = strconv.Atoi(run); err != nil {
		return 0, 0, errFormat
	}
	return load1, runnable, nil
}

// ParseProcStat reads the aggregate "cpu" line of /proc/stat
// ("cpu user nice system idle iowait irq softirq steal guest guest_nice").
func ParseProcStat(s string) (CPUTicks, error) {
	var t CPUTicks
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return t, errFormat
	}
	var v [8]uint64 // user nice system idle iowait irq softirq steal
	for i := range v {
		if i+1 >= len(f) {
			break // old kernels stop after idle or iowait
		}
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return t, errFormat
		}
		v[i] = n
	}
	t.Nice = v[1]
	t.Busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	t.Total = t.Busy + v[3] + v[4]
	return t, nil
}

// ParseSchedstat reads /proc/<pid>/schedstat ("on-cpu-ns wait-ns timeslices"): the
// time spent runnable but waiting on a run queue, and how many times the task was
// put on a CPU.
func ParseSchedstat(s string) (wait time.Duration, slices uint64, err error) {
	f := strings.Fields(s)
	if len(f) < 3 {
		return 0, 0, errFormat
	}
	w, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || w < 0 {
		return 0, 0, errFormat
	}
	if slices, err = strconv.ParseUint(f[2], 10, 64); err != nil {
		return 0, 0, errFormat
	}
	return time.Duration(w), slices, nil
}

// HostBusy returns the share of all cores' time between two samples that was busy,
// and the share that niced processes used (both 0..1); ok is false when either
// sample lacks the host's counters or no tick passed.
func HostBusy(a, b HostSample) (busy, nice float64, ok bool) {
	if !a.HostOK || !b.HostOK || b.Ticks.Total <= a.Ticks.Total {
		return 0, 0, false
	}
	total := float64(b.Ticks.Total - a.Ticks.Total)
	return float64(b.Ticks.Busy-a.Ticks.Busy) / total, float64(b.Ticks.Nice-a.Ticks.Nice) / total, true
}
