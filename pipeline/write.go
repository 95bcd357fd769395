package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/event"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Store is where the pipeline's writes go: Qdrant (NewQdrantStore), or MemoryStore in
// tests. Each call is one request: the pipeline splits a batch into requests of
// qdrant.upsert_batch points, retries each and guards them with a circuit breaker, so
// nothing in the pipeline knows which Qdrant (or which proxy in front of it) answers.
// Writes are idempotent — an event point is keyed by its event id, a profile by its
// user — and acknowledged only once applied. A Store is used by several goroutines.
type Store interface {
	// Prepare makes sure the collections exist, for vectors of dim floats, and
	// refuses existing ones of another dimension.
	Prepare(ctx context.Context, dim int) error
	// WriteEvents stores one point per valid event.
	WriteEvents(ctx context.Context, points []EventPoint) error
	// WriteProfiles stores the profiles as they are now.
	WriteProfiles(ctx context.Context, profiles []*Profile) error
	// ReadProfiles returns the stored profiles of those users that have one.
	ReadProfiles(ctx context.Context, users []string) ([]*Profile, error)
	// Ping reports whether the Store answers.
	Ping(ctx context.Context) error
	// Expire deletes the event points whose event timestamp is before cutoff.
	Expire(ctx context.Context, cutoff time.Time) error
}

// EventPoint is one valid event as the Store keeps it: the event, where it was
// consumed and its embedding.
type EventPoint struct {
	Event  *event.Event
	At     Position
	Vector []float32
}

// write is the fourth stage: b's events, then the profiles of their users, into the
// Store. While the Store is unavailable the batch goes to the spool (its offsets may
// then be committed) or, without one, is held here: either way nothing new is pulled
// until it answers.
func (p *Pipeline) write(ctx context.Context, b *batch) error {
	wctx := context.WithoutCancel(ctx)
	err := p.untilAvailable(ctx, b, p.guard.qdrant.b, fmt.Sprintf("batch %d", b.no), func() error {
		err := p.writeBatch(wctx, b)
		if err == nil || !unavailable(err) || p.guard.spool == nil {
			return err
		}
		if serr := p.spoolBatch(b); serr != nil {
			return fmt.Errorf("qdrant unavailable (%v), and the spool failed: %w", err, serr)
		}
		p.o.log.Warn("qdrant unavailable: batch spooled", "batch", b.no, "events", len(b.events), "err", err)
		return nil
	})
	if err != nil {
		if isStopped(err) {
			return err
		}
		return fmt.Errorf("batch %d: %w", b.no, err)
	}
	if !b.spooled {
		b.c.Written = int64(len(b.events))
	}
	b.written = time.Now().UnixNano()
	return p.o.fault.hit(FaultBeforeCommit, b.no)
}

// writeBatch writes b's event points, then folds the events into their users'
// profiles and writes those that changed. On an error the profile cache is dropped: it
// may hold updates the Store never got.
func (c *core) writeBatch(ctx context.Context, b *batch) (err error) {
	defer func() {
		if err != nil {
			c.profiles.clear()
		}
	}()
	points := make([]EventPoint, len(b.events))
	for i := range b.events {
		points[i] = EventPoint{Event: &b.events[i], At: b.at[i], Vector: b.vecs[i*c.dim : (i+1)*c.dim : (i+1)*c.dim]}
	}
	err = c.chunks(ctx, &b.c, len(points), "upsert events", func(ctx context.Context, lo, hi int) error {
		return c.store.WriteEvents(ctx, points[lo:hi])
	})
	if err != nil {
		return err
	}
	c.expiry.wrote(b.events)
	if b.recs != nil { // a live batch, not a replay
		if err := c.o.fault.hit(FaultAfterUpsert, b.no); err != nil {
			return err
		}
	}
	if err := c.loadProfiles(ctx, b); err != nil {
		return err
	}
	pcfg := c.cfg.Load().Profiles
	changed, skips := c.profiles.fold(b.events, b.at, b.vecs, pcfg.HalfLife, pcfg.Coalesce == nil || *pcfg.Coalesce)
	b.c.ProfileSkips += int64(skips)
	err = c.chunks(ctx, &b.c, len(changed), "upsert profiles", func(ctx context.Context, lo, hi int) error {
		return c.store.WriteProfiles(ctx, changed[lo:hi])
	})
	if err != nil {
		return err
	}
	b.c.ProfilesWritten += int64(len(changed))
	return nil
}

// loadProfiles reads the profiles of b's users that the cache does not hold.
func (c *core) loadProfiles(ctx context.Context, b *batch) error {
	missing := c.profiles.missing(b.events)
	if len(missing) == 0 {
		return nil
	}
	var got []*Profile
	err := c.callStore(ctx, &b.c, "get profiles", func(ctx context.Context) error {
		var err error
		got, err = c.store.ReadProfiles(ctx, missing)
		return err
	})
	if err != nil {
		return fmt.Errorf("load %d profiles: %w", len(missing), err)
	}
	c.profiles.put(missing, got)
	return nil
}

// chunks calls write for [lo, hi) ranges of n items, qdrant.upsert_batch long, with up
// to workers requests in flight, each through the Qdrant breaker and retry policy.
func (c *core) chunks(ctx context.Context, counters *Counters, n int, what string, write func(ctx context.Context, lo, hi int) error) error {
	cfg := c.cfg.Load()
	size := cfg.Qdrant.UpsertBatch
	sem := make(chan struct{}, cfg.Workers)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for lo := 0; lo < n; lo += size {
		hi := min(lo+size, n)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var local Counters
			err := c.callStore(ctx, &local, what, func(ctx context.Context) error { return write(ctx, lo, hi) })
			mu.Lock()
			counters.Retries += local.Retries
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %d points: %w", what, hi-lo, err))
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	// A chunk the Store refused outright (INVALID_ARGUMENT, …) makes the batch a
	// refusal, even when other chunks only met an outage: spooling it would replay a
	// refusal.
	var refused []error
	for _, err := range errs {
		if !unavailable(err) {
			refused = append(refused, err)
		}
	}
	if len(refused) > 0 {
		return errors.Join(refused...)
	}
	return errors.Join(errs...)
}

// qdrantStore is the Store over Qdrant's official Go client (gRPC): events into
// qdrant.events_collection, profiles into qdrant.profiles_collection, every upsert
// with qdrant.wait (default true).
type qdrantStore struct {
	qc  *qdrant.Client
	cfg QdrantConfig
	pad *qdrant.Value // cfg.PayloadPadBytes of padding; nil for none
}

// NewQdrantStore returns the Store that writes through qc into cfg's collections.
func NewQdrantStore(qc *qdrant.Client, cfg QdrantConfig) Store {
	s := qdrantStore{qc: qc, cfg: cfg}
	if cfg.PayloadPadBytes > 0 {
		s.pad = qdrant.NewValueString(strings.Repeat("x", cfg.PayloadPadBytes))
	}
	return s
}

func (s qdrantStore) Prepare(ctx context.Context, dim int) error {
	for _, name := range []string{s.cfg.EventsCollection, s.cfg.ProfilesCollection} {
		if err := ensureCollection(ctx, s.qc, name, dim, s.cfg); err != nil {
			return err
		}
	}
	if s.cfg.Retention > 0 {
		// The retention's filter on an index, not a scan of every payload. Creating
		// an index that exists is no error in Qdrant.
		_, err := s.qc.CreateFieldIndex(ctx, &qdrant.CreateFieldIndexCollection{
			CollectionName: s.cfg.EventsCollection, FieldName: TimestampField,
			FieldType: qdrant.FieldType_FieldTypeDatetime.Enum(), Wait: qdrant.PtrOf(true),
		})
		if err != nil {
			return fmt.Errorf("qdrant: datetime index on %s.%s: %w", s.cfg.EventsCollection, TimestampField, err)
		}
	}
	return nil
}

// TimestampField is the event points' payload field holding the event's time
// (RFC 3339, UTC), which the retention filters on.
const TimestampField = "timestamp"

func (s qdrantStore) Expire(ctx context.Context, cutoff time.Time) error {
	_, err := s.qc.Delete(ctx, &qdrant.DeletePoints{
		CollectionName: s.cfg.EventsCollection, Wait: qdrant.PtrOf(true),
		Points: qdrant.NewPointsSelectorFilter(&qdrant.Filter{Must: []*qdrant.Condition{
			qdrant.NewDatetimeRange(TimestampField, &qdrant.DatetimeRange{Lt: timestamppb.New(cutoff)}),
		}}),
	})
	if err != nil {
		return fmt.Errorf("expire events before %s from %s: %w", cutoff.UTC().Format(time.RFC3339Nano), s.cfg.EventsCollection, err)
	}
	return nil
}

func (s qdrantStore) Ping(ctx context.Context) error {
	_, err := s.qc.HealthCheck(ctx)
	return err
}

func (s qdrantStore) WriteEvents(ctx context.Context, points []EventPoint) error {
	pts := make([]*qdrant.PointStruct, len(points))
	for i, pt := range points {
		pts[i] = &qdrant.PointStruct{
			Id:      qdrant.NewIDUUID(EventPointID(pt.Event.EventID)),
			Vectors: qdrant.NewVectorsDense(pt.Vector),
			Payload: eventPayload(pt.Event, pt.At),
		}
		if s.pad != nil {
			pts[i].Payload["pad"] = s.pad
		}
	}
	return s.upsert(ctx, s.cfg.EventsCollection, pts)
}

func (s qdrantStore) WriteProfiles(ctx context.Context, profiles []*Profile) error {
	pts := make([]*qdrant.PointStruct, len(profiles))
	for i, pr := range profiles {
		pts[i] = profilePoint(pr)
	}
	return s.upsert(ctx, s.cfg.ProfilesCollection, pts)
}

func (s qdrantStore) upsert(ctx context.Context, collection string, pts []*qdrant.PointStruct) error {
	wait := s.cfg.Waits()
	_, err := s.qc.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: collection, Wait: &wait, Points: pts})
	if err != nil {
		return fmt.Errorf("into %s: %w", collection, err)
	}
	return nil
}

func (s qdrantStore) ReadProfiles(ctx context.Context, users []string) ([]*Profile, error) {
	ids := make([]*qdrant.PointId, len(users))
	for i, u := range users {
		ids[i] = qdrant.NewIDUUID(ProfilePointID(u))
	}
	pts, err := s.qc.Get(ctx, &qdrant.GetPoints{
		CollectionName: s.cfg.ProfilesCollection, Ids: ids,
		WithPayload: qdrant.NewWithPayload(true), WithVectors: qdrant.NewWithVectors(true),
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Profile, 0, len(pts))
	for _, pt := range pts {
		pr, err := ProfileFromPoint(pt)
		if err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

// EnsureCollection creates a cosine collection of the given dimension if it does not
// exist, and checks the dimension of one that does.
func EnsureCollection(ctx context.Context, qc *qdrant.Client, name string, dim int) error {
	return ensureCollection(ctx, qc, name, dim, QdrantConfig{})
}

// ensureCollection is EnsureCollection creating the collection with cfg's
// storage and index settings (on_disk, on_disk_payload, hnsw,
// indexing_threshold, max_segment_size, deleted_threshold); a collection that
// exists is left as it is.
func ensureCollection(ctx context.Context, qc *qdrant.Client, name string, dim int, cfg QdrantConfig) error {
	exists, err := qc.CollectionExists(ctx, name)
	if err != nil {
		return fmt.Errorf("qdrant: collection %s exists: %w", name, err)
	}
	if !exists {
		err := qc.CreateCollection(ctx, createRequest(name, dim, cfg))
		if err != nil {
			return fmt.Errorf("qdrant: create collection %s: %w", name, err)
		}
		return nil
	}
	info, err := qc.GetCollectionInfo(ctx, name)
	if err != nil {
		return fmt.Errorf("qdrant: collection %s info: %w", name, err)
	}
	if got := info.GetConfig().GetParams().GetVectorsConfig().GetParams().GetSize(); got != uint64(dim) {
		return fmt.Errorf("qdrant: collection %s holds %d-dimensional vectors, the model makes %d: delete it or change embedding.dimensions", name, got, dim)
	}
	return nil
}

// createRequest is the CreateCollection of a cosine collection of dim with cfg's
// settings; what cfg leaves unset is left to Qdrant's defaults.
func createRequest(name string, dim int, cfg QdrantConfig) *qdrant.CreateCollection {
	vp := &qdrant.VectorParams{Size: uint64(dim), Distance: qdrant.Distance_Cosine}
	req := &qdrant.CreateCollection{CollectionName: name, OnDiskPayload: cfg.OnDiskPayload}
	hnsw := &qdrant.HnswConfigDiff{}
	if cfg.OnDisk {
		vp.OnDisk = qdrant.PtrOf(true)
		hnsw.OnDisk = qdrant.PtrOf(true)
	}
	if cfg.HNSW.M != 0 {
		hnsw.M = qdrant.PtrOf(cfg.HNSW.M)
	}
	if cfg.HNSW.EfConstruct != 0 {
		hnsw.EfConstruct = qdrant.PtrOf(cfg.HNSW.EfConstruct)
	}
	if hnsw.OnDisk != nil || hnsw.M != nil || hnsw.EfConstruct != nil {
		req.HnswConfig = hnsw
	}
	if cfg.IndexingThreshold != nil || cfg.MaxSegmentSize != nil || cfg.DeletedThreshold != nil {
		req.OptimizersConfig = &qdrant.OptimizersConfigDiff{IndexingThreshold: cfg.IndexingThreshold,
			MaxSegmentSize: cfg.MaxSegmentSize, DeletedThreshold: cfg.DeletedThreshold}
	}
	req.VectorsConfig = qdrant.NewVectorsConfig(vp)
	return req
}

// VectorOf returns the dense vector of a retrieved point.
func VectorOf(v *qdrant.VectorsOutput) []float32 {
	vo := v.GetVector()
	if d := vo.GetDense(); d != nil {
		return d.GetData()
	}
	return vo.GetData() //nolint:staticcheck // older servers fill only the deprecated field
}

func eventPayload(ev *event.Event, at Position) map[string]*qdrant.Value {
	m := map[string]*qdrant.Value{
		"event_id":     qdrant.NewValueString(ev.EventID),
		"event_type":   qdrant.NewValueString(string(ev.EventType)),
		"user_id":      qdrant.NewValueString(ev.UserID),
		"session_id":   qdrant.NewValueString(ev.SessionID),
		TimestampField: qdrant.NewValueString(ev.Timestamp.UTC().Format(time.RFC3339Nano)),
		"locale":       qdrant.NewValueString(ev.Locale),
		"partition":    qdrant.NewValueInt(int64(at.Partition)),
		"offset":       qdrant.NewValueInt(at.Offset),
	}
	if ev.Product != nil {
		m["product_id"] = qdrant.NewValueString(ev.Product.ID)
		m["category"] = qdrant.NewValueString(ev.Product.Category)
		m["brand"] = qdrant.NewValueString(ev.Product.Brand)
		m["price"] = qdrant.NewValueDouble(ev.Product.Price)
	}
	if ev.Query != "" {
		m["query"] = qdrant.NewValueString(ev.Query)
	}
	return m
}

func profilePoint(pr *Profile) *qdrant.PointStruct {
	vec, norm := pr.Vector()
	return &qdrant.PointStruct{
		Id:      qdrant.NewIDUUID(ProfilePointID(pr.UserID)),
		Vectors: qdrant.NewVectorsDense(vec),
		Payload: map[string]*qdrant.Value{
			"user_id":         qdrant.NewValueString(pr.UserID),
			"norm":            qdrant.NewValueDouble(norm),
			"last_partition":  qdrant.NewValueInt(int64(pr.LastPartition)),
			"last_offset":     qdrant.NewValueInt(pr.LastOffset),
			"last_event_time": qdrant.NewValueInt(pr.LastEventTime),
			"events":          qdrant.NewValueInt(pr.Events),
		},
	}
}

// ProfileFromPoint rebuilds a profile from its stored point.
func ProfileFromPoint(pt *qdrant.RetrievedPoint) (*Profile, error) {
	pl := pt.GetPayload()
	user := pl["user_id"].GetStringValue()
	if user == "" {
		return nil, fmt.Errorf("profile point %s: payload has no user_id", pt.GetId().GetUuid())
	}
	vec := VectorOf(pt.GetVectors())
	pr := &Profile{UserID: user, LastPartition: int32(pl["last_partition"].GetIntegerValue()), LastOffset: pl["last_offset"].GetIntegerValue(),
		LastEventTime: pl["last_event_time"].GetIntegerValue(), Events: pl["events"].GetIntegerValue()}
	return pr.restore(vec, pl["norm"].GetDoubleValue()), nil
}
