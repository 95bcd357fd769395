package breaker

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the breaker metrics; one Metrics serves any number of breakers,
// told apart by the breaker label.
type Metrics struct {
	state       *prometheus.GaugeVec
	transitions *prometheus.CounterVec
}

// NewMetrics creates the breaker metrics under namespace (e.g. "vectorstream") and
// registers them with reg.
func NewMetrics(reg prometheus.Registerer, namespace string) (*Metrics, error) {
	m := &Metrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "breaker", Name: "state",
			Help: "State of the circuit breaker: 0 closed, 1 half-open, 2 open.",
		}, []string{"breaker"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "breaker", Name: "transitions_total",
			Help: "Circuit breaker state transitions, by the state left and the state entered.",
		}, []string{"breaker", "from", "to"}),
	}
	for _, c := range []prometheus.Collector{m.state, m.transitions} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("breaker: register metrics: %w", err)
		}
	}
	return m, nil
}

// init shows a new breaker as closed and its four possible transitions at zero.
func (m *Metrics) init(name string) {
	m.state.WithLabelValues(name).Set(float64(Closed))
	for _, tr := range []transition{{Closed, Open}, {Open, HalfOpen}, {HalfOpen, Closed}, {HalfOpen, Open}} {
		m.transitions.WithLabelValues(name, tr.from.label(), tr.to.label())
	}
}

func (m *Metrics) observe(name string, from, to State) {
	m.state.WithLabelValues(name).Set(float64(to))
	m.transitions.WithLabelValues(name, from.label(), to.label()).Inc()
}
