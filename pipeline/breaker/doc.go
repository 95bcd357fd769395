// Package breaker is the circuit breaker the pipeline puts around its Qdrant writes
// and its dead-letter produce. It owns the CLOSED → OPEN → HALF_OPEN → CLOSED state
// machine, the notification the pipeline blocks on while the breaker is open
// (backpressure: it stops pulling records instead of buffering them), and the
// breaker's Prometheus metrics. It does not retry, spool or log: the caller does.
//
// # States
//
//	CLOSED     calls run. Failures are counted in a fixed window of Config.Window that
//	           starts when the breaker closes (0: never reset while closed). The
//	           breaker opens on a failure that makes ConsecutiveFailures reach
//	           FailureThreshold, or makes failures/(failures+successes) reach
//	           FailureRatio with at least MinRequests calls finished in the window.
//	OPEN       calls are rejected with ErrOpen without running. When more than
//	           CoolDown has passed (at CoolDown exactly it is still OPEN; a timer
//	           moves it the first nanosecond after, so metrics and waiters see the
//	           change on time, not at the next call) the breaker is HALF_OPEN.
//	HALF_OPEN  at most HalfOpenProbes calls run; further calls get ErrOpen. The
//	           first probe that fails reopens the breaker for another CoolDown;
//	           HalfOpenProbes consecutive successes close it.
//
// Which errors count as failures is WithIsFailure's choice (default: every non-nil
// error). An error matching context.Canceled is neither a failure nor a success,
// whatever the classification: a call cut short by shutdown says nothing about the
// dependency.
//
// # Metrics
//
// NewMetrics registers, under the given namespace (the pipeline uses "vectorstream"):
//
//	<ns>_breaker_state{breaker}                    gauge: 0 closed, 1 half-open, 2 open
//	<ns>_breaker_transitions_total{breaker,from,to} counter; from/to are closed, open, half_open
//
// # Library
//
// The state machine is github.com/sony/gobreaker/v2 (Settings.ReadyToTrip on its
// Counts for the threshold and the ratio, Interval for the window, Timeout for the
// cool-down, MaxRequests for the probes, IsExcluded for cancellations,
// OnStateChange for metrics). This package adds the configuration with
// validation, context-aware Execute, ErrOpen, the timer that makes OPEN → HALF_OPEN
// happen on time, WaitUntilAllowed and Changed for backpressure, state-change hooks
// that run outside gobreaker's lock (so they may call back into the breaker), and
// the metrics.
package breaker
