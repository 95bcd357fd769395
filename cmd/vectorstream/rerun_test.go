package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// committedRuns are the run folders of every result.json committed under results/
// (sweep sub-runs included), relative to the repository root; the test skips without
// git or the repository.
func committedRuns(t *testing.T) (root string, runs []string) {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not found: the committed results are listed with git ls-files")
	}
	cmd := exec.CommandContext(t.Context(), git, "rev-parse", "--show-toplevel")
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("not in a git checkout (%v): no committed results to list", err)
	}
	root = strings.TrimSpace(string(out))
	cmd = exec.CommandContext(t.Context(), git, "ls-files", "results/**/result.json")
	cmd.Dir = root
	if out, err = cmd.Output(); err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Fields(string(out)) {
		runs = append(runs, filepath.Dir(f))
	}
	if len(runs) == 0 {
		t.Skip("no result.json committed under results/")
	}
	return root, runs
}

// emptyDir fails the test when dir holds anything: a dry run writes nothing.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("a dry run wrote %s", filepath.Join(dir, e.Name()))
	}
}

// Every committed run is re-runnable: its recorded scenario, of whatever schema
// version, loads, migrates and validates, as `bench --rerun DIR --dry-run` does it.
func TestEveryCommittedRunReruns(t *testing.T) {
	root, runs := committedRuns(t)
	results := t.TempDir()
	for _, run := range runs {
		t.Run(run, func(t *testing.T) {
			if code := Execute([]string{"bench", "--rerun", filepath.Join(root, run), "--dry-run", "--results", results}); code != exitcode.OK {
				t.Errorf("vectorstream bench --rerun %s --dry-run: exit %d, want 0", run, code)
			}
		})
	}
	emptyDir(t, results)
}

// The real command, once: the binary (this test binary standing in for it, see
// TestMain) says in one line what would run and exits 0, writing nothing.
func TestBenchDryRunThroughTheBinary(t *testing.T) {
	root, runs := committedRuns(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	results := t.TempDir()
	var run string
	for _, r := range runs {
		if strings.HasPrefix(r, "results/seed-baseline/") {
			run = r
		}
	}
	if run == "" {
		run = runs[0]
	}
	cmd := exec.CommandContext(t.Context(), self, "bench", "--rerun", run, "--dry-run", "--results", results)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "VECTORSTREAM_TEST_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("vectorstream bench --rerun %s --dry-run: %v\n%s%s", run, err, stdout.String(), stderr.String())
	}
	name := strings.Split(run, "/")[1]
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "dry run: would run "+name+": ") || !strings.Contains(lines[0], filepath.Join(results, name)) {
		t.Errorf("stdout %q: want one line saying what would run and where its results would go", stdout.String())
	}
	emptyDir(t, results)
}

// --dry-run checks no prerequisite: unreachable brokers, no Docker and no GPU still
// exit 0. What cannot be run is refused as without it.
func TestBenchDryRunChecksOnlyTheScenario(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "results")
	if err := os.Mkdir(results, 0o755); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer")
	if err := os.Mkdir(newer, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(newer, "result.json"), []byte(`{"schema_version": 1, "run_id": "x", "scenario": {"schema_version": 99, "name": "x"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"testdata/tiny.yaml"}, exitcode.OK},
		{[]string{"--set", "infra.mode=external", "--set", "infra.brokers=[127.0.0.1:1]", "--set", "infra.qdrant_addr=127.0.0.1:2", "testdata/tiny.yaml"}, exitcode.OK},
		{[]string{"--set", "infra.mode=containers", "--set", "embedding.backend=cuda", "testdata/tiny.yaml"}, exitcode.OK},
		{[]string{"--set", "load.rate=-1", "testdata/tiny.yaml"}, exitcode.Config},
		{[]string{"--run-id", "../x", "testdata/tiny.yaml"}, exitcode.Config},
		{[]string{"--rerun", filepath.Join(dir, "no-such-run")}, exitcode.Config},
		{[]string{"--rerun", newer}, exitcode.Config},
	} {
		args := append([]string{"bench", "--dry-run", "--quiet", "--results", results}, tc.args...)
		if got := Execute(args); got != tc.want {
			t.Errorf("vectorstream %v: exit %d, want %d", args, got, tc.want)
		}
	}
	emptyDir(t, results)
}
