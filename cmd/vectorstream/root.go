package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/vectorstream/vectorstream/harness"
)

// Exit codes, as documented in main.go and STYLE.md.
const (
	exitOK          = 0
	exitRunError    = 1
	exitConfig      = 2
	exitUnreachable = 3
	exitInvalid     = 4
	exitGateFailed  = 99
)

var errUsage = errors.New("usage")

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"bench", "run a scenario end to end and write results/<scenario>/<run-id>/", runBench},
		{"pipeline", "run the pipeline alone against running Kafka and Qdrant (app_config.yaml)", runPipeline},
		{"load", "offer a scenario's load to Kafka without a pipeline (--calibrate measures the harness's ceiling)", runLoad},
		{"dlq", "dlq inspect: count dead letters by reason with samples; dlq replay: re-validate and re-inject them", runDLQ},
		{"backup", "backup replay: write the pipeline's backup spool into Qdrant (the pipeline also does this by itself)", runBackup},
		{"infra", "infra serve: run the embedded Kafka and Qdrant stand-ins on loopback ports", runInfra},
		{"fit", "fit an embedding model on a scenario's catalog and save it", runFit},
		{"validate", "check scenario files without running them", runValidate},
		{"report", "redraw the plots and report.html of run folders (or a series) from their files", runReport},
		{"compare", "compare runs side by side (the first is the baseline) and write compare.html", runCompare},
		{"crossover", "from encode benchmark output, the batch size at which the GPU starts to win; writes crossover.html", runCrossover},
	}
}

// Execute runs the command line and returns the process exit code.
func Execute(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(os.Stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:])
			return exitCode(err)
		}
	}
	fmt.Fprintf(os.Stderr, "vectorstream: unknown command %q\n\n", args[0])
	usage(os.Stderr)
	return exitConfig
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: vectorstream <command> [flags] [args]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nexit codes: 0 passed, 1 run error, 2 bad configuration, 3 service unreachable, 4 run invalid, 99 gate failed")
}

// exitCode maps an error to the documented exit codes and prints it.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "vectorstream:", err)
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.Is(err, errUsage), errors.Is(err, harness.ErrConfig):
		return exitConfig
	case errors.Is(err, harness.ErrGate):
		return exitGateFailed
	case errors.Is(err, harness.ErrInvalid):
		return exitInvalid
	case errors.Is(err, harness.ErrUnreachable):
		return exitUnreachable
	case errors.As(err, &opErr), errors.As(err, &netErr), strings.Contains(err.Error(), "connection refused"):
		return exitUnreachable
	}
	return exitRunError
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

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}
