package harness

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vectorstream/vectorstream/pipeline"
)

// PrintSummary writes the short human summary of a run: throughput, latency per stage,
// verification, validity and gates.
func PrintSummary(w io.Writer, r *Result) {
	env := r.Environment
	fmt.Fprintf(w, "\nscenario %s  run %s  (%s, %d cores, %s)\n", r.Scenario.Name, r.RunID, env.CPUModel, env.CPUCores, env.GoVersion)
	fmt.Fprintf(w, "infra: %s — kafka: %s; qdrant: %s; embeddings: %s\n", env.InfraMode, env.Kafka, env.Qdrant, env.EmbeddingBackend)
	switch {
	case env.StandIns.Kafka && env.StandIns.Qdrant:
		fmt.Fprintln(w, "NOTE: embedded stand-ins, not Kafka or Qdrant: compare these numbers only with other embedded runs.")
	case env.StandIns.Kafka:
		fmt.Fprintln(w, "NOTE: Kafka was an embedded stand-in, Qdrant its storage engine behind VectorStream's gRPC server, not a Qdrant server: compare these numbers only with other runs on the same store.")
	}
	t := r.Throughput
	fmt.Fprintf(w, "\nthroughput (after warm-up): offered %.0f/s  produced %.0f/s  %s (%.1f%% of offered)  first third %.0f/s  last third %.0f/s\n",
		t.OfferedEPS, t.ProducedEPS, achievedText(t.AchievedEPS), 100*t.AchievedRatio, t.FirstThirdEPS, t.LastThirdEPS)
	c := r.Counts
	produced := fmt.Sprintf("%d (valid %d, malformed %d)", c.Produced, c.Valid, c.Malformed)
	if c.Warmup.Produced > 0 {
		produced = fmt.Sprintf("%d (of which warm-up %d; valid %d, malformed %d)", c.Produced, c.Warmup.Produced, c.Valid, c.Malformed)
	}
	fmt.Fprintf(w, "counts (%s): offered %s  produced %s  written %s  dead-lettered %s  redelivered %d  batches %d  retries %d\n\n",
		countsScope(r), withWarmup(c.Offered, c.Warmup.Offered), produced,
		withWarmup(c.Written, c.Warmup.Written), withWarmup(c.DeadLettered, c.Warmup.DeadLettered), c.Redelivered, c.Batches, c.Retries)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "latency per event, after warm-up (ms)\tevents\tp50\tp90\tp95\tp99\tp99.9\tmax\t")
	rows := []string{"load_send_delay"}
	for _, st := range pipeline.BreakdownStages() {
		if st != pipeline.StageSendDelay {
			rows = append(rows, st.String())
		}
	}
	rows = append(rows, pipeline.StageE2E.String(), pipeline.StageCommit.String(), pipeline.StageDLQ.String())
	for _, name := range rows {
		p := r.Latency[name]
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", name, p.Count, p.P50, p.P90, p.P95, p.P99, p.P999, p.Max)
	}
	tw.Flush()

	v := r.Verification
	fmt.Fprintf(w, "\nverification: %s — points %d/%d (lost %d, unexpected %d), dlq %d/%d (missing %d, wrong reason %d, duplicates %d), vectors %d checked (min cos %.6f), profiles %d/%d (bad %d, min cos %.6f)\n",
		passFail(v.Passed), v.StoredPoints, v.ExpectedPoints, v.Lost, v.Unexpected, v.DLQRecords, v.ExpectedDLQ, v.DLQMissing, v.DLQWrong, v.DLQDuplicate,
		v.VectorsChecked, v.MinVectorCos, v.StoredProfiles, v.ExpectedProfiles, v.ProfilesBad, v.MinProfileCos)
	if v.RetentionCutoff != nil {
		fmt.Fprintf(w, "retention: %d valid events before the last sweep's cutoff %s (the newest event's time minus %v) expired, as they must\n",
			v.Expired, v.RetentionCutoff.Format(time.RFC3339Nano), r.Scenario.Pipeline.Qdrant.Retention)
	}
	if r.Validity.Valid {
		fmt.Fprintf(w, "validity: valid (send delay p99 %.2f ms, %.3f%% late, drift %.1f%%)\n", r.Validity.SendDelayP99MS, 100*r.Validity.LateFraction, 100*r.Validity.ThroughputDrift)
		if h := r.Validity.Host; h != nil {
			fmt.Fprintln(w, hostFacts(h, false))
		}
	} else {
		fmt.Fprintf(w, "validity: INVALID — %s\n", strings.Join(r.Validity.Reasons, "; "))
	}
	for _, g := range r.Gates {
		fmt.Fprintf(w, "gate %-20s %s  actual %s %s, limit %s %s\n", g.Name, passFail(g.Passed), num(g.Actual), g.Unit, num(g.Limit), g.Unit)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	verdict, _ := r.Verdict()
	fmt.Fprintf(w, "result: %s\n", verdict)
}

// achievedText is how the summary and the progress lines state the achieved rate:
// events committed per second after the warm-up (Throughput.AchievedEPS, commitRate),
// so that the last progress line and the summary read the same.
func achievedText(eps float64) string {
	return fmt.Sprintf("achieved %.0f/s after warm-up", eps)
}

// countsScope says what a run's totals cover: the whole run, and whether that
// includes a warm-up.
func countsScope(r *Result) string {
	if r.Scenario.Warmup <= 0 {
		return "whole run, no warm-up"
	}
	return fmt.Sprintf("whole run, %v warm-up included", r.Scenario.Warmup)
}

// withWarmup prints a total and the part of it that belongs to the warm-up.
func withWarmup(total, warmup int64) string {
	if warmup == 0 {
		return strconv.FormatInt(total, 10)
	}
	return fmt.Sprintf("%d (of which warm-up %d)", total, warmup)
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

// num prints a gate value readably: whole numbers above 100 without decimals or
// exponents, small ones with four significant digits.
func num(v float64) string {
	if v >= 100 || v <= -100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
