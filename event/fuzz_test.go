package event_test

import (
	"bytes"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/workloads"
)

// FuzzValidate checks the decoder/validator on arbitrary bytes.
//
// Invariants:
//   - Validate never panics;
//   - it returns either an event or a rejection, never both or neither;
//   - a rejection has a non-empty Reason that is in event.Reasons;
//   - an accepted event re-encodes (AppendJSON) to valid UTF-8 that validates
//     again to a deeply equal event, and encoding that event gives the same
//     bytes again (the encoding is a fixed point after one round).
//
// The seed corpus is in testdata/fuzz/FuzzValidate.
func FuzzValidate(f *testing.F) {
	g, err := workloads.NewGenerator(workloads.GeneratorConfig{Seed: 1, Products: 50, Users: 20, MalformedFraction: 0.5})
	if err != nil {
		f.Fatal(err)
	}
	for range 40 {
		f.Add(g.Next(testNow).Value)
	}
	f.Add([]byte(validDoc))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"query":"\ud800\udc00\ud800x"}`))
	// Timestamp bounds off so that generated timestamps do not hide deeper paths.
	v := event.NewValidator(event.ValidatorConfig{MaxBytes: 4096, MaxPast: -1, MaxFuture: -1})
	big := event.NewValidator(event.ValidatorConfig{MaxBytes: 1 << 20, MaxPast: -1, MaxFuture: -1})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, rj := v.Validate(data, testNow)
		if rj != nil {
			if rj.Reason == "" || !rj.Reason.Known() {
				t.Fatalf("unknown reason %q (%v)", rj.Reason, rj)
			}
			if !reflect.DeepEqual(e, event.Event{}) {
				t.Fatalf("rejection with a non-zero event %+v", e)
			}
			return
		}
		b := e.AppendJSON(nil)
		if !utf8.Valid(b) {
			t.Fatalf("re-encoding is not UTF-8: %q", b)
		}
		e2, rj := big.Validate(b, testNow)
		if rj != nil {
			t.Fatalf("re-encoded event rejected: %v\ninput %q\nre-encoded %q", rj, data, b)
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip changed the event:\n%+v\n%+v", e, e2)
		}
		if b2 := e2.AppendJSON(nil); !bytes.Equal(b, b2) {
			t.Fatalf("encoding not a fixed point:\n%q\n%q", b, b2)
		}
	})
}

// FuzzAppendJSON checks the encoder on arbitrary text: the output always
// validates, and every string comes back unchanged when it was valid UTF-8
// (invalid bytes become U+FFFD, as with encoding/json).
func FuzzAppendJSON(f *testing.F) {
	f.Add("Işıklı İpek \"şal\"", "u-1", "tr-TR", "\x00\x1f\u2028\\", 12.5)
	f.Add("\xff", "", "en", "</script>", 0.0)
	v := event.NewValidator(event.ValidatorConfig{MaxBytes: 1 << 20, MaxPast: -1, MaxFuture: -1})
	f.Fuzz(func(t *testing.T, title, user, locale, query string, price float64) {
		e := event.Event{
			SchemaVersion: 1, EventID: "e", EventType: event.Search, Timestamp: testNow,
			UserID: "u" + user, SessionID: "s", Query: "q" + query, Device: "d", Locale: "en-US",
		}
		if len(e.UserID) > 128 {
			e.UserID = e.UserID[:128]
		}
		if len(e.UserID) > 0 && !utf8.ValidString(e.UserID) {
			e.UserID = "u"
		}
		got, rj := v.Validate(e.AppendJSON(nil), testNow)
		if rj != nil {
			t.Fatalf("search event rejected: %v", rj)
		}
		if utf8.ValidString(e.Query) && got.Query != e.Query {
			t.Fatalf("query %q came back as %q", e.Query, got.Query)
		}
		if got.UserID != e.UserID {
			t.Fatalf("user %q came back as %q", e.UserID, got.UserID)
		}
		p := &event.Product{ID: "p", Title: "t" + title, Brand: locale, Category: "c", Price: price,
			Attributes: []event.Attribute{{Name: "n", Value: query}}}
		e2 := e
		e2.EventType, e2.Query, e2.Product, e2.Quantity = event.Purchase, "", p, 1
		got, rj = v.Validate(e2.AppendJSON(nil), testNow)
		switch {
		case rj != nil && (price < 0 || price > 1e9 || price != price):
			// negative_price / invalid_value are right; NaN is written as 0 and accepted
			if price == price && rj.Reason != event.ReasonNegativePrice && rj.Reason != event.ReasonInvalidValue {
				t.Fatalf("price %v: %v", price, rj)
			}
		case rj != nil:
			t.Fatalf("purchase rejected: %v", rj)
		case utf8.ValidString(p.Title) && got.Product.Title != p.Title:
			t.Fatalf("title %q came back as %q", p.Title, got.Product.Title)
		case got.Product.Price != p.Price && price == price && !(price != 0 && got.Product.Price == 0):
			t.Fatalf("price %v came back as %v", p.Price, got.Product.Price)
		}
	})
}
