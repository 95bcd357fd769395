package retry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Strategy says how the wait grows from one retry to the next.
type Strategy int

// The strategies of the original design. The zero Strategy is invalid.
const (
	// Fixed waits Base before every retry.
	Fixed Strategy = iota + 1
	// Linear waits Base·n before the n-th retry.
	Linear
	// Exponential waits Base·Multiplier^(n-1) before the n-th retry.
	Exponential
	// ExponentialJitter waits a random time in [e/2, e) before the n-th retry, where
	// e is the Exponential delay capped at Max ("equal jitter").
	ExponentialJitter
)

var strategyNames = map[Strategy]string{
	Fixed:             "FIXED",
	Linear:            "LINEAR",
	Exponential:       "EXPONENTIAL",
	ExponentialJitter: "EXPONENTIAL_JITTER",
}

// String returns the strategy's name as configuration spells it: "FIXED", "LINEAR",
// "EXPONENTIAL" or "EXPONENTIAL_JITTER".
func (s Strategy) String() string {
	if n, ok := strategyNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// ParseStrategy returns the strategy named s, ignoring case and surrounding space.
func ParseStrategy(s string) (Strategy, error) {
	want := strings.ToUpper(strings.TrimSpace(s))
	for st, n := range strategyNames {
		if n == want {
			return st, nil
		}
	}
	return 0, fmt.Errorf("retry: unknown strategy %q (want one of FIXED, LINEAR, EXPONENTIAL, EXPONENTIAL_JITTER)", s)
}

// MarshalText implements encoding.TextMarshaler with the name String returns.
func (s Strategy) MarshalText() ([]byte, error) {
	if _, ok := strategyNames[s]; !ok {
		return nil, fmt.Errorf("retry: marshal invalid strategy %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseStrategy, so a
// strategy can be read from YAML or flags.
func (s *Strategy) UnmarshalText(b []byte) error {
	st, err := ParseStrategy(string(b))
	if err != nil {
		return err
	}
	*s = st
	return nil
}

// Policy is a complete retry configuration. The zero Policy is invalid; start from
// Named or fill every field and call Validate.
type Policy struct {
	// Name identifies the policy in errors and metrics, e.g. "DEFAULT".
	Name string
	// Strategy says how the wait grows.
	Strategy Strategy
	// Attempts is the number of tries, the first included; at least 1.
	Attempts int
	// Base is the first wait (and every wait for Fixed); more than zero.
	Base time.Duration
	// Max caps every wait; at least Base.
	Max time.Duration
	// Multiplier is the growth factor of the exponential strategies; 0 means 2,
	// otherwise at least 1. Fixed and Linear ignore it.
	Multiplier float64
	// Retryable says whether an error is worth another try; nil means the package
	// function Retryable.
	Retryable func(error) bool
}

// Named policies; see the table in the package documentation.
var named = map[string]Policy{
	"DEFAULT":      {Name: "DEFAULT", Strategy: ExponentialJitter, Attempts: 5, Base: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2},
	"AGGRESSIVE":   {Name: "AGGRESSIVE", Strategy: Exponential, Attempts: 10, Base: 50 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2},
	"CONSERVATIVE": {Name: "CONSERVATIVE", Strategy: Linear, Attempts: 3, Base: time.Second, Max: 10 * time.Second},
	"NETWORK":      {Name: "NETWORK", Strategy: ExponentialJitter, Attempts: 8, Base: 200 * time.Millisecond, Max: 30 * time.Second, Multiplier: 2},
}

// Named returns a copy of the named policy (DEFAULT, AGGRESSIVE, CONSERVATIVE or
// NETWORK; case is ignored) with Retryable set to the package function Retryable.
func Named(name string) (Policy, error) {
	p, ok := named[strings.ToUpper(strings.TrimSpace(name))]
	if !ok {
		return Policy{}, fmt.Errorf("retry: unknown policy %q (want one of %s)", name, strings.Join(Names(), ", "))
	}
	p.Retryable = Retryable
	return p, nil
}

// Names returns the names of the named policies, sorted.
func Names() []string {
	out := make([]string, 0, len(named))
	for n := range named {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Validate reports every invalid field at once, each naming the field.
func (p Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("retry: policy %q: "+format, append([]any{p.Name}, args...)...))
	}
	if _, ok := strategyNames[p.Strategy]; !ok {
		bad("strategy: %s is not one of FIXED, LINEAR, EXPONENTIAL, EXPONENTIAL_JITTER", p.Strategy)
	}
	if p.Attempts < 1 {
		bad("attempts: %d, want at least 1", p.Attempts)
	}
	if p.Base <= 0 {
		bad("base: %v, want more than 0", p.Base)
	}
	if p.Max < p.Base {
		bad("max: %v, want at least base (%v)", p.Max, p.Base)
	}
	if p.Multiplier != 0 && (p.Multiplier < 1 || math.IsNaN(p.Multiplier) || math.IsInf(p.Multiplier, 0)) {
		bad("multiplier: %v, want 0 (meaning 2) or a finite number of at least 1", p.Multiplier)
	}
	return errors.Join(errs...)
}

// Delay returns the wait before the retry-th retry (retry ≥ 1; the wait between try
// retry and try retry+1), following the formulas in the package documentation and
// capped at Max. ExponentialJitter returns h + ⌊U·h⌋ with h = ⌊e/2⌋ and U =
// rnd.Float64(); it is the only strategy that draws from rnd, exactly once per call,
// so a seeded rnd gives the same delays every time. A nil rnd uses the math/rand/v2
// top-level source. Delay returns 0 for retry < 1.
func (p Policy) Delay(retry int, rnd *rand.Rand) time.Duration {
	if retry < 1 {
		return 0
	}
	base := float64(p.Base)
	var d float64
	switch p.Strategy {
	case Fixed:
		d = base
	case Linear:
		d = base * float64(retry)
	case Exponential, ExponentialJitter:
		m := p.Multiplier
		if m == 0 {
			m = 2
		}
		d = base * math.Pow(m, float64(retry-1))
	default:
		d = base
	}
	if hi := float64(p.Max); p.Max > 0 && d > hi {
		d = hi
	}
	if d > math.MaxInt64 {
		d = math.MaxInt64
	}
	if p.Strategy == ExponentialJitter {
		var u float64
		if rnd != nil {
			u = rnd.Float64()
		} else {
			u = rand.Float64()
		}
		half := time.Duration(d) / 2
		return half + time.Duration(u*float64(half))
	}
	return time.Duration(d)
}
