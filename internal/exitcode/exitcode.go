package exitcode

import "errors"

// The exit codes of the vectorstream binary.
const (
	// OK: the command did what it was asked; for bench, every run passed its gates.
	OK = 0
	// RunError: the command failed for a reason that has no class of its own. Of
	// returns it for an error that carries no code.
	RunError = 1
	// Config: bad configuration or usage (a scenario, configuration file, security
	// file or flag that cannot be used as given). Fix the input and run again.
	Config = 2
	// Unreachable: a service (Kafka, Qdrant, a container) did not answer within the
	// timeout, refused the login or API key, or an address could not be served on.
	Unreachable = 3
	// Invalid: the run finished but its measurement cannot be trusted: the harness,
	// not the system under test, limited the load, throughput drifted at constant
	// load, or verification failed.
	Invalid = 4
	// Fault: an injected crash point (VECTORSTREAM_FAULT=exit_after_upsert[:N],
	// exit_before_commit, exit_after_commit) stopped the process on the spot; only
	// crash tests set it. 75 is EX_TEMPFAIL of sysexits.h: run it again to recover.
	Fault = 75
	// GateFailed: a valid run failed one of its gates (k6's ThresholdsHaveFailed).
	GateFailed = 99
)

// Coder is implemented by errors that carry an exit code. Of finds the first one in
// an error's tree; a package whose errors must keep another interface (a gRPC
// status, say) can implement Coder on its own error type instead of using Error.
type Coder interface {
	error
	ExitCode() int
}

// Error is an error that carries an exit code. Its text is its cause's.
type Error struct {
	Code int
	Err  error
}

// Error returns the cause's text.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns e.Code.
func (e *Error) ExitCode() int { return e.Code }

// With returns err carrying code, over any code err already carries: Of reads the
// outermost one. With(nil, code) is nil.
func With(err error, code int) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// WithIfNone returns err carrying code unless err already carries a code, in which
// case it returns err unchanged. WithIfNone(nil, code) is nil.
func WithIfNone(err error, code int) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[Coder](err); ok {
		return err
	}
	return With(err, code)
}

// Of returns the exit code err carries (the first Coder found by errors.As): OK
// for nil, RunError for an error that carries none.
func Of(err error) (code int) {
	if err == nil {
		return OK
	}
	if c, ok := errors.AsType[Coder](err); ok {
		return c.ExitCode()
	}
	return RunError
}

// class is a sentinel error that carries its code.
type class struct {
	code int
	msg  string
}

func (c class) Error() string { return c.msg }
func (c class) ExitCode() int { return c.code }

// The classes as sentinels, for fmt.Errorf("%w: ...", ErrConfig, ...) and errors.Is.
var (
	// ErrUsage marks a command line that cannot be run: a bad flag or argument
	// (Config).
	ErrUsage error = class{Config, "usage"}
	// ErrConfig marks a configuration problem (Config).
	ErrConfig error = class{Config, "bad configuration"}
	// ErrUnreachable marks a service that did not answer, or refused us
	// (Unreachable).
	ErrUnreachable error = class{Unreachable, "service unreachable"}
	// ErrInvalid marks a run whose measurement cannot be trusted (Invalid).
	ErrInvalid error = class{Invalid, "run invalid"}
	// ErrGate marks a valid run that failed a gate (GateFailed).
	ErrGate error = class{GateFailed, "gate failed"}
)
