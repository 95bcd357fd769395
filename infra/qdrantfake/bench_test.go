package qdrantfake_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/uuid"
	"github.com/qdrant/go-client/qdrant"
)

// BenchmarkUpsert upserts batches of 128-d vectors with an event-like payload
// through the official client over loopback gRPC, the way the pipeline does.
// Every batch carries new UUID ids, so the collection grows as it would.
func BenchmarkUpsert(b *testing.B) {
	for _, tc := range []struct{ batch, dim int }{{100, 128}, {500, 128}, {2000, 128}} {
		b.Run(fmt.Sprintf("grpc-batch%d-dim%d", tc.batch, tc.dim), func(b *testing.B) {
			_, c := start(b)
			createCollection(b, c, "ev", uint64(tc.dim), qdrant.Distance_Cosine)
			r := rand.New(rand.NewPCG(1, 1))
			// Batches are built outside the timer; a few are reused with fresh ids.
			const prebuilt = 8
			batches := make([][]*qdrant.PointStruct, prebuilt)
			for j := range batches {
				for i := range tc.batch {
					batches[j] = append(batches[j], &qdrant.PointStruct{
						Vectors: qdrant.NewVectorsDense(randVec(r, tc.dim)),
						Payload: qdrant.NewValueMap(map[string]any{
							"event_id": uuid.NewString(), "user_id": fmt.Sprintf("u%d", i), "event_type": "product_view",
							"partition": int64(i % 4), "offset": int64(i),
						}),
					})
				}
			}
			wait := true
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for ; b.Loop(); n++ {
				pts := batches[n%prebuilt]
				b.StopTimer()
				for _, p := range pts {
					p.Id = qdrant.NewIDUUID(uuid.NewString())
				}
				b.StartTimer()
				if _, err := c.Upsert(context.Background(), &qdrant.UpsertPoints{CollectionName: "ev", Wait: &wait, Points: pts}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*tc.batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
