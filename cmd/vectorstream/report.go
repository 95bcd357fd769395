package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vectorstream/vectorstream/harness"
	"github.com/vectorstream/vectorstream/reports"
)

// runReport regenerates report.html and the PNGs of run folders from their
// result.json and timeline.csv alone.
func runReport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	out := fs.String("o", "", "write the report into this folder instead of the run folder (one run only)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vectorstream report [-o dir] <run-dir, result.json or series dir>...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	if fs.NArg() == 0 {
		return usageErr("report takes one or more run folders (or their result.json)")
	}
	if *out != "" && fs.NArg() != 1 {
		return usageErr("report -o takes exactly one run folder")
	}
	var errs []error
	for _, arg := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		dir := arg
		if st, err := os.Stat(arg); err == nil && !st.IsDir() {
			dir = filepath.Dir(arg)
		}
		if _, err := os.Stat(filepath.Join(dir, harness.SeriesFile)); err == nil {
			// A sweep or repeats: redraw every run, then the series.
			s, runs, err := harness.ReadSeries(dir)
			if err == nil {
				for i, p := range s.Points {
					for j, r := range p.Runs {
						err = errors.Join(err, reports.WriteRunReport(filepath.Join(dir, r), runs[i][j]))
					}
				}
				err = errors.Join(err, reports.WriteSeriesReport(dir, s, runs))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("report: %s: %w", arg, err))
				continue
			}
			fmt.Fprintf(os.Stdout, "%s: %s\n", arg, filepath.Join(dir, "series.html"))
			continue
		}
		res, err := harness.ReadRunDir(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("report: %s: %w", arg, err))
			continue
		}
		dst := dir
		if *out != "" {
			dst = *out
		}
		if err := reports.WriteRunReport(dst, res); err != nil {
			errs = append(errs, fmt.Errorf("report: %s: %w", arg, err))
			continue
		}
		verdict, _ := reports.Verdict(res)
		fmt.Fprintf(os.Stdout, "%s: %s (%s)\n", arg, filepath.Join(dst, reports.ReportFile), verdict)
	}
	return errors.Join(errs...)
}
