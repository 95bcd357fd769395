package workloads_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/vectorstream/vectorstream/workloads"
)

func reportEventsPerSec(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "events/s")
	}
}

// BenchmarkGenerate measures Next, JSON encoding included, over catalog sizes
// and with malformed records and typos switched on.
func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  workloads.GeneratorConfig
	}{
		{"products-1000", workloads.GeneratorConfig{Seed: 1, Products: 1000}},
		{"products-10000", workloads.GeneratorConfig{Seed: 1, Products: 10000}},
		{"products-10000-malformed-0.01-typos-0.1", workloads.GeneratorConfig{Seed: 1, Products: 10000, MalformedFraction: 0.01, TypoRate: 0.1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := newGen(b, bc.cfg)
			start := testNow
			bytes := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				r := g.Next(start.Add(time.Duration(i) * time.Microsecond))
				bytes += len(r.Value)
			}
			b.SetBytes(int64(bytes / max(b.N, 1)))
			reportEventsPerSec(b)
		})
	}
}

// sampleRecords returns n valid generated records.
func sampleRecords(b *testing.B, n int) []workloads.Record {
	g := newGen(b, workloads.GeneratorConfig{Seed: 2, Products: 2000})
	recs := make([]workloads.Record, n)
	for i := range recs {
		recs[i] = g.Next(testNow)
	}
	return recs
}

// BenchmarkEncodeJSON compares AppendJSON with encoding/json (the naive
// reference) on generated events.
func BenchmarkEncodeJSON(b *testing.B) {
	recs := sampleRecords(b, 1024)
	b.Run("AppendJSON", func(b *testing.B) {
		buf := make([]byte, 0, 4096)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			buf = recs[i%len(recs)].Event.AppendJSON(buf[:0])
		}
		b.SetBytes(int64(len(recs[0].Value)))
		reportEventsPerSec(b)
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := json.Marshal(&recs[i%len(recs)].Event); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(len(recs[0].Value)))
		reportEventsPerSec(b)
	})
}

// BenchmarkDecodeValidate compares the strict validator with a plain
// encoding/json decode (which checks far less) on generated documents.
func BenchmarkDecodeValidate(b *testing.B) {
	recs := sampleRecords(b, 1024)
	for _, size := range []int{1, 1024} {
		b.Run(fmt.Sprintf("Validator-%d", size), func(b *testing.B) {
			v := event.NewValidator(event.DefaultValidatorConfig())
			n := 0
			for _, r := range recs[:size] {
				n += len(r.Value)
			}
			b.SetBytes(int64(n / size))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, rj := v.Validate(recs[i%size].Value, testNow); rj != nil {
					b.Fatal(rj)
				}
			}
			reportEventsPerSec(b)
		})
	}
	b.Run("encoding-json-unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			var e event.Event
			if err := json.Unmarshal(recs[i%len(recs)].Value, &e); err != nil {
				b.Fatal(err)
			}
		}
		reportEventsPerSec(b)
	})
	b.Run("Validator-parallel", func(b *testing.B) {
		v := event.NewValidator(event.DefaultValidatorConfig())
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, rj := v.Validate(recs[i%len(recs)].Value, testNow); rj != nil {
					b.Error(rj)
					return
				}
				i++
			}
		})
		reportEventsPerSec(b)
	})
}
