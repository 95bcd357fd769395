package event

import (
	"strconv"
	"time"
)

// Encoder is AppendJSON for a producer that writes many events: it caches the
// formatted second of the last timestamp (consecutive events share it) and takes
// a product object encoded once beforehand (AppendProductJSON). It produces the
// same bytes as AppendJSON. The zero Encoder is ready; it is not safe for
// concurrent use.
type Encoder struct {
	ts tsCache
}

// Append appends e's JSON document to dst. product, when not nil, is
// `,"product":` followed by AppendProductJSON of e.Product; nil encodes
// e.Product here. The event id must hold only characters JSON need not escape
// (a generated UUID does).
func (enc *Encoder) Append(dst []byte, e *Event, product []byte) []byte {
	dst = append(dst, `{"schema_version":`...)
	dst = strconv.AppendInt(dst, int64(e.SchemaVersion), 10)
	dst = append(dst, `,"event_id":"`...)
	dst = append(dst, e.EventID...) // hex and '-', nothing to escape
	dst = append(dst, `","event_type":"`...)
	dst = append(dst, e.EventType...)
	dst = append(dst, `","timestamp":"`...)
	dst = enc.ts.append(dst, e.Timestamp)
	dst = append(dst, `","user_id":`...)
	dst = appendString(dst, e.UserID)
	dst = append(dst, `,"session_id":`...)
	dst = appendString(dst, e.SessionID)
	if e.Product != nil {
		if product != nil {
			dst = append(dst, product...)
		} else {
			dst = append(dst, `,"product":`...)
			dst = AppendProductJSON(dst, e.Product)
		}
	}
	return appendTail(dst, e)
}

// tsCache remembers the formatted second of the last timestamp, since
// consecutive events share it.
type tsCache struct {
	sec    int64
	prefix [20]byte // "YYYY-MM-DDTHH:MM:SS."
	valid  bool
}

func (c *tsCache) append(dst []byte, t time.Time) []byte {
	t = t.UTC()
	sec := t.Unix()
	if !c.valid || sec != c.sec {
		y := t.Year()
		if y < 0 || y > 9999 {
			return appendTimestamp(dst, t)
		}
		var b [30]byte
		copy(c.prefix[:], appendTimestamp(b[:0], t)[:20])
		c.sec, c.valid = sec, true
	}
	dst = append(dst, c.prefix[:]...)
	ns := t.Nanosecond()
	var f [10]byte
	for i := 8; i >= 0; i-- {
		f[i] = byte('0' + ns%10)
		ns /= 10
	}
	f[9] = 'Z'
	return append(dst, f[:]...)
}
