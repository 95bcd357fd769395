package harness

import (
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/problem"
)

// FaultQdrantErrors makes a share Ratio of the Qdrant RPCs fail with UNAVAILABLE
// for the window.
const FaultQdrantErrors = "qdrant_errors"

func init() { registerFault(FaultQdrantErrors, newQdrantErrors) }

// qdrantErrors is a qdrant_errors fault.
type qdrantErrors struct{ qdrantFault }

func newQdrantErrors(spec FaultSpec) Fault {
	return qdrantErrors{qdrantFault{spec: spec, in: infra.Injection{Kind: infra.InjectErrors, Ratio: spec.Ratio}}}
}

// Check needs a ratio in (0, 1].
func (f qdrantErrors) Check(s *Scenario) []problem.Problem {
	return append(checkRatio(f.spec), f.qdrantFault.Check(s)...)
}
