package harness

import (
	"context"
	"time"

	"github.com/vectorstream/vectorstream/internal/measure"
)

// hostSampler reads the host's load and this process's CPU time once a second, on
// the timeline's ticks (the load's start + k s), from its start until stop: what a
// failed validity check names as its cause (summariseHost, hostCause). It takes no
// stop-the-world sample, so it does not disturb the load it watches.
type hostSampler struct {
	read    func() measure.HostSample
	start   time.Time
	samples []measure.HostSample // a baseline first, then one per tick

	cancel context.CancelFunc
	done   chan struct{}
}

// startHostSampler takes a baseline sample now and one at every whole second after
// start until stop; read, when nil, is measure.SampleHost (tests give their own).
func startHostSampler(ctx context.Context, start time.Time, read func() measure.HostSample) *hostSampler {
	if read == nil {
		read = measure.SampleHost
	}
	s := &hostSampler{read: read, start: start, done: make(chan struct{})}
	ctx, s.cancel = context.WithCancel(ctx)
	s.samples = append(s.samples, read())
	go func() {
		defer close(s.done)
		s.run(ctx)
	}()
	return s
}

// stop ends the sampling and waits for it. It may be called more than once.
func (s *hostSampler) stop() {
	s.cancel()
	<-s.done
}

func (s *hostSampler) run(ctx context.Context) {
	for k := 1; ; k++ {
		t := time.NewTimer(time.Until(s.start.Add(time.Duration(k) * time.Second)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.samples = append(s.samples, s.read())
	}
}

// load summarises what was sampled over [from, to] (call it after stop); pipeline
// is the timeline of a pipeline that ran as processes of its own, nil when it ran
// inside this process.
func (s *hostSampler) load(from, to time.Time, pipeline []TimelineRow) *HostLoad {
	return summariseHost(s.samples, s.start, from, to, pipeline)
}

// hostLoad stops the run's host sampler and sums up the measured window: with the
// pipeline processes' CPU from the timeline when the pipeline ran as processes of its
// own (in this process, the harness's CPU includes it). Nil when nothing was sampled.
func (r *run) hostLoad() *HostLoad {
	if r.host == nil {
		return nil
	}
	r.host.stop()
	var pipeline []TimelineRow
	if r.sc.Infra.PipelineProcess {
		pipeline = r.res.Timeline
	}
	return r.host.load(r.lg.measureFrom, r.lg.measureTo, pipeline)
}

// summariseHost sums up the one-second intervals between consecutive samples that
// end inside (from, to]: the host's load average, runnable tasks and CPU busy share,
// and the CPU this process got and waited for (per wall second, and per time its
// threads were put on a CPU). pipeline, when set, adds the
// pipeline processes' CPU from the timeline rows (row k ends at start + k s) that
// end inside the window. It returns nil when no interval lies in the window.
func summariseHost(samples []measure.HostSample, start, from, to time.Time, pipeline []TimelineRow) *HostLoad {
	third := to.Sub(from) / 3
	inWin := func(t time.Time) bool { return t.After(from) && !t.After(to) }
	h := &HostLoad{}
	hp := ProcessLoad{Name: ProcessHarness}
	var n, nWait int
	var load, runnable, busy, nice, cpu, wait float64
	var waitSum time.Duration
	var slices uint64
	var first, last struct{ busy, n float64 }
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		wall := b.At.Sub(a.At).Seconds()
		if !inWin(b.At) || wall <= 0 {
			continue
		}
		h.Cores = b.Cores
		n++
		cores := (b.CPU - a.CPU).Seconds() / wall
		cpu += cores
		hp.CPUCoresMax = max(hp.CPUCoresMax, cores)
		if a.WaitOK && b.WaitOK {
			nWait++
			wait += (b.RunQueueWait - a.RunQueueWait).Seconds() / wall
			waitSum += b.RunQueueWait - a.RunQueueWait
			slices += b.Slices - a.Slices
		}
		bz, nz, ok := measure.HostBusy(a, b)
		if !ok {
			continue
		}
		h.Samples++
		load += b.LoadAvg
		runnable += float64(b.Runnable)
		busy += bz
		nice += nz
		h.LoadAvgMax = max(h.LoadAvgMax, b.LoadAvg)
		h.RunnableMax = max(h.RunnableMax, b.Runnable)
		h.CPUBusyMaxPercent = max(h.CPUBusyMaxPercent, 100*bz)
		if !b.At.After(from.Add(third)) {
			first.busy, first.n = first.busy+bz, first.n+1
		}
		if b.At.After(to.Add(-third)) {
			last.busy, last.n = last.busy+bz, last.n+1
		}
	}
	if n == 0 {
		return nil
	}
	hp.CPUCores = cpu / float64(n)
	if nWait > 0 {
		w := wait / float64(nWait)
		hp.RunQueueWaitCores = &w
		if slices > 0 {
			perRun := float64(waitSum) / float64(slices) / float64(time.Millisecond)
			hp.RunQueueWaitPerRunMS = &perRun
		}
	}
	if m := float64(h.Samples); m > 0 {
		h.LoadAvgMean, h.RunnableMean = load/m, runnable/m
		h.CPUBusyPercent, h.CPUNicePercent = 100*busy/m, 100*nice/m
	}
	if first.n > 0 {
		h.CPUBusyFirstThirdPercent = 100 * first.busy / first.n
	}
	if last.n > 0 {
		h.CPUBusyLastThirdPercent = 100 * last.busy / last.n
	}
	h.Processes = []ProcessLoad{hp}
	if pipeline != nil {
		p := ProcessLoad{Name: ProcessPipeline}
		var m int
		for _, r := range pipeline {
			if !inWin(start.Add(time.Duration(r.Second) * time.Second)) {
				continue
			}
			m++
			p.CPUCores += r.CPUPercent / 100
			p.CPUCoresMax = max(p.CPUCoresMax, r.CPUPercent/100)
		}
		if m > 0 {
			p.CPUCores /= float64(m)
			h.Processes = append(h.Processes, p)
		}
	}
	return h
}
