package qdrantfake

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Kinds of misbehaviour a Server can be told to show (see Server.Inject).
const (
	InjectDown   = "down"   // every RPC fails with UNAVAILABLE, as if the server were gone
	InjectSlow   = "slow"   // every RPC waits Latency before it is served
	InjectErrors = "errors" // a share Ratio of the RPCs fail with UNAVAILABLE
)

// Injection is a misbehaviour the server shows until it is cleared. It is what
// `vectorstream infra serve` accepts on its control endpoint, as JSON.
type Injection struct {
	Kind    string        `json:"kind"`
	Latency time.Duration `json:"latency,omitempty"`
	Ratio   float64       `json:"ratio,omitempty"`
}

// Validate names the first field that makes no sense for the kind.
func (in Injection) Validate() error {
	switch in.Kind {
	case InjectDown:
	case InjectSlow:
		if in.Latency <= 0 || in.Latency > 10*time.Minute {
			return fmt.Errorf("qdrantfake: inject slow: latency must be in (0, 10m], got %v", in.Latency)
		}
	case InjectErrors:
		if !(in.Ratio > 0 && in.Ratio <= 1) {
			return fmt.Errorf("qdrantfake: inject errors: ratio must be in (0, 1], got %v", in.Ratio)
		}
	default:
		return fmt.Errorf("qdrantfake: inject: unknown kind %q (want %s, %s or %s)", in.Kind, InjectDown, InjectSlow, InjectErrors)
	}
	return nil
}

// injector holds the injection in force; it runs before the SetFault hook.
type injector struct {
	mu  sync.Mutex
	cur *Injection
	rnd *rand.Rand
	// Failed counts the RPCs an injection failed.
	failed uint64
}

// Inject makes the server misbehave as in says until Clear (replacing any
// injection in force). Errors decided by Ratio come from a fixed-seed generator,
// so a run's sequence of failures depends only on its sequence of calls.
func (s *Server) Inject(in Injection) error {
	if err := in.Validate(); err != nil {
		return err
	}
	s.inj.mu.Lock()
	defer s.inj.mu.Unlock()
	s.inj.cur = &in
	if s.inj.rnd == nil {
		s.inj.rnd = rand.New(rand.NewPCG(1, 2))
	}
	return nil
}

// Clear ends the injection in force, if any.
func (s *Server) Clear() {
	s.inj.mu.Lock()
	s.inj.cur = nil
	s.inj.mu.Unlock()
}

// Injected returns the injection in force and whether there is one, and how
// many RPCs injections have failed so far.
func (s *Server) Injected() (Injection, bool, uint64) {
	s.inj.mu.Lock()
	defer s.inj.mu.Unlock()
	if s.inj.cur == nil {
		return Injection{}, false, s.inj.failed
	}
	return *s.inj.cur, true, s.inj.failed
}

// injected applies the injection in force to one RPC.
func (s *Server) injected(method string) error {
	s.inj.mu.Lock()
	cur := s.inj.cur
	if cur == nil {
		s.inj.mu.Unlock()
		return nil
	}
	fail := cur.Kind == InjectDown || (cur.Kind == InjectErrors && s.inj.rnd.Float64() < cur.Ratio)
	if fail {
		s.inj.failed++
	}
	s.inj.mu.Unlock()
	if fail {
		return status.Errorf(codes.Unavailable, "qdrantfake: injected %s fault: %s refused", cur.Kind, method)
	}
	if cur.Kind == InjectSlow {
		time.Sleep(cur.Latency) // the injected latency itself, not synchronisation
	}
	return nil
}
