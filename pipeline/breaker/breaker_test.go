package breaker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var errDown = errors.New("qdrant down")

func fail(context.Context) error    { return errDown }
func succeed(context.Context) error { return nil }

// recorder collects transitions from the state-change hook.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) hook(name string, from, to State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%s:%s->%s", name, from, to))
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.got, " ")
}

func newBreaker(t *testing.T, cfg Config, opts ...Opt) (*Breaker, *recorder) {
	t.Helper()
	rec := &recorder{}
	b, err := New(cfg, append(opts, WithOnStateChange(rec.hook))...)
	if err != nil {
		t.Fatal(err)
	}
	return b, rec
}

func thresholdConfig() Config {
	return Config{Name: "qdrant", FailureThreshold: 3, CoolDown: 5 * time.Second, HalfOpenProbes: 1}
}

func wantState(t *testing.T, b *Breaker, want State) {
	t.Helper()
	if got := b.State(); got != want {
		t.Fatalf("state = %v; want %v", got, want)
	}
}

// trip opens b with FailureThreshold failures.
func trip(t *testing.T, b *Breaker) {
	t.Helper()
	for range b.Config().FailureThreshold {
		if err := b.Execute(t.Context(), fail); !errors.Is(err, errDown) {
			t.Fatalf("Execute = %v; want fn's error unchanged", err)
		}
	}
	wantState(t, b, Open)
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultConfig("qdrant").Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	err := Config{FailureRatio: 1.5, MinRequests: -1, Window: -1, HalfOpenProbes: 0, FailureThreshold: -1}.Validate()
	for _, field := range []string{"name:", "failure_threshold:", "failure_ratio:", "min_requests:", "window:", "cool_down:", "half_open_probes:"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate error %v does not name %s", err, field)
		}
	}
	err = Config{Name: "x", CoolDown: time.Second, HalfOpenProbes: 1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "could never open") {
		t.Errorf("no trip rule: err = %v", err)
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted the zero Config")
	}
}

func TestStateStrings(t *testing.T) {
	t.Parallel()
	for s, want := range map[State]string{Closed: "CLOSED", HalfOpen: "HALF_OPEN", Open: "OPEN", 7: "State(7)"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q; want %q", int(s), s.String(), want)
		}
	}
	if b, _ := Open.MarshalText(); string(b) != "OPEN" {
		t.Errorf("MarshalText = %s", b)
	}
}

func TestClosedToOpenByConsecutiveFailures(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b, rec := newBreaker(t, thresholdConfig())
		ctx := t.Context()
		b.Execute(ctx, fail)
		b.Execute(ctx, fail)
		b.Execute(ctx, succeed) // resets the run of failures
		b.Execute(ctx, fail)
		b.Execute(ctx, fail)
		wantState(t, b, Closed)
		if s := b.Snapshot(); s.ConsecutiveFailures != 2 || s.Failures != 4 || s.Successes != 1 {
			t.Errorf("snapshot %+v", s)
		}
		b.Execute(ctx, fail)
		wantState(t, b, Open)
		if rec.String() != "qdrant:CLOSED->OPEN" {
			t.Errorf("transitions %q", rec)
		}
		s := b.Snapshot()
		if !s.Since.Equal(time.Now()) || !s.OpenUntil.Equal(time.Now().Add(5*time.Second)) {
			t.Errorf("snapshot %+v", s)
		}
	})
}

func TestClosedToOpenByRatio(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{Name: "qdrant", FailureRatio: 0.5, MinRequests: 4, Window: 10 * time.Second, CoolDown: time.Second, HalfOpenProbes: 1}
		b, _ := newBreaker(t, cfg)
		ctx := t.Context()
		// Three failures in a row: ratio 1, but fewer than MinRequests calls.
		for range 3 {
			b.Execute(ctx, fail)
		}
		wantState(t, b, Closed)
		// The window ends (strictly after 10s): counts start again.
		time.Sleep(10*time.Second + time.Nanosecond)
		if s := b.Snapshot(); s.Requests != 0 {
			t.Fatalf("counts not reset by the window: %+v", s)
		}
		b.Execute(ctx, succeed)
		b.Execute(ctx, fail)
		b.Execute(ctx, succeed)
		wantState(t, b, Closed) // 1 of 3
		b.Execute(ctx, succeed)
		wantState(t, b, Closed) // 1 of 4
		b.Execute(ctx, fail)
		wantState(t, b, Closed) // 2 of 5 < 0.5
		b.Execute(ctx, fail)
		wantState(t, b, Open) // 3 of 6 = 0.5
	})
}

func TestOpenRejectsWithoutCalling(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, thresholdConfig())
		trip(t, b)
		called := false
		err := b.Execute(t.Context(), func(context.Context) error { called = true; return nil })
		if called || !errors.Is(err, ErrOpen) || !strings.Contains(err.Error(), "qdrant") {
			t.Errorf("called %v, err %v; want ErrOpen naming the breaker", called, err)
		}
	})
}

func TestOpenToHalfOpenExactlyAfterCoolDown(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		m, _ := newMetrics(t)
		b, rec := newBreaker(t, thresholdConfig(), WithMetrics(m))
		trip(t, b)
		time.Sleep(5*time.Second - time.Nanosecond)
		wantState(t, b, Open)
		time.Sleep(time.Nanosecond) // exactly CoolDown: still OPEN
		wantState(t, b, Open)
		if err := b.Execute(t.Context(), succeed); !errors.Is(err, ErrOpen) {
			t.Fatalf("Execute at the end of the cool-down = %v; want ErrOpen", err)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		// The timer moved it without anyone calling the breaker.
		if got := testutil.ToFloat64(m.state.WithLabelValues("qdrant")); got != float64(HalfOpen) {
			t.Errorf("state gauge = %v; want 1 (half-open)", got)
		}
		if rec.String() != "qdrant:CLOSED->OPEN qdrant:OPEN->HALF_OPEN" {
			t.Errorf("transitions %q", rec)
		}
		wantState(t, b, HalfOpen)
	})
}

func TestHalfOpenToClosedAfterProbes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cfg := thresholdConfig()
		cfg.HalfOpenProbes = 2
		b, rec := newBreaker(t, cfg)
		trip(t, b)
		time.Sleep(cfg.CoolDown + time.Nanosecond)
		wantState(t, b, HalfOpen)
		if err := b.Execute(t.Context(), succeed); err != nil {
			t.Fatal(err)
		}
		wantState(t, b, HalfOpen) // one of two probes
		if err := b.Execute(t.Context(), succeed); err != nil {
			t.Fatal(err)
		}
		wantState(t, b, Closed)
		if rec.String() != "qdrant:CLOSED->OPEN qdrant:OPEN->HALF_OPEN qdrant:HALF_OPEN->CLOSED" {
			t.Errorf("transitions %q", rec)
		}
		if s := b.Snapshot(); s.Requests != 0 || s.Failures != 0 {
			t.Errorf("counts not fresh after closing: %+v", s)
		}
	})
}

func TestHalfOpenToOpenOnProbeFailure(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b, rec := newBreaker(t, thresholdConfig())
		trip(t, b)
		time.Sleep(5*time.Second + time.Nanosecond)
		wantState(t, b, HalfOpen)
		if err := b.Execute(t.Context(), fail); !errors.Is(err, errDown) {
			t.Fatal(err)
		}
		wantState(t, b, Open)
		reopened := time.Now()
		// A full cool-down again.
		time.Sleep(5 * time.Second)
		wantState(t, b, Open)
		time.Sleep(time.Nanosecond)
		wantState(t, b, HalfOpen)
		if got := b.Snapshot().Since.Sub(reopened); got != 5*time.Second+time.Nanosecond {
			t.Errorf("half-open since %v after reopening", got)
		}
		want := "qdrant:CLOSED->OPEN qdrant:OPEN->HALF_OPEN qdrant:HALF_OPEN->OPEN qdrant:OPEN->HALF_OPEN"
		if rec.String() != want {
			t.Errorf("transitions %q; want %q", rec, want)
		}
	})
}

func TestHalfOpenLimitsProbes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, thresholdConfig())
		trip(t, b)
		time.Sleep(5*time.Second + time.Nanosecond)
		release := make(chan struct{})
		done := make(chan error)
		go func() {
			done <- b.Execute(t.Context(), func(context.Context) error { <-release; return nil })
		}()
		synctest.Wait() // the probe is in flight
		if err := b.Execute(t.Context(), succeed); !errors.Is(err, ErrOpen) {
			t.Errorf("second call during the probe = %v; want ErrOpen", err)
		}
		// A waiter blocks until the probe finishes (and closes the breaker).
		waited := make(chan error)
		go func() { waited <- b.WaitUntilAllowed(t.Context()) }()
		synctest.Wait()
		select {
		case err := <-waited:
			t.Fatalf("WaitUntilAllowed returned %v while the probe was in flight", err)
		default:
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
		wantState(t, b, Closed)
	})
}

func TestCancellationIsNotAFailure(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cfg := thresholdConfig()
		cfg.FailureThreshold = 1
		b, _ := newBreaker(t, cfg)
		err := b.Execute(t.Context(), func(context.Context) error { return fmt.Errorf("upsert: %w", context.Canceled) })
		if !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		wantState(t, b, Closed)

		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		called := false
		if err := b.Execute(ctx, func(context.Context) error { called = true; return nil }); called || !errors.Is(err, context.Canceled) {
			t.Errorf("done ctx: called %v, err %v", called, err)
		}
	})
}

func TestIsFailureOption(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		errBadInput := errors.New("invalid argument")
		cfg := thresholdConfig()
		cfg.FailureThreshold = 1
		b, _ := newBreaker(t, cfg, WithIsFailure(func(err error) bool { return !errors.Is(err, errBadInput) }))
		b.Execute(t.Context(), func(context.Context) error { return errBadInput })
		wantState(t, b, Closed)
		if s := b.Snapshot(); s.Successes != 1 {
			t.Errorf("a non-failure error should count as a success: %+v", s)
		}
		b.Execute(t.Context(), fail)
		wantState(t, b, Open)
	})
}

func TestWaitUntilAllowed(t *testing.T) {
	t.Parallel()
	t.Run("closed returns at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, _ := newBreaker(t, thresholdConfig())
			start := time.Now()
			if err := b.WaitUntilAllowed(t.Context()); err != nil || time.Since(start) != 0 {
				t.Errorf("err %v after %v", err, time.Since(start))
			}
		})
	})
	t.Run("open returns at the end of the cool-down", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, _ := newBreaker(t, thresholdConfig())
			trip(t, b)
			start := time.Now()
			time.Sleep(2 * time.Second)
			if err := b.WaitUntilAllowed(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := time.Since(start); got != 5*time.Second+time.Nanosecond {
				t.Errorf("returned %v after opening; want the cool-down (5s) plus 1ns", got)
			}
			wantState(t, b, HalfOpen)
		})
	})
	t.Run("context cancel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, _ := newBreaker(t, thresholdConfig())
			trip(t, b)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			start := time.Now()
			err := b.WaitUntilAllowed(ctx)
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 2*time.Second {
				t.Errorf("err %v after %v; want deadline exceeded after 2s", err, time.Since(start))
			}
			if !strings.Contains(err.Error(), "OPEN") {
				t.Errorf("error %q does not say the breaker was open", err)
			}
		})
	})
	t.Run("changed channel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, _ := newBreaker(t, thresholdConfig())
			ch := b.Changed()
			trip(t, b)
			select {
			case <-ch:
			default:
				t.Fatal("Changed channel not closed by CLOSED->OPEN")
			}
		})
	})
}

func TestHookMayCallBreaker(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var seen []State
		var b *Breaker
		b, err := New(thresholdConfig(), WithOnStateChange(func(_ string, _, to State) {
			seen = append(seen, b.State(), to)
		}))
		if err != nil {
			t.Fatal(err)
		}
		trip(t, b)
		if fmt.Sprint(seen) != "[OPEN OPEN]" {
			t.Errorf("hook saw %v", seen)
		}
	})
}

func newMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, "vectorstream")
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		m, reg := newMetrics(t)
		b, _ := newBreaker(t, thresholdConfig(), WithMetrics(m))
		if _, err := New(Config{Name: "dlq", FailureThreshold: 1, CoolDown: time.Second, HalfOpenProbes: 1}, WithMetrics(m)); err != nil {
			t.Fatal(err)
		}
		trip(t, b)                                  // closed -> open
		time.Sleep(5*time.Second + time.Nanosecond) // open -> half_open
		b.Execute(t.Context(), fail)                // half_open -> open
		time.Sleep(5*time.Second + time.Nanosecond) // open -> half_open
		b.Execute(t.Context(), succeed)             // half_open -> closed
		trip(t, b)                                  // closed -> open
		want := `
# HELP vectorstream_breaker_state State of the circuit breaker: 0 closed, 1 half-open, 2 open.
# TYPE vectorstream_breaker_state gauge
vectorstream_breaker_state{breaker="dlq"} 0
vectorstream_breaker_state{breaker="qdrant"} 2
# HELP vectorstream_breaker_transitions_total Circuit breaker state transitions, by the state left and the state entered.
# TYPE vectorstream_breaker_transitions_total counter
vectorstream_breaker_transitions_total{breaker="dlq",from="closed",to="open"} 0
vectorstream_breaker_transitions_total{breaker="dlq",from="half_open",to="closed"} 0
vectorstream_breaker_transitions_total{breaker="dlq",from="half_open",to="open"} 0
vectorstream_breaker_transitions_total{breaker="dlq",from="open",to="half_open"} 0
vectorstream_breaker_transitions_total{breaker="qdrant",from="closed",to="open"} 2
vectorstream_breaker_transitions_total{breaker="qdrant",from="half_open",to="closed"} 1
vectorstream_breaker_transitions_total{breaker="qdrant",from="half_open",to="open"} 1
vectorstream_breaker_transitions_total{breaker="qdrant",from="open",to="half_open"} 2
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
			t.Error(err)
		}
		if _, err := NewMetrics(reg, "vectorstream"); err == nil {
			t.Error("registering the metrics twice succeeded")
		}
		if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
			t.Errorf("promlint: %v %v", problems, err)
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		cfg := thresholdConfig()
		cfg.HalfOpenProbes = 3
		b, _ := newBreaker(t, cfg)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 200 {
					if (i+j)%3 == 0 {
						b.Execute(t.Context(), fail)
					} else {
						b.Execute(t.Context(), succeed)
					}
					b.Snapshot()
					if j%50 == 0 {
						time.Sleep(time.Second)
					}
				}
			})
		}
		wg.Wait()
	})
}
