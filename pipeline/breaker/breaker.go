package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// State is the state of a breaker. Its numeric value is the value of the
// vectorstream_breaker_state gauge.
type State int

// The three states.
const (
	// Closed lets calls through and counts their failures.
	Closed State = 0
	// HalfOpen lets a limited number of probe calls through.
	HalfOpen State = 1
	// Open rejects every call until the cool-down is over.
	Open State = 2
)

// String returns "CLOSED", "HALF_OPEN" or "OPEN".
func (s State) String() string {
	switch s {
	case Closed:
		return "CLOSED"
	case HalfOpen:
		return "HALF_OPEN"
	case Open:
		return "OPEN"
	default:
		return fmt.Sprintf("State(%d)", int(s))
	}
}

// MarshalText implements encoding.TextMarshaler with String, so health endpoints
// show "OPEN" rather than 2.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// label is the state as a Prometheus label value.
func (s State) label() string {
	switch s {
	case Closed:
		return "closed"
	case HalfOpen:
		return "half_open"
	case Open:
		return "open"
	default:
		return "unknown"
	}
}

func fromGobreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateHalfOpen:
		return HalfOpen
	case gobreaker.StateOpen:
		return Open
	default:
		return Closed
	}
}

// ErrOpen is matched (errors.Is) by the error Execute returns when the breaker
// rejected the call without running it: the breaker is OPEN, or HALF_OPEN with all
// its probes in flight.
var ErrOpen = errors.New("circuit breaker open")

// Config sets when a breaker trips and how it recovers. See the package
// documentation for the exact rules.
type Config struct {
	// Name identifies the breaker in errors, hooks and the breaker metric label,
	// e.g. "qdrant" or "dlq".
	Name string `yaml:"-" json:"-"`
	// FailureThreshold trips the breaker after this many consecutive failures;
	// 0 disables the rule.
	FailureThreshold int `yaml:"failure_threshold" json:"failure_threshold"`
	// FailureRatio trips the breaker when failures/(failures+successes) in the
	// current window reaches it, in (0, 1]; 0 disables the rule.
	FailureRatio float64 `yaml:"failure_ratio" json:"failure_ratio"`
	// MinRequests is the number of finished calls in the window below which
	// FailureRatio is not applied; at least 1 when FailureRatio is set.
	MinRequests int `yaml:"min_requests" json:"min_requests"`
	// Window is the length of the CLOSED counting window; 0 means counts reset only
	// when the state changes.
	Window time.Duration `yaml:"window" json:"window"`
	// CoolDown is how long the breaker stays OPEN before it lets probes through.
	CoolDown time.Duration `yaml:"cool_down" json:"cool_down"`
	// HalfOpenProbes is how many probe calls HALF_OPEN lets through, and how many
	// consecutive successes close the breaker; at least 1.
	HalfOpenProbes int `yaml:"half_open_probes" json:"half_open_probes"`
}

// DefaultConfig returns the configuration the pipeline starts from (its `breaker:`
// section, for both of its breakers): trip after 5 consecutive failures or when half
// of at least 20 calls in a 30 s window failed, probe with 1 call after 5 s.
func DefaultConfig(name string) Config {
	return Config{
		Name:             name,
		FailureThreshold: 5,
		FailureRatio:     0.5,
		MinRequests:      20,
		Window:           30 * time.Second,
		CoolDown:         5 * time.Second,
		HalfOpenProbes:   1,
	}
}

// Validate reports every invalid field at once, each naming the field.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("breaker %q: "+format, append([]any{c.Name}, args...)...))
	}
	if c.Name == "" {
		bad("name: empty")
	}
	if c.FailureThreshold < 0 || c.FailureThreshold > math.MaxUint32 {
		bad("failure_threshold: %d, want 0 (off) or more", c.FailureThreshold)
	}
	if c.FailureRatio < 0 || c.FailureRatio > 1 || math.IsNaN(c.FailureRatio) {
		bad("failure_ratio: %v, want 0 (off) or a number in (0, 1]", c.FailureRatio)
	}
	if c.FailureThreshold == 0 && c.FailureRatio == 0 {
		bad("failure_threshold and failure_ratio: both 0, the breaker could never open")
	}
	if c.MinRequests < 0 || c.MinRequests > math.MaxUint32 || (c.FailureRatio > 0 && c.MinRequests < 1) {
		bad("min_requests: %d, want at least 1 when failure_ratio is set", c.MinRequests)
	}
	if c.Window < 0 {
		bad("window: %v, want 0 (no reset) or more", c.Window)
	}
	if c.CoolDown <= 0 {
		bad("cool_down: %v, want more than 0", c.CoolDown)
	}
	if c.HalfOpenProbes < 1 || c.HalfOpenProbes > math.MaxUint32 {
		bad("half_open_probes: %d, want at least 1", c.HalfOpenProbes)
	}
	return errors.Join(errs...)
}

// Opt configures a Breaker.
type Opt interface{ apply(*options) }

type options struct {
	isFailure func(error) bool
	metrics   *Metrics
	hooks     []func(name string, from, to State)
}

type optFunc func(*options)

func (f optFunc) apply(o *options) { f(o) }

// WithIsFailure sets which errors count as failures; errors for which fn is false
// count as successes (the dependency answered). The default counts every non-nil
// error. Errors matching context.Canceled are never counted.
func WithIsFailure(fn func(error) bool) Opt {
	return optFunc(func(o *options) { o.isFailure = fn })
}

// WithMetrics records the breaker's state and transitions in m. The default records
// nothing.
func WithMetrics(m *Metrics) Opt { return optFunc(func(o *options) { o.metrics = m }) }

// WithOnStateChange calls fn (after any hooks given before) on every transition,
// in order, from the goroutine whose call caused it (or the cool-down timer's).
// fn may call the breaker's methods. The default is none.
func WithOnStateChange(fn func(name string, from, to State)) Opt {
	return optFunc(func(o *options) { o.hooks = append(o.hooks, fn) })
}

type transition struct{ from, to State }

// Breaker is a circuit breaker. Its methods are safe for concurrent use.
type Breaker struct {
	cfg       Config
	isFailure func(error) bool
	metrics   *Metrics
	hooks     []func(name string, from, to State)
	gb        *gobreaker.CircuitBreaker[struct{}]

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on every transition and finished probe
	since       time.Time     // when the current state began
	openUntil   time.Time     // end of the cool-down while OPEN
	timer       *time.Timer   // moves OPEN to HALF_OPEN on time
	pending     []transition  // transitions whose hooks have not run yet
	dispatching bool
}

// New returns a CLOSED breaker, or the configuration's problems.
func New(cfg Config, opts ...Opt) (*Breaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{isFailure: func(err error) bool { return err != nil }}
	for _, opt := range opts {
		opt.apply(&o)
	}
	b := &Breaker{
		cfg:       cfg,
		isFailure: o.isFailure,
		metrics:   o.metrics,
		hooks:     o.hooks,
		changed:   make(chan struct{}),
		since:     time.Now(),
	}
	b.gb = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:          cfg.Name,
		MaxRequests:   uint32(cfg.HalfOpenProbes),
		Interval:      cfg.Window,
		Timeout:       cfg.CoolDown,
		ReadyToTrip:   b.readyToTrip,
		OnStateChange: b.onStateChange,
		IsSuccessful:  func(err error) bool { return err == nil || !b.isFailure(err) },
		IsExcluded:    func(err error) bool { return errors.Is(err, context.Canceled) },
	})
	if b.metrics != nil {
		b.metrics.init(cfg.Name)
	}
	return b, nil
}

// Name returns Config.Name.
func (b *Breaker) Name() string { return b.cfg.Name }

// Config returns the breaker's configuration.
func (b *Breaker) Config() Config { return b.cfg }

func (b *Breaker) readyToTrip(c gobreaker.Counts) bool {
	if t := b.cfg.FailureThreshold; t > 0 && c.ConsecutiveFailures >= uint32(t) {
		return true
	}
	if r := b.cfg.FailureRatio; r > 0 {
		done := uint64(c.TotalSuccesses) + uint64(c.TotalFailures)
		if done >= uint64(b.cfg.MinRequests) && float64(c.TotalFailures) >= r*float64(done) {
			return true
		}
	}
	return false
}

// onStateChange runs under gobreaker's lock: it records the transition and leaves
// the user's hooks to dispatch.
func (b *Breaker) onStateChange(_ string, from, to gobreaker.State) {
	f, t := fromGobreaker(from), fromGobreaker(to)
	now := time.Now()
	b.mu.Lock()
	b.since = now
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	b.openUntil = time.Time{}
	if t == Open {
		b.openUntil = now.Add(b.cfg.CoolDown)
		// gobreaker leaves OPEN once the cool-down has strictly passed.
		b.timer = time.AfterFunc(b.cfg.CoolDown+time.Nanosecond, func() { b.State() })
	}
	b.pending = append(b.pending, transition{f, t})
	b.notifyLocked()
	b.mu.Unlock()
	if b.metrics != nil {
		b.metrics.observe(b.cfg.Name, f, t)
	}
}

func (b *Breaker) notifyLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// dispatch runs the hooks of pending transitions in order, outside gobreaker's
// lock. A hook that calls back into the breaker only queues; the outer loop runs it.
func (b *Breaker) dispatch() {
	b.mu.Lock()
	if b.dispatching || len(b.pending) == 0 {
		b.mu.Unlock()
		return
	}
	b.dispatching = true
	for len(b.pending) > 0 {
		tr := b.pending[0]
		b.pending = b.pending[1:]
		b.mu.Unlock()
		for _, h := range b.hooks {
			h(b.cfg.Name, tr.from, tr.to)
		}
		b.mu.Lock()
	}
	b.dispatching = false
	b.mu.Unlock()
}

// State returns the current state.
func (b *Breaker) State() State {
	s := fromGobreaker(b.gb.State())
	b.dispatch()
	return s
}

// Execute runs fn with ctx if the breaker lets the call through and records its
// outcome; it returns fn's error unchanged. Without running fn it returns an error
// matching ErrOpen when the breaker rejects the call, and ctx's error when ctx is
// already done.
func (b *Breaker) Execute(ctx context.Context, fn func(ctx context.Context) error) error {
	defer b.dispatch()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("breaker %s: %w", b.cfg.Name, context.Cause(ctx))
	}
	ran, probe := false, false
	_, err := b.gb.Execute(func() (struct{}, error) {
		ran = true
		probe = b.gb.State() == gobreaker.StateHalfOpen
		return struct{}{}, fn(ctx)
	})
	if !ran {
		switch {
		case errors.Is(err, gobreaker.ErrOpenState):
			return fmt.Errorf("breaker %s: %w", b.cfg.Name, ErrOpen)
		case errors.Is(err, gobreaker.ErrTooManyRequests):
			return fmt.Errorf("breaker %s: half-open with %d probe(s) in flight: %w", b.cfg.Name, b.cfg.HalfOpenProbes, ErrOpen)
		}
		return fmt.Errorf("breaker %s: %w", b.cfg.Name, err)
	}
	if probe {
		// A finished probe may free a slot without a transition; wake the waiters.
		b.mu.Lock()
		b.notifyLocked()
		b.mu.Unlock()
	}
	return err
}

// allowed reports whether a call made now would run.
func (b *Breaker) allowed() bool {
	switch b.State() {
	case Closed:
		return true
	case HalfOpen:
		c := b.gb.Counts()
		return c.Requests-min(c.TotalExclusions, c.Requests) < uint32(b.cfg.HalfOpenProbes)
	default:
		return false
	}
}

// WaitUntilAllowed returns nil at once when a call would run now (CLOSED, or
// HALF_OPEN with a probe free), otherwise blocks until that is so — at the end of
// the cool-down, or when a probe finishes — or returns ctx's error when ctx is done
// first. It does not reserve the call: a concurrent caller may take the probe, and
// Execute then returns ErrOpen. It waits on notifications, never by polling.
func (b *Breaker) WaitUntilAllowed(ctx context.Context) error {
	for {
		ch := b.Changed()
		if b.allowed() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("breaker %s: wait while %s: %w", b.cfg.Name, b.State(), context.Cause(ctx))
		}
	}
}

// Changed returns a channel that is closed at the next transition (or finished
// probe). Read it before State to not miss a change: ch := b.Changed(); s :=
// b.State(); <-ch. The pipeline uses it to replay the spool when the breaker closes.
func (b *Breaker) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

// Snapshot is the breaker's state for health endpoints and logs.
type Snapshot struct {
	// Name is Config.Name.
	Name string `json:"name"`
	// State is the current state.
	State State `json:"state"`
	// Since is when the current state began.
	Since time.Time `json:"since"`
	// OpenUntil is the end of the cool-down while OPEN, zero otherwise.
	OpenUntil time.Time `json:"open_until,omitzero"`
	// Requests, Successes, Failures and ConsecutiveFailures are the counts of the
	// current window (CLOSED) or probe round (HALF_OPEN).
	Requests            uint32 `json:"requests"`
	Successes           uint32 `json:"successes"`
	Failures            uint32 `json:"failures"`
	ConsecutiveFailures uint32 `json:"consecutive_failures"`
}

// Snapshot returns the current state and counts.
func (b *Breaker) Snapshot() Snapshot {
	st := b.State()
	c := b.gb.Counts()
	b.mu.Lock()
	defer b.mu.Unlock()
	return Snapshot{
		Name: b.cfg.Name, State: st, Since: b.since, OpenUntil: b.openUntil,
		Requests: c.Requests, Successes: c.TotalSuccesses, Failures: c.TotalFailures,
		ConsecutiveFailures: c.ConsecutiveFailures,
	}
}
