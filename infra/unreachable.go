package infra

import (
	"context"
	"errors"
	"net"

	"github.com/vectorstream/vectorstream/internal/exitcode"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
)

// Errors of services that cannot be reached carry exitcode.Unreachable (exit 3),
// set here, where infra dials and listens: Check's errors, Qdrant RPCs that fail
// for want of a connection (classUnreachableRPC), listeners that cannot be opened
// (listenErr) and containers that do not become ready in time.

// classUnreachableRPC is a unary client interceptor on every Qdrant client infra
// makes. An RPC that fails UNAVAILABLE while the client holds no ready
// connection (the dial failed, or the server went away) is a service that could
// not be reached: its error carries exitcode.Unreachable. An UNAVAILABLE answer
// over a ready connection (an overloaded server, an injected fault) is not.
func classUnreachableRPC(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil && status.Code(err) == codes.Unavailable && cc.GetState() != connectivity.Ready {
		return unreachableRPC{err}
	}
	return err
}

// unreachableRPC is a gRPC error that carries exitcode.Unreachable. It keeps
// the error's text and its status (GRPCStatus), so status.FromError and the
// retry classification see the RPC's own status, not a wrapped one.
type unreachableRPC struct{ err error }

func (e unreachableRPC) Error() string              { return e.err.Error() }
func (e unreachableRPC) Unwrap() error              { return e.err }
func (e unreachableRPC) ExitCode() int              { return exitcode.Unreachable }
func (e unreachableRPC) GRPCStatus() *status.Status { return status.Convert(e.err) }

// listenErr classes a failure to open a listener (the address is in use, or not
// this host's) with exitcode.Unreachable, as `vectorstream infra serve` has
// always exited for it; other errors pass unchanged.
func listenErr(err error) error {
	if _, ok := errors.AsType[*net.OpError](err); ok {
		return exitcode.With(err, exitcode.Unreachable)
	}
	return err
}

// notReadyErr classes the failure of a container that did not become ready
// before its deadline (ContainersConfig.Timeout) with exitcode.Unreachable;
// other errors pass unchanged.
func notReadyErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return exitcode.With(err, exitcode.Unreachable)
	}
	return err
}
