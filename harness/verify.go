package harness

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/google/uuid"
	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/pipeline"
	"github.com/vectorstream/vectorstream/workloads"
)

// verify checks by identity what the run left in Qdrant and the DLQ against the events
// the generator produced. The stream is regenerated from the seed (it is deterministic),
// so the harness keeps only the Kafka position of each event during the run.
func verify(ctx context.Context, sc *Scenario, env *infra.Env, qc *qdrant.Client, enc *embed.Encoder, dim int, lg *loadGen, gcfg workloads.GeneratorConfig, res *Result) Verification {
	v := Verification{MinVectorCos: 1, MinProfileCos: 1}
	problem := func(format string, args ...any) { v.Problems = append(v.Problems, fmt.Sprintf(format, args...)) }
	gen, err := workloads.NewGenerator(gcfg)
	if err != nil {
		problem("regenerate stream: %v", err)
		return v
	}

	expected := map[uuid.UUID]struct{}{}
	malformed := map[string]event.Reason{}
	profiles := map[string]*pipeline.Profile{}
	var userOrder []string
	lastPos := map[string]position{}
	disordered := map[string]bool{}
	sampleEvery := int64(1)
	sent := lg.sent.Load()
	if n := int64(sc.Verify.SampleVectors); n > 0 && sent > n {
		sampleEvery = sent / n
	}
	type sample struct {
		id  string
		vec []float32
	}
	var samples []sample

	// Re-embed in chunks, in stream order, folding events into recomputed profiles.
	const chunk = 1024
	var (
		evs  []event.Event
		seqs []int64
		docs []embed.Doc
		vecs = make([]float32, chunk*dim)
	)
	flush := func() error {
		if len(evs) == 0 {
			return nil
		}
		if err := enc.Encode(docs, vecs[:len(docs)*dim]); err != nil {
			return err
		}
		for j := range evs {
			ev, seq := &evs[j], seqs[j]
			vec := vecs[j*dim : (j+1)*dim]
			pos := lg.pos[seq]
			pr, ok := profiles[ev.UserID]
			if !ok {
				pr = pipeline.NewProfile(ev.UserID, dim)
				profiles[ev.UserID] = pr
				userOrder = append(userOrder, ev.UserID)
			}
			if last, ok := lastPos[ev.UserID]; ok && (pos.partition != last.partition || pos.offset < last.offset) {
				// Several producers interleaved this user's events: Kafka's order is
				// not the stream's. Recomputed again below, in log order.
				disordered[ev.UserID] = true
			}
			lastPos[ev.UserID] = pos
			pr.Apply(vec, ev, pipeline.Position{Partition: pos.partition, Offset: pos.offset}, sc.Pipeline.Profiles.HalfLife)
			if seq%sampleEvery == 0 {
				samples = append(samples, sample{ev.EventID, append([]float32(nil), vec...)})
			}
		}
		evs, seqs, docs = evs[:0], seqs[:0], docs[:0]
		return nil
	}
	for i := int64(0); i < sent; i++ {
		rec := gen.Next(lg.start.Add(lg.sched.At(i)))
		if lg.pos[i].partition < 0 {
			continue // never acknowledged by Kafka: not part of the run
		}
		if rec.Malformed {
			malformed[rec.EventID] = rec.Reason
			continue
		}
		expected[uuid.MustParse(pipeline.EventPointID(rec.EventID))] = struct{}{}
		evs = append(evs, rec.Event)
		seqs = append(seqs, i)
		docs = append(docs, embed.Doc{Text: rec.Event.EmbedText(), Lang: rec.Event.Locale})
		if len(evs) == chunk {
			if err := flush(); err != nil {
				problem("re-embed: %v", err)
				return v
			}
		}
	}
	if err := flush(); err != nil {
		problem("re-embed: %v", err)
		return v
	}
	if len(disordered) > 0 {
		if err := recomputeInLogOrder(sc, lg, gcfg, enc, dim, disordered, profiles); err != nil {
			problem("recompute profiles in log order: %v", err)
			return v
		}
	}
	res.Counts.Valid = int64(len(expected))
	res.Counts.Malformed = int64(len(malformed))

	// Event points by identity.
	v.ExpectedPoints = int64(len(expected))
	stored, err := scrollIDs(ctx, qc, sc.Pipeline.Qdrant.EventsCollection)
	if err != nil {
		problem("scroll %s: %v", sc.Pipeline.Qdrant.EventsCollection, err)
	}
	v.StoredPoints = int64(len(stored))
	for id := range stored {
		if _, ok := expected[id]; !ok {
			v.Unexpected++
		}
	}
	for id := range expected {
		if _, ok := stored[id]; !ok {
			v.Lost++
		}
	}
	if v.Lost > 0 {
		problem("%d valid events missing from %s", v.Lost, sc.Pipeline.Qdrant.EventsCollection)
	}
	if v.Unexpected > 0 {
		problem("%d points in %s that no valid event produced", v.Unexpected, sc.Pipeline.Qdrant.EventsCollection)
	}

	// Dead letters.
	v.ExpectedDLQ = int64(len(malformed))
	if err := checkDLQ(ctx, env, sc.Pipeline.Kafka.DLQTopic, malformed, &v); err != nil {
		problem("read %s: %v", sc.Pipeline.Kafka.DLQTopic, err)
	}
	if v.DLQMissing > 0 || v.DLQWrong > 0 || v.DLQUnknown > 0 {
		problem("dead letters: %d missing, %d with the wrong reason, %d unexpected", v.DLQMissing, v.DLQWrong, v.DLQUnknown)
	}

	// Sampled vectors equal a fresh re-embedding.
	if len(samples) > 0 {
		ids := make([]*qdrant.PointId, len(samples))
		for i, s := range samples {
			ids[i] = qdrant.NewIDUUID(pipeline.EventPointID(s.id))
		}
		pts, err := qc.Get(ctx, &qdrant.GetPoints{CollectionName: sc.Pipeline.Qdrant.EventsCollection, Ids: ids,
			WithVectors: qdrant.NewWithVectors(true), WithPayload: qdrant.NewWithPayload(false)})
		if err != nil {
			problem("get sampled vectors: %v", err)
		}
		got := map[string][]float32{}
		for _, pt := range pts {
			got[pt.GetId().GetUuid()] = pipeline.VectorOf(pt.GetVectors())
		}
		for _, s := range samples {
			gv, ok := got[pipeline.EventPointID(s.id)]
			if !ok {
				continue // counted as lost above
			}
			v.VectorsChecked++
			c := cosine(gv, s.vec)
			v.MinVectorCos = math.Min(v.MinVectorCos, c)
			if c < sc.Verify.MinCosine {
				v.VectorsBad++
			}
		}
		if v.VectorsBad > 0 {
			problem("%d of %d sampled vectors differ from a fresh re-embedding (min cosine %.6f)", v.VectorsBad, v.VectorsChecked, v.MinVectorCos)
		}
	}

	// Profiles equal a recomputation from the produced events.
	v.ExpectedProfiles = int64(len(profiles))
	storedProfiles, err := scrollProfiles(ctx, qc, sc.Pipeline.Qdrant.ProfilesCollection)
	if err != nil {
		problem("scroll %s: %v", sc.Pipeline.Qdrant.ProfilesCollection, err)
	}
	v.StoredProfiles = int64(len(storedProfiles))
	for _, u := range userOrder {
		want := profiles[u]
		got, ok := storedProfiles[u]
		if !ok {
			v.ProfilesBad++
			continue
		}
		wv, wn := want.Vector()
		gv, gn := got.Vector()
		c := cosine(wv, gv)
		if math.Abs(wn-gn) > 1e-3*max(wn, 1) {
			c = min(c, 0) // same direction, different weight: not the same profile
		}
		v.MinProfileCos = math.Min(v.MinProfileCos, c)
		if c < sc.Verify.MinCosine || got.Events != want.Events || got.LastOffset != want.LastOffset {
			v.ProfilesBad++
		}
	}
	if v.ProfilesBad > 0 || v.StoredProfiles != v.ExpectedProfiles {
		problem("profiles: %d of %d differ from a recomputation (min cosine %.6f), %d stored", v.ProfilesBad, v.ExpectedProfiles, v.MinProfileCos, v.StoredProfiles)
	}
	// The backup spool: empty at the end, and everything spooled was replayed.
	c := res.Pipeline.Counters
	v.Spooled, v.Replayed, v.SpoolPending = c.Spooled, c.Replayed, c.SpoolPending
	v.SpooledBatches, v.ReplayedBatches = c.SpooledBatches, c.ReplayedBatches
	if c.SpoolPending != 0 {
		problem("spool: %d batches still wait for replay after the drain", c.SpoolPending)
	}
	if c.Replayed != c.Spooled || c.ReplayedBatches != c.SpooledBatches {
		problem("spool: %d events in %d batches spooled, %d in %d replayed", c.Spooled, c.SpooledBatches, c.Replayed, c.ReplayedBatches)
	}
	v.RPO = v.Lost + v.DLQMissing
	v.Passed = len(v.Problems) == 0
	return v
}

func cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 && nb == 0 {
		return 1 // both empty (e.g. a page_view, which has no text): identical
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// scrollIDs returns every point id of a collection.
func scrollIDs(ctx context.Context, qc *qdrant.Client, collection string) (map[uuid.UUID]struct{}, error) {
	out := map[uuid.UUID]struct{}{}
	err := scroll(ctx, qc, collection, false, func(pt *qdrant.RetrievedPoint) error {
		id, err := uuid.Parse(pt.GetId().GetUuid())
		if err != nil {
			return fmt.Errorf("point id %v: %w", pt.GetId(), err)
		}
		out[id] = struct{}{}
		return nil
	})
	return out, err
}

func scrollProfiles(ctx context.Context, qc *qdrant.Client, collection string) (map[string]*pipeline.Profile, error) {
	out := map[string]*pipeline.Profile{}
	err := scroll(ctx, qc, collection, true, func(pt *qdrant.RetrievedPoint) error {
		p, err := pipeline.ProfileFromPoint(pt)
		if err != nil {
			return err
		}
		out[p.UserID] = p
		return nil
	})
	return out, err
}

func scroll(ctx context.Context, qc *qdrant.Client, collection string, full bool, fn func(*qdrant.RetrievedPoint) error) error {
	limit := uint32(5000)
	var offset *qdrant.PointId
	for {
		pts, next, err := qc.ScrollAndOffset(ctx, &qdrant.ScrollPoints{
			CollectionName: collection, Offset: offset, Limit: &limit,
			WithPayload: qdrant.NewWithPayload(full), WithVectors: qdrant.NewWithVectors(full),
		})
		if err != nil {
			return err
		}
		for _, pt := range pts {
			if err := fn(pt); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		offset = next
	}
}

// checkDLQ reads the dead-letter topic from start to end and compares it with the
// malformed events the generator produced, by event id and reason.
func checkDLQ(ctx context.Context, env *infra.Env, topic string, want map[string]event.Reason, v *Verification) error {
	cl, err := infra.NewKafkaClient(env, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("end offsets: %w", err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	seen := map[string]bool{}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for v.DLQRecords < total {
		fs := cl.PollFetches(rctx)
		if err := rctx.Err(); err != nil {
			return fmt.Errorf("read %d of %d dead letters: %w", v.DLQRecords, total, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			v.DLQRecords++
			var id, reason string
			for _, h := range r.Headers {
				switch h.Key {
				case event.HeaderEventID:
					id = string(h.Value)
				case event.HeaderDLQReason:
					reason = string(h.Value)
				}
			}
			wantReason, ok := want[id]
			switch {
			case !ok:
				v.DLQUnknown++
			case seen[id]:
				v.DLQDuplicate++
			case string(wantReason) != reason:
				v.DLQWrong++
			}
			seen[id] = true
		})
	}
	for id := range want {
		if !seen[id] {
			v.DLQMissing++
		}
	}
	return nil
}

// recomputeInLogOrder rebuilds the profiles of the given users from their events in
// Kafka's order (partition, offset), which is the order the pipeline applied them in.
// It regenerates the stream once more and embeds only those users' events.
func recomputeInLogOrder(sc *Scenario, lg *loadGen, gcfg workloads.GeneratorConfig, enc *embed.Encoder, dim int,
	users map[string]bool, profiles map[string]*pipeline.Profile) error {
	gen, err := workloads.NewGenerator(gcfg)
	if err != nil {
		return err
	}
	type logged struct {
		pos position
		ev  event.Event
		vec []float32
	}
	byUser := map[string][]logged{}
	sent := lg.sent.Load()
	for i := int64(0); i < sent; i++ {
		rec := gen.Next(lg.start.Add(lg.sched.At(i)))
		if rec.Malformed || lg.pos[i].partition < 0 || !users[rec.Event.UserID] {
			continue
		}
		vec := make([]float32, dim)
		if err := enc.Encode([]embed.Doc{{Text: rec.Event.EmbedText(), Lang: rec.Event.Locale}}, vec); err != nil {
			return err
		}
		byUser[rec.Event.UserID] = append(byUser[rec.Event.UserID], logged{lg.pos[i], rec.Event, vec})
	}
	for u, evs := range byUser {
		sort.Slice(evs, func(a, b int) bool {
			if evs[a].pos.partition != evs[b].pos.partition {
				return evs[a].pos.partition < evs[b].pos.partition
			}
			return evs[a].pos.offset < evs[b].pos.offset
		})
		pr := pipeline.NewProfile(u, dim)
		for _, e := range evs {
			pr.Apply(e.vec, &e.ev, pipeline.Position{Partition: e.pos.partition, Offset: e.pos.offset}, sc.Pipeline.Profiles.HalfLife)
		}
		profiles[u] = pr
	}
	return nil
}
