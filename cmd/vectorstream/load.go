package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vectorstream/vectorstream/harness"
	"github.com/vectorstream/vectorstream/internal/childproc"
)

// loadFlags are the flags of `vectorstream load`; the harness builds the argv of a
// load part with childproc.LoadPartArgs.
type loadFlags struct {
	calibrate          *bool
	seconds            *time.Duration
	part, brokers, out *string
	startNS            *int64
	sets               stringsFlag
}

func newLoadFlags() (*flag.FlagSet, *loadFlags) {
	fs := flag.NewFlagSet(childproc.CmdLoad, flag.ContinueOnError)
	f := &loadFlags{
		calibrate: fs.Bool("calibrate", false, "measure the generator and the producer alone, at full speed"),
		seconds:   fs.Duration("for", 5*time.Second, "how long each calibration phase runs"),
		part:      fs.String(childproc.FlagPart, "", "k/M: send the events whose sequence number is k modulo M (one of M load generators)"),
		startNS:   fs.Int64(childproc.FlagStart, 0, "with --part: the schedule's start, Unix nanoseconds (shared by all parts)"),
		brokers:   fs.String(childproc.FlagBrokers, "", "with --part: Kafka bootstrap brokers, comma-separated"),
		out:       fs.String(childproc.FlagOut, "", "with --part: where to write the part's report (positions, send delays)"),
	}
	fs.Var(&f.sets, "set", "override a scenario field (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vectorstream load --calibrate scenario.yaml\n       vectorstream load --part k/M --start NS --brokers host:port --out file scenario.yaml   (started by bench for infra.load_processes)")
		fs.PrintDefaults()
	}
	return fs, f
}

func runLoad(ctx context.Context, args []string) error {
	fs, f := newLoadFlags()
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	if fs.NArg() != 1 || *f.calibrate == (*f.part != "") {
		fs.Usage()
		return usageErr("load takes one scenario file and either --calibrate or --part")
	}
	sc, err := harness.LoadScenario(fs.Arg(0), f.sets)
	if err != nil {
		return err
	}
	if *f.part != "" {
		k, m, err := childproc.ParsePart(*f.part)
		if err != nil || *f.startNS == 0 || *f.brokers == "" || *f.out == "" {
			return usageErr("--part k/M needs integers k and M, --start, --brokers and --out")
		}
		return harness.RunLoadPart(ctx, sc, harness.LoadPartSpec{Brokers: strings.Split(*f.brokers, ","), Part: int64(k), Parts: int64(m),
			Start: time.Unix(0, *f.startNS), Out: *f.out})
	}
	self, _ := os.Executable()
	c, err := harness.Calibrate(ctx, sc, self, *f.seconds)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "generator alone:          %10.0f events/s (one goroutine)\n", c.GenerateEPS)
	fmt.Fprintf(os.Stdout, "generator + producer:     %10.0f events/s to %s (%d events)\n", c.ProduceEPS, c.Kafka, c.Produced)
	fmt.Fprintln(os.Stdout, "Scenarios offering more than about half of these rates measure the harness, not the pipeline.")
	return nil
}
