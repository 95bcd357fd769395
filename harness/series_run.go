package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// SeriesOptions tune a series beyond its scenario.
type SeriesOptions struct {
	// Options are every run's.
	Options
	// Sets are the --set overrides the scenario was loaded with; each sweep point is
	// loaded again with them.
	Sets []string
	// AfterRun is called after every run with the run's result and folder (for
	// summaries and reports).
	AfterRun func(res *Result, runDir string) error
}

// RunSeries runs a scenario's sweep points and repeats, each run in its own folder
// under dir, and writes dir/series.json. It returns the series even when runs failed;
// err wraps exitcode.ErrGate when no sweep point (or not every repeat) passed, and exitcode.ErrInvalid
// when a repeat was invalid.
func RunSeries(ctx context.Context, sc *Scenario, dir string, so SeriesOptions) (*Series, error) {
	o, sets, done := so.Options, so.Sets, so.AfterRun
	values := []string{""}
	param := ""
	if sc.Sweep != nil {
		values, param = sc.Sweep.Values, sc.Sweep.Parameter
	}
	reps := max(sc.Repeat, 1)
	s := &Series{SchemaVersion: SchemaVersion, Scenario: sc.Name, RunID: o.RunID, Parameter: param, Sustainable: -1}
	var worst error
	for _, v := range values {
		point, err := sc.Point(v, sets)
		if err != nil {
			return s, err
		}
		sp := SeriesPoint{Value: v, Passed: true}
		for k := 1; k <= reps; k++ {
			rel := "rep-" + strconv.Itoa(k)
			if param != "" {
				rel = filepath.Join(safeName(param+"="+v), rel)
			}
			runDir := filepath.Join(dir, rel)
			ro := o
			ro.RunID, ro.Dir = o.RunID+"/"+rel, runDir
			res, runErr := Run(ctx, point, ro)
			if res == nil {
				return s, fmt.Errorf("%s: %w", rel, runErr)
			}
			if err := res.WriteRunDir(runDir); err != nil {
				return s, err
			}
			if done != nil {
				if err := done(res, runDir); err != nil {
					return s, err
				}
			}
			sp.Runs = append(sp.Runs, rel)
			sp.Passed = sp.Passed && res.Passed
			if runErr != nil && (worst == nil || errors.Is(runErr, exitcode.ErrInvalid)) {
				worst = runErr
			}
		}
		s.Points = append(s.Points, sp)
		if sp.Passed {
			s.Sustainable = len(s.Points) - 1
		}
		if err := WriteSeries(dir, s); err != nil {
			return s, err
		}
		if ctx.Err() != nil {
			return s, ctx.Err()
		}
	}
	if param != "" {
		if s.Sustainable < 0 {
			return s, fmt.Errorf("%w: no value of %s met the gates", exitcode.ErrGate, param)
		}
		return s, nil // failing the higher points is what a sweep is for
	}
	return s, worst
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator || r == ' ' {
			return '_'
		}
		return r
	}, s)
}
