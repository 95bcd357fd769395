package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/qdrant/go-client/qdrant"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ensureCollections creates the events and profiles collections (cosine, dim) when
// missing and refuses existing ones of another dimension.
func (p *Pipeline) ensureCollections(ctx context.Context, cfg Config) error {
	for _, name := range []string{cfg.Qdrant.EventsCollection, cfg.Qdrant.ProfilesCollection} {
		if err := EnsureCollection(ctx, p.deps.Qdrant, name, p.deps.Dim); err != nil {
			return err
		}
	}
	return nil
}

// EnsureCollection creates a cosine collection of the given dimension if it does not
// exist, and checks the dimension of one that does.
func EnsureCollection(ctx context.Context, qc *qdrant.Client, name string, dim int) error {
	exists, err := qc.CollectionExists(ctx, name)
	if err != nil {
		return fmt.Errorf("qdrant: collection %s exists: %w", name, err)
	}
	if !exists {
		err := qc.CreateCollection(ctx, &qdrant.CreateCollection{
			CollectionName: name,
			VectorsConfig:  qdrant.NewVectorsConfig(&qdrant.VectorParams{Size: uint64(dim), Distance: qdrant.Distance_Cosine}),
		})
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

// VectorOf returns the dense vector of a retrieved point.
func VectorOf(v *qdrant.VectorsOutput) []float32 {
	vo := v.GetVector()
	if d := vo.GetDense(); d != nil {
		return d.GetData()
	}
	return vo.GetData() //nolint:staticcheck // older servers fill only the deprecated field
}

func eventPayload(ev *event.Event, r *kgo.Record) map[string]*qdrant.Value {
	m := map[string]*qdrant.Value{
		"event_id":   qdrant.NewValueString(ev.EventID),
		"event_type": qdrant.NewValueString(string(ev.EventType)),
		"user_id":    qdrant.NewValueString(ev.UserID),
		"session_id": qdrant.NewValueString(ev.SessionID),
		"timestamp":  qdrant.NewValueString(ev.Timestamp.UTC().Format(time.RFC3339Nano)),
		"locale":     qdrant.NewValueString(ev.Locale),
		"partition":  qdrant.NewValueInt(int64(r.Partition)),
		"offset":     qdrant.NewValueInt(r.Offset),
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

// upsertEvents writes one point per valid event, in requests of upsert_batch points,
// up to Workers requests in flight, each waiting for Qdrant to apply it.
func (p *Pipeline) upsertEvents(ctx context.Context, c *Counters, cfg *Config, events []event.Event, recs []*kgo.Record, idx []int, vecs []float32, dim int) error {
	points := make([]*qdrant.PointStruct, len(events))
	for i := range events {
		points[i] = &qdrant.PointStruct{
			Id:      qdrant.NewIDUUID(EventPointID(events[i].EventID)),
			Vectors: qdrant.NewVectorsDense(vecs[i*dim : (i+1)*dim : (i+1)*dim]),
			Payload: eventPayload(&events[i], recs[idx[i]]),
		}
	}
	return p.upsertChunks(ctx, c, cfg, cfg.Qdrant.EventsCollection, points)
}

func (p *Pipeline) upsertChunks(ctx context.Context, c *Counters, cfg *Config, collection string, points []*qdrant.PointStruct) error {
	size := cfg.Qdrant.UpsertBatch
	sem := make(chan struct{}, cfg.Workers)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	wait := true
	for lo := 0; lo < len(points); lo += size {
		chunk := points[lo:min(lo+size, len(points))]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var local Counters
			err := p.callQdrant(ctx, &local, "upsert "+collection, func(ctx context.Context) error {
				_, err := p.deps.Qdrant.Upsert(ctx, &qdrant.UpsertPoints{CollectionName: collection, Wait: &wait, Points: chunk})
				return err
			})
			mu.Lock()
			c.Retries += local.Retries
			if err != nil {
				errs = append(errs, fmt.Errorf("upsert %d points into %s: %w", len(chunk), collection, err))
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	// A chunk Qdrant refused outright (INVALID_ARGUMENT, …) makes the batch a refusal,
	// even when other chunks only met an outage: spooling it would replay a refusal.
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

// updateProfiles folds the batch's events into their users' profiles (loading profiles
// not cached from Qdrant) and upserts the profiles that changed.
func (p *Pipeline) updateProfiles(ctx context.Context, c *Counters, cfg *Config, events []event.Event, recs []*kgo.Record, idx []int, vecs []float32, dim int) error {
	if p.invalidate.Swap(false) {
		clear(p.profiles)
	}
	var missing []string
	seen := map[string]bool{}
	for i := range events {
		u := events[i].UserID
		if _, ok := p.profiles[u]; !ok && !seen[u] {
			seen[u] = true
			missing = append(missing, u)
		}
	}
	if err := p.loadProfiles(ctx, c, cfg, missing, dim); err != nil {
		return err
	}
	changed := map[string]*Profile{}
	var order []string
	for i := range events {
		ev := &events[i]
		r := recs[idx[i]]
		prof := p.profiles[ev.UserID]
		if !prof.Apply(vecs[i*dim:(i+1)*dim], ev.EventType, ev.Timestamp, r.Partition, r.Offset, cfg.Profiles.HalfLife) {
			c.ProfileSkips++
			continue
		}
		if _, ok := changed[ev.UserID]; !ok {
			order = append(order, ev.UserID)
		}
		changed[ev.UserID] = prof
	}
	points := make([]*qdrant.PointStruct, 0, len(order))
	for _, u := range order {
		points = append(points, profilePoint(changed[u]))
	}
	if err := p.upsertChunks(ctx, c, cfg, cfg.Qdrant.ProfilesCollection, points); err != nil {
		return err
	}
	c.ProfilesWritten += int64(len(points))
	return nil
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
	return restoreProfile(user, vec, pl["norm"].GetDoubleValue(), int32(pl["last_partition"].GetIntegerValue()),
		pl["last_offset"].GetIntegerValue(), pl["last_event_time"].GetIntegerValue(), pl["events"].GetIntegerValue()), nil
}

func (p *Pipeline) loadProfiles(ctx context.Context, c *Counters, cfg *Config, users []string, dim int) error {
	if len(users) == 0 {
		return nil
	}
	ids := make([]*qdrant.PointId, len(users))
	for i, u := range users {
		ids[i] = qdrant.NewIDUUID(ProfilePointID(u))
	}
	var pts []*qdrant.RetrievedPoint
	err := p.callQdrant(ctx, c, "get profiles", func(ctx context.Context) error {
		var err error
		pts, err = p.deps.Qdrant.Get(ctx, &qdrant.GetPoints{
			CollectionName: cfg.Qdrant.ProfilesCollection, Ids: ids,
			WithPayload: qdrant.NewWithPayload(true), WithVectors: qdrant.NewWithVectors(true),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("load %d profiles: %w", len(users), err)
	}
	for _, pt := range pts {
		pr, err := ProfileFromPoint(pt)
		if err != nil {
			return err
		}
		p.profiles[pr.UserID] = pr
	}
	for _, u := range users {
		if _, ok := p.profiles[u]; !ok {
			p.profiles[u] = NewProfile(u, dim)
		}
	}
	return nil
}
