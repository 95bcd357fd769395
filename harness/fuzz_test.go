package harness

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vectorstream/vectorstream/internal/exitcode"
	"gopkg.in/yaml.v3"
)

// FuzzParseScenario checks the scenario parser (LoadScenario: strict YAML decoding over
// the defaults, validation, sweep points) on arbitrary file contents.
//
// Invariants:
//   - it never panics;
//   - it returns a scenario or an error, never both or neither;
//   - an error is exitcode.ErrConfig and names the file it was read from;
//   - an accepted scenario validates again, and its YAML encoding loads back to a
//     scenario with the same encoding (the encoding is a fixed point after one round).
//
// The seed corpus is scenarios/*.yaml plus testdata/fuzz/FuzzParseScenario.
func FuzzParseScenario(f *testing.F) {
	files, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed scenarios in ../scenarios (%v)", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("load: {kind: constant, rate: 100}\nsweep: {parameter: load.rate, values: [\"10\", \"20\"]}\n"))
	f.Add([]byte("duration: -1s\nload:\n  kind: constant\n  rat: 100\n"))
	// One directory per fuzzing process: its inputs run one at a time, and a fresh
	// directory per input would spend the fuzzing time on the file system.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz-input.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sc, err := LoadScenario(path, nil)
		if err != nil {
			if sc != nil {
				t.Fatalf("both a scenario and an error: %v", err)
			}
			if !errors.Is(err, exitcode.ErrConfig) {
				t.Fatalf("error is not exitcode.ErrConfig: %v", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file %s: %v", path, err)
			}
			return
		}
		if sc == nil {
			t.Fatal("neither a scenario nor an error")
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("accepted scenario does not validate again: %v", err)
		}
		enc, err := yaml.Marshal(sc)
		if err != nil {
			t.Fatalf("accepted scenario does not encode: %v", err)
		}
		again := filepath.Join(dir, "again.yaml")
		if err := os.WriteFile(again, enc, 0o644); err != nil {
			t.Fatal(err)
		}
		sc2, err := LoadScenario(again, nil)
		if err != nil {
			t.Fatalf("encoding of an accepted scenario does not load: %v\ninput:\n%s\nencoding:\n%s", err, data, enc)
		}
		enc2, err := yaml.Marshal(sc2)
		if err != nil {
			t.Fatal(err)
		}
		if string(enc) != string(enc2) {
			t.Fatalf("encoding is not a fixed point:\n%s\nthen:\n%s", enc, enc2)
		}
	})
}
