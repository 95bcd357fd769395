package yamlconf

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzLeaf and fuzzDoc are a scenario-like schema: nested structs, a pointer, an
// inline struct, durations, every scalar kind, a list, a map of scalars and a map of
// structs.
type fuzzLeaf struct {
	MaxBatch int           `yaml:"max_batch"`
	Interval time.Duration `yaml:"interval"`
	Enabled  bool          `yaml:"enabled"`
}

type fuzzInline struct {
	Seed uint64 `yaml:"seed"`
}

type fuzzDoc struct {
	fuzzInline `yaml:",inline"`
	Name       string              `yaml:"name"`
	Rate       float64             `yaml:"rate"`
	Brokers    []string            `yaml:"brokers"`
	Mix        map[string]float64  `yaml:"mix"`
	Stages     map[string]fuzzLeaf `yaml:"stages"`
	Pipeline   fuzzLeaf            `yaml:"pipeline"`
	Infra      *fuzzLeaf           `yaml:"infra"`
	Skipped    string              `yaml:"-"`
}

// fuzzBases are the files the override is applied over: none, and one that already
// holds the mappings and scalars an override may replace or descend into.
var fuzzBases = []string{"", "name: x\nrate: 1.5\npipeline:\n  max_batch: 3\nmix: {a: 0.5}\nstages:\n  embed: {enabled: true}\ninfra: null\n"}

// FuzzSet parses a --set argument and applies it over each of fuzzBases. Invariants:
// nothing panics; a refused argument is an error naming --set; an accepted one has a
// trimmed, non-empty path and a value; an override that loads without error names a
// real path of the schema, and one whose path is not in the schema is reported as "no
// such field"; every load error names the file; loading twice gives the same result.
func FuzzSet(f *testing.F) {
	for _, s := range []string{
		"name=demo", "rate=2.5", "seed=7", "pipeline.max_batch=500", "pipeline.interval=250ms",
		"pipeline.enabled=true", "infra.max_batch=1", "brokers=[a:9092, b:9092]", "mix={en: 0.5, de: 0.5}",
		"mix.fr=0.25", "stages.embed.interval=1s", "stages.embed=[1]", "name=''", `name="a=b"`,
		" pipeline.max_batch =9", "skipped=1", "pipeline.max_batch.x=1", "name.x=1", "a..b=1", "=1", "name=",
		"noequals", "rate=lots", "pipeline.interval=10 parsecs", "brokers=x", "name=*alias", "name=&a [1]",
		"name={", "pipeline=3", "mix=[1, 2]", "brokers[0]=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseSet(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "--set ") {
				t.Fatalf("ParseSet(%q): error does not name --set: %v", s, err)
			}
			return
		}
		if o.Path == "" || o.Path != strings.TrimSpace(o.Path) || o.Value == "" || o.Source != "flag --set "+o.Path {
			t.Fatalf("ParseSet(%q) = %+v: path must be trimmed and non-empty, value non-empty", s, o)
		}
		_, real := fieldType(reflect.TypeFor[fuzzDoc](), o.Path)
		for _, base := range fuzzBases {
			var a, b fuzzDoc
			_, errA := Load("fuzz.yaml", []byte(base), &a, []Override{o})
			_, errB := Load("fuzz.yaml", []byte(base), &b, []Override{o})
			if (errA == nil) != (errB == nil) || (errA != nil && errA.Error() != errB.Error()) || !reflect.DeepEqual(a, b) {
				t.Fatalf("%q over %q: two loads differ: %v / %v", s, base, errA, errB)
			}
			if errA == nil {
				if !real {
					t.Fatalf("%q over %q: accepted, but %q is not a path of the schema", s, base, o.Path)
				}
				continue
			}
			if msg := errA.Error(); !strings.HasPrefix(msg, "fuzz.yaml") {
				t.Fatalf("%q over %q: error does not name the file: %v", s, base, errA)
			}
			if !real && !strings.Contains(errA.Error(), o.Path+": no such field") {
				t.Fatalf("%q over %q: unknown path %q not reported as such: %v", s, base, o.Path, errA)
			}
		}
	})
}

func TestParseSetTrimsPath(t *testing.T) {
	t.Parallel()
	o, err := ParseSet(" pipeline.max_batch =9")
	if err != nil || o.Path != "pipeline.max_batch" || o.Value != "9" || o.Source != "flag --set pipeline.max_batch" {
		t.Fatalf("ParseSet = %+v, %v", o, err)
	}
	if _, err := ParseSet("  =9"); err == nil {
		t.Fatal("a blank path was accepted")
	}
}
