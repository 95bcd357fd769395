package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/infra"
)

// Calibration is the harness's own ceiling on this machine: how fast it can generate
// events, and generate and produce them to Kafka, with no pipeline running.
type Calibration struct {
	GenerateEPS float64 `json:"generate_eps"`
	ProduceEPS  float64 `json:"produce_eps"`
	Produced    int64   `json:"produced"`
	Kafka       string  `json:"kafka"`
}

// Calibrate runs the generator alone for d, then the generator and producer at full
// speed (no pacing) for d, against the scenario's infrastructure.
func Calibrate(ctx context.Context, sc *Scenario, self string, d time.Duration) (Calibration, error) {
	var c Calibration
	gen, _, err := sc.NewGenerator()
	if err != nil {
		return c, err
	}
	start := time.Now()
	var n int64
	for time.Since(start) < d {
		for range 1000 {
			gen.Next(start.Add(time.Duration(n) * time.Microsecond))
			n++
		}
	}
	c.GenerateEPS = float64(n) / time.Since(start).Seconds()

	env, err := startInfra(ctx, sc, self, nil, "", "", "")
	if err != nil {
		return c, err
	}
	defer env.Close()
	c.Kafka = env.KafkaLabel
	cl, err := infra.NewKafkaClient(env, kgo.ProducerLinger(sc.Kafka.ProducerLinger), kgo.MaxBufferedRecords(1<<16),
		kgo.DefaultProduceTopic(sc.Pipeline.Kafka.Topic))
	if err != nil {
		return c, err
	}
	defer cl.Close()
	var failed error
	start = time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		for range 1000 {
			rec := gen.Next(time.Now())
			cl.Produce(ctx, &kgo.Record{Key: rec.Key, Value: rec.Value}, func(_ *kgo.Record, err error) {
				if err != nil && failed == nil {
					failed = err
				}
			})
			c.Produced++
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return c, fmt.Errorf("calibrate: flush: %w", err)
	}
	c.ProduceEPS = float64(c.Produced) / time.Since(start).Seconds()
	if failed != nil {
		return c, fmt.Errorf("calibrate: produce: %w", failed)
	}
	return c, nil
}
