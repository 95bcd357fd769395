package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vectorstream/vectorstream/harness"
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("load:\n  kind: constant\n  rat: 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	neg := filepath.Join(dir, "neg.yaml")
	if err := os.WriteFile(neg, []byte("load:\n  kind: constant\n  rate: -100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"bench", bad}, exitConfig},
		{[]string{"bench", neg}, exitConfig},
		{[]string{"bench", "--set", "load.rate=-1", "../../scenarios/smoke.yaml"}, exitConfig},
		{[]string{"bench"}, exitConfig},
		{[]string{"nonsense"}, exitConfig},
		{[]string{"validate", "../../scenarios/smoke.yaml", "../../scenarios/ci-gate.yaml"}, exitOK},
		{[]string{"validate", bad}, exitConfig},
		{[]string{"pipeline", "--model", filepath.Join(dir, "missing.vsm"), "--config", "../../configs/app_config.yaml"}, exitConfig},
		{[]string{"pipeline", "--model", "x", "--qdrant", "127.0.0.1:6333", "--config", "../../configs/app_config.yaml"}, exitConfig},
	} {
		if got := Execute(tc.args); got != tc.want {
			t.Errorf("vectorstream %v: exit %d, want %d", tc.args, got, tc.want)
		}
	}
}

func TestExitCodeMapping(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{fmt.Errorf("x: %w", harness.ErrGate), exitGateFailed},
		{fmt.Errorf("x: %w", harness.ErrInvalid), exitInvalid},
		{fmt.Errorf("x: %w", harness.ErrConfig), exitConfig},
		{errors.New("dial tcp 127.0.0.1:9: connect: connection refused"), exitUnreachable},
		{errors.New("boom"), exitRunError},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestAppConfigOverlaysAndEnv(t *testing.T) {
	t.Setenv("VECTORSTREAM_WORKERS", "3")
	cfg, err := loadAppConfig("../../configs/app_config.yaml", []string{"../../configs/development.yaml"}, []string{"qdrant.upsert_batch=77"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Batch.Interval.String() != "200ms" || cfg.LogLevel != "debug" || cfg.Workers != 3 || cfg.Qdrant.UpsertBatch != 77 || cfg.Kafka.Topic != "raw_data" {
		t.Errorf("got %+v", cfg)
	}
	for _, f := range []string{"../../configs/production.yaml"} {
		if _, err := loadAppConfig("../../configs/app_config.yaml", []string{f}, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
