// Package faultproxy puts a hop that misbehaves on command between the pipeline
// and the services it uses: a gRPC proxy in front of any Qdrant (the Go
// stand-in, the engine server, a real cluster) and a TCP proxy in front of a
// Kafka broker. Fault scenarios act on these, not on a stand-in's hooks, so a
// fault means the same whatever serves Qdrant or Kafka, and a run against a real
// cluster can be faulted too.
//
// Both proxies are transparent while no fault is on: the gRPC proxy forwards
// every method's frames unparsed (gRPC's unknown-service handler with a codec
// that keeps the bytes as they are), the TCP proxy copies bytes. What a hop
// costs is measured, not assumed: see GRPC.Overhead and TCP.Overhead.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Kinds of GRPCFault.
const (
	// GRPCDown stops the proxy: it closes its listener and every connection, so
	// clients see a refused connection, as when the server's process is gone.
	GRPCDown = "down"
	// GRPCSlow makes every RPC wait Latency before it is forwarded.
	GRPCSlow = "slow"
	// GRPCErrors answers a share Ratio of the RPCs with status Code instead of
	// forwarding them.
	GRPCErrors = "errors"
	// GRPCPartition accepts connections and RPCs but answers none until the
	// fault ends: the client waits for its own deadline, as when packets to the
	// server are lost. RPCs still waiting when it ends are forwarded then, as
	// TCP delivers what it retransmitted once a partition heals.
	GRPCPartition = "partition"
)

// GRPCFault is a misbehaviour of a GRPC proxy, in force until cleared.
type GRPCFault struct {
	Kind    string
	Latency time.Duration // GRPCSlow
	Ratio   float64       // GRPCErrors: the share of RPCs that fail, in (0, 1]
	Code    codes.Code    // GRPCErrors: the status they fail with; 0 means Unavailable
}

// Check reports what is wrong with f.
func (f GRPCFault) Check() error {
	switch f.Kind {
	case GRPCDown, GRPCPartition:
	case GRPCSlow:
		if f.Latency <= 0 {
			return fmt.Errorf("faultproxy: slow needs a latency > 0, got %v", f.Latency)
		}
	case GRPCErrors:
		if !(f.Ratio > 0 && f.Ratio <= 1) {
			return fmt.Errorf("faultproxy: errors needs a ratio in (0, 1], got %v", f.Ratio)
		}
		if f.Code == codes.OK {
			return nil
		}
		if f.Code > codes.Unauthenticated {
			return fmt.Errorf("faultproxy: errors: unknown status code %d", f.Code)
		}
	default:
		return fmt.Errorf("faultproxy: unknown gRPC fault %q (want %s, %s, %s or %s)", f.Kind, GRPCDown, GRPCSlow, GRPCErrors, GRPCPartition)
	}
	return nil
}

// maxMessage is the largest message the proxy passes on, each way: as large as
// any client of the project sends or accepts (infra.MaxQdrantMessageSize).
const maxMessage = 64 << 20

// GRPC is a transparent gRPC proxy that misbehaves on command. Its zero value
// is not usable: make one with ListenGRPC.
type GRPC struct {
	upstream string
	cc       *grpc.ClientConn
	addr     string // where it listens; kept across a GRPCDown

	mu     sync.Mutex
	srv    *grpc.Server // nil while down or closed
	done   chan struct{}
	fault  GRPCFault
	on     bool
	healed chan struct{} // closed when a partition ends
	closed bool

	rpcs, failed atomic.Int64
}

// ListenGRPC starts a proxy on addr (host:port; port 0 picks one) that forwards
// every RPC to upstream, dialled with dial (none: plaintext).
func ListenGRPC(addr, upstream string, dial ...grpc.DialOption) (*GRPC, error) {
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage)),
	}, dial...)
	cc, err := grpc.NewClient(upstream, opts...)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: dial %s: %w", upstream, err)
	}
	p := &GRPC{upstream: upstream, cc: cc, addr: addr, healed: make(chan struct{})}
	if err := p.serve(); err != nil {
		_ = cc.Close()
		return nil, err
	}
	return p, nil
}

// serve listens on p.addr and serves; p.mu is held or p is not shared yet.
func (p *GRPC) serve() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("faultproxy: listen %s: %w", p.addr, err)
	}
	p.addr = ln.Addr().String()
	p.srv = grpc.NewServer(
		grpc.UnknownServiceHandler(p.forward),
		grpc.ForceServerCodecV2(frameCodec{}),
		grpc.MaxRecvMsgSize(maxMessage),
		grpc.MaxSendMsgSize(maxMessage),
	)
	srv, done := p.srv, make(chan struct{})
	p.done = done
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return nil
}

// stop stops the server, if it runs; p.mu is held.
func (p *GRPC) stop() {
	if p.srv == nil {
		return
	}
	p.srv.Stop()
	<-p.done
	p.srv = nil
}

// Addr returns the address clients dial instead of the upstream's.
func (p *GRPC) Addr() string { return p.addr }

// Upstream returns the address the proxy forwards to.
func (p *GRPC) Upstream() string { return p.upstream }

// Inject starts f, replacing any fault in force.
func (p *GRPC) Inject(f GRPCFault) error {
	if err := f.Check(); err != nil {
		return err
	}
	if f.Kind == GRPCErrors && f.Code == codes.OK {
		f.Code = codes.Unavailable
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("faultproxy: inject into a closed proxy")
	}
	p.endLocked()
	p.fault, p.on = f, true
	if f.Kind == GRPCDown {
		p.stop()
	}
	return nil
}

// Clear ends the fault in force, if any: a stopped proxy listens again on the
// same address, RPCs held by a partition go on.
func (p *GRPC) Clear() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	return p.endLocked()
}

// endLocked ends the fault in force; p.mu is held.
func (p *GRPC) endLocked() error {
	if !p.on {
		return nil
	}
	f := p.fault
	p.on, p.fault = false, GRPCFault{}
	switch f.Kind {
	case GRPCPartition:
		close(p.healed)
		p.healed = make(chan struct{})
	case GRPCDown:
		if err := p.serve(); err != nil {
			return fmt.Errorf("faultproxy: end down: %w", err)
		}
	}
	return nil
}

// Counts returns how many RPCs the proxy took and how many of those a fault
// failed (GRPCErrors, or a slow or partitioned RPC whose client gave up).
func (p *GRPC) Counts() (rpcs, failed int64) { return p.rpcs.Load(), p.failed.Load() }

// Close stops the proxy and its connection to the upstream; RPCs held by a
// fault end with the connection.
func (p *GRPC) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if p.on && p.fault.Kind == GRPCPartition {
		close(p.healed)
	}
	p.stop()
	return p.cc.Close()
}

// misbehave applies the fault in force to one RPC: it returns the status the
// RPC fails with, or nil to forward it (after waiting, for slow and partition).
func (p *GRPC) misbehave(ctx context.Context) error {
	p.mu.Lock()
	f, on, healed := p.fault, p.on, p.healed
	p.mu.Unlock()
	if !on {
		return nil
	}
	switch f.Kind {
	case GRPCDown:
		// An RPC that arrived while the server was stopping.
		return status.Error(codes.Unavailable, "faultproxy: down")
	case GRPCSlow:
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	case GRPCErrors:
		// Every RPC whose number crosses a multiple of 1/Ratio fails: exactly the
		// share asked for, the same from run to run.
		n := p.rpcs.Load()
		if int64(float64(n)*f.Ratio) > int64(float64(n-1)*f.Ratio) {
			return status.Errorf(f.Code, "faultproxy: injected %s (%.0f%% of RPCs)", f.Code, 100*f.Ratio)
		}
	case GRPCPartition:
		select {
		case <-healed:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	return nil
}

// forward is the handler of every method: it applies the fault in force, then
// copies the call's headers, frames and trailers between the client and the
// upstream, unparsed.
func (p *GRPC) forward(_ any, ss grpc.ServerStream) error {
	p.rpcs.Add(1)
	ctx := ss.Context()
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "faultproxy: no method on the stream")
	}
	if err := p.misbehave(ctx); err != nil {
		p.failed.Add(1)
		return err
	}
	md, _ := metadata.FromIncomingContext(ctx)
	// gRPC drops the reserved headers (:authority, content-type, grpc-*) of
	// outgoing metadata itself; the deadline travels with ctx.
	cs, err := p.cc.NewStream(metadata.NewOutgoingContext(ctx, md.Copy()),
		&grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, method, grpc.ForceCodecV2(frameCodec{}))
	if err != nil {
		return err
	}
	sent := make(chan error, 1)
	go func() { sent <- pumpUp(ss, cs) }()
	if hdr, err := cs.Header(); err == nil {
		if err := ss.SendHeader(hdr); err != nil {
			return err
		}
	}
	for {
		var f frame
		if err := cs.RecvMsg(&f); err != nil {
			ss.SetTrailer(cs.Trailer())
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		err := ss.SendMsg(&f)
		if err != nil {
			return err
		}
	}
}

// pumpUp copies the client's frames to the upstream until the client half-closes.
func pumpUp(ss grpc.ServerStream, cs grpc.ClientStream) error {
	for {
		var f frame
		if err := ss.RecvMsg(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return cs.CloseSend()
			}
			return err
		}
		if err := cs.SendMsg(&f); err != nil {
			// io.EOF: the upstream ended the call; its status comes from RecvMsg.
			return err
		}
	}
}

// frame is one gRPC message, its bytes as they came.
type frame struct{ data mem.BufferSlice }

// frameCodec passes frames on without parsing them. It calls itself "proto" so
// the content type the upstream sees is the one the client sent.
type frameCodec struct{}

func (frameCodec) Marshal(v any) (mem.BufferSlice, error) {
	f, ok := v.(*frame)
	if !ok {
		return nil, fmt.Errorf("faultproxy: cannot marshal %T", v)
	}
	out := f.data
	f.data = nil // gRPC frees what Marshal returns
	return out, nil
}

func (frameCodec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*frame)
	if !ok {
		return fmt.Errorf("faultproxy: cannot unmarshal into %T", v)
	}
	data.Ref() // gRPC frees data when Unmarshal returns; the frame keeps it until sent
	f.data = data
	return nil
}

func (frameCodec) Name() string { return "proto" }

// Overhead is what one hop through a proxy adds to a round trip, measured by
// alternating the same request sent directly and through the proxy.
type Overhead struct {
	// Samples is the number of round trips each way.
	Samples int `json:"samples"`
	// DirectP50 and ProxiedP50 are the median round trips without and with the
	// proxy; AddedP50 is their difference (never below zero).
	DirectP50  time.Duration `json:"direct_p50_ns"`
	ProxiedP50 time.Duration `json:"proxied_p50_ns"`
	AddedP50   time.Duration `json:"added_p50_ns"`
}

// measure alternates n calls of direct and proxied and returns their medians.
func measure(ctx context.Context, n int, direct, proxied func(context.Context) error) (Overhead, error) {
	if n <= 0 {
		n = 1
	}
	d, q := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	for range n {
		for _, c := range []struct {
			call func(context.Context) error
			into *[]time.Duration
		}{{direct, &d}, {proxied, &q}} {
			t0 := time.Now()
			if err := c.call(ctx); err != nil {
				return Overhead{}, err
			}
			*c.into = append(*c.into, time.Since(t0))
		}
	}
	o := Overhead{Samples: n, DirectP50: median(d), ProxiedP50: median(q)}
	o.AddedP50 = max(0, o.ProxiedP50-o.DirectP50)
	return o, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Overhead measures what the proxy adds to a unary RPC: n calls of method (its
// request an empty message, e.g. "/qdrant.Qdrant/HealthCheck") straight to the
// upstream, dialled as the proxy dials it, alternated with n through the proxy.
// Run it with no fault in force.
func (p *GRPC) Overhead(ctx context.Context, method string, n int) (Overhead, error) {
	through, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return Overhead{}, fmt.Errorf("faultproxy: overhead: %w", err)
	}
	defer through.Close()
	call := func(cc *grpc.ClientConn) func(context.Context) error {
		return func(ctx context.Context) error {
			var out frame
			err := cc.Invoke(ctx, method, &frame{}, &out, grpc.ForceCodecV2(frameCodec{}))
			out.data.Free()
			if err != nil {
				return fmt.Errorf("faultproxy: overhead: %s: %w", method, err)
			}
			return nil
		}
	}
	return measure(ctx, n, call(p.cc), call(through))
}
