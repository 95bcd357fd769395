package event

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// SchemaVersion is the version of the event JSON schema written into every
// event's "schema_version" field. The validator rejects any other value.
const SchemaVersion = 1

// EventType names what a user did. The set is closed: the validator rejects
// any value not in EventTypes with ReasonUnknownEventType.
type EventType string

// The event types of the session simulator, in the order of EventTypes.
const (
	PageView       EventType = "page_view"
	ProductView    EventType = "product_view"
	Search         EventType = "search"
	AddToCart      EventType = "add_to_cart"
	RemoveFromCart EventType = "remove_from_cart"
	Purchase       EventType = "purchase"
)

// EventTypes lists every event type in a fixed order. Code that must be
// deterministic iterates this slice, never a map keyed by EventType.
var EventTypes = []EventType{PageView, ProductView, Search, AddToCart, RemoveFromCart, Purchase}

// Valid reports whether t is one of EventTypes.
func (t EventType) Valid() bool { return t.Index() >= 0 }

// HasProduct reports whether events of type t carry a product
// (product_view, add_to_cart, remove_from_cart, purchase).
func (t EventType) HasProduct() bool {
	switch t {
	case ProductView, AddToCart, RemoveFromCart, Purchase:
		return true
	}
	return false
}

// HasQuantity reports whether events of type t carry a quantity
// (add_to_cart, remove_from_cart, purchase).
func (t EventType) HasQuantity() bool {
	switch t {
	case AddToCart, RemoveFromCart, Purchase:
		return true
	}
	return false
}

// Index returns the position of t in EventTypes, or -1.
func (t EventType) Index() int {
	switch t {
	case PageView:
		return 0
	case ProductView:
		return 1
	case Search:
		return 2
	case AddToCart:
		return 3
	case RemoveFromCart:
		return 4
	case Purchase:
		return 5
	}
	return -1
}

// Attribute is one name/value property of a product, e.g. {"material", "leather"}.
type Attribute struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Product is one catalog item. Category is the label used by quality tests;
// it never appears in Title (see doc.go).
type Product struct {
	ID         string      `json:"id"`
	Title      string      `json:"title"`
	Brand      string      `json:"brand"`
	Category   string      `json:"category"`
	Price      float64     `json:"price"`
	Attributes []Attribute `json:"attributes"`
}

// Event is one user interaction, the unit the pipeline consumes. Its JSON
// form is produced by AppendJSON and read back by Validator.Validate; the
// field table is in doc.go.
type Event struct {
	SchemaVersion int       `json:"schema_version"`
	EventID       string    `json:"event_id"`
	EventType     EventType `json:"event_type"`
	Timestamp     time.Time `json:"timestamp"` // intended send time, RFC 3339 with nanoseconds, UTC
	UserID        string    `json:"user_id"`
	SessionID     string    `json:"session_id"`
	Product       *Product  `json:"product,omitempty"`  // set for product_view, add_to_cart, remove_from_cart, purchase
	Query         string    `json:"query,omitempty"`    // set for search
	Quantity      int       `json:"quantity,omitempty"` // add_to_cart, remove_from_cart, purchase
	Device        string    `json:"device"`
	Locale        string    `json:"locale"` // e.g. "en-US", "tr-TR"
}

// EmbedText returns the text this event contributes to its embedding:
//
//   - search: the query as typed (typos included);
//   - product events: the product title, then the brand, then the attribute
//     values, separated by single spaces; the category is never included,
//     because it is the label that quality tests predict;
//   - page_view: the empty string (the encoder yields a zero vector).
//
// The text is in the event's locale; embed it with Doc{Lang: e.Locale}.
func (e *Event) EmbedText() string {
	if e.EventType == Search {
		return e.Query
	}
	if e.Product == nil {
		return ""
	}
	return ProductText(e.Product)
}

// ProductText is the embedding text of a product: title, brand and attribute
// values separated by single spaces (no category). Event.EmbedText uses it.
func ProductText(p *Product) string {
	n := len(p.Title) + 1 + len(p.Brand)
	for _, a := range p.Attributes {
		n += 1 + len(a.Value)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(p.Title)
	b.WriteByte(' ')
	b.WriteString(p.Brand)
	for _, a := range p.Attributes {
		b.WriteByte(' ')
		b.WriteString(a.Value)
	}
	return b.String()
}

// AppendJSON appends the event's JSON document to dst and returns the
// extended slice. Fields appear in the order of the Event struct; product,
// query and quantity are omitted when zero. Strings are escaped as JSON
// requires (invalid UTF-8 becomes U+FFFD, as encoding/json does); the
// timestamp is converted to UTC and written with exactly nine fractional
// digits. AppendJSON does not allocate when dst has room.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"schema_version":`...)
	dst = strconv.AppendInt(dst, int64(e.SchemaVersion), 10)
	dst = append(dst, `,"event_id":`...)
	dst = appendString(dst, e.EventID)
	dst = append(dst, `,"event_type":`...)
	dst = appendString(dst, string(e.EventType))
	dst = append(dst, `,"timestamp":"`...)
	dst = appendTimestamp(dst, e.Timestamp)
	dst = append(dst, `","user_id":`...)
	dst = appendString(dst, e.UserID)
	dst = append(dst, `,"session_id":`...)
	dst = appendString(dst, e.SessionID)
	if e.Product != nil {
		dst = append(dst, `,"product":`...)
		dst = AppendProductJSON(dst, e.Product)
	}
	return appendTail(dst, e)
}

// appendTail appends query, quantity, device, locale and the closing brace.
func appendTail(dst []byte, e *Event) []byte {
	if e.Query != "" {
		dst = append(dst, `,"query":`...)
		dst = appendString(dst, e.Query)
	}
	if e.Quantity != 0 {
		dst = append(dst, `,"quantity":`...)
		dst = strconv.AppendInt(dst, int64(e.Quantity), 10)
	}
	dst = append(dst, `,"device":`...)
	dst = appendString(dst, e.Device)
	dst = append(dst, `,"locale":`...)
	dst = appendString(dst, e.Locale)
	return append(dst, '}')
}

// AppendProductJSON appends the JSON object of p, as AppendJSON writes it.
func AppendProductJSON(dst []byte, p *Product) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, p.ID)
	dst = append(dst, `,"title":`...)
	dst = appendString(dst, p.Title)
	dst = append(dst, `,"brand":`...)
	dst = appendString(dst, p.Brand)
	dst = append(dst, `,"category":`...)
	dst = appendString(dst, p.Category)
	dst = append(dst, `,"price":`...)
	dst = appendFloat(dst, p.Price)
	dst = append(dst, `,"attributes":[`...)
	for i, a := range p.Attributes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"name":`...)
		dst = appendString(dst, a.Name)
		dst = append(dst, `,"value":`...)
		dst = appendString(dst, a.Value)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// appendFloat formats f the way encoding/json does (shortest repr, 'e'
// notation only for very small or large magnitudes). NaN and ±Inf have no JSON
// form; they are written as 0 so the output stays parseable.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	fmtc := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmtc = 'e'
	}
	dst = strconv.AppendFloat(dst, f, fmtc, -1, 64)
	if fmtc == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// safeASCII[b] is true for ASCII bytes that need no escaping in a JSON string.
var safeASCII = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendString appends s as a quoted JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safeASCII[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			// Valid JSON, but not valid JavaScript; escaped as encoding/json does.
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendTimestamp appends t in UTC as YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ.
// Years outside 0..9999 fall back to time.RFC3339Nano's form.
func appendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, time.RFC3339Nano)
	}
	hh, mm, ss := t.Clock()
	ns := t.Nanosecond()
	var b [30]byte
	put4(b[0:], year)
	b[4] = '-'
	put2(b[5:], int(month))
	b[7] = '-'
	put2(b[8:], day)
	b[10] = 'T'
	put2(b[11:], hh)
	b[13] = ':'
	put2(b[14:], mm)
	b[16] = ':'
	put2(b[17:], ss)
	b[19] = '.'
	for i := 28; i >= 20; i-- {
		b[i] = byte('0' + ns%10)
		ns /= 10
	}
	b[29] = 'Z'
	return append(dst, b[:]...)
}

func put2(b []byte, v int) {
	b[0] = byte('0' + v/10)
	b[1] = byte('0' + v%10)
}

func put4(b []byte, v int) {
	b[0] = byte('0' + v/1000)
	b[1] = byte('0' + v/100%10)
	b[2] = byte('0' + v/10%10)
	b[3] = byte('0' + v%10)
}

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
