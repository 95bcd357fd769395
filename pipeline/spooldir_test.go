package pipeline_test

import (
	"path/filepath"
	"testing"

	"github.com/vectorstream/vectorstream/pipeline"
)

// Without spool.dir the spool lives under the user cache directory, one per consumer
// group, never in the working directory; a group name cannot climb out of it.
func TestSpoolDirDefaultsToTheUserCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	for _, tc := range []struct{ group, dir, want string }{
		{"vectorstream-pipeline", "", filepath.Join(cache, "vectorstream", "spool", "vectorstream-pipeline")},
		{"a/../../b c", "", filepath.Join(cache, "vectorstream", "spool", "a_.._.._b_c")},
		{"..", "", filepath.Join(cache, "vectorstream", "spool", "__")},
		{"g", "/var/lib/vectorstream/spool", "/var/lib/vectorstream/spool"},
	} {
		cfg := pipeline.DefaultConfig()
		cfg.Kafka.Group, cfg.Spool.Dir = tc.group, tc.dir
		got, err := cfg.SpoolDir()
		if err != nil || got != tc.want {
			t.Errorf("group %q dir %q: SpoolDir() = %q, %v; want %q", tc.group, tc.dir, got, err, tc.want)
		}
	}
	if dir := pipeline.DefaultConfig().Spool.Dir; dir != "" {
		t.Errorf("default spool.dir %q: want empty (the user cache directory)", dir)
	}
}
