// Package workloads owns VectorStream's event model and the synthetic load
// that drives the pipeline:
//
//   - the event schema (Event, AppendJSON) and its strict decoder and
//     validator (Validator, Reason, Rejection);
//   - the catalog and session simulator (Generator): products with brand,
//     category, attributes and Zipf popularity; users with sessions that
//     follow a Markov chain over event types (StationaryMix); search queries
//     with optional typos; English and Turkish text; deliberately malformed
//     records, each labelled with the Reason the validator must give;
//   - rate profiles and the open-loop schedule (Profile, Schedule).
//
// It must not do I/O, talk to Kafka or Qdrant, read the wall clock for
// anything it generates (timestamps come from the caller's intended send
// time), or import anything but the standard library and gonum.
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
//
// # Text
//
// Titles are built from a bilingual lexicon (lexicon.go): colours,
// materials, adjectives and nouns shared by all categories, of which each
// category prefers a subset, plus a dozen words specific to each of 20
// categories (a few overlap a neighbour). Category words are always fewer
// than half of a title's words and no title contains a word of its
// category's name, so nearest-neighbour category precision on TF-IDF+SVD
// embeddings is well above chance but well below 1 (see
// TestCatalogNeighbourPrecision). Users of tr-* locales see Turkish titles,
// attribute values and queries (ç ğ ı İ ö ş ü; title case gives İpek,
// Işıklı, Izgara), so Turkish lower-casing rules matter downstream.
//
// # Determinism
//
// A Generator draws from its own PCG streams seeded from Seed, never
// iterates a map while generating, and runs on the caller's goroutine, so
// the same config yields byte-identical records whatever GOMAXPROCS is.
package workloads
