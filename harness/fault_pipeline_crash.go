package harness

import (
	"context"
	"errors"

	"github.com/vectorstream/vectorstream/internal/problem"
)

// FaultPipelineCrash kills the pipeline process with SIGKILL at the start of the
// window; a new one starts after Duration (which may be zero).
const FaultPipelineCrash = "pipeline_crash"

func init() { registerFault(FaultPipelineCrash, newPipelineCrash) }

// crasher kills the pipeline process and starts a new one (pipeline_crash).
type crasher interface {
	Kill(ctx context.Context) error
	Restart(ctx context.Context) error
}

// pipelineCrash is a pipeline_crash fault.
type pipelineCrash struct{ spec FaultSpec }

func newPipelineCrash(spec FaultSpec) Fault { return pipelineCrash{spec} }

// Check needs the pipeline in one process of its own.
func (f pipelineCrash) Check(s *Scenario) []problem.Problem {
	var l problem.List
	if !s.Infra.PipelineProcess || s.Infra.PipelineProcesses > 1 {
		l.Add("kind", "pipeline_crash kills a pipeline process: it needs infra.pipeline_process: true and one process")
	}
	l = append(l, checkNoCommands(f.spec)...)
	return append(l, checkWindow(s, f.spec, true)...)
}

// Ready fails unless the run has a pipeline process to kill.
func (pipelineCrash) Ready(t faultTargets) error {
	if t.pipeline == nil {
		return errors.New("pipeline_crash needs the pipeline in a process of its own")
	}
	return nil
}

// Begin kills the pipeline process.
func (pipelineCrash) Begin(ctx context.Context, t faultTargets) error { return t.pipeline.Kill(ctx) }

// End starts a new one.
func (pipelineCrash) End(ctx context.Context, t faultTargets) error { return t.pipeline.Restart(ctx) }

func (pipelineCrash) endsWhenEndCalled() {}
