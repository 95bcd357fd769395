package harness

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vectorstream/vectorstream/internal/exitcode"
	"gopkg.in/yaml.v3"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestShippedScenariosLoad(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil || len(files) < 4 {
		t.Fatalf("scenarios: %v %v", files, err)
	}
	for _, f := range files {
		if _, err := LoadScenario(f, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestScenarioErrorsNameFileLineAndField(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "bad.yaml", `name: bad
duration: 10s
load:
  kind: constant
  rate: -5
workload:
  prodcts: 100
pipeline:
  batch:
    max_size: 0
gates:
  max_e2e_p99: soon
`)
	_, err := LoadScenario(p, nil)
	if err == nil {
		t.Fatal("bad scenario accepted")
	}
	for _, want := range []string{
		p + ":7: workload.prodcts: unknown key",
		p + ":12: gates.max_e2e_p99: \"soon\" is not a duration",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// Type errors stop decoding; range errors come from a file that decodes.
	p2 := writeFile(t, "range.yaml", "load:\n  kind: constant\n  rate: -5\npipeline:\n  batch:\n    max_size: 0\n")
	_, err = LoadScenario(p2, nil)
	for _, want := range []string{p2 + ":3: load.rate: must be > 0", p2 + ":6: pipeline.batch.max_size: must be in [1, 1000000]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestScenarioPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	p := writeFile(t, "s.yaml", "load:\n  kind: constant\n  rate: 100\nseed: 5\n")
	t.Setenv("VECTORSTREAM_LOAD_RATE", "200")
	t.Setenv("VECTORSTREAM_SEED", "6")
	sc, err := LoadScenario(p, []string{"load.rate=300"})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Load.Rate != 300 || sc.Seed != 6 {
		t.Errorf("rate %v seed %d, want 300 (flag) and 6 (env)", sc.Load.Rate, sc.Seed)
	}
	t.Setenv("VECTORSTREAM_LOAD_RATE", "-1")
	_, err = LoadScenario(p, nil)
	if err == nil || !strings.Contains(err.Error(), "env VECTORSTREAM_LOAD_RATE") {
		t.Errorf("bad env value not attributed to its variable: %v", err)
	}
}

// A scenario written back as YAML (as the harness does for its child processes) must
// load into the same scenario.
func TestScenarioRoundTripsThroughYAML(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../scenarios/*.yaml")
	for _, f := range files {
		sc, err := LoadScenario(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := yaml.Marshal(sc)
		if err != nil {
			t.Fatal(err)
		}
		back, err := LoadScenario(writeFile(t, "back.yaml", string(b)), nil)
		if err != nil {
			t.Fatalf("%s written back does not load: %v\n%s", f, err, b)
		}
		sc.File, back.File = "", ""
		want, _ := json.Marshal(sc)
		got, _ := json.Marshal(back)
		if string(want) != string(got) {
			t.Errorf("%s changed on the way through YAML:\nwant %s\n got %s", f, want, got)
		}
	}
}

func TestScenarioRefusesWhatCannotBeARun(t *testing.T) {
	t.Parallel()
	base := "duration: 10s\nload:\n  kind: constant\n  rate: 100\n"
	for _, c := range []struct {
		name, body string
		sets       []string
		want       string
	}{
		{"empty file", "# nothing but a comment\n", nil, "the scenario file is empty"},
		{"rate 1e12", "duration: 10s\nload:\n  kind: constant\n  rate: 1e12\n", nil, "load.rate: must be at most 1e+07 events/s"},
		{"duration 87600h", "duration: 87600h\nload:\n  kind: constant\n  rate: 100\n", nil, "duration: warmup + duration must be at most 168h0m0s"},
		{"name escapes results/", base, []string{"name=../../escape"}, `name: "../../escape": a scenario name is`},
		{"name with a separator", base, []string{"name=a/b"}, `name: "a/b"`},
		{"empty --set value", base, []string{"load.rate="}, "no value after '='"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := LoadScenario(writeFile(t, "s.yaml", c.body), c.sets)
			if err == nil || !errors.Is(err, exitcode.ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("LoadScenario: %v; want a configuration error saying %q", err, c.want)
			}
		})
	}
	if !SafeName("load.rate=5000") || SafeName("..") || SafeName(".hidden") || SafeName("") {
		t.Error("SafeName: sweep folder names are safe; '..', hidden and empty names are not")
	}
}
