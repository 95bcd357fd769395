package pipeline

import (
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// Opt configures a Pipeline.
type Opt interface{ apply(*options) }

type options struct {
	log      *slog.Logger
	level    *slog.LevelVar
	stats    *Stats
	registry *prometheus.Registry
	fault    Fault
	onBatch  []func([]EventTimes)
}

func defaultOptions() options {
	return options{
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		level:    new(slog.LevelVar),
		registry: prometheus.NewRegistry(),
	}
}

type optFunc func(*options)

func (f optFunc) apply(o *options) { f(o) }

// WithLogger sets the logger and the level variable it is filtered by, which Reload
// changes when log_level changes. The default discards everything.
func WithLogger(l *slog.Logger, level *slog.LevelVar) Opt {
	return optFunc(func(o *options) { o.log, o.level = l, level })
}

// WithStats makes the pipeline record into s instead of a Stats of its own.
func WithStats(s *Stats) Opt { return optFunc(func(o *options) { o.stats = s }) }

// WithRegistry registers the pipeline's metrics with r, which /metrics then serves,
// instead of a private registry.
func WithRegistry(r *prometheus.Registry) Opt {
	return optFunc(func(o *options) { o.registry = r })
}

// WithFault makes the pipeline stop at an exact point (see Fault). The default is none.
func WithFault(f Fault) Opt { return optFunc(func(o *options) { o.fault = f }) }

// WithBatchObserver calls fn (after any observers given before) after every committed
// batch with the stage times of its events, from the pipeline's goroutine; fn must not
// keep the slice. A batch that went to the backup spool is reported twice: its dead
// letters when it is committed, its valid events when their replay is acknowledged.
// Tests use it to wait for progress without polling.
func WithBatchObserver(fn func([]EventTimes)) Opt {
	return optFunc(func(o *options) { o.onBatch = append(o.onBatch, fn) })
}
