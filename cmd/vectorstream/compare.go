package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/reports"
)

// runCompare prints the key figures of runs side by side against the first and writes
// compare.html with overlaid plots. Each argument is a run folder, a result.json, or a
// series folder (repeats become one run with their spread and significance).
func runCompare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	out := fs.String("out", "", "folder for compare.html and its plots (default results/compare/<timestamp>)")
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	if fs.NArg() == 0 {
		return usageErr("compare takes one or more run folders, result.json files or series folders; the first is the baseline")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	runs, err := reports.LoadRuns(fs.Args())
	if err != nil {
		return exitcode.WithIfNone(err, exitcode.Config) // the folders given are not runs
	}
	c, err := reports.Compare(runs)
	if err != nil {
		return err
	}
	if err := c.WriteTable(os.Stdout); err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("results", "compare", time.Now().UTC().Format("20060102T150405Z"))
	}
	if err := reports.WriteCompareHTML(dir, c); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "\nwrote %s\n", filepath.Join(dir, reports.CompareHTML))
	return nil
}
