package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vectorstream/vectorstream/harness"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/pipeline"
)

func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var sets stringsFlag
	fs.Var(&sets, "set", "override a scenario field, e.g. --set load.rate=5000 (repeatable; beats VECTORSTREAM_* variables and the file)")
	resultsDir := fs.String("results", "results", "folder that receives <scenario>/<run-id>/")
	runID := fs.String("run-id", "", "name of the run folder (default: start time, UTC)")
	rerun := fs.String("rerun", "", "repeat a recorded run (its result.json or folder) with its exact scenario and seed")
	doPprof := fs.Bool("pprof", false, "write cpu.pprof and heap.pprof of the run into its folder")
	logLevel := fs.String("log-level", "warn", "harness log level: debug, info, warn, error")
	quiet := fs.Bool("quiet", false, "no progress lines")
	recreate := fs.Bool("recreate", false, "external infra: delete existing topics and collections of the names the run uses (only pinned names can exist)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vectorstream bench [flags] scenario.yaml\n       vectorstream bench [flags] --rerun results/<scenario>/<run-id>")
		fs.PrintDefaults()
	}
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	var sc *harness.Scenario
	switch {
	case *rerun != "" && fs.NArg() == 0:
		if len(sets) > 0 {
			return usageErr("--rerun repeats a run exactly: it takes no --set")
		}
		s, err := rerunScenario(*rerun)
		if err != nil {
			return err
		}
		sc = s
	case *rerun == "" && fs.NArg() == 1:
		s, err := harness.LoadScenario(fs.Arg(0), sets)
		if err != nil {
			return err
		}
		sc = s
	default:
		fs.Usage()
		return usageErr("bench takes exactly one scenario file, or --rerun and no file")
	}
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErr("--log-level: %v", err)
	}
	log := newLogger(level)
	if *runID != "" && !harness.SafeName(*runID) {
		return usageErr("--run-id %q: a run name is 1 to 128 letters, digits, '.', '_', '-' or '=', not starting with '.'", *runID)
	}
	if *runID == "" {
		*runID = time.Now().UTC().Format("20060102T150405Z")
	}
	dir := filepath.Join(*resultsDir, sc.Name, *runID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	self, _ := os.Executable()
	opts := harness.Options{Log: log, RunID: *runID, Self: self, Recreate: *recreate}
	if !*quiet {
		opts.Progress = os.Stderr
		opts.ProgressEvery = time.Second
		if !isTerminal(os.Stderr) {
			opts.ProgressEvery = 10 * time.Second // plain periodic lines in CI logs
		}
	}
	if f, err := pipeline.ParseFault(os.Getenv("VECTORSTREAM_FAULT")); err != nil {
		return fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
	} else if f.Point != "" {
		f.Exit = os.Exit
		opts.PipelineOpts = append(opts.PipelineOpts, pipeline.WithFault(f))
	}

	// SIGHUP re-reads the scenario file and applies the pipeline settings that may
	// change live.
	var live atomic.Pointer[pipeline.Pipeline]
	opts.OnPipeline = live.Store
	if sc.File != "" {
		defer reloadOnSIGHUP(ctx, log, live.Load, func() (pipeline.Config, error) {
			next, err := harness.LoadScenario(sc.File, sets)
			if err != nil {
				return pipeline.Config{}, err
			}
			if next.Infra.Mode == "external" {
				harness.ScopeToRun(next, *runID) // the names the run is using
			}
			return next.Pipeline, nil
		})()
	}

	if *doPprof {
		f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
		if err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
			if err := writeHeapProfile(filepath.Join(dir, "heap.pprof")); err != nil {
				log.Warn("heap profile", "err", err)
			}
		}()
	}
	fmt.Fprintf(os.Stderr, "vectorstream bench %s: %s load at %s for %v (+%v warm-up), infra %s, embeddings %s\n",
		sc.Name, sc.Load.Kind, describeLoad(sc), sc.Duration, sc.Warmup, sc.Infra.Mode, sc.Embedding.Backend)

	if sc.Sweep != nil || sc.Repeat > 1 {
		return benchSeries(ctx, sc, sets, dir, opts)
	}
	res, runErr := harness.Run(ctx, sc, opts)
	if res == nil {
		_ = os.Remove(dir) // nothing was measured; leave no empty folder behind
		return runErr
	}
	if err := finishRun(res, dir); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

// finishRun writes a run's folder, its report, and prints its summary.
func finishRun(res *harness.Result, dir string) error {
	if err := res.WriteRunDir(dir); err != nil {
		return err
	}
	harness.PrintSummary(os.Stdout, res)
	if err := writeReport(dir, res); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "results: %s\n", dir)
	return nil
}

func benchSeries(ctx context.Context, sc *harness.Scenario, sets []string, dir string, opts harness.Options) error {
	s, err := harness.RunSeries(ctx, sc, dir, harness.SeriesOptions{Options: opts, Sets: sets,
		AfterRun: func(res *harness.Result, runDir string) error {
			harness.PrintSummary(os.Stdout, res)
			return writeReport(runDir, res)
		}})
	if len(s.Points) > 0 {
		if rerr := writeSeriesReport(dir); rerr != nil {
			return errors.Join(err, rerr)
		}
		fmt.Fprintln(os.Stdout)
		for i, p := range s.Points {
			mark := ""
			if i == s.Sustainable {
				mark = "  ← sustainable"
			}
			fmt.Fprintf(os.Stdout, "%s %-10s %d run(s)  %s%s\n", s.Parameter, p.Value, len(p.Runs), map[bool]string{true: "passed", false: "FAILED"}[p.Passed], mark)
		}
		fmt.Fprintf(os.Stdout, "results: %s\n", dir)
	}
	return err
}

// rerunScenario returns the scenario a recorded run ran, exactly.
func rerunScenario(path string) (*harness.Scenario, error) {
	dir := path
	if strings.HasSuffix(path, ".json") {
		dir = filepath.Dir(path)
	}
	res, err := harness.ReadRunDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: --rerun: %w", exitcode.ErrConfig, err)
	}
	sc := res.Scenario
	sc.File = ""
	sc.Repeat, sc.Sweep = 0, nil // a recorded run is one run, even if it was one of a series
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: --rerun %s: the recorded scenario: %w", exitcode.ErrConfig, path, err)
	}
	return &sc, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}

func describeLoad(sc *harness.Scenario) string {
	l := sc.Load
	switch l.Kind {
	case "ramp":
		return fmt.Sprintf("%.0f→%.0f events/s", l.From, l.To)
	case "step":
		return fmt.Sprintf("%d steps", len(l.Steps))
	case "spike":
		return fmt.Sprintf("%.0f events/s with a spike to %.0f", l.Rate, l.SpikeRate)
	}
	return fmt.Sprintf("%.0f events/s", l.Rate)
}
