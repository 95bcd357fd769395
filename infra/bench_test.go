package infra_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
)

// BenchmarkKfakeProduceConsume pushes records of ~400 bytes through the
// embedded kfake broker: a producer and a consumer-group member run at the
// same time, and an iteration ends when the consumer has every record the
// producer sent. events/s is records end to end per second.
func BenchmarkKfakeProduceConsume(b *testing.B) {
	// Values are random printable bytes, so compression gains little, as
	// with real JSON events that share keys but differ in content.
	const valueSize, distinct = 400, 1024
	r := rand.New(rand.NewPCG(1, 2))
	values := make([][]byte, distinct)
	for i := range values {
		values[i] = make([]byte, valueSize)
		for j := range values[i] {
			values[i][j] = byte(' ' + r.IntN(95))
		}
	}
	for _, tc := range []struct {
		records int
		linger  time.Duration
		codec   string
	}{
		{100_000, 0, "none"},
		{100_000, time.Millisecond, "none"},
		{100_000, 10 * time.Millisecond, "none"},
		{100_000, time.Millisecond, "snappy"},
	} {
		b.Run(fmt.Sprintf("records%d-linger%s-%s", tc.records, tc.linger, tc.codec), func(b *testing.B) {
			codec := kgo.NoCompression()
			if tc.codec == "snappy" {
				codec = kgo.SnappyCompression()
			}
			env := startEmbedded(b, infra.EmbeddedConfig{Partitions: 4, Topics: []string{"raw_data"}})
			prod := kafkaClient(b, env, kgo.DefaultProduceTopic("raw_data"), kgo.ProducerLinger(tc.linger),
				kgo.ProducerBatchCompression(codec), kgo.MaxBufferedRecords(20_000))
			cons := kafkaClient(b, env, kgo.ConsumeTopics("raw_data"), kgo.ConsumerGroup("bench"),
				kgo.FetchMaxWait(50*time.Millisecond))
			ctx, cancel := context.WithCancel(context.Background())
			var consumed atomic.Int64
			progress := make(chan struct{}, 1)
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				for ctx.Err() == nil {
					fs := cons.PollFetches(ctx)
					consumed.Add(int64(fs.NumRecords()))
					select {
					case progress <- struct{}{}:
					default:
					}
				}
			}()
			b.Cleanup(func() { cancel(); <-stopped })

			recs := make([]kgo.Record, tc.records)
			var want int64
			b.ReportAllocs()
			b.SetBytes(int64(tc.records * valueSize))
			iters := 0
			for b.Loop() {
				iters++
				var failed atomic.Value
				for i := range recs {
					recs[i] = kgo.Record{Key: fmt.Appendf(recs[i].Key[:0], "user-%d", i%5000), Value: values[i%distinct]}
					prod.Produce(ctx, &recs[i], func(_ *kgo.Record, err error) {
						if err != nil {
							failed.Store(err)
						}
					})
				}
				if err := prod.Flush(ctx); err != nil {
					b.Fatal(err)
				}
				if err, _ := failed.Load().(error); err != nil {
					b.Fatal(err)
				}
				want += int64(tc.records)
				for consumed.Load() < want {
					<-progress
				}
			}
			b.ReportMetric(float64(iters*tc.records)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
