package harness

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/measure"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/vectorstream/vectorstream/pipeline"
)

// summarise fills counts, throughput, latency and validity inputs from the run.
func summarise(res *Result, sc *Scenario, lg *loadGen, final childproc.RemoteStats) {
	snap := final.Snapshot
	c := snap.Counters
	acked := lg.acked.Load()
	res.Counts = Counts{
		Offered:       lg.sched.Count(),
		Produced:      acked,
		ProduceErrors: lg.failed.Load(),
		Consumed:      c.Consumed,
		Written:       c.Written,
		DeadLettered:  c.DeadLettered,
		Redelivered:   max(0, c.Consumed-acked),
		Batches:       c.Batches,
		Retries:       c.Retries,

		BreakerOpens:     c.BreakerOpens,
		Held:             c.Held,
		BackendFallbacks: c.BackendFallbacks,
	}
	commits := final.Commits
	from, to := lg.measureFrom, lg.measureTo
	third := sc.Duration / 3
	secs := sc.Duration.Seconds()
	res.Throughput = Throughput{
		OfferedEPS:    float64(lg.offeredInWin) / secs,
		ProducedEPS:   float64(lg.producedInWin.Load()) / secs,
		AchievedEPS:   commitRate(commits, from, to),
		FirstThirdEPS: commitRate(commits, from, from.Add(third)),
		LastThirdEPS:  commitRate(commits, to.Add(-third), to),
	}
	if res.Throughput.OfferedEPS > 0 {
		res.Throughput.AchievedRatio = res.Throughput.AchievedEPS / res.Throughput.OfferedEPS
	}

	res.Pipeline = snap
	res.Latency = map[string]Percentiles{}
	res.Histograms = map[string]string{}
	hists := map[string]*hdrhistogram.Histogram{}
	for _, st := range pipeline.Stages() {
		enc := snap.Histograms[st.String()]
		h, err := hdrhistogram.Decode([]byte(enc))
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("decode %s histogram: %v", st, err))
			h = measure.NewHistogram()
		}
		hists[st.String()] = h
		res.Latency[st.String()] = PercentilesOf(h)
		res.Histograms[st.String()] = enc
	}
	// What the totals hold beyond the measured window: the warm-up. The histograms
	// record exactly the events intended inside the window, so the rest of the written
	// and dead-lettered events were intended during the warm-up.
	res.Counts.Warmup = WarmupCounts{
		Offered:      max(0, res.Counts.Offered-lg.offeredInWin),
		Produced:     max(0, acked-lg.producedInWin.Load()),
		Written:      max(0, c.Written-res.Latency[StageE2E].Count),
		DeadLettered: max(0, c.DeadLettered-res.Latency[StageDLQ].Count),
	}
	res.Latency["load_send_delay"] = PercentilesOf(lg.sendDelay)
	if enc, err := lg.sendDelay.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		res.Histograms["load_send_delay"] = string(enc)
	}
	e2e := hists[pipeline.StageE2E.String()]
	res.Stages = map[string]StageBreakdown{}
	if e2e.TotalCount() > 0 {
		res.Stages["p50"] = snap.Breakdown(time.Duration(e2e.ValueAtQuantile(50)) * time.Microsecond)
		res.Stages["p99"] = snap.Breakdown(time.Duration(e2e.ValueAtQuantile(99)) * time.Microsecond)
	}

	// Validity inputs.
	v := &res.Validity
	v.SendDelayP99MS = float64(lg.sendDelay.ValueAtQuantile(99)) / 1000
	if lg.measured > 0 {
		v.LateFraction = float64(lg.lateCount) / float64(lg.measured)
	}
	if f := res.Throughput.FirstThirdEPS; f > 0 {
		v.ThroughputDrift = math.Abs(res.Throughput.LastThirdEPS-f) / f
	}
}

// commitRate is the rate at which records were committed between the first and the
// last batch commit inside [from, to]. Measuring between commits, not between window
// edges, keeps micro-batches of seconds from turning a steady rate into a staircase
// whose slope depends on where the edges fall. It is 0 with fewer than two commits.
func commitRate(commits []pipeline.Commit, from, to time.Time) float64 {
	lo := sort.Search(len(commits), func(i int) bool { return !commits[i].At.Before(from) })
	hi := sort.Search(len(commits), func(i int) bool { return commits[i].At.After(to) }) - 1
	if hi <= lo {
		return 0
	}
	dt := commits[hi].At.Sub(commits[lo].At).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(commits[hi].Cumulative-commits[lo].Cumulative) / dt
}

// judge decides validity and evaluates the gates.
func judge(res *Result, sc *Scenario) {
	judgeValidity(res, sc)
	res.Gates = evaluateGates(res, sc.Gates)
	res.Passed = res.Validity.Valid
	for _, gr := range res.Gates {
		res.Passed = res.Passed && gr.Passed
	}
}

// judgeValidity decides whether the run measured the system (Validity): the harness
// kept up with the schedule, throughput held at constant load, everything was
// produced, the faults ran as asked and verification passed.
func judgeValidity(res *Result, sc *Scenario) {
	v := &res.Validity
	v.Reasons = nil
	// A fault that stops the pipeline makes throughput uneven on purpose, and a broker
	// restart stalls the producer on purpose: those checks would judge the fault.
	disruptive, brokerDown := false, sc.hasFault(FaultKafkaBrokerRestart)
	for _, f := range sc.Faults {
		disruptive = disruptive || f.Kind != FaultMalformedBurst
	}
	if err := faultProblems(res.Faults); err != nil {
		v.Reasons = append(v.Reasons, "a fault did not run as the scenario asks: "+err.Error())
	}
	if brokerDown {
		res.Notes = append(res.Notes, "kafka_broker_restart: the load generator's send delay and lateness were not judged (the broker was down on purpose)")
	} else if lim := sc.Validity.MaxSendDelayP99; v.SendDelayP99MS > ms(lim) {
		v.Reasons = append(v.Reasons, fmt.Sprintf("load generator send delay p99 %.1f ms > %s: the load generator fell behind its schedule; %s",
			v.SendDelayP99MS, msText(lim), hostCause(v.Host, causeLoad)))
	}
	if !brokerDown && v.LateFraction > sc.Validity.MaxLateFraction {
		v.Reasons = append(v.Reasons, fmt.Sprintf("%.2f%% of events were sent more than %s late (limit %.2f%%); %s",
			100*v.LateFraction, msText(sc.Validity.LateThreshold), 100*sc.Validity.MaxLateFraction, hostCause(v.Host, causeLoad)))
	}
	if disruptive {
		res.Notes = append(res.Notes, "faults stopped or slowed the pipeline on purpose: throughput drift was not judged")
	} else if sc.Load.Kind == "constant" && (res.Throughput.FirstThirdEPS == 0 || res.Throughput.LastThirdEPS == 0) {
		v.Reasons = append(v.Reasons, "fewer than two batch commits in the first or last third of the run: throughput drift cannot be judged (a stalled pipeline, or a duration too short for batch.interval); "+
			hostCause(v.Host, causePipeline))
	} else if sc.Load.Kind == "constant" && v.ThroughputDrift > sc.Validity.MaxThroughputDrift {
		v.Reasons = append(v.Reasons, fmt.Sprintf("throughput in the last third (%.0f/s) differs from the first third (%.0f/s) by %.1f%% at constant load (limit %.0f%%); %s",
			res.Throughput.LastThirdEPS, res.Throughput.FirstThirdEPS, 100*v.ThroughputDrift, 100*sc.Validity.MaxThroughputDrift, hostCause(v.Host, causeDrift)))
	}
	if res.Counts.ProduceErrors > 0 {
		v.Reasons = append(v.Reasons, fmt.Sprintf("%d events could not be produced", res.Counts.ProduceErrors))
	}
	if !res.Verification.Passed {
		v.Reasons = append(v.Reasons, "verification failed: "+fmt.Sprint(res.Verification.Problems))
	}
	v.Valid = len(v.Reasons) == 0
}

// saturatedBusyPercent: the host counts as saturated (hostCause) when its CPU was
// busy at least this share of all cores' time, or its mean load average exceeded its
// cores. It chooses the words of a reason, never whether the run is valid: the
// checks' limits are the scenario's.
const saturatedBusyPercent = 90

// causeKind is what a failed check blames when the machine was not saturated.
type causeKind int

const (
	causeLoad     causeKind = iota // the load generator fell behind: the harness was the limit
	causePipeline                  // the pipeline committed too little to judge
	causeDrift                     // the pipeline's throughput changed at constant load
)

// hostCause states what the host and the run's processes did during the measured
// window (h) and what that makes the cause of a failed check of kind k. The machine
// was saturated when the host was (saturatedBusyPercent, or a load average above its
// cores) and the harness process was short of CPU: its threads waited longer for a
// CPU than they ran on one (Go wakes threads often, so some wait is normal: about
// half the running time where CPU is to spare);
// where the harness's run-queue wait was not measured, the host's saturation alone
// decides. Otherwise the cause is the harness itself (causeLoad) or the pipeline.
func hostCause(h *HostLoad, k causeKind) string {
	if h == nil {
		return "the host's load was not measured, so the cause is unknown"
	}
	facts := hostFacts(h, k == causeDrift)
	hp, _ := h.process(ProcessHarness)
	starved, waitKnown := false, hp.RunQueueWaitCores != nil
	if waitKnown {
		starved = *hp.RunQueueWaitCores > hp.CPUCores
	}
	if _, ok := h.process(ProcessPipeline); ok && k != causeLoad {
		waitKnown = false // the pipeline processes' own wait for a CPU is not measured
	}
	saturated := h.Samples > 0 && (h.CPUBusyPercent >= saturatedBusyPercent || h.LoadAvgMean > float64(h.Cores))
	switch {
	case saturated && (starved || !waitKnown):
		return facts + ": the machine was saturated, not the pipeline"
	case saturated:
		facts += " (the host was busy, but the harness process got the CPU it asked for)"
	default:
		facts += " (the host was not saturated)"
	}
	if k == causeLoad {
		return facts + ": the harness itself was the limit, not the machine (its ceiling here: vectorstream load --calibrate)"
	}
	return facts + ": the pipeline itself slowed, not the machine"
}

// hostFacts states h's numbers in words: the host's load average and CPU busy share
// (with the thirds' when thirds), the CPU the harness process got and how long its
// threads waited for one, and the pipeline processes' CPU when they were measured.
func hostFacts(h *HostLoad, thirds bool) string {
	facts := fmt.Sprintf("host load avg %.2f (max %.2f) on %d cores, CPU %.0f%% busy (%.0f%% niced)",
		h.LoadAvgMean, h.LoadAvgMax, h.Cores, h.CPUBusyPercent, h.CPUNicePercent)
	if h.Samples == 0 {
		facts = fmt.Sprintf("host load not readable (%d cores)", h.Cores)
	}
	if thirds && h.Samples > 0 {
		facts += fmt.Sprintf(", %.0f%% in the first third and %.0f%% in the last", h.CPUBusyFirstThirdPercent, h.CPUBusyLastThirdPercent)
	}
	hp, _ := h.process(ProcessHarness)
	facts += fmt.Sprintf("; the harness process got %.2f core (max %.2f)", hp.CPUCores, hp.CPUCoresMax)
	if w := hp.RunQueueWaitCores; w != nil {
		facts += fmt.Sprintf(" while its threads waited %.2f s a second for a CPU", *w)
		if r := hp.RunQueueWaitPerRunMS; r != nil {
			facts += fmt.Sprintf(", %.3f ms each time on average", *r)
		}
	} else {
		facts += " (its wait for a CPU not measured)"
	}
	if pp, ok := h.process(ProcessPipeline); ok {
		facts += fmt.Sprintf(", the pipeline processes %.2f core (max %.2f)", pp.CPUCores, pp.CPUCoresMax)
	}
	return facts
}

// msText writes d in milliseconds, as the reasons' measured values are.
func msText(d time.Duration) string { return num(ms(d)) + " ms" }

// evaluateGates returns the result of every gate g sets.
func evaluateGates(res *Result, g Gates) []GateResult {
	var out []GateResult
	add := func(name string, limit, actual float64, unit string, pass bool) {
		out = append(out, GateResult{Name: name, Limit: limit, Actual: actual, Unit: unit, Passed: pass})
	}
	if g.MinThroughputEPS > 0 {
		add("min_throughput_eps", g.MinThroughputEPS, res.Throughput.AchievedEPS, "events/s", res.Throughput.AchievedEPS >= g.MinThroughputEPS)
	}
	if g.MinAchievedRatio > 0 {
		add("min_achieved_ratio", g.MinAchievedRatio, res.Throughput.AchievedRatio, "of offered", res.Throughput.AchievedRatio >= g.MinAchievedRatio)
	}
	e2e := res.Latency[pipeline.StageE2E.String()]
	if g.MaxE2EP99 > 0 {
		add("max_e2e_p99", ms(g.MaxE2EP99), e2e.P99, "ms", e2e.Count > 0 && e2e.P99 < ms(g.MaxE2EP99))
	}
	if g.MaxE2EP50 > 0 {
		add("max_e2e_p50", ms(g.MaxE2EP50), e2e.P50, "ms", e2e.Count > 0 && e2e.P50 < ms(g.MaxE2EP50))
	}
	if g.MaxDLQFraction > 0 {
		f := 0.0
		if res.Counts.Consumed > 0 {
			f = float64(res.Counts.DeadLettered) / float64(res.Counts.Consumed)
		}
		add("max_dlq_fraction", g.MaxDLQFraction, f, "of consumed", f <= g.MaxDLQFraction)
	}
	if g.MaxRTO > 0 {
		worst, all := 0.0, true
		for _, f := range res.Faults {
			all = all && f.Recovered
			worst = math.Max(worst, f.RTOSeconds)
		}
		add("max_rto", g.MaxRTO.Seconds(), worst, "s", all && worst <= g.MaxRTO.Seconds())
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
