package pipeline

import (
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vectorstream/vectorstream/event"

	"github.com/google/uuid"
)

var (
	eventNamespace   = uuid.NewSHA1(uuid.NameSpaceURL, []byte("vectorstream:ecommerce_events"))
	profileNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("vectorstream:user_profiles"))
)

// EventPointID is the Qdrant point id of an event: UUIDv5 of its event_id, so a replay
// overwrites the point instead of duplicating it.
func EventPointID(eventID string) string {
	return uuid.NewSHA1(eventNamespace, []byte(eventID)).String()
}

// ProfilePointID is the Qdrant point id of a user's behaviour profile.
func ProfilePointID(userID string) string {
	return uuid.NewSHA1(profileNamespace, []byte(userID)).String()
}

// EventWeight is how strongly an event of the type pulls a user's profile towards its
// embedding: intent grows from browsing to buying, and removing from the cart pushes away.
func EventWeight(t event.EventType) float64 {
	switch t {
	case event.PageView:
		return 0.25
	case event.ProductView:
		return 1
	case event.Search:
		return 0.75
	case event.AddToCart:
		return 2
	case event.RemoveFromCart:
		return -1
	case event.Purchase:
		return 3
	}
	return 0
}

// Profile is a user's behaviour vector: an exponentially decayed, weighted sum of the
// embeddings of the user's events. It remembers the Kafka position of the last event it
// absorbed, so applying an event again (a redelivery after a crash) changes nothing, and
// it decays by event time, never by the wall clock, so a replay reproduces it exactly.
type Profile struct {
	UserID        string
	Sum           []float64
	LastPartition int32
	LastOffset    int64 // -1 before the first event
	LastEventTime int64 // Unix nanoseconds
	Events        int64
}

// NewProfile returns an empty profile of the given dimension.
func NewProfile(userID string, dim int) *Profile {
	return &Profile{UserID: userID, Sum: make([]float64, dim), LastPartition: -1, LastOffset: -1}
}

// Apply absorbs the embedding vec of event ev, consumed at Kafka position at, and
// reports whether it did: an event at or before the last applied position of the same
// partition is skipped (a redelivery).
func (p *Profile) Apply(vec []float32, ev *event.Event, at Position, halfLife time.Duration) bool {
	if at.Partition == p.LastPartition && at.Offset <= p.LastOffset {
		return false
	}
	ts := ev.Timestamp.UnixNano()
	if p.Events > 0 && ts > p.LastEventTime {
		decay := math.Exp2(-float64(ts-p.LastEventTime) / float64(halfLife))
		for i := range p.Sum {
			p.Sum[i] *= decay
		}
	}
	w := EventWeight(ev.EventType)
	for i, v := range vec {
		p.Sum[i] += w * float64(v)
	}
	p.LastPartition, p.LastOffset = at.Partition, at.Offset
	if ts > p.LastEventTime {
		p.LastEventTime = ts
	}
	p.Events++
	return true
}

// Vector returns the profile as a unit vector and the norm it was divided by.
func (p *Profile) Vector() ([]float32, float64) {
	var n float64
	for _, v := range p.Sum {
		n += v * v
	}
	n = math.Sqrt(n)
	out := make([]float32, len(p.Sum))
	if n == 0 {
		return out, 0
	}
	for i, v := range p.Sum {
		out[i] = float32(v / n)
	}
	return out, n
}

// restore sets p.Sum from a stored unit vector and the norm it was divided by.
func (p *Profile) restore(unit []float32, norm float64) *Profile {
	p.Sum = make([]float64, len(unit))
	for i, v := range unit {
		p.Sum[i] = float64(v) * norm
	}
	return p
}

// profileCache holds the profiles of the users the pipeline has seen, as the Store
// has them. It is owned by one goroutine at a time (the batch's); invalidate may be
// called from any (a rebalance callback), and takes effect before the next read.
type profileCache struct {
	dim     int
	m       map[string]*Profile
	invalid atomic.Bool
}

func newProfileCache(dim int) *profileCache {
	return &profileCache{dim: dim, m: map[string]*Profile{}}
}

// invalidate drops every cached profile before the next read: after a rebalance,
// another member may have written them.
func (pc *profileCache) invalidate() { pc.invalid.Store(true) }

// clear drops every cached profile now.
func (pc *profileCache) clear() { clear(pc.m) }

// missing returns, once each and in order of appearance, the users of events whose
// profile is not cached.
func (pc *profileCache) missing(events []event.Event) []string {
	if pc.invalid.Swap(false) {
		pc.clear()
	}
	var out []string
	seen := map[string]bool{}
	for i := range events {
		u := events[i].UserID
		if _, ok := pc.m[u]; !ok && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// put caches the profiles read for users, and an empty one for each user the Store
// has none of.
func (pc *profileCache) put(users []string, read []*Profile) {
	for _, pr := range read {
		pc.m[pr.UserID] = pr
	}
	for _, u := range users {
		if _, ok := pc.m[u]; !ok {
			pc.m[u] = NewProfile(u, pc.dim)
		}
	}
}

// fold applies each event, at its position, to its user's cached profile, and returns
// the profiles that changed, in order of first change (once each when coalesce,
// else once per event applied), and how many events were skipped as already
// applied (a redelivery).
func (pc *profileCache) fold(events []event.Event, at []Position, vecs []float32, halfLife time.Duration, coalesce bool) (changed []*Profile, skips int) {
	seen := map[string]bool{}
	for i := range events {
		ev := &events[i]
		prof := pc.m[ev.UserID]
		if !prof.Apply(vecs[i*pc.dim:(i+1)*pc.dim], ev, at[i], halfLife) {
			skips++
			continue
		}
		if !coalesce || !seen[ev.UserID] {
			seen[ev.UserID] = true
			changed = append(changed, prof)
		}
	}
	return changed, skips
}

func (p *Profile) clone() *Profile {
	c := *p
	c.Sum = slices.Clone(p.Sum)
	return &c
}
