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

// `backup replay` writes nothing in the working directory or the cache directory, and
// on an error prints the error alone: no spool is "no spool at" the default directory
// (exit 2, nothing created), and an existing spool with Qdrant unreachable is exit 3
// with no "replayed" line.
func TestBackupReplayLeavesNoState(t *testing.T) {
	config, err := filepath.Abs("../../configs/app_config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spool := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		want   int
		stderr string
	}{
		{"default spool missing", nil, exitcode.Config, filepath.Join("vectorstream", "spool", "vectorstream-pipeline")},
		{"qdrant unreachable", []string{"--spool-dir", spool}, exitcode.Unreachable, "backup replay: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cwd, cache := t.TempDir(), t.TempDir()
			args := append([]string{"backup", "replay", "--config", config, "--dim", "16", "--qdrant", "127.0.0.1:2"}, tc.args...)
			code, stdout, stderr := runSelf(t, cwd, cache, args...)
			if code != tc.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing: an error is reported alone", stdout)
			}
			if !strings.Contains(stderr, tc.stderr) || strings.Contains(stderr, "replayed") {
				t.Errorf("stderr %q: want %q in it and no \"replayed\"", stderr, tc.stderr)
			}
			assertEmptyDir(t, cwd)
			assertEmptyDir(t, cache)
		})
	}
}

// runSelf runs the test binary as vectorstream in cwd, with cache as the user cache
// directory, and returns its exit code and output.
func runSelf(t *testing.T, cwd, cache string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], args...)
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), "VECTORSTREAM_TEST_MAIN=1", "XDG_CACHE_HOME="+cache)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) > 0 {
		t.Errorf("%s holds %v, want it left empty", dir, names)
	}
}
