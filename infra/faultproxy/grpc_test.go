package faultproxy

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// qdrantBehind starts the Qdrant stand-in and a proxy in front of it, and
// returns the proxy and an official Qdrant client that dials the proxy.
func qdrantBehind(t *testing.T) (*GRPC, *qdrant.Client) {
	t.Helper()
	srv, err := qdrantfake.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	p, err := ListenGRPC("127.0.0.1:0", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	host, port, err := net.SplitHostPort(p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	c, err := qdrant.NewClient(&qdrant.Config{Host: host, Port: n, SkipCompatibilityCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return p, c
}

// TestGRPCIsTransparent checks that the official client works through the
// proxy as it does directly: collections, upserts, reads, and the upstream's
// own errors with their codes.
func TestGRPCIsTransparent(t *testing.T) {
	p, c := qdrantBehind(t)
	ctx := t.Context()
	if err := c.CreateCollection(ctx, &qdrant.CreateCollection{CollectionName: "c",
		VectorsConfig: qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: 2, Distance: qdrant.Distance_Cosine})}); err != nil {
		t.Fatal(err)
	}
	wait := true
	if _, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "c", Wait: &wait, Points: []*qdrant.PointStruct{
		{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectors(1, 0), Payload: qdrant.NewValueMap(map[string]any{"k": "v"})},
	}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, &qdrant.GetPoints{CollectionName: "c", Ids: []*qdrant.PointId{qdrant.NewIDNum(1)}, WithPayload: qdrant.NewWithPayload(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].GetPayload()["k"].GetStringValue() != "v" {
		t.Fatalf("get through the proxy = %v, want point 1 with k=v", got)
	}
	_, err = c.GetCollectionInfo(ctx, "missing")
	if status.Code(err) != codes.NotFound {
		t.Fatalf("missing collection through the proxy: %v, want the upstream's NotFound", err)
	}
	if rpcs, failed := p.Counts(); rpcs < 4 || failed != 0 {
		t.Fatalf("counts = %d rpcs, %d failed; want >= 4 and 0", rpcs, failed)
	}
}

// TestGRPCStreams checks that a server-streaming method (gRPC health Watch)
// passes through frame by frame.
func TestGRPCStreams(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := health.NewServer()
	up := grpc.NewServer()
	healthpb.RegisterHealthServer(up, hs)
	go func() { _ = up.Serve(ln) }()
	t.Cleanup(up.Stop)
	p, err := ListenGRPC("127.0.0.1:0", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	cc, err := grpc.NewClient(p.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	w, err := healthpb.NewHealthClient(cc).Watch(t.Context(), &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []healthpb.HealthCheckResponse_ServingStatus{healthpb.HealthCheckResponse_NOT_SERVING, healthpb.HealthCheckResponse_SERVING} {
		m, err := w.Recv()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.GetStatus() != want {
			t.Fatalf("message %d = %v, want %v", i, m.GetStatus(), want)
		}
		hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	}
}

// TestGRPCErrors checks that an errors fault fails exactly its share of RPCs,
// with its code, and that clearing it ends it.
func TestGRPCErrors(t *testing.T) {
	p, c := qdrantBehind(t)
	if err := p.Inject(GRPCFault{Kind: GRPCErrors, Ratio: 0.25, Code: codes.ResourceExhausted}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for range 100 {
		if _, err := c.HealthCheck(t.Context()); err != nil {
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("injected error has code %v, want ResourceExhausted: %v", status.Code(err), err)
			}
			failed++
		}
	}
	if failed != 25 {
		t.Fatalf("%d of 100 RPCs failed, want 25", failed)
	}
	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := c.HealthCheck(t.Context()); err != nil {
			t.Fatalf("after clear: %v", err)
		}
	}
}

// TestGRPCSlow checks that a slow fault delays RPCs by at least its latency.
func TestGRPCSlow(t *testing.T) {
	p, c := qdrantBehind(t)
	const lat = 150 * time.Millisecond
	if err := p.Inject(GRPCFault{Kind: GRPCSlow, Latency: lat}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if _, err := c.HealthCheck(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < lat {
		t.Fatalf("slow RPC took %v, want at least %v", d, lat)
	}
}

// TestGRPCDown checks that a down proxy refuses connections (UNAVAILABLE) and
// serves on the same address once cleared.
func TestGRPCDown(t *testing.T) {
	p, c := qdrantBehind(t)
	if _, err := c.HealthCheck(t.Context()); err != nil {
		t.Fatal(err)
	}
	addr := p.Addr()
	if err := p.Inject(GRPCFault{Kind: GRPCDown}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HealthCheck(t.Context()); status.Code(err) != codes.Unavailable {
		t.Fatalf("RPC while down: %v, want UNAVAILABLE", err)
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		_ = conn.Close()
		t.Fatal("a down proxy accepted a connection")
	}
	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	if p.Addr() != addr {
		t.Fatalf("after down the proxy listens on %s, want %s", p.Addr(), addr)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := c.GetGrpcClient().Qdrant().HealthCheck(ctx, &qdrant.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
		t.Fatalf("RPC after down ended: %v", err)
	}
}

// TestGRPCPartition checks that a partition answers nothing (the client's
// deadline ends its call) and that a call held when it ends goes through.
func TestGRPCPartition(t *testing.T) {
	p, c := qdrantBehind(t)
	if err := p.Inject(GRPCFault{Kind: GRPCPartition}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	_, err := c.HealthCheck(ctx)
	cancel()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("RPC in a partition: %v, want DEADLINE_EXCEEDED", err)
	}
	held := make(chan error, 1)
	go func() {
		_, err := c.HealthCheck(t.Context())
		held <- err
	}()
	// The held call is in the proxy once the proxy has counted it.
	for rpcs, _ := p.Counts(); rpcs < 2; rpcs, _ = p.Counts() {
		select {
		case err := <-held:
			t.Fatalf("a call returned during the partition: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	if err := p.Clear(); err != nil {
		t.Fatal(err)
	}
	if err := <-held; err != nil {
		t.Fatalf("held call after the partition: %v", err)
	}
}

// TestGRPCOverhead checks that the overhead measurement reports its samples.
func TestGRPCOverhead(t *testing.T) {
	p, _ := qdrantBehind(t)
	o, err := p.Overhead(t.Context(), "/qdrant.Qdrant/HealthCheck", 20)
	if err != nil {
		t.Fatal(err)
	}
	if o.Samples != 20 || o.DirectP50 <= 0 || o.ProxiedP50 <= 0 || o.AddedP50 != max(0, o.ProxiedP50-o.DirectP50) {
		t.Fatalf("overhead = %+v", o)
	}
}

// TestGRPCFaultCheck checks the faults a proxy refuses.
func TestGRPCFaultCheck(t *testing.T) {
	for _, f := range []GRPCFault{{Kind: "sideways"}, {Kind: GRPCSlow}, {Kind: GRPCErrors}, {Kind: GRPCErrors, Ratio: 1.5}, {Kind: GRPCErrors, Ratio: 0.5, Code: 99}} {
		if f.Check() == nil {
			t.Errorf("%+v: no error", f)
		}
	}
}
