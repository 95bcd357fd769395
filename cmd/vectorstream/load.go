package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vectorstream/vectorstream/harness"
)

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	calibrate := fs.Bool("calibrate", false, "measure the generator and the producer alone, at full speed")
	seconds := fs.Duration("for", 5*time.Second, "how long each calibration phase runs")
	part := fs.String("part", "", "k/M: send the events whose sequence number is k modulo M (one of M load generators)")
	startNS := fs.Int64("start", 0, "with --part: the schedule's start, Unix nanoseconds (shared by all parts)")
	brokers := fs.String("brokers", "", "with --part: Kafka bootstrap brokers, comma-separated")
	out := fs.String("out", "", "with --part: where to write the part's report (positions, send delays)")
	var sets stringsFlag
	fs.Var(&sets, "set", "override a scenario field (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vectorstream load --calibrate scenario.yaml\n       vectorstream load --part k/M --start NS --brokers host:port --out file scenario.yaml   (started by bench for infra.load_processes)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	if fs.NArg() != 1 || *calibrate == (*part != "") {
		fs.Usage()
		return usageErr("load takes one scenario file and either --calibrate or --part")
	}
	sc, err := harness.LoadScenario(fs.Arg(0), sets)
	if err != nil {
		return err
	}
	if *part != "" {
		ks, ms, ok := strings.Cut(*part, "/")
		k, err1 := strconv.ParseInt(ks, 10, 64)
		m, err2 := strconv.ParseInt(ms, 10, 64)
		if !ok || err1 != nil || err2 != nil || *startNS == 0 || *brokers == "" || *out == "" {
			return usageErr("--part k/M needs integers k and M, --start, --brokers and --out")
		}
		return harness.RunLoadPart(ctx, sc, strings.Split(*brokers, ","), k, m, time.Unix(0, *startNS), *out)
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
