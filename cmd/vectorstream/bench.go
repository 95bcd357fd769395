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

// benchFlags are the flags of `vectorstream bench`.
type benchFlags struct {
	sets                                  stringsFlag
	resultsDir, runID, rerun, logLevel    *string
	pprof, quiet, recreate, force, dryRun *bool
}

func newBenchFlags() (*flag.FlagSet, *benchFlags) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	f := &benchFlags{
		resultsDir: fs.String("results", "results", "folder that receives <scenario>/<run-id>/"),
		runID:      fs.String("run-id", "", "name of the run folder (default: start time, UTC)"),
		rerun:      fs.String("rerun", "", "repeat a recorded run (its result.json or folder) with its exact scenario and seed"),
		pprof:      fs.Bool("pprof", false, "write cpu.pprof and heap.pprof of the run into its folder"),
		logLevel:   fs.String("log-level", "warn", "harness log level: debug, info, warn, error"),
		quiet:      fs.Bool("quiet", false, "no progress lines"),
		recreate:   fs.Bool("recreate", false, "external infra: delete existing topics and collections of the names the run uses (only pinned names can exist)"),
		force:      fs.Bool("force", false, "run even if the memory and disk estimate says the scenario does not fit this machine (the fixed caps still hold)"),
		dryRun:     fs.Bool("dry-run", false, "load, migrate and validate the scenario (or the --rerun's recorded one), say what would run, and exit; nothing is started or written"),
	}
	fs.Var(&f.sets, "set", "override a scenario field, e.g. --set load.rate=5000 (repeatable; beats VECTORSTREAM_* variables and the file)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: vectorstream bench [flags] scenario.yaml\n       vectorstream bench [flags] --rerun results/<scenario>/<run-id>\n       vectorstream bench --dry-run [flags] (scenario.yaml | --rerun results/<scenario>/<run-id>)")
		fs.PrintDefaults()
	}
	return fs, f
}

func runBench(ctx context.Context, args []string) error {
	fs, f := newBenchFlags()
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		return flagErr(err)
	}
	sets, runID, logLevel := f.sets, f.runID, f.logLevel
	sc, err := benchScenario(fs, *f.rerun, sets)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErr("--log-level: %v", err)
	}
	log := newLogger(level)
	if *runID, err = runName(*runID); err != nil {
		return err
	}
	dir := filepath.Join(*f.resultsDir, sc.Name, *runID)
	if *f.dryRun {
		// Nothing past this point runs: no prerequisite (broker, Docker, GPU, machine
		// fit) is checked, no folder written, no service started.
		fmt.Fprintf(os.Stdout, "dry run: would run %s; results in %s\n", describeRun(sc), dir)
		return nil
	}
	if !*f.force {
		// Before any load and before the run's folder: a scenario that cannot fit
		// leaves nothing behind.
		if err := harness.CheckFits(sc, sets); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results folder: %w", err)
	}
	opts, err := benchOptions(log, *runID, *f.recreate, *f.quiet)
	if err != nil {
		return err
	}
	opts.Dir = dir // the run's temporary state (the spool) lives in its folder

	// SIGHUP re-reads the scenario file and applies the pipeline settings that may
	// change live.
	var live atomic.Pointer[pipeline.Pipeline]
	opts.OnPipeline = live.Store
	if sc.File != "" {
		defer reloadOnSIGHUP(ctx, log, live.Load, reloadScenario(sc.File, sets, *runID))()
	}

	if *f.pprof {
		stop, err := startPprof(dir, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	fmt.Fprintf(os.Stderr, "vectorstream bench %s\n", describeRun(sc))

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

// reloadScenario re-reads a bench's scenario file for a SIGHUP: the pipeline
// settings of the run named runID.
func reloadScenario(file string, sets []string, runID string) func() (pipeline.Config, error) {
	return func() (pipeline.Config, error) {
		next, err := harness.LoadScenario(file, sets)
		if err != nil {
			return pipeline.Config{}, err
		}
		if next.Infra.Mode == "external" {
			harness.ScopeToRun(next, runID) // the names the run is using
		}
		return next.Pipeline, nil
	}
}

// runName checks a --run-id (it names a folder under results/), or makes one from
// the start time, UTC.
func runName(id string) (string, error) {
	if id == "" {
		return time.Now().UTC().Format("20060102T150405Z"), nil
	}
	if !harness.SafeName(id) {
		return "", usageErr("--run-id %q: a run name is 1 to 128 letters, digits, '.', '_', '-' or '=', not starting with '.'", id)
	}
	return id, nil
}

// benchScenario is the scenario bench runs: the file given, or the one recorded in a
// --rerun folder.
func benchScenario(fs *flag.FlagSet, rerun string, sets []string) (*harness.Scenario, error) {
	switch {
	case rerun != "" && fs.NArg() == 0:
		if len(sets) > 0 {
			return nil, usageErr("--rerun repeats a run exactly: it takes no --set")
		}
		return rerunScenario(rerun)
	case rerun == "" && fs.NArg() == 1:
		return harness.LoadScenario(fs.Arg(0), sets)
	}
	fs.Usage()
	return nil, usageErr("bench takes exactly one scenario file, or --rerun and no file")
}

// benchOptions are the harness options of a bench run: progress on stderr unless
// quiet (every 10 s off a terminal), and the VECTORSTREAM_FAULT crash point.
func benchOptions(log *slog.Logger, runID string, recreate, quiet bool) (harness.Options, error) {
	self, _ := os.Executable()
	opts := harness.Options{Log: log, RunID: runID, Self: self, Recreate: recreate}
	if !quiet {
		opts.Progress = os.Stderr
		opts.ProgressEvery = time.Second
		if !isTerminal(os.Stderr) {
			opts.ProgressEvery = 10 * time.Second // plain periodic lines in CI logs
		}
	}
	f, err := pipeline.ParseFault(os.Getenv("VECTORSTREAM_FAULT"))
	if err != nil {
		return opts, fmt.Errorf("%w: %w", exitcode.ErrConfig, err)
	}
	if f.Point != "" {
		f.Exit = os.Exit
		opts.PipelineOpts = append(opts.PipelineOpts, pipeline.WithFault(f))
	}
	return opts, nil
}

// startPprof starts the CPU profile into dir/cpu.pprof; stop ends it and writes
// dir/heap.pprof.
func startPprof(dir string, log *slog.Logger) (stop func(), err error) {
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("pprof: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		if err := writeHeapProfile(filepath.Join(dir, "heap.pprof")); err != nil {
			log.Warn("heap profile", "err", err)
		}
	}, nil
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

// describeRun says in one line what a bench of sc runs.
func describeRun(sc *harness.Scenario) string {
	var series string
	if sc.Sweep != nil {
		series = fmt.Sprintf(", sweep of %s over %d values", sc.Sweep.Parameter, len(sc.Sweep.Values))
	}
	if sc.Repeat > 1 {
		series += fmt.Sprintf(", %d runs each", sc.Repeat)
	}
	return fmt.Sprintf("%s: %s load at %s for %v (+%v warm-up), infra %s, embeddings %s%s",
		sc.Name, sc.Load.Kind, describeLoad(sc), sc.Duration, sc.Warmup, sc.Infra.Mode, sc.Embedding.Backend, series)
}

// rerunScenario returns the scenario a recorded run ran, exactly: the recorded one,
// migrated from its schema version to the current layout (harness.Scenario's
// UnmarshalJSON), then validated.
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
