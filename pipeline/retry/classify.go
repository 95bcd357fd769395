package retry

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Retryable is the default classification (see the package documentation): false
// for nil, for errors marked Permanent, for context.Canceled, for gRPC codes that a
// retry cannot fix and for non-retriable Kafka errors; true for gRPC UNAVAILABLE,
// DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL and UNKNOWN, for
// retriable Kafka errors, for context.DeadlineExceeded (a per-try timeout) and for
// any other error, including network errors and io.EOF.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := errors.AsType[permanent](err); ok {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if ke, ok := errors.AsType[*kerr.Error](err); ok {
		return ke.Retriable
	}
	if s, ok := status.FromError(err); ok {
		return retryableCode(s.Code())
	}
	return true
}

func retryableCode(c codes.Code) bool {
	switch c {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted,
		codes.Internal, codes.Unknown:
		return true
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.PermissionDenied,
		codes.Unauthenticated, codes.FailedPrecondition, codes.OutOfRange, codes.Unimplemented,
		codes.DataLoss, codes.Canceled, codes.OK:
		return false
	default:
		return true
	}
}
