package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vectorstream/vectorstream/harness"
)

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	calibrate := fs.Bool("calibrate", false, "measure the generator and the producer alone, at full speed")
	seconds := fs.Duration("for", 5*time.Second, "how long each calibration phase runs")
	var sets stringsFlag
	fs.Var(&sets, "set", "override a scenario field (repeatable)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() != 1 {
		return usageErr("load takes exactly one scenario file")
	}
	if !*calibrate {
		return usageErr("load without --calibrate is not available yet: use `vectorstream bench`")
	}
	sc, err := harness.LoadScenario(fs.Arg(0), sets)
	if err != nil {
		return err
	}
	self, _ := os.Executable()
	c, err := harness.Calibrate(ctx, sc, self, *seconds)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "generator alone:          %10.0f events/s (one goroutine)\n", c.GenerateEPS)
	fmt.Fprintf(os.Stdout, "generator + producer:     %10.0f events/s to %s (%d events)\n", c.ProduceEPS, c.Kafka, c.Produced)
	fmt.Fprintln(os.Stdout, "Scenarios offering more than about half of these rates measure the harness, not the pipeline.")
	return nil
}
