// Package qdrantfake is an in-process server that speaks Qdrant's
// gRPC API, built on the generated server stubs in
// github.com/qdrant/go-client/qdrant. It is the embedded stand-in for Qdrant,
// answering as Qdrant 1.18 does: the pipeline and the harness talk to it with
// the official Go client, exactly as they talk to a real Qdrant.
//
// It owns the calls VectorStream makes: the health check; collection create,
// get, list, delete and exists; point upsert, get, count, scroll, search,
// query (nearest to a dense vector or to a stored point) and delete (by ids or
// by filter). Search is exact (brute force), never approximate, so results are
// the true nearest neighbours. Cosine collections normalise vectors on upsert,
// as Qdrant does, and dense vectors come back in the `dense` field of
// VectorOutput, as Qdrant 1.18 sends them (the deprecated `data` field stays
// empty). A point whose vector holds a NaN ranks first, with score NaN.
// Error codes and messages follow Qdrant's: NotFound for a missing
// collection, AlreadyExists for an existing one, InvalidArgument for a wrong
// vector dimension, an upsert of no points, a vector size outside 1..65536 and
// a new collection's name that is empty, longer than 255 characters or holds
// one of < > : " / \ | ? * NUL or U+001F. A new collection reports
// on_disk_payload true and as many segments as Qdrant would make: one per two
// CPUs, from 2 to 8, unless default_segment_number says otherwise.
//
// Filters support must/should/must_not/min_should over has_id, nested filters,
// is_empty, is_null and field match (keyword, integer, boolean, any-of,
// except) and range conditions on top-level or dotted payload keys; anything
// else is answered with InvalidArgument rather than silently ignored.
//
// Points live in a point store, one per collection, behind the pointStore
// interface (pointstore.go); every handler reads and writes through it.
//   - In memory (the default, memstore.go): a slab with an id index and a
//     lazily sorted key index. New keys go to a pending list that is sorted
//     and merged into the sorted index on the next scroll (O(n + p log p)), so
//     scrolling a million points costs one sort, and paging after that is a
//     binary search. Memory grows with the points.
//   - On disk (WithDataDir, diskstore.go): keys apart from values. An ordered
//     index in pebble (an LSM) maps each key, encoded so that byte order is
//     Qdrant's id order, to where the point's record (vectors and payload)
//     lies in an append-only value log, one file per collection. Memory is
//     bounded by pebble's fixed memtables and block cache whatever the number
//     of points; the LSM compacts only ~30-byte index entries. Replaced and
//     deleted records stay in the log as garbage until their collection is
//     dropped. Nothing survives the server: it starts from a fresh directory
//     and Close removes it. Filters, counts with a filter and searches scan
//     the index and read the log at random, so they run at the speed of the
//     page cache, not of memory.
//
// It must not be presented as Qdrant: its health check title says it is the
// VectorStream embedded stand-in, and numbers measured against it are numbers
// of the stand-in. It has no persistence across restarts, no HNSW, no sparse or multi vectors,
// no payload indexes (CreateFieldIndex is accepted and changes nothing: every filter
// scans), no snapshots, no aliases and no cluster operations; those
// RPCs answer Unimplemented.
package qdrantfake
