package qdrantfake_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/qdrant/go-client/qdrant"
)

// eventBatches builds n batches of size points shaped as the pipeline's: a
// dim-dimensional vector and an event-like payload. Ids are set per upsert.
func eventBatches(n, size, dim int) [][]*qdrant.PointStruct {
	r := rand.New(rand.NewPCG(1, 1))
	batches := make([][]*qdrant.PointStruct, n)
	for j := range batches {
		for i := range size {
			batches[j] = append(batches[j], &qdrant.PointStruct{
				Vectors: qdrant.NewVectorsDense(randVec(r, dim)),
				Payload: qdrant.NewValueMap(map[string]any{
					"event_id": uuid.NewString(), "user_id": fmt.Sprintf("u%d", i), "event_type": "product_view",
					"partition": int64(i % 4), "offset": int64(i),
				}),
			})
		}
	}
	return batches
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per event: client and server
// together (both run here), so an upper bound on the server's.
func reportCPU(b *testing.B, cpu0 time.Duration, events int) {
	if events > 0 {
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(events), "cpu-µs/event")
	}
}

// BenchmarkUpsert upserts batches of 128-d vectors with an event-like payload
// through the official client over loopback gRPC, the way the pipeline does,
// into each point store. Every batch carries new UUID ids, so the collection
// grows as it would.
func BenchmarkUpsert(b *testing.B) {
	for _, st := range stores {
		for _, tc := range []struct{ batch, dim int }{{100, 128}, {500, 128}, {2000, 128}} {
			b.Run(fmt.Sprintf("%s-batch%d-dim%d", st.name, tc.batch, tc.dim), func(b *testing.B) {
				_, c := st.start(b)
				createCollection(b, c, "ev", uint64(tc.dim), qdrant.Distance_Cosine)
				// Batches are built outside the timer; a few are reused with fresh ids.
				batches := eventBatches(8, tc.batch, tc.dim)
				wait := true
				b.ReportAllocs()
				cpu0 := cpuTime()
				n := 0
				for ; b.Loop(); n++ {
					pts := batches[n%len(batches)]
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
				reportCPU(b, cpu0, n*tc.batch)
			})
		}
	}
}

// BenchmarkPipelineBatch is the pipeline's load per batch: an upsert of
// batch new points, then a Get of 200 of them with payload (the sink's
// read-back), into each point store. At 10,000 events/s the stand-in needs
// cpu-µs/event × 0.01 cores.
func BenchmarkPipelineBatch(b *testing.B) {
	const dim, gets = 128, 200
	for _, st := range stores {
		for _, batch := range []int{500, 2000} {
			b.Run(fmt.Sprintf("%s-batch%d", st.name, batch), func(b *testing.B) {
				_, c := st.start(b)
				createCollection(b, c, "ev", dim, qdrant.Distance_Cosine)
				batches := eventBatches(8, batch, dim)
				wait := true
				b.ReportAllocs()
				cpu0 := cpuTime()
				n := 0
				for ; b.Loop(); n++ {
					pts := batches[n%len(batches)]
					b.StopTimer()
					ids := make([]*qdrant.PointId, 0, gets)
					for i, p := range pts {
						p.Id = qdrant.NewIDUUID(uuid.NewString())
						if i%(batch/gets) == 0 && len(ids) < gets {
							ids = append(ids, p.Id)
						}
					}
					b.StartTimer()
					if _, err := c.Upsert(context.Background(), &qdrant.UpsertPoints{CollectionName: "ev", Wait: &wait, Points: pts}); err != nil {
						b.Fatal(err)
					}
					got, err := c.Get(context.Background(), &qdrant.GetPoints{CollectionName: "ev", Ids: ids})
					if err != nil {
						b.Fatal(err)
					}
					if len(got) != len(ids) {
						b.Fatalf("get returned %d of %d points", len(got), len(ids))
					}
				}
				b.ReportMetric(float64(n*batch)/b.Elapsed().Seconds(), "events/s")
				reportCPU(b, cpu0, n*batch)
			})
		}
	}
}
