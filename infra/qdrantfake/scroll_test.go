package qdrantfake_test

import (
	"testing"

	"github.com/qdrant/go-client/qdrant"
)

// TestScrollMillion upserts a million points and scrolls them all: every id
// exactly once, in order. -short and -race scroll 100,000 (a million takes
// about 35 s under the race detector on two cores).
func TestScrollMillion(t *testing.T) {
	forEachStore(t, testScrollMillion)
}

func testScrollMillion(t *testing.T, start starter) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 100_000
	}
	_, c := start(t)
	ctx := t.Context()
	createCollection(t, c, "big", 4, qdrant.Distance_Dot)
	const batch = 20_000
	vec := []float32{1, 2, 3, 4}
	// Upsert in descending id order so the sorted index has real work to do.
	for hi := n; hi > 0; hi -= batch {
		pts := make([]*qdrant.PointStruct, 0, batch)
		for i := hi - 1; i >= max(0, hi-batch); i-- {
			pts = append(pts, &qdrant.PointStruct{Id: qdrant.NewIDNum(uint64(i)), Vectors: qdrant.NewVectorsDense(vec)})
		}
		if _, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "big", Points: pts}); err != nil {
			t.Fatal(err)
		}
	}
	next := uint64(0)
	var offset *qdrant.PointId
	for {
		limit := uint32(50_000)
		resp, err := c.GetPointsClient().Scroll(ctx, &qdrant.ScrollPoints{
			CollectionName: "big", Offset: offset, Limit: &limit, WithPayload: qdrant.NewWithPayload(false),
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.GetResult() {
			if p.GetId().GetNum() != next {
				t.Fatalf("scroll returned id %d, want %d", p.GetId().GetNum(), next)
			}
			next++
		}
		if resp.NextPageOffset == nil {
			break
		}
		offset = resp.NextPageOffset
	}
	if next != uint64(n) {
		t.Fatalf("scrolled %d points, want %d", next, n)
	}
}
