package infra_test

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/internal/exitcode"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A Qdrant RPC that fails for want of a connection carries exit code 3 and keeps
// its gRPC status; an UNAVAILABLE answer over a live connection does not.
func TestQdrantRPCUnreachableCarriesItsClass(t *testing.T) {
	t.Parallel()
	host, port, _ := net.SplitHostPort(deadAddr(t))
	p, _ := strconv.Atoi(port)
	qc, err := infra.NewQdrantClient(infra.Connect(infra.External{QdrantHost: host, QdrantPort: p}))
	if err != nil {
		t.Fatal(err)
	}
	defer qc.Close()
	_, err = qc.CollectionExists(t.Context(), "ecommerce_events")
	if err == nil {
		t.Fatal("no error from a Qdrant that is not there")
	}
	if got := exitcode.Of(err); got != exitcode.Unreachable {
		t.Errorf("exit code %d, want %d: %v", got, exitcode.Unreachable, err)
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable || !strings.Contains(err.Error(), st.Message()) {
		t.Errorf("status %v (ok %v) of %v: want UNAVAILABLE with the error's text", st, ok, err)
	}

	env, err := infra.StartEmbedded(t.Context(), infra.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	live, err := infra.NewQdrantClient(env)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if _, err := live.CollectionExists(t.Context(), "ecommerce_events"); err != nil {
		t.Fatal(err)
	}
	env.QdrantServer.SetFault(func(string) error { return status.Error(codes.Unavailable, "down") })
	_, err = live.CollectionExists(t.Context(), "ecommerce_events")
	if status.Code(err) != codes.Unavailable || exitcode.Of(err) != exitcode.RunError {
		t.Errorf("injected outage: %v with exit code %d, want UNAVAILABLE without a class (1)", err, exitcode.Of(err))
	}
}

// An address that cannot be listened on carries exit code 3, for each listener of
// `vectorstream infra serve`.
func TestListenFailureCarriesItsClass(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	used := ln.Addr().String()
	for name, serve := range map[string]func() error{
		"kafka": func() error {
			return infra.Serve(t.Context(), infra.EmbeddedConfig{KafkaAddr: used}, "", new(bytes.Buffer))
		},
		"qdrant": func() error {
			return infra.Serve(t.Context(), infra.EmbeddedConfig{QdrantAddr: used}, "", new(bytes.Buffer))
		},
		"debug": func() error { return infra.Serve(t.Context(), infra.EmbeddedConfig{}, used, new(bytes.Buffer)) },
	} {
		err := serve()
		if err == nil || !strings.Contains(err.Error(), used) || exitcode.Of(err) != exitcode.Unreachable {
			t.Errorf("%s on %s in use: %v with exit code %d, want an error naming it with 3", name, used, err, exitcode.Of(err))
		}
	}
}
