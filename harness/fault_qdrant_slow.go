package harness

import (
	"time"

	"github.com/vectorstream/vectorstream/infra/faultproxy"
	"github.com/vectorstream/vectorstream/internal/problem"
)

// FaultQdrantSlow makes every Qdrant RPC wait Latency first for the window.
const FaultQdrantSlow = "qdrant_slow"

func init() { registerFault(FaultQdrantSlow, newQdrantSlow) }

// qdrantSlow is a qdrant_slow fault.
type qdrantSlow struct{ qdrantFault }

func newQdrantSlow(spec FaultSpec) Fault {
	return qdrantSlow{qdrantFault{spec: spec, in: faultproxy.GRPCFault{Kind: faultproxy.GRPCSlow, Latency: spec.Latency}}}
}

// Check needs a latency of at most a minute.
func (f qdrantSlow) Check(s *Scenario) []problem.Problem {
	var l problem.List
	if lat := f.spec.Latency; lat <= 0 || lat > time.Minute {
		l.Add("latency", "qdrant_slow needs a latency in (0, 1m], got %v", lat)
	}
	return append(l, f.qdrantFault.Check(s)...)
}
