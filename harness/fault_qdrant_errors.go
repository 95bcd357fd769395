package harness

import (
	"github.com/vectorstream/vectorstream/infra/faultproxy"
	"github.com/vectorstream/vectorstream/internal/problem"
)

// FaultQdrantErrors makes a share Ratio of the Qdrant RPCs fail with the gRPC
// status Code (default UNAVAILABLE) for the window, answered by the fault proxy
// in front of Qdrant instead of forwarded.
const FaultQdrantErrors = "qdrant_errors"

func init() { registerFault(FaultQdrantErrors, newQdrantErrors) }

// qdrantErrors is a qdrant_errors fault.
type qdrantErrors struct{ qdrantFault }

func newQdrantErrors(spec FaultSpec) Fault {
	code, _ := statusCode(spec.Code) // Check reports a bad one
	return qdrantErrors{qdrantFault{spec: spec, in: faultproxy.GRPCFault{Kind: faultproxy.GRPCErrors, Ratio: spec.Ratio, Code: code}}}
}

// Check needs a ratio in (0, 1] and a gRPC status name.
func (f qdrantErrors) Check(s *Scenario) []problem.Problem {
	l := problem.List(checkRatio(f.spec))
	if _, err := statusCode(f.spec.Code); err != nil {
		l.Add("code", "%s", err.Error())
	}
	return append(l, f.qdrantFault.Check(s)...)
}
