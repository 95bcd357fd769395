package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// dlqRig is a kfake cluster with a raw topic, a dead-letter topic holding dead letters
// the pipeline's own deadLetter made, and an empty topic.
type dlqRig struct {
	opts  []kgo.Opt
	now   time.Time
	dead  map[string][]byte // event id → original value
	keys  map[string]string // event id → original key
	stale []string          // event ids rejected only for their age
}

const (
	dlqRaw   = "raw"
	dlqTopic = "raw.dlq"
)

func newDLQRig(t *testing.T) *dlqRig {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, dlqRaw, dlqTopic, "empty"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	r := &dlqRig{opts: []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}, now: time.Now().UTC(),
		dead: map[string][]byte{}, keys: map[string]string{}}
	r.addDeadLetters(t, 0, 4, 2)
	return r
}

// addDeadLetters dead-letters nStale events 48h old (stale under the default 24h
// max_past) and nBroken truncated ones, numbered from first, as the pipeline would.
func (r *dlqRig) addDeadLetters(t *testing.T, first, nStale, nBroken int) {
	t.Helper()
	strict := event.NewValidator(event.ValidatorConfig{MaxPast: 24 * time.Hour})
	var recs []*kgo.Record
	for i := range nStale + nBroken {
		id := fmt.Sprintf("ev-%d", first+i)
		ev := event.Event{SchemaVersion: event.SchemaVersion, EventID: id, EventType: event.Search,
			Timestamp: r.now.Add(-48 * time.Hour), UserID: "u-" + strconv.Itoa(i%3), SessionID: "s-1",
			Query: strings.Repeat("wool scarf ", 12), Device: "mobile", Locale: "en-US"}
		value := ev.AppendJSON(nil)
		if i >= nStale {
			value = value[:len(value)-7] // truncated_json
		} else {
			r.stale = append(r.stale, id)
		}
		src := &kgo.Record{Topic: dlqRaw, Partition: int32(i % 3), Offset: int64(100 + first + i), Key: []byte(ev.UserID), Value: value,
			Headers: []kgo.RecordHeader{{Key: event.HeaderEventID, Value: []byte(id)}, {Key: event.HeaderIntended, Value: []byte("123")}}}
		_, rej := strict.Validate(value, r.now)
		if rej == nil {
			t.Fatalf("%s passed the strict validator", id)
		}
		r.dead[id], r.keys[id] = value, ev.UserID
		recs = append(recs, deadLetter(src, rej, dlqTopic))
	}
	cl, err := kgo.NewClient(r.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// readAll returns every record of topic up to its current high watermarks.
func (r *dlqRig) readAll(t *testing.T, topic string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(r.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	starts, ends, err := dlqBounds(t.Context(), kadm.NewClient(cl), topic)
	if err != nil {
		t.Fatal(err)
	}
	var all []*kgo.Record
	if err := readRange(t.Context(), cl, span{topic: topic, starts: starts, ends: ends}, func(rs []*kgo.Record) (bool, error) {
		all = append(all, rs...)
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	return all
}

func (r *dlqRig) replay(t *testing.T, o ReplayOptions) ReplayReport {
	t.Helper()
	o.DLQTopic = dlqTopic
	o.Now = func() time.Time { return r.now }
	rep, err := ReplayDLQ(t.Context(), r.opts, o)
	if err != nil {
		t.Fatalf("replay %+v: %v", o, err)
	}
	return rep
}

func TestDLQInspectCountsAndSamples(t *testing.T) {
	t.Parallel()
	r := newDLQRig(t)
	rep, err := InspectDLQ(t.Context(), r.opts, dlqTopic, 3)
	if err != nil {
		t.Fatal(err)
	}
	stale, broken := string(event.ReasonTimestampOutOfRange), string(event.ReasonTruncatedJSON)
	if rep.Total != 6 || rep.ByReason[stale] != 4 || rep.ByReason[broken] != 2 || len(rep.ByReason) != 2 {
		t.Errorf("total %d by reason %v: want 6 = 4 %s + 2 %s", rep.Total, rep.ByReason, stale, broken)
	}
	if rep.ByField[stale]["timestamp"] != 4 || rep.BySourceTopic[dlqRaw] != 6 {
		t.Errorf("by field %v, by source topic %v", rep.ByField, rep.BySourceTopic)
	}
	if rep.Earliest.IsZero() || rep.Latest.Before(rep.Earliest) {
		t.Errorf("earliest %v latest %v", rep.Earliest, rep.Latest)
	}
	if len(rep.Samples[stale]) != 3 || len(rep.Samples[broken]) != 2 {
		t.Fatalf("samples %d %s, %d %s: want 3 and 2", len(rep.Samples[stale]), stale, len(rep.Samples[broken]), broken)
	}
	for _, s := range slices.Concat(rep.Samples[stale], rep.Samples[broken]) {
		orig, ok := r.dead[s.EventID]
		if !ok || s.SourceTopic != dlqRaw || s.SourceOffset < 100 || s.Key != r.keys[s.EventID] {
			t.Errorf("sample %+v does not match a dead letter", s)
			continue
		}
		if s.ValueBytes != len(orig) || len(s.Value) != DefaultSampleBytes || !bytes.HasPrefix(orig, []byte(s.Value)) {
			t.Errorf("sample %s: value %d of %d bytes, want the first %d", s.EventID, len(s.Value), s.ValueBytes, DefaultSampleBytes)
		}
		if s.Reason == stale && (s.Field != "timestamp" || !strings.Contains(s.Detail, "before now")) {
			t.Errorf("sample %+v: want field timestamp and a detail", s)
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("report does not marshal: %v", err)
	}

	empty, err := InspectDLQ(t.Context(), r.opts, "empty", 3)
	if err != nil || empty.Total != 0 || !empty.Earliest.IsZero() {
		t.Errorf("empty topic: %+v, %v", empty, err)
	}
	if _, err := InspectDLQ(t.Context(), r.opts, "no-such-topic", 3); err == nil || !strings.Contains(err.Error(), "no-such-topic") {
		t.Errorf("missing topic: err %v, want one naming it", err)
	}
}

func TestDLQReplayReinjectsWhatAFixedValidatorAccepts(t *testing.T) {
	t.Parallel()
	r := newDLQRig(t)
	strict := event.ValidatorConfig{MaxBytes: 16 << 10, MaxPast: 24 * time.Hour, MaxFuture: time.Hour}
	relaxed := strict
	relaxed.MaxPast = 72 * time.Hour
	stale, broken := string(event.ReasonTimestampOutOfRange), string(event.ReasonTruncatedJSON)
	cl, err := kgo.NewClient(r.opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	committed := func(group string) map[int32]int64 {
		t.Helper()
		os, err := kadm.NewClient(cl).FetchOffsets(t.Context(), group)
		if errors.Is(err, kerr.GroupIDNotFound) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		m := map[int32]int64{}
		os.Each(func(o kadm.OffsetResponse) { m[o.Partition] = o.At })
		return m
	}

	// Dry runs count and change nothing.
	for _, tc := range []struct {
		v                    event.ValidatorConfig
		reinjected, stillBad int64
	}{{strict, 0, 6}, {relaxed, 4, 2}} {
		rep := r.replay(t, ReplayOptions{Validator: tc.v, DryRun: true})
		if rep.Read != 6 || rep.Reinjected != tc.reinjected || rep.StillInvalid != tc.stillBad || rep.Remaining != 0 {
			t.Errorf("dry run with max_past %v: %+v", tc.v.MaxPast, rep)
		}
	}
	if got := r.readAll(t, dlqRaw); len(got) != 0 {
		t.Errorf("dry runs produced %d records", len(got))
	}
	if c := committed(DefaultReplayGroup); len(c) != 0 {
		t.Errorf("dry runs committed %v", c)
	}

	// The strict validator re-injects nothing but remembers it read everything.
	rep := r.replay(t, ReplayOptions{Validator: strict, Group: "strict"})
	if rep.Read != 6 || rep.Reinjected != 0 || rep.StillInvalidByReason[stale] != 4 || rep.StillInvalidByReason[broken] != 2 {
		t.Errorf("strict replay: %+v", rep)
	}
	if rep := r.replay(t, ReplayOptions{Validator: strict, Group: "strict"}); rep.Read != 0 {
		t.Errorf("second strict replay read %d", rep.Read)
	}

	// The relaxed validator re-injects exactly the stale events, as they were.
	reg := prometheus.NewPedanticRegistry()
	m, err := NewDLQMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	rep = r.replay(t, ReplayOptions{Validator: relaxed, Metrics: m})
	if rep.Read != 6 || rep.Reinjected != 4 || rep.ReinjectedByTopic[dlqRaw] != 4 || rep.StillInvalid != 2 ||
		rep.StillInvalidByReason[broken] != 2 || rep.Remaining != 0 {
		t.Errorf("relaxed replay: %+v", rep)
	}
	got := map[string]*kgo.Record{}
	for _, rec := range r.readAll(t, dlqRaw) {
		id := headerString(rec, event.HeaderEventID)
		if got[id] != nil {
			t.Errorf("%s re-injected twice", id)
		}
		got[id] = rec
	}
	if ids := slices.Sorted(maps.Keys(got)); !slices.Equal(ids, r.stale) {
		t.Fatalf("re-injected %v, want %v", ids, r.stale)
	}
	for id, rec := range got {
		if !bytes.Equal(rec.Value, r.dead[id]) || string(rec.Key) != r.keys[id] || headerString(rec, event.HeaderIntended) != "123" {
			t.Errorf("%s: key %q value %q headers %v: want the original record", id, rec.Key, rec.Value, rec.Headers)
		}
		from := headerString(rec, event.HeaderDLQReplayedFrom)
		if !strings.HasPrefix(from, dlqTopic+"/") || strings.Count(from, "/") != 2 {
			t.Errorf("%s: %s %q", id, event.HeaderDLQReplayedFrom, from)
		}
		for _, h := range rec.Headers {
			if strings.HasPrefix(h.Key, "dlq-") && h.Key != event.HeaderDLQReplayedFrom {
				t.Errorf("%s kept header %s", id, h.Key)
			}
		}
	}
	if n := len(r.readAll(t, dlqTopic)); n != 6 {
		t.Errorf("dead-letter topic holds %d records after the replay, want 6 (nothing removed, nothing added)", n)
	}
	if got, want := gatherCounters(t, reg), map[string]float64{
		"vectorstream_dlq_replayed_total":                             4,
		"vectorstream_dlq_still_invalid_total{reason=truncated_json}": 2,
	}; !maps.Equal(got, want) {
		t.Errorf("metrics %v, want %v", got, want)
	}

	// Offsets were committed: a second replay finds nothing new.
	if rep := r.replay(t, ReplayOptions{Validator: relaxed}); rep.Read != 0 || rep.Reinjected != 0 {
		t.Errorf("second relaxed replay: %+v", rep)
	}

	// New dead letters, replayed one at a time with Limit.
	r.addDeadLetters(t, 10, 2, 0)
	for i, wantRemaining := range []int64{1, 0} {
		rep := r.replay(t, ReplayOptions{Validator: relaxed, Limit: 1})
		if rep.Read != 1 || rep.Reinjected != 1 || rep.Remaining != wantRemaining {
			t.Errorf("limited replay %d: %+v", i, rep)
		}
	}
	if n := len(r.readAll(t, dlqRaw)); n != 6 {
		t.Errorf("raw topic holds %d records, want 6 re-injected", n)
	}

	// An explicit target.
	rep = r.replay(t, ReplayOptions{Validator: relaxed, Group: "to-empty", Target: "empty"})
	if rep.Reinjected != 6 || rep.ReinjectedByTopic["empty"] != 6 {
		t.Errorf("replay to an explicit target: %+v", rep)
	}
	if _, err := ReplayDLQ(t.Context(), r.opts, ReplayOptions{DLQTopic: dlqTopic, Target: dlqTopic}); err == nil {
		t.Error("replay into the dead-letter topic itself was accepted")
	}
}

// gatherCounters returns every counter of reg by name{label=value,...}.
func gatherCounters(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			if len(ls) > 0 {
				name += "{" + strings.Join(ls, ",") + "}"
			}
			out[name] = m.GetCounter().GetValue()
		}
	}
	return out
}
