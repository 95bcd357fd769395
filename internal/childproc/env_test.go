package childproc_test

import (
	"slices"
	"testing"

	"github.com/vectorstream/vectorstream/internal/childproc"
	"github.com/vectorstream/vectorstream/internal/envvars"
)

func TestEnv(t *testing.T) {
	t.Parallel()
	parent := []string{"HOME=/home/x", "VECTORSTREAM_LOAD_RATE=500", "KAFKA_PASSWORD=pw", "VECTORSTREAM_FAULT=exit_after_upsert:2",
		"VECTORSTREAM_TEST_MAIN=1", "VECTORSTREAM_KAFKA_BROKERS=127.0.0.1:9092", "VECTORSTREAM_BATCH_MAX_SIZE=9", "PATH=/bin", "VECTORSTREAM_=x"}
	for _, tc := range []struct {
		child string
		want  []string
	}{
		{childproc.CmdPipeline, []string{"HOME=/home/x", "KAFKA_PASSWORD=pw", "VECTORSTREAM_FAULT=exit_after_upsert:2", "VECTORSTREAM_TEST_MAIN=1", "PATH=/bin"}},
		{childproc.CmdInfra, []string{"HOME=/home/x", "KAFKA_PASSWORD=pw", "VECTORSTREAM_TEST_MAIN=1", "PATH=/bin"}},
		{childproc.CmdLoad, []string{"HOME=/home/x", "KAFKA_PASSWORD=pw", "VECTORSTREAM_TEST_MAIN=1", "PATH=/bin"}},
	} {
		if got := childproc.Env(parent, tc.child); !slices.Equal(got, tc.want) {
			t.Errorf("Env(%s) =\n%q, want\n%q", tc.child, got, tc.want)
		}
	}
	if got := childproc.Env(nil, childproc.CmdPipeline); len(got) != 0 {
		t.Errorf("Env(nil) = %q", got)
	}
}

// Every child a reserved variable names is a command the harness starts.
func TestEnvChildrenAreChildCommands(t *testing.T) {
	t.Parallel()
	cmds := []string{childproc.CmdPipeline, childproc.CmdInfra, childproc.CmdLoad}
	if want := []string{envvars.ChildPipeline, envvars.ChildInfra, envvars.ChildLoad}; !slices.Equal(cmds, want) {
		t.Errorf("child commands %q, envvars has %q", cmds, want)
	}
	for _, r := range envvars.ReservedVars() {
		for _, c := range r.Children {
			if !slices.Contains(cmds, c) {
				t.Errorf("%s is passed to %q, not a child command (%q)", r.Name, c, cmds)
			}
		}
	}
}
