// Package event is the wire contract between the load generator and the pipeline:
// the event type, its JSON encoder (Event.AppendJSON, Encoder), the strict
// decoder and validator (Validator) with its machine-readable rejection reasons
// (Reason, Rejection), and the Kafka header names both sides use (headers.go).
//
// Package workloads generates events; package pipeline consumes them. Neither
// defines any part of the format: a change to it is made here, once. This
// package must not do I/O or import anything but the standard library.
//
// # Event schema (schema_version 1)
//
// One JSON object per event, UTF-8, at most ValidatorConfig.MaxBytes
// (default 16 KiB). Keys are exactly these; any other key is rejected
// (unknown_field), as is a key given twice (duplicate_field) or null for
// any value (wrong_type).
//
//	field           JSON type  required for                    rule
//	schema_version  integer    all                             == 1 (else unsupported_schema_version)
//	event_id        string     all                             1..128 bytes; generated ones are UUIDs
//	event_type      string     all                             page_view | product_view | search |
//	                                                           add_to_cart | remove_from_cart | purchase
//	timestamp       string     all                             RFC 3339, e.g. 2025-01-02T03:04:05.123456789Z;
//	                                                           the intended send time; written in UTC with 9
//	                                                           fractional digits; within [now-MaxPast,
//	                                                           now+MaxFuture] (else timestamp_out_of_range)
//	user_id         string     all                             1..128 bytes; the Kafka record key
//	session_id      string     all                             1..128 bytes
//	product         object     product_view, add_to_cart,      absent on other types (unexpected_field);
//	                           remove_from_cart, purchase      missing on these is missing_product
//	  .id           string                                     1..128 bytes
//	  .title        string                                     non-empty; never contains the category name
//	  .brand        string
//	  .category     string                                     non-empty category slug (the quality label)
//	  .price        number                                     >= 0 (else negative_price), <= 1e9
//	  .attributes   array                                      of {"name": string (non-empty), "value": string}
//	query           string     search                          non-empty; absent on other types
//	quantity        integer    add_to_cart, remove_from_cart,  1..1000; absent on other types
//	                           purchase
//	device          string     all                             non-empty: mobile | desktop | tablet | app
//	locale          string     all                             BCP 47 style: en-US, tr-TR, …
//
// Fields are written in the order above; product, query and quantity are
// omitted where they do not apply. EmbedText documents what text of an
// event is embedded. Reasons lists every rejection reason; the first problem
// found wins, in the order of the Reason constants.
package event
