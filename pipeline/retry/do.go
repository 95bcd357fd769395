package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

var (
	// ErrExhausted is matched (errors.Is) by the error of a Do whose every attempt
	// failed with a retryable error.
	ErrExhausted = errors.New("retry: attempts exhausted")
	// ErrNotRetryable is matched by the error of a Do that stopped because the
	// operation returned an error the policy does not retry.
	ErrNotRetryable = errors.New("retry: error not retryable")
)

// Error is the error Do returns when it gives up. errors.Is matches it against
// exactly one of ErrExhausted, ErrNotRetryable or the context's error
// (context.Canceled, context.DeadlineExceeded or the cancel cause), and against the
// last error the operation returned; errors.As finds it for the attempt count.
type Error struct {
	// Policy is the policy's Name.
	Policy string
	// Attempts is the number of times the operation ran (0 when the context was
	// done before the first try).
	Attempts int
	// Reason is ErrExhausted, ErrNotRetryable or the context's cause.
	Reason error
	// Last is the operation's last error; nil when it never ran.
	Last error
}

// Error describes why Do stopped and the last error.
func (e *Error) Error() string {
	switch {
	case errors.Is(e.Reason, ErrExhausted):
		return fmt.Sprintf("retry %s: gave up after %d attempts: %v", e.Policy, e.Attempts, e.Last)
	case errors.Is(e.Reason, ErrNotRetryable):
		return fmt.Sprintf("retry %s: attempt %d: not retryable: %v", e.Policy, e.Attempts, e.Last)
	case e.Last == nil:
		return fmt.Sprintf("retry %s: stopped before attempt %d: %v", e.Policy, e.Attempts+1, e.Reason)
	default:
		return fmt.Sprintf("retry %s: stopped after %d attempts: %v (last error: %v)", e.Policy, e.Attempts, e.Reason, e.Last)
	}
}

// Unwrap returns the reason and the last error, so errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	if e.Last == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Last}
}

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying: Retryable returns false for it and for
// any error wrapping it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// Opt configures one call of Do.
type Opt interface{ apply(*cfg) }

type cfg struct {
	onRetry func(attempt int, err error, delay time.Duration)
	rnd     *rand.Rand
}

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

// OnRetry calls fn before each wait with the attempt that just failed (1-based), its
// error and the delay about to be waited, from Do's goroutine; use it for metrics and
// logs. The default is none.
func OnRetry(fn func(attempt int, err error, delay time.Duration)) Opt {
	return optFunc(func(c *cfg) { c.onRetry = fn })
}

// WithRand makes ExponentialJitter draw from r, which Do uses from its own goroutine
// only. The default is the math/rand/v2 top-level source.
func WithRand(r *rand.Rand) Opt { return optFunc(func(c *cfg) { c.rnd = r }) }

// Do runs op until it succeeds, returns an error the policy does not retry, the
// policy's attempts are used up, or ctx is done; it passes ctx to op. Between tries
// it waits p.Delay on a timer and returns as soon as ctx is done. It returns nil on
// success, an error naming the policy when p is invalid, and otherwise an *Error
// (see Error for how to tell the three ways of giving up apart).
//
// When op fails while ctx is done, Do stops with ctx's reason whatever the error, so
// a shutdown is never mistaken for an exhausted or permanent failure.
func Do(ctx context.Context, p Policy, op func(ctx context.Context) error, opts ...Opt) error {
	if err := p.Validate(); err != nil {
		return err
	}
	var c cfg
	for _, o := range opts {
		o.apply(&c)
	}
	retryable := p.Retryable
	if retryable == nil {
		retryable = Retryable
	}
	var last error
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return &Error{Policy: p.Name, Attempts: attempt - 1, Reason: context.Cause(ctx), Last: last}
		}
		last = op(ctx)
		if last == nil {
			return nil
		}
		switch {
		case ctx.Err() != nil:
			return &Error{Policy: p.Name, Attempts: attempt, Reason: context.Cause(ctx), Last: last}
		case !retryable(last):
			return &Error{Policy: p.Name, Attempts: attempt, Reason: ErrNotRetryable, Last: last}
		case attempt >= p.Attempts:
			return &Error{Policy: p.Name, Attempts: attempt, Reason: ErrExhausted, Last: last}
		}
		d := p.Delay(attempt, c.rnd)
		if c.onRetry != nil {
			c.onRetry(attempt, last, d)
		}
		if err := wait(ctx, d); err != nil {
			return &Error{Policy: p.Name, Attempts: attempt, Reason: err, Last: last}
		}
	}
}

// wait returns nil after d, or ctx's cause as soon as ctx is done.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
