package event

import (
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Reason is a machine-readable rejection reason. It is stable: the pipeline
// writes it into the dead-letter queue's headers and metrics label by it.
type Reason string

// Rejection reasons returned by Validator.Validate, in the order they are
// checked (the first problem found wins).
const (
	ReasonOversize                 Reason = "oversize"                   // document longer than ValidatorConfig.MaxBytes
	ReasonTruncatedJSON            Reason = "truncated_json"             // input ends before the document does
	ReasonMalformedJSON            Reason = "malformed_json"             // JSON syntax error (not caused by truncation)
	ReasonInvalidUTF8              Reason = "invalid_utf8"               // a string holds bytes that are not UTF-8
	ReasonUnknownField             Reason = "unknown_field"              // a key the schema does not define
	ReasonDuplicateField           Reason = "duplicate_field"            // a key given twice in one object
	ReasonWrongType                Reason = "wrong_type"                 // a value of the wrong JSON type (null included)
	ReasonMissingField             Reason = "missing_field"              // a required key is absent
	ReasonUnsupportedSchemaVersion Reason = "unsupported_schema_version" // schema_version is not SchemaVersion
	ReasonUnknownEventType         Reason = "unknown_event_type"         // event_type is not one of EventTypes
	ReasonMissingProduct           Reason = "missing_product"            // a product event without a product
	ReasonUnexpectedField          Reason = "unexpected_field"           // product/query/quantity on an event type that has none
	ReasonInvalidValue             Reason = "invalid_value"              // right type, bad value (empty id, bad locale, quantity out of range, bad timestamp form)
	ReasonNegativePrice            Reason = "negative_price"             // product.price < 0
	ReasonTimestampOutOfRange      Reason = "timestamp_out_of_range"     // timestamp too far before or after "now"
)

// Reasons lists every Reason the validator can return.
var Reasons = []Reason{
	ReasonOversize, ReasonTruncatedJSON, ReasonMalformedJSON, ReasonInvalidUTF8,
	ReasonUnknownField, ReasonDuplicateField, ReasonWrongType, ReasonMissingField,
	ReasonUnsupportedSchemaVersion, ReasonUnknownEventType, ReasonMissingProduct,
	ReasonUnexpectedField, ReasonInvalidValue, ReasonNegativePrice, ReasonTimestampOutOfRange,
}

// Known reports whether r is one of Reasons.
func (r Reason) Known() bool {
	for _, k := range Reasons {
		if r == k {
			return true
		}
	}
	return false
}

// Rejection says why a document is not a valid event. Field is the JSON path
// of the offending value ("product.price", "attributes[2].name"); it is empty
// for problems of the document as a whole.
type Rejection struct {
	Reason Reason
	Field  string
	Detail string
}

// Error implements error.
func (r *Rejection) Error() string {
	s := "event rejected: " + string(r.Reason)
	if r.Field != "" {
		s += " (" + r.Field + ")"
	}
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	return s
}

func reject(reason Reason, field, detail string) *Rejection {
	return &Rejection{Reason: reason, Field: field, Detail: detail}
}

// ValidatorConfig bounds what the validator accepts.
// It is the `validator:` section of the pipeline's configuration.
type ValidatorConfig struct {
	// MaxBytes is the largest document accepted; 0 means the default (16 KiB).
	MaxBytes int `yaml:"max_bytes" json:"max_bytes"`
	// MaxPast is how far before "now" a timestamp may lie; 0 means the
	// default (24h), a negative value disables the bound.
	MaxPast time.Duration `yaml:"max_past" json:"max_past"`
	// MaxFuture is how far after "now" a timestamp may lie; 0 means the
	// default (1h), a negative value disables the bound.
	MaxFuture time.Duration `yaml:"max_future" json:"max_future"`
}

// DefaultValidatorConfig returns MaxBytes 16 KiB, MaxPast 24h, MaxFuture 1h: the
// one set of defaults, used by the pipeline's configuration and by a validator
// built with zero fields.
func DefaultValidatorConfig() ValidatorConfig {
	return ValidatorConfig{MaxBytes: 16 << 10, MaxPast: 24 * time.Hour, MaxFuture: time.Hour}
}

// Validator decodes and checks event documents strictly. It holds no mutable
// state and is safe for concurrent use.
type Validator struct {
	cfg ValidatorConfig
}

// NewValidator returns a validator for cfg; zero fields take their defaults.
func NewValidator(cfg ValidatorConfig) *Validator {
	def := DefaultValidatorConfig()
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = def.MaxBytes
	}
	if cfg.MaxPast == 0 {
		cfg.MaxPast = def.MaxPast
	}
	if cfg.MaxFuture == 0 {
		cfg.MaxFuture = def.MaxFuture
	}
	return &Validator{cfg: cfg}
}

// Config returns the effective configuration (defaults filled in).
func (v *Validator) Config() ValidatorConfig { return v.cfg }

// Validate decodes data as one event document and checks it against the
// schema (doc.go). It returns the event, or a Rejection with the first
// problem found. now is the reference for the timestamp window. The returned
// event's strings may share one copy of data; data itself is not retained.
func (v *Validator) Validate(data []byte, now time.Time) (Event, *Rejection) {
	if len(data) > v.cfg.MaxBytes {
		return Event{}, reject(ReasonOversize, "", strconv.Itoa(len(data))+" bytes > max "+strconv.Itoa(v.cfg.MaxBytes))
	}
	d := decoder{data: data}
	e, seen, rj := d.event()
	if rj != nil {
		return Event{}, rj
	}
	if rj := checkEvent(&e, seen); rj != nil {
		return Event{}, rj
	}
	if v.cfg.MaxPast >= 0 && e.Timestamp.Before(now.Add(-v.cfg.MaxPast)) {
		return Event{}, reject(ReasonTimestampOutOfRange, "timestamp", "more than "+v.cfg.MaxPast.String()+" before now")
	}
	if v.cfg.MaxFuture >= 0 && e.Timestamp.After(now.Add(v.cfg.MaxFuture)) {
		return Event{}, reject(ReasonTimestampOutOfRange, "timestamp", "more than "+v.cfg.MaxFuture.String()+" after now")
	}
	return e, nil
}

// Top-level field bits.
const (
	fSchema uint16 = 1 << iota
	fEventID
	fEventType
	fTimestamp
	fUser
	fSession
	fProduct
	fQuery
	fQuantity
	fDevice
	fLocale
)

var requiredFields = [...]struct {
	bit  uint16
	name string
}{
	{fSchema, "schema_version"}, {fEventID, "event_id"}, {fEventType, "event_type"},
	{fTimestamp, "timestamp"}, {fUser, "user_id"}, {fSession, "session_id"},
	{fDevice, "device"}, {fLocale, "locale"},
}

const maxIDLen = 128

// checkEvent applies the semantic rules after a syntactically valid decode.
func checkEvent(e *Event, seen uint16) *Rejection {
	for _, f := range requiredFields {
		if seen&f.bit == 0 {
			return reject(ReasonMissingField, f.name, "")
		}
	}
	if e.SchemaVersion != SchemaVersion {
		return reject(ReasonUnsupportedSchemaVersion, "schema_version", "got "+strconv.Itoa(e.SchemaVersion)+", want "+strconv.Itoa(SchemaVersion))
	}
	if !e.EventType.Valid() {
		return reject(ReasonUnknownEventType, "event_type", quoteDetail(string(e.EventType)))
	}
	t := e.EventType
	switch {
	case t.HasProduct() && seen&fProduct == 0:
		return reject(ReasonMissingProduct, "product", string(t)+" needs a product")
	case !t.HasProduct() && seen&fProduct != 0:
		return reject(ReasonUnexpectedField, "product", string(t)+" has no product")
	case t == Search && seen&fQuery == 0:
		return reject(ReasonMissingField, "query", "")
	case t != Search && seen&fQuery != 0:
		return reject(ReasonUnexpectedField, "query", string(t)+" has no query")
	case t.HasQuantity() && seen&fQuantity == 0:
		return reject(ReasonMissingField, "quantity", "")
	case !t.HasQuantity() && seen&fQuantity != 0:
		return reject(ReasonUnexpectedField, "quantity", string(t)+" has no quantity")
	}
	if rj := checkID("event_id", e.EventID); rj != nil {
		return rj
	}
	if rj := checkID("user_id", e.UserID); rj != nil {
		return rj
	}
	if rj := checkID("session_id", e.SessionID); rj != nil {
		return rj
	}
	if e.Device == "" {
		return reject(ReasonInvalidValue, "device", "empty")
	}
	if !ValidLocale(e.Locale) {
		return reject(ReasonInvalidValue, "locale", "want a BCP 47 tag like en-US, got "+quoteDetail(e.Locale))
	}
	if t == Search && e.Query == "" {
		return reject(ReasonInvalidValue, "query", "empty")
	}
	if t.HasQuantity() && (e.Quantity < 1 || e.Quantity > maxQuantity) {
		return reject(ReasonInvalidValue, "quantity", "want 1.."+strconv.Itoa(maxQuantity)+", got "+strconv.Itoa(e.Quantity))
	}
	if p := e.Product; p != nil {
		if rj := checkID("product.id", p.ID); rj != nil {
			return rj
		}
		if p.Title == "" {
			return reject(ReasonInvalidValue, "product.title", "empty")
		}
		if p.Category == "" {
			return reject(ReasonInvalidValue, "product.category", "empty")
		}
		if p.Price < 0 {
			return reject(ReasonNegativePrice, "product.price", strconv.FormatFloat(p.Price, 'g', -1, 64))
		}
		if p.Price > maxPrice {
			return reject(ReasonInvalidValue, "product.price", "above "+strconv.FormatFloat(maxPrice, 'g', -1, 64))
		}
		for i := range p.Attributes {
			if p.Attributes[i].Name == "" {
				return reject(ReasonInvalidValue, "product.attributes["+strconv.Itoa(i)+"].name", "empty")
			}
		}
	}
	return nil
}

const (
	maxQuantity = 1000
	maxPrice    = 1e9
)

func checkID(field, s string) *Rejection {
	if s == "" {
		return reject(ReasonInvalidValue, field, "empty")
	}
	if len(s) > maxIDLen {
		return reject(ReasonInvalidValue, field, "longer than "+strconv.Itoa(maxIDLen)+" bytes")
	}
	return nil
}

// ValidLocale accepts a language subtag of 2-3 ASCII letters followed by
// zero or more subtags of 1-8 ASCII letters or digits, separated by '-'.
func ValidLocale(s string) bool {
	if len(s) < 2 || len(s) > 35 {
		return false
	}
	i := 0
	for i < len(s) && isAlpha(s[i]) {
		i++
	}
	if i < 2 || i > 3 {
		return false
	}
	for i < len(s) {
		if s[i] != '-' {
			return false
		}
		i++
		j := i
		for i < len(s) && (isAlpha(s[i]) || (s[i] >= '0' && s[i] <= '9')) {
			i++
		}
		if i-j < 1 || i-j > 8 {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func quoteDetail(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}

// decoder is a strict, single-pass JSON reader specialised to the event
// schema. It never allocates on the success path beyond one copy of the
// document (strings are substrings of it) and one product block.
type decoder struct {
	data []byte
	s    string // copy of data, made on first string value; substrings are returned
	i    int
}

// strSafe[b] is true for bytes that can appear unescaped in a JSON string
// and are ASCII.
var strSafe = func() (t [256]bool) {
	copy(t[:], safeASCII[:])
	return t
}()

func (d *decoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte; at the end it returns
// 0 and ok=false.
func (d *decoder) peek() (byte, bool) {
	d.ws()
	if d.i >= len(d.data) {
		return 0, false
	}
	return d.data[d.i], true
}

func (d *decoder) truncated(field string) *Rejection {
	return reject(ReasonTruncatedJSON, field, "document ends at byte "+strconv.Itoa(len(d.data)))
}

func (d *decoder) syntax(field, what string) *Rejection {
	return reject(ReasonMalformedJSON, field, what+" at byte "+strconv.Itoa(d.i))
}

// expect consumes byte c after optional whitespace.
func (d *decoder) expect(c byte, field string) *Rejection {
	b, ok := d.peek()
	if !ok {
		return d.truncated(field)
	}
	if b != c {
		return d.syntax(field, "want "+strconv.QuoteRune(rune(c))+", got "+strconv.QuoteRune(rune(b)))
	}
	d.i++
	return nil
}

// kind describes the JSON value starting at b, for wrong_type details.
func kindOf(b byte) string {
	switch {
	case b == '"':
		return "string"
	case b == '{':
		return "object"
	case b == '[':
		return "array"
	case b == 't' || b == 'f':
		return "boolean"
	case b == 'n':
		return "null"
	case b == '-' || (b >= '0' && b <= '9'):
		return "number"
	}
	return ""
}

// startValue checks that a value of the wanted kind starts here.
func (d *decoder) startValue(want, field string) *Rejection {
	b, ok := d.peek()
	if !ok {
		return d.truncated(field)
	}
	k := kindOf(b)
	if k == "" {
		return d.syntax(field, "invalid character "+strconv.QuoteRune(rune(b))+" looking for a value")
	}
	if k != want {
		return reject(ReasonWrongType, field, "want "+want+", got "+k)
	}
	return nil
}

// rawString scans a string whose opening quote is at d.i. It returns the
// bounds of its contents and whether it holds escapes.
func (d *decoder) rawString(field string) (start, end int, escaped bool, rj *Rejection) {
	data := d.data
	i := d.i + 1
	start = i
	for {
		for i < len(data) && strSafe[data[i]] {
			i++
		}
		if i >= len(data) {
			d.i = i
			return 0, 0, false, d.truncated(field)
		}
		c := data[i]
		switch {
		case c == '"':
			d.i = i + 1
			return start, i, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(data) {
				d.i = i
				return 0, 0, false, d.truncated(field)
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for k := 2; k < 6; k++ {
					if i+k >= len(data) {
						d.i = i
						return 0, 0, false, d.truncated(field)
					}
					if unhex(data[i+k]) < 0 {
						d.i = i + k
						return 0, 0, false, d.syntax(field, "invalid \\u escape")
					}
				}
				i += 6
			default:
				d.i = i + 1
				return 0, 0, false, d.syntax(field, "invalid escape")
			}
		case c < 0x20:
			d.i = i
			return 0, 0, false, d.syntax(field, "control character in string")
		default: // c >= 0x80
			if !utf8.FullRune(data[i:]) {
				// An incomplete but plausible rune at the very end: truncation.
				d.i = i
				if validRunePrefix(data[i:]) {
					return 0, 0, false, d.truncated(field)
				}
				return 0, 0, false, reject(ReasonInvalidUTF8, field, "at byte "+strconv.Itoa(i))
			}
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				d.i = i
				return 0, 0, false, reject(ReasonInvalidUTF8, field, "at byte "+strconv.Itoa(i))
			}
			i += size
		}
	}
}

// validRunePrefix reports whether b (shorter than a full rune) could begin a
// valid UTF-8 encoding.
func validRunePrefix(b []byte) bool {
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], b)
	// Complete the prefix with the smallest continuation bytes and see
	// whether any completion decodes.
	for fill := byte(0x80); ; fill = 0xBF {
		for k := n; k < utf8.UTFMax; k++ {
			buf[k] = fill
		}
		if r, size := utf8.DecodeRune(buf[:]); !(r == utf8.RuneError && size == 1) && size > n {
			return true
		}
		if fill == 0xBF {
			return false
		}
	}
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// str returns the string value starting at d.i (after a startValue check).
func (d *decoder) str(field string) (string, *Rejection) {
	start, end, escaped, rj := d.rawString(field)
	if rj != nil {
		return "", rj
	}
	if !escaped {
		if d.s == "" {
			d.s = string(d.data)
		}
		return d.s[start:end], nil
	}
	return unescape(d.data[start:end]), nil
}

// stringField reads a value that must be a string.
func (d *decoder) stringField(field string) (string, *Rejection) {
	if rj := d.startValue("string", field); rj != nil {
		return "", rj
	}
	return d.str(field)
}

// unescape decodes the contents of a JSON string already checked by rawString.
func unescape(b []byte) string {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch b[i+1] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(b[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(b[i+2:])); r2 != utf8.RuneError {
						out = utf8.AppendRune(out, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default: // '"', '\\', '/'
			out = append(out, b[i+1])
		}
		i += 2
	}
	return string(out)
}

func hex4(b []byte) rune {
	return rune(unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3]))
}

// number scans a JSON number at d.i and returns its text and whether it is
// an integer (no fraction, no exponent).
func (d *decoder) number(field string) (text []byte, isInt bool, rj *Rejection) {
	data := d.data
	i := d.i
	start := i
	isInt = true
	if i < len(data) && data[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		return i - j
	}
	fail := func() ([]byte, bool, *Rejection) {
		d.i = i
		if i >= len(data) {
			return nil, false, d.truncated(field)
		}
		return nil, false, d.syntax(field, "invalid number")
	}
	if i < len(data) && data[i] == '0' {
		i++
	} else if digits() == 0 {
		return fail()
	}
	if i < len(data) && data[i] == '.' {
		isInt = false
		i++
		if digits() == 0 {
			return fail()
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		isInt = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return fail()
		}
	}
	d.i = i
	return data[start:i], isInt, nil
}

func (d *decoder) intField(field string) (int, *Rejection) {
	if rj := d.startValue("number", field); rj != nil {
		return 0, rj
	}
	text, isInt, rj := d.number(field)
	if rj != nil {
		return 0, rj
	}
	if !isInt {
		return 0, reject(ReasonWrongType, field, "want integer, got "+quoteDetail(string(text)))
	}
	n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(text), len(text)), 10, 32)
	if err != nil {
		return 0, reject(ReasonInvalidValue, field, "integer out of range")
	}
	return int(n), nil
}

func (d *decoder) floatField(field string) (float64, *Rejection) {
	if rj := d.startValue("number", field); rj != nil {
		return 0, rj
	}
	text, _, rj := d.number(field)
	if rj != nil {
		return 0, rj
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(text), len(text)), 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, reject(ReasonInvalidValue, field, "number out of range")
	}
	return f, nil
}

// key reads an object key and the colon after it. It returns the key text
// (a substring of the document when unescaped).
func (d *decoder) key(obj string) (string, *Rejection) {
	b, ok := d.peek()
	if !ok {
		return "", d.truncated(obj)
	}
	if b != '"' {
		return "", d.syntax(obj, "want object key, got "+strconv.QuoteRune(rune(b)))
	}
	k, rj := d.str(obj)
	if rj != nil {
		return "", rj
	}
	if rj := d.expect(':', obj); rj != nil {
		return "", rj
	}
	return k, nil
}

// next consumes ',' (more=true) or the closing c (more=false).
func (d *decoder) next(c byte, field string) (more bool, rj *Rejection) {
	b, ok := d.peek()
	if !ok {
		return false, d.truncated(field)
	}
	d.i++
	switch b {
	case ',':
		return true, nil
	case c:
		return false, nil
	}
	d.i--
	return false, d.syntax(field, "want ',' or "+strconv.QuoteRune(rune(c))+", got "+strconv.QuoteRune(rune(b)))
}

// event decodes the top-level object.
func (d *decoder) event() (e Event, seen uint16, rj *Rejection) {
	if rj := d.startValue("object", ""); rj != nil {
		return e, 0, rj
	}
	d.i++
	if b, ok := d.peek(); ok && b == '}' {
		d.i++
	} else {
		for {
			k, rj := d.key("")
			if rj != nil {
				return e, 0, rj
			}
			var bit uint16
			switch k {
			case "schema_version":
				bit = fSchema
				e.SchemaVersion, rj = d.intField(k)
			case "event_id":
				bit = fEventID
				e.EventID, rj = d.stringField(k)
			case "event_type":
				bit = fEventType
				var s string
				s, rj = d.stringField(k)
				e.EventType = internEventType(s)
			case "timestamp":
				bit = fTimestamp
				var s string
				if s, rj = d.stringField(k); rj == nil {
					var ok bool
					if e.Timestamp, ok = parseTimestamp(s); !ok {
						rj = reject(ReasonInvalidValue, k, "want RFC 3339, got "+quoteDetail(s))
					}
				}
			case "user_id":
				bit = fUser
				e.UserID, rj = d.stringField(k)
			case "session_id":
				bit = fSession
				e.SessionID, rj = d.stringField(k)
			case "product":
				bit = fProduct
				e.Product, rj = d.product()
			case "query":
				bit = fQuery
				e.Query, rj = d.stringField(k)
			case "quantity":
				bit = fQuantity
				e.Quantity, rj = d.intField(k)
			case "device":
				bit = fDevice
				e.Device, rj = d.stringField(k)
			case "locale":
				bit = fLocale
				e.Locale, rj = d.stringField(k)
			default:
				return e, 0, reject(ReasonUnknownField, k, "")
			}
			if rj != nil {
				return e, 0, rj
			}
			if seen&bit != 0 {
				return e, 0, reject(ReasonDuplicateField, k, "")
			}
			seen |= bit
			more, rj := d.next('}', "")
			if rj != nil {
				return e, 0, rj
			}
			if !more {
				break
			}
		}
	}
	d.ws()
	if d.i != len(d.data) {
		return e, 0, d.syntax("", "data after the document")
	}
	return e, seen, nil
}

func internEventType(s string) EventType {
	for _, t := range EventTypes {
		if string(t) == s {
			return t
		}
	}
	return EventType(s)
}

// productBlock holds a product and room for its first attributes, so a
// decoded product costs one allocation.
type productBlock struct {
	p     Product
	attrs [6]Attribute
}

const (
	pID uint8 = 1 << iota
	pTitle
	pBrand
	pCategory
	pPrice
	pAttributes
)

var productFields = [...]struct {
	bit  uint8
	name string
}{
	{pID, "product.id"}, {pTitle, "product.title"}, {pBrand, "product.brand"},
	{pCategory, "product.category"}, {pPrice, "product.price"}, {pAttributes, "product.attributes"},
}

func (d *decoder) product() (*Product, *Rejection) {
	if rj := d.startValue("object", "product"); rj != nil {
		return nil, rj
	}
	d.i++
	blk := &productBlock{}
	p := &blk.p
	var seen uint8
	if b, ok := d.peek(); ok && b == '}' {
		d.i++
	} else {
		for {
			k, rj := d.key("product")
			if rj != nil {
				return nil, rj
			}
			var bit uint8
			switch k {
			case "id":
				bit = pID
				p.ID, rj = d.stringField("product.id")
			case "title":
				bit = pTitle
				p.Title, rj = d.stringField("product.title")
			case "brand":
				bit = pBrand
				p.Brand, rj = d.stringField("product.brand")
			case "category":
				bit = pCategory
				p.Category, rj = d.stringField("product.category")
			case "price":
				bit = pPrice
				p.Price, rj = d.floatField("product.price")
			case "attributes":
				bit = pAttributes
				p.Attributes, rj = d.attributes(blk.attrs[:0])
			default:
				return nil, reject(ReasonUnknownField, "product."+k, "")
			}
			if rj != nil {
				return nil, rj
			}
			if seen&bit != 0 {
				return nil, reject(ReasonDuplicateField, "product."+k, "")
			}
			seen |= bit
			more, rj := d.next('}', "product")
			if rj != nil {
				return nil, rj
			}
			if !more {
				break
			}
		}
	}
	for _, f := range productFields {
		if seen&f.bit == 0 {
			return nil, reject(ReasonMissingField, f.name, "")
		}
	}
	return p, nil
}

func (d *decoder) attributes(dst []Attribute) ([]Attribute, *Rejection) {
	const field = "product.attributes"
	if rj := d.startValue("array", field); rj != nil {
		return nil, rj
	}
	d.i++
	if b, ok := d.peek(); ok && b == ']' {
		d.i++
		return nil, nil
	}
	// Paths name the element without its index so the hot path does not
	// format strings.
	const f = "product.attributes[]"
	for {
		if rj := d.startValue("object", f); rj != nil {
			return nil, rj
		}
		d.i++
		var a Attribute
		var seen uint8
		if b, ok := d.peek(); ok && b == '}' {
			d.i++
		} else {
			for {
				k, rj := d.key(f)
				if rj != nil {
					return nil, rj
				}
				var bit uint8
				switch k {
				case "name":
					bit = 1
					a.Name, rj = d.stringField(f + ".name")
				case "value":
					bit = 2
					a.Value, rj = d.stringField(f + ".value")
				default:
					return nil, reject(ReasonUnknownField, f+"."+k, "")
				}
				if rj != nil {
					return nil, rj
				}
				if seen&bit != 0 {
					return nil, reject(ReasonDuplicateField, f+"."+k, "")
				}
				seen |= bit
				more, rj := d.next('}', f)
				if rj != nil {
					return nil, rj
				}
				if !more {
					break
				}
			}
		}
		if seen&1 == 0 {
			return nil, reject(ReasonMissingField, f+".name", "")
		}
		if seen&2 == 0 {
			return nil, reject(ReasonMissingField, f+".value", "")
		}
		dst = append(dst, a)
		more, rj := d.next(']', field)
		if rj != nil {
			return nil, rj
		}
		if !more {
			return dst, nil
		}
	}
}

// parseTimestamp parses RFC 3339 ("2006-01-02T15:04:05.999999999Z07:00")
// strictly and returns the instant in UTC.
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) < 20 {
		return time.Time{}, false
	}
	num := func(a, b int) int {
		v := 0
		for k := a; k < b; k++ {
			c := s[k]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec := num(11, 13), num(14, 16), num(17, 19)
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
		year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	if day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	i := 19
	nsec := 0
	if s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		n := i - j
		if n < 1 || n > 9 {
			return time.Time{}, false
		}
		nsec = num(j, i)
		for k := n; k < 9; k++ {
			nsec *= 10
		}
	}
	if i >= len(s) {
		return time.Time{}, false
	}
	offset := 0
	switch s[i] {
	case 'Z':
		i++
	case '+', '-':
		if len(s)-i != 6 || s[i+3] != ':' {
			return time.Time{}, false
		}
		oh, om := num(i+1, i+3), num(i+4, i+6)
		if oh < 0 || oh > 23 || om < 0 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if s[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return time.Time{}, false
	}
	if i != len(s) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if offset != 0 {
		t = t.Add(-time.Duration(offset) * time.Second)
		if y := t.Year(); y < 0 || y > 9999 {
			return time.Time{}, false // not representable in the encoder's UTC form
		}
	}
	return t, true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
