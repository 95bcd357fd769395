package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vectorstream/vectorstream/internal/exitcode"
	"github.com/vectorstream/vectorstream/reports"
)

func TestCrossoverCommand(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := crossover(t.Context(), []string{"-o", dir, "--title", "t", "../../reports/testdata/crossover/bench-encode.txt"}, strings.NewReader(""), &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dim 64: GPU wins from batch 4096 (x9.1 at 262144)\n", "dim 512: CPU never measured\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, f := range []string{reports.CrossoverHTML, reports.CrossoverPNG} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestCrossoverCommandStdinAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	in := "BenchmarkEncodeCPU/dim=8/cpu-256-2 1 1 ns/op 10 events/s\nBenchmarkEncodeCUDA/dim=8/cuda-256-2 1 1 ns/op 5 events/s\n"
	if err := crossover(t.Context(), []string{"-o", dir, "-"}, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "dim 8: GPU never wins in the measured range (best x0.5 at 256)\n") {
		t.Errorf("output %q", out.String())
	}
	if code := Execute([]string{"crossover"}); code != exitcode.Config {
		t.Errorf("no files: exit %d, want %d", code, exitcode.Config)
	}
	if code := Execute([]string{"crossover", "-o", dir, filepath.Join(dir, "missing.txt")}); code != exitcode.Config {
		t.Errorf("missing file: exit %d, want %d", code, exitcode.Config)
	}
}
