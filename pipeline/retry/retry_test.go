package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const ms = time.Millisecond

// constSource makes rand.Rand.Float64 return v/2^53 every time.
type constSource uint64

func (c constSource) Uint64() uint64 { return uint64(c) }

func TestStrategyNames(t *testing.T) {
	t.Parallel()
	for _, s := range []Strategy{Fixed, Linear, Exponential, ExponentialJitter} {
		for _, in := range []string{s.String(), strings.ToLower(s.String()), " " + s.String() + " "} {
			got, err := ParseStrategy(in)
			if err != nil || got != s {
				t.Errorf("ParseStrategy(%q) = %v, %v; want %v", in, got, err, s)
			}
		}
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Strategy
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("text round trip of %v = %v, %v", s, back, err)
		}
	}
	if got := ExponentialJitter.String(); got != "EXPONENTIAL_JITTER" {
		t.Errorf("String = %q", got)
	}
	_, err := ParseStrategy("quadratic")
	if err == nil || !strings.Contains(err.Error(), `"quadratic"`) || !strings.Contains(err.Error(), "EXPONENTIAL_JITTER") {
		t.Errorf("ParseStrategy(quadratic) error = %v; want it to name the input and the choices", err)
	}
	if _, err := Strategy(0).MarshalText(); err == nil {
		t.Error("MarshalText of the zero Strategy succeeded")
	}
}

func TestNamed(t *testing.T) {
	t.Parallel()
	want := map[string]Policy{
		"DEFAULT":      {Name: "DEFAULT", Strategy: ExponentialJitter, Attempts: 5, Base: 100 * ms, Max: 5 * time.Second, Multiplier: 2},
		"AGGRESSIVE":   {Name: "AGGRESSIVE", Strategy: Exponential, Attempts: 10, Base: 50 * ms, Max: 2 * time.Second, Multiplier: 2},
		"CONSERVATIVE": {Name: "CONSERVATIVE", Strategy: Linear, Attempts: 3, Base: time.Second, Max: 10 * time.Second},
		"NETWORK":      {Name: "NETWORK", Strategy: ExponentialJitter, Attempts: 8, Base: 200 * ms, Max: 30 * time.Second, Multiplier: 2},
	}
	if got := Names(); fmt.Sprint(got) != "[AGGRESSIVE CONSERVATIVE DEFAULT NETWORK]" {
		t.Errorf("Names() = %v", got)
	}
	for name, w := range want {
		p, err := Named(strings.ToLower(name))
		if err != nil {
			t.Fatalf("Named(%s): %v", name, err)
		}
		if p.Retryable == nil {
			t.Errorf("%s: Retryable is nil", name)
		}
		p.Retryable = nil
		if fmt.Sprintf("%+v", p) != fmt.Sprintf("%+v", w) {
			t.Errorf("Named(%s) = %+v; want %+v", name, p, w)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Named("turbo"); err == nil || !strings.Contains(err.Error(), "NETWORK") {
		t.Errorf("Named(turbo) error = %v; want it to list the policies", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	err := Policy{Name: "bad", Multiplier: 0.5, Base: -1, Max: -2}.Validate()
	if err == nil {
		t.Fatal("Validate accepted an invalid policy")
	}
	for _, field := range []string{"strategy:", "attempts:", "base:", "max:", "multiplier:"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("Validate error %q does not name %s", err, field)
		}
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	s := time.Second
	cases := []struct {
		name string
		p    Policy
		rnd  *rand.Rand
		want []time.Duration // for retries 1, 2, …
	}{
		{"fixed", Policy{Strategy: Fixed, Base: 250 * ms, Max: s}, nil,
			[]time.Duration{250 * ms, 250 * ms, 250 * ms, 250 * ms}},
		{"linear/conservative", named["CONSERVATIVE"], nil,
			[]time.Duration{s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, 7 * s, 8 * s, 9 * s, 10 * s, 10 * s, 10 * s}},
		{"exponential/aggressive", named["AGGRESSIVE"], nil,
			[]time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 2 * s, 2 * s, 2 * s}},
		{"exponential x3", Policy{Strategy: Exponential, Base: 10 * ms, Max: s, Multiplier: 3}, nil,
			[]time.Duration{10 * ms, 30 * ms, 90 * ms, 270 * ms, 810 * ms, s}},
		{"exponential multiplier 0 means 2", Policy{Strategy: Exponential, Base: ms, Max: s}, nil,
			[]time.Duration{ms, 2 * ms, 4 * ms, 8 * ms}},
		{"jitter U=0 is half", named["DEFAULT"], rand.New(constSource(0)),
			[]time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 2500 * ms, 2500 * ms}},
		{"jitter U=0.5 is three quarters", named["DEFAULT"], rand.New(constSource(1 << 52)),
			[]time.Duration{75 * ms, 150 * ms, 300 * ms, 600 * ms, 1200 * ms, 2400 * ms, 3750 * ms, 3750 * ms}},
		{"jitter U=0.25 network", named["NETWORK"], rand.New(constSource(1 << 51)),
			[]time.Duration{125 * ms, 250 * ms, 500 * ms, 1000 * ms, 2000 * ms, 4000 * ms, 8000 * ms, 16000 * ms, 18750 * ms}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i, w := range c.want {
				if got := c.p.Delay(i+1, c.rnd); got != w {
					t.Errorf("Delay(%d) = %v; want %v", i+1, got, w)
				}
			}
		})
	}
	if got := named["AGGRESSIVE"].Delay(5000, nil); got != 2*s {
		t.Errorf("Delay(5000) = %v; want the cap", got)
	}
	if got := named["AGGRESSIVE"].Delay(0, nil); got != 0 {
		t.Errorf("Delay(0) = %v; want 0", got)
	}
}

func TestDelayJitterIsSeededAndBounded(t *testing.T) {
	t.Parallel()
	p := named["NETWORK"]
	a, b := rand.New(rand.NewPCG(1, 2)), rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 1000; n++ {
		da, db := p.Delay(n%12+1, a), p.Delay(n%12+1, b)
		if da != db {
			t.Fatalf("retry %d: %v != %v with the same seed", n%12+1, da, db)
		}
		e := min(p.Base<<(n%12), p.Max)
		if da < e/2 || da >= e {
			t.Fatalf("retry %d: %v outside [%v, %v)", n%12+1, da, e/2, e)
		}
	}
}

var errUnavailable = status.Error(codes.Unavailable, "qdrant down")

// TestDoWaitsExactDelays checks, on synctest's clock, that the tries of each named
// policy are spaced exactly by the policy's delays and that OnRetry reports them.
func TestDoWaitsExactDelays(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, _ := Named(name)
				var tries []time.Time
				var reported []time.Duration
				start := time.Now()
				err := Do(t.Context(), p, func(context.Context) error {
					tries = append(tries, time.Now())
					return errUnavailable
				}, WithRand(rand.New(rand.NewPCG(7, 7))), OnRetry(func(attempt int, err error, d time.Duration) {
					if attempt != len(tries) || err != errUnavailable {
						t.Errorf("OnRetry(%d, %v) after %d tries", attempt, err, len(tries))
					}
					reported = append(reported, d)
				}))
				if len(tries) != p.Attempts || tries[0] != start {
					t.Fatalf("%d tries, first at %v; want %d starting at once", len(tries), tries[0].Sub(start), p.Attempts)
				}
				want := rand.New(rand.NewPCG(7, 7))
				for i := 1; i < len(tries); i++ {
					d := p.Delay(i, want)
					if got := tries[i].Sub(tries[i-1]); got != d || reported[i-1] != d {
						t.Errorf("wait before try %d = %v, reported %v; want %v", i+1, got, reported[i-1], d)
					}
				}
				if !errors.Is(err, ErrExhausted) || !errors.Is(err, errUnavailable) || errors.Is(err, ErrNotRetryable) {
					t.Errorf("err = %v; want exhausted wrapping the last error", err)
				}
				var re *Error
				if !errors.As(err, &re) || re.Attempts != p.Attempts || re.Policy != name {
					t.Errorf("errors.As = %+v", re)
				}
				if s, ok := status.FromError(err); !ok || s.Code() != codes.Unavailable {
					t.Errorf("status.FromError(%v) = %v, %v; want the gRPC code to survive wrapping", err, s, ok)
				}
			})
		})
	}
}

func TestDoLiteralDelays(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := named["AGGRESSIVE"]
		start := time.Now()
		var at []time.Duration
		calls := 0
		err := Do(t.Context(), p, func(context.Context) error {
			at = append(at, time.Since(start))
			if calls++; calls == 8 {
				return nil
			}
			return io.EOF
		})
		if err != nil {
			t.Fatalf("Do = %v; want success on try 8", err)
		}
		want := []time.Duration{0, 50 * ms, 150 * ms, 350 * ms, 750 * ms, 1550 * ms, 3150 * ms, 5150 * ms}
		if fmt.Sprint(at) != fmt.Sprint(want) {
			t.Errorf("tries at %v; want %v", at, want)
		}
	})
}

func TestDoCancelCutsWaitShort(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := named["CONSERVATIVE"] // first wait 1s
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(300*ms, cancel)
		start := time.Now()
		tries := 0
		err := Do(ctx, p, func(context.Context) error { tries++; return errUnavailable })
		if got := time.Since(start); got != 300*ms {
			t.Errorf("Do returned after %v; want 300ms (the cancel), not the 1s wait", got)
		}
		var re *Error
		if tries != 1 || !errors.Is(err, context.Canceled) || errors.Is(err, ErrExhausted) || !errors.As(err, &re) || re.Attempts != 1 {
			t.Errorf("tries %d, err %v; want 1 try and a cancellation", tries, err)
		}
	})
}

func TestDoDeadlineCutsWaitShort(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 120*ms)
		defer cancel()
		start := time.Now()
		err := Do(ctx, named["AGGRESSIVE"], func(context.Context) error { return errUnavailable })
		// Tries at 0, 50, 150ms: the wait after the second is cut at 120ms.
		if got := time.Since(start); got != 120*ms {
			t.Errorf("Do returned after %v; want 120ms", got)
		}
		var re *Error
		if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &re) || re.Attempts != 2 {
			t.Errorf("err = %v; want deadline exceeded after 2 attempts", err)
		}
	})
}

func TestDoStops(t *testing.T) {
	t.Parallel()
	p, _ := Named("DEFAULT")

	t.Run("not retryable", func(t *testing.T) {
		bad := status.Error(codes.InvalidArgument, "wrong dimension")
		calls := 0
		err := Do(t.Context(), p, func(context.Context) error { calls++; return bad })
		var re *Error
		if calls != 1 || !errors.Is(err, ErrNotRetryable) || !errors.Is(err, bad) || !errors.As(err, &re) || re.Attempts != 1 {
			t.Errorf("calls %d, err %v", calls, err)
		}
		if !strings.Contains(err.Error(), "DEFAULT") || !strings.Contains(err.Error(), "wrong dimension") {
			t.Errorf("message %q lacks the policy or the cause", err)
		}
	})
	t.Run("permanent", func(t *testing.T) {
		calls := 0
		err := Do(t.Context(), p, func(context.Context) error { calls++; return Permanent(io.EOF) })
		if calls != 1 || !errors.Is(err, ErrNotRetryable) || !errors.Is(err, io.EOF) {
			t.Errorf("calls %d, err %v", calls, err)
		}
	})
	t.Run("cancelled before the first try", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		calls := 0
		err := Do(ctx, p, func(context.Context) error { calls++; return nil })
		var re *Error
		if calls != 0 || !errors.Is(err, context.Canceled) || !errors.As(err, &re) || re.Attempts != 0 || re.Last != nil {
			t.Errorf("calls %d, err %v", calls, err)
		}
	})
	t.Run("op sees the shutdown", func(t *testing.T) {
		ctx, cancel := context.WithCancelCause(t.Context())
		stop := errors.New("shutdown")
		err := Do(ctx, p, func(ctx context.Context) error {
			cancel(stop)
			return status.Error(codes.InvalidArgument, "irrelevant") // would be not-retryable
		})
		if !errors.Is(err, stop) || errors.Is(err, ErrNotRetryable) {
			t.Errorf("err = %v; want the cancel cause, not a classification", err)
		}
	})
	t.Run("invalid policy", func(t *testing.T) {
		calls := 0
		err := Do(t.Context(), Policy{Name: "x"}, func(context.Context) error { calls++; return nil })
		if calls != 0 || err == nil || !strings.Contains(err.Error(), "attempts") {
			t.Errorf("calls %d, err %v", calls, err)
		}
	})
	t.Run("custom classification", func(t *testing.T) {
		q := p
		q.Attempts = 1
		q.Retryable = func(error) bool { return false }
		err := Do(t.Context(), q, func(context.Context) error { return errUnavailable })
		if !errors.Is(err, ErrNotRetryable) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestRetryable(t *testing.T) {
	t.Parallel()
	grpc := func(c codes.Code) error { return status.Error(c, "x") }
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"UNAVAILABLE", grpc(codes.Unavailable), true},
		{"DEADLINE_EXCEEDED", grpc(codes.DeadlineExceeded), true},
		{"RESOURCE_EXHAUSTED", grpc(codes.ResourceExhausted), true},
		{"ABORTED", grpc(codes.Aborted), true},
		{"INTERNAL", grpc(codes.Internal), true},
		{"UNKNOWN", grpc(codes.Unknown), true},
		{"INVALID_ARGUMENT", grpc(codes.InvalidArgument), false},
		{"NOT_FOUND", grpc(codes.NotFound), false},
		{"ALREADY_EXISTS", grpc(codes.AlreadyExists), false},
		{"PERMISSION_DENIED", grpc(codes.PermissionDenied), false},
		{"UNAUTHENTICATED", grpc(codes.Unauthenticated), false},
		{"FAILED_PRECONDITION", grpc(codes.FailedPrecondition), false},
		{"OUT_OF_RANGE", grpc(codes.OutOfRange), false},
		{"UNIMPLEMENTED", grpc(codes.Unimplemented), false},
		{"DATA_LOSS", grpc(codes.DataLoss), false},
		{"CANCELLED", grpc(codes.Canceled), false},
		{"wrapped UNAVAILABLE", fmt.Errorf("upsert: %w", grpc(codes.Unavailable)), true},
		{"wrapped INVALID_ARGUMENT", fmt.Errorf("upsert: %w", grpc(codes.InvalidArgument)), false},
		{"context.Canceled", context.Canceled, false},
		{"wrapped context.Canceled", fmt.Errorf("upsert: %w", context.Canceled), false},
		{"context.DeadlineExceeded", context.DeadlineExceeded, true},
		{"kafka retriable", kerr.NotLeaderForPartition, true},
		{"kafka retriable wrapped", fmt.Errorf("produce: %w", kerr.LeaderNotAvailable), true},
		{"kafka not retriable", kerr.MessageTooLarge, false},
		{"kafka auth", kerr.TopicAuthorizationFailed, false},
		{"permanent", Permanent(errors.New("bad batch")), false},
		{"wrapped permanent", fmt.Errorf("x: %w", Permanent(errUnavailable)), false},
		{"io.EOF", io.EOF, true},
		{"io.ErrUnexpectedEOF", io.ErrUnexpectedEOF, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"unknown", errors.New("something odd"), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Retryable(c.err); got != c.want {
				t.Errorf("Retryable(%v) = %v; want %v", c.err, got, c.want)
			}
		})
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
}
