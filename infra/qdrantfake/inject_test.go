package qdrantfake_test

import (
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
	"google.golang.org/grpc/codes"
)

func TestInject(t *testing.T) {
	t.Parallel()
	srv, c := start(t)
	ctx := t.Context()
	createCollection(t, c, "ev", 4, qdrant.Distance_Cosine)
	pts := []*qdrant.PointStruct{{Id: qdrant.NewIDNum(1), Vectors: qdrant.NewVectorsDense([]float32{1, 2, 3, 4})}}
	upsert := func() error {
		_, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "ev", Points: pts})
		return err
	}

	if err := srv.Inject(qdrantfake.Injection{Kind: qdrantfake.InjectDown}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, upsert(), codes.Unavailable, "injected down fault")
	_, err := c.CollectionExists(ctx, "ev")
	wantCode(t, err, codes.Unavailable, "injected down fault")
	if in, on, failed := srv.Injected(); !on || in.Kind != qdrantfake.InjectDown || failed != 2 {
		t.Fatalf("Injected() = %+v, %v, %d; want down, true, 2", in, on, failed)
	}
	srv.Clear()
	if err := upsert(); err != nil {
		t.Fatalf("upsert after Clear: %v", err)
	}

	if err := srv.Inject(qdrantfake.Injection{Kind: qdrantfake.InjectErrors, Ratio: 0.5}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for range 400 {
		if err := upsert(); err != nil {
			wantCode(t, err, codes.Unavailable, "injected errors fault")
			failed++
		}
	}
	if failed < 150 || failed > 250 {
		t.Errorf("errors 0.5: %d of 400 calls failed, want about 200", failed)
	}

	lat := 30 * time.Millisecond
	if err := srv.Inject(qdrantfake.Injection{Kind: qdrantfake.InjectSlow, Latency: lat}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := upsert(); err != nil {
		t.Fatalf("slow upsert: %v", err)
	}
	if d := time.Since(t0); d < lat {
		t.Errorf("slow upsert took %v, want at least the injected %v", d, lat)
	}
	srv.Clear()
}

func TestInjectValidate(t *testing.T) {
	t.Parallel()
	srv := qdrantfake.New()
	for _, in := range []qdrantfake.Injection{
		{Kind: "sideways"},
		{Kind: qdrantfake.InjectSlow},
		{Kind: qdrantfake.InjectErrors, Ratio: 1.5},
	} {
		if err := srv.Inject(in); err == nil {
			t.Errorf("Inject(%+v) = nil, want an error", in)
		}
	}
	if _, on, _ := srv.Injected(); on {
		t.Error("a refused injection is in force")
	}
}
