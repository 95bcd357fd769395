package measure

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ProcessSample is one process's resource use at one instant.
type ProcessSample struct {
	At         time.Time     `json:"at"`
	CPU        time.Duration `json:"cpu_ns"` // user + system, since the process started
	HeapBytes  uint64        `json:"heap_bytes"`
	RSSBytes   uint64        `json:"rss_bytes"`
	GCPause    time.Duration `json:"gc_pause_ns"` // total stop-the-world pause so far
	GCCycles   uint32        `json:"gc_cycles"`
	Goroutines int           `json:"goroutines"`
}

// SampleProcess measures this process. It reads runtime.MemStats, which stops the
// world briefly: call it about once a second, not per event.
func SampleProcess() ProcessSample {
	s := ProcessSample{At: time.Now(), Goroutines: runtime.NumGoroutine()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.HeapBytes, s.GCPause, s.GCCycles = ms.HeapAlloc, time.Duration(ms.PauseTotalNs), ms.NumGC
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			s.RSSBytes = pages * uint64(os.Getpagesize())
		}
	}
	return s
}
