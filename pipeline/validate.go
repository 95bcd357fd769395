package pipeline

import (
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/vectorstream/vectorstream/event"
)

// validate is the first stage, pure (no I/O, no clock): it decodes every record of b
// with v at the batch's close time and sorts it into a valid event (b.events, b.at,
// b.valid) or a dead letter for dlqTopic (b.dead, b.reasons) carrying the reason,
// field, detail and source position in its headers.
func validate(b *batch, v *event.Validator, dlqTopic string) {
	now := time.Unix(0, b.closed)
	b.events = make([]event.Event, 0, len(b.recs))
	b.at = make([]Position, 0, len(b.recs))
	b.valid = make([]int, 0, len(b.recs))
	for i, r := range b.recs {
		ev, rej := v.Validate(r.Value, now)
		if rej != nil {
			b.times[i].DeadLettered = true
			b.dead = append(b.dead, deadLetter(r, rej, dlqTopic))
			b.reasons = append(b.reasons, rej.Reason)
			continue
		}
		b.events = append(b.events, ev)
		b.at = append(b.at, Position{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
		b.valid = append(b.valid, i)
	}
	b.c.DeadLettered, b.c.Valid = int64(len(b.dead)), int64(len(b.events))
}

func deadLetter(r *kgo.Record, rej *event.Rejection, topic string) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(r.Headers)+6)
	hs = append(hs, r.Headers...)
	hs = append(hs,
		kgo.RecordHeader{Key: event.HeaderDLQReason, Value: []byte(rej.Reason)},
		kgo.RecordHeader{Key: event.HeaderDLQField, Value: []byte(rej.Field)},
		kgo.RecordHeader{Key: event.HeaderDLQDetail, Value: []byte(rej.Detail)},
		kgo.RecordHeader{Key: event.HeaderDLQTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: event.HeaderDLQPartition, Value: strconv.AppendInt(nil, int64(r.Partition), 10)},
		kgo.RecordHeader{Key: event.HeaderDLQOffset, Value: strconv.AppendInt(nil, r.Offset, 10)},
	)
	return &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Headers: hs}
}
