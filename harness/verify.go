package harness

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/infra"
	"github.com/vectorstream/vectorstream/pipeline"
	"github.com/vectorstream/vectorstream/workloads"
)

// runRecord is what verification needs of a run, as the load generator recorded it:
// the generator's configuration, the schedule and its start (the stream is
// deterministic, so it is regenerated rather than kept), how many events were sent,
// and where Kafka put each one.
type runRecord struct {
	gcfg  workloads.GeneratorConfig
	sched *workloads.Schedule
	start time.Time
	sent  int64
	pos   []position
}

// verifier checks by identity what a run left in Qdrant and the dead-letter topic
// against the events the generator produced: one method per check, over the record
// of the run, after expect has rebuilt what there should be.
type verifier struct {
	sc  *Scenario
	rec runRecord
	env *infra.Env
	qc  *qdrant.Client
	enc *embed.Encoder
	dim int

	v Verification
	// What expect found there should be, and found of it: the event points are
	// looked up by id as the stream is regenerated, a chunk at a time, so no set
	// of ids is held (a long run has millions).
	expected  int64                        // valid events Kafka acknowledged
	expired   int64                        // of those, older than the retention's cutoff
	found     int64                        // of the others, points Qdrant has
	cutoff    time.Time                    // the retention's last cutoff; zero without one
	newest    time.Time                    // the newest valid event's time
	lookupErr error                        // the first failed lookup
	malformed map[string]event.Reason      // dead letters by event id
	profiles  map[string]*pipeline.Profile // by user
	userOrder []string
	samples   []sample // events whose stored vector is compared with a fresh embedding
}

type sample struct {
	id  string
	vec []float32
}

func (vf *verifier) problem(format string, args ...any) {
	vf.v.Problems = append(vf.v.Problems, fmt.Sprintf(format, args...))
}

// run runs every check. counters are the pipeline's final totals (for the spool). It
// returns the verification and how many valid and malformed events the run sent.
func (vf *verifier) run(ctx context.Context, counters pipeline.Counters) (v Verification, valid, malformed int64) {
	vf.v = Verification{MinVectorCos: 1, MinProfileCos: 1}
	if vf.sc.Pipeline.Qdrant.Retention > 0 && counters.ExpireCutoff != 0 {
		vf.cutoff = time.Unix(0, counters.ExpireCutoff)
	}
	if err := vf.expect(ctx); err != nil {
		vf.problem("%v", err)
		return vf.v, 0, 0
	}
	vf.retention(counters)
	vf.points(ctx)
	vf.deadLetters(ctx)
	vf.vectors(ctx)
	vf.storedProfiles(ctx)
	vf.spool(counters)
	vf.v.RPO = vf.v.Lost + vf.v.DLQMissing
	vf.v.Passed = len(vf.v.Problems) == 0
	return vf.v, vf.expected, int64(len(vf.malformed))
}

// expect regenerates the stream from the seed and, for every event Kafka
// acknowledged, records what the run should have left: its point (looked up in
// Qdrant by id, in chunks) or its dead letter, its embedding (in chunks, in stream
// order) folded into its user's profile, and a sample of vectors.
func (vf *verifier) expect(ctx context.Context) error {
	gen, err := workloads.NewGenerator(vf.rec.gcfg)
	if err != nil {
		return fmt.Errorf("regenerate stream: %w", err)
	}
	vf.malformed, vf.profiles = map[string]event.Reason{}, map[string]*pipeline.Profile{}
	sampleEvery := int64(1)
	if n := int64(vf.sc.Verify.SampleVectors); n > 0 && vf.rec.sent > n {
		sampleEvery = vf.rec.sent / n
	}
	f := folder{vf: vf, ctx: ctx, sampleEvery: sampleEvery, lastPos: map[string]position{}, disordered: map[string]bool{}, vecs: make([]float32, foldChunk*vf.dim)}
	for i := int64(0); i < vf.rec.sent; i++ {
		rec := gen.Next(vf.rec.start.Add(vf.rec.sched.At(i)))
		if vf.rec.pos[i].partition < 0 {
			continue // never acknowledged by Kafka: not part of the run
		}
		if rec.Malformed {
			vf.malformed[rec.EventID] = rec.Reason
			continue
		}
		vf.expected++
		if rec.Event.Timestamp.After(vf.newest) {
			vf.newest = rec.Event.Timestamp
		}
		kept := !rec.Event.Timestamp.Before(vf.cutoff)
		if !kept {
			vf.expired++
		}
		if err := f.add(rec.Event, i, kept); err != nil {
			return fmt.Errorf("re-embed: %w", err)
		}
	}
	if err := f.flush(); err != nil {
		return fmt.Errorf("re-embed: %w", err)
	}
	if len(f.disordered) > 0 {
		if err := vf.recomputeInLogOrder(f.disordered); err != nil {
			return fmt.Errorf("recompute profiles in log order: %w", err)
		}
	}
	return nil
}

const foldChunk = 1024

// folder embeds valid events in chunks and folds each into its user's profile, and
// looks their points up in Qdrant.
type folder struct {
	vf          *verifier
	ctx         context.Context
	sampleEvery int64
	lastPos     map[string]position
	disordered  map[string]bool // users whose events Kafka holds out of stream order
	evs         []event.Event
	seqs        []int64
	kept        []bool // whether the event's point must be in Qdrant (not expired)
	docs        []embed.Doc
	vecs        []float32
}

func (f *folder) add(ev event.Event, seq int64, kept bool) error {
	f.evs = append(f.evs, ev)
	f.seqs = append(f.seqs, seq)
	f.kept = append(f.kept, kept)
	f.docs = append(f.docs, embed.Doc{Text: ev.EmbedText(), Lang: ev.Locale})
	if len(f.evs) == foldChunk {
		return f.flush()
	}
	return nil
}

func (f *folder) flush() error {
	vf, dim := f.vf, f.vf.dim
	if len(f.evs) == 0 {
		return nil
	}
	if err := vf.enc.Encode(f.docs, f.vecs[:len(f.docs)*dim]); err != nil {
		return err
	}
	vf.lookup(f.ctx, f.evs, f.kept)
	for j := range f.evs {
		ev, seq := &f.evs[j], f.seqs[j]
		vec := f.vecs[j*dim : (j+1)*dim]
		pos := vf.rec.pos[seq]
		pr, ok := vf.profiles[ev.UserID]
		if !ok {
			pr = pipeline.NewProfile(ev.UserID, dim)
			vf.profiles[ev.UserID] = pr
			vf.userOrder = append(vf.userOrder, ev.UserID)
		}
		if last, ok := f.lastPos[ev.UserID]; ok && (pos.partition != last.partition || pos.offset < last.offset) {
			// Several producers interleaved this user's events: Kafka's order is
			// not the stream's. Recomputed again below, in log order.
			f.disordered[ev.UserID] = true
		}
		f.lastPos[ev.UserID] = pos
		pr.Apply(vec, ev, pipeline.Position{Partition: pos.partition, Offset: pos.offset}, vf.sc.Pipeline.Profiles.HalfLife)
		if seq%f.sampleEvery == 0 && f.kept[j] {
			vf.samples = append(vf.samples, sample{ev.EventID, append([]float32(nil), vec...)})
		}
	}
	f.evs, f.seqs, f.kept, f.docs = f.evs[:0], f.seqs[:0], f.kept[:0], f.docs[:0]
	return nil
}

// lookup counts how many of the kept of evs have their point in the events
// collection.
func (vf *verifier) lookup(ctx context.Context, evs []event.Event, kept []bool) {
	if vf.lookupErr != nil {
		return
	}
	ids := make([]*qdrant.PointId, 0, len(evs))
	for i := range evs {
		if kept[i] {
			ids = append(ids, qdrant.NewIDUUID(pipeline.EventPointID(evs[i].EventID)))
		}
	}
	if len(ids) == 0 {
		return
	}
	pts, err := vf.qc.Get(ctx, &qdrant.GetPoints{CollectionName: vf.sc.Pipeline.Qdrant.EventsCollection, Ids: ids,
		WithVectors: qdrant.NewWithVectors(false), WithPayload: qdrant.NewWithPayload(false)})
	if err != nil {
		vf.lookupErr = fmt.Errorf("get %d points: %w", len(ids), err)
		return
	}
	vf.found += int64(len(pts))
}

// retention checks the pipeline's retention: its last cutoff is the newest valid
// event's time minus pipeline.qdrant.retention (the final sweep came after the
// last write: the drain waits for it), so the points of exactly the events before
// it are gone, which points then checks.
func (vf *verifier) retention(c pipeline.Counters) {
	window := vf.sc.Pipeline.Qdrant.Retention
	if window <= 0 || vf.expected == 0 {
		return
	}
	v := &vf.v
	v.Expired = vf.expired
	if vf.cutoff.IsZero() {
		vf.problem("retention: the pipeline reported no completed sweep (%d sweeps)", c.ExpireSweeps)
		return
	}
	cut := vf.cutoff.UTC()
	v.RetentionCutoff = &cut
	if want := pipeline.RetentionCutoff(vf.newest, window); !want.Equal(vf.cutoff) {
		vf.problem("retention: the last sweep's cutoff %s is not the newest event's time minus %v (%s)",
			cut.Format(time.RFC3339Nano), window, want.UTC().Format(time.RFC3339Nano))
	}
}

// points checks the event points by identity: every valid event's (looked up by
// expect) but the expired ones, and no other (the collection holds exactly as
// many as were found).
func (vf *verifier) points(ctx context.Context) {
	v, coll := &vf.v, vf.sc.Pipeline.Qdrant.EventsCollection
	v.ExpectedPoints = vf.expected - vf.expired
	if vf.lookupErr != nil {
		vf.problem("look up points in %s: %v", coll, vf.lookupErr)
		return
	}
	n, err := vf.qc.Count(ctx, &qdrant.CountPoints{CollectionName: coll, Exact: qdrant.PtrOf(true)})
	if err != nil {
		vf.problem("count %s: %v", coll, err)
		return
	}
	v.StoredPoints = int64(n)
	v.Lost = v.ExpectedPoints - vf.found
	v.Unexpected = v.StoredPoints - vf.found
	if v.Lost > 0 {
		vf.problem("%d valid events missing from %s", v.Lost, coll)
	}
	if v.Unexpected > 0 {
		vf.problem("%d points in %s that no valid event produced", v.Unexpected, coll)
	}
}

// deadLetters checks the dead-letter topic: every malformed event, with its reason.
func (vf *verifier) deadLetters(ctx context.Context) {
	v, topic := &vf.v, vf.sc.Pipeline.Kafka.DLQTopic
	v.ExpectedDLQ = int64(len(vf.malformed))
	if err := checkDLQ(ctx, vf.env, topic, vf.malformed, v); err != nil {
		vf.problem("read %s: %v", topic, err)
	}
	if v.DLQMissing > 0 || v.DLQWrong > 0 || v.DLQUnknown > 0 {
		vf.problem("dead letters: %d missing, %d with the wrong reason, %d unexpected", v.DLQMissing, v.DLQWrong, v.DLQUnknown)
	}
}

// vectors checks that the sampled stored vectors equal a fresh re-embedding.
func (vf *verifier) vectors(ctx context.Context) {
	if len(vf.samples) == 0 {
		return
	}
	v := &vf.v
	ids := make([]*qdrant.PointId, len(vf.samples))
	for i, s := range vf.samples {
		ids[i] = qdrant.NewIDUUID(pipeline.EventPointID(s.id))
	}
	pts, err := vf.qc.Get(ctx, &qdrant.GetPoints{CollectionName: vf.sc.Pipeline.Qdrant.EventsCollection, Ids: ids,
		WithVectors: qdrant.NewWithVectors(true), WithPayload: qdrant.NewWithPayload(false)})
	if err != nil {
		vf.problem("get sampled vectors: %v", err)
	}
	got := map[string][]float32{}
	for _, pt := range pts {
		got[pt.GetId().GetUuid()] = pipeline.VectorOf(pt.GetVectors())
	}
	for _, s := range vf.samples {
		gv, ok := got[pipeline.EventPointID(s.id)]
		if !ok {
			continue // counted as lost by points
		}
		v.VectorsChecked++
		c := cosine(gv, s.vec)
		v.MinVectorCos = math.Min(v.MinVectorCos, c)
		if c < vf.sc.Verify.MinCosine {
			v.VectorsBad++
		}
	}
	if v.VectorsBad > 0 {
		vf.problem("%d of %d sampled vectors differ from a fresh re-embedding (min cosine %.6f)", v.VectorsBad, v.VectorsChecked, v.MinVectorCos)
	}
}

// storedProfiles checks that every stored profile equals its recomputation from the
// produced events.
func (vf *verifier) storedProfiles(ctx context.Context) {
	v, coll := &vf.v, vf.sc.Pipeline.Qdrant.ProfilesCollection
	v.ExpectedProfiles = int64(len(vf.profiles))
	stored, err := scrollProfiles(ctx, vf.qc, coll)
	if err != nil {
		vf.problem("scroll %s: %v", coll, err)
	}
	v.StoredProfiles = int64(len(stored))
	for _, u := range vf.userOrder {
		want := vf.profiles[u]
		got, ok := stored[u]
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
		if c < vf.sc.Verify.MinCosine || got.Events != want.Events || got.LastOffset != want.LastOffset {
			v.ProfilesBad++
		}
	}
	if v.ProfilesBad > 0 || v.StoredProfiles != v.ExpectedProfiles {
		vf.problem("profiles: %d of %d differ from a recomputation (min cosine %.6f), %d stored", v.ProfilesBad, v.ExpectedProfiles, v.MinProfileCos, v.StoredProfiles)
	}
}

// spool checks the backup spool: empty at the end, and everything spooled replayed.
func (vf *verifier) spool(c pipeline.Counters) {
	v := &vf.v
	v.Spooled, v.Replayed, v.SpoolPending = c.Spooled, c.Replayed, c.SpoolPending
	v.SpooledBatches, v.ReplayedBatches = c.SpooledBatches, c.ReplayedBatches
	if c.SpoolPending != 0 {
		vf.problem("spool: %d batches still wait for replay after the drain", c.SpoolPending)
	}
	if c.Replayed != c.Spooled || c.ReplayedBatches != c.SpooledBatches {
		vf.problem("spool: %d events in %d batches spooled, %d in %d replayed", c.Spooled, c.SpooledBatches, c.Replayed, c.ReplayedBatches)
	}
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
func (vf *verifier) recomputeInLogOrder(users map[string]bool) error {
	gen, err := workloads.NewGenerator(vf.rec.gcfg)
	if err != nil {
		return err
	}
	type logged struct {
		pos position
		ev  event.Event
		vec []float32
	}
	byUser := map[string][]logged{}
	for i := int64(0); i < vf.rec.sent; i++ {
		rec := gen.Next(vf.rec.start.Add(vf.rec.sched.At(i)))
		if rec.Malformed || vf.rec.pos[i].partition < 0 || !users[rec.Event.UserID] {
			continue
		}
		vec := make([]float32, vf.dim)
		if err := vf.enc.Encode([]embed.Doc{{Text: rec.Event.EmbedText(), Lang: rec.Event.Locale}}, vec); err != nil {
			return err
		}
		byUser[rec.Event.UserID] = append(byUser[rec.Event.UserID], logged{vf.rec.pos[i], rec.Event, vec})
	}
	for u, evs := range byUser {
		sort.Slice(evs, func(a, b int) bool {
			if evs[a].pos.partition != evs[b].pos.partition {
				return evs[a].pos.partition < evs[b].pos.partition
			}
			return evs[a].pos.offset < evs[b].pos.offset
		})
		pr := pipeline.NewProfile(u, vf.dim)
		for _, e := range evs {
			pr.Apply(e.vec, &e.ev, pipeline.Position{Partition: e.pos.partition, Offset: e.pos.offset}, vf.sc.Pipeline.Profiles.HalfLife)
		}
		vf.profiles[u] = pr
	}
	return nil
}
