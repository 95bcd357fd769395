package main

import (
	"fmt"

	"github.com/vectorstream/vectorstream/harness"
	"github.com/vectorstream/vectorstream/reports"
)

// writeReport draws a run's plots and report.html beside its result.json.
func writeReport(dir string, res *harness.Result) error {
	if err := reports.WriteRunReport(dir, res); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// writeSeriesReport draws a sweep's throughput–latency curve and series.html, from the
// run folders it lists.
func writeSeriesReport(dir string) error {
	s, runs, err := harness.ReadSeries(dir)
	if err != nil {
		return err
	}
	if err := reports.WriteSeriesReport(dir, s, runs); err != nil {
		return fmt.Errorf("series report: %w", err)
	}
	return nil
}
