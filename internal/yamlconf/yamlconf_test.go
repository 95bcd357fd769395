package yamlconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type inner struct {
	MaxBatch int           `yaml:"max_batch"`
	Interval time.Duration `yaml:"interval"`
}

type outer struct {
	Hosts    []string           `yaml:"hosts"`
	Name     string             `yaml:"name"`
	Rate     float64            `yaml:"rate"`
	Pipeline inner              `yaml:"pipeline"`
	Mix      map[string]float64 `yaml:"mix"`
}

func TestLoadReportsEveryProblemWithLine(t *testing.T) {
	t.Parallel()
	src := "name: x\nrat: 5\npipeline:\n  max_batch: lots\n  interval: 10 parsecs\n  extra: 1\n"
	var o outer
	_, err := Load("s.yaml", []byte(src), &o, nil)
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		"s.yaml:2: rat: unknown key",
		"s.yaml:4: pipeline.max_batch: \"lots\" is not a valid integer",
		"s.yaml:5: pipeline.interval: \"10 parsecs\" is not a duration",
		"s.yaml:6: pipeline.extra: unknown key",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestOverridesTakePrecedenceAndAreNamed(t *testing.T) {
	t.Parallel()
	src := "name: x\nrate: 5\npipeline:\n  max_batch: 10\n"
	o := outer{Pipeline: inner{Interval: time.Second}}
	env := map[string]string{"VS_PIPELINE_MAX_BATCH": "20", "VS_RATE": "7"}
	ovs := EnvOverrides(&o, "VS_", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	hosts, err := ParseSet("hosts=[a:1, b:2]")
	if err != nil {
		t.Fatal(err)
	}
	ovs = append(ovs, hosts)
	set, err := ParseSet("rate=9")
	if err != nil {
		t.Fatal(err)
	}
	ovs = append(ovs, set)
	d, err := Load("s.yaml", []byte(src), &o, ovs)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Hosts) != 2 || o.Hosts[1] != "b:2" {
		t.Errorf("list override: got %v", o.Hosts)
	}
	if o.Rate != 9 || o.Pipeline.MaxBatch != 20 || o.Pipeline.Interval != time.Second || o.Name != "x" {
		t.Fatalf("got %+v", o)
	}
	if got := d.Errorf("pipeline.max_batch", "too big").Error(); !strings.Contains(got, "env VS_PIPELINE_MAX_BATCH") {
		t.Errorf("error does not name the override: %s", got)
	}
	if got := d.Errorf("name", "bad").Error(); got != "s.yaml:1: name: bad" {
		t.Errorf("got %q", got)
	}
	_, err = Load("s.yaml", []byte(src), &o, []Override{{Path: "pipeline.nope", Value: "1", Source: "flag --set pipeline.nope"}})
	if err == nil || !strings.Contains(err.Error(), "pipeline.nope: no such field") {
		t.Fatalf("unknown override path: %v", err)
	}
}

func TestBadInputRefusedClearly(t *testing.T) {
	t.Parallel()
	t.Run("alias", func(t *testing.T) {
		var o outer
		_, err := Load("s.yaml", []byte("name: &n x\npipeline:\n  max_batch: *n\n"), &o, nil)
		if err == nil || !strings.Contains(err.Error(), "s.yaml:3: pipeline.max_batch: YAML aliases are not allowed here") {
			t.Errorf("alias: %v", err)
		}
	})
	t.Run("at most Limit problems", func(t *testing.T) {
		var b strings.Builder
		for i := range 80 {
			fmt.Fprintf(&b, "k%d: 1\n", i)
		}
		var o outer
		_, err := Load("s.yaml", []byte(b.String()), &o, nil)
		if err == nil || strings.Count(err.Error(), "unknown key") != 50 || !strings.HasSuffix(err.Error(), "and 30 more problems") {
			t.Errorf("80 unknown keys: %v", err)
		}
	})
	t.Run("empty --set value", func(t *testing.T) {
		if _, err := ParseSet("load.rate="); err == nil || !strings.Contains(err.Error(), "no value after '='") {
			t.Errorf("ParseSet(load.rate=) = %v", err)
		}
		o, err := ParseSet("name=''")
		if err != nil {
			t.Fatal(err)
		}
		var got outer
		if _, err := Load("s.yaml", []byte("name: x\n"), &got, []Override{o}); err != nil || got.Name != "" {
			t.Errorf("name='' gave %q, %v; want the empty string", got.Name, err)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		var o outer
		d, err := Load("s.yaml", []byte("# only a comment\n"), &o, nil)
		if err != nil || !d.Empty() {
			t.Errorf("comment-only file: empty %v, %v", d.Empty(), err)
		}
		if d, _ := Load("s.yaml", []byte("name: x\n"), &o, nil); d.Empty() {
			t.Error("a file with a key is not empty")
		}
	})
	t.Run("too large", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "big.yaml")
		if err := os.WriteFile(path, []byte("name: "+strings.Repeat("x", MaxFileBytes)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var o outer
		if _, err := LoadFile(path, &o, nil); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("a file over MaxFileBytes: %v", err)
		}
	})
}
