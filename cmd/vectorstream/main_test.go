package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/harness"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// TestMain lets the test binary stand in for vectorstream: a child started with
// VECTORSTREAM_TEST_MAIN=1 runs the command line instead of the tests, so tests can run
// the harness with the pipeline and the infrastructure in processes of their own.
func TestMain(m *testing.M) {
	if os.Getenv("VECTORSTREAM_TEST_MAIN") == "1" {
		os.Exit(Execute(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// Two pipeline processes share the consumer group and two load generator processes
// split the stream; their statistics are merged into one result, verified by identity.
func TestBenchWithPipelineAndInfraInTheirOwnProcesses(t *testing.T) {
	t.Setenv("VECTORSTREAM_TEST_MAIN", "1")
	results := t.TempDir()
	code := Execute([]string{"bench", "--quiet", "--results", results, "--run-id", "r1",
		"--set", "infra.process=true", "--set", "infra.pipeline_process=true", "--set", "infra.pipeline_processes=2", "--set", "infra.load_processes=2", "testdata/tiny.yaml"})
	if code != exitcode.OK {
		t.Fatalf("exit %d", code)
	}
	res, err := harness.ReadRunDir(filepath.Join(results, "tiny", "r1"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verification.Passed || res.Counts.Written != res.Counts.Valid || res.Latency["e2e"].Count == 0 {
		t.Errorf("verification %+v counts %+v", res.Verification, res.Counts)
	}
	notes := strings.Join(res.Notes, " ")
	if !strings.Contains(notes, "2 process(es)") || !strings.Contains(notes, "2 load generator processes") || res.Counts.Batches == 0 {
		t.Errorf("notes %v counts %+v: want two pipeline and two load processes, merged", res.Notes, res.Counts)
	}
	if !strings.Contains(res.Environment.Kafka, "vectorstream infra serve") {
		t.Errorf("kafka label %q does not say where it ran", res.Environment.Kafka)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("load:\n  kind: constant\n  rat: 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	neg := filepath.Join(dir, "neg.yaml")
	if err := os.WriteFile(neg, []byte("load:\n  kind: constant\n  rate: -100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Unreachable services within a second: a security file with timeout 1s, a model
	// for the pipeline, a port that is taken.
	sec := filepath.Join(dir, "security.yaml")
	if err := os.WriteFile(sec, []byte("timeout: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "tiny.vsm")
	if code := Execute([]string{"fit", "-o", model, "testdata/tiny.yaml"}); code != exitcode.OK {
		t.Fatalf("fit: exit %d", code)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"bench", "-h"}, exitcode.OK},
		{[]string{"pipeline", "--no-such-flag"}, exitcode.Config},
		{[]string{"report", filepath.Join(dir, "no-such-run")}, exitcode.Config},
		{[]string{"compare", filepath.Join(dir, "no-such-run"), filepath.Join(dir, "other")}, exitcode.Config},
		{[]string{"fit", "-o", filepath.Join(dir, "no-such-dir", "x.vsm"), "testdata/tiny.yaml"}, exitcode.Config},
		{[]string{"bench", "--set", "name=../x", "../../scenarios/smoke.yaml"}, exitcode.Config},
		{[]string{"bench", "--run-id", "../x", "../../scenarios/smoke.yaml"}, exitcode.Config},
		{[]string{"bench", "--set", "load.rate=", "../../scenarios/smoke.yaml"}, exitcode.Config},
		{[]string{"bench", bad}, exitcode.Config},
		{[]string{"bench", neg}, exitcode.Config},
		{[]string{"bench", "--set", "load.rate=-1", "../../scenarios/smoke.yaml"}, exitcode.Config},
		{[]string{"bench"}, exitcode.Config},
		{[]string{"nonsense"}, exitcode.Config},
		{[]string{"bench", "--quiet", "--results", dir, "--set", "infra.mode=external", "--set", "infra.brokers=[127.0.0.1:1]",
			"--set", "infra.qdrant_addr=127.0.0.1:2", "--set", "infra.timeout=1s", "testdata/tiny.yaml"}, exitcode.Unreachable},
		{[]string{"validate", "../../scenarios/smoke.yaml", "../../scenarios/ci-gate.yaml"}, exitcode.OK},
		{[]string{"validate", bad}, exitcode.Config},
		{[]string{"pipeline", "--model", filepath.Join(dir, "missing.vsm"), "--config", "../../configs/app_config.yaml"}, exitcode.Config},
		{[]string{"pipeline", "--model", "x", "--qdrant", "127.0.0.1:6333", "--config", "../../configs/app_config.yaml"}, exitcode.Config},
		{[]string{"pipeline", "--model", model, "--brokers", "127.0.0.1:1", "--qdrant", "127.0.0.1:2", "--security", sec, "--config", "../../configs/app_config.yaml"}, exitcode.Unreachable},
		{[]string{"dlq", "inspect", "--brokers", "127.0.0.1:1", "--security", sec}, exitcode.Unreachable},
		{[]string{"backup", "replay", "--config", "../../configs/app_config.yaml", "--dim", "16", "--qdrant", "127.0.0.1:2", "--spool-dir", t.TempDir()}, exitcode.Unreachable},
		{[]string{"infra", "serve", "--kafka", taken.Addr().String(), "--qdrant", "127.0.0.1:0"}, exitcode.Unreachable},
	} {
		if got := Execute(tc.args); got != tc.want {
			t.Errorf("vectorstream %v: exit %d, want %d", tc.args, got, tc.want)
		}
	}
	// Refused before any load, and nothing written: past the fixed caps, and within
	// them but more than the machine holds (the estimate; --force would override it).
	results := filepath.Join(dir, "refused")
	for _, set := range []string{"load.rate=1e12", "duration=87600h", "duration=100h"} {
		args := []string{"bench", "--quiet", "--results", results, "--set", "load.rate=1e7", "--set", set, "../../scenarios/smoke.yaml"}
		if got := Execute(args); got != exitcode.Config {
			t.Errorf("vectorstream %v: exit %d, want %d", args, got, exitcode.Config)
		}
		if _, err := os.Stat(results); !os.IsNotExist(err) {
			t.Errorf("vectorstream %v left %s behind (%v)", args, results, err)
		}
	}
}

// A valid run whose measurement cannot be trusted exits 4; a valid run that fails a
// gate exits 99.
func TestBenchExitCodesInvalidAndGate(t *testing.T) {
	for _, tc := range []struct {
		sets []string
		want int
	}{
		{[]string{"validity.late_threshold=1ns", "validity.max_late_fraction=0", "validity.max_send_delay_p99=1ns"}, exitcode.Invalid},
		{[]string{"gates.max_e2e_p99=1us"}, exitcode.GateFailed},
	} {
		args := []string{"bench", "--quiet", "--results", t.TempDir()}
		for _, s := range tc.sets {
			args = append(args, "--set", s)
		}
		if got := Execute(append(args, "testdata/tiny.yaml")); got != tc.want {
			t.Errorf("vectorstream %v: exit %d, want %d", args, got, tc.want)
		}
	}
}

func TestExitCodeMapping(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, exitcode.OK},
		{fmt.Errorf("x: %w", exitcode.ErrGate), exitcode.GateFailed},
		{fmt.Errorf("x: %w", exitcode.ErrInvalid), exitcode.Invalid},
		{fmt.Errorf("x: %w", exitcode.ErrConfig), exitcode.Config},
		{fmt.Errorf("x: %w", exitcode.ErrUnreachable), exitcode.Unreachable},
		{exitcode.With(errors.New("kafka: no broker answers"), exitcode.Unreachable), exitcode.Unreachable},
		{usageErr("--x"), exitcode.Config},
		{flagErr(errors.New("flag provided but not defined: -x")), exitcode.Config},
		{flagErr(flag.ErrHelp), exitcode.OK},
		// The class comes with the error, never from its text.
		{errors.New("dial tcp 127.0.0.1:9: connect: connection refused"), exitcode.RunError},
		{errors.New("boom"), exitcode.RunError},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestAppConfigOverlaysAndEnv(t *testing.T) {
	t.Setenv("VECTORSTREAM_WORKERS", "3")
	cfg, err := loadAppConfig("../../configs/app_config.yaml", []string{"../../configs/development.yaml"}, []string{"qdrant.upsert_batch=77"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Batch.Interval.String() != "200ms" || cfg.LogLevel != "debug" || cfg.Workers != 3 || cfg.Qdrant.UpsertBatch != 77 || cfg.Kafka.Topic != "raw_data" {
		t.Errorf("got %+v", cfg)
	}
	for _, f := range []string{"../../configs/production.yaml"} {
		if _, err := loadAppConfig("../../configs/app_config.yaml", []string{f}, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestBenchSweepWithRepeats(t *testing.T) {
	results := t.TempDir()
	code := Execute([]string{"bench", "--quiet", "--results", results, "--run-id", "s1", "testdata/tiny-sweep.yaml"})
	if code != exitcode.OK {
		t.Fatalf("exit %d", code)
	}
	s, runs, err := harness.ReadSeries(filepath.Join(results, "tiny-sweep", "s1"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Parameter != "gates.max_e2e_p50" || len(s.Points) != 2 || len(runs[0]) != 2 || len(runs[1]) != 2 {
		t.Fatalf("series %+v", s)
	}
	if s.Sustainable != 0 || !s.Points[0].Passed || s.Points[1].Passed {
		t.Errorf("sustainable %d, points %+v: want the first value only", s.Sustainable, s.Points)
	}
	if got := runs[1][0].Scenario.Gates.MaxE2EP50; got != time.Microsecond {
		t.Errorf("second point ran with max_e2e_p50 %v, want 1µs", got)
	}

	// A recorded run repeats exactly.
	code = Execute([]string{"bench", "--quiet", "--results", results, "--run-id", "again", "--rerun", filepath.Join(results, "tiny-sweep", "s1", s.Points[0].Runs[0], "result.json")})
	if code != exitcode.OK {
		t.Fatalf("rerun: exit %d", code)
	}
	again, err := harness.ReadRunDir(filepath.Join(results, "tiny-sweep", "again"))
	if err != nil {
		t.Fatal(err)
	}
	if again.Scenario.Seed != runs[0][0].Scenario.Seed || again.Counts.Produced != runs[0][0].Counts.Produced || again.Counts.Malformed != runs[0][0].Counts.Malformed {
		t.Errorf("rerun differs: seed %d vs %d, counts %+v vs %+v", again.Scenario.Seed, runs[0][0].Scenario.Seed, again.Counts, runs[0][0].Counts)
	}
}

// Every fault that needs no real broker, injected into a run whose services and
// pipeline run in their own processes: the run must verify (nothing lost, spool
// replayed), record each fault's window and recovery, and count the burst's dead letters.
func TestBenchFaults(t *testing.T) {
	t.Setenv("VECTORSTREAM_TEST_MAIN", "1")
	results := t.TempDir()
	code := Execute([]string{"bench", "--quiet", "--results", results, "--run-id", "f1", "testdata/tiny-faults.yaml"})
	res, err := harness.ReadRunDir(filepath.Join(results, "tiny-faults", "f1"))
	if err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	if code != exitcode.OK {
		t.Fatalf("exit %d: validity %+v verification %+v gates %+v faults %+v", code, res.Validity, res.Verification, res.Gates, res.Faults)
	}
	v := res.Verification
	if !v.Passed || v.RPO != 0 || v.SpoolPending != 0 || v.Replayed != v.Spooled {
		t.Errorf("verification %+v", v)
	}
	if len(res.Faults) != 5 {
		t.Fatalf("faults %+v, want 5", res.Faults)
	}
	// Both services were behind a fault proxy, whose cost was measured.
	if len(res.Proxies) != 2 {
		t.Fatalf("proxies %+v, want Kafka's and Qdrant's", res.Proxies)
	}
	for _, p := range res.Proxies {
		if p.Overhead.Samples == 0 || p.Overhead.ProxiedP50 <= 0 || p.Listen == p.Upstream {
			t.Errorf("proxy %+v", p)
		}
		if p.Service == "qdrant" && (p.RPCs == 0 || p.Failed == 0) {
			t.Errorf("qdrant proxy took %d RPCs and failed %d, want both > 0", p.RPCs, p.Failed)
		}
	}
	for _, f := range res.Faults {
		if f.Error != "" || !f.Recovered || f.EndS <= f.StartS && f.Kind != harness.FaultPipelineCrash {
			t.Errorf("fault %+v", f)
		}
	}
	// The burst makes about 40% of a second's 300 events malformed, against 2% elsewhere.
	if res.Counts.DeadLettered < 80 {
		t.Errorf("%d dead letters, want the burst's 100 or so among them", res.Counts.DeadLettered)
	}
	if c := res.Counts; c.BreakerOpens == 0 || c.Retries == 0 {
		t.Errorf("counters %+v: want retries and an opened breaker", c)
	}
}

func TestFlagsAfterPositionalArguments(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	out := fs.String("o", "", "")
	quiet := fs.Bool("quiet", false, "")
	var sets stringsFlag
	fs.Var(&sets, "set", "")
	args := []string{"a.yaml", "-o", "m.vsm", "b.yaml", "--quiet", "--set", "load.rate=5", "--set=x=1", "--", "-c"}
	if err := fs.Parse(interspersed(fs, args)); err != nil {
		t.Fatal(err)
	}
	if *out != "m.vsm" || !*quiet || len(sets) != 2 || !slices.Equal(fs.Args(), []string{"a.yaml", "b.yaml", "-c"}) {
		t.Errorf("o %q quiet %v sets %v args %q", *out, *quiet, sets, fs.Args())
	}
	model := filepath.Join(t.TempDir(), "m.vsm")
	if code := Execute([]string{"fit", "testdata/tiny.yaml", "-o", model}); code != exitcode.OK {
		t.Fatalf("fit FILE -o M: exit %d", code)
	}
	if _, err := os.Stat(model); err != nil {
		t.Errorf("fit FILE -o M wrote no model: %v", err)
	}
}
