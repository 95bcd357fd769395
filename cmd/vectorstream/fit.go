package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vectorstream/vectorstream/harness"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

func runFit(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fit", flag.ContinueOnError)
	out := fs.String("o", "model.vsm", "where to write the model")
	var sets stringsFlag
	fs.Var(&sets, "set", "override a scenario field (repeatable)")
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	if fs.NArg() != 1 {
		return usageErr("fit takes exactly one scenario file")
	}
	sc, err := harness.LoadScenario(fs.Arg(0), sets)
	if err != nil {
		return err
	}
	start := time.Now()
	m, err := harness.FitModel(ctx, sc)
	if err != nil {
		return err
	}
	if err := m.Save(*out); err != nil {
		return fmt.Errorf("%w: -o: %w", exitcode.ErrConfig, err) // a path that cannot be written is the caller's
	}
	fmt.Fprintf(os.Stdout, "fitted %d-dimensional model, vocabulary %d, on %d products in %v: %s\n",
		m.Dim(), m.VocabSize(), sc.Workload.Products, time.Since(start).Round(time.Millisecond), *out)
	return nil
}

func runValidate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	var sets stringsFlag
	fs.Var(&sets, "set", "override a scenario field (repeatable)")
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	if fs.NArg() == 0 {
		return usageErr("validate takes one or more scenario files")
	}
	bad := 0
	for _, f := range fs.Args() {
		if _, err := harness.LoadScenario(f, sets); err != nil {
			fmt.Fprintln(os.Stderr, err) // printed here, once: the returned error only counts
			bad++
			continue
		}
		fmt.Fprintf(os.Stdout, "%s: ok\n", f)
	}
	if bad > 0 {
		return fmt.Errorf("%w: %d of %d scenario files are invalid", exitcode.ErrConfig, bad, fs.NArg())
	}
	return nil
}
