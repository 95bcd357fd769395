// Package retry runs an operation again after transient failures, waiting between
// tries according to a named Policy. It owns the four backoff strategies of the
// original design (FIXED, LINEAR, EXPONENTIAL, EXPONENTIAL_JITTER), the four named
// policies (DEFAULT, AGGRESSIVE, CONSERVATIVE, NETWORK) and the default
// classification of errors into retryable and not. It does not log, count or
// decide what happens once retries run out: Do reports why it stopped (see Error)
// and the caller spools, dead-letters or fails.
//
// # Named policies
//
// Attempts counts every try, the first included, so a policy of 5 attempts waits
// at most 4 times. Delays are capped at Max.
//
//	name          strategy            attempts  base    max   multiplier  worst-case total wait
//	DEFAULT       EXPONENTIAL_JITTER  5         100ms   5s    2           1.5s   (100+200+400+800ms)
//	AGGRESSIVE    EXPONENTIAL         10        50ms    2s    2           9.15s  (50ms … 1.6s, then 2s×3)
//	CONSERVATIVE  LINEAR              3         1s      10s   -           3s     (1s, 2s)
//	NETWORK       EXPONENTIAL_JITTER  8         200ms   30s   2           25.4s  (200ms … 12.8s)
//
// DEFAULT suits a Qdrant upsert inside a batch: about 1.5 s of trying before the
// batch is handed to the spool. AGGRESSIVE retries fast and often for cheap,
// idempotent calls where latency matters more than load. CONSERVATIVE tries few
// times and slowly, for calls that are expensive or that a struggling server
// should be spared. NETWORK rides out a broker or server restart (about half a
// minute) and is meant for connection-level work such as the DLQ produce.
// All four use the default classification, Retryable.
//
// # Strategies
//
// For the n-th retry (n ≥ 1, the wait before try n+1), with b = Base and m = Multiplier
// (2 when zero), before the cap at Max:
//
//	FIXED               b
//	LINEAR              b·n
//	EXPONENTIAL         b·m^(n-1)
//	EXPONENTIAL_JITTER  "equal jitter": e/2 + U·e/2, where e = min(b·m^(n-1), Max)
//	                    and U is uniform in [0, 1) from the given *rand.Rand
//
// Equal jitter rather than full jitter (U·e): it still spreads the retries of many
// workers apart, but never retries almost at once, which a server that is
// shedding load (RESOURCE_EXHAUSTED) would only answer with the same error.
//
// # Classification
//
// Retryable is the default classification: gRPC UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED, ABORTED, INTERNAL and UNKNOWN are retried; INVALID_ARGUMENT,
// NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, UNAUTHENTICATED, FAILED_PRECONDITION,
// OUT_OF_RANGE, UNIMPLEMENTED, DATA_LOSS and CANCELLED are not. Kafka errors from
// franz-go (kerr) follow kerr.IsRetriable. context.Canceled is not retried;
// context.DeadlineExceeded is (it is a per-try timeout: Do stops by itself when the
// parent context is done, whatever the error). Errors marked with Permanent are not
// retried. Everything else — network errors, io.EOF, unknown errors — is retried:
// the attempt limit bounds the cost of retrying an error that was in fact permanent,
// while not retrying a transient one would send a good batch to the spool.
//
// # Why no library
//
// github.com/cenkalti/backoff (v4, v5) models exponential backoff with randomization
// well, but FIXED and LINEAR are not among its strategies, its jitter is a
// ±factor around the interval rather than the equal jitter above, and its elapsed-
// time limit does not map onto a count of attempts. The named policies would be a
// layer of adapters over it larger than this package, which is a loop, a timer and
// a formula per strategy, with every delay tested exactly.
package retry
