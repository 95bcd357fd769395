package qdrantfake

import (
	"context"
	"crypto/subtle"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// WithAPIKey makes a server started by Listen require key in the "api-key"
// request header of every RPC but the health check, as Qdrant does with
// service.api_key set, overriding the default of no key. A missing or wrong
// key is answered with codes.Unauthenticated. Servers made with New and
// registered elsewhere can use APIKeyInterceptor.
func WithAPIKey(key string) Opt {
	return optFunc(func(c *cfg) { c.unary = append(c.unary, APIKeyInterceptor(key)) })
}

// APIKeyInterceptor returns the unary interceptor WithAPIKey installs.
func APIKeyInterceptor(key string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		// Qdrant answers health checks without a key; so does the fake, which
		// keeps clients honest about checking the key with another call.
		if info.FullMethod == qdrant.Qdrant_HealthCheck_FullMethodName {
			return handler(ctx, req)
		}
		md, _ := metadata.FromIncomingContext(ctx)
		got := md.Get("api-key")
		if len(got) == 0 {
			return nil, status.Error(codes.Unauthenticated, "Must provide an API key or an Authorization bearer token")
		}
		if subtle.ConstantTimeCompare([]byte(got[0]), []byte(key)) != 1 {
			return nil, status.Error(codes.Unauthenticated, "Invalid API key or JWT")
		}
		return handler(ctx, req)
	}
}
