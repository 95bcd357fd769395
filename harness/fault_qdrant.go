package harness

import (
	"context"
	"fmt"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/problem"
)

// qdrantFault makes the Qdrant endpoint misbehave as in says for the window: what
// qdrant_down, qdrant_slow and qdrant_errors share. Each of them embeds it and
// adds its own checks.
type qdrantFault struct {
	spec FaultSpec
	in   infra.Injection
}

// Check returns the problems every Qdrant fault has in scenario s.
func (f qdrantFault) Check(s *Scenario) []problem.Problem {
	var l problem.List
	if s.Infra.Mode == infra.ModeExternal && s.Infra.QdrantControl == "" {
		l.Add("kind", "%s makes the Qdrant stand-in misbehave: in external mode it needs infra.qdrant_control (the control_url `vectorstream infra serve` prints)", f.spec.Kind)
	}
	if s.Infra.QdrantStore == QdrantStoreEngine {
		l.Add("kind", "%s makes the Qdrant stand-in misbehave, and infra.qdrant_store is engine, which takes no fault injections: set infra.qdrant_store: standin", f.spec.Kind)
	}
	l = append(l, checkNoCommands(f.spec)...)
	return append(l, checkWindow(s, f.spec, false)...)
}

// Ready fails when nothing behind the Qdrant endpoint can be told to misbehave.
func (f qdrantFault) Ready(t faultTargets) error {
	if t.qdrant == nil {
		return fmt.Errorf("%s needs the Qdrant stand-in (embedded, or infra serve's control_url as infra.qdrant_control); %s cannot be told to misbehave", f.spec.Kind, t.qdrantLabel)
	}
	return nil
}

// Begin starts the misbehaviour.
func (f qdrantFault) Begin(ctx context.Context, t faultTargets) error {
	return t.qdrant.Inject(ctx, f.in)
}

// End clears it.
func (f qdrantFault) End(ctx context.Context, t faultTargets) error {
	return t.qdrant.Clear(ctx)
}
