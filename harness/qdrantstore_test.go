package harness

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/infra/qdrantengine"
	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// fakeEngine is an executable file where VECTORSTREAM_QDRANT_ENGINE points: Find
// only checks that it is there.
func fakeEngine(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qdrant-engine")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveQdrantStore(t *testing.T) {
	qdrantFault := []FaultSpec{{Kind: FaultQdrantDown, At: time.Second, Duration: time.Second}}
	for _, tc := range []struct {
		name      string
		built     bool
		mode      string
		store     string
		faults    []FaultSpec
		want      string
		fellBack  string // a part of the line for the terminal; "" when none
		wantError string
	}{
		{name: "empty, built", built: true, mode: "embedded", want: QdrantStoreEngine},
		{name: "empty, auto mode, built", built: true, mode: "auto", want: QdrantStoreEngine},
		{name: "empty, not built", mode: "embedded", want: QdrantStoreStandin, fellBack: "make engine"},
		// Faults act on the wire in front of any store: they no longer pick the stand-in.
		{name: "empty, built, qdrant faults", built: true, mode: "embedded", faults: qdrantFault, want: QdrantStoreEngine},
		{name: "standin, built", built: true, mode: "embedded", store: QdrantStoreStandin, want: QdrantStoreStandin},
		{name: "engine, built", built: true, mode: "embedded", store: QdrantStoreEngine, want: QdrantStoreEngine},
		{name: "engine, not built", mode: "embedded", store: QdrantStoreEngine, wantError: "infra.qdrant_store: engine"},
		{name: "external", built: true, mode: "external", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.built {
				t.Setenv(qdrantengine.EnvBinary, fakeEngine(t))
			} else {
				t.Setenv(qdrantengine.EnvBinary, "")
			}
			sc := DefaultScenario()
			sc.Infra.Mode, sc.Infra.QdrantStore, sc.Faults = tc.mode, tc.store, tc.faults
			fellBack, err := ResolveQdrantStore(&sc)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantError) || !errors.Is(err, exitcode.ErrConfig) {
					t.Fatalf("err %v, want a configuration error naming %q", err, tc.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sc.Infra.QdrantStore != tc.want {
				t.Errorf("qdrant_store %q, want %q", sc.Infra.QdrantStore, tc.want)
			}
			if (tc.fellBack == "") != (fellBack == "") || !strings.Contains(fellBack, tc.fellBack) {
				t.Errorf("line for the terminal %q, want one with %q", fellBack, tc.fellBack)
			}
			if tc.want == QdrantStoreEngine && sc.Infra.qdrantEngine == "" {
				t.Error("engine chosen but no binary recorded")
			}
			// Settled once: a second call changes nothing.
			again := sc
			if fb, err := ResolveQdrantStore(&again); err != nil || fb != "" || again.Infra.QdrantStore != sc.Infra.QdrantStore || again.Infra.qdrantEngine != sc.Infra.qdrantEngine {
				t.Errorf("second call: %q, %v, %+v", fb, err, again.Infra)
			}
		})
	}
}

func TestQdrantStoreValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode, store string
		faults      []FaultSpec
		want        string
	}{
		{"embedded", "memory", nil, "infra.qdrant_store: must be engine or standin"},
		{"external", "engine", nil, "infra.qdrant_store: only the embedded mode"},
	} {
		sc := DefaultScenario()
		sc.Infra.Mode, sc.Infra.QdrantStore, sc.Faults = tc.mode, tc.store, tc.faults
		if tc.mode == "external" {
			sc.Infra.Brokers, sc.Infra.QdrantAddr = []string{"127.0.0.1:9092"}, "127.0.0.1:6334"
		}
		if err := sc.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mode %s, store %q: %v, want a problem with %q", tc.mode, tc.store, err, tc.want)
		}
	}
}

// A v2 recording's embedded Qdrant was the stand-in: the environment of a result
// recorded then reads as stand-ins for both services.
func TestStandInsReadsTheOldBoolean(t *testing.T) {
	t.Parallel()
	var e Environment
	if err := e.StandIns.UnmarshalJSON([]byte("true")); err != nil || e.StandIns != (StandIns{Kafka: true, Qdrant: true}) {
		t.Errorf("true read as %+v, %v", e.StandIns, err)
	}
	if err := e.StandIns.UnmarshalJSON([]byte(`{"kafka":true,"qdrant":false}`)); err != nil || e.StandIns != (StandIns{Kafka: true}) {
		t.Errorf("object read as %+v, %v", e.StandIns, err)
	}
	if l := (StandIns{Kafka: true}).Label(); !strings.Contains(l, "Qdrant's engine") {
		t.Errorf("label %q", l)
	}
}
