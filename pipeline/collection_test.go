package pipeline

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
)

// standIn starts the Qdrant stand-in and returns a client of it.
func standIn(t *testing.T) *qdrant.Client {
	t.Helper()
	srv, err := qdrantfake.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	host, port, _ := net.SplitHostPort(srv.Addr())
	n, _ := strconv.Atoi(port)
	qc, err := qdrant.NewClient(&qdrant.Config{Host: host, Port: n, SkipCompatibilityCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = qc.Close() })
	return qc
}

// TestCollectionKnobs checks that the capacity knobs of QdrantConfig reach the
// collections the pipeline creates, as Qdrant reports them back, and that what
// is unset keeps Qdrant's defaults.
func TestCollectionKnobs(t *testing.T) {
	t.Parallel()
	qc := standIn(t)
	off := false
	thr, maxSeg, del := uint64(0), uint64(51_200), 0.8
	tuned := QdrantConfig{EventsCollection: "ev", ProfilesCollection: "pr", OnDisk: true, OnDiskPayload: &off,
		HNSW: HNSWConfig{M: 8, EfConstruct: 64}, IndexingThreshold: &thr, MaxSegmentSize: &maxSeg, DeletedThreshold: &del}
	for _, tc := range []struct {
		name          string
		cfg           QdrantConfig
		m, ef         uint64
		indexing      *uint64 // nil: left to Qdrant's default
		onDiskPayload bool
		onDiskVectors bool
	}{
		{"defaults", QdrantConfig{EventsCollection: "d_ev", ProfilesCollection: "d_pr"}, 16, 100, nil, true, false},
		{"tuned", tuned, 8, 64, &thr, false, true},
	} {
		if err := (qdrantStore{qc: qc, cfg: tc.cfg}).Prepare(t.Context(), 4); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{tc.cfg.EventsCollection, tc.cfg.ProfilesCollection} {
			info, err := qc.GetCollectionInfo(t.Context(), name)
			if err != nil {
				t.Fatal(err)
			}
			c := info.GetConfig()
			if c.GetHnswConfig().GetM() != tc.m || c.GetHnswConfig().GetEfConstruct() != tc.ef ||
				(c.GetOptimizerConfig().IndexingThreshold == nil) != (tc.indexing == nil) ||
				tc.indexing != nil && c.GetOptimizerConfig().GetIndexingThreshold() != *tc.indexing || c.GetParams().GetOnDiskPayload() != tc.onDiskPayload ||
				(c.GetOptimizerConfig().MaxSegmentSize != nil) != (tc.cfg.MaxSegmentSize != nil) ||
				tc.cfg.MaxSegmentSize != nil && c.GetOptimizerConfig().GetMaxSegmentSize() != *tc.cfg.MaxSegmentSize ||
				c.GetOptimizerConfig().GetDeletedThreshold() != cmp.Or(ptrVal(tc.cfg.DeletedThreshold), 0.2) ||
				c.GetParams().GetVectorsConfig().GetParams().GetOnDisk() != tc.onDiskVectors {
				t.Errorf("%s: collection %s reports %v", tc.name, name, c)
			}
		}
	}
	if !(QdrantConfig{}).Waits() || (QdrantConfig{Wait: &off}).Waits() {
		t.Error("wait: unset must wait, false must not")
	}
}

func ptrVal[T any](p *T) (v T) {
	if p != nil {
		v = *p
	}
	return v
}

// TestProfileCoalescing checks that a batch with two events of one user writes
// that user's profile once when coalescing (the default) and twice when not.
func TestProfileCoalescing(t *testing.T) {
	t.Parallel()
	now := time.Now()
	evs := []event.Event{{EventID: "a", UserID: "u", Timestamp: now}, {EventID: "b", UserID: "u", Timestamp: now.Add(time.Second)}, {EventID: "c", UserID: "v", Timestamp: now}}
	at := []Position{{Partition: 0, Offset: 1}, {Partition: 0, Offset: 2}, {Partition: 0, Offset: 3}}
	vecs := []float32{1, 0, 0, 1, 1, 1}
	for _, tc := range []struct {
		coalesce bool
		want     []string
	}{{true, []string{"u", "v"}}, {false, []string{"u", "u", "v"}}} {
		pc := newProfileCache(2)
		pc.put([]string{"u", "v"}, nil)
		changed, skips := pc.fold(evs, at, vecs, time.Hour, tc.coalesce)
		var got []string
		for _, p := range changed {
			got = append(got, p.UserID)
		}
		if skips != 0 || !slices.Equal(got, tc.want) {
			t.Errorf("coalesce %v: wrote %v (skipped %d), want %v", tc.coalesce, got, skips, tc.want)
		}
	}
}

// TestPayloadPad checks that payload_pad_bytes adds that many bytes to every
// event point's payload as stored, and nothing when 0.
func TestPayloadPad(t *testing.T) {
	t.Parallel()
	qc := standIn(t)
	for _, n := range []int{0, 300} {
		cfg := QdrantConfig{EventsCollection: fmt.Sprintf("ev%d", n), ProfilesCollection: fmt.Sprintf("pr%d", n), PayloadPadBytes: n}
		s := NewQdrantStore(qc, cfg)
		if err := s.Prepare(t.Context(), 2); err != nil {
			t.Fatal(err)
		}
		ev := event.Event{EventID: "e1", UserID: "u", Timestamp: time.Now()}
		if err := s.WriteEvents(t.Context(), []EventPoint{{Event: &ev, Vector: []float32{1, 0}}}); err != nil {
			t.Fatal(err)
		}
		got, err := qc.Get(t.Context(), &qdrant.GetPoints{CollectionName: cfg.EventsCollection, Ids: []*qdrant.PointId{qdrant.NewIDUUID(EventPointID("e1"))}, WithPayload: qdrant.NewWithPayload(true)})
		if err != nil || len(got) != 1 {
			t.Fatalf("pad %d: get %v, %v", n, got, err)
		}
		pad, ok := got[0].GetPayload()["pad"]
		if len(pad.GetStringValue()) != n || ok != (n > 0) {
			t.Errorf("pad %d: stored payload pad of %d bytes (present %v)", n, len(pad.GetStringValue()), ok)
		}
	}
}
