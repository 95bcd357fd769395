package qdrantfake_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/qdrant/go-client/qdrant"
)

// soakEnv names the variable that enables TestSoakRSS and sets its length.
const soakEnv = "VECTORSTREAM_QDRANTFAKE_SOAK"

// rssAnon reads this process's anonymous resident memory (RssAnon) in bytes.
func rssAnon(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("RssAnon:")); ok {
			kb, err := strconv.ParseUint(string(bytes.Fields(v)[0]), 10, 64)
			if err != nil {
				t.Fatalf("parse RssAnon %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Skip("no RssAnon in /proc/self/status")
	return 0
}

// TestSoakRSS upserts 10,000 points/s (batches of 1,000 with a Get of 200 of
// them, as the pipeline does) into a disk-backed server for the duration in
// VECTORSTREAM_QDRANTFAKE_SOAK (e.g. 15m), sampling RssAnon every second, and
// requires the peak of the last quarter to be within 20 % of the peak of the
// second: memory must not grow with the run's length. Client and server share
// the process, so this bounds both.
func TestSoakRSS(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv(soakEnv))
	if err != nil || d <= 0 {
		t.Skipf("set %s to a duration (e.g. 15m) to run the soak", soakEnv)
	}
	const rate, batch, gets, dim = 10_000, 1_000, 200, 128
	_, c := startDisk(t)
	createCollection(t, c, "ev", dim, qdrant.Distance_Cosine)
	batches := eventBatches(8, batch, dim)
	ctx := context.Background()
	wait := true
	tick := time.NewTicker(time.Second * batch / rate)
	defer tick.Stop()
	start, cpu0 := time.Now(), cpuTime()
	var peaks [4]uint64
	lastSample, sent := start, 0
	for n := 0; time.Since(start) < d; n++ {
		pts := batches[n%len(batches)]
		ids := make([]*qdrant.PointId, 0, gets)
		for i, p := range pts {
			p.Id = qdrant.NewIDUUID(uuid.NewString())
			if i%(batch/gets) == 0 {
				ids = append(ids, p.Id)
			}
		}
		if _, err := c.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: "ev", Wait: &wait, Points: pts}); err != nil {
			t.Fatal(err)
		}
		if got, err := c.Get(ctx, &qdrant.GetPoints{CollectionName: "ev", Ids: ids}); err != nil || len(got) != len(ids) {
			t.Fatalf("get: %d of %d points, %v", len(got), len(ids), err)
		}
		sent += batch
		if now := time.Now(); now.Sub(lastSample) >= time.Second {
			lastSample = now
			q := min(3, int(4*now.Sub(start)/d))
			rss := rssAnon(t)
			peaks[q] = max(peaks[q], rss)
			if n%(10*rate/batch) == 0 {
				t.Logf("%6.0fs %9d points RssAnon %.0f MiB", now.Sub(start).Seconds(), sent, float64(rss)/(1<<20))
			}
		}
		<-tick.C
	}
	el := time.Since(start)
	t.Logf("%d points in %v (%.0f/s), %.1f cpu-µs/point (client and server); RssAnon peaks by quarter %.0f %.0f %.0f %.0f MiB",
		sent, el.Round(time.Second), float64(sent)/el.Seconds(), float64((cpuTime()-cpu0).Microseconds())/float64(sent),
		mibs(peaks[0]), mibs(peaks[1]), mibs(peaks[2]), mibs(peaks[3]))
	if float64(peaks[3]) > 1.2*float64(peaks[1]) {
		t.Fatalf("RssAnon peak grew from %.0f MiB (second quarter) to %.0f MiB (last quarter), more than 20 %%", mibs(peaks[1]), mibs(peaks[3]))
	}
}

func mibs(n uint64) float64 { return float64(n) / (1 << 20) }
