package qdrantfake

import (
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// loadMask says which parts of a point a read needs; the key and id always
// come. A disk-backed store decodes only what is asked for.
type loadMask uint8

const (
	loadVecs loadMask = 1 << iota
	loadPayload

	loadKeys loadMask = 0 // key and id only
	loadAll           = loadVecs | loadPayload
)

// pointStore holds the points of one collection. The collection serialises
// access: writers (put, remove, drop) run alone, readers (get, count, scan,
// each) may run concurrently with each other, never with a writer.
//
// The *point a read hands to its callback is valid only during the call; a
// callback that keeps the point copies the struct (its slices and payload are
// never mutated, so a shallow copy is enough).
type pointStore interface {
	// put inserts or replaces pts; a key given twice keeps its last point.
	// The count changes by the number of keys that were new.
	put(pts []point) error
	// remove deletes the points with these keys; missing keys are no error.
	remove(keys []pointKey) error
	// get returns the point with key k and whether it exists.
	get(k pointKey, load loadMask) (point, bool, error)
	// count returns the exact number of points.
	count() int
	// scan calls fn on the points in Qdrant's id order (pointKey.compare),
	// from the first key at or after *from (from the start when from is nil),
	// until fn returns false.
	scan(from *pointKey, load loadMask, fn func(*point) bool) error
	// each calls fn on every point, in any order, until fn returns false.
	each(load loadMask, fn func(*point) bool) error
	// drop releases everything the store holds; it is not used afterwards.
	drop() error
}

// errStore reports a failure of the store itself (disk I/O, a corrupt
// record) as Internal: no request can avoid it.
func errStore(what string, err error) error {
	return status.Errorf(codes.Internal, "qdrantfake: %s: %v", what, err)
}
