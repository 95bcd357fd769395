package envvars

import (
	"strings"
	"testing"
)

func testTable() *Table {
	scenario := &Schema{Name: "a scenario", Example: "load.rate",
		Paths: []string{"load.rate", "load.kind", "seed", "pipeline.workers", "pipeline.batch.max_size"}}
	app := &Schema{Name: "app_config.yaml", Example: "workers", Paths: []string{"workers", "batch.max_size"}}
	return NewTable(map[string]*Schema{"bench": scenario, "validate": scenario, "pipeline": app, "backup": app, "report": nil})
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tab := testTable()
	for _, tc := range []struct {
		name, command string
		env           []string
		want          []string // substrings of the error; nil: no error
	}{
		{"settings and reserved pass", "bench", []string{"HOME=/root", "VECTORSTREAM_LOAD_RATE=5", "VECTORSTREAM_FAULT=exit_after_upsert", "VECTORSTREAM_KAFKA_BROKERS=k:9092"}, nil},
		{"other variables are not ours", "report", []string{"PATH=/bin", "vectorstream_load_rat=1", "XVECTORSTREAM_Y=1"}, nil},
		{"misspelt", "bench", []string{"VECTORSTREAM_LOAD_RAT=5"},
			[]string{"VECTORSTREAM_LOAD_RAT is not a setting of bench; did you mean VECTORSTREAM_LOAD_RATE?"}},
		{"a setting of another command", "bench", []string{"VECTORSTREAM_BATCH_MAX_SIZE=5"},
			[]string{"VECTORSTREAM_BATCH_MAX_SIZE is not a setting of bench; did you mean VECTORSTREAM_PIPELINE_BATCH_MAX_SIZE? (VECTORSTREAM_BATCH_MAX_SIZE is a setting of backup and pipeline)"}},
		{"the scenario's name in the pipeline", "pipeline", []string{"VECTORSTREAM_PIPELINE_WORKERS=2"},
			[]string{"VECTORSTREAM_PIPELINE_WORKERS is not a setting of pipeline; did you mean VECTORSTREAM_WORKERS? (VECTORSTREAM_PIPELINE_WORKERS is a setting of bench and validate)"}},
		{"a command without settings accepts the others'", "report", []string{"VECTORSTREAM_LOAD_RATE=5", "VECTORSTREAM_WORKERS=2"}, nil},
		{"a command without settings refuses a misspelt one", "report", []string{"VECTORSTREAM_LOAD_RAT=5"},
			[]string{"VECTORSTREAM_LOAD_RAT is not a setting of any command; did you mean VECTORSTREAM_LOAD_RATE?"}},
		{"nothing near", "pipeline", []string{"VECTORSTREAM_ZZZZZZZZZZ=1"}, []string{"VECTORSTREAM_ZZZZZZZZZZ is not a setting of pipeline"}},
		{"misspelt reserved", "pipeline", []string{"VECTORSTREAM_FAUL=x"}, []string{"did you mean VECTORSTREAM_FAULT?"}},
		{"every one, once", "bench", []string{"VECTORSTREAM_SED=1", "VECTORSTREAM_LOAD_KINDS=x", "VECTORSTREAM_SED=2"},
			[]string{"VECTORSTREAM_SED is not a setting of bench; did you mean VECTORSTREAM_SEED?\nVECTORSTREAM_LOAD_KINDS is not a setting of bench; did you mean VECTORSTREAM_LOAD_KIND?"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tab.Check(tc.command, tc.env)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check: no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.name == "nothing near" && strings.Contains(err.Error(), "did you mean") {
				t.Errorf("error %q suggests a name nothing like it", err)
			}
			if n := strings.Count(err.Error(), "is not a setting"); tc.name == "every one, once" && n != 2 {
				t.Errorf("%d problems reported, want 2: %v", n, err)
			}
		})
	}
}

func TestPassedTo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, child string
		want        bool
	}{
		{"VECTORSTREAM_FAULT", ChildPipeline, true},
		{"VECTORSTREAM_FAULT", ChildLoad, false},
		{"VECTORSTREAM_FAULT", ChildInfra, false},
		{"VECTORSTREAM_TEST_MAIN", ChildLoad, true},
		{"VECTORSTREAM_TEST_MAIN", ChildInfra, true},
		{"VECTORSTREAM_KAFKA_BROKERS", ChildPipeline, false},
		{"VECTORSTREAM_LOAD_RATE", ChildLoad, false},
	} {
		if got := PassedTo(tc.name, tc.child); got != tc.want {
			t.Errorf("PassedTo(%s, %s) = %v, want %v", tc.name, tc.child, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"LOAD_RAT", "LOAD_RATE", 1}, {"SEED", "SEED", 0}} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestProblems(t *testing.T) {
	t.Parallel()
	if p := testTable().Problems(); len(p) != 0 {
		t.Errorf("problems of a good table: %v", p)
	}
	bad := &Schema{Name: "s", Example: "nope", Paths: []string{"a.b_c", "a_b.c", "fault"}}
	got := strings.Join(NewTable(map[string]*Schema{"x": bad}).Problems(), "\n")
	for _, w := range []string{`example "nope"`, "a.b_c and a_b.c are both VECTORSTREAM_A_B_C", "fault is VECTORSTREAM_FAULT, a reserved variable"} {
		if !strings.Contains(got, w) {
			t.Errorf("problems %q lack %q", got, w)
		}
	}
}

func TestMarkdown(t *testing.T) {
	t.Parallel()
	md := testTable().Markdown()
	for _, w := range []string{
		"| `VECTORSTREAM_<PATH>` for PATH in a scenario (e.g. `VECTORSTREAM_LOAD_RATE`) | bench, validate | none |",
		"| `VECTORSTREAM_<PATH>` for PATH in app_config.yaml (e.g. `VECTORSTREAM_WORKERS`) | backup, pipeline | none |",
		"| `VECTORSTREAM_FAULT` | bench, pipeline | pipeline |",
	} {
		if !strings.Contains(md, w) {
			t.Errorf("table lacks %q:\n%s", w, md)
		}
	}
	if n := strings.Count(md, "\n"); n != 2+2+len(reserved) {
		t.Errorf("%d lines, want header, 2 schemas and %d reserved:\n%s", n, len(reserved), md)
	}
}
