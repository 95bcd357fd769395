// Package qdrantfake is an in-process, in-memory server that speaks Qdrant's
// gRPC API, built on the generated server stubs in
// github.com/qdrant/go-client/qdrant. It is the embedded stand-in for Qdrant
// 1.17: the pipeline and the harness talk to it with the official Go client,
// exactly as they talk to a real Qdrant.
//
// It owns the calls VectorStream makes: the health check; collection create,
// get, list, delete and exists; point upsert, get, count, scroll, search,
// query (nearest to a dense vector or to a stored point) and delete (by ids or
// by filter). Search is exact (brute force), never approximate, so results are
// the true nearest neighbours. Cosine collections normalise vectors on upsert,
// as Qdrant does, and dense vectors come back in the deprecated `data` field of
// VectorOutput, as Qdrant 1.17 sends them. Error codes and messages follow
// Qdrant's: NotFound for a missing collection, InvalidArgument for a wrong
// vector dimension or an existing collection.
//
// Filters support must/should/must_not/min_should over has_id, nested filters,
// is_empty, is_null and field match (keyword, integer, boolean, any-of,
// except) and range conditions on top-level or dotted payload keys; anything
// else is answered with InvalidArgument rather than silently ignored.
//
// Scroll order: points are kept in a slab with an id index; a sorted key index
// is maintained lazily. New keys go to a pending list that is sorted and merged
// into the sorted index on the next scroll (O(n + p log p)), so scrolling a
// million points costs one sort, and paging after that is a binary search.
//
// It must not be presented as Qdrant: its health check title says it is the
// VectorStream embedded stand-in, and numbers measured against it are numbers
// of the stand-in. It has no persistence, no HNSW, no sparse or multi vectors,
// no payload indexes, no snapshots, no aliases and no cluster operations; those
// RPCs answer Unimplemented.
package qdrantfake
