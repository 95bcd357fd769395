package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// SeriesFile is the name of the file that lists the runs of a sweep or of repeats.
const SeriesFile = "series.json"

// Sweep runs a scenario at several values of one field.
type Sweep struct {
	// Parameter is the dotted path of the field, as for --set (e.g. "load.rate").
	Parameter string `yaml:"parameter" json:"parameter"`
	// Values are the values, as written in YAML (e.g. "1000", "100ms").
	Values []string `yaml:"values" json:"values"`
}

// Series is what a scenario with `repeat: N` or a `sweep:` leaves in its run folder:
// one sub-folder per run, and this index of them.
type Series struct {
	SchemaVersion int    `json:"schema_version"`
	Scenario      string `json:"scenario"`
	RunID         string `json:"run_id"`
	// Parameter is the swept field; empty for plain repeats.
	Parameter string        `json:"parameter,omitempty"`
	Points    []SeriesPoint `json:"points"`
	// Sustainable is the index in Points of the highest value whose every run was valid
	// and passed its gates, or -1 when none did. Points are in the order of the sweep's
	// values, which for a rate sweep should be ascending.
	Sustainable int `json:"sustainable"`
}

// SeriesPoint is one value of the swept parameter (or the single point of repeats).
type SeriesPoint struct {
	Value string `json:"value,omitempty"`
	// Runs are the run folders, relative to the series folder.
	Runs []string `json:"runs"`
	// Passed is true when every run of the point was valid and passed its gates.
	Passed bool `json:"passed"`
}

// WriteSeries writes series.json into dir.
func WriteSeries(dir string, s *Series) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("series: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, SeriesFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("series: %w", err)
	}
	return nil
}

// ReadSeries reads dir/series.json and every run it lists, in order.
func ReadSeries(dir string) (*Series, [][]*Result, error) {
	path := filepath.Join(dir, SeriesFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: series: %w", exitcode.ErrConfig, err)
	}
	var s Series
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, nil, fmt.Errorf("series: %s: %w", path, err)
	}
	if s.SchemaVersion != SchemaVersion {
		return nil, nil, fmt.Errorf("series: %s: schema_version %d, this build reads %d", path, s.SchemaVersion, SchemaVersion)
	}
	runs := make([][]*Result, len(s.Points))
	for i, p := range s.Points {
		for _, r := range p.Runs {
			res, err := ReadRunDir(filepath.Join(dir, r))
			if err != nil {
				return nil, nil, err
			}
			runs[i] = append(runs[i], res)
		}
	}
	return &s, runs, nil
}
