package harness

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/infra/faultproxy"
	"github.com/vectorstream/vectorstream/internal/problem"
	"google.golang.org/grpc/codes"
)

// qdrantFault makes the gRPC fault proxy in front of Qdrant misbehave as in says
// for the window: what qdrant_down, qdrant_slow, qdrant_errors and
// qdrant_partition share. Each of them embeds it and adds its own checks. The
// proxy is in front of whatever serves Qdrant (the engine server, the stand-in,
// a real cluster), so the fault means the same for all of them.
type qdrantFault struct {
	spec FaultSpec
	in   faultproxy.GRPCFault
}

func (qdrantFault) wire() string { return wireQdrant }

// Check returns the problems every Qdrant fault has in scenario s.
func (f qdrantFault) Check(s *Scenario) []problem.Problem {
	var l problem.List
	if s.Infra.Mode == infra.ModeExternal && s.Infra.Security.QdrantTLS.Enabled {
		l.Add("kind", "%s puts a plaintext fault proxy in front of Qdrant, and infra.qdrant_tls is enabled: run it against a Qdrant without TLS", f.spec.Kind)
	}
	if s.Infra.Mode == infra.ModeContainers || s.Infra.Mode == infra.ModeAuto {
		l.Add("kind", "%s needs infra.mode embedded or external (the fault proxy is not wired into containers mode yet)", f.spec.Kind)
	}
	l = append(l, checkNoCommands(f.spec)...)
	return append(l, checkWindow(s, f.spec, false)...)
}

// Ready fails when the run put no proxy in front of Qdrant.
func (f qdrantFault) Ready(t faultTargets) error {
	if t.qdrant == nil {
		return errors.New(f.spec.Kind + ": no fault proxy in front of Qdrant")
	}
	return nil
}

// Begin starts the misbehaviour.
func (f qdrantFault) Begin(_ context.Context, t faultTargets) error { return t.qdrant.Inject(f.in) }

// End clears it.
func (f qdrantFault) End(_ context.Context, t faultTargets) error { return t.qdrant.Clear() }

// kafkaFault makes the TCP fault proxy in front of the Kafka broker misbehave
// for the window: what kafka_latency and kafka_partition share. The broker
// advertises the proxy, so the load generator's producer and the pipeline's
// consumer and dead-letter producer all go through it.
type kafkaFault struct {
	spec FaultSpec
	in   faultproxy.TCPFault
}

func (kafkaFault) wire() string { return wireKafka }

// Check returns the problems every Kafka fault has in scenario s.
func (f kafkaFault) Check(s *Scenario) []problem.Problem {
	var l problem.List
	switch s.Infra.Mode {
	case infra.ModeEmbedded:
	case infra.ModeExternal:
		if s.Infra.KafkaProxy == "" {
			l.Add("kind", "%s in external mode needs infra.kafka_proxy: the address the fault proxy listens on, which the broker must advertise (advertised.listeners)", f.spec.Kind)
		}
		if len(s.Infra.Brokers) != 1 {
			l.Add("kind", "%s in external mode needs a single broker in infra.brokers (one proxy stands for one broker), got %d", f.spec.Kind, len(s.Infra.Brokers))
		}
		if s.Infra.Security.KafkaTLS.Enabled || s.Infra.Security.KafkaSASL.Mechanism != "" {
			l.Add("kind", "%s is run against a broker without TLS or SASL", f.spec.Kind)
		}
	default:
		l.Add("kind", "%s needs infra.mode embedded or external (the fault proxy is not wired into containers mode yet)", f.spec.Kind)
	}
	l = append(l, checkNoCommands(f.spec)...)
	return append(l, checkWindow(s, f.spec, false)...)
}

// Ready fails when the run put no proxy in front of Kafka.
func (f kafkaFault) Ready(t faultTargets) error {
	if t.kafka == nil {
		return errors.New(f.spec.Kind + ": no fault proxy in front of Kafka")
	}
	return nil
}

// Begin starts the misbehaviour.
func (f kafkaFault) Begin(_ context.Context, t faultTargets) error { return t.kafka.Inject(f.in) }

// End clears it.
func (f kafkaFault) End(_ context.Context, t faultTargets) error { return t.kafka.Clear() }

// statusCode is qdrant_errors' code: a gRPC status by the name gRPC gives it
// (UNAVAILABLE, RESOURCE_EXHAUSTED, ...), in any case; "" is UNAVAILABLE.
func statusCode(name string) (codes.Code, error) {
	if name == "" {
		return codes.Unavailable, nil
	}
	var c codes.Code
	if err := c.UnmarshalJSON([]byte(strconv.Quote(strings.ToUpper(name)))); err != nil || c == codes.OK {
		return 0, fmt.Errorf("unknown gRPC status %q (want one such as UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL, DEADLINE_EXCEEDED)", name)
	}
	return c, nil
}
