package event_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vectorstream/vectorstream/event"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func sampleEvent() event.Event {
	return event.Event{
		SchemaVersion: event.SchemaVersion,
		EventID:       "0b5d7a4e-1c2f-8a3b-9c4d-5e6f7a8b9c0d",
		EventType:     event.AddToCart,
		Timestamp:     testNow.Add(-1500 * time.Millisecond),
		UserID:        "u-0000042",
		SessionID:     "s-00000000000000ff",
		Product: &event.Product{
			ID: "p-000007", Title: "İpek \"Işıklı\" Kılıf\\ \n\t\u2028 <b>&", Brand: "Çınar",
			Category: "phone_accessories", Price: 19.99,
			Attributes: []event.Attribute{{Name: "colour", Value: "kırmızı"}, {Name: "ctl", Value: "\x01\x1f"}},
		},
		Quantity: 2,
		Device:   "mobile",
		Locale:   "tr-TR",
	}
}

func TestAppendJSONRoundTrip(t *testing.T) {
	t.Parallel()
	v := event.NewValidator(event.DefaultValidatorConfig())
	cases := map[string]event.Event{"cart": sampleEvent()}
	search := sampleEvent()
	search.EventType, search.Product, search.Quantity, search.Query = event.Search, nil, 0, "ışıklı İpek şal ğüö \U0001F600"
	cases["search"] = search
	pv := sampleEvent()
	pv.EventType, pv.Product, pv.Quantity = event.PageView, nil, 0
	cases["page_view"] = pv
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			b := e.AppendJSON(nil)
			if !json.Valid(b) {
				t.Fatalf("not valid JSON: %s", b)
			}
			var viaStd event.Event
			if err := json.Unmarshal(b, &viaStd); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			if !reflect.DeepEqual(viaStd, e) {
				t.Errorf("encoding/json round trip:\n got %+v\nwant %+v", viaStd, e)
			}
			got, rj := v.Validate(b, testNow)
			if rj != nil {
				t.Fatalf("validator rejected %s: %v", b, rj)
			}
			if !reflect.DeepEqual(got, e) {
				t.Errorf("validator round trip:\n got %+v\nwant %+v", got, e)
			}
			// Fixed nanosecond timestamp form.
			if !strings.Contains(string(b), `"timestamp":"2025-03-01T11:59:58.500000000Z"`) {
				t.Errorf("timestamp form: %s", b)
			}
		})
	}
}

func TestAppendJSONEscapesInvalidUTF8(t *testing.T) {
	t.Parallel()
	e := sampleEvent()
	e.Product.Title = "bad \xff\xfe byte"
	b := e.AppendJSON(nil)
	if !utf8.Valid(b) || !json.Valid(b) {
		t.Fatalf("output not valid UTF-8 JSON: %q", b)
	}
	var got event.Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if want := "bad \ufffd\ufffd byte"; got.Product.Title != want {
		t.Errorf("title = %q, want %q", got.Product.Title, want)
	}
}

func TestAppendJSONMatchesEncodingJSONShape(t *testing.T) {
	t.Parallel()
	// Same keys, same order, same values as encoding/json (which differs only
	// in HTML escaping and in trimming the timestamp's trailing zeros).
	e := sampleEvent()
	e.Product.Title = "plain title"
	e.Product.Attributes = e.Product.Attributes[:1]
	e.Timestamp = testNow.Add(123456789)
	std, err := json.Marshal(&e)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(e.AppendJSON(nil)); got != string(std) {
		t.Errorf("AppendJSON:\n%s\nencoding/json:\n%s", got, std)
	}
}

func TestEmbedText(t *testing.T) {
	t.Parallel()
	e := sampleEvent()
	e.Product.Title = "Kırmızı Kılıf"
	e.Product.Attributes = []event.Attribute{{Name: "colour", Value: "kırmızı"}, {Name: "size", Value: "XL"}}
	if got, want := e.EmbedText(), "Kırmızı Kılıf Çınar kırmızı XL"; got != want {
		t.Errorf("product EmbedText = %q, want %q", got, want)
	}
	if strings.Contains(e.EmbedText(), e.Product.Category) {
		t.Error("EmbedText contains the category")
	}
	e.EventType, e.Product, e.Query = event.Search, nil, "ipek şal"
	if got := e.EmbedText(); got != "ipek şal" {
		t.Errorf("search EmbedText = %q", got)
	}
	e.EventType, e.Query = event.PageView, ""
	if got := e.EmbedText(); got != "" {
		t.Errorf("page_view EmbedText = %q, want empty", got)
	}
}
