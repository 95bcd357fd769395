package harness

import (
	"time"

	"github.com/vectorstream/vectorstream/infra/faultproxy"
	"github.com/vectorstream/vectorstream/internal/problem"
)

// FaultKafkaLatency delays everything the Kafka broker sends by Latency for the
// window, so every request's answer (produce acks, fetches, commits) comes
// that much later.
const FaultKafkaLatency = "kafka_latency"

func init() { registerFault(FaultKafkaLatency, newKafkaLatency) }

// kafkaLatency is a kafka_latency fault.
type kafkaLatency struct{ kafkaFault }

func newKafkaLatency(spec FaultSpec) Fault {
	return kafkaLatency{kafkaFault{spec: spec, in: faultproxy.TCPFault{Kind: faultproxy.TCPLatency, Latency: spec.Latency}}}
}

// Check needs a latency in [1ms, 1m].
func (f kafkaLatency) Check(s *Scenario) []problem.Problem {
	var l problem.List
	if lat := f.spec.Latency; lat < time.Millisecond || lat > time.Minute {
		l.Add("latency", "kafka_latency needs a latency in [1ms, 1m], got %v", lat)
	}
	return append(l, f.kafkaFault.Check(s)...)
}
