package pipeline

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vectorstream/vectorstream/internal/exitcode"
)

// Fault points at which the pipeline can be made to stop, for crash tests that need no
// timing: VECTORSTREAM_FAULT=exit_after_upsert[:N] stops in the Nth batch (default 1).
const (
	FaultAfterUpsert  = "exit_after_upsert"  // events acknowledged by Qdrant; profiles not written, nothing committed
	FaultBeforeCommit = "exit_before_commit" // events and profiles acknowledged; offsets not committed
	FaultAfterCommit  = "exit_after_commit"  // offsets committed
)

// ErrFault is returned by Run when an injected fault stopped the pipeline.
var ErrFault = errors.New("injected fault")

// Fault stops the pipeline at Point in batch Batch. The zero Fault never fires. When
// Exit is set it is called with exitcode.Fault (75) instead of returning ErrFault (the
// binary passes os.Exit, so the process dies on the spot, with nothing flushed or
// committed).
type Fault struct {
	Point string
	Batch int
	Exit  func(code int)
}

// ParseFault parses the value of VECTORSTREAM_FAULT; "" is no fault.
func ParseFault(s string) (Fault, error) {
	if s == "" {
		return Fault{}, nil
	}
	point, n, hasN := strings.Cut(s, ":")
	f := Fault{Point: point, Batch: 1}
	switch point {
	case FaultAfterUpsert, FaultBeforeCommit, FaultAfterCommit:
	default:
		return Fault{}, fmt.Errorf("VECTORSTREAM_FAULT %q: unknown point (want %s, %s or %s, optionally :N)", s, FaultAfterUpsert, FaultBeforeCommit, FaultAfterCommit)
	}
	if hasN {
		b, err := strconv.Atoi(n)
		if err != nil || b < 1 {
			return Fault{}, fmt.Errorf("VECTORSTREAM_FAULT %q: batch number must be a positive integer", s)
		}
		f.Batch = b
	}
	return f, nil
}

func (f Fault) hit(point string, batch int) error {
	if f.Point != point || f.Batch != batch {
		return nil
	}
	if f.Exit != nil {
		f.Exit(exitcode.Fault)
	}
	return fmt.Errorf("%w: %s in batch %d", ErrFault, point, batch)
}
