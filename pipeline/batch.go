package pipeline

import (
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/event"
)

// Position is where a record lies in Kafka.
type Position struct {
	Topic     string
	Partition int32
	Offset    int64
}

// batch is one micro-batch on its way through the stages. The source fills recs and
// times; validate fills events, at, valid and dead; embed fills vecs; write and commit
// read them. A batch replayed from the spool has no recs: its valid events, positions,
// vectors and times come from the spool.
type batch struct {
	no    int
	recs  []*kgo.Record // as consumed; nil for a replayed batch
	times []EventTimes  // one per record (per valid event for a replayed batch)

	events []event.Event // the valid events, in record order
	at     []Position    // the Kafka position of each valid event
	valid  []int         // the index in times of each valid event
	vecs   []float32     // len(events)·dim, filled by embed

	dead    []*kgo.Record  // dead letters, one per rejected record
	reasons []event.Reason // their rejection reasons, counted in metrics once committed

	// Stage boundaries, Unix nanoseconds.
	closed, validated, embedded, written, committed int64

	c       Counters
	held    bool // counted in Counters.Held already
	spooled bool // the valid events went to the spool; their latencies end at the replay
}

func newBatch(no int, recs []*kgo.Record, consumed []int64) *batch {
	b := &batch{no: no, recs: recs, times: make([]EventTimes, len(recs)), closed: time.Now().UnixNano()}
	b.c.Batches, b.c.Consumed = 1, int64(len(recs))
	for i, r := range recs {
		t := &b.times[i]
		t.EventID = headerString(r, event.HeaderEventID)
		t.Partition, t.Offset = r.Partition, r.Offset
		t.Consumed, t.Closed = consumed[i], b.closed
		var ok1, ok2 bool
		t.Intended, ok1 = headerInt(r, event.HeaderIntended)
		t.Sent, ok2 = headerInt(r, event.HeaderSent)
		if !ok1 || !ok2 {
			// Not from our generator: time it from the broker's timestamp.
			b.c.MissingHeaders++
			t.Intended, t.Sent = r.Timestamp.UnixNano(), r.Timestamp.UnixNano()
		}
	}
	return b
}

// stamp writes the batch's stage boundaries into its events' times.
func (b *batch) stamp() {
	for i := range b.times {
		t := &b.times[i]
		t.Validated = b.validated
		if !t.DeadLettered {
			t.Embedded, t.Upserted, t.Committed = b.embedded, b.written, b.committed
		}
	}
}

func headerInt(r *kgo.Record, key string) (int64, bool) {
	for _, h := range r.Headers {
		if h.Key == key {
			v, err := strconv.ParseInt(string(h.Value), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

func headerString(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
