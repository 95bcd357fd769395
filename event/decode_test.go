package event_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/event"
	"github.com/vectorstream/vectorstream/workloads"
)

const validDoc = `{"schema_version":1,"event_id":"e1","event_type":"product_view","timestamp":"2025-03-01T12:00:00.000000001Z",` +
	`"user_id":"u-1","session_id":"s-1","product":{"id":"p-1","title":"Kırmızı Kılıf","brand":"B","category":"c","price":1.5,` +
	`"attributes":[{"name":"colour","value":"red"}]},"device":"mobile","locale":"tr-TR"}`

func TestValidateReasons(t *testing.T) {
	t.Parallel()
	v := event.NewValidator(event.ValidatorConfig{MaxBytes: 1024, MaxPast: time.Hour, MaxFuture: time.Minute})
	r := strings.NewReplacer
	cases := []struct {
		name   string
		doc    string
		reason event.Reason
		field  string
	}{
		{"oversize", validDoc + strings.Repeat(" ", 1024), event.ReasonOversize, ""},
		{"empty", "", event.ReasonTruncatedJSON, ""},
		{"truncated", validDoc[:len(validDoc)-1], event.ReasonTruncatedJSON, ""},
		{"truncated in key", validDoc[:40], event.ReasonTruncatedJSON, ""},
		{"truncated in value", validDoc[:strings.Index(validDoc, "product_view")+4], event.ReasonTruncatedJSON, "event_type"},
		{"truncated in number", validDoc[:strings.Index(validDoc, "1.5")+2], event.ReasonTruncatedJSON, "product.price"},
		{"truncated mid rune", validDoc[:strings.Index(validDoc, "ı")+1], event.ReasonTruncatedJSON, "product.title"},
		{"syntax", r(`"user_id":`, `"user_id"=`).Replace(validDoc), event.ReasonMalformedJSON, ""},
		{"trailing data", validDoc + `{}`, event.ReasonMalformedJSON, ""},
		{"bad escape", r(`"u-1"`, `"u-\x"`).Replace(validDoc), event.ReasonMalformedJSON, "user_id"},
		{"control char", r(`"u-1"`, "\"u-\n1\"").Replace(validDoc), event.ReasonMalformedJSON, "user_id"},
		{"invalid utf8", r(`"u-1"`, "\"u-\xff1\"").Replace(validDoc), event.ReasonInvalidUTF8, "user_id"},
		{"surrogate bytes", r(`"u-1"`, "\"u-\xed\xa0\x801\"").Replace(validDoc), event.ReasonInvalidUTF8, "user_id"},
		{"unknown field", r(`"device":`, `"coupon":"x","device":`).Replace(validDoc), event.ReasonUnknownField, "coupon"},
		{"unknown product field", r(`"brand":`, `"sku":"x","brand":`).Replace(validDoc), event.ReasonUnknownField, "product.sku"},
		{"duplicate field", r(`"locale":`, `"device":"app","locale":`).Replace(validDoc), event.ReasonDuplicateField, "device"},
		{"wrong type string", r(`"schema_version":1`, `"schema_version":"1"`).Replace(validDoc), event.ReasonWrongType, "schema_version"},
		{"wrong type number", r(`"user_id":"u-1"`, `"user_id":1`).Replace(validDoc), event.ReasonWrongType, "user_id"},
		{"wrong type null", r(`"user_id":"u-1"`, `"user_id":null`).Replace(validDoc), event.ReasonWrongType, "user_id"},
		{"wrong type float int", r(`"schema_version":1`, `"schema_version":1.0`).Replace(validDoc), event.ReasonWrongType, "schema_version"},
		{"wrong type price", r(`"price":1.5`, `"price":"1.5"`).Replace(validDoc), event.ReasonWrongType, "product.price"},
		{"not an object", `[1,2]`, event.ReasonWrongType, ""},
		{"missing field", r(`"user_id":"u-1",`, ``).Replace(validDoc), event.ReasonMissingField, "user_id"},
		{"missing attribute value", r(`,"value":"red"`, ``).Replace(validDoc), event.ReasonMissingField, "product.attributes[].value"},
		{"schema version", r(`"schema_version":1`, `"schema_version":2`).Replace(validDoc), event.ReasonUnsupportedSchemaVersion, "schema_version"},
		{"unknown event type", r(`"product_view"`, `"checkout"`).Replace(validDoc), event.ReasonUnknownEventType, "event_type"},
		{"missing product", `{"schema_version":1,"event_id":"e","event_type":"purchase","timestamp":"2025-03-01T12:00:00Z","user_id":"u","session_id":"s","quantity":1,"device":"d","locale":"en-US"}`, event.ReasonMissingProduct, "product"},
		{"product on page_view", r(`"product_view"`, `"page_view"`).Replace(validDoc), event.ReasonUnexpectedField, "product"},
		{"quantity on product_view", r(`"device":`, `"quantity":1,"device":`).Replace(validDoc), event.ReasonUnexpectedField, "quantity"},
		{"search without query", `{"schema_version":1,"event_id":"e","event_type":"search","timestamp":"2025-03-01T12:00:00Z","user_id":"u","session_id":"s","device":"d","locale":"en-US"}`, event.ReasonMissingField, "query"},
		{"empty user", r(`"u-1"`, `""`).Replace(validDoc), event.ReasonInvalidValue, "user_id"},
		{"bad locale", r(`"tr-TR"`, `"turkish!"`).Replace(validDoc), event.ReasonInvalidValue, "locale"},
		{"bad timestamp", r(`2025-03-01T12:00:00.000000001Z`, `2025-02-30T12:00:00Z`).Replace(validDoc), event.ReasonInvalidValue, "timestamp"},
		{"negative price", r(`"price":1.5`, `"price":-1.5`).Replace(validDoc), event.ReasonNegativePrice, "product.price"},
		{"timestamp past", r(`2025-03-01T12:00:00.000000001Z`, `2025-03-01T10:00:00Z`).Replace(validDoc), event.ReasonTimestampOutOfRange, "timestamp"},
		{"timestamp future", r(`2025-03-01T12:00:00.000000001Z`, `2025-03-01T12:02:00Z`).Replace(validDoc), event.ReasonTimestampOutOfRange, "timestamp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, rj := v.Validate([]byte(tc.doc), testNow)
			if rj == nil {
				t.Fatalf("accepted %s", tc.doc)
			}
			if rj.Reason != tc.reason || rj.Field != tc.field {
				t.Errorf("got %s field %q (%v), want %s field %q", rj.Reason, rj.Field, rj, tc.reason, tc.field)
			}
			if !rj.Reason.Known() {
				t.Errorf("reason %q not in Reasons", rj.Reason)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	v := event.NewValidator(event.DefaultValidatorConfig())
	docs := []string{
		validDoc,
		// whitespace, escapes, offsets, key order do not matter
		" \n{ \"locale\" : \"en\", \"device\":\"d\",\"session_id\":\"s\",\"user_id\":\"\\u0075\",\"timestamp\":\"2025-03-01T14:00:00+02:00\"," +
			"\"event_type\":\"search\",\"event_id\":\"e\",\"schema_version\":1,\"query\":\"\\ud83d\\ude00 \\\"q\\\"\"}\t",
	}
	for _, d := range docs {
		e, rj := v.Validate([]byte(d), testNow)
		if rj != nil {
			t.Fatalf("rejected %s: %v", d, rj)
		}
		if !e.Timestamp.Equal(testNow) && !e.Timestamp.Equal(testNow.Add(1)) {
			t.Errorf("timestamp = %v", e.Timestamp)
		}
		if e.Timestamp.Location() != time.UTC {
			t.Errorf("timestamp not UTC: %v", e.Timestamp.Location())
		}
	}
	e, _ := v.Validate([]byte(docs[1]), testNow)
	if e.UserID != "u" || e.Query != "\U0001F600 \"q\"" {
		t.Errorf("unescape: user %q query %q", e.UserID, e.Query)
	}
}

func TestValidatorConcurrent(t *testing.T) {
	t.Parallel()
	g, err := workloads.NewGenerator(workloads.GeneratorConfig{Seed: 5, Products: 300, Users: 200, MalformedFraction: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]workloads.Record, 2000)
	for i := range recs {
		recs[i] = g.Next(testNow)
	}
	v := event.NewValidator(event.DefaultValidatorConfig())
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(recs); i += 2 {
				_, rj := v.Validate(recs[i].Value, testNow)
				got := event.Reason("")
				if rj != nil {
					got = rj.Reason
				}
				if got != recs[i].Reason {
					select {
					case errs <- string(got) + " != " + string(recs[i].Reason):
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
