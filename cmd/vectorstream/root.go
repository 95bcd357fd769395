package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vectorstream/vectorstream/internal/envvars"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
	// settings is the configuration whose VECTORSTREAM_<PATH> variables the command
	// reads (env.go); nil: it reads none (and accepts every command's, envvars.Table.Known).
	settings *envvars.Schema
}

func commands() []command {
	scenario, app := scenarioSettings(), appSettings()
	return []command{
		{"bench", "run a scenario end to end and write results/<scenario>/<run-id>/", runBench, scenario},
		{"pipeline", "run the pipeline alone against running Kafka and Qdrant (app_config.yaml)", runPipeline, app},
		{"load", "offer a scenario's load to Kafka without a pipeline (--calibrate measures the harness's ceiling)", runLoad, scenario},
		{"dlq", "dlq inspect: count dead letters by reason with samples; dlq replay: re-validate and re-inject them", runDLQ, app},
		{"backup", "backup replay: write the pipeline's backup spool into Qdrant (the pipeline also does this by itself)", runBackup, app},
		{"infra", "infra serve: run the embedded Kafka and Qdrant stand-ins on loopback ports", runInfra, nil},
		{"fit", "fit an embedding model on a scenario's catalog and save it", runFit, scenario},
		{"validate", "check scenario files without running them", runValidate, scenario},
		{"report", "redraw the plots and report.html of run folders (or a series) from their files", runReport, nil},
		{"healthcheck", "exit 0 when a URL answers 200 (a container health check: the pipeline image has no curl)", runHealthcheck, nil},
		{"compare", "compare runs side by side (the first is the baseline) and write compare.html", runCompare, nil},
		{"crossover", "from encode benchmark output, the batch size at which the GPU starts to win; writes crossover.html", runCrossover, nil},
	}
}

// Execute runs the command line and returns the process exit code.
func Execute(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 2 && args[0] == "help" && args[1] == "env" {
		envUsage(os.Stdout)
		return exitcode.OK
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout)
		return exitcode.OK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if err := checkEnv(c.name, os.Environ()); err != nil {
				return exitCode(err)
			}
			return exitCode(c.run(ctx, args[1:]))
		}
	}
	fmt.Fprintf(os.Stderr, "vectorstream: unknown command %q\n\n", args[0])
	usage(os.Stderr)
	return exitcode.Config
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: vectorstream <command> [flags] [args]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nVECTORSTREAM_* variables: `vectorstream help env` lists those each command reads; any other fails with exit 2")
	fmt.Fprintln(w, "\nexit codes: 0 passed, 1 run error, 2 bad configuration, 3 service unreachable, 4 run invalid, 75 injected fault (VECTORSTREAM_FAULT), 99 gate failed")
}

// exitCode prints err and returns the exit code it carries (internal/exitcode;
// README.md "Exit codes"). The class is set where the problem was found; nothing
// here looks at an error's text.
func exitCode(err error) int {
	code := exitcode.Of(err)
	if code != exitcode.OK {
		fmt.Fprintln(os.Stderr, "vectorstream:", err)
	}
	return code
}

// stringsFlag collects a repeatable flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// newLogger logs to stderr as text on a terminal and as JSON otherwise.
func newLogger(level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if isTerminal(os.Stderr) {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// isTerminal reports whether f is a character device and CI is not set: progress
// lines are for people watching, not for CI logs.
func isTerminal(f *os.File) bool {
	if os.Getenv("CI") != "" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// flagErr classes an error of flag.FlagSet.Parse: -h printed the usage (exit 0),
// anything else is a usage error.
func flagErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return exitcode.With(err, exitcode.OK)
	}
	return fmt.Errorf("%w: %w", exitcode.ErrUsage, err)
}

// usageErr returns a usage error (exit 2) with the message format and args make.
func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", exitcode.ErrUsage, fmt.Sprintf(format, args...))
}

// interspersed returns args with every flag (and its value) moved before the
// positional arguments, so that flags may follow them as a person types them:
// `fit scenarios/smoke.yaml -o model.vsm` parses as `fit -o model.vsm
// scenarios/smoke.yaml`. A "--" ends the flags; an unknown flag is left for fs.Parse
// to report, and so is a flag that wants a value and is the last argument: it stays
// last (the positionals are dropped, the parse fails anyway), where a "--" after it
// would be taken for its value.
func interspersed(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(append(append(flags, "--"), pos...), args[i+1:]...)
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 == len(args) {
			return flags
		}
		flags = append(flags, args[i+1])
		i++
	}
	if len(pos) == 0 {
		return flags
	}
	return append(append(flags, "--"), pos...)
}
