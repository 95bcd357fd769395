package exitcode_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vectorstream/vectorstream/internal/exitcode"
)

func TestOf(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, exitcode.OK},
		{"no code", cause, exitcode.RunError},
		{"no code, text of a dial error", errors.New("dial tcp 127.0.0.1:9: connect: connection refused"), exitcode.RunError},
		{"With", exitcode.With(cause, exitcode.Unreachable), exitcode.Unreachable},
		{"With wrapped", fmt.Errorf("load: %w", exitcode.With(cause, exitcode.Invalid)), exitcode.Invalid},
		{"With over a code", exitcode.With(exitcode.With(cause, exitcode.Config), exitcode.GateFailed), exitcode.GateFailed},
		{"WithIfNone keeps the code", exitcode.WithIfNone(exitcode.With(cause, exitcode.Config), exitcode.Unreachable), exitcode.Config},
		{"WithIfNone adds one", exitcode.WithIfNone(cause, exitcode.Unreachable), exitcode.Unreachable},
		{"With OK", exitcode.With(cause, exitcode.OK), exitcode.OK},
		{"usage", fmt.Errorf("%w: --x", exitcode.ErrUsage), exitcode.Config},
		{"config", fmt.Errorf("%w: %w", exitcode.ErrConfig, cause), exitcode.Config},
		{"unreachable", fmt.Errorf("%w: %w", exitcode.ErrUnreachable, cause), exitcode.Unreachable},
		{"invalid", fmt.Errorf("%w: lost 3", exitcode.ErrInvalid), exitcode.Invalid},
		{"gate", fmt.Errorf("%w: e2e p99", exitcode.ErrGate), exitcode.GateFailed},
		{"outermost class wins", fmt.Errorf("%w: %w", exitcode.ErrUnreachable, exitcode.With(cause, exitcode.Config)), exitcode.Unreachable},
		{"joined: the first", errors.Join(cause, exitcode.With(cause, exitcode.Unreachable), exitcode.With(cause, exitcode.Config)), exitcode.Unreachable},
		{"own Coder", fmt.Errorf("x: %w", coder{}), exitcode.Fault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := exitcode.Of(tc.err); got != tc.want {
				t.Errorf("Of(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

type coder struct{}

func (coder) Error() string { return "own" }
func (coder) ExitCode() int { return exitcode.Fault }

func TestWithKeepsTheErrorAndItsText(t *testing.T) {
	t.Parallel()
	cause := fmt.Errorf("qdrant: %w", errors.ErrUnsupported)
	for _, err := range []error{exitcode.With(cause, exitcode.Unreachable), exitcode.WithIfNone(cause, exitcode.Unreachable)} {
		if err.Error() != cause.Error() {
			t.Errorf("text %q, want the cause's %q", err, cause)
		}
		if !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, cause) {
			t.Errorf("%v does not wrap its cause", err)
		}
		if e, ok := errors.AsType[*exitcode.Error](err); !ok || e.Code != exitcode.Unreachable || e.Unwrap() != cause {
			t.Errorf("%#v is not an *Error carrying 3 around the cause", err)
		}
	}
	if exitcode.With(nil, exitcode.Config) != nil || exitcode.WithIfNone(nil, exitcode.Config) != nil {
		t.Error("a nil error gained a code")
	}
	same := exitcode.With(cause, exitcode.Config)
	if exitcode.WithIfNone(same, exitcode.Unreachable) != same {
		t.Error("WithIfNone replaced an error that carried a code")
	}
}

func TestSentinels(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err       error
		msg       string
		code      int
		notSameAs error
	}{
		{exitcode.ErrUsage, "usage", exitcode.Config, exitcode.ErrConfig},
		{exitcode.ErrConfig, "bad configuration", exitcode.Config, exitcode.ErrUsage},
		{exitcode.ErrUnreachable, "service unreachable", exitcode.Unreachable, exitcode.ErrConfig},
		{exitcode.ErrInvalid, "run invalid", exitcode.Invalid, exitcode.ErrGate},
		{exitcode.ErrGate, "gate failed", exitcode.GateFailed, exitcode.ErrInvalid},
	} {
		wrapped := fmt.Errorf("x: %w", tc.err)
		if tc.err.Error() != tc.msg || exitcode.Of(wrapped) != tc.code || !errors.Is(wrapped, tc.err) || errors.Is(wrapped, tc.notSameAs) {
			t.Errorf("%v: text, code %d or identity wrong", tc.err, exitcode.Of(wrapped))
		}
	}
}

func TestCodes(t *testing.T) {
	t.Parallel()
	// The documented codes (README.md "Exit codes"); changing one breaks scripts.
	got := []int{exitcode.OK, exitcode.RunError, exitcode.Config, exitcode.Unreachable, exitcode.Invalid, exitcode.Fault, exitcode.GateFailed}
	want := []int{0, 1, 2, 3, 4, 75, 99}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("code %d is %d, want %d", i, got[i], want[i])
		}
	}
}
