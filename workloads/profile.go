package workloads

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/vectorstream/vectorstream/internal/problem"
)

// Duration is a time.Duration written as a Go duration string ("30s",
// "1m30s") in YAML and JSON. It implements encoding.TextUnmarshaler (used
// by encoding/json) and the yaml.v3 Unmarshaler shape without importing
// yaml, so workloads stays stdlib-only.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as a duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration string such as "30s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("want a duration like \"30s\": %w", err)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalJSON accepts a duration string, or the number 0.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "0" {
		*d = 0
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string like \"30s\", got %s", b)
	}
	return d.UnmarshalText([]byte(s))
}

// UnmarshalYAML implements the yaml.v3 (and v2) Unmarshaler form that takes
// a decode callback: the value must be a duration string, or 0.
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return fmt.Errorf("want a duration string like \"30s\": %w", err)
	}
	if s == "0" {
		*d = 0
		return nil
	}
	return d.UnmarshalText([]byte(s))
}

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Profile kinds.
const (
	ProfileConstant = "constant"
	ProfileRamp     = "ramp"
	ProfileStep     = "step"
	ProfileSpike    = "spike"
)

// Profile describes the offered event rate over time (events per second).
// Which fields apply depends on Kind:
//
//	constant: rate
//	ramp:     from, to, over (linear from→to over "over", then "to";
//	          over 0 means the whole run)
//	step:     rate until the first step, then steps[i].rate from steps[i].at
//	spike:    rate, then spike_rate during [spike_at, spike_at+spike_for), then rate
//
// In YAML:
//
//	kind: spike
//	rate: 2000
//	spike_rate: 10000
//	spike_at: 30s
//	spike_for: 5s
type Profile struct {
	Kind      string   `yaml:"kind" json:"kind"`
	Rate      float64  `yaml:"rate,omitempty" json:"rate,omitempty"`
	From      float64  `yaml:"from,omitempty" json:"from,omitempty"`
	To        float64  `yaml:"to,omitempty" json:"to,omitempty"`
	Over      Duration `yaml:"over,omitempty" json:"over,omitempty"`
	Steps     []Step   `yaml:"steps,omitempty" json:"steps,omitempty"`
	SpikeRate float64  `yaml:"spike_rate,omitempty" json:"spike_rate,omitempty"`
	SpikeAt   Duration `yaml:"spike_at,omitempty" json:"spike_at,omitempty"`
	SpikeFor  Duration `yaml:"spike_for,omitempty" json:"spike_for,omitempty"`
}

// Step is one change of rate in a step profile.
type Step struct {
	At   Duration `yaml:"at" json:"at"`
	Rate float64  `yaml:"rate" json:"rate"`
}

// MaxRate is the highest rate a profile may ask for, in events per second: a fixed
// cap on top of what the machine can hold (beyond it a rate is a typo).
const MaxRate = 10_000_000

// Validate reports every problem of p at once; each error starts with the
// field it is about ("rate: must be > 0").
func (p Profile) Validate() error {
	return errors.Join(problem.List(p.Problems()).Errors()...)
}

// Problems returns every problem of p at once, each with its field's path below the
// profile ("rate", "steps[1].at").
func (p Profile) Problems() []problem.Problem {
	var ps problem.List
	bad := ps.Add
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	positive := func(field string, v float64) {
		if !(v > 0) || !finite(v) {
			bad(field, "must be > 0, got %v", v)
		} else if v > MaxRate {
			bad(field, "must be at most %v events/s, got %v", float64(MaxRate), v)
		}
	}
	nonNeg := func(field string, v float64) {
		if !(v >= 0) || !finite(v) {
			bad(field, "must be >= 0, got %v", v)
		} else if v > MaxRate {
			bad(field, "must be at most %v events/s, got %v", float64(MaxRate), v)
		}
	}
	unused := func(field string, set bool) {
		if set {
			bad(field, "not used by kind %q", p.Kind)
		}
	}
	switch p.Kind {
	case ProfileConstant:
		positive("rate", p.Rate)
		unused("from", p.From != 0)
		unused("to", p.To != 0)
		unused("over", p.Over != 0)
		unused("steps", len(p.Steps) > 0)
		unused("spike_rate", p.SpikeRate != 0)
		unused("spike_at", p.SpikeAt != 0)
		unused("spike_for", p.SpikeFor != 0)
	case ProfileRamp:
		nonNeg("from", p.From)
		nonNeg("to", p.To)
		if p.From == 0 && p.To == 0 {
			bad("to", "from and to cannot both be 0")
		}
		if p.Over < 0 {
			bad("over", "must be >= 0, got %s", p.Over)
		}
		unused("rate", p.Rate != 0)
		unused("steps", len(p.Steps) > 0)
		unused("spike_rate", p.SpikeRate != 0)
		unused("spike_at", p.SpikeAt != 0)
		unused("spike_for", p.SpikeFor != 0)
	case ProfileStep:
		nonNeg("rate", p.Rate)
		if len(p.Steps) == 0 {
			bad("steps", "must list at least one step")
		}
		for i, s := range p.Steps {
			f := fmt.Sprintf("steps[%d]", i)
			nonNeg(f+".rate", s.Rate)
			if s.At < 0 {
				bad(f+".at", "must be >= 0, got %s", s.At)
			}
			if i > 0 && s.At <= p.Steps[i-1].At {
				bad(f+".at", "must be after steps[%d].at (%s), got %s", i-1, p.Steps[i-1].At, s.At)
			}
		}
		unused("from", p.From != 0)
		unused("to", p.To != 0)
		unused("over", p.Over != 0)
		unused("spike_rate", p.SpikeRate != 0)
		unused("spike_at", p.SpikeAt != 0)
		unused("spike_for", p.SpikeFor != 0)
	case ProfileSpike:
		positive("rate", p.Rate)
		positive("spike_rate", p.SpikeRate)
		if p.SpikeAt < 0 {
			bad("spike_at", "must be >= 0, got %s", p.SpikeAt)
		}
		if p.SpikeFor <= 0 {
			bad("spike_for", "must be > 0, got %s", p.SpikeFor)
		}
		unused("from", p.From != 0)
		unused("to", p.To != 0)
		unused("over", p.Over != 0)
		unused("steps", len(p.Steps) > 0)
	case "":
		bad("kind", "missing (want constant, ramp, step or spike)")
	default:
		bad("kind", "unknown %q (want constant, ramp, step or spike)", p.Kind)
	}
	return ps
}
