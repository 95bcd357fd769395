package yamlconf

import (
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
