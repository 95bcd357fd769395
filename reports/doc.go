// Package reports draws what a run left behind: PNG plots made with gonum/plot and an
// HTML report per run folder, and compares runs.
//
// It reads harness result types (result.json and timeline.csv, through
// harness.ReadRunDir) and nothing else: it never runs anything, never talks to Kafka or
// Qdrant, and never reads the clock into what it draws, so the same result always gives
// the same images and the same HTML.
//
// The run report is WriteRunReport: throughput.png, latency_timeline.png,
// latency_percentiles.png, stage_breakdown.png, resources.png and efficiency.png beside
// report.html, which refers to them by relative path and loads nothing from elsewhere.
// Every plot over time shades the window of each injected fault (Band), and the report
// has a "Faults and recovery" section with each fault's RTO, the RPO and the spool.
// Each plot also has its own function (ThroughputPlot, LatencyPercentilesPlot, …), and
// the styling helpers (NewPlot, SavePNG, WritePNG, WriteGridPNG, LatencyAxis,
// PercentileAxis, Color) are exported so that other reports draw alike.
package reports
