package main

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vectorstream/vectorstream/internal/envvars"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

var updateREADME = flag.Bool("update-readme-env", false, "rewrite README.md's environment variable table from the code's")

const (
	envTableBegin = "<!-- env table: generated from internal/envvars and commands(); go test ./cmd/vectorstream -run TestREADMEEnvTable -update-readme-env -->\n"
	envTableEnd   = "<!-- end env table -->"
)

func TestEnvTableIsUsable(t *testing.T) {
	t.Parallel()
	if p := envTable().Problems(); len(p) > 0 {
		t.Errorf("the environment table: %s", strings.Join(p, "\n"))
	}
	tab := envTable()
	for _, tc := range []struct {
		command, name string
		want          bool
	}{
		{"bench", "VECTORSTREAM_LOAD_RATE", true},
		{"bench", "VECTORSTREAM_PIPELINE_BATCH_MAX_SIZE", true},
		{"bench", "VECTORSTREAM_BATCH_MAX_SIZE", false},
		{"pipeline", "VECTORSTREAM_BATCH_MAX_SIZE", true},
		{"pipeline", "VECTORSTREAM_LOAD_RATE", false},
		{"dlq", "VECTORSTREAM_VALIDATOR_MAX_PAST", true},
		{"backup", "VECTORSTREAM_SPOOL_DIR", true},
		{"validate", "VECTORSTREAM_SEED", true},
		{"load", "VECTORSTREAM_FAULT", true},
		{"infra", "VECTORSTREAM_TEST_MAIN", true},
		{"report", "VECTORSTREAM_LOAD_RATE", true},
		{"report", "VECTORSTREAM_LOAD_RAT", false},
	} {
		if got := tab.Known(tc.command, tc.name); got != tc.want {
			t.Errorf("%s accepts %s: %v, want %v", tc.command, tc.name, got, tc.want)
		}
	}
}

// README.md's table is the code's (envvars.Table.Markdown), between the markers.
func TestREADMEEnvTable(t *testing.T) {
	src, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(src)
	i := strings.Index(readme, envTableBegin)
	j := strings.Index(readme, envTableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers of the environment table:\n%s...\n%s", envTableBegin, envTableEnd)
	}
	have, want := readme[i+len(envTableBegin):j], envTable().Markdown()
	if have == want {
		return
	}
	if *updateREADME {
		if err := os.WriteFile("../../README.md", []byte(readme[:i+len(envTableBegin)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's environment table differs from the code's (rerun with -update-readme-env):\nhave:\n%s\nwant:\n%s", have, want)
}

// envNameRE is a whole VECTORSTREAM_* name as code, scripts and documents spell one.
var envNameRE = regexp.MustCompile(`VECTORSTREAM_[A-Z][A-Z0-9_]*[A-Z0-9]`)

// envScanSkipped are the files whose VECTORSTREAM_* names are made up on purpose
// (misspellings the tests must refuse), relative to the repository root.
var envScanSkipped = []string{"cmd/vectorstream/env_test.go", "internal/envvars/envvars_test.go"}

// envMisspelt are the misspellings a document shows on purpose, by file.
var envMisspelt = map[string][]string{"README.md": {"VECTORSTREAM_LOAD_RAT"}}

// Every VECTORSTREAM_* name the repository's code, tests, scripts, CI and documents use
// is in the table, so none of them sets a variable the binary refuses.
func TestEnvNamesInRepositoryAreKnown(t *testing.T) {
	t.Parallel()
	tab := envTable()
	known := func(n string) bool {
		for _, c := range commands() {
			if tab.Known(c.name, n) {
				return true
			}
		}
		return false
	}
	root := "../.."
	seen := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			// .cache is state, not source: the broker's jars, the Docker daemon's
			// files (network namespaces among them, which cannot be read).
			if rel == ".git" || rel == "bin" || rel == "results" || rel == ".cache" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if slices.Contains(envScanSkipped, filepath.ToSlash(rel)) || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			return nil // binary
		}
		for _, n := range envNameRE.FindAllString(string(b), -1) {
			seen++
			if !known(n) && !slices.Contains(envMisspelt[filepath.ToSlash(rel)], n) {
				t.Errorf("%s uses %s, which no command accepts (add it to internal/envvars or fix the name)", rel, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("found no VECTORSTREAM_* name in the repository: is the walk at its root?")
	}
}

// A VECTORSTREAM_* variable a command does not accept fails it with exit 2 before it
// does anything: validate passes on the same file without it.
func TestUnknownEnvVariableIsRefused(t *testing.T) {
	if code := Execute([]string{"validate", "testdata/tiny.yaml"}); code != exitcode.OK {
		t.Fatalf("validate: exit %d", code)
	}
	for _, tc := range []struct {
		command []string
		env     string
		want    string
	}{
		{[]string{"validate", "testdata/tiny.yaml"}, "VECTORSTREAM_LOAD_RAT", "VECTORSTREAM_LOAD_RAT is not a setting of validate; did you mean VECTORSTREAM_LOAD_RATE?"},
		{[]string{"validate", "testdata/tiny.yaml"}, "VECTORSTREAM_BATCH_MAX_SIZE", "did you mean VECTORSTREAM_PIPELINE_BATCH_MAX_SIZE?"},
		{[]string{"report", filepath.Join(t.TempDir(), "none")}, "VECTORSTREAM_WORKRES", "VECTORSTREAM_WORKRES is not a setting of any command; did you mean VECTORSTREAM_WORKERS?"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, "5")
			err := checkEnv(tc.command[0], os.Environ())
			if !strings.Contains(errString(err), tc.want) || exitcode.Of(err) != exitcode.Config {
				t.Errorf("checkEnv: %v (exit %d), want %q (exit 2)", err, exitcode.Of(err), tc.want)
			}
			if tc.command[0] != "validate" {
				return // report would fail on the missing folder as well
			}
			if code := Execute(tc.command); code != exitcode.Config {
				t.Errorf("%v with %s set: exit %d, want 2", tc.command, tc.env, code)
			}
		})
	}
	t.Setenv("VECTORSTREAM_LOAD_RATE", "5")
	if code := Execute([]string{"validate", "testdata/tiny.yaml"}); code != exitcode.OK {
		t.Errorf("validate with VECTORSTREAM_LOAD_RATE: exit %d", code)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// `vectorstream help env` lists every setting of every command and the reserved names.
func TestHelpEnvListsEveryName(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	envUsage(&b)
	out := b.String()
	tab := envTable()
	var names []string
	for _, c := range commands() {
		names = append(names, tab.Settings(c.name)...)
	}
	for _, r := range envvars.ReservedVars() {
		names = append(names, r.Name)
	}
	for _, n := range names {
		if !strings.Contains(out, "  "+n+"\n") && !strings.Contains(out, "  "+n+" ") {
			t.Errorf("help env lacks %s", n)
		}
	}
}

// A setting of bench stays with bench: its pipeline process, which refuses a scenario
// setting (exit 2), never sees it (childproc.Env), and the run passes.
func TestChildrenGetNoSettingsOfTheParent(t *testing.T) {
	t.Setenv("VECTORSTREAM_TEST_MAIN", "1")
	t.Setenv("VECTORSTREAM_SEED", "4")
	if err := checkEnv("pipeline", os.Environ()); err == nil {
		t.Fatal("a pipeline process would accept VECTORSTREAM_SEED: this test proves nothing")
	}
	results := t.TempDir()
	code := Execute([]string{"bench", "--quiet", "--results", results, "--run-id", "e1",
		"--set", "infra.pipeline_process=true", "testdata/tiny.yaml"})
	if code != exitcode.OK {
		t.Fatalf("bench with a pipeline process and VECTORSTREAM_SEED set: exit %d", code)
	}
}
