// Package workloads owns the synthetic load that drives the pipeline; the
// events it makes are package event's (the wire contract):
//
//   - the catalog and session simulator (Generator): products with brand,
//     category, attributes and Zipf popularity; users with sessions that
//     follow a Markov chain over event types (StationaryMix); search queries
//     with optional typos; English and Turkish text; deliberately malformed
//     records, each labelled with the Reason the validator must give;
//   - rate profiles and the open-loop schedule (Profile, Schedule).
//
// It must not do I/O, talk to Kafka or Qdrant, read the wall clock for
// anything it generates (timestamps come from the caller's intended send
// time), or import anything but the standard library, gonum and package event.
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
