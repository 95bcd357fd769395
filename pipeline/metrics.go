package pipeline

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vectorstream/vectorstream/pipeline/breaker"
)

type metrics struct {
	dlq      *prometheus.CounterVec
	breakers *breaker.Metrics
}

// statsCollector exposes Stats to Prometheus at scrape time: counters as counters and
// each stage's HDR histogram as a summary, so the exposition and result.json agree.
type statsCollector struct {
	s        *Stats
	counters []counterDesc
	stage    *prometheus.Desc
}

type counterDesc struct {
	desc  *prometheus.Desc
	get   func(Counters) int64
	gauge bool
}

func newMetrics(reg prometheus.Registerer, s *Stats) (*metrics, error) {
	m := &metrics{dlq: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vectorstream_pipeline_dead_letters_total",
		Help: "Events sent to the dead-letter topic, by rejection reason.",
	}, []string{"reason"})}
	c := &statsCollector{s: s, stage: prometheus.NewDesc("vectorstream_pipeline_stage_latency_seconds",
		"Time events spent in each pipeline stage, after warm-up.", []string{"stage"}, nil)}
	add := func(name, help string, get func(Counters) int64) {
		c.counters = append(c.counters, counterDesc{prometheus.NewDesc(name, help, nil, nil), get, false})
	}
	gauge := func(name, help string, get func(Counters) int64) {
		c.counters = append(c.counters, counterDesc{prometheus.NewDesc(name, help, nil, nil), get, true})
	}
	add("vectorstream_pipeline_events_consumed_total", "Records consumed from the raw topic.", func(c Counters) int64 { return c.Consumed })
	add("vectorstream_pipeline_events_valid_total", "Consumed records that passed validation.", func(c Counters) int64 { return c.Valid })
	add("vectorstream_pipeline_events_dead_lettered_total", "Consumed records sent to the dead-letter topic.", func(c Counters) int64 { return c.DeadLettered })
	add("vectorstream_pipeline_events_written_total", "Event points acknowledged by Qdrant.", func(c Counters) int64 { return c.Written })
	add("vectorstream_pipeline_profiles_written_total", "Profile points acknowledged by Qdrant.", func(c Counters) int64 { return c.ProfilesWritten })
	add("vectorstream_pipeline_batches_total", "Micro-batches committed.", func(c Counters) int64 { return c.Batches })
	add("vectorstream_pipeline_retries_total", "Retried Qdrant and dead-letter writes.", func(c Counters) int64 { return c.Retries })
	add("vectorstream_pipeline_spooled_events_total", "Valid events written to the backup spool while Qdrant was unavailable.", func(c Counters) int64 { return c.Spooled })
	add("vectorstream_pipeline_replayed_events_total", "Spooled events replayed into Qdrant.", func(c Counters) int64 { return c.Replayed })
	gauge("vectorstream_pipeline_spool_pending_batches", "Spooled batches waiting for replay.", func(c Counters) int64 { return c.SpoolPending })
	add("vectorstream_pipeline_held_batches_total", "Batches held in memory while a dependency was unavailable (no spool).", func(c Counters) int64 { return c.Held })
	add("vectorstream_pipeline_backend_fallbacks_total", "Switches from the GPU backend to the CPU one after a GPU error.", func(c Counters) int64 { return c.BackendFallbacks })
	add("vectorstream_pipeline_retention_sweeps_total", "Completed deletes of the event points older than qdrant.retention.", func(c Counters) int64 { return c.ExpireSweeps })
	gauge("vectorstream_pipeline_retention_cutoff_timestamp_seconds", "The last retention sweep's cutoff, Unix time; 0 before the first.", func(c Counters) int64 { return c.ExpireCutoff / 1e9 })
	var err error
	if m.breakers, err = breaker.NewMetrics(reg, "vectorstream"); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	for _, col := range []prometheus.Collector{m.dlq, c} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("pipeline: register metrics: %w", err)
		}
	}
	return m, nil
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.counters {
		ch <- d.desc
	}
	ch <- c.stage
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	cs := c.s.Counters()
	for _, d := range c.counters {
		vt := prometheus.CounterValue
		if d.gauge {
			vt = prometheus.GaugeValue
		}
		ch <- prometheus.MustNewConstMetric(d.desc, vt, float64(d.get(cs)))
	}
	for _, st := range Stages() {
		h := c.s.Histogram(st)
		n := h.TotalCount()
		q := map[float64]float64{}
		for _, p := range []float64{0.5, 0.9, 0.99, 0.999} {
			q[p] = float64(h.ValueAtQuantile(p*100)) / 1e6
		}
		ch <- prometheus.MustNewConstSummary(c.stage, uint64(n), h.Mean()*float64(n)/1e6, q, st.String())
	}
}
