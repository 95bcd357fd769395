//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBudget bounds TestREADME as a whole (build included) on a 2-core machine.
const readmeBudget = 3 * time.Minute

// readmeBenchEnv is what TestREADME puts before every bench command of a block (a
// line that starts with `bin/vectorstream bench` or `make bench`), as variable
// assignments for that command alone. Each is a real setting a user could set:
// VECTORSTREAM_<PATH> overrides that scenario field (README "Precedence of
// settings"), and a --set in the README's command still wins over it. Other commands
// (validate, for one) see the scenarios as they are.
var readmeBenchEnv = []string{
	// A few seconds per bench instead of the scenarios' 20-40 s.
	"VECTORSTREAM_WARMUP=1s",
	"VECTORSTREAM_DURATION=5s",
	// Validity and gate limits as loose as testdata/tiny.yaml's: the test runs beside
	// other packages' tests (make test, under the race detector), and whether a machine
	// meets the performance gate is .ci/run's ci-gate check, not this test's.
	// Verification (nothing lost, nothing duplicated) is not loosened: it still fails a
	// run with exit 4.
	"VECTORSTREAM_VALIDITY_MAX_SEND_DELAY_P99=2s",
	"VECTORSTREAM_VALIDITY_LATE_THRESHOLD=2s",
	"VECTORSTREAM_VALIDITY_MAX_THROUGHPUT_DRIFT=10",
	"VECTORSTREAM_GATES_MIN_THROUGHPUT_EPS=0",
	"VECTORSTREAM_GATES_MIN_ACHIEVED_RATIO=0.5",
}

// readmePrelude runs before every block's own lines. It stops at the first failing
// command, stops every service the block started with `&` however the block ends,
// and lets `make` skip its build recipes (make -o build -o engine-optional):
// bin/vectorstream is the binary TestREADME built, and the working directory holds
// no Go or Rust sources, so its bench runs on the Go stand-in for Qdrant (.ci/run
// gates ci-gate on the engine server).
const readmePrelude = `set -eo pipefail
trap 'st=$?; set +e; kill $(jobs -p) 2>/dev/null; wait; exit $st' EXIT
make() { command make -o build -o engine-optional "$@"; }
readme_newest() {
	local d
	d=$(ls -1td -- "$1"/*/ 2>/dev/null | head -n 1)
	if [ -z "$d" ]; then echo "TestREADME: no run folder under $1 for the README's placeholder" >&2; return 1; fi
	printf '%s\n' "${d%/}"
}
set -x
`

// readmeBench matches the first line of a bench command.
var readmeBench = regexp.MustCompile(`^\s*(bin/vectorstream|make) bench\b`)

// readmePlaceholder is a run folder the README leaves to the reader, such as
// results/smoke/<run-id>: TestREADME substitutes the newest run folder of that
// scenario, which an earlier command of the same block wrote.
var readmePlaceholder = regexp.MustCompile(`results/([A-Za-z0-9._-]+)/<[A-Za-z0-9_-]+>`)

// readmeUnresolved is any other <placeholder> left in a block that TestREADME runs.
var readmeUnresolved = regexp.MustCompile(`<[A-Za-z][A-Za-z0-9_-]*>`)

// readmeCopied are what the README's commands read from the repository; they are
// copied into each block's working directory (nothing there is written back).
var readmeCopied = []string{"Makefile", "scenarios", "configs"}

// TestREADME runs README.md's shell blocks. Every ```sh block is tagged on its fence
// line: "sh test" blocks run here, "sh manual: <reason>" blocks do not, and a block
// with neither fails the test, so a new block has to say which it is. Each test block
// runs with bash in a working directory of its own holding bin/vectorstream (built
// here), the Makefile, scenarios/ and configs/, with readmeBenchEnv before each bench
// command and its placeholders resolved (readmePlaceholder). It must leave only
// results/ behind.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the README's commands (about a minute); not with -short")
	}
	src, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseREADME(string(src))
	if err != nil {
		t.Fatal(err)
	}
	var runnable []readmeBlock
	for _, b := range blocks {
		if b.tag == "test" {
			runnable = append(runnable, b)
		}
	}
	if len(runnable) == 0 {
		t.Fatal("README.md has no ```sh test block")
	}
	ctx, cancel := context.WithTimeout(t.Context(), readmeBudget)
	defer cancel()
	bin := buildBinary(ctx, t)
	for _, b := range runnable {
		t.Run(fmt.Sprintf("line-%d", b.line), func(t *testing.T) {
			dir := readmeWorkdir(t, bin)
			script, err := b.script()
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			out, err := runBash(ctx, dir, t.TempDir(), script)
			t.Logf("README.md:%d ran in %v", b.line, time.Since(start).Round(100*time.Millisecond))
			if err != nil {
				t.Fatalf("README.md:%d: %v\n%s", b.line, err, out)
			}
			if extra := strayEntries(t, dir); len(extra) > 0 {
				t.Errorf("README.md:%d left %v in the working directory (temporary state belongs under the run's folder or the user's cache directory)", b.line, extra)
			}
		})
	}
}

// TestParseREADME: tags are read from the fence line, and an untagged or wrongly
// tagged shell block is refused with its line number.
func TestParseREADME(t *testing.T) {
	t.Parallel()
	good := "# x\n\n```sh test\nbin/vectorstream validate a.yaml\n```\n\n```go\nfunc f() {}\n```\n\n```sh manual: needs a GPU\nmake cuda-check\n```\n"
	blocks, err := parseREADME(good)
	if err != nil {
		t.Fatal(err)
	}
	want := []readmeBlock{
		{line: 3, tag: "test", body: "bin/vectorstream validate a.yaml\n"},
		{line: 11, tag: "manual", reason: "needs a GPU", body: "make cuda-check\n"},
	}
	if fmt.Sprint(blocks) != fmt.Sprint(want) {
		t.Errorf("blocks %+v, want %+v", blocks, want)
	}
	for _, tc := range []struct{ src, want string }{
		{"a\n```sh\nmake bench\n```\n", "README.md:2: "},
		{"```bash\nmake bench\n```\n", "README.md:1: "},
		{"```sh manual\nmake bench\n```\n", "README.md:1: "},
		{"```sh manual:\nmake bench\n```\n", "README.md:1: "},
		{"```sh tested\nmake bench\n```\n", "README.md:1: "},
		{"```sh test\nmake bench\n", "README.md:1: "},
	} {
		if _, err := parseREADME(tc.src); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("parseREADME(%q): %v, want an error starting %q", tc.src, err, tc.want)
		}
	}
	env := strings.Join(readmeBenchEnv, " ") + " "
	b := readmeBlock{tag: "test", body: "make bench SCENARIO=x.yaml\nbin/vectorstream bench --set a=1 \\\n  bin/vectorstream bench x.yaml\nbin/vectorstream validate x.yaml\nbin/vectorstream report results/smoke/<run-id>\n"}
	s, err := b.script()
	wantScript := env + "make bench SCENARIO=x.yaml\n" + env + "bin/vectorstream bench --set a=1 \\\n  bin/vectorstream bench x.yaml\nbin/vectorstream validate x.yaml\n" +
		`bin/vectorstream report "$(readme_newest results/smoke)"` + "\n"
	if err != nil || !strings.HasSuffix(s, wantScript) {
		t.Errorf("script: %v\n%s\nwant it to end with\n%s", err, s, wantScript)
	}
	b.body = "bin/vectorstream report <somewhere>\n"
	if _, err := b.script(); err == nil {
		t.Error("an unresolvable placeholder was accepted")
	}
}

// readmeBlock is one fenced shell block of README.md.
type readmeBlock struct {
	line   int    // line number of the opening fence
	tag    string // "test" or "manual"
	reason string // why a manual block is not run
	body   string // the block's lines
}

// shellLangs are the info strings that mark a shell block.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}

// parseREADME returns the shell blocks of a Markdown document. A shell block's info
// string is "sh test" or "sh manual: <reason>"; any other shell block is an error.
func parseREADME(src string) ([]readmeBlock, error) {
	var (
		blocks []readmeBlock
		errs   []error
		cur    *readmeBlock // the shell block being read
		inCode bool         // inside any fenced block
		body   strings.Builder
	)
	sc := bufio.NewScanner(strings.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fence := strings.HasPrefix(strings.TrimSpace(line), "```")
		switch {
		case inCode && fence && strings.TrimSpace(line) == "```":
			if cur != nil {
				cur.body = body.String()
				blocks = append(blocks, *cur)
				cur = nil
			}
			inCode = false
		case inCode:
			if cur != nil {
				body.WriteString(line + "\n")
			}
		case fence:
			inCode = true
			info := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "```"))
			lang, tag, _ := strings.Cut(info, " ")
			if !shellLangs[lang] {
				continue
			}
			b, err := parseTag(n, strings.TrimSpace(tag))
			if err != nil {
				errs = append(errs, err)
			}
			cur = &b
			body.Reset()
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read README.md: %w", err)
	}
	if cur != nil {
		errs = append(errs, fmt.Errorf("README.md:%d: the block is never closed", cur.line))
	}
	return blocks, errors.Join(errs...)
}

func parseTag(line int, tag string) (readmeBlock, error) {
	b := readmeBlock{line: line}
	reason, manual := strings.CutPrefix(tag, "manual:")
	switch {
	case tag == "test":
		b.tag = "test"
	case manual && strings.TrimSpace(reason) != "":
		b.tag, b.reason = "manual", strings.TrimSpace(reason)
	default:
		return b, fmt.Errorf("README.md:%d: a shell block needs a tag on its fence line: ```sh test (TestREADME runs it) or ```sh manual: <why it cannot run in a test>, got %q", line, tag)
	}
	return b, nil
}

// script is the bash script TestREADME runs for a test block: the prelude, then the
// block with readmeBenchEnv before each bench command and its placeholders resolved.
func (b readmeBlock) script() (string, error) {
	var body strings.Builder
	continued := false // the previous line ended in a backslash
	for line := range strings.Lines(b.body) {
		if !continued && readmeBench.MatchString(line) {
			body.WriteString(strings.Join(readmeBenchEnv, " ") + " ")
		}
		body.WriteString(line)
		continued = strings.HasSuffix(strings.TrimRight(line, "\n"), "\\")
	}
	s := readmePlaceholder.ReplaceAllString(body.String(), `"$$(readme_newest results/$1)"`)
	if p := readmeUnresolved.FindString(s); p != "" {
		return "", fmt.Errorf("README.md:%d: placeholder %s: TestREADME can resolve only results/<scenario>/<run> (the newest run of that scenario)", b.line, p)
	}
	return readmePrelude + s, nil
}

// buildBinary builds bin/vectorstream as `make build` does, into the test's temporary
// directory. The package directory is the one make builds, so the build cache applies.
func buildBinary(ctx context.Context, t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vectorstream")
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(100*time.Millisecond))
	return bin
}

// readmeWorkdir returns a fresh working directory for one block: bin/vectorstream
// (a link to bin) and copies of readmeCopied.
func readmeWorkdir(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(dir, "bin", "vectorstream")); err != nil {
		t.Fatal(err)
	}
	for _, name := range readmeCopied {
		src := filepath.Join("..", "..", name)
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() {
			err = os.CopyFS(filepath.Join(dir, name), os.DirFS(src))
		} else {
			var b []byte
			if b, err = os.ReadFile(src); err == nil {
				err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
			}
		}
		if err != nil {
			t.Fatalf("copy %s: %v", name, err)
		}
	}
	return dir
}

// strayEntries lists what a block left in its working directory beyond what it was
// given and the results/ folder the README says runs write.
func strayEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	given := map[string]bool{"bin": true, "results": true}
	for _, n := range readmeCopied {
		given[n] = true
	}
	var extra []string
	for _, e := range entries {
		if !given[e.Name()] {
			extra = append(extra, e.Name())
		}
	}
	return extra
}

// runBash runs script with bash in dir, with the environment a user's shell would
// have: no VECTORSTREAM_* variables of the test's own environment, no
// make variables of an enclosing `make test`, and cache as the user cache directory.
// The whole process group is killed when ctx ends.
func runBash(ctx context.Context, dir, cache, script string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "VECTORSTREAM_"), k == "MAKEFLAGS", k == "MFLAGS", k == "MAKELEVEL", k == "XDG_CACHE_HOME", k == "PWD":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	cmd.Env = append(cmd.Env, "XDG_CACHE_HOME="+cache)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (TestREADME's budget is %v): %w", ctx.Err(), readmeBudget, err)
	}
	return out.Bytes(), err
}
