package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/pipeline"
)

// TestRetentionKeepsTheWindow runs the pipeline with qdrant.retention over a
// stream spanning 3 s of event time with a 1 s window: once it has committed
// everything and reports no write waiting for a sweep, the events collection
// holds exactly the valid events from the newest one's time minus 1 s on, the
// reported cutoff is that time, and every user's profile is still there.
func TestRetentionKeepsTheWindow(t *testing.T) {
	t.Parallel()
	r := newRig(t, 3000, 0.02)
	cfg := r.config()
	cfg.Qdrant.Retention = time.Second
	p, err := pipeline.New(cfg, r.deps())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for c := p.Stats().Counters(); c.Consumed < int64(len(r.recs)) || c.ExpirePending != 0 || c.ExpireSweeps == 0; c = p.Stats().Counters() {
		select {
		case err := <-done:
			t.Fatalf("pipeline stopped before the retention swept: %v (%+v)", err, c)
		case <-ctx.Done():
			t.Fatalf("no sweep after the last write in time: %+v", c)
		case <-tick.C:
		}
	}
	c := p.Stats().Counters()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	evs, _ := r.valid()
	newest := evs[len(evs)-1].Timestamp
	cutoff := pipeline.RetentionCutoff(newest, time.Second)
	if got := time.Unix(0, c.ExpireCutoff); !got.Equal(cutoff) {
		t.Errorf("reported cutoff %v, want the newest event's time minus 1s, %v", got, cutoff)
	}
	want := map[string]bool{}
	users := map[string]bool{}
	for _, ev := range evs {
		users[ev.UserID] = true
		if !ev.Timestamp.Before(cutoff) {
			want[pipeline.EventPointID(ev.EventID)] = true
		}
	}
	if len(want) == 0 || len(want) == len(evs) {
		t.Fatalf("the test's stream keeps %d of %d events: the window must cut it", len(want), len(evs))
	}
	got := r.points(t, cfg.Qdrant.EventsCollection)
	for id := range want {
		if got[id] == nil {
			t.Errorf("point %s of an event inside the window is gone", id)
		}
	}
	for id := range got {
		if !want[id] {
			t.Errorf("point %s of an event before the cutoff is still stored", id)
		}
	}
	if n := len(r.points(t, cfg.Qdrant.ProfilesCollection)); n != len(users) {
		t.Errorf("%d profiles stored, want one per user (%d): the retention keeps profiles", n, len(users))
	}
}
