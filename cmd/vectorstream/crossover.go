package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vectorstream/vectorstream/reports"
)

// runCrossover reads encode benchmark output (bench-encode.txt of
// deploy/cuda/device-run.sh, or go test -bench 'BenchmarkEncode(CPU|CUDA)$' output;
// "-" is standard input), prints per dim the batch size from which the GPU wins, and
// writes crossover.html and crossover.png.
func runCrossover(ctx context.Context, args []string) error {
	return crossover(ctx, args, os.Stdin, os.Stdout)
}

func crossover(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("crossover", flag.ContinueOnError)
	var out string
	fs.StringVar(&out, "o", "", "folder for crossover.html and crossover.png (default: the folder of the first file, or . for stdin)")
	fs.StringVar(&out, "out", "", "the same as -o")
	title := fs.String("title", "", "title of the plot and the page (default: a generic one)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vectorstream crossover [-o dir] [--title t] bench-encode.txt... (- for stdin)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	if fs.NArg() == 0 {
		return usageErr("crossover takes one or more files of encode benchmark output (- for stdin)")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, p := range fs.Args() {
		if p == "-" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return usageErr("crossover: %v", err)
		}
	}
	eb, err := reports.ReadEncodeBench(fs.Args(), stdin)
	if err != nil {
		return err
	}
	dir := out
	if dir == "" {
		dir = "."
		if first := fs.Arg(0); first != "-" {
			dir = filepath.Dir(first)
		}
	}
	for _, r := range reports.Crossover(eb) {
		fmt.Fprintln(stdout, r.Summary())
	}
	if err := reports.WriteCrossover(dir, eb, *title); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(dir, reports.CrossoverHTML))
	return nil
}
