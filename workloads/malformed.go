package workloads

import (
	"bytes"
	"time"

	"github.com/vectorstream/vectorstream/event"
)

// MalformedKind names one way the generator breaks a record on purpose.
// Each kind has exactly one Reason the validator must return for it.
type MalformedKind string

// The malformed kinds. A kind that needs a product (or a quantity) is only
// applied to events that have one; unexpected_field only to events without
// a product.
const (
	MalTruncated        MalformedKind = "truncated"          // a proper prefix of the document
	MalSyntax           MalformedKind = "syntax"             // a ':' replaced by '='
	MalInvalidUTF8      MalformedKind = "invalid_utf8"       // a 0xFF byte inside the user_id string
	MalMissingField     MalformedKind = "missing_field"      // a required field removed
	MalWrongType        MalformedKind = "wrong_type"         // a string as number, or a number as string
	MalUnknownEventType MalformedKind = "unknown_event_type" // event_type not in EventTypes
	MalNegativePrice    MalformedKind = "negative_price"     // product.price < 0
	MalTimestampPast    MalformedKind = "timestamp_past"     // timestamp a year before intended
	MalTimestampFuture  MalformedKind = "timestamp_future"   // timestamp 30 days after intended
	MalOversize         MalformedKind = "oversize"           // valid document padded past MaxEventBytes
	MalUnknownField     MalformedKind = "unknown_field"      // an extra top-level key
	MalMissingProduct   MalformedKind = "missing_product"    // product event without product
	MalDuplicateField   MalformedKind = "duplicate_field"    // a key given twice
	MalSchemaVersion    MalformedKind = "schema_version"     // schema_version 2
	MalEmptyValue       MalformedKind = "empty_value"        // empty user_id
	MalBadQuantity      MalformedKind = "bad_quantity"       // quantity <= 0 on a cart event
	MalUnexpectedField  MalformedKind = "unexpected_field"   // a product on page_view or search
)

// MalformedKinds lists every kind, in a fixed order.
var MalformedKinds = []MalformedKind{
	MalTruncated, MalSyntax, MalInvalidUTF8, MalMissingField, MalWrongType,
	MalUnknownEventType, MalNegativePrice, MalTimestampPast, MalTimestampFuture,
	MalOversize, MalUnknownField, MalMissingProduct, MalDuplicateField,
	MalSchemaVersion, MalEmptyValue, MalBadQuantity, MalUnexpectedField,
}

// Valid reports whether k is one of MalformedKinds.
func (k MalformedKind) Valid() bool { return k.Reason() != "" }

// Reason returns the rejection reason the validator gives for k ("" if k is
// unknown).
func (k MalformedKind) Reason() event.Reason {
	switch k {
	case MalTruncated:
		return event.ReasonTruncatedJSON
	case MalSyntax:
		return event.ReasonMalformedJSON
	case MalInvalidUTF8:
		return event.ReasonInvalidUTF8
	case MalMissingField:
		return event.ReasonMissingField
	case MalWrongType:
		return event.ReasonWrongType
	case MalUnknownEventType:
		return event.ReasonUnknownEventType
	case MalNegativePrice:
		return event.ReasonNegativePrice
	case MalTimestampPast, MalTimestampFuture:
		return event.ReasonTimestampOutOfRange
	case MalOversize:
		return event.ReasonOversize
	case MalUnknownField:
		return event.ReasonUnknownField
	case MalMissingProduct:
		return event.ReasonMissingProduct
	case MalDuplicateField:
		return event.ReasonDuplicateField
	case MalSchemaVersion:
		return event.ReasonUnsupportedSchemaVersion
	case MalEmptyValue, MalBadQuantity:
		return event.ReasonInvalidValue
	case MalUnexpectedField:
		return event.ReasonUnexpectedField
	}
	return ""
}

func (k MalformedKind) appliesTo(t event.EventType) bool {
	switch k {
	case MalNegativePrice, MalMissingProduct:
		return t.HasProduct()
	case MalBadQuantity:
		return t.HasQuantity()
	case MalUnexpectedField:
		return !t.HasProduct()
	}
	return k.Valid()
}

// Offsets used for out-of-range timestamps; far outside any sane window.
const (
	malPastOffset   = 365 * 24 * time.Hour
	malFutureOffset = 30 * 24 * time.Hour
)

// required top-level fields the missing_field kind may drop.
var droppable = []string{"schema_version", "event_id", "event_type", "timestamp", "user_id", "session_id", "device", "locale"}

// malform returns the bytes of e broken as k says. e is not modified.
func (g *Generator) malform(k MalformedKind, e *event.Event, frag []byte) []byte {
	r := g.rng
	valid := g.enc.Append(nil, e, frag)
	switch k {
	case MalTruncated:
		return valid[:1+r.IntN(len(valid)-1)]
	case MalSyntax:
		return replaceOnce(valid, `"user_id":`, `"user_id"=`)
	case MalInvalidUTF8:
		return replaceOnce(valid, `"user_id":"`, "\"user_id\":\"\xff")
	case MalMissingField:
		return dropField(valid, droppable[r.IntN(len(droppable))])
	case MalWrongType:
		switch r.IntN(3) {
		case 0:
			return replaceOnce(valid, `"schema_version":1`, `"schema_version":"1"`)
		case 1:
			return replaceOnce(valid, `"user_id":"`+e.UserID+`"`, `"user_id":`+itoa(int(r.IntN(1_000_000))))
		default:
			return replaceOnce(valid, `"locale":"`+e.Locale+`"`, `"locale":["`+e.Locale+`"]`)
		}
	case MalUnknownEventType:
		bad := [...]string{"checkout", "wishlist_add", "PageView", "page-view", "refund"}[r.IntN(5)]
		return replaceOnce(valid, `"event_type":"`+string(e.EventType)+`"`, `"event_type":"`+bad+`"`)
	case MalNegativePrice:
		p := *e.Product
		p.Price = -p.Price
		if p.Price == 0 {
			p.Price = -0.01
		}
		c := *e
		c.Product = &p
		return c.AppendJSON(nil)
	case MalTimestampPast, MalTimestampFuture:
		c := *e
		if k == MalTimestampPast {
			c.Timestamp = c.Timestamp.Add(-malPastOffset)
		} else {
			c.Timestamp = c.Timestamp.Add(malFutureOffset)
		}
		return g.enc.Append(nil, &c, frag)
	case MalOversize:
		n := g.cfg.MaxEventBytes + 1 + r.IntN(64)
		if n < len(valid) {
			return valid
		}
		out := make([]byte, n)
		copy(out, valid)
		for i := len(valid); i < n; i++ {
			out[i] = ' ' // trailing whitespace: valid JSON, only too long
		}
		return out
	case MalUnknownField:
		extra := [...]string{`"coupon_code":"SAVE10",`, `"referrer":"newsletter",`, `"ab_bucket":7,`}[r.IntN(3)]
		return replaceOnce(valid, `"device":`, extra+`"device":`)
	case MalMissingProduct:
		c := *e
		c.Product = nil
		return g.enc.Append(nil, &c, nil)
	case MalDuplicateField:
		return replaceOnce(valid, `"locale":`, `"device":"`+e.Device+`","locale":`)
	case MalSchemaVersion:
		return replaceOnce(valid, `"schema_version":1`, `"schema_version":2`)
	case MalEmptyValue:
		c := *e
		c.UserID = ""
		return g.enc.Append(nil, &c, frag)
	case MalBadQuantity:
		c := *e
		c.Quantity = -r.IntN(3) // 0 is written, as "quantity":0 would be omitted
		if c.Quantity == 0 {
			return replaceOnce(valid, `"quantity":`+itoa(e.Quantity), `"quantity":0`)
		}
		return g.enc.Append(nil, &c, frag)
	case MalUnexpectedField:
		c := *e
		p := int32(g.cat.popular.draw(r))
		lang := langOf(e.Locale)
		c.Product = &g.cat.products[lang][p]
		return g.enc.Append(nil, &c, g.cat.fragments[lang][p])
	}
	return valid
}

func itoa(v int) string {
	return string(appendSmallInt(nil, v))
}

func replaceOnce(b []byte, old, repl string) []byte {
	i := bytes.Index(b, []byte(old))
	if i < 0 {
		panic("workloads: malform: " + old + " not in document")
	}
	out := make([]byte, 0, len(b)-len(old)+len(repl))
	out = append(out, b[:i]...)
	out = append(out, repl...)
	return append(out, b[i+len(old):]...)
}

// dropField removes `"key":value` for a simple string or integer value and
// the comma that joins it to its neighbour.
func dropField(b []byte, key string) []byte {
	k := []byte(`"` + key + `":`)
	i := bytes.Index(b, k)
	if i < 0 {
		panic("workloads: malform: no field " + key)
	}
	j := i + len(k)
	if b[j] == '"' {
		j = j + 1 + bytes.IndexByte(b[j+1:], '"') + 1
	} else {
		for j < len(b) && b[j] != ',' && b[j] != '}' {
			j++
		}
	}
	out := make([]byte, 0, len(b))
	if b[i-1] == ',' { // drop the comma before
		out = append(out, b[:i-1]...)
		return append(out, b[j:]...)
	}
	out = append(out, b[:i]...) // first field: drop the comma after
	return append(out, b[j+1:]...)
}
