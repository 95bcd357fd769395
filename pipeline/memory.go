package pipeline

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// MemoryStore is a Store in memory, the reference the pipeline's tests run against (as
// etcd raft's MemoryStorage is for its Storage). It keeps copies of what it is given,
// counts every write, and can be made unavailable (SetDown). Safe for concurrent use.
type MemoryStore struct {
	mu       sync.Mutex
	dim      int
	events   map[string]EventPoint
	profiles map[string]*Profile
	writes   int // event points written, rewrites included
	down     error
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{events: map[string]EventPoint{}, profiles: map[string]*Profile{}}
}

// SetDown makes every call fail with err until SetDown(nil). A gRPC Unavailable status
// (what a Qdrant that is down answers) makes the pipeline retry, then hold or spool.
func (s *MemoryStore) SetDown(err error) {
	s.mu.Lock()
	s.down = err
	s.mu.Unlock()
}

// Prepare implements Store.
func (s *MemoryStore) Prepare(_ context.Context, dim int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	s.dim = dim
	return nil
}

// Ping implements Store.
func (s *MemoryStore) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

// WriteEvents implements Store: one point per event id, the last write wins.
func (s *MemoryStore) WriteEvents(_ context.Context, points []EventPoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	for _, pt := range points {
		ev := *pt.Event
		s.events[ev.EventID] = EventPoint{Event: &ev, At: pt.At, Vector: slices.Clone(pt.Vector)}
	}
	s.writes += len(points)
	return nil
}

// WriteProfiles implements Store: one profile per user, the last write wins.
func (s *MemoryStore) WriteProfiles(_ context.Context, profiles []*Profile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	for _, pr := range profiles {
		s.profiles[pr.UserID] = pr.clone()
	}
	return nil
}

// ReadProfiles implements Store.
func (s *MemoryStore) ReadProfiles(_ context.Context, users []string) ([]*Profile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	var out []*Profile
	for _, u := range users {
		if pr, ok := s.profiles[u]; ok {
			out = append(out, pr.clone())
		}
	}
	return out, nil
}

// Expire implements Store.
func (s *MemoryStore) Expire(_ context.Context, cutoff time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	maps.DeleteFunc(s.events, func(_ string, pt EventPoint) bool { return pt.Event.Timestamp.Before(cutoff) })
	return nil
}

// Events returns the stored event points by event id.
func (s *MemoryStore) Events() map[string]EventPoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.events)
}

// Profiles returns copies of the stored profiles by user id.
func (s *MemoryStore) Profiles() map[string]*Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*Profile, len(s.profiles))
	for u, pr := range s.profiles {
		out[u] = pr.clone()
	}
	return out
}

// Writes returns how many event points have been written, rewrites included.
func (s *MemoryStore) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// MemoryDeadLetters is DeadLetters in memory: it keeps every record sent, in order.
type MemoryDeadLetters struct {
	mu   sync.Mutex
	sent []*kgo.Record
}

// Send implements DeadLetters; it acknowledges every record.
func (d *MemoryDeadLetters) Send(_ context.Context, recs []*kgo.Record) ([]*kgo.Record, error) {
	d.mu.Lock()
	d.sent = append(d.sent, recs...)
	d.mu.Unlock()
	return nil, nil
}

// Sent returns the records sent so far.
func (d *MemoryDeadLetters) Sent() []*kgo.Record {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.sent)
}

// MemoryCommitter is a Committer in memory: the next offset to consume per partition,
// as a consumer group keeps it.
type MemoryCommitter struct {
	mu   sync.Mutex
	next map[Position]int64 // keyed by topic and partition (Offset 0)
}

// Commit implements Committer. Like Kafka it records what it is told, even a position
// before one committed earlier.
func (m *MemoryCommitter) Commit(_ context.Context, recs []*kgo.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.next == nil {
		m.next = map[Position]int64{}
	}
	last := map[Position]int64{}
	for _, r := range recs {
		k := Position{Topic: r.Topic, Partition: r.Partition}
		last[k] = max(last[k], r.Offset+1)
	}
	maps.Copy(m.next, last)
	return nil
}

// Next returns the offset a consumer of topic's partition resumes from: one past the
// last committed record, 0 when nothing is committed.
func (m *MemoryCommitter) Next(topic string, partition int32) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.next[Position{Topic: topic, Partition: partition}]
}

// Redeliver returns the records of log (in log order) that a consumer resuming from
// m's commits reads again.
func (m *MemoryCommitter) Redeliver(log []*kgo.Record) []*kgo.Record {
	var out []*kgo.Record
	for _, r := range log {
		if r.Offset >= m.Next(r.Topic, r.Partition) {
			out = append(out, r)
		}
	}
	return out
}
