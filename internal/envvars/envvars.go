package envvars

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vectorstream/vectorstream/internal/yamlconf"
)

// Prefix begins every variable of the table.
const Prefix = "VECTORSTREAM_"

// The child commands a reserved variable can be passed on to (childproc.CmdPipeline,
// CmdInfra and CmdLoad; childproc's tests keep them equal).
const (
	ChildPipeline = "pipeline"
	ChildInfra    = "infra"
	ChildLoad     = "load"
)

// Reserved is a VECTORSTREAM_* variable that is not a setting. Every command accepts
// it; only those named in ReadBy act on it.
type Reserved struct {
	// Name is the whole variable name.
	Name string
	// ReadBy says what reads it: commands of the binary, tests, or scripts.
	ReadBy string
	// Children are the child commands the harness passes it on to; the rest never
	// see it.
	Children []string
	// Purpose is one line saying what it is for.
	Purpose string
}

var reserved = []Reserved{
	{Name: "VECTORSTREAM_FAULT", ReadBy: "bench, pipeline", Children: []string{ChildPipeline},
		Purpose: "crash point `exit_after_upsert[:N]`, `exit_before_commit` or `exit_after_commit`: the pipeline exits 75 there (crash tests only)"},
	{Name: "VECTORSTREAM_TEST_MAIN", ReadBy: "tests of cmd/vectorstream", Children: []string{ChildInfra, ChildLoad, ChildPipeline},
		Purpose: "`1` makes the test binary run the command line instead of the tests, so it can start itself as the harness's child processes"},
	{Name: "VECTORSTREAM_QDRANT_ENGINE", ReadBy: "bench, infra serve, tests of infra and harness", Children: []string{ChildInfra},
		Purpose: "the Qdrant engine server's binary (`make engine` builds `bin/qdrant-engine`, which bench and infra serve also find beside `bin/vectorstream`); tests use the Go stand-in unless it is set, and `.ci/run` sets it"},
	{Name: "VECTORSTREAM_QDRANTFAKE_SOAK", ReadBy: "tests of infra/qdrantfake", Children: nil,
		Purpose: "a duration (e.g. `15m`) runs the opt-in soak of the Qdrant stand-in's disk store, which checks its RssAnon stays flat"},
	{Name: "VECTORSTREAM_KAFKA_BROKERS", ReadBy: "tests of pipeline, infra, cmd/vectorstream", Children: nil,
		Purpose: "a real broker the tests also run against; `deploy/kafka/up.sh` prints it and `.ci/run` exports it"},
	{Name: "VECTORSTREAM_KAFKA_PORT", ReadBy: "deploy/kafka", Children: nil,
		Purpose: "the broker's client (PLAINTEXT) port, default 9092"},
	{Name: "VECTORSTREAM_KAFKA_CONTROLLER_PORT", ReadBy: "deploy/kafka", Children: nil,
		Purpose: "the broker's KRaft controller port, default 9093"},
	{Name: "VECTORSTREAM_KAFKA_START_TIMEOUT", ReadBy: "deploy/kafka/up.sh", Children: nil,
		Purpose: "seconds to wait for the broker to answer, default 90"},
	{Name: "VECTORSTREAM_KAFKA_STOP_TIMEOUT", ReadBy: "deploy/kafka/down.sh", Children: nil,
		Purpose: "seconds to wait after SIGTERM, default 30"},
	{Name: "VECTORSTREAM_KAFKA_HEAP", ReadBy: "deploy/kafka/up.sh", Children: nil,
		Purpose: "the broker's heap (-Xmx and -Xms), default 1g"},
	{Name: "VECTORSTREAM_KAFKA_ADVERTISE", ReadBy: "deploy/kafka/up.sh", Children: nil,
		Purpose: "the host:port the broker advertises to clients, default its own: a Kafka fault proxy's address (`infra.kafka_proxy`) for kafka_* faults in external mode"},
	{Name: "VECTORSTREAM_DEBIAN_MIRROR", ReadBy: "deploy/cuda/sdk.sh", Children: nil,
		Purpose: "the Debian mirror the CUDA SDK packages come from"},
	{Name: "VECTORSTREAM_REQUIRE_CHROMIUM", ReadBy: "tests of reports", Children: nil,
		Purpose: "fail, not skip, the report screenshot test when no chromium is on PATH (`.ci/run` sets it)"},
	{Name: "VECTORSTREAM_REQUIRE_DOCKER", ReadBy: "tests of infra and harness", Children: nil,
		Purpose: "fail, not skip, the containers-mode tests when no Docker daemon answers (`.ci/run` sets it after `deploy/docker/up.sh`)"},
	{Name: "VECTORSTREAM_DOCKER_START_TIMEOUT", ReadBy: "deploy/docker/up.sh", Children: nil,
		Purpose: "seconds to wait for the Docker daemon to answer, default 60"},
	{Name: "VECTORSTREAM_REPORT_SCREENSHOT", ReadBy: "tests of reports", Children: nil,
		Purpose: "a file name to keep the report screenshot in"},
	{Name: "VECTORSTREAM_TEST_KAFKA_PASSWORD", ReadBy: "tests of infra", Children: nil,
		Purpose: "the secret the SASL tests name in `password_env`"},
	{Name: "VECTORSTREAM_TEST_QDRANT_KEY", ReadBy: "tests of infra", Children: nil,
		Purpose: "the secret the API key tests name in `qdrant_api_key_env`"},
	{Name: "VECTORSTREAM_TEST_UNSET", ReadBy: "tests of infra", Children: nil,
		Purpose: "a secret the tests leave unset on purpose"},
}

// ReservedVars returns the reserved variables, in the table's order.
func ReservedVars() []Reserved { return slices.Clone(reserved) }

func findReserved(name string) (Reserved, bool) {
	for _, r := range reserved {
		if r.Name == name {
			return r, true
		}
	}
	return Reserved{}, false
}

// PassedTo reports whether the harness passes the VECTORSTREAM_* variable name on to a
// child process started as child (ChildPipeline, ChildInfra, ChildLoad). Settings never
// are: a child's settings travel in its argv and in the files it names.
func PassedTo(name, child string) bool {
	r, ok := findReserved(name)
	return ok && slices.Contains(r.Children, child)
}

// Schema is a configuration schema whose scalar fields are settings.
type Schema struct {
	// Name says what the paths are paths in, e.g. "a scenario" or "app_config.yaml".
	Name string
	// Example is one of Paths, shown in the README's table.
	Example string
	// Paths are the dotted paths of the schema's scalar fields (yamlconf.Paths).
	Paths []string
}

// Table is every VECTORSTREAM_* variable the binary knows: the settings of each
// command and the reserved names.
type Table struct {
	schemas  map[string]*Schema // by command; nil: the command reads no settings
	commands []string           // sorted
	owners   map[string][]string
}

// NewTable returns the table of the commands, each mapped to the schema it reads or
// to nil when it reads none. Commands that read the same configuration share one
// *Schema.
func NewTable(commands map[string]*Schema) *Table {
	t := &Table{schemas: commands, owners: map[string][]string{}}
	for c, s := range commands {
		t.commands = append(t.commands, c)
		if s == nil {
			continue
		}
		for _, p := range s.Paths {
			n := yamlconf.EnvName(Prefix, p)
			t.owners[n] = append(t.owners[n], c)
		}
	}
	sort.Strings(t.commands)
	for _, cs := range t.owners {
		sort.Strings(cs)
	}
	return t
}

// Settings returns the setting variables command reads, sorted.
func (t *Table) Settings(command string) []string {
	s := t.schemas[command]
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.Paths))
	for _, p := range s.Paths {
		out = append(out, yamlconf.EnvName(Prefix, p))
	}
	sort.Strings(out)
	return out
}

// Known reports whether command accepts the variable name: a reserved variable, or a
// setting of command. A command that reads no settings also accepts the settings of the
// others: none can be meant for it, and a shell that exports a scenario's settings can
// still run it. A command that reads settings refuses those of another (a bench given
// the pipeline's VECTORSTREAM_BATCH_MAX_SIZE, which would do nothing, not its
// VECTORSTREAM_PIPELINE_BATCH_MAX_SIZE).
func (t *Table) Known(command, name string) bool {
	if _, ok := findReserved(name); ok {
		return true
	}
	if t.schemas[command] == nil {
		return len(t.owners[name]) > 0
	}
	return slices.Contains(t.owners[name], command)
}

// Check returns an error naming every VECTORSTREAM_* variable of environ (KEY=VALUE
// entries, as os.Environ returns them) that command does not accept (Known), each
// with the nearest known name; nil when there is none.
func (t *Table) Check(command string, environ []string) error {
	var errs []error
	seen := map[string]bool{}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, Prefix) || seen[name] || t.Known(command, name) {
			continue
		}
		seen[name] = true
		errs = append(errs, t.unknown(command, name))
	}
	return errors.Join(errs...)
}

// unknown says that command does not accept name, with the nearest name it accepts and
// the commands name is a setting of, if any.
func (t *Table) unknown(command, name string) error {
	var b strings.Builder
	candidates := t.Settings(command)
	if t.schemas[command] == nil {
		fmt.Fprintf(&b, "%s is not a setting of any command", name)
		for n := range t.owners {
			candidates = append(candidates, n)
		}
	} else {
		fmt.Fprintf(&b, "%s is not a setting of %s", name, command)
	}
	for _, r := range reserved {
		candidates = append(candidates, r.Name)
	}
	if near := nearest(name, candidates); near != "" {
		fmt.Fprintf(&b, "; did you mean %s?", near)
	}
	if cs := t.owners[name]; len(cs) > 0 {
		fmt.Fprintf(&b, " (%s is a setting of %s)", name, andList(cs))
	}
	return errors.New(b.String())
}

// nearest returns the candidate closest to name: one that differs from it only by
// leading words (VECTORSTREAM_WORKERS and VECTORSTREAM_PIPELINE_WORKERS) first, else the
// one at the smallest edit distance if that is at most a third of the name after the
// prefix (two at least); "" when none is that close. Ties go to the first in sorted order.
func nearest(name string, candidates []string) string {
	candidates = slices.Clone(candidates)
	sort.Strings(candidates)
	rest := strings.TrimPrefix(name, Prefix)
	best, bestD := "", max(2, len(rest)/3)+1
	for _, c := range candidates {
		cr := strings.TrimPrefix(c, Prefix)
		if strings.HasSuffix(cr, "_"+rest) || strings.HasSuffix(rest, "_"+cr) {
			return c
		}
		if d := distance(rest, cr); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// andList spells ["a", "b", "c"] as "a, b and c".
func andList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// Problems lists what makes the table unusable: an Example that is not one of its
// schema's paths, two paths of one schema with one variable name, or a setting that has
// the name of a reserved variable.
func (t *Table) Problems() []string {
	var out []string
	done := map[*Schema]bool{}
	for _, c := range t.commands {
		s := t.schemas[c]
		if s == nil || done[s] {
			continue
		}
		done[s] = true
		if !slices.Contains(s.Paths, s.Example) {
			out = append(out, fmt.Sprintf("%s: example %q is not one of its paths", s.Name, s.Example))
		}
		byName := map[string]string{}
		for _, p := range s.Paths {
			n := yamlconf.EnvName(Prefix, p)
			if q, ok := byName[n]; ok {
				out = append(out, fmt.Sprintf("%s: %s and %s are both %s", s.Name, q, p, n))
			}
			byName[n] = p
			if _, ok := findReserved(n); ok {
				out = append(out, fmt.Sprintf("%s: %s is %s, a reserved variable", s.Name, p, n))
			}
		}
	}
	return out
}

// Markdown returns the README's table: a row per schema (with the commands reading it)
// and a row per reserved variable.
func (t *Table) Markdown() string {
	var b strings.Builder
	b.WriteString("| Variable | Read by | Passed to child processes | What for |\n|---|---|---|---|\n")
	readers := map[*Schema][]string{}
	var order []*Schema
	for _, c := range t.commands {
		s := t.schemas[c]
		if s == nil {
			continue
		}
		if _, ok := readers[s]; !ok {
			order = append(order, s)
		}
		readers[s] = append(readers[s], c)
	}
	for _, s := range order {
		fmt.Fprintf(&b, "| `%s<PATH>` for PATH in %s (e.g. `%s`) | %s | none | sets the field at PATH (upper case, dots as underscores), over the file and under `--set` |\n",
			Prefix, s.Name, yamlconf.EnvName(Prefix, s.Example), strings.Join(readers[s], ", "))
	}
	for _, r := range reserved {
		children := "none"
		if len(r.Children) > 0 {
			children = strings.Join(r.Children, ", ")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Name, r.ReadBy, children, r.Purpose)
	}
	return b.String()
}
